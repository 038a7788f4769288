/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema migrations of the sqlite store, db/migrations/NNN_*.sql, and
 * the reference schema db/schema.sql, embedded into the library at build
 * time by db/module.mk (the generated table lives in
 * build/gen/db/migrations.c).  Internal to db/ and its unit tests.
 *
 * Migration N takes the schema from version N - 1 to version N and records
 * N in the schema_version table itself.  The table is sorted by version and
 * numbered 1, 2, ... without gaps; the last entry is the version this
 * program writes.
 */
#ifndef DB_MIGRATIONS_H
#define DB_MIGRATIONS_H 1

#include <stddef.h>

struct db_migration {
    int version;                /* Schema version it produces. */
    const char *name;           /* File name, for error messages. */
    const char *sql;            /* The statements, NUL-terminated. */
};

extern const struct db_migration db_migrations[];
extern const size_t db_n_migrations;

/* db/schema.sql: the whole schema at the latest version, for reading (and
 * checked against the migrations by the unit test). */
extern const char db_schema_sql[];

#endif /* DB_MIGRATIONS_H */
