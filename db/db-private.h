/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the sqlite implementation of db/db.h (db.c,
 * db_topo.c, db_hosts.c, db_log.c).  Nothing outside db/ includes this.
 */
#ifndef DB_DB_PRIVATE_H
#define DB_DB_PRIVATE_H 1

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct db {
    sqlite3 *conn;              /* The connection (owned). */
    int changes;                /* Rows changed by the last db_run(). */
    char errmsg[512];           /* Message of the last failure, or "". */
};

/* Checks 'db' and clears its message at the start of a public call.
 * Returns 0 or -EINVAL. */
int db_enter(struct db *db);

/* Records "op: message" (printf-style) as the error message and returns
 * 'error'. */
int db_fail(struct db *db, int error, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records "op: <sqlite's message>" and returns the errno value matching
 * the connection's last error code. */
int db_sqlite_fail(struct db *db, const char *op);

/* Prepares 'sql' and binds its parameters ?1, ?2, ... from the variable
 * arguments, one per character of 'types':
 *   'i' int64_t   'u' uint64_t (stored by bit pattern)
 *   't' const char * (text; NULL binds '')
 *   'm' const uint8_t * (a DB_MAC_LEN-byte blob)
 *   'b' const void *, size_t (a blob)
 * Stores the statement in '*stmt' (finalise it with sqlite3_finalize()).
 * Returns 0 or a negative errno value (with '*stmt' NULL). */
int db_query(struct db *db, const char *op, sqlite3_stmt **stmt,
             const char *sql, const char *types, ...);

/* Steps a statement made by db_query(): returns 1 for a row, 0 when done,
 * or a negative errno value. */
int db_next(struct db *db, const char *op, sqlite3_stmt *stmt);

/* Runs one statement that returns no rows (arguments as for db_query())
 * and stores the number of rows it changed in db->changes.  Returns 0 or a
 * negative errno value. */
int db_run(struct db *db, const char *op, const char *sql,
           const char *types, ...);

/* Starts an atomic group of statements: a transaction if none is open, a
 * savepoint inside the caller's transaction otherwise.  Pass the same
 * 'tx' to db_group_end() with the group's result: 0 commits (or
 * releases), an error rolls the group back.  Returns db_group_end()'s
 * result: 'error', or the commit's failure. */
int db_group_begin(struct db *db, const char *op, bool *tx);
int db_group_end(struct db *db, const char *op, bool tx, int error);

/* Copies text column 'col' into 'dst' (of 'size' bytes), truncating. */
void db_col_text(sqlite3_stmt *stmt, int col, char *dst, size_t size);

/* Copies blob column 'col' into 'dst' (DB_MAC_LEN bytes, zero-padded). */
void db_col_mac(sqlite3_stmt *stmt, int col, uint8_t dst[DB_MAC_LEN]);

/* Checks that 's' fits an array of 'size' bytes; records an error naming
 * 'op' and 'field' and returns -EINVAL if it does not. */
int db_check_text(struct db *db, const char *op, const char *field,
                  const char *s, size_t size);

/* Makes room for one more element of 'elsize' bytes in '*arr' holding
 * 'n' of them, of capacity '*cap'.  Returns 0 or -ENOMEM (recorded). */
int db_grow(struct db *db, const char *op, void **arr, size_t *cap,
            size_t n, size_t elsize);

#endif /* DB_DB_PRIVATE_H */
