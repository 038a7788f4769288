/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host and service tables of the sqlite store (db/db.h): joined hosts
 * with their addresses, the hostID allocator, objects and their instances.
 *
 * A host is keyed by its MAC; its address (ss_id, host_id) is unique and
 * changes when it moves.  An instance is keyed by (host MAC, sockID) and
 * its flowID is computed from the host's current address when read, so a
 * move carries every instance of the host to its new address in one row
 * update.  Deleting a host or an object deletes its instances.
 */
#include "db/db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "db/db-private.h"

static void db_host_from_row(sqlite3_stmt *stmt, struct db_host *h);
static void db_object_from_row(sqlite3_stmt *stmt, struct db_object *o);
static void db_instance_from_row(sqlite3_stmt *stmt, struct db_instance *i);
static int db_host_query_one(struct db *db, const char *op,
                             struct db_host *h, const char *sql,
                             const char *what, const char *types, ...);
static int db_host_query_list(struct db *db, const char *op,
                              const char *sql, int64_t arg,
                              struct db_host **out, size_t *n);
static int db_instance_query(struct db *db, const char *op, const char *sql,
                             const char *types, int64_t num,
                             const uint8_t *mac, struct db_instance **out,
                             size_t *n);

#define HOST_COLUMNS "mac, ss_id, host_id, dpid, port_no, lease_expiry," \
                     " joined_at, moved_at, name"

int
db_host_alloc_id(struct db *db, uint8_t ss_id, uint8_t *host_id)
{
    static const char op[] = "host alloc id";
    /* The lowest free id is DB_HOST_ID_MIN if that is free, else the
     * lowest id just above a held one whose successor is free. */
    static const char sql[] =
        "SELECT CASE"
        "  WHEN NOT EXISTS (SELECT 1 FROM hosts"
        "                   WHERE ss_id = ?1 AND host_id = ?2) THEN ?2"
        "  ELSE (SELECT min(h.host_id + 1) FROM hosts h"
        "        WHERE h.ss_id = ?1 AND h.host_id < ?3"
        "          AND NOT EXISTS (SELECT 1 FROM hosts g"
        "                          WHERE g.ss_id = ?1"
        "                            AND g.host_id = h.host_id + 1))"
        " END";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!host_id) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *host_id = 0;
    error = db_query(db, op, &stmt, sql, "iii", (int64_t) ss_id,
                     (int64_t) DB_HOST_ID_MIN, (int64_t) DB_HOST_ID_MAX);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
            error = db_fail(db, -ENOSPC, op, "no free hostID in ssID %u",
                            ss_id);
        } else {
            *host_id = (uint8_t) sqlite3_column_int(stmt, 0);
            error = 0;
        }
    } else if (!error) {
        error = db_fail(db, -EIO, op, "no answer");
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_host_upsert(struct db *db, const struct db_host *h)
{
    static const char op[] = "host upsert";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!h) {
        return db_fail(db, -EINVAL, op, "no host");
    }
    if (h->host_id < DB_HOST_ID_MIN || h->host_id > DB_HOST_ID_MAX) {
        return db_fail(db, -EINVAL, op, "hostID %u out of range",
                       h->host_id);
    }
    error = db_check_text(db, op, "name", h->name, sizeof h->name);
    if (error) {
        return error;
    }
    return db_run(db, op,
                  "INSERT INTO hosts (" HOST_COLUMNS ")"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                  " ON CONFLICT (mac) DO UPDATE SET"
                  "  ss_id = excluded.ss_id, host_id = excluded.host_id,"
                  "  dpid = excluded.dpid, port_no = excluded.port_no,"
                  "  lease_expiry = excluded.lease_expiry,"
                  "  joined_at = excluded.joined_at,"
                  "  moved_at = excluded.moved_at, name = excluded.name",
                  "miiuiiiit", h->mac, (int64_t) h->ss_id,
                  (int64_t) h->host_id, h->dpid, (int64_t) h->port_no,
                  h->lease_expiry, h->joined_at, h->moved_at, h->name);
}

int
db_host_get(struct db *db, const uint8_t mac[DB_MAC_LEN], struct db_host *h)
{
    static const char op[] = "host get";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac) {
        return db_fail(db, -EINVAL, op, "no MAC");
    }
    return db_host_query_one(db, op, h, "SELECT " HOST_COLUMNS
                             " FROM hosts WHERE mac = ?1",
                             "no host with that MAC", "m", mac);
}

int
db_host_find(struct db *db, uint8_t ss_id, uint8_t host_id,
             struct db_host *h)
{
    static const char op[] = "host find";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    return db_host_query_one(db, op, h, "SELECT " HOST_COLUMNS
                             " FROM hosts WHERE ss_id = ?1 AND host_id = ?2",
                             "no host at that address", "ii",
                             (int64_t) ss_id, (int64_t) host_id);
}

int
db_host_renew(struct db *db, const uint8_t mac[DB_MAC_LEN],
              int64_t lease_expiry)
{
    static const char op[] = "host renew";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac) {
        return db_fail(db, -EINVAL, op, "no MAC");
    }
    error = db_run(db, op, "UPDATE hosts SET lease_expiry = ?2"
                   " WHERE mac = ?1", "mi", mac, lease_expiry);
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no host with that MAC");
    }
    return error;
}

int
db_host_delete(struct db *db, const uint8_t mac[DB_MAC_LEN])
{
    static const char op[] = "host delete";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac) {
        return db_fail(db, -EINVAL, op, "no MAC");
    }
    error = db_run(db, op, "DELETE FROM hosts WHERE mac = ?1", "m", mac);
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no host with that MAC");
    }
    return error;
}

int
db_host_list(struct db *db, struct db_host **out, size_t *n)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    return db_host_query_list(db, "host list", "SELECT " HOST_COLUMNS
                              " FROM hosts WHERE ?1 = ?1"
                              " ORDER BY ss_id, host_id", 0, out, n);
}

int
db_host_list_expired(struct db *db, int64_t now, struct db_host **out,
                     size_t *n)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    return db_host_query_list(db, "host list expired", "SELECT "
                              HOST_COLUMNS " FROM hosts"
                              " WHERE lease_expiry > 0 AND lease_expiry < ?1"
                              " ORDER BY lease_expiry, mac", now, out, n);
}

#define OBJECT_COLUMNS "o.object_id, o.name, o.created_at," \
    " (SELECT count(*) FROM instances i WHERE i.object_id = o.object_id)"

int
db_object_upsert(struct db *db, const struct db_object *o)
{
    static const char op[] = "object upsert";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!o) {
        return db_fail(db, -EINVAL, op, "no object");
    }
    if (!o->object_id) {
        return db_fail(db, -EINVAL, op, "objectID 0");
    }
    error = db_check_text(db, op, "name", o->name, sizeof o->name);
    if (error) {
        return error;
    }
    return db_run(db, op,
                  "INSERT INTO objects (object_id, name, created_at)"
                  " VALUES (?1, ?2, ?3)"
                  " ON CONFLICT (object_id) DO UPDATE SET"
                  "  name = excluded.name",
                  "iti", (int64_t) o->object_id, o->name, o->created_at);
}

int
db_object_get(struct db *db, uint16_t object_id, struct db_object *o)
{
    static const char op[] = "object get";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!o) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    error = db_query(db, op, &stmt, "SELECT " OBJECT_COLUMNS
                     " FROM objects o WHERE o.object_id = ?1", "i",
                     (int64_t) object_id);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        db_object_from_row(stmt, o);
        error = 0;
    } else if (!error) {
        error = db_fail(db, -ENOENT, op, "no object %u", object_id);
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_object_delete(struct db *db, uint16_t object_id)
{
    static const char op[] = "object delete";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM objects WHERE object_id = ?1",
                       "i", (int64_t) object_id);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no object %u", object_id);
    }
    return error;
}

int
db_object_list(struct db *db, struct db_object **out, size_t *n)
{
    static const char op[] = "object list";
    struct db_object *arr = NULL;
    size_t cap = 0, count = 0;
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!out || !n) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *out = NULL;
    *n = 0;
    error = db_query(db, op, &stmt, "SELECT " OBJECT_COLUMNS
                     " FROM objects o ORDER BY o.object_id", "");
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_object_from_row(stmt, &arr[count++]);
        }
    }
    sqlite3_finalize(stmt);
    if (error) {
        free(arr);
        return error;
    }
    *out = arr;
    *n = count;
    return 0;
}

int
db_instance_add(struct db *db, const struct db_instance *i)
{
    static const char op[] = "instance add";
    bool tx;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!i) {
        return db_fail(db, -EINVAL, op, "no instance");
    }
    if (!i->object_id) {
        return db_fail(db, -EINVAL, op, "objectID 0");
    }
    error = db_group_begin(db, op, &tx);
    if (error) {
        return error;
    }
    error = db_run(db, op, "INSERT INTO objects (object_id, created_at)"
                   " VALUES (?1, ?2) ON CONFLICT (object_id) DO NOTHING",
                   "ii", (int64_t) i->object_id, i->bound_at);
    if (!error) {
        error = db_run(db, op, "INSERT INTO instances"
                       " (host_mac, sock_id, object_id, bound_at)"
                       " VALUES (?1, ?2, ?3, ?4)", "miii", i->host_mac,
                       (int64_t) i->sock_id, (int64_t) i->object_id,
                       i->bound_at);
    }
    return db_group_end(db, op, tx, error);
}

int
db_instance_remove(struct db *db, const uint8_t host_mac[DB_MAC_LEN],
                   uint16_t sock_id)
{
    static const char op[] = "instance remove";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!host_mac) {
        return db_fail(db, -EINVAL, op, "no MAC");
    }
    error = db_run(db, op, "DELETE FROM instances"
                   " WHERE host_mac = ?1 AND sock_id = ?2", "mi", host_mac,
                   (int64_t) sock_id);
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no instance on sockID %u",
                        sock_id);
    }
    return error;
}

#define INSTANCE_SELECT                                                   \
    "SELECT i.object_id, i.host_mac, i.sock_id, i.bound_at, h.ss_id,"     \
    " h.host_id FROM instances i JOIN hosts h ON h.mac = i.host_mac"

int
db_instance_list(struct db *db, uint16_t object_id,
                 struct db_instance **out, size_t *n)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    return db_instance_query(db, "instance list", INSTANCE_SELECT
                             " WHERE ?1 = 0 OR i.object_id = ?1"
                             " ORDER BY i.object_id, h.ss_id, h.host_id,"
                             " i.sock_id", "i", object_id, NULL, out, n);
}

int
db_instance_list_host(struct db *db, const uint8_t mac[DB_MAC_LEN],
                      struct db_instance **out, size_t *n)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac) {
        return db_fail(db, -EINVAL, "instance list host", "no MAC");
    }
    return db_instance_query(db, "instance list host", INSTANCE_SELECT
                             " WHERE i.host_mac = ?1 ORDER BY i.sock_id",
                             "m", 0, mac, out, n);
}

/* ---- static functions --------------------------------------------------- */

static void
db_host_from_row(sqlite3_stmt *stmt, struct db_host *h)
{
    memset(h, 0, sizeof *h);
    db_col_mac(stmt, 0, h->mac);
    h->ss_id = (uint8_t) sqlite3_column_int(stmt, 1);
    h->host_id = (uint8_t) sqlite3_column_int(stmt, 2);
    h->dpid = (uint64_t) sqlite3_column_int64(stmt, 3);
    h->port_no = (uint32_t) sqlite3_column_int64(stmt, 4);
    h->lease_expiry = sqlite3_column_int64(stmt, 5);
    h->joined_at = sqlite3_column_int64(stmt, 6);
    h->moved_at = sqlite3_column_int64(stmt, 7);
    db_col_text(stmt, 8, h->name, sizeof h->name);
}

static void
db_object_from_row(sqlite3_stmt *stmt, struct db_object *o)
{
    memset(o, 0, sizeof *o);
    o->object_id = (uint16_t) sqlite3_column_int(stmt, 0);
    db_col_text(stmt, 1, o->name, sizeof o->name);
    o->created_at = sqlite3_column_int64(stmt, 2);
    o->n_instances = (uint32_t) sqlite3_column_int64(stmt, 3);
}

static void
db_instance_from_row(sqlite3_stmt *stmt, struct db_instance *i)
{
    memset(i, 0, sizeof *i);
    i->object_id = (uint16_t) sqlite3_column_int(stmt, 0);
    db_col_mac(stmt, 1, i->host_mac);
    i->sock_id = (uint16_t) sqlite3_column_int(stmt, 2);
    i->bound_at = sqlite3_column_int64(stmt, 3);
    i->ss_id = (uint8_t) sqlite3_column_int(stmt, 4);
    i->host_id = (uint8_t) sqlite3_column_int(stmt, 5);
    i->flow_id = ((uint32_t) i->ss_id << 24) | ((uint32_t) i->host_id << 16)
                 | i->sock_id;
}

/* Runs 'sql' (one host row expected) and reads the row into '*h';
 * -ENOENT with message 'what' if there is none. */
static int
db_host_query_one(struct db *db, const char *op, struct db_host *h,
                  const char *sql, const char *what, const char *types, ...)
{
    sqlite3_stmt *stmt;
    va_list args;

    if (!h) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    /* At most two parameters, of the kinds the callers use. */
    va_start(args, types);
    int error;
    if (!strcmp(types, "m")) {
        const uint8_t *mac = va_arg(args, const uint8_t *);
        error = db_query(db, op, &stmt, sql, "m", mac);
    } else {
        int64_t a = va_arg(args, int64_t);
        int64_t b = va_arg(args, int64_t);
        error = db_query(db, op, &stmt, sql, "ii", a, b);
    }
    va_end(args);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        db_host_from_row(stmt, h);
        error = 0;
    } else if (!error) {
        error = db_fail(db, -ENOENT, op, "%s", what);
    }
    sqlite3_finalize(stmt);
    return error;
}

static int
db_host_query_list(struct db *db, const char *op, const char *sql,
                   int64_t arg, struct db_host **out, size_t *n)
{
    struct db_host *arr = NULL;
    size_t cap = 0, count = 0;
    sqlite3_stmt *stmt;

    if (!out || !n) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *out = NULL;
    *n = 0;
    int error = db_query(db, op, &stmt, sql, "i", arg);
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_host_from_row(stmt, &arr[count++]);
        }
    }
    sqlite3_finalize(stmt);
    if (error) {
        free(arr);
        return error;
    }
    *out = arr;
    *n = count;
    return 0;
}

/* Lists instances with 'sql', whose one parameter is 'num' (type "i") or
 * 'mac' (type "m"). */
static int
db_instance_query(struct db *db, const char *op, const char *sql,
                  const char *types, int64_t num, const uint8_t *mac,
                  struct db_instance **out, size_t *n)
{
    struct db_instance *arr = NULL;
    size_t cap = 0, count = 0;
    sqlite3_stmt *stmt;

    if (!out || !n) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *out = NULL;
    *n = 0;
    int error = types[0] == 'm'
                ? db_query(db, op, &stmt, sql, "m", mac)
                : db_query(db, op, &stmt, sql, "i", num);
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_instance_from_row(stmt, &arr[count++]);
        }
    }
    sqlite3_finalize(stmt);
    if (error) {
        free(arr);
        return error;
    }
    *out = arr;
    *n = count;
    return 0;
}
