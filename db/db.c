/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sqlite backend of the state store (db/db.h): the handle, schema
 * migrations, transactions and the small helpers the table modules
 * (db_topo.c, db_hosts.c, db_log.c) share.
 *
 * A handle owns one sqlite connection.  db_open() sets the connection up
 * (write-ahead logging so that readers never block the writer, foreign keys
 * on, a busy timeout so that two handles on one file wait for each other
 * rather than fail) and then migrates: under an immediate transaction, so
 * that two processes opening a fresh file cannot both migrate it, it reads
 * the highest version in schema_version (0 if the table does not exist) and
 * runs every embedded migration above it (db/migrations.h).
 *
 * Errors: every public function starts by clearing the handle's message;
 * a failure records "operation: detail" and returns a negative errno value
 * chosen from sqlite's extended result code (db_sqlite_fail()).
 */
#include "db/db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db-private.h"
#include "db/migrations.h"

/* How long a handle waits for another writer before giving up (-EBUSY). */
#define DB_BUSY_TIMEOUT_MS 5000

static int db_setup(struct db *db);
static int db_migrate(struct db *db);
static int db_current_version(struct db *db, int *version);
static int db_errno_from_sqlite(int code);
static int db_bindv(struct db *db, const char *op, sqlite3_stmt *stmt,
                    const char *types, va_list args);

int
db_open(const char *path, struct db **out, char **errmsg)
{
    if (errmsg) {
        *errmsg = NULL;
    }
    if (!out) {
        return -EINVAL;
    }
    *out = NULL;
    if (!path) {
        if (errmsg) {
            *errmsg = strdup("db_open: no path");
        }
        return -EINVAL;
    }

    struct db *db = calloc(1, sizeof *db);
    if (!db) {
        return -ENOMEM;
    }
    int error;
    int rc = sqlite3_open_v2(path, &db->conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             NULL);
    if (rc != SQLITE_OK) {
        if (db->conn) {
            error = db_fail(db, db_errno_from_sqlite(rc), "open",
                            "%s: %s", path, sqlite3_errmsg(db->conn));
        } else {
            error = db_fail(db, -ENOMEM, "open", "%s: %s", path,
                            sqlite3_errstr(rc));
        }
    } else {
        error = db_setup(db);
        if (!error) {
            error = db_migrate(db);
        }
    }
    if (error) {
        if (errmsg) {
            *errmsg = strdup(db->errmsg);
        }
        db_close(db);
        return error;
    }
    db->errmsg[0] = '\0';
    *out = db;
    return 0;
}

void
db_close(struct db *db)
{
    if (!db) {
        return;
    }
    /* sqlite3_close_v2() rolls back an open transaction; every statement
     * is finalised by the function that prepared it. */
    sqlite3_close_v2(db->conn);
    free(db);
}

const char *
db_errmsg(const struct db *db)
{
    return db ? db->errmsg : "no database handle";
}

int
db_set_busy_timeout(struct db *db, int ms)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (ms < 0) {
        return db_fail(db, -EINVAL, "set busy timeout", "negative timeout");
    }
    if (sqlite3_busy_timeout(db->conn, ms) != SQLITE_OK) {
        return db_sqlite_fail(db, "set busy timeout");
    }
    return 0;
}

int
db_schema_latest(void)
{
    return db_n_migrations ? db_migrations[db_n_migrations - 1].version : 0;
}

int
db_schema_version(struct db *db, int *version)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!version) {
        return db_fail(db, -EINVAL, "schema_version", "no output");
    }
    return db_current_version(db, version);
}

int
db_begin(struct db *db)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!sqlite3_get_autocommit(db->conn)) {
        return db_fail(db, -EINVAL, "begin", "a transaction is open");
    }
    return db_run(db, "begin", "BEGIN IMMEDIATE", "");
}

int
db_commit(struct db *db)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (sqlite3_get_autocommit(db->conn)) {
        return db_fail(db, -EINVAL, "commit", "no transaction is open");
    }
    error = db_run(db, "commit", "COMMIT", "");
    if (error && !sqlite3_get_autocommit(db->conn)) {
        /* Keep the message of the failed commit. */
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    }
    return error;
}

int
db_rollback(struct db *db)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (sqlite3_get_autocommit(db->conn)) {
        return db_fail(db, -EINVAL, "rollback", "no transaction is open");
    }
    return db_run(db, "rollback", "ROLLBACK", "");
}

const char *
db_role_name(enum db_role role)
{
    switch (role) {
    case DB_ROLE_LABEL:
        return "label";
    case DB_ROLE_OBJECT:
        return "object";
    case DB_ROLE_UNKNOWN:
    default:
        return "unknown";
    }
}

/* ---- helpers shared with the table modules (db-private.h) --------------- */

int
db_enter(struct db *db)
{
    if (!db) {
        return -EINVAL;
    }
    db->errmsg[0] = '\0';
    db->changes = 0;
    return 0;
}

int
db_fail(struct db *db, int error, const char *op, const char *fmt, ...)
{
    int n = snprintf(db->errmsg, sizeof db->errmsg, "%s: ", op);
    if (n >= 0 && (size_t) n < sizeof db->errmsg) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(db->errmsg + n, sizeof db->errmsg - (size_t) n, fmt,
                  args);
        va_end(args);
    }
    return error;
}

int
db_sqlite_fail(struct db *db, const char *op)
{
    int code = sqlite3_extended_errcode(db->conn);
    return db_fail(db, db_errno_from_sqlite(code), op, "%s",
                   sqlite3_errmsg(db->conn));
}

int
db_query(struct db *db, const char *op, sqlite3_stmt **stmt,
         const char *sql, const char *types, ...)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(db->conn, sql, -1, stmt, NULL) != SQLITE_OK) {
        return db_sqlite_fail(db, op);
    }

    va_list args;
    va_start(args, types);
    int error = db_bindv(db, op, *stmt, types, args);
    va_end(args);
    if (error) {
        sqlite3_finalize(*stmt);
        *stmt = NULL;
    }
    return error;
}

int
db_next(struct db *db, const char *op, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (rc == SQLITE_DONE) {
        return 0;
    }
    return db_sqlite_fail(db, op);
}

int
db_run(struct db *db, const char *op, const char *sql, const char *types,
       ...)
{
    sqlite3_stmt *stmt;

    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return db_sqlite_fail(db, op);
    }

    va_list args;
    va_start(args, types);
    int error = db_bindv(db, op, stmt, types, args);
    va_end(args);
    if (!error) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
            db->changes = sqlite3_changes(db->conn);
        } else {
            error = db_sqlite_fail(db, op);
        }
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_group_begin(struct db *db, const char *op, bool *tx)
{
    *tx = sqlite3_get_autocommit(db->conn) != 0;
    return db_run(db, op, *tx ? "BEGIN IMMEDIATE" : "SAVEPOINT db_group",
                  "");
}

int
db_group_end(struct db *db, const char *op, bool tx, int error)
{
    if (error) {
        /* Keep the message of the failure. */
        if (tx) {
            sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
        } else {
            sqlite3_exec(db->conn,
                         "ROLLBACK TO db_group; RELEASE db_group", NULL,
                         NULL, NULL);
        }
        return error;
    }
    error = db_run(db, op, tx ? "COMMIT" : "RELEASE db_group", "");
    if (error && tx && !sqlite3_get_autocommit(db->conn)) {
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    }
    return error;
}

void
db_col_text(sqlite3_stmt *stmt, int col, char *dst, size_t size)
{
    const unsigned char *s = sqlite3_column_text(stmt, col);
    snprintf(dst, size, "%s", s ? (const char *) s : "");
}

void
db_col_mac(sqlite3_stmt *stmt, int col, uint8_t dst[DB_MAC_LEN])
{
    const void *p = sqlite3_column_blob(stmt, col);
    int len = sqlite3_column_bytes(stmt, col);

    memset(dst, 0, DB_MAC_LEN);
    if (p && len > 0) {
        memcpy(dst, p, len < DB_MAC_LEN ? (size_t) len : DB_MAC_LEN);
    }
}

int
db_check_text(struct db *db, const char *op, const char *field,
              const char *s, size_t size)
{
    if (s && strnlen(s, size) >= size) {
        return db_fail(db, -EINVAL, op, "%s longer than %zu bytes", field,
                       size - 1);
    }
    return 0;
}

int
db_grow(struct db *db, const char *op, void **arr, size_t *cap, size_t n,
        size_t elsize)
{
    if (n < *cap) {
        return 0;
    }
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*arr, new_cap, elsize);
    if (!p) {
        return db_fail(db, -ENOMEM, op, "out of memory");
    }
    *arr = p;
    *cap = new_cap;
    return 0;
}

/* ---- static functions --------------------------------------------------- */

/* Sets up a fresh connection: extended result codes, busy timeout, WAL,
 * foreign keys. */
static int
db_setup(struct db *db)
{
    sqlite3_stmt *stmt;
    int error;

    sqlite3_extended_result_codes(db->conn, 1);
    sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS);

    /* The pragma answers with the mode in force: an in-memory database
     * stays in "memory" mode, anything else must be "wal". */
    error = db_query(db, "set WAL mode", &stmt, "PRAGMA journal_mode = WAL",
                     "");
    if (error) {
        return error;
    }
    error = db_next(db, "set WAL mode", stmt);
    if (error == 1) {
        const char *mode = (const char *) sqlite3_column_text(stmt, 0);
        if (!mode || (strcmp(mode, "wal") && strcmp(mode, "memory"))) {
            error = db_fail(db, -EIO, "set WAL mode", "journal mode is %s",
                            mode ? mode : "unknown");
        } else {
            error = 0;
        }
    } else if (!error) {
        error = db_fail(db, -EIO, "set WAL mode", "no answer");
    }
    sqlite3_finalize(stmt);
    if (error) {
        return error;
    }

    error = db_run(db, "enable foreign keys", "PRAGMA foreign_keys = ON",
                   "");
    if (!error) {
        /* WAL makes NORMAL durable against crashes of the process; only a
         * power loss can lose the last commits. */
        error = db_run(db, "set synchronous", "PRAGMA synchronous = NORMAL",
                       "");
    }
    if (error) {
        return error;
    }

    error = db_query(db, "check foreign keys", &stmt,
                     "PRAGMA foreign_keys", "");
    if (error) {
        return error;
    }
    error = db_next(db, "check foreign keys", stmt);
    if (error == 1) {
        error = sqlite3_column_int(stmt, 0) == 1
                ? 0
                : db_fail(db, -ENOTSUP, "check foreign keys",
                          "sqlite built without foreign key support");
    } else if (!error) {
        error = db_fail(db, -ENOTSUP, "check foreign keys", "no answer");
    }
    sqlite3_finalize(stmt);
    return error;
}

/* Brings the schema up to db_schema_latest(). */
static int
db_migrate(struct db *db)
{
    for (size_t i = 0; i < db_n_migrations; i++) {
        if (db_migrations[i].version != (int) i + 1) {
            return db_fail(db, -EINVAL, "migrate",
                           "embedded migration %s out of sequence",
                           db_migrations[i].name);
        }
    }

    int error = db_run(db, "migrate", "BEGIN IMMEDIATE", "");
    if (error) {
        return error;
    }
    int version;
    error = db_current_version(db, &version);
    if (!error && version > db_schema_latest()) {
        error = db_fail(db, -ENOTSUP, "migrate",
                        "schema version %d is newer than this program's "
                        "(%d)", version, db_schema_latest());
    }
    for (size_t i = 0; !error && i < db_n_migrations; i++) {
        const struct db_migration *m = &db_migrations[i];
        char *msg = NULL;

        if (m->version <= version) {
            continue;
        }
        if (sqlite3_exec(db->conn, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
            int code = sqlite3_extended_errcode(db->conn);
            error = db_fail(db, db_errno_from_sqlite(code), "migrate",
                            "%s: %s", m->name,
                            msg ? msg : sqlite3_errmsg(db->conn));
            sqlite3_free(msg);
        }
    }
    if (!error) {
        int now;
        error = db_current_version(db, &now);
        if (!error && now != db_schema_latest()) {
            error = db_fail(db, -EIO, "migrate",
                            "schema version is %d after migrating, "
                            "expected %d", now, db_schema_latest());
        }
    }
    if (error) {
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
        return error;
    }
    return db_run(db, "migrate", "COMMIT", "");
}

/* Reads the schema version: 0 for a file without schema_version. */
static int
db_current_version(struct db *db, int *version)
{
    static const char sql[] =
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master"
        "                         WHERE type = 'table'"
        "                           AND name = 'schema_version')"
        "       THEN 1 ELSE 0 END";
    sqlite3_stmt *stmt;

    *version = 0;
    int error = db_query(db, "read schema version", &stmt, sql, "");
    if (error) {
        return error;
    }
    error = db_next(db, "read schema version", stmt);
    int exists = error == 1 && sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (error < 0 || !exists) {
        return error < 0 ? error : 0;
    }

    error = db_query(db, "read schema version", &stmt,
                     "SELECT coalesce(max(version), 0) FROM schema_version",
                     "");
    if (error) {
        return error;
    }
    error = db_next(db, "read schema version", stmt);
    if (error == 1) {
        *version = sqlite3_column_int(stmt, 0);
        error = 0;
    }
    sqlite3_finalize(stmt);
    return error;
}

/* Maps a sqlite (extended) result code to a negative errno value. */
static int
db_errno_from_sqlite(int code)
{
    switch (code) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT;
    default:
        break;
    }
    switch (code & 0xff) {
    case SQLITE_OK:
        /* A failure reported with no error code: still a failure. */
        return -EIO;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return -EINVAL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    default:
        return -EIO;
    }
}

static int
db_bindv(struct db *db, const char *op, sqlite3_stmt *stmt,
         const char *types, va_list args)
{
    for (int i = 0; types[i]; i++) {
        int col = i + 1;
        int rc;

        switch (types[i]) {
        case 'i':
            rc = sqlite3_bind_int64(stmt, col, va_arg(args, int64_t));
            break;
        case 'u':
            rc = sqlite3_bind_int64(stmt, col,
                                    (int64_t) va_arg(args, uint64_t));
            break;
        case 't': {
            const char *s = va_arg(args, const char *);
            rc = sqlite3_bind_text(stmt, col, s ? s : "", -1,
                                   SQLITE_TRANSIENT);
            break;
        }
        case 'm':
            rc = sqlite3_bind_blob(stmt, col, va_arg(args, const uint8_t *),
                                   DB_MAC_LEN, SQLITE_TRANSIENT);
            break;
        case 'b': {
            const void *p = va_arg(args, const void *);
            size_t len = va_arg(args, size_t);
            rc = sqlite3_bind_blob64(stmt, col, p ? p : "", len,
                                     SQLITE_TRANSIENT);
            break;
        }
        default:
            return db_fail(db, -EINVAL, op, "bad bind type '%c'", types[i]);
        }
        if (rc != SQLITE_OK) {
            return db_sqlite_fail(db, op);
        }
    }
    return 0;
}
