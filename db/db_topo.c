/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topology tables of the sqlite store (db/db.h): switches, their ports
 * and the links topology discovery found between them.
 *
 * Ports and links hang off their switches (deleted with them); a switch
 * that still has hosts attached cannot be deleted, the caller evicts them
 * first.  Roles are stored as text ('unknown', 'label', 'object') so that
 * the file reads well in the sqlite3 shell.
 */
#include "db/db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db-private.h"

static int db_role_from_name(const char *name);
static void db_switch_from_row(sqlite3_stmt *stmt, struct db_switch *s);
static void db_port_from_row(sqlite3_stmt *stmt, struct db_port *p);
static void db_link_from_row(sqlite3_stmt *stmt, struct db_link *l);
static int db_check_role(struct db *db, const char *op, enum db_role role);

#define SWITCH_COLUMNS "dpid, name, role, of_version, connected, last_seen"

int
db_switch_upsert(struct db *db, const struct db_switch *s)
{
    static const char op[] = "switch upsert";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!s) {
        return db_fail(db, -EINVAL, op, "no switch");
    }
    error = db_check_text(db, op, "name", s->name, sizeof s->name);
    if (!error) {
        error = db_check_role(db, op, s->role);
    }
    if (error) {
        return error;
    }
    return db_run(db, op,
                  "INSERT INTO switches (" SWITCH_COLUMNS ")"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                  " ON CONFLICT (dpid) DO UPDATE SET"
                  "  name = excluded.name, role = excluded.role,"
                  "  of_version = excluded.of_version,"
                  "  connected = excluded.connected,"
                  "  last_seen = excluded.last_seen",
                  "uttiii", s->dpid, s->name, db_role_name(s->role),
                  (int64_t) s->of_version, (int64_t) s->connected,
                  s->last_seen);
}

int
db_switch_get(struct db *db, uint64_t dpid, struct db_switch *s)
{
    static const char op[] = "switch get";
    sqlite3_stmt *stmt;
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!s) {
        return db_fail(db, -EINVAL, op, "no output");
    }
    error = db_query(db, op, &stmt,
                     "SELECT " SWITCH_COLUMNS " FROM switches"
                     " WHERE dpid = ?1", "u", dpid);
    if (error) {
        return error;
    }
    error = db_next(db, op, stmt);
    if (error == 1) {
        db_switch_from_row(stmt, s);
        error = 0;
    } else if (!error) {
        error = db_fail(db, -ENOENT, op, "no switch %016llx",
                        (unsigned long long) dpid);
    }
    sqlite3_finalize(stmt);
    return error;
}

int
db_switch_set_role(struct db *db, uint64_t dpid, enum db_role role)
{
    static const char op[] = "switch set role";
    int error = db_enter(db);
    if (!error) {
        error = db_check_role(db, op, role);
    }
    if (!error) {
        error = db_run(db, op, "UPDATE switches SET role = ?2"
                       " WHERE dpid = ?1", "ut", dpid, db_role_name(role));
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no switch %016llx",
                        (unsigned long long) dpid);
    }
    return error;
}

int
db_switch_set_connected(struct db *db, uint64_t dpid, bool connected,
                        int64_t now)
{
    static const char op[] = "switch set connected";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "UPDATE switches SET connected = ?2,"
                       " last_seen = ?3 WHERE dpid = ?1", "uii", dpid,
                       (int64_t) connected, now);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no switch %016llx",
                        (unsigned long long) dpid);
    }
    return error;
}

int
db_switch_delete(struct db *db, uint64_t dpid)
{
    static const char op[] = "switch delete";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM switches WHERE dpid = ?1", "u",
                       dpid);
    }
    if (error == -ENOENT) {
        /* A foreign key failed: hosts still refer to the switch. */
        return db_fail(db, -EBUSY, op, "hosts are attached to %016llx",
                       (unsigned long long) dpid);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no switch %016llx",
                        (unsigned long long) dpid);
    }
    return error;
}

int
db_switch_list(struct db *db, struct db_switch **out, size_t *n)
{
    static const char op[] = "switch list";
    struct db_switch *arr = NULL;
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
    error = db_query(db, op, &stmt, "SELECT " SWITCH_COLUMNS
                     " FROM switches ORDER BY dpid", "");
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_switch_from_row(stmt, &arr[count++]);
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

#define PORT_COLUMNS "dpid, port_no, name, mac, up"

int
db_port_upsert(struct db *db, const struct db_port *p)
{
    static const char op[] = "port upsert";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!p) {
        return db_fail(db, -EINVAL, op, "no port");
    }
    error = db_check_text(db, op, "name", p->name, sizeof p->name);
    if (error) {
        return error;
    }
    return db_run(db, op,
                  "INSERT INTO ports (" PORT_COLUMNS ")"
                  " VALUES (?1, ?2, ?3, ?4, ?5)"
                  " ON CONFLICT (dpid, port_no) DO UPDATE SET"
                  "  name = excluded.name, mac = excluded.mac,"
                  "  up = excluded.up",
                  "uitmi", p->dpid, (int64_t) p->port_no, p->name, p->mac,
                  (int64_t) p->up);
}

int
db_port_delete(struct db *db, uint64_t dpid, uint32_t port_no)
{
    static const char op[] = "port delete";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM ports"
                       " WHERE dpid = ?1 AND port_no = ?2", "ui", dpid,
                       (int64_t) port_no);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no port %016llx:%u",
                        (unsigned long long) dpid, port_no);
    }
    return error;
}

int
db_port_list(struct db *db, uint64_t dpid, struct db_port **out, size_t *n)
{
    static const char op[] = "port list";
    struct db_port *arr = NULL;
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
    error = db_query(db, op, &stmt, "SELECT " PORT_COLUMNS " FROM ports"
                     " WHERE dpid = ?1 ORDER BY port_no", "u", dpid);
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_port_from_row(stmt, &arr[count++]);
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

#define LINK_COLUMNS "src_dpid, src_port, dst_dpid, dst_port, last_probe"

int
db_link_upsert(struct db *db, const struct db_link *l)
{
    static const char op[] = "link upsert";
    int error = db_enter(db);
    if (error) {
        return error;
    }
    if (!l) {
        return db_fail(db, -EINVAL, op, "no link");
    }
    return db_run(db, op,
                  "INSERT INTO links (" LINK_COLUMNS ")"
                  " VALUES (?1, ?2, ?3, ?4, ?5)"
                  " ON CONFLICT (src_dpid, src_port) DO UPDATE SET"
                  "  dst_dpid = excluded.dst_dpid,"
                  "  dst_port = excluded.dst_port,"
                  "  last_probe = excluded.last_probe",
                  "uiuii", l->src_dpid, (int64_t) l->src_port, l->dst_dpid,
                  (int64_t) l->dst_port, l->last_probe);
}

int
db_link_delete(struct db *db, uint64_t src_dpid, uint32_t src_port)
{
    static const char op[] = "link delete";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM links"
                       " WHERE src_dpid = ?1 AND src_port = ?2", "ui",
                       src_dpid, (int64_t) src_port);
    }
    if (!error && !db->changes) {
        error = db_fail(db, -ENOENT, op, "no link from %016llx:%u",
                        (unsigned long long) src_dpid, src_port);
    }
    return error;
}

int
db_link_expire(struct db *db, int64_t before, size_t *n)
{
    static const char op[] = "link expire";
    int error = db_enter(db);
    if (!error) {
        error = db_run(db, op, "DELETE FROM links WHERE last_probe < ?1",
                       "i", before);
    }
    if (n) {
        *n = error ? 0 : (size_t) db->changes;
    }
    return error;
}

int
db_link_list(struct db *db, struct db_link **out, size_t *n)
{
    static const char op[] = "link list";
    struct db_link *arr = NULL;
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
    error = db_query(db, op, &stmt, "SELECT " LINK_COLUMNS " FROM links"
                     " ORDER BY src_dpid, src_port", "");
    while (!error && (error = db_next(db, op, stmt)) == 1) {
        error = db_grow(db, op, (void **) &arr, &cap, count, sizeof *arr);
        if (!error) {
            db_link_from_row(stmt, &arr[count++]);
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

/* ---- static functions --------------------------------------------------- */

static int
db_role_from_name(const char *name)
{
    if (name && !strcmp(name, "label")) {
        return DB_ROLE_LABEL;
    }
    if (name && !strcmp(name, "object")) {
        return DB_ROLE_OBJECT;
    }
    return DB_ROLE_UNKNOWN;
}

static int
db_check_role(struct db *db, const char *op, enum db_role role)
{
    if (role != DB_ROLE_UNKNOWN && role != DB_ROLE_LABEL
        && role != DB_ROLE_OBJECT) {
        return db_fail(db, -EINVAL, op, "bad role %d", (int) role);
    }
    return 0;
}

static void
db_switch_from_row(sqlite3_stmt *stmt, struct db_switch *s)
{
    memset(s, 0, sizeof *s);
    s->dpid = (uint64_t) sqlite3_column_int64(stmt, 0);
    db_col_text(stmt, 1, s->name, sizeof s->name);
    s->role = db_role_from_name((const char *) sqlite3_column_text(stmt, 2));
    s->of_version = (uint8_t) sqlite3_column_int(stmt, 3);
    s->connected = sqlite3_column_int(stmt, 4) != 0;
    s->last_seen = sqlite3_column_int64(stmt, 5);
}

static void
db_port_from_row(sqlite3_stmt *stmt, struct db_port *p)
{
    memset(p, 0, sizeof *p);
    p->dpid = (uint64_t) sqlite3_column_int64(stmt, 0);
    p->port_no = (uint32_t) sqlite3_column_int64(stmt, 1);
    db_col_text(stmt, 2, p->name, sizeof p->name);
    db_col_mac(stmt, 3, p->mac);
    p->up = sqlite3_column_int(stmt, 4) != 0;
}

static void
db_link_from_row(sqlite3_stmt *stmt, struct db_link *l)
{
    memset(l, 0, sizeof *l);
    l->src_dpid = (uint64_t) sqlite3_column_int64(stmt, 0);
    l->src_port = (uint32_t) sqlite3_column_int64(stmt, 1);
    l->dst_dpid = (uint64_t) sqlite3_column_int64(stmt, 2);
    l->dst_port = (uint32_t) sqlite3_column_int64(stmt, 3);
    l->last_probe = sqlite3_column_int64(stmt, 4);
}
