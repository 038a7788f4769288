/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log-like tables of the sqlite store (db/db.h): the append-only event
 * log and the replies already given to in-band control requests.
 *
 * Event ids come from an AUTOINCREMENT key, so they only grow and are never
 * reused even after old events are pruned; a trigger refuses updates.  A
 * reader follows the log by asking for the events after the last id it
 * saw.  Stored replies are keyed by (host MAC, request id) and kept as the
 * packed bytes that were sent, so a retry is answered byte for byte the
 * same; they are pruned by age.
 */
#include "db/db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db-private.h"

int
db_event_append(struct db *db, int64_t time, const char *kind,
                const char *subject, const char *detail, uint64_t *id)
{
    static const char op[] = "event append";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (id) {
        *id = 0;
    }
    if (!kind || !kind[0]) {
        return db_fail(db, -EINVAL, op, "no kind");
    }
    error = db_check_text(db, op, "kind", kind, DB_KIND_SIZE);
    if (!error) {
        error = db_check_text(db, op, "subject", subject, DB_NAME_SIZE);
    }
    if (!error) {
        error = db_check_text(db, op, "detail", detail, DB_DETAIL_SIZE);
    }
    if (!error) {
        error = db_run(db, op, "INSERT INTO events"
                       " (time, kind, subject, detail)"
                       " VALUES (?1, ?2, ?3, ?4)", "ittt", time, kind,
                       subject, detail);
    }
    if (!error && id) {
        *id = (uint64_t) sqlite3_last_insert_rowid(db->conn);
    }
    return error;
}

int
db_event_list(struct db *db, uint64_t since_id, size_t limit,
              struct db_event **out, size_t *n)
{
    static const char op[] = "event list";
    struct db_event *arr = NULL;
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
    /* A negative LIMIT means none in sqlite. */
    int64_t lim = limit && limit <= INT64_MAX ? (int64_t) limit : -1;
    error = db_query(db, op, &stmt, "SELECT id, time, kind, subject, detail"
                     " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
                     "ui", since_id, lim);
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            struct db_event *e = &arr[count++];
            memset(e, 0, sizeof *e);
            e->id = (uint64_t) sqlite3_column_int64(stmt, 0);
            e->time = sqlite3_column_int64(stmt, 1);
            db_col_text(stmt, 2, e->kind, sizeof e->kind);
            db_col_text(stmt, 3, e->subject, sizeof e->subject);
            db_col_text(stmt, 4, e->detail, sizeof e->detail);
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
db_event_last_id(struct db *db, uint64_t *id)
{
    static const char op[] = "event last id";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!id) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *id = 0;
    error = db_query(db, op, &stmt,
                     "SELECT coalesce(max(id), 0) FROM events", "");
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        *id = (uint64_t) sqlite3_column_int64(stmt, 0);
        error = 0;
    } else if (!error) {
        error = db_fail(db, -EIO, op, "no answer");
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_request_put(struct db *db, const uint8_t mac[DB_MAC_LEN],
               uint64_t request_id, const void *reply, size_t len,
               int64_t now)
{
    static const char op[] = "request put";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac || (!reply && len)) {
        return db_fail(db, -EINVAL, op, "no MAC or reply");
    }
    return db_run(db, op, "INSERT INTO requests"
                  " (host_mac, request_id, reply, created_at)"
                  " VALUES (?1, ?2, ?3, ?4)", "mubi", mac, request_id,
                  reply, len, now);
}

int
db_request_get(struct db *db, const uint8_t mac[DB_MAC_LEN],
               uint64_t request_id, void **reply, size_t *len)
{
    static const char op[] = "request get";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!mac || !reply || !len) {
        return db_fail(db, -EINVAL, op, "no MAC or output");
    }
    *reply = NULL;
    *len = 0;
    error = db_query(db, op, &stmt, "SELECT reply FROM requests"
                     " WHERE host_mac = ?1 AND request_id = ?2", "mu", mac,
                     request_id);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        const void *p = sqlite3_column_blob(stmt, 0);
        int n = sqlite3_column_bytes(stmt, 0);
        void *copy = malloc(n > 0 ? (size_t) n : 1);
        if (!copy) {
            error = db_fail(db, -ENOMEM, op, "out of memory");
        } else {
            if (n > 0) {
                memcpy(copy, p, (size_t) n);
            }
            *reply = copy;
            *len = (size_t) n;
            error = 0;
        }
    } else if (!error) {
        error = db_fail(db, -ENOENT, op, "no reply stored for request "
                        "%llu", (unsigned long long) request_id);
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_request_prune(struct db *db, int64_t before, size_t *n)
{
    static const char op[] = "request prune";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM requests WHERE created_at < ?1",
                       "i", before);
    }
    if (n) {
        *n = error ? 0 : (size_t) db->changes;
    }
    return error;
}

/* ---- controller metadata ------------------------------------------------ */

int
db_meta_get(struct db *db, const char *key, char *value, size_t size)
{
    static const char op[] = "meta get";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!key || !value || !size) {
        return db_fail(db, -EINVAL, op, "no key or output");
    }
    value[0] = '\0';
    error = db_query(db, op, &stmt, "SELECT value FROM meta WHERE key = ?1",
                     "t", key);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        size_t len = text ? strlen((const char *) text) : 0;
        if (len >= size) {
            error = db_fail(db, -EINVAL, op, "value of '%s' does not fit "
                            "in %zu bytes", key, size);
        } else {
            memcpy(value, text ? (const char *) text : "", len + 1);
            error = 0;
        }
    } else if (!error) {
        error = db_fail(db, -ENOENT, op, "'%s' is not set", key);
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_meta_put(struct db *db, const char *key, const char *value)
{
    static const char op[] = "meta put";

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!key || !value) {
        return db_fail(db, -EINVAL, op, "no key or value");
    }
    error = db_check_text(db, op, "value", value, DB_META_VALUE_SIZE);
    if (error) {
        return error;
    }
    return db_run(db, op, "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                  " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  "tt", key, value);
}
