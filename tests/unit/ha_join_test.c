/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the hostagent's join / keepalive client (hostagent/join.c)
 * with a fake clock: every frame it sends is checked with the proto codec
 * and its Envelope unpacked; the "controller" answers are packed here.
 */
#include "hostagent/join.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.pb-c.h"
#include "proto/sfp.h"
#include "tests/unit/harness.h"

static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xee };

static struct ha_join j;
static uint64_t now;
static uint64_t rnd;
static int n_out;
static struct sfp_frame last;
static uint8_t last_payload[HA_JOIN_MAX_MSG];
static uint8_t last_eth[6];
static int n_joined;
static uint32_t joined_prefix;
static bool joined_moved;

static void
t_output(const struct sfp_frame *f, const uint8_t eth_dst[6], void *aux)
{
    uint8_t buf[1024];
    struct sfp_frame g = *f, d;
    size_t len;

    (void) aux;
    CU_ASSERT_EQUAL(sfp_frame_check(f), SFP_OK);
    memcpy(g.eth_dst, eth_dst, 6);
    memcpy(g.eth_src, host_mac, 6);
    len = sfp_frame_encode(&g, buf, sizeof buf);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL(sfp_frame_decode(buf, len, &d), SFP_OK);
    last = *f;
    memcpy(last_payload, f->payload, f->payload_len);
    last.payload = last_payload;
    memcpy(last_eth, eth_dst, 6);
    n_out++;
}

static void
t_joined(uint32_t prefix, const uint8_t mac[6], bool moved, void *aux)
{
    (void) aux;
    CU_ASSERT_EQUAL(memcmp(mac, gw_mac, 6), 0);
    joined_prefix = prefix;
    joined_moved = moved;
    n_joined++;
}

static uint64_t
t_random(void *aux)
{
    (void) aux;
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    return rnd >> 11;
}

static const struct ha_join_ops ops = { t_output, t_joined, t_random };

static void
setup(void)
{
    now = 5000000;
    rnd = 7;
    n_out = n_joined = 0;
    joined_prefix = 0;
    ha_join_init(&j, &ops, NULL, host_mac, "h1", now);
}

static void
teardown(void)
{
}

/* The last Envelope sent (caller frees). */
static Scaffold__Control__Envelope *
sent(void)
{
    Scaffold__Control__Envelope *e =
        scaffold__control__envelope__unpack(NULL, last.payload_len,
                                            last.payload);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->version,
                    SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1);
    return e;
}

static int
deliver(Scaffold__Control__Envelope *env)
{
    uint8_t buf[512];
    struct sfp_frame f;

    env->version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    memset(&f, 0, sizeof f);
    f.src_flow = sfp_flowid_make(10, 255, 0);
    f.dst_flow = j.prefix;
    f.src_obj = f.dst_obj = SFP_OBJ_CONTROL;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.payload = buf;
    f.payload_len = scaffold__control__envelope__pack(env, buf);
    return ha_join_input(&j, &f, now);
}

static int
reply_join(uint64_t id, uint32_t ss, uint32_t host, bool moved)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinReply r = SCAFFOLD__CONTROL__JOIN_REPLY__INIT;

    r.id = id;
    r.ss_id = ss;
    r.host_id = host;
    r.flow_id_prefix = sfp_flowid_make((uint8_t) ss, (uint8_t) host, 0);
    r.flow_id_prefix_len = 16;
    r.gateway_mac.data = (uint8_t *) gw_mac;
    r.gateway_mac.len = 6;
    r.lease_seconds = 30;
    r.keepalive_seconds = 10;
    r.controller_epoch = 77;
    r.moved = moved;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY;
    env.join_reply = &r;
    return deliver(&env);
}

static uint64_t
join_and_get_id(void)
{
    Scaffold__Control__Envelope *e = sent();
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN);
    id = e->join->id;
    scaffold__control__envelope__free_unpacked(e, NULL);
    return id;
}

static void
test_first_join(void)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    Scaffold__Control__Envelope *e;
    uint64_t id;

    CU_ASSERT_EQUAL(j.state, HA_JOIN_IDLE);
    ha_join_start(&j, now);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINING);
    CU_ASSERT_EQUAL(n_out, 1);
    /* Before the first join: 0.0.0 -> 0.0.0, objectID 1, broadcast. */
    CU_ASSERT_EQUAL(last.src_flow, 0);
    CU_ASSERT_EQUAL(last.dst_flow, 0);
    CU_ASSERT_EQUAL(last.src_obj, SFP_OBJ_CONTROL);
    CU_ASSERT_EQUAL(last.dst_obj, SFP_OBJ_CONTROL);
    CU_ASSERT_EQUAL(last.hdr.nonce, 0);
    CU_ASSERT_EQUAL(memcmp(last_eth, bcast, 6), 0);
    e = sent();
    CU_ASSERT_EQUAL(e->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN);
    CU_ASSERT_EQUAL(e->join->mac.len, 6);
    CU_ASSERT_EQUAL(memcmp(e->join->mac.data, host_mac, 6), 0);
    CU_ASSERT_PTR_NULL(e->join->previous);
    CU_ASSERT_STRING_EQUAL(e->join->name, "h1");
    id = e->join->id;
    CU_ASSERT_NOT_EQUAL(id, 0);
    scaffold__control__envelope__free_unpacked(e, NULL);

    /* A reply to another id is ignored. */
    CU_ASSERT_EQUAL(reply_join(id + 1, 10, 3, false), -ESTALE);
    CU_ASSERT_EQUAL(n_joined, 0);
    CU_ASSERT_EQUAL(reply_join(id, 10, 3, false), 0);
    CU_ASSERT_EQUAL(n_joined, 1);
    CU_ASSERT_EQUAL(joined_prefix, sfp_flowid_make(10, 3, 0));
    CU_ASSERT_FALSE(joined_moved);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINED);
    CU_ASSERT_EQUAL(j.epoch, 77);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + 10000000);
    /* A repeated reply (our retry crossed it) changes nothing. */
    CU_ASSERT_EQUAL(reply_join(id, 10, 3, false), -ESTALE);
    CU_ASSERT_EQUAL(n_joined, 1);
}

static void
test_retry_backoff(void)
{
    uint64_t id, t, prev_gap = 0;
    int i;

    ha_join_start(&j, now);
    id = join_and_get_id();
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + HA_JOIN_RETRY_MIN_US);
    for (i = 0; i < 12; i++) {
        uint64_t gap;

        t = ha_join_deadline(&j);
        now = t;
        ha_join_tick(&j, now);
        CU_ASSERT_EQUAL(n_out, i + 2);
        /* Same request, byte for byte: same id. */
        CU_ASSERT_EQUAL(join_and_get_id(), id);
        gap = ha_join_deadline(&j) - now;
        CU_ASSERT(gap <= HA_JOIN_RETRY_MAX_US * 5 / 4);
        CU_ASSERT(gap >= HA_JOIN_RETRY_MIN_US);
        if (i < 3) {
            CU_ASSERT(gap > prev_gap);      /* Growing (jitter <= 25 %). */
        }
        prev_gap = gap;
    }
    CU_ASSERT(prev_gap >= HA_JOIN_RETRY_MAX_US * 3 / 4);
    CU_ASSERT_EQUAL(j.stats.tx_requests, 13);
    CU_ASSERT_EQUAL(reply_join(id, 10, 4, false), 0);
    CU_ASSERT_EQUAL(n_joined, 1);
}

static void
test_keepalive_and_not_joined(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Reply rep = SCAFFOLD__CONTROL__REPLY__INIT;
    Scaffold__Control__Error err = SCAFFOLD__CONTROL__ERROR__INIT;
    Scaffold__Control__Envelope *e;
    uint64_t id;

    ha_join_start(&j, now);
    reply_join(join_and_get_id(), 10, 3, false);
    n_out = 0;
    now += 10000000;
    ha_join_tick(&j, now);
    CU_ASSERT_EQUAL(n_out, 1);
    /* From ss.host.0 to ss.0.0 now, to the gateway MAC. */
    CU_ASSERT_EQUAL(last.src_flow, sfp_flowid_make(10, 3, 0));
    CU_ASSERT_EQUAL(last.dst_flow, sfp_flowid_unresolved(10));
    CU_ASSERT_EQUAL(memcmp(last_eth, gw_mac, 6), 0);
    e = sent();
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE);
    CU_ASSERT_EQUAL(e->keepalive->address->ss_id, 10);
    CU_ASSERT_EQUAL(e->keepalive->address->host_id, 3);
    CU_ASSERT_EQUAL(e->keepalive->controller_epoch, 77);
    id = e->keepalive->id;
    scaffold__control__envelope__free_unpacked(e, NULL);

    rep.id = id;
    rep.status = SCAFFOLD__CONTROL__STATUS__STATUS_OK;
    rep.lease_seconds = 30;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
    env.reply = &rep;
    CU_ASSERT_EQUAL(deliver(&env), 0);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + 10000000);

    /* Next keepalive: the controller lost us (restart without state). */
    now += 10000000;
    ha_join_tick(&j, now);
    e = sent();
    id = e->keepalive->id;
    scaffold__control__envelope__free_unpacked(e, NULL);
    err.id = id;
    err.code = SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR;
    env.error = &err;
    CU_ASSERT_EQUAL(deliver(&env), 0);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINING);
    e = sent();
    CU_ASSERT_EQUAL_FATAL(e->body_case,
                          SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN);
    /* It asks for its address back. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->join->requested);
    CU_ASSERT_EQUAL(e->join->requested->host_id, 3);
    id = e->join->id;
    scaffold__control__envelope__free_unpacked(e, NULL);
    CU_ASSERT_EQUAL(reply_join(id, 10, 3, false), 0);
    CU_ASSERT_FALSE(joined_moved);
}

static void
test_lease_expiry_rejoins(void)
{
    int sent_before;

    ha_join_start(&j, now);
    reply_join(join_and_get_id(), 10, 3, false);
    /* Keepalives unanswered: retried, then after the 30 s lease a join. */
    while (j.state == HA_JOIN_JOINED) {
        now = ha_join_deadline(&j);
        sent_before = n_out;
        ha_join_tick(&j, now);
        CU_ASSERT_EQUAL(n_out, sent_before + 1);
        CU_ASSERT(now < 5000000 + 60000000ull);
    }
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINING);
    /* The lease (30 s) runs from the JoinReply, at 5 s. */
    CU_ASSERT(now >= 5000000 + 30000000ull);
    CU_ASSERT(now < 5000000 + 30000000ull + HA_JOIN_RETRY_MAX_US * 2);
}

static void
test_move_after_link_flap(void)
{
    Scaffold__Control__Envelope *e;
    uint64_t id;

    ha_join_start(&j, now);
    reply_join(join_and_get_id(), 10, 3, false);
    ha_join_link_down(&j);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_IDLE);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), UINT64_MAX);
    now += 2000000;
    ha_join_start(&j, now);
    e = sent();
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->join->previous);
    CU_ASSERT_EQUAL(e->join->previous->ss_id, 10);
    CU_ASSERT_EQUAL(e->join->previous->host_id, 3);
    id = e->join->id;
    scaffold__control__envelope__free_unpacked(e, NULL);
    /* Attached to another label router: a new hostID. */
    CU_ASSERT_EQUAL(reply_join(id, 10, 9, true), 0);
    CU_ASSERT_EQUAL(n_joined, 2);
    CU_ASSERT_EQUAL(joined_prefix, sfp_flowid_make(10, 9, 0));
    CU_ASSERT_TRUE(joined_moved);
    CU_ASSERT_EQUAL(j.stats.moves, 1);
}

static void
test_malformed_input(void)
{
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
    struct sfp_frame f;
    uint64_t id;

    ha_join_start(&j, now);
    id = join_and_get_id();
    memset(&f, 0, sizeof f);
    f.payload = junk;
    f.payload_len = sizeof junk;
    CU_ASSERT_EQUAL(ha_join_input(&j, &f, now), -EBADMSG);
    f.payload_len = 0;          /* Empty Envelope: version 0. */
    CU_ASSERT_EQUAL(ha_join_input(&j, &f, now), -EBADMSG);
    /* A JoinReply with impossible values. */
    CU_ASSERT_EQUAL(reply_join(id, 0, 3, false), -EBADMSG);
    CU_ASSERT_EQUAL(reply_join(id, 10, 255, false), -EBADMSG);
    CU_ASSERT_EQUAL(j.stats.rx_bad, 4);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINING);
    CU_ASSERT_EQUAL(reply_join(id, 10, 3, false), 0);
}

static void
test_leave(void)
{
    Scaffold__Control__Envelope *e;

    ha_join_start(&j, now);
    reply_join(join_and_get_id(), 10, 3, false);
    ha_join_leave(&j, false);
    e = sent();
    CU_ASSERT_EQUAL(e->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE);
    CU_ASSERT_EQUAL(e->leave->reason,
                    SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_SHUTDOWN);
    scaffold__control__envelope__free_unpacked(e, NULL);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_IDLE);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), UINT64_MAX);
}

static CU_TestInfo join_tests[] = {
    { "first join", test_first_join },
    { "retries: same id, exponential backoff", test_retry_backoff },
    { "keepalive, then NOT_JOINED", test_keepalive_and_not_joined },
    { "lease expiry rejoins", test_lease_expiry_rejoins },
    { "move after a link flap", test_move_after_link_flap },
    { "malformed input", test_malformed_input },
    { "leave", test_leave },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "join", NULL, NULL, setup, teardown, join_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ha_join", suites);
}
