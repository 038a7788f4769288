/*
 * Unit tests for controller/control.c against a real sqlite store in a
 * temporary directory: join (new, retry, again, move, requested address,
 * exhaustion), keepalive, leave, malformed and unsupported requests.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/control.h"
#include "db/db.h"
#include "proto/control.pb-c.h"
#include "tests/unit/harness.h"

static struct db *db;
static struct ctl_control_config cfg = {
    .ss_id = 7,
    .router_mac = { 0x02, 0x5c, 0, 0, 0, 7 },
    .lease_seconds = 60,
    .keepalive_seconds = 20,
    .epoch = 99,
};
static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa };

static void
setup(void)
{
    char path[128];
    char *msg = NULL;

    snprintf(path, sizeof path, "%s/t.db", sft_tmpdir());
    CU_ASSERT_EQUAL_FATAL(db_open(path, &db, &msg), 0);
    for (uint64_t dpid = 1; dpid <= 2; dpid++) {
        struct db_switch s = { .dpid = dpid, .role = DB_ROLE_LABEL };
        CU_ASSERT_EQUAL_FATAL(db_switch_upsert(db, &s), 0);
    }
}

static void
teardown(void)
{
    db_close(db);
    db = NULL;
}

/* Packs an Envelope carrying a JoinRequest. */
static size_t
join_msg(uint64_t id, const uint8_t mac[6], int want_host, uint8_t *buf)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest join
        = SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;
    Scaffold__Control__HostAddress want
        = SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;

    join.id = id;
    join.mac.data = (uint8_t *) mac;
    join.mac.len = 6;
    join.name = "h";
    if (want_host) {
        want.ss_id = cfg.ss_id;
        want.host_id = want_host;
        join.requested = &want;
    }
    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
    env.join = &join;
    return scaffold__control__envelope__pack(&env, buf);
}

static Scaffold__Control__Envelope *
handle(uint64_t dpid, uint32_t port, const uint8_t mac[6],
       const uint8_t *msg, size_t len, struct ctl_control_result *res)
{
    struct ctl_control_origin from = { .dpid = dpid, .port_no = port };
    memcpy(from.mac, mac, 6);
    CU_ASSERT_EQUAL_FATAL(ctl_control_handle(db, &cfg, &from, msg, len,
                                             1000, res), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res->reply);
    Scaffold__Control__Envelope *env
        = scaffold__control__envelope__unpack(NULL, res->reply_len,
                                              res->reply);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    return env;
}

static void
test_join_retry_again_move(void)
{
    uint8_t msg[256];
    struct ctl_control_result r1, r2, r3, r4;
    size_t len = join_msg(11, mac_a, 0, msg);

    Scaffold__Control__Envelope *e = handle(1, 5, mac_a, msg, len, &r1);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY);
    CU_ASSERT_EQUAL(e->join_reply->id, 11);
    CU_ASSERT_EQUAL(e->join_reply->ss_id, 7);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 1);
    CU_ASSERT_EQUAL(e->join_reply->flow_id_prefix, 0x07010000);
    CU_ASSERT_EQUAL(e->join_reply->flow_id_prefix_len, 16);
    CU_ASSERT_EQUAL(e->join_reply->gateway_mac.len, 6);
    CU_ASSERT_EQUAL(e->join_reply->controller_epoch, 99);
    CU_ASSERT_FALSE(e->join_reply->moved);
    CU_ASSERT_TRUE(r1.changed);
    CU_ASSERT_EQUAL(r1.reply_dst_flow, 0x07010000);
    scaffold__control__envelope__free_unpacked(e, NULL);

    struct db_host h;
    CU_ASSERT_EQUAL_FATAL(db_host_get(db, mac_a, &h), 0);
    CU_ASSERT_EQUAL(h.host_id, 1);
    CU_ASSERT_EQUAL(h.dpid, 1);
    CU_ASSERT_EQUAL(h.port_no, 5);
    CU_ASSERT_EQUAL(h.lease_expiry, 1000 + 60 * 1000);

    /* The same request again: byte-identical answer, nothing changed. */
    e = handle(1, 5, mac_a, msg, len, &r2);
    CU_ASSERT_EQUAL(r2.reply_len, r1.reply_len);
    CU_ASSERT_EQUAL(memcmp(r2.reply, r1.reply, r1.reply_len), 0);
    CU_ASSERT_FALSE(r2.changed);
    scaffold__control__envelope__free_unpacked(e, NULL);

    /* A new join from the same port keeps the address. */
    len = join_msg(12, mac_a, 0, msg);
    e = handle(1, 5, mac_a, msg, len, &r3);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 1);
    CU_ASSERT_FALSE(e->join_reply->moved);
    scaffold__control__envelope__free_unpacked(e, NULL);

    /* From another switch: a move, with a new hostID. */
    len = join_msg(13, mac_a, 0, msg);
    e = handle(2, 3, mac_a, msg, len, &r4);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 2);
    CU_ASSERT_TRUE(e->join_reply->moved);
    CU_ASSERT_TRUE(r4.changed);
    CU_ASSERT_EQUAL(r4.reply_dst_flow, 0x07020000);
    scaffold__control__envelope__free_unpacked(e, NULL);
    CU_ASSERT_EQUAL_FATAL(db_host_get(db, mac_a, &h), 0);
    CU_ASSERT_EQUAL(h.host_id, 2);
    CU_ASSERT_EQUAL(h.dpid, 2);
    CU_ASSERT_EQUAL(h.moved_at, 1000);

    struct db_event *ev;
    size_t n_ev, n_join = 0, n_move = 0;
    CU_ASSERT_EQUAL_FATAL(db_event_list(db, 0, 0, &ev, &n_ev), 0);
    for (size_t i = 0; i < n_ev; i++) {
        n_join += !strcmp(ev[i].kind, "host.join");
        n_move += !strcmp(ev[i].kind, "host.move");
    }
    free(ev);
    CU_ASSERT_EQUAL(n_join, 1);
    CU_ASSERT_EQUAL(n_move, 1);
    free(r1.reply);
    free(r2.reply);
    free(r3.reply);
    free(r4.reply);
}

static void
test_join_requested_and_bad(void)
{
    uint8_t msg[256];
    struct ctl_control_result r;
    const uint8_t mac_b[6] = { 2, 0, 0, 0, 0, 0xb };

    /* A free requested address is honoured. */
    size_t len = join_msg(1, mac_a, 42, msg);
    Scaffold__Control__Envelope *e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 42);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* A taken one is not. */
    len = join_msg(1, mac_b, 42, msg);
    e = handle(1, 6, mac_b, msg, len, &r);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 1);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* The MAC in the request must be the frame's source. */
    len = join_msg(2, mac_a, 0, msg);
    e = handle(1, 6, mac_b, msg, len, &r);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR);
    CU_ASSERT_EQUAL(e->error->id, 2);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    CU_ASSERT_FALSE(r.changed);
    CU_ASSERT_EQUAL(r.reply_dst_flow, 0x07010000);  /* mac_b's address */
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* Not protobuf at all. */
    e = handle(1, 6, mac_b, (const uint8_t *) "\xff\xff\xff", 3, &r);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR);
    CU_ASSERT_EQUAL(e->error->id, 0);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* An empty Envelope (unknown body from a newer peer). */
    Scaffold__Control__Envelope empty = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    empty.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    len = scaffold__control__envelope__pack(&empty, msg);
    e = handle(1, 6, mac_b, msg, len, &r);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNSUPPORTED);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
}

static void
test_keepalive_leave_bind(void)
{
    uint8_t msg[256];
    struct ctl_control_result r;
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Keepalive ka = SCAFFOLD__CONTROL__KEEPALIVE__INIT;
    Scaffold__Control__LeaveRequest lv
        = SCAFFOLD__CONTROL__LEAVE_REQUEST__INIT;
    Scaffold__Control__BindRequest bd = SCAFFOLD__CONTROL__BIND_REQUEST__INIT;
    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;

    /* Keepalive before joining. */
    ka.id = 1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE;
    env.keepalive = &ka;
    size_t len = scaffold__control__envelope__pack(&env, msg);
    Scaffold__Control__Envelope *e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    len = join_msg(2, mac_a, 0, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    ka.id = 3;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY);
    CU_ASSERT_EQUAL(e->reply->status, SCAFFOLD__CONTROL__STATUS__STATUS_OK);
    CU_ASSERT_EQUAL(e->reply->lease_seconds, 60);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* Keepalive from another port: not joined there. */
    ka.id = 4;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 9, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* Bind: ok, conflict, replace; unbind: ok, again. */
    bd.id = 5;
    bd.object_id = 1080;
    bd.sock_id = 9;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
    env.bind = &bd;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY);
    CU_ASSERT_EQUAL(e->reply->status, SCAFFOLD__CONTROL__STATUS__STATUS_OK);
    CU_ASSERT_TRUE(r.changed);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    struct db_instance *insts;
    size_t n_insts;
    CU_ASSERT_EQUAL(db_instance_list(db, 1080, &insts, &n_insts), 0);
    CU_ASSERT_EQUAL(n_insts, 1);
    if (n_insts) {
        CU_ASSERT_EQUAL(insts[0].flow_id, 0x07010009);
    }
    free(insts);

    bd.id = 51;
    bd.object_id = 1081;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_CONFLICT);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    bd.id = 52;
    bd.flags = SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->reply->status, SCAFFOLD__CONTROL__STATUS__STATUS_OK);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    CU_ASSERT_EQUAL(db_instance_list(db, 1080, &insts, &n_insts), 0);
    CU_ASSERT_EQUAL(n_insts, 0);
    free(insts);

    bd.id = 53;
    bd.sock_id = 0;             /* The agent's own socket. */
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    Scaffold__Control__UnbindRequest ub
        = SCAFFOLD__CONTROL__UNBIND_REQUEST__INIT;
    ub.id = 54;
    ub.object_id = 1081;
    ub.sock_id = 9;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND;
    env.unbind = &ub;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->reply->status, SCAFFOLD__CONTROL__STATUS__STATUS_OK);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    ub.id = 55;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->reply->status,
                    SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    lv.id = 6;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE;
    env.leave = &lv;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->reply->status, SCAFFOLD__CONTROL__STATUS__STATUS_OK);
    CU_ASSERT_TRUE(r.changed);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    struct db_host h;
    CU_ASSERT_EQUAL(db_host_get(db, mac_a, &h), -ENOENT);

    lv.id = 7;
    len = scaffold__control__envelope__pack(&env, msg);
    e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->reply->status,
                    SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE);
    CU_ASSERT_FALSE(r.changed);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
}

static void
test_exhaustion(void)
{
    uint8_t msg[256];
    struct ctl_control_result r;
    uint8_t mac[6] = { 2, 1, 0, 0, 0, 0 };

    CU_ASSERT_EQUAL_FATAL(db_begin(db), 0);
    for (int i = 1; i <= 254; i++) {
        struct db_host h = { .ss_id = cfg.ss_id, .host_id = i, .dpid = 1,
                             .port_no = i };
        memcpy(h.mac, mac, 6);
        h.mac[5] = i;
        CU_ASSERT_EQUAL_FATAL(db_host_upsert(db, &h), 0);
    }
    CU_ASSERT_EQUAL_FATAL(db_commit(db), 0);
    size_t len = join_msg(1, mac_a, 0, msg);
    Scaffold__Control__Envelope *e = handle(1, 300, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR);
    CU_ASSERT_EQUAL(e->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NO_ADDRESS);
    CU_ASSERT_EQUAL(r.reply_dst_flow, 0);
    CU_ASSERT_FALSE(r.changed);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
}

static CU_TestInfo control_tests[] = {
    {"join, retry, again, move", test_join_retry_again_move},
    {"requested address and bad requests", test_join_requested_and_bad},
    {"keepalive, bind, unbind, leave", test_keepalive_leave_bind},
    {"hostID exhaustion", test_exhaustion},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_control", NULL, NULL, setup, teardown, control_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_control", suites);
}
