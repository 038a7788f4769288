/*
 * Unit tests for controller/control.c against a real sqlite store in a
 * temporary directory: join (new, retry, again, move, requested address,
 * exhaustion), hostIDs from per-router blocks over several ssIDs,
 * keepalive, leave, malformed and unsupported requests.
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
static const uint8_t ss7[] = { 7 };
static struct ctl_control_config cfg = {
    .ss_ids = ss7,
    .n_ss_ids = 1,
    .host_block = 16,
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
    for (uint64_t dpid = 1; dpid <= 3; dpid++) {
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
        want.ss_id = cfg.ss_ids[0];
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
    CU_ASSERT_TRUE(r1.new_block);       /* 7.0/12 (hostIDs 0..15) to s1 */
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

    CU_ASSERT_FALSE(r3.new_block);

    /* From another switch: a move, with a new hostID from a block of
     * that switch (7.16/12). */
    len = join_msg(13, mac_a, 0, msg);
    e = handle(2, 3, mac_a, msg, len, &r4);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 16);
    CU_ASSERT_TRUE(e->join_reply->moved);
    CU_ASSERT_TRUE(r4.changed);
    CU_ASSERT_TRUE(r4.new_block);
    CU_ASSERT_EQUAL(r4.reply_dst_flow, 0x07100000);
    scaffold__control__envelope__free_unpacked(e, NULL);
    CU_ASSERT_EQUAL_FATAL(db_host_get(db, mac_a, &h), 0);
    CU_ASSERT_EQUAL(h.host_id, 16);
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

    /* A free requested address is honoured: its block (7.32/12) goes to
     * the switch. */
    size_t len = join_msg(1, mac_a, 42, msg);
    Scaffold__Control__Envelope *e = handle(1, 5, mac_a, msg, len, &r);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 42);
    CU_ASSERT_TRUE(r.new_block);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    struct db_block b;
    CU_ASSERT_EQUAL_FATAL(db_block_find(db, 7, 42, &b), 0);
    CU_ASSERT_EQUAL(b.first, 32);
    CU_ASSERT_EQUAL(b.size, 16);
    CU_ASSERT_EQUAL(b.dpid, 1);

    /* A taken one is not: the lowest free hostID of the switch's block. */
    len = join_msg(1, mac_b, 42, msg);
    e = handle(1, 6, mac_b, msg, len, &r);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 32);
    CU_ASSERT_FALSE(r.new_block);
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);

    /* Nor one in another switch's block. */
    const uint8_t mac_c[6] = { 2, 0, 0, 0, 0, 0xc };
    len = join_msg(1, mac_c, 40, msg);
    e = handle(2, 6, mac_c, msg, len, &r);
    CU_ASSERT_EQUAL(e->join_reply->host_id, 1);     /* new block 7.0/12 */
    CU_ASSERT_TRUE(r.new_block);
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
    CU_ASSERT_EQUAL(r.reply_dst_flow, 0x07200000);  /* mac_b's address */
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
        struct db_host h = { .ss_id = 7, .host_id = i, .dpid = 1,
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
    /* No block was taken for nothing. */
    struct db_block *blocks;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(db_block_list(db, 0, &blocks, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(blocks);
}

/* Joins 'mac' at (dpid, port) and returns the hostID and ssID (as
 * ss << 8 | host), or -1 for an error reply. */
static int
join_at(uint64_t dpid, uint32_t port, const uint8_t mac[6], uint64_t id,
        bool *new_block)
{
    uint8_t msg[256];
    struct ctl_control_result r;
    size_t len = join_msg(id, mac, 0, msg);
    Scaffold__Control__Envelope *e = handle(dpid, port, mac, msg, len, &r);
    int v = e->body_case == SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY
            ? (int) (e->join_reply->ss_id << 8 | e->join_reply->host_id)
            : -1;
    if (new_block) {
        *new_block = r.new_block;
    }
    scaffold__control__envelope__free_unpacked(e, NULL);
    free(r.reply);
    return v;
}

/* Two ssIDs, blocks of 128: a router's hosts fill its block; the next
 * router gets the next block, the third one a block of the next ssID;
 * when both ssIDs are full a join is refused; a move takes the new
 * router's block. */
static void
test_blocks_multi_ss(void)
{
    static const uint8_t ss34[] = { 3, 4 };
    struct ctl_control_config saved = cfg;
    uint8_t mac[6] = { 2, 3, 0, 0, 0, 0 };
    bool nb;

    cfg.ss_ids = ss34;
    cfg.n_ss_ids = 2;
    cfg.host_block = 128;
    mac[5] = 1;
    CU_ASSERT_EQUAL(join_at(1, 1, mac, 1, &nb), 3 << 8 | 1);
    CU_ASSERT_TRUE(nb);
    mac[5] = 2;
    CU_ASSERT_EQUAL(join_at(1, 2, mac, 1, &nb), 3 << 8 | 2);
    CU_ASSERT_FALSE(nb);
    mac[5] = 3;
    CU_ASSERT_EQUAL(join_at(2, 1, mac, 1, &nb), 3 << 8 | 128);
    CU_ASSERT_TRUE(nb);
    mac[5] = 4;
    CU_ASSERT_EQUAL(join_at(3, 1, mac, 1, &nb), 4 << 8 | 1);
    CU_ASSERT_TRUE(nb);
    mac[5] = 5;
    CU_ASSERT_EQUAL(join_at(3, 2, mac, 1, &nb), 4 << 8 | 2);
    mac[5] = 6;
    CU_ASSERT_EQUAL(join_at(2, 2, mac, 1, &nb), 3 << 8 | 129);
    CU_ASSERT_FALSE(nb);

    /* Host 1 moves from s1 to s2: s2's block. */
    mac[5] = 1;
    CU_ASSERT_EQUAL(join_at(2, 9, mac, 2, &nb), 3 << 8 | 130);
    CU_ASSERT_FALSE(nb);

    /* A new host at s1 gets the hostID host 1 left there. */
    mac[5] = 7;
    CU_ASSERT_EQUAL(join_at(1, 3, mac, 1, &nb), 3 << 8 | 1);
    CU_ASSERT_FALSE(nb);

    struct db_block *blocks;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(db_block_list(db, 0, &blocks, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(blocks[0].ss_id, 3);
    CU_ASSERT_EQUAL(blocks[0].first, 0);
    CU_ASSERT_EQUAL(blocks[0].dpid, 1);
    CU_ASSERT_EQUAL(blocks[0].n_hosts, 2);
    CU_ASSERT_EQUAL(blocks[1].first, 128);
    CU_ASSERT_EQUAL(blocks[1].dpid, 2);
    CU_ASSERT_EQUAL(blocks[1].n_hosts, 3);
    CU_ASSERT_EQUAL(blocks[2].ss_id, 4);
    CU_ASSERT_EQUAL(blocks[2].dpid, 3);
    free(blocks);

    /* One more block (4.128/9) is free: when s1's block is full, s1 gets
     * it. */
    CU_ASSERT_EQUAL_FATAL(db_begin(db), 0);
    for (int i = 3; i <= 127; i++) {
        struct db_host h = { .ss_id = 3, .host_id = i, .dpid = 1,
                             .port_no = 100 + i };
        memcpy(h.mac, mac, 6);
        h.mac[4] = 1;
        h.mac[5] = i;
        CU_ASSERT_EQUAL_FATAL(db_host_upsert(db, &h), 0);
    }
    CU_ASSERT_EQUAL_FATAL(db_commit(db), 0);
    mac[5] = 8;
    CU_ASSERT_EQUAL(join_at(1, 4, mac, 1, &nb), 4 << 8 | 128);
    CU_ASSERT_TRUE(nb);
    CU_ASSERT_EQUAL(join_at(2, 99, mac, 2, &nb), 3 << 8 | 131);
    CU_ASSERT_FALSE(nb);    /* the move left 4.128 empty, s1 still has it */

    /* Fill s1: 3.1..127 are taken (3.1 by host 7), 4.128.. has room. */
    uint8_t mac9[6] = { 2, 3, 0, 0, 0, 9 };
    CU_ASSERT_EQUAL(join_at(1, 5, mac9, 1, &nb), 4 << 8 | 128);

    /* A block expires only when empty for the grace period. */
    size_t freed;
    CU_ASSERT_EQUAL(db_block_expire(db, 5000, 1000, &freed), 0);
    CU_ASSERT_EQUAL(freed, 0);
    CU_ASSERT_EQUAL_FATAL(db_host_delete(db, mac9), 0);
    CU_ASSERT_EQUAL(db_block_expire(db, 6000, 1000, &freed), 0);
    CU_ASSERT_EQUAL(freed, 0);      /* marked empty at 6000 */
    CU_ASSERT_EQUAL(db_block_expire(db, 6500, 1000, &freed), 0);
    CU_ASSERT_EQUAL(freed, 0);
    CU_ASSERT_EQUAL(db_block_expire(db, 7000, 1000, &freed), 0);
    CU_ASSERT_EQUAL(freed, 1);
    struct db_block b;
    CU_ASSERT_EQUAL(db_block_find(db, 4, 130, &b), -ENOENT);
    cfg = saved;
}

static CU_TestInfo control_tests[] = {
    {"join, retry, again, move", test_join_retry_again_move},
    {"requested address and bad requests", test_join_requested_and_bad},
    {"keepalive, bind, unbind, leave", test_keepalive_leave_bind},
    {"hostID exhaustion", test_exhaustion},
    {"blocks over several ssIDs", test_blocks_multi_ss},
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
