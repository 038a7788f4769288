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

#define E_NOT_JOINED SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED
#define E_UNSUPPORTED SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNSUPPORTED
#define E_UNAVAILABLE SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNAVAILABLE
#define E_CONFLICT SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_CONFLICT

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
/* Every payload sent, in order (bind tests look at several). */
#define MAX_LOG 128
static uint8_t out_log[MAX_LOG][HA_JOIN_MAX_MSG];
static size_t out_len[MAX_LOG];
/* ops->bound() calls. */
static int n_bound;
static int bound_error;
static bool bound_bind;
static uint16_t bound_sock;

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
    if (n_out < MAX_LOG) {
        memcpy(out_log[n_out], f->payload, f->payload_len);
        out_len[n_out] = f->payload_len;
    }
    n_out++;
}

static void
t_bound(uint16_t obj, uint16_t sock, bool bind, int error, void *aux)
{
    (void) aux;
    (void) obj;
    bound_sock = sock;
    bound_bind = bind;
    bound_error = error;
    n_bound++;
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

static const struct ha_join_ops ops = { t_output, t_joined, t_random,
                                         t_bound };

static void
setup(void)
{
    now = 5000000;
    rnd = 7;
    n_out = n_joined = n_bound = 0;
    bound_error = 0;
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


/* ---- bind / unbind ---------------------------------------------------- */

/* The k-th payload sent (caller frees). */
static Scaffold__Control__Envelope *
sent_k(int k)
{
    Scaffold__Control__Envelope *e;

    CU_ASSERT_FATAL(k >= 0 && k < n_out && k < MAX_LOG);
    e = scaffold__control__envelope__unpack(NULL, out_len[k], out_log[k]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    return e;
}

static int
reply_ok(uint64_t id)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Reply rep = SCAFFOLD__CONTROL__REPLY__INIT;

    rep.id = id;
    rep.status = SCAFFOLD__CONTROL__STATUS__STATUS_OK;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
    env.reply = &rep;
    return deliver(&env);
}

static int
reply_error(uint64_t id, Scaffold__Control__ErrorCode code)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Error err = SCAFFOLD__CONTROL__ERROR__INIT;

    err.id = id;
    err.code = code;
    err.message = (char *) "scripted";
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR;
    env.error = &err;
    return deliver(&env);
}

/* Checks that payload k is a BindRequest (or UnbindRequest when !bind) for
 * obj/sock and returns its id. */
static uint64_t
bind_id_k(int k, bool bind, uint32_t obj, uint32_t sock)
{
    Scaffold__Control__Envelope *e = sent_k(k);
    uint64_t id = 0;

    if (bind) {
        CU_ASSERT_EQUAL_FATAL(e->body_case,
                              SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND);
        CU_ASSERT_EQUAL(e->bind->object_id, obj);
        CU_ASSERT_EQUAL(e->bind->sock_id, sock);
        CU_ASSERT_EQUAL(e->bind->flags,
                        SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_LISTEN
                        | SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE);
        id = e->bind->id;
    } else {
        CU_ASSERT_EQUAL_FATAL(e->body_case,
                              SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND);
        CU_ASSERT_EQUAL(e->unbind->object_id, obj);
        CU_ASSERT_EQUAL(e->unbind->sock_id, sock);
        id = e->unbind->id;
    }
    CU_ASSERT_NOT_EQUAL(id, 0);
    scaffold__control__envelope__free_unpacked(e, NULL);
    return id;
}

static void
joined_10_3(void)
{
    ha_join_start(&j, now);
    CU_ASSERT_EQUAL_FATAL(reply_join(join_and_get_id(), 10, 3, false), 0);
}

static void
test_bind_after_join(void)
{
    uint64_t id, jid;

    /* A listener before the join: nothing goes out yet. */
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), -ENOENT);
    CU_ASSERT_EQUAL(ha_join_bind(&j, 80, 1024, now), 0);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), 0);
    CU_ASSERT_EQUAL(n_out, 0);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), UINT64_MAX);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 1);
    ha_join_start(&j, now);
    jid = join_and_get_id();
    CU_ASSERT_EQUAL(n_out, 1);
    CU_ASSERT_EQUAL(reply_join(jid, 10, 3, false), 0);
    /* The join reply releases the bind, from ss.host.0 to the gateway. */
    CU_ASSERT_EQUAL_FATAL(n_out, 2);
    CU_ASSERT_EQUAL(last.src_flow, sfp_flowid_make(10, 3, 0));
    CU_ASSERT_EQUAL(last.dst_flow, sfp_flowid_unresolved(10));
    CU_ASSERT_EQUAL(memcmp(last_eth, gw_mac, 6), 0);
    id = bind_id_k(1, true, 80, 1024);
    CU_ASSERT_NOT_EQUAL(id, jid);
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + HA_JOIN_RETRY_MIN_US);
    CU_ASSERT_EQUAL(reply_ok(id + 7), -ESTALE);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), 0);     /* Sent. */
    CU_ASSERT_EQUAL(reply_ok(id), 0);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), 1);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 81, 1024), -ENOENT);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1025), -ENOENT);
    CU_ASSERT_EQUAL(n_bound, 1);
    CU_ASSERT_EQUAL(bound_error, 0);
    CU_ASSERT_TRUE(bound_bind);
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 1);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 0);
    /* The keepalive is the only timer left. */
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + 10000000);
    /* The same reply again (our retry crossed it): stale, harmless. */
    CU_ASSERT_EQUAL(reply_ok(id), -ESTALE);
    CU_ASSERT_EQUAL(n_bound, 1);
    /* Bad arguments. */
    CU_ASSERT_EQUAL(ha_join_bind(&j, 1, 1025, now), -EINVAL);
    CU_ASSERT_EQUAL(ha_join_bind(&j, 80, 0, now), -EINVAL);
    CU_ASSERT_EQUAL(ha_join_unbind(&j, 81, 1024, now), -ENOENT);
}

static void
test_bind_retry_same_id(void)
{
    uint64_t id, gap, prev_gap = 0;
    int i, base;

    joined_10_3();
    base = n_out;
    CU_ASSERT_EQUAL(ha_join_bind(&j, 80, 1024, now), 0);
    id = bind_id_k(base, true, 80, 1024);
    /* Five retries (6.2 s of backoff at most 7.75 s): before the first
     * keepalive at 10 s. */
    for (i = 1; i <= 5; i++) {
        now = ha_join_deadline(&j);
        ha_join_tick(&j, now);
        CU_ASSERT_EQUAL_FATAL(n_out, base + 1 + i);
        CU_ASSERT_EQUAL(bind_id_k(base + i, true, 80, 1024), id);
        CU_ASSERT_EQUAL(memcmp(out_log[base + i], out_log[base],
                               out_len[base]), 0);
        gap = ha_join_deadline(&j) - now;
        CU_ASSERT(gap >= HA_JOIN_RETRY_MIN_US);
        CU_ASSERT(gap <= HA_JOIN_RETRY_MAX_US * 5 / 4);
        if (i < 3) {
            CU_ASSERT(gap > prev_gap);
        }
        prev_gap = gap;
    }
    CU_ASSERT_EQUAL(j.stats.tx_binds, 6);
    CU_ASSERT_EQUAL(reply_ok(id), 0);
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 1);
}

static void
test_unbind_while_binding(void)
{
    uint64_t bid, uid;
    int base;

    joined_10_3();
    base = n_out;
    CU_ASSERT_EQUAL(ha_join_bind(&j, 80, 1024, now), 0);
    bid = bind_id_k(base, true, 80, 1024);
    /* Closed before the controller answered: wait for the answer. */
    CU_ASSERT_EQUAL(ha_join_unbind(&j, 80, 1024, now), 0);
    CU_ASSERT_EQUAL(n_out, base + 1);
    CU_ASSERT_EQUAL(reply_ok(bid), 0);
    CU_ASSERT_EQUAL_FATAL(n_out, base + 2);
    uid = bind_id_k(base + 1, false, 80, 1024);
    CU_ASSERT_NOT_EQUAL(uid, bid);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 1);
    /* ALREADY_DONE counts as done too. */
    {
        Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
        Scaffold__Control__Reply rep = SCAFFOLD__CONTROL__REPLY__INIT;

        rep.id = uid;
        rep.status = SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
        env.reply = &rep;
        CU_ASSERT_EQUAL(deliver(&env), 0);
    }
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 0);
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 0);
    CU_ASSERT_EQUAL(j.n_binds, 0);
    CU_ASSERT_FALSE(bound_bind);
    /* A Reply with STATUS_UNSPECIFIED is malformed. */
    CU_ASSERT_EQUAL(ha_join_bind(&j, 80, 1024, now), 0);
    bid = bind_id_k(n_out - 1, true, 80, 1024);
    {
        Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
        Scaffold__Control__Reply rep = SCAFFOLD__CONTROL__REPLY__INIT;

        rep.id = bid;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
        env.reply = &rep;
        CU_ASSERT_EQUAL(deliver(&env), -EBADMSG);
    }
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 0);
}

/* Every JoinReply (NOT_JOINED re-join, move, new epoch) re-binds every
 * listener under fresh ids; answers to the old ids are stale. */
static void
test_rebind_after_rejoin_and_move(void)
{
    uint64_t a_id, b_id, jid;
    Scaffold__Control__Envelope *e;
    int base, k, n_bind;

    joined_10_3();
    base = n_out;
    ha_join_bind(&j, 80, 1024, now);
    ha_join_bind(&j, 81, 1025, now);
    a_id = bind_id_k(base, true, 80, 1024);
    b_id = bind_id_k(base + 1, true, 81, 1025);
    CU_ASSERT_EQUAL(reply_ok(a_id), 0);
    /* b's answer is lost; the controller says we are not joined. */
    CU_ASSERT_EQUAL(reply_error(b_id, E_NOT_JOINED), 0);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINING);
    CU_ASSERT_EQUAL(reply_ok(b_id), -ESTALE);
    jid = join_and_get_id();
    base = n_out;
    CU_ASSERT_EQUAL(reply_join(jid, 10, 3, false), 0);
    CU_ASSERT_EQUAL_FATAL(n_out, base + 2);
    CU_ASSERT_NOT_EQUAL(bind_id_k(base, true, 80, 1024), a_id);
    CU_ASSERT_NOT_EQUAL(bind_id_k(base + 1, true, 81, 1025), b_id);
    CU_ASSERT_EQUAL(reply_ok(bind_id_k(base, true, 80, 1024)), 0);
    CU_ASSERT_EQUAL(reply_ok(bind_id_k(base + 1, true, 81, 1025)), 0);
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 2);

    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 81, 1025), 1);

    /* Link flap, re-attached elsewhere: a move re-binds from 10.9. */
    ha_join_link_down(&j);
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 0);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 81, 1025), 0);  /* Again. */
    CU_ASSERT_EQUAL(ha_join_deadline(&j), UINT64_MAX);
    ha_join_start(&j, now);
    jid = join_and_get_id();
    base = n_out;
    CU_ASSERT_EQUAL(reply_join(jid, 10, 9, true), 0);
    CU_ASSERT_EQUAL_FATAL(n_out, base + 2);
    CU_ASSERT_EQUAL(last.src_flow, sfp_flowid_make(10, 9, 0));
    bind_id_k(base, true, 80, 1024);
    bind_id_k(base + 1, true, 81, 1025);

    /* A JoinReply with a new controller epoch (restart) re-binds too. */
    ha_join_start(&j, now);
    jid = join_and_get_id();
    base = n_out;
    {
        Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
        Scaffold__Control__JoinReply r = SCAFFOLD__CONTROL__JOIN_REPLY__INIT;

        r.id = jid;
        r.ss_id = 10;
        r.host_id = 9;
        r.gateway_mac.data = (uint8_t *) gw_mac;
        r.gateway_mac.len = 6;
        r.keepalive_seconds = 10;
        r.controller_epoch = 78;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY;
        env.join_reply = &r;
        CU_ASSERT_EQUAL(deliver(&env), 0);
    }
    CU_ASSERT_EQUAL(j.epoch, 78);
    n_bind = 0;
    for (k = base; k < n_out; k++) {
        e = sent_k(k);
        n_bind += e->body_case == SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
        scaffold__control__envelope__free_unpacked(e, NULL);
    }
    CU_ASSERT_EQUAL(n_bind, 2);
}

static void
test_bind_unsupported(void)
{
    uint64_t id;
    int base;

    joined_10_3();
    base = n_out;
    ha_join_bind(&j, 80, 1024, now);
    id = bind_id_k(base, true, 80, 1024);
    CU_ASSERT_EQUAL(reply_error(id, E_UNSUPPORTED), 0);
    CU_ASSERT_EQUAL(n_bound, 1);
    CU_ASSERT_EQUAL(bound_error, -EOPNOTSUPP);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), -EOPNOTSUPP);
    CU_ASSERT_EQUAL(j.stats.bind_unsupported, 1);
    CU_ASSERT_EQUAL(j.state, HA_JOIN_JOINED);
    /* No retries: the next timer is the keepalive. */
    CU_ASSERT_EQUAL(ha_join_deadline(&j), now + 10000000);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 0);
    /* Closing it sends nothing (nothing was bound). */
    CU_ASSERT_EQUAL(ha_join_unbind(&j, 80, 1024, now), 0);
    CU_ASSERT_EQUAL(n_out, base + 1);
    CU_ASSERT_EQUAL(j.n_binds, 0);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 80, 1024), -ENOENT);
    /* UNAVAILABLE is retried with the same id. */
    ha_join_bind(&j, 82, 1026, now);
    id = bind_id_k(base + 1, true, 82, 1026);
    CU_ASSERT_EQUAL(reply_error(id, E_UNAVAILABLE), 0);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 82, 1026), 0);     /* Retried. */
    now = ha_join_deadline(&j);
    ha_join_tick(&j, now);
    CU_ASSERT_EQUAL(bind_id_k(base + 2, true, 82, 1026), id);
    /* CONFLICT is final. */
    CU_ASSERT_EQUAL(reply_error(id, E_CONFLICT), 0);
    CU_ASSERT_EQUAL(bound_error, -EADDRINUSE);
    CU_ASSERT_EQUAL(ha_join_bind_state(&j, 82, 1026), -EADDRINUSE);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), 0);
}

static void
test_bind_window(void)
{
    uint64_t ids[HA_JOIN_BIND_WINDOW + 4];
    int base, i;

    joined_10_3();
    base = n_out;
    for (i = 0; i < HA_JOIN_BIND_WINDOW + 4; i++) {
        CU_ASSERT_EQUAL(ha_join_bind(&j, (uint16_t) (100 + i),
                                     (uint16_t) (2000 + i), now), 0);
    }
    CU_ASSERT_EQUAL_FATAL(n_out, base + HA_JOIN_BIND_WINDOW);
    for (i = 0; i < HA_JOIN_BIND_WINDOW; i++) {
        ids[i] = bind_id_k(base + i, true, 100 + i, 2000 + i);
    }
    /* Each answer lets one more out. */
    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(reply_ok(ids[i]), 0);
        CU_ASSERT_EQUAL(n_out, base + HA_JOIN_BIND_WINDOW + i + 1);
    }
    CU_ASSERT_EQUAL(ha_join_n_bound(&j), 4);
    CU_ASSERT_EQUAL(ha_join_n_pending(&j), HA_JOIN_BIND_WINDOW);
}

static CU_TestInfo join_tests[] = {
    { "first join", test_first_join },
    { "retries: same id, exponential backoff", test_retry_backoff },
    { "keepalive, then NOT_JOINED", test_keepalive_and_not_joined },
    { "lease expiry rejoins", test_lease_expiry_rejoins },
    { "move after a link flap", test_move_after_link_flap },
    { "malformed input", test_malformed_input },
    { "leave", test_leave },
    { "bind waits for the join", test_bind_after_join },
    { "bind retries: same id, backoff", test_bind_retry_same_id },
    { "unbind while the bind is outstanding", test_unbind_while_binding },
    { "re-bind after re-join, move, new epoch",
      test_rebind_after_rejoin_and_move },
    { "bind UNSUPPORTED / UNAVAILABLE / CONFLICT", test_bind_unsupported },
    { "bind window", test_bind_window },
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
