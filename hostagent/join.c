/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of join / keepalive / leave (see join.h for the states).
 *
 * One request is outstanding at a time; its packed Envelope is kept in
 * 'pending' and retransmitted byte for byte (same id: the controller
 * answers retries idempotently).  The single deadline is the next retry
 * while a request is outstanding, otherwise the next keepalive.
 */
#include "hostagent/join.h"

#include <errno.h>
#include <string.h>

#include "proto/control.pb-c.h"

#define HA_AGENT_VERSION "scaffold-hostagent 0.1"
#define HA_KEEPALIVE_DEFAULT_US 10000000u

static void join_send(struct ha_join *, Scaffold__Control__Envelope *,
                      uint64_t id, uint64_t now_us);
static void join_xmit(struct ha_join *);
static void join_arm(struct ha_join *, uint64_t now_us);
static void join_request(struct ha_join *, uint64_t now_us);
static void join_keepalive(struct ha_join *, uint64_t now_us);
static int join_reply(struct ha_join *, const Scaffold__Control__JoinReply *,
                      uint64_t now_us);
static uint64_t join_lease_us(const struct ha_join *, uint32_t lease_s);

void
ha_join_init(struct ha_join *j, const struct ha_join_ops *ops, void *aux,
             const uint8_t mac[6], const char *name, uint64_t now_us)
{
    memset(j, 0, sizeof *j);
    j->state = HA_JOIN_IDLE;
    j->ops = ops;
    j->aux = aux;
    memcpy(j->mac, mac, 6);
    if (name) {
        strncpy(j->name, name, sizeof j->name - 1);
    }
    /* Ids unique for the agent's lifetime: a random start. */
    j->next_id = (ops->random(aux) >> 16) + 1 + now_us % 1000;
    j->deadline_us = UINT64_MAX;
}

void
ha_join_start(struct ha_join *j, uint64_t now_us)
{
    if (j->state == HA_JOIN_JOINED && j->prefix) {
        j->previous = j->prefix;
    }
    j->state = HA_JOIN_JOINING;
    join_request(j, now_us);
}

void
ha_join_link_down(struct ha_join *j)
{
    if (j->prefix) {
        j->previous = j->prefix;
    }
    j->state = HA_JOIN_IDLE;
    j->pending_id = 0;
    j->deadline_us = UINT64_MAX;
}

void
ha_join_leave(struct ha_join *j, bool link_down)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__LeaveRequest lr =
        SCAFFOLD__CONTROL__LEAVE_REQUEST__INIT;

    if (j->state == HA_JOIN_JOINED) {
        lr.id = j->next_id++;
        lr.reason = link_down
            ? SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_LINK_DOWN
            : SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_SHUTDOWN;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE;
        env.leave = &lr;
        join_send(j, &env, lr.id, 0);
    }
    j->state = HA_JOIN_IDLE;
    j->pending_id = 0;
    j->deadline_us = UINT64_MAX;
}

int
ha_join_input(struct ha_join *j, const struct sfp_frame *f, uint64_t now_us)
{
    Scaffold__Control__Envelope *env;
    int ret = 0;

    env = scaffold__control__envelope__unpack(NULL, f->payload_len,
                                              f->payload);
    if (!env
        || env->version
           != SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1) {
        j->stats.rx_bad++;
        scaffold__control__envelope__free_unpacked(env, NULL);
        return -EBADMSG;
    }
    switch (env->body_case) {
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY:
        if (j->state != HA_JOIN_JOINING || !j->pending_id
            || env->join_reply->id != j->pending_id) {
            ret = -ESTALE;
            break;
        }
        ret = join_reply(j, env->join_reply, now_us);
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY:
        if (j->state != HA_JOIN_JOINED || !j->pending_id
            || env->reply->id != j->pending_id) {
            ret = -ESTALE;
            break;
        }
        j->stats.rx_replies++;
        j->pending_id = 0;
        j->lease_end_us = now_us + join_lease_us(j,
                                                 env->reply->lease_seconds);
        j->deadline_us = now_us + j->keepalive_us;
        break;
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR:
        j->stats.rx_errors++;
        if (!j->pending_id
            || (env->error->id && env->error->id != j->pending_id)) {
            ret = -ESTALE;
            break;
        }
        if (env->error->code
            == SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED) {
            ha_join_start(j, now_us);   /* Join again, at once. */
        }
        /* Anything else: the retry timer keeps asking (UNAVAILABLE,
         * NO_ADDRESS... may clear up). */
        break;
    default:
        ret = -EBADMSG;
        break;
    }
    if (ret == -EBADMSG || ret == -ESTALE) {
        j->stats.rx_bad++;
    }
    scaffold__control__envelope__free_unpacked(env, NULL);
    return ret;
}

void
ha_join_tick(struct ha_join *j, uint64_t now_us)
{
    if (now_us < j->deadline_us) {
        return;
    }
    switch (j->state) {
    case HA_JOIN_IDLE:
        j->deadline_us = UINT64_MAX;
        return;
    case HA_JOIN_JOINING:
        join_xmit(j);
        join_arm(j, now_us);
        return;
    case HA_JOIN_JOINED:
        if (!j->pending_id) {
            join_keepalive(j, now_us);
        } else if (now_us >= j->lease_end_us) {
            /* The controller has forgotten us by now: join again. */
            j->previous = j->prefix;
            j->state = HA_JOIN_JOINING;
            join_request(j, now_us);
        } else {
            join_xmit(j);
            join_arm(j, now_us);
        }
        return;
    }
}

const char *
ha_join_state_name(enum ha_join_state s)
{
    switch (s) {
    case HA_JOIN_IDLE: return "IDLE";
    case HA_JOIN_JOINING: return "JOINING";
    case HA_JOIN_JOINED: return "JOINED";
    }
    return "?";
}

/* ---- static functions ------------------------------------------------ */

static void
join_request(struct ha_join *j, uint64_t now_us)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest jr = SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;
    Scaffold__Control__HostAddress prev =
        SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;

    jr.id = j->next_id++;
    jr.mac.data = j->mac;
    jr.mac.len = 6;
    if (j->previous) {
        prev.ss_id = sfp_flowid_ss(j->previous);
        prev.host_id = sfp_flowid_host(j->previous);
        jr.previous = &prev;
        jr.requested = &prev;
    }
    jr.agent_version = (char *) HA_AGENT_VERSION;
    jr.name = j->name;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
    env.join = &jr;
    j->backoff_us = HA_JOIN_RETRY_MIN_US;
    join_send(j, &env, jr.id, now_us);
}

static void
join_keepalive(struct ha_join *j, uint64_t now_us)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Keepalive ka = SCAFFOLD__CONTROL__KEEPALIVE__INIT;
    Scaffold__Control__HostAddress addr =
        SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;

    ka.id = j->next_id++;
    addr.ss_id = sfp_flowid_ss(j->prefix);
    addr.host_id = sfp_flowid_host(j->prefix);
    ka.address = &addr;
    ka.controller_epoch = j->epoch;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE;
    env.keepalive = &ka;
    j->backoff_us = HA_JOIN_RETRY_MIN_US;
    join_send(j, &env, ka.id, now_us);
}

/* Packs 'env' as the outstanding request 'id' (id 0: fire and forget),
 * sends it and arms the retry timer. */
static void
join_send(struct ha_join *j, Scaffold__Control__Envelope *env, uint64_t id,
          uint64_t now_us)
{
    size_t n;

    env->version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    n = scaffold__control__envelope__get_packed_size(env);
    if (n > sizeof j->pending) {
        return;                 /* Cannot happen with these fields. */
    }
    j->pending_len = scaffold__control__envelope__pack(env, j->pending);
    if (env->body_case == SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE) {
        join_xmit(j);
        j->pending_len = 0;
        return;
    }
    j->pending_id = id;
    join_xmit(j);
    j->deadline_us = now_us + j->backoff_us;
}

static void
join_xmit(struct ha_join *j)
{
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff };
    struct sfp_frame f;

    memset(&f, 0, sizeof f);
    f.src_flow = j->prefix;
    f.dst_flow = sfp_flowid_unresolved(sfp_flowid_ss(j->prefix));
    f.src_obj = SFP_OBJ_CONTROL;
    f.dst_obj = SFP_OBJ_CONTROL;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.payload = j->pending;
    f.payload_len = j->pending_len;
    j->stats.tx_requests++;
    j->ops->output(&f, j->have_gw ? j->gw_mac : broadcast, j->aux);
}

/* Backs off after a retransmission: double, cap, +-25 % jitter. */
static void
join_arm(struct ha_join *j, uint64_t now_us)
{
    uint64_t b;

    j->backoff_us = j->backoff_us * 2 > HA_JOIN_RETRY_MAX_US
                    ? HA_JOIN_RETRY_MAX_US : j->backoff_us * 2;
    b = j->backoff_us * 3 / 4 + j->ops->random(j->aux) % (j->backoff_us / 2
                                                          + 1);
    j->deadline_us = now_us + b;
}

static int
join_reply(struct ha_join *j, const Scaffold__Control__JoinReply *r,
           uint64_t now_us)
{
    uint32_t old = j->prefix ? j->prefix : j->previous;
    uint32_t prefix;
    bool moved;

    if (!r->ss_id || r->ss_id >= SFP_SS_RESERVED255 || !r->host_id
        || r->host_id >= SFP_HOST_CONTROLLER || r->gateway_mac.len != 6) {
        return -EBADMSG;
    }
    prefix = sfp_flowid_make((uint8_t) r->ss_id, (uint8_t) r->host_id, 0);
    moved = old && old != prefix;
    j->stats.rx_replies++;
    j->stats.joins++;
    j->stats.moves += moved;
    j->prefix = prefix;
    j->previous = 0;
    memcpy(j->gw_mac, r->gateway_mac.data, 6);
    j->have_gw = true;
    j->epoch = r->controller_epoch;
    j->keepalive_us = r->keepalive_seconds
                      ? r->keepalive_seconds * 1000000u
                      : HA_KEEPALIVE_DEFAULT_US;
    j->lease_end_us = now_us + join_lease_us(j, r->lease_seconds);
    j->state = HA_JOIN_JOINED;
    j->pending_id = 0;
    j->deadline_us = now_us + j->keepalive_us;
    j->ops->joined(prefix, j->gw_mac, moved, j->aux);
    return 0;
}

static uint64_t
join_lease_us(const struct ha_join *j, uint32_t lease_s)
{
    return lease_s ? (uint64_t) lease_s * 1000000u
                   : 3 * (uint64_t) j->keepalive_us;
}
