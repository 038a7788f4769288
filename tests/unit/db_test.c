/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the state store db/db.h on real sqlite files in fresh
 * temporary directories: creating a store and every kind of row, reopening
 * it, two handles on one file at once, migrating a file written with the
 * version 1 schema, constraint violations (duplicates, foreign keys),
 * hostID allocation and exhaustion, event ordering, the idempotency table
 * and transactions.
 *
 * The migration tests write the old-version file with sqlite directly (the
 * layer itself only ever writes the newest schema).
 */
#include "db/db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/migrations.h"
#include "tests/unit/harness.h"

static const uint8_t mac1[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac2[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac3[6] = { 0x02, 0, 0, 0, 0, 0x03 };

/* Path of a fresh database file (static storage). */
static const char *
fresh_path(void)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/state.db", sft_tmpdir());
    return path;
}

static struct db *
open_ok(const char *path)
{
    struct db *db = NULL;
    char *msg = NULL;
    int error = db_open(path, &db, &msg);
    if (error) {
        fprintf(stderr, "db_open(%s): %d %s\n", path, error,
                msg ? msg : "");
    }
    CU_ASSERT_EQUAL_FATAL(error, 0);
    CU_ASSERT_PTR_NULL(msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    return db;
}

static void
make_switch(struct db *db, uint64_t dpid, const char *name)
{
    struct db_switch s = { .dpid = dpid, .role = DB_ROLE_LABEL,
                           .of_version = 4, .connected = true,
                           .last_seen = 1000 };
    snprintf(s.name, sizeof s.name, "%s", name);
    CU_ASSERT_EQUAL(db_switch_upsert(db, &s), 0);
}

static void
make_host(struct db *db, const uint8_t mac[6], uint8_t ss, uint8_t id,
          uint64_t dpid)
{
    struct db_host h = { .ss_id = ss, .host_id = id, .dpid = dpid,
                         .port_no = 1, .lease_expiry = 5000,
                         .joined_at = 100 };
    memcpy(h.mac, mac, 6);
    snprintf(h.name, sizeof h.name, "h%u", id);
    CU_ASSERT_EQUAL(db_host_upsert(db, &h), 0);
}

static int
contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

/* ---- open, schema ------------------------------------------------------- */

static void
test_open_create(void)
{
    const char *path = fresh_path();
    struct db *db = open_ok(path);
    int version = -1;

    CU_ASSERT_EQUAL(db_schema_latest(), (int) db_n_migrations);
    CU_ASSERT_EQUAL(db_schema_latest(), 4);
    CU_ASSERT_EQUAL(db_schema_version(db, &version), 0);
    CU_ASSERT_EQUAL(version, db_schema_latest());
    CU_ASSERT_STRING_EQUAL(db_errmsg(db), "");
    db_close(db);

    /* WAL is a property of the file: a plain connection sees it, and
     * reopening does not apply the migrations again. */
    sqlite3 *raw;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *stmt;
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1,
                                       &stmt, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(stmt), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *) sqlite3_column_text(stmt, 0),
                           "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(raw);

    db = open_ok(path);
    CU_ASSERT_EQUAL(db_schema_version(db, &version), 0);
    CU_ASSERT_EQUAL(version, 4);
    db_close(db);
    db_close(NULL);
}

static void
test_open_errors(void)
{
    struct db *db = (struct db *) 1;
    char *msg = NULL;
    char path[160];

    snprintf(path, sizeof path, "%s/no/such/dir/state.db", sft_tmpdir());
    int error = db_open(path, &db, &msg);
    CU_ASSERT(error < 0);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT(contains(msg, "open"));
    free(msg);

    CU_ASSERT_EQUAL(db_open(NULL, &db, &msg), -EINVAL);
    free(msg);
    CU_ASSERT_EQUAL(db_open(path, NULL, NULL), -EINVAL);

    /* A file that is not a database. */
    snprintf(path, sizeof path, "%s/junk.db", sft_tmpdir());
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("this is not an sqlite database, not even close to one.\n"
          "................................................................"
          "................................................................",
          f);
    fclose(f);
    CU_ASSERT(db_open(path, &db, &msg) < 0);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL(msg);
    free(msg);
    CU_ASSERT_STRING_EQUAL(db_errmsg(NULL), "no database handle");
}

/* Runs the SQL of migrations 1..'upto' on a new file at 'path' with sqlite
 * directly, then 'extra' (may be NULL). */
static void
write_old_file(const char *path, int upto, const char *extra)
{
    sqlite3 *raw;
    char *msg = NULL;

    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &raw), SQLITE_OK);
    for (int v = 1; v <= upto; v++) {
        CU_ASSERT_EQUAL_FATAL(db_migrations[v - 1].version, v);
        int rc = sqlite3_exec(raw, db_migrations[v - 1].sql, NULL, NULL,
                              &msg);
        if (rc != SQLITE_OK) {
            fprintf(stderr, "v%d: %s\n", v, msg);
        }
        CU_ASSERT_EQUAL_FATAL(rc, SQLITE_OK);
    }
    if (extra) {
        int rc = sqlite3_exec(raw, extra, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            fprintf(stderr, "extra: %s\n", msg);
        }
        CU_ASSERT_EQUAL_FATAL(rc, SQLITE_OK);
    }
    sqlite3_close(raw);
}

static void
test_migrate_from_v1(void)
{
    const char *path = fresh_path();
    /* A version-1 store with one of each row, as a v1 controller wrote. */
    write_old_file(path, 1,
        "INSERT INTO switches VALUES (10, 'lr1', 'label', 4, 1, 111);"
        "INSERT INTO switches VALUES (-1, 'or1', 'object', 6, 0, 222);"
        "INSERT INTO ports VALUES (10, 1, 'lr1-eth1',"
        "                          x'020000000a01', 1);"
        "INSERT INTO links VALUES (10, 2, -1, 3, 333);"
        "INSERT INTO hosts VALUES (x'020000000001', 7, 1, 10, 1, 5000,"
        "                          100, 0);"
        "INSERT INTO objects VALUES (8080, 50);"
        "INSERT INTO instances VALUES (x'020000000001', 9, 8080, 60);"
        "INSERT INTO events (time, kind, subject, detail)"
        "  VALUES (1, 'switch.up', '10', 'v1 event');");

    struct db *db = open_ok(path);
    int version;
    CU_ASSERT_EQUAL(db_schema_version(db, &version), 0);
    CU_ASSERT_EQUAL(version, 4);

    struct db_switch s;
    CU_ASSERT_EQUAL(db_switch_get(db, 10, &s), 0);
    CU_ASSERT_STRING_EQUAL(s.name, "lr1");
    CU_ASSERT_EQUAL(s.role, DB_ROLE_LABEL);
    CU_ASSERT_EQUAL(db_switch_get(db, UINT64_MAX, &s), 0);
    CU_ASSERT_EQUAL(s.role, DB_ROLE_OBJECT);
    CU_ASSERT_EQUAL(s.of_version, 6);

    struct db_link *links;
    size_t n;
    CU_ASSERT_EQUAL(db_link_list(db, &links, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(links[0].dst_dpid, UINT64_MAX);
    free(links);

    /* The host survived and got the new, empty name column. */
    struct db_host h;
    CU_ASSERT_EQUAL(db_host_get(db, mac1, &h), 0);
    CU_ASSERT_EQUAL(h.ss_id, 7);
    CU_ASSERT_EQUAL(h.host_id, 1);
    CU_ASSERT_STRING_EQUAL(h.name, "");

    struct db_instance *inst;
    CU_ASSERT_EQUAL(db_instance_list(db, 8080, &inst, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(inst[0].flow_id, 0x07010009u);
    free(inst);

    struct db_event *ev;
    CU_ASSERT_EQUAL(db_event_list(db, 0, 0, &ev, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(ev[0].detail, "v1 event");
    free(ev);

    /* Version 2 features work on the migrated file. */
    CU_ASSERT_EQUAL(db_request_put(db, mac1, 1, "r", 1, 10), 0);
    struct db_object o = { .object_id = 8080, .name = "web" };
    CU_ASSERT_EQUAL(db_object_upsert(db, &o), 0);
    CU_ASSERT_EQUAL(db_object_get(db, 8080, &o), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "web");
    CU_ASSERT_EQUAL(o.created_at, 50);
    CU_ASSERT_EQUAL(o.n_instances, 1);
    db_close(db);

    /* Exactly one row per version. */
    sqlite3 *raw;
    sqlite3_stmt *stmt;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(raw, "SELECT group_concat(version)"
                                       " FROM schema_version", -1, &stmt,
                                       NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(stmt), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *) sqlite3_column_text(stmt, 0),
                           "1,2,3,4");
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
}

/* Describes the schema of the file at 'path' as one string: every table
 * with its columns, foreign keys and indexes, every index and trigger with
 * its SQL.  Two files with equal signatures have the same schema. */
static char *
schema_signature(const char *path)
{
    static const char sql[] =
        "SELECT group_concat(line, char(10)) FROM ("
        " SELECT m.type || ' ' || m.name || ' ' || CASE m.type"
        "  WHEN 'table' THEN"
        "   (SELECT group_concat(c.cid || ':' || c.name || ':' || c.type"
        "      || ':' || c.\"notnull\" || ':' || coalesce(c.dflt_value, '')"
        "      || ':' || c.pk, ',') FROM pragma_table_info(m.name) c)"
        "   || ' fk ' || coalesce((SELECT group_concat(f.\"from\" || '>'"
        "      || f.\"table\" || '.' || f.\"to\" || ':' || f.on_delete, ',')"
        "      FROM pragma_foreign_key_list(m.name) f), '')"
        "   || ' idx ' || coalesce((SELECT group_concat(i.name || ':'"
        "      || i.\"unique\" || ':' || i.origin, ',')"
        "      FROM pragma_index_list(m.name) i), '')"
        "  ELSE coalesce(m.sql, '') END AS line"
        " FROM sqlite_master m ORDER BY m.type, m.name)";
    sqlite3 *raw;
    sqlite3_stmt *stmt;
    char *sig = NULL;

    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(raw, sql, -1, &stmt, NULL),
                          SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(stmt, 0);
        sig = strdup(t ? (const char *) t : "");
    }
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
    return sig;
}

/* db/schema.sql describes exactly what the migrations build, and the layer
 * accepts a file made from it as the latest version. */
static void
test_schema_sql_matches(void)
{
    char migrated[160], direct[160];
    snprintf(migrated, sizeof migrated, "%s", fresh_path());
    snprintf(direct, sizeof direct, "%s", fresh_path());

    db_close(open_ok(migrated));
    write_old_file(direct, 0, db_schema_sql);

    char *a = schema_signature(migrated);
    char *b = schema_signature(direct);
    CU_ASSERT(strlen(a) > 100);
    if (strcmp(a, b)) {
        fprintf(stderr, "migrations:\n%s\nschema.sql:\n%s\n", a, b);
    }
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a);
    free(b);

    struct db *db = open_ok(direct);
    int version;
    CU_ASSERT_EQUAL(db_schema_version(db, &version), 0);
    CU_ASSERT_EQUAL(version, db_schema_latest());
    db_close(db);
}

static void
test_schema_too_new(void)
{
    const char *path = fresh_path();
    write_old_file(path, 2, "INSERT INTO schema_version VALUES (99, 0);");

    struct db *db = NULL;
    char *msg = NULL;
    CU_ASSERT_EQUAL(db_open(path, &db, &msg), -ENOTSUP);
    CU_ASSERT_PTR_NULL(db);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT(contains(msg, "newer"));
    free(msg);
}

/* ---- topology ----------------------------------------------------------- */

static void
test_switches(void)
{
    struct db *db = open_ok(fresh_path());
    struct db_switch s;

    make_switch(db, 2, "lr2");
    make_switch(db, 1, "lr1");
    make_switch(db, UINT64_C(0xffffffffffff0001), "or");
    CU_ASSERT_EQUAL(db_switch_get(db, 1, &s), 0);
    CU_ASSERT_STRING_EQUAL(s.name, "lr1");
    CU_ASSERT_EQUAL(s.role, DB_ROLE_LABEL);
    CU_ASSERT_EQUAL(s.of_version, 4);
    CU_ASSERT(s.connected);
    CU_ASSERT_EQUAL(s.last_seen, 1000);

    /* Upsert overwrites. */
    s.of_version = 6;
    snprintf(s.name, sizeof s.name, "renamed");
    CU_ASSERT_EQUAL(db_switch_upsert(db, &s), 0);
    CU_ASSERT_EQUAL(db_switch_set_role(db, 1, DB_ROLE_OBJECT), 0);
    CU_ASSERT_EQUAL(db_switch_set_connected(db, 1, false, 2000), 0);
    CU_ASSERT_EQUAL(db_switch_get(db, 1, &s), 0);
    CU_ASSERT_STRING_EQUAL(s.name, "renamed");
    CU_ASSERT_EQUAL(s.of_version, 6);
    CU_ASSERT_EQUAL(s.role, DB_ROLE_OBJECT);
    CU_ASSERT(!s.connected);
    CU_ASSERT_EQUAL(s.last_seen, 2000);

    struct db_switch *list;
    size_t n;
    CU_ASSERT_EQUAL(db_switch_list(db, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    /* Ordered by the stored (signed) value: the high dpid first. */
    CU_ASSERT_EQUAL(list[0].dpid, UINT64_C(0xffffffffffff0001));
    CU_ASSERT_EQUAL(list[1].dpid, 1);
    CU_ASSERT_EQUAL(list[2].dpid, 2);
    free(list);

    /* Unknown switch, bad role, long name. */
    CU_ASSERT_EQUAL(db_switch_get(db, 99, &s), -ENOENT);
    CU_ASSERT(contains(db_errmsg(db), "switch get"));
    CU_ASSERT_EQUAL(db_switch_set_role(db, 99, DB_ROLE_LABEL), -ENOENT);
    CU_ASSERT_EQUAL(db_switch_set_connected(db, 99, true, 1), -ENOENT);
    CU_ASSERT_EQUAL(db_switch_set_role(db, 1, (enum db_role) 7), -EINVAL);
    memset(s.name, 'x', sizeof s.name);
    CU_ASSERT_EQUAL(db_switch_upsert(db, &s), -EINVAL);
    CU_ASSERT(contains(db_errmsg(db), "name"));

    CU_ASSERT_EQUAL(db_switch_delete(db, 2), 0);
    CU_ASSERT_EQUAL(db_switch_delete(db, 2), -ENOENT);
    CU_ASSERT_EQUAL(db_switch_get(db, 2, &s), -ENOENT);
    db_close(db);
}

static void
test_ports_links(void)
{
    struct db *db = open_ok(fresh_path());
    struct db_port p = { .dpid = 1, .port_no = 3, .name = "lr1-eth3",
                         .mac = { 2, 0, 0, 0, 1, 3 }, .up = true };

    /* Foreign key: the switch must exist. */
    CU_ASSERT_EQUAL(db_port_upsert(db, &p), -ENOENT);
    CU_ASSERT(contains(db_errmsg(db), "port upsert"));
    CU_ASSERT(contains(db_errmsg(db), "FOREIGN KEY"));

    make_switch(db, 1, "lr1");
    make_switch(db, 2, "lr2");
    CU_ASSERT_EQUAL(db_port_upsert(db, &p), 0);
    p.port_no = 1;
    p.up = false;
    CU_ASSERT_EQUAL(db_port_upsert(db, &p), 0);
    p.up = true;
    CU_ASSERT_EQUAL(db_port_upsert(db, &p), 0);

    struct db_port *ports;
    size_t n;
    CU_ASSERT_EQUAL(db_port_list(db, 1, &ports, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(ports[0].port_no, 1);
    CU_ASSERT(ports[0].up);
    CU_ASSERT_EQUAL(ports[1].port_no, 3);
    CU_ASSERT_STRING_EQUAL(ports[1].name, "lr1-eth3");
    CU_ASSERT_EQUAL(memcmp(ports[1].mac, p.mac, 6), 0);
    free(ports);
    CU_ASSERT_EQUAL(db_port_list(db, 2, &ports, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(ports);
    CU_ASSERT_EQUAL(db_port_delete(db, 1, 1), 0);
    CU_ASSERT_EQUAL(db_port_delete(db, 1, 1), -ENOENT);

    struct db_link l = { .src_dpid = 1, .src_port = 3, .dst_dpid = 2,
                         .dst_port = 4, .last_probe = 100 };
    CU_ASSERT_EQUAL(db_link_upsert(db, &l), 0);
    l.last_probe = 200;
    CU_ASSERT_EQUAL(db_link_upsert(db, &l), 0);
    struct db_link back = { .src_dpid = 2, .src_port = 4, .dst_dpid = 1,
                            .dst_port = 3, .last_probe = 50 };
    CU_ASSERT_EQUAL(db_link_upsert(db, &back), 0);
    struct db_link bad = { .src_dpid = 1, .src_port = 9, .dst_dpid = 77,
                           .dst_port = 1 };
    CU_ASSERT_EQUAL(db_link_upsert(db, &bad), -ENOENT);

    struct db_link *links;
    CU_ASSERT_EQUAL(db_link_list(db, &links, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(links[0].src_dpid, 1);
    CU_ASSERT_EQUAL(links[0].dst_port, 4);
    CU_ASSERT_EQUAL(links[0].last_probe, 200);
    CU_ASSERT_EQUAL(links[1].src_dpid, 2);
    free(links);

    /* Expiry removes the stale direction only. */
    CU_ASSERT_EQUAL(db_link_expire(db, 100, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(db_link_delete(db, 2, 4), -ENOENT);

    /* Deleting a switch takes its ports and links with it. */
    CU_ASSERT_EQUAL(db_switch_delete(db, 2), 0);
    CU_ASSERT_EQUAL(db_link_list(db, &links, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(db_switch_delete(db, 1), 0);
    CU_ASSERT_EQUAL(db_port_list(db, 1, &ports, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    db_close(db);
}

/* ---- hosts, objects, instances ------------------------------------------ */

static void
test_hosts(void)
{
    struct db *db = open_ok(fresh_path());
    struct db_host h;

    /* Foreign key: the attachment switch must exist. */
    struct db_host orphan = { .mac = { 2, 0, 0, 0, 0, 9 }, .ss_id = 1,
                              .host_id = 1, .dpid = 5 };
    CU_ASSERT_EQUAL(db_host_upsert(db, &orphan), -ENOENT);
    CU_ASSERT(contains(db_errmsg(db), "host upsert"));

    make_switch(db, 5, "lr5");
    make_switch(db, 6, "lr6");
    make_host(db, mac1, 10, 1, 5);
    make_host(db, mac2, 10, 2, 5);
    CU_ASSERT_EQUAL(db_host_get(db, mac1, &h), 0);
    CU_ASSERT_EQUAL(h.ss_id, 10);
    CU_ASSERT_EQUAL(h.host_id, 1);
    CU_ASSERT_EQUAL(h.dpid, 5);
    CU_ASSERT_EQUAL(h.port_no, 1);
    CU_ASSERT_EQUAL(h.lease_expiry, 5000);
    CU_ASSERT_EQUAL(h.joined_at, 100);
    CU_ASSERT_STRING_EQUAL(h.name, "h1");

    /* Duplicate address: another host already holds 10.2. */
    struct db_host dup = h;
    memcpy(dup.mac, mac3, 6);
    dup.host_id = 2;
    CU_ASSERT_EQUAL(db_host_upsert(db, &dup), -EEXIST);
    CU_ASSERT(contains(db_errmsg(db), "UNIQUE"));
    dup.host_id = 0;
    CU_ASSERT_EQUAL(db_host_upsert(db, &dup), -EINVAL);
    dup.host_id = 255;
    CU_ASSERT_EQUAL(db_host_upsert(db, &dup), -EINVAL);

    /* Move mac1 to another switch and address. */
    h.dpid = 6;
    h.host_id = 3;
    h.moved_at = 700;
    CU_ASSERT_EQUAL(db_host_upsert(db, &h), 0);
    CU_ASSERT_EQUAL(db_host_find(db, 10, 3, &h), 0);
    CU_ASSERT_EQUAL(memcmp(h.mac, mac1, 6), 0);
    CU_ASSERT_EQUAL(h.dpid, 6);
    CU_ASSERT_EQUAL(h.moved_at, 700);
    CU_ASSERT_EQUAL(db_host_find(db, 10, 1, &h), -ENOENT);

    CU_ASSERT_EQUAL(db_host_renew(db, mac2, 9000), 0);
    CU_ASSERT_EQUAL(db_host_renew(db, mac3, 9000), -ENOENT);

    struct db_host *list;
    size_t n;
    CU_ASSERT_EQUAL(db_host_list(db, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(list[0].host_id, 2);
    CU_ASSERT_EQUAL(list[1].host_id, 3);
    free(list);
    CU_ASSERT_EQUAL(db_host_list_expired(db, 6000, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(memcmp(list[0].mac, mac1, 6), 0);
    free(list);
    /* Lease expiry selection: in expiry order, and 0 is "no lease". */
    CU_ASSERT_EQUAL(db_host_list_expired(db, 10000, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(memcmp(list[0].mac, mac1, 6), 0);
    CU_ASSERT_EQUAL(memcmp(list[1].mac, mac2, 6), 0);
    free(list);
    CU_ASSERT_EQUAL(db_host_renew(db, mac2, 0), 0);
    CU_ASSERT_EQUAL(db_host_list_expired(db, 10000, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(memcmp(list[0].mac, mac1, 6), 0);
    free(list);
    CU_ASSERT_EQUAL(db_host_list_expired(db, 5000, &list, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(list);

    /* A switch with hosts attached cannot go. */
    CU_ASSERT_EQUAL(db_switch_delete(db, 6), -EBUSY);
    CU_ASSERT(contains(db_errmsg(db), "switch delete"));
    CU_ASSERT_EQUAL(db_host_delete(db, mac1), 0);
    CU_ASSERT_EQUAL(db_host_delete(db, mac1), -ENOENT);
    CU_ASSERT_EQUAL(db_switch_delete(db, 6), 0);
    db_close(db);
}

static void
test_host_id_alloc(void)
{
    struct db *db = open_ok(fresh_path());
    uint8_t id = 0;

    make_switch(db, 1, "lr1");
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 10, &id), 0);
    CU_ASSERT_EQUAL(id, 1);

    /* Fill ssID 10 completely, allocating and inserting in one
     * transaction each time, as a join does. */
    for (int i = DB_HOST_ID_MIN; i <= DB_HOST_ID_MAX; i++) {
        uint8_t mac[6] = { 2, 0, 0, 0, 10, (uint8_t) i };
        CU_ASSERT_EQUAL_FATAL(db_begin(db), 0);
        CU_ASSERT_EQUAL_FATAL(db_host_alloc_id(db, 10, &id), 0);
        CU_ASSERT_EQUAL_FATAL(id, i);
        make_host(db, mac, 10, id, 1);
        CU_ASSERT_EQUAL_FATAL(db_commit(db), 0);
    }
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 10, &id), -ENOSPC);
    CU_ASSERT_EQUAL(id, 0);
    CU_ASSERT(contains(db_errmsg(db), "no free hostID in ssID 10"));

    /* Other domains are independent. */
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 11, &id), 0);
    CU_ASSERT_EQUAL(id, 1);

    /* The lowest hole is found, including the first and last ids. */
    uint8_t m200[6] = { 2, 0, 0, 0, 10, 200 };
    uint8_t m254[6] = { 2, 0, 0, 0, 10, 254 };
    uint8_t m1[6] = { 2, 0, 0, 0, 10, 1 };
    CU_ASSERT_EQUAL(db_host_delete(db, m254), 0);
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 10, &id), 0);
    CU_ASSERT_EQUAL(id, 254);
    CU_ASSERT_EQUAL(db_host_delete(db, m200), 0);
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 10, &id), 0);
    CU_ASSERT_EQUAL(id, 200);
    CU_ASSERT_EQUAL(db_host_delete(db, m1), 0);
    CU_ASSERT_EQUAL(db_host_alloc_id(db, 10, &id), 0);
    CU_ASSERT_EQUAL(id, 1);
    db_close(db);
}

static void
test_objects_instances(void)
{
    struct db *db = open_ok(fresh_path());

    make_switch(db, 1, "lr1");
    make_host(db, mac1, 10, 1, 1);
    make_host(db, mac2, 10, 2, 1);

    struct db_instance in = { .object_id = 80, .sock_id = 7,
                              .bound_at = 300 };
    memcpy(in.host_mac, mac2, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), 0);
    memcpy(in.host_mac, mac1, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), 0);
    in.sock_id = 8;
    in.object_id = 443;
    CU_ASSERT_EQUAL(db_instance_add(db, &in), 0);

    /* Duplicate socket, unknown host (foreign key), objectID 0. */
    CU_ASSERT_EQUAL(db_instance_add(db, &in), -EEXIST);
    CU_ASSERT(contains(db_errmsg(db), "instance add"));
    memcpy(in.host_mac, mac3, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), -ENOENT);
    in.object_id = 0;
    CU_ASSERT_EQUAL(db_instance_add(db, &in), -EINVAL);

    struct db_instance *list;
    size_t n;
    CU_ASSERT_EQUAL(db_instance_list(db, 80, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(list[0].flow_id, 0x0a010007u);
    CU_ASSERT_EQUAL(memcmp(list[0].host_mac, mac1, 6), 0);
    CU_ASSERT_EQUAL(list[0].bound_at, 300);
    CU_ASSERT_EQUAL(list[1].flow_id, 0x0a020007u);
    free(list);
    CU_ASSERT_EQUAL(db_instance_list(db, 0, &list, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    free(list);

    /* The objects were created on the way, with their counts. */
    struct db_object *objs;
    CU_ASSERT_EQUAL(db_object_list(db, &objs, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(objs[0].object_id, 80);
    CU_ASSERT_EQUAL(objs[0].n_instances, 2);
    CU_ASSERT_EQUAL(objs[0].created_at, 300);
    CU_ASSERT_EQUAL(objs[1].object_id, 443);
    CU_ASSERT_EQUAL(objs[1].n_instances, 1);
    free(objs);

    /* A move carries the host's instances to its new address. */
    struct db_host h;
    CU_ASSERT_EQUAL(db_host_get(db, mac1, &h), 0);
    h.host_id = 9;
    CU_ASSERT_EQUAL(db_host_upsert(db, &h), 0);
    CU_ASSERT_EQUAL(db_instance_list_host(db, mac1, &list, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(list[0].flow_id, 0x0a090007u);
    CU_ASSERT_EQUAL(list[0].object_id, 80);
    CU_ASSERT_EQUAL(list[1].flow_id, 0x0a090008u);
    CU_ASSERT_EQUAL(list[1].object_id, 443);
    free(list);

    /* Removing instances, hosts and objects. */
    CU_ASSERT_EQUAL(db_instance_remove(db, mac2, 7), 0);
    CU_ASSERT_EQUAL(db_instance_remove(db, mac2, 7), -ENOENT);
    CU_ASSERT_EQUAL(db_host_delete(db, mac1), 0);
    CU_ASSERT_EQUAL(db_instance_list(db, 0, &list, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    struct db_object o = { .object_id = 80, .name = "http",
                           .created_at = 1 };
    CU_ASSERT_EQUAL(db_object_upsert(db, &o), 0);
    CU_ASSERT_EQUAL(db_object_get(db, 80, &o), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "http");
    CU_ASSERT_EQUAL(o.created_at, 300);
    CU_ASSERT_EQUAL(o.n_instances, 0);
    CU_ASSERT_EQUAL(db_object_delete(db, 80), 0);
    CU_ASSERT_EQUAL(db_object_get(db, 80, &o), -ENOENT);
    CU_ASSERT_EQUAL(db_object_delete(db, 80), -ENOENT);
    db_close(db);
}

/* ---- event log, requests ------------------------------------------------ */

static void
test_events(void)
{
    struct db *db = open_ok(fresh_path());
    uint64_t ids[5], last;

    CU_ASSERT_EQUAL(db_event_last_id(db, &last), 0);
    CU_ASSERT_EQUAL(last, 0);
    for (int i = 0; i < 5; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "event %d", i);
        /* Times deliberately out of order: ids give the order. */
        CU_ASSERT_EQUAL(db_event_append(db, 100 - i, "host.join",
                                        i % 2 ? NULL : "02:00:00:00:00:01",
                                        detail, &ids[i]), 0);
        if (i) {
            CU_ASSERT(ids[i] > ids[i - 1]);
        }
    }
    CU_ASSERT_EQUAL(db_event_last_id(db, &last), 0);
    CU_ASSERT_EQUAL(last, ids[4]);

    struct db_event *ev;
    size_t n;
    CU_ASSERT_EQUAL(db_event_list(db, 0, 0, &ev, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (int i = 0; i < 5; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "event %d", i);
        CU_ASSERT_EQUAL(ev[i].id, ids[i]);
        CU_ASSERT_EQUAL(ev[i].time, 100 - i);
        CU_ASSERT_STRING_EQUAL(ev[i].kind, "host.join");
        CU_ASSERT_STRING_EQUAL(ev[i].subject,
                               i % 2 ? "" : "02:00:00:00:00:01");
        CU_ASSERT_STRING_EQUAL(ev[i].detail, detail);
    }
    free(ev);

    /* Since an id, with a limit: a reader pages through the log. */
    CU_ASSERT_EQUAL(db_event_list(db, ids[1], 2, &ev, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(ev[0].id, ids[2]);
    CU_ASSERT_EQUAL(ev[1].id, ids[3]);
    free(ev);
    CU_ASSERT_EQUAL(db_event_list(db, ids[4], 10, &ev, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(ev);

    /* Bad input. */
    CU_ASSERT_EQUAL(db_event_append(db, 1, "", NULL, NULL, NULL), -EINVAL);
    char longkind[DB_KIND_SIZE + 1];
    memset(longkind, 'k', sizeof longkind - 1);
    longkind[sizeof longkind - 1] = '\0';
    CU_ASSERT_EQUAL(db_event_append(db, 1, longkind, NULL, NULL, NULL),
                    -EINVAL);
    CU_ASSERT(contains(db_errmsg(db), "kind"));

    /* A later event always gets a greater id. */
    CU_ASSERT_EQUAL(db_event_append(db, 1, "x", NULL, NULL, &last), 0);
    CU_ASSERT(last > ids[4]);
    db_close(db);
}

static void
test_requests(void)
{
    struct db *db = open_ok(fresh_path());
    const uint8_t reply[] = { 0x08, 0x01, 0x5a, 0x00, 0xff };
    void *got;
    size_t len;

    CU_ASSERT_EQUAL(db_request_get(db, mac1, 42, &got, &len), -ENOENT);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(db_request_put(db, mac1, 42, reply, sizeof reply, 100),
                    0);
    CU_ASSERT_EQUAL(db_request_put(db, mac1, 42, "other", 5, 101), -EEXIST);
    CU_ASSERT(contains(db_errmsg(db), "request put"));
    CU_ASSERT_EQUAL(db_request_put(db, mac2, 42, NULL, 0, 200), 0);
    CU_ASSERT_EQUAL(db_request_put(db, mac1, UINT64_MAX, "z", 1, 300), 0);

    CU_ASSERT_EQUAL(db_request_get(db, mac1, 42, &got, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, sizeof reply);
    CU_ASSERT_EQUAL(memcmp(got, reply, len), 0);
    free(got);
    CU_ASSERT_EQUAL(db_request_get(db, mac2, 42, &got, &len), 0);
    CU_ASSERT_EQUAL(len, 0);
    free(got);
    CU_ASSERT_EQUAL(db_request_get(db, mac1, UINT64_MAX, &got, &len), 0);
    CU_ASSERT_EQUAL(len, 1);
    free(got);

    size_t n;
    CU_ASSERT_EQUAL(db_request_prune(db, 250, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(db_request_get(db, mac1, 42, &got, &len), -ENOENT);
    CU_ASSERT_EQUAL(db_request_get(db, mac1, UINT64_MAX, &got, &len), 0);
    free(got);
    db_close(db);
}

static void
test_meta(void)
{
    const char *path = fresh_path();
    struct db *db = open_ok(path);
    char value[DB_META_VALUE_SIZE], small[4];
    char big[DB_META_VALUE_SIZE + 1];

    CU_ASSERT_EQUAL(db_meta_get(db, "controller_epoch", value, sizeof value),
                    -ENOENT);
    CU_ASSERT(contains(db_errmsg(db), "meta get"));
    CU_ASSERT_EQUAL(db_meta_put(db, "controller_epoch", "1700000000000"), 0);
    CU_ASSERT_EQUAL(db_meta_get(db, "controller_epoch", value, sizeof value),
                    0);
    CU_ASSERT_STRING_EQUAL(value, "1700000000000");
    CU_ASSERT_EQUAL(db_meta_put(db, "controller_epoch", "1700000000001"), 0);
    CU_ASSERT_EQUAL(db_meta_get(db, "controller_epoch", value, sizeof value),
                    0);
    CU_ASSERT_STRING_EQUAL(value, "1700000000001");
    CU_ASSERT_EQUAL(db_meta_get(db, "controller_epoch", small, sizeof small),
                    -EINVAL);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(db_meta_put(db, "k", big), -EINVAL);
    CU_ASSERT_EQUAL(db_meta_put(db, NULL, "v"), -EINVAL);
    db_close(db);

    /* Kept across reopening. */
    db = open_ok(path);
    CU_ASSERT_EQUAL(db_meta_get(db, "controller_epoch", value, sizeof value),
                    0);
    CU_ASSERT_STRING_EQUAL(value, "1700000000001");
    db_close(db);
}

/* ---- transactions, several handles, reopening --------------------------- */

static void
test_transactions(void)
{
    struct db *db = open_ok(fresh_path());
    struct db_switch s;

    CU_ASSERT_EQUAL(db_commit(db), -EINVAL);
    CU_ASSERT_EQUAL(db_rollback(db), -EINVAL);

    CU_ASSERT_EQUAL(db_begin(db), 0);
    CU_ASSERT_EQUAL(db_begin(db), -EINVAL);
    make_switch(db, 1, "lr1");
    CU_ASSERT_EQUAL(db_rollback(db), 0);
    CU_ASSERT_EQUAL(db_switch_get(db, 1, &s), -ENOENT);

    /* A failing call inside a transaction undoes only itself. */
    CU_ASSERT_EQUAL(db_begin(db), 0);
    make_switch(db, 1, "lr1");
    make_host(db, mac1, 1, 1, 1);
    struct db_instance in = { .object_id = 5, .sock_id = 1 };
    memcpy(in.host_mac, mac3, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), -ENOENT);
    memcpy(in.host_mac, mac1, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), 0);
    CU_ASSERT_EQUAL(db_commit(db), 0);
    CU_ASSERT_EQUAL(db_switch_get(db, 1, &s), 0);

    struct db_object *objs;
    size_t n;
    CU_ASSERT_EQUAL(db_object_list(db, &objs, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(objs[0].n_instances, 1);
    free(objs);

    /* An instance_add that fails on its own leaves no object behind. */
    in.object_id = 6;
    memcpy(in.host_mac, mac3, 6);
    CU_ASSERT_EQUAL(db_instance_add(db, &in), -ENOENT);
    struct db_object o;
    CU_ASSERT_EQUAL(db_object_get(db, 6, &o), -ENOENT);
    db_close(db);
}

static void
test_two_handles_and_reopen(void)
{
    const char *path = fresh_path();
    struct db *a = open_ok(path);
    struct db *b = open_ok(path);
    struct db_switch s;
    struct db_host h;

    /* B sees what A committed. */
    make_switch(a, 1, "lr1");
    CU_ASSERT_EQUAL(db_switch_get(b, 1, &s), 0);
    CU_ASSERT_STRING_EQUAL(s.name, "lr1");

    /* While A's transaction is open B reads the old state (WAL readers
     * do not block), then the new one once A commits. */
    CU_ASSERT_EQUAL(db_begin(a), 0);
    make_host(a, mac1, 3, 1, 1);
    CU_ASSERT_EQUAL(db_host_get(b, mac1, &h), -ENOENT);
    CU_ASSERT_EQUAL(db_commit(a), 0);
    CU_ASSERT_EQUAL(db_host_get(b, mac1, &h), 0);
    CU_ASSERT_EQUAL(h.ss_id, 3);

    /* One writer at a time: B gives up after its busy timeout while A
     * holds the write lock, and gets it once A is done. */
    CU_ASSERT_EQUAL(db_set_busy_timeout(b, -1), -EINVAL);
    CU_ASSERT_EQUAL(db_set_busy_timeout(b, 50), 0);
    CU_ASSERT_EQUAL(db_begin(a), 0);
    CU_ASSERT_EQUAL(db_begin(b), -EBUSY);
    CU_ASSERT(contains(db_errmsg(b), "begin"));
    struct db_switch s3 = { .dpid = 3, .name = "lr3" };
    CU_ASSERT_EQUAL(db_switch_upsert(b, &s3), -EBUSY);
    CU_ASSERT_EQUAL(db_rollback(a), 0);
    CU_ASSERT_EQUAL(db_switch_get(a, 3, &s), -ENOENT);

    /* And the other way round, with every kind of row. */
    struct db_port p = { .dpid = 1, .port_no = 2, .name = "p2" };
    CU_ASSERT_EQUAL(db_port_upsert(b, &p), 0);
    make_switch(b, 2, "lr2");
    struct db_link l = { .src_dpid = 1, .src_port = 2, .dst_dpid = 2,
                         .dst_port = 1, .last_probe = 5 };
    CU_ASSERT_EQUAL(db_link_upsert(b, &l), 0);
    struct db_instance in = { .object_id = 9, .sock_id = 4,
                              .bound_at = 6 };
    memcpy(in.host_mac, mac1, 6);
    CU_ASSERT_EQUAL(db_instance_add(b, &in), 0);
    CU_ASSERT_EQUAL(db_event_append(b, 7, "host.bind", "h", "d", NULL), 0);
    CU_ASSERT_EQUAL(db_request_put(b, mac1, 8, "r", 1, 8), 0);
    db_close(b);
    db_close(a);

    /* A new handle after both closed sees everything. */
    a = open_ok(path);
    struct db_port *ports;
    struct db_link *links;
    struct db_instance *insts;
    struct db_event *ev;
    size_t n;
    void *reply;
    size_t len;
    CU_ASSERT_EQUAL(db_switch_get(a, 2, &s), 0);
    CU_ASSERT_EQUAL(db_port_list(a, 1, &ports, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    free(ports);
    CU_ASSERT_EQUAL(db_link_list(a, &links, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    free(links);
    CU_ASSERT_EQUAL(db_host_get(a, mac1, &h), 0);
    CU_ASSERT_EQUAL(db_instance_list(a, 9, &insts, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(insts[0].flow_id, 0x03010004u);
    free(insts);
    CU_ASSERT_EQUAL(db_event_list(a, 0, 0, &ev, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(ev[0].kind, "host.bind");
    free(ev);
    CU_ASSERT_EQUAL(db_request_get(a, mac1, 8, &reply, &len), 0);
    CU_ASSERT_EQUAL(len, 1);
    free(reply);
    db_close(a);
}

static void
test_null_handle(void)
{
    struct db_switch s;
    uint8_t id;

    CU_ASSERT_EQUAL(db_switch_get(NULL, 1, &s), -EINVAL);
    CU_ASSERT_EQUAL(db_host_alloc_id(NULL, 1, &id), -EINVAL);
    CU_ASSERT_EQUAL(db_begin(NULL), -EINVAL);
    CU_ASSERT_STRING_EQUAL(db_role_name(DB_ROLE_OBJECT), "object");
    CU_ASSERT_STRING_EQUAL(db_role_name((enum db_role) 9), "unknown");
}

static CU_TestInfo schema_tests[] = {
    { "create a store", test_open_create },
    { "open errors", test_open_errors },
    { "migrate from version 1", test_migrate_from_v1 },
    { "refuse a newer schema", test_schema_too_new },
    { "schema.sql matches the migrations", test_schema_sql_matches },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo table_tests[] = {
    { "switches", test_switches },
    { "ports and links", test_ports_links },
    { "hosts", test_hosts },
    { "hostID allocation and exhaustion", test_host_id_alloc },
    { "objects and instances", test_objects_instances },
    { "events", test_events },
    { "request replies", test_requests },
    { "controller metadata", test_meta },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo handle_tests[] = {
    { "transactions", test_transactions },
    { "two handles and reopening", test_two_handles_and_reopen },
    { "NULL handle", test_null_handle },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "schema", NULL, NULL, NULL, NULL, schema_tests },
    { "tables", NULL, NULL, NULL, NULL, table_tests },
    { "handles", NULL, NULL, NULL, NULL, handle_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("db", suites);
}
