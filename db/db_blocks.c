/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostID blocks of the sqlite store (db/db.h).
 *
 * A block is an aligned range of a power-of-two number of hostIDs of one
 * ssID, owned by one label router.  The controller hands the hosts that
 * join a router hostIDs from that router's blocks, so that every other
 * switch routes the whole range with one prefix rule.  The table's key is
 * (ss_id, first_host); that blocks of one ssID do not overlap is checked
 * here on insert (a block of another size may cover the same hostIDs).
 * A block's host count is that of the hosts of its own router inside its
 * range, computed when read.
 */
#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db-private.h"

#define BLOCK_SELECT                                                       \
    "SELECT b.ss_id, b.first_host, b.size, b.dpid, b.allocated_at,"        \
    " b.empty_since, (SELECT count(*) FROM hosts h"                        \
    "  WHERE h.ss_id = b.ss_id AND h.dpid = b.dpid"                        \
    "    AND h.host_id >= b.first_host"                                    \
    "    AND h.host_id < b.first_host + b.size) FROM blocks b"

static bool
db_block_size_ok(unsigned int size)
{
    return size && size <= 256 && !(size & (size - 1));
}

static void
db_block_from_row(sqlite3_stmt *stmt, struct db_block *b)
{
    memset(b, 0, sizeof *b);
    b->ss_id = (uint8_t) sqlite3_column_int(stmt, 0);
    b->first = (uint8_t) sqlite3_column_int(stmt, 1);
    b->size = (uint16_t) sqlite3_column_int(stmt, 2);
    b->dpid = (uint64_t) sqlite3_column_int64(stmt, 3);
    b->allocated_at = sqlite3_column_int64(stmt, 4);
    b->empty_since = sqlite3_column_int64(stmt, 5);
    b->n_hosts = (uint32_t) sqlite3_column_int64(stmt, 6);
}

/* Lists the blocks selected by 'sql' (BLOCK_SELECT plus a clause whose
 * parameters ?1 and ?2 are 'a' and 'b'). */
static int
db_block_query(struct db *db, const char *op, const char *sql, int64_t a,
               int64_t b, struct db_block **out, size_t *n)
{
    struct db_block *arr = NULL;
    size_t cap = 0, count = 0;
    sqlite3_stmt *stmt;

    if (!out || !n) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    *out = NULL;
    *n = 0;
    int error = db_query(db, op, &stmt, sql, "ii", a, b);
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_block_from_row(stmt, &arr[count++]);
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

/* Stores in '*held' how many hosts of 'ss' hold hostIDs lo..hi. */
static int
db_block_count_hosts(struct db *db, const char *op, unsigned int ss,
                     unsigned int lo, unsigned int hi, int64_t *held)
{
    sqlite3_stmt *stmt;
    int error = db_query(db, op, &stmt, "SELECT count(*) FROM hosts"
                         " WHERE ss_id = ?1 AND host_id BETWEEN ?2 AND ?3",
                         "iii", (int64_t) ss, (int64_t) lo, (int64_t) hi);

    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        *held = sqlite3_column_int64(stmt, 0);
        error = 0;
    } else if (!error) {
        error = db_fail(db, -EIO, op, "no count");
    }
    sqlite3_finalize(stmt);
    return error;
}

/* Inserts 'b' after checking it (see db_block_add()). */
static int
db_block_insert(struct db *db, const char *op, const struct db_block *b)
{
    sqlite3_stmt *stmt;

    if (!b->ss_id || b->ss_id == 255 || !db_block_size_ok(b->size)
        || b->first % b->size) {
        return db_fail(db, -EINVAL, op, "bad block %u.%u/%u", b->ss_id,
                       b->first, b->size);
    }
    int error = db_query(db, op, &stmt, "SELECT first_host, size FROM blocks"
                         " WHERE ss_id = ?1 AND first_host < ?2 + ?3"
                         "   AND first_host + size > ?2", "iii",
                         (int64_t) b->ss_id, (int64_t) b->first,
                         (int64_t) b->size);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        error = db_fail(db, -EEXIST, op, "block %u.%u/%u overlaps block "
                        "%u.%d/%d", b->ss_id, b->first, b->size, b->ss_id,
                        sqlite3_column_int(stmt, 0),
                        sqlite3_column_int(stmt, 1));
    }
    sqlite3_finalize(stmt);
    if (error) {
        return error;
    }
    return db_run(db, op, "INSERT INTO blocks (ss_id, first_host, size, dpid,"
                  " allocated_at, empty_since) VALUES (?1, ?2, ?3, ?4, ?5,"
                  " ?6)", "iiiuii", (int64_t) b->ss_id, (int64_t) b->first,
                  (int64_t) b->size, b->dpid, b->allocated_at,
                  b->empty_since);
}

int
db_block_add(struct db *db, const struct db_block *b)
{
    static const char op[] = "block add";
    bool tx;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!b) {
        return db_fail(db, -EINVAL, op, "no block");
    }
    error = db_group_begin(db, op, &tx);
    if (error) {
        return error;
    }
    return db_group_end(db, op, tx, db_block_insert(db, op, b));
}

int
db_block_find(struct db *db, uint8_t ss_id, uint8_t host_id,
              struct db_block *b)
{
    static const char op[] = "block find";
    struct db_block *arr;
    size_t n;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!b) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    error = db_block_query(db, op, BLOCK_SELECT " WHERE b.ss_id = ?1"
                           " AND b.first_host <= ?2"
                           " AND b.first_host + b.size > ?2",
                           ss_id, host_id, &arr, &n);
    if (error) {
        return error;
    }
    if (!n) {
        return db_fail(db, -ENOENT, op, "no block holds %u.%u", ss_id,
                       host_id);
    }
    *b = arr[0];
    free(arr);
    return 0;
}

int
db_block_list(struct db *db, uint64_t dpid, struct db_block **out,
              size_t *n)
{
    int error = db_enter(db);
    if (error) {
        return error;
    }
    return db_block_query(db, "block list", BLOCK_SELECT
                          " WHERE ?1 = 0 OR b.dpid = ?1 OR ?2"
                          " ORDER BY b.ss_id, b.first_host",
                          (int64_t) dpid, 0, out, n);
}

int
db_block_delete(struct db *db, uint8_t ss_id, uint8_t first)
{
    static const char op[] = "block delete";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM blocks WHERE ss_id = ?1"
                       " AND first_host = ?2", "ii", (int64_t) ss_id,
                       (int64_t) first);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no block %u.%u", ss_id, first);
    }
    return error;
}

int
db_block_alloc(struct db *db, uint64_t dpid, uint16_t size,
               const uint8_t *ss_ids, size_t n_ss, int64_t now,
               struct db_block *b)
{
    static const char op[] = "block alloc";
    struct db_block *all;
    size_t n_all;
    bool tx;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!b || (n_ss && !ss_ids)) {
        return db_fail(db, -EINVAL, op, "no output or ssIDs");
    }
    if (!db_block_size_ok(size)) {
        return db_fail(db, -EINVAL, op, "block size %u is not a power of "
                       "two in 1..256", size);
    }
    error = db_group_begin(db, op, &tx);
    if (error) {
        return error;
    }
    error = db_block_query(db, op, BLOCK_SELECT " WHERE ?1 = ?2"
                           " ORDER BY b.ss_id, b.first_host", 0, 0, &all,
                           &n_all);
    if (error) {
        return db_group_end(db, op, tx, error);
    }
    error = -ENOSPC;
    for (size_t i = 0; error == -ENOSPC && i < n_ss; i++) {
        uint8_t ss = ss_ids[i];
        if (!ss || ss == 255) {
            continue;
        }
        for (unsigned int first = 0; first < 256; first += size) {
            unsigned int lo = first ? first : DB_HOST_ID_MIN;
            unsigned int hi = first + size - 1 < DB_HOST_ID_MAX
                              ? first + size - 1 : DB_HOST_ID_MAX;
            bool taken = lo > hi;   /* No hostID it could hand out. */
            for (size_t j = 0; !taken && j < n_all; j++) {
                taken = all[j].ss_id == ss && all[j].first < first + size
                        && all[j].first + all[j].size > first;
            }
            if (!taken) {
                /* Hosts outside blocks (an older store) may hold every
                 * hostID of the range. */
                int64_t held = 0;
                error = db_block_count_hosts(db, op, ss, lo, hi, &held);
                if (error) {
                    break;
                }
                error = -ENOSPC;
                taken = held > (int64_t) (hi - lo);
            }
            if (taken) {
                continue;
            }
            *b = (struct db_block) {
                .ss_id = ss, .first = first, .size = size, .dpid = dpid,
                .allocated_at = now,
            };
            error = db_block_insert(db, op, b);
            break;
        }
    }
    free(all);
    if (error == -ENOSPC) {
        db_fail(db, -ENOSPC, op, "no free block of %u hostIDs in the "
                "served ssIDs", size);
    }
    return db_group_end(db, op, tx, error);
}

int
db_block_free_host_id(struct db *db, const struct db_block *b,
                      uint8_t *host_id)
{
    static const char op[] = "block free host id";
    sqlite3_stmt *stmt;

    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!b || !host_id) {
        return db_fail(db, -EINVAL, op, "no block or output");
    }
    unsigned int lo = b->first > DB_HOST_ID_MIN ? b->first : DB_HOST_ID_MIN;
    unsigned int hi = b->first + b->size - 1u;
    if (hi > DB_HOST_ID_MAX) {
        hi = DB_HOST_ID_MAX;
    }
    error = db_query(db, op, &stmt, "SELECT host_id FROM hosts"
                     " WHERE ss_id = ?1 AND host_id BETWEEN ?2 AND ?3"
                     " ORDER BY host_id", "iii", (int64_t) b->ss_id,
                     (int64_t) lo, (int64_t) hi);
    if (error) {
        return error;
    }
    unsigned int next = lo;
    while ((error = db_next(db, op, stmt)) == 1) {
        unsigned int held = (unsigned int) sqlite3_column_int(stmt, 0);
        if (held != next) {
            break;              /* 'next' is free. */
        }
        next++;
    }
    sqlite3_finalize(stmt);
    if (error < 0) {
        return error;
    }
    if (next > hi) {
        return db_fail(db, -ENOSPC, op, "block %u.%u/%u is full", b->ss_id,
                       b->first, b->size);
    }
    *host_id = (uint8_t) next;
    return 0;
}

int
db_block_expire(struct db *db, int64_t now, int64_t grace_ms, size_t *n)
{
    static const char op[] = "block expire";
    static const char has_hosts[] =
        "EXISTS (SELECT 1 FROM hosts h WHERE h.ss_id = blocks.ss_id"
        " AND h.dpid = blocks.dpid AND h.host_id >= blocks.first_host"
        " AND h.host_id < blocks.first_host + blocks.size)";
    char sql[512];
    bool tx;

    if (n) {
        *n = 0;
    }
    int error = db_enter(db);
    if (error) {
        return error;
    }
    error = db_group_begin(db, op, &tx);
    if (error) {
        return error;
    }
    snprintf(sql, sizeof sql, "UPDATE blocks SET empty_since = 0"
             " WHERE empty_since != 0 AND %s", has_hosts);
    error = db_run(db, op, sql, "");
    if (!error) {
        snprintf(sql, sizeof sql, "UPDATE blocks SET empty_since = ?1"
                 " WHERE empty_since = 0 AND NOT %s", has_hosts);
        error = db_run(db, op, sql, "i", now);
    }
    if (!error) {
        error = db_run(db, op, "DELETE FROM blocks WHERE empty_since != 0"
                       " AND empty_since <= ?1", "i", now - grace_ms);
        if (!error && n) {
            *n = (size_t) db->changes;
        }
    }
    return db_group_end(db, op, tx, error);
}
