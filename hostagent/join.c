/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of join / keepalive / leave (see join.h for the states).
 *
 * One request is outstanding at a time; its packed Envelope is kept in
 * 'pending' and retransmitted byte for byte (same id: the controller
 * answers retries idempotently).  The single deadline is the next retry
 * while a request is outstanding, otherwise the next keepalive.
 *
 * Bind and unbind requests are not serialised behind it: each binding
 * (join.h) carries its own outstanding id and retry deadline, its
 * Envelope is packed again for each retry (same fields, same id, so the
 * same bytes), and 'bind_deadline_us' caches the earliest of those
 * deadlines so that ha_join_deadline() stays O(1) on the data path.
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
static void join_xmit_buf(struct ha_join *, const uint8_t *, size_t);
static struct ha_join_binding *bind_find_sock(struct ha_join *, uint16_t);
static struct ha_join_binding *bind_find_id(struct ha_join *, uint64_t);
static void bind_send(struct ha_join *, struct ha_join_binding *);
static void bind_pump(struct ha_join *, uint64_t now_us);
static void bind_reset(struct ha_join *, bool resend);
static void bind_done(struct ha_join *, struct ha_join_binding *, int error);
static void bind_update_deadline(struct ha_join *);
static int bind_error(struct ha_join *, const Scaffold__Control__Error *,
                      uint64_t now_us);
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
    j->bind_deadline_us = UINT64_MAX;
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
    bind_reset(j, true);
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
    bind_reset(j, true);            /* The controller dropped them all. */
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
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY: {
        const Scaffold__Control__Reply *r = env->reply;
        struct ha_join_binding *b;

        if (r->status == SCAFFOLD__CONTROL__STATUS__STATUS_UNSPECIFIED) {
            ret = -EBADMSG;
        } else if (j->state == HA_JOIN_JOINED && j->pending_id
                   && r->id == j->pending_id) {
            j->stats.rx_replies++;
            j->pending_id = 0;
            j->lease_end_us = now_us + join_lease_us(j, r->lease_seconds);
            j->deadline_us = now_us + j->keepalive_us;
        } else if (r->id && (b = bind_find_id(j, r->id)) != NULL) {
            j->stats.rx_replies++;
            bind_done(j, b, 0);
            bind_pump(j, now_us);
        } else {
            ret = -ESTALE;
        }
        break;
    }
    case SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR:
        j->stats.rx_errors++;
        if (env->error->id && bind_find_id(j, env->error->id)) {
            ret = bind_error(j, env->error, now_us);
            break;
        }
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
    int i;

    if (now_us >= j->bind_deadline_us && j->state == HA_JOIN_JOINED) {
        for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
            struct ha_join_binding *b = &j->binds[i];
            uint64_t w;

            if (!b->used || !b->req_id || now_us < b->deadline_us) {
                continue;
            }
            bind_send(j, b);            /* Same id: a retry. */
            b->backoff_us = b->backoff_us * 2 > HA_JOIN_RETRY_MAX_US
                            ? HA_JOIN_RETRY_MAX_US : b->backoff_us * 2;
            w = b->backoff_us * 3 / 4
                + j->ops->random(j->aux) % (b->backoff_us / 2 + 1);
            b->deadline_us = now_us + w;
        }
        bind_update_deadline(j);
    }
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

int
ha_join_bind(struct ha_join *j, uint16_t obj, uint16_t sock, uint64_t now_us)
{
    struct ha_join_binding *b;
    int i;

    if (obj <= SFP_OBJ_CONTROL || sock == SFP_SOCK_AGENT) {
        return -EINVAL;
    }
    b = bind_find_sock(j, sock);
    if (b && b->obj != obj) {
        /* The sockID now serves another object: withdraw the old one
         * first would race; REPLACE on the controller covers it. */
        b->obj = obj;
    }
    for (i = 0; !b && i < HA_JOIN_MAX_BINDS; i++) {
        if (!j->binds[i].used) {
            b = &j->binds[i];
            memset(b, 0, sizeof *b);
            b->used = true;
            b->obj = obj;
            b->sock = sock;
            b->deadline_us = UINT64_MAX;
            j->n_binds++;
        }
    }
    if (!b) {
        return -ENOSPC;
    }
    b->want = true;
    b->dirty = true;
    bind_pump(j, now_us);
    return 0;
}

int
ha_join_unbind(struct ha_join *j, uint16_t obj, uint16_t sock,
               uint64_t now_us)
{
    struct ha_join_binding *b = bind_find_sock(j, sock);

    if (!b || b->obj != obj || !b->want) {
        return -ENOENT;
    }
    b->want = false;
    if (!b->req_id && !b->bound && !b->dirty) {
        /* Never confirmed (e.g. UNSUPPORTED): nothing to withdraw. */
        b->used = false;
        j->n_binds--;
        return 0;
    }
    b->dirty = true;
    bind_pump(j, now_us);
    return 0;
}

int
ha_join_bind_state(const struct ha_join *j, uint16_t obj, uint16_t sock)
{
    int i;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        const struct ha_join_binding *b = &j->binds[i];

        if (!b->used || b->sock != sock) {
            continue;
        }
        if (!b->want || b->obj != obj) {
            return -ENOENT;
        }
        if (b->dirty || b->req_id) {
            return 0;
        }
        return b->bound ? 1 : b->error;
    }
    return -ENOENT;
}

int
ha_join_n_bound(const struct ha_join *j)
{
    int i, n = 0;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        n += j->binds[i].used && j->binds[i].bound;
    }
    return n;
}

int
ha_join_n_pending(const struct ha_join *j)
{
    int i, n = 0;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        n += j->binds[i].used && (j->binds[i].dirty || j->binds[i].req_id);
    }
    return n;
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
    bind_reset(j, true);        /* Answers to old binds are stale now. */
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
    j->stats.tx_requests++;
    join_xmit_buf(j, j->pending, j->pending_len);
}

static void
join_xmit_buf(struct ha_join *j, const uint8_t *msg, size_t len)
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
    f.payload = msg;
    f.payload_len = len;
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
    /* A re-join, a move or a new epoch: the controller may have lost or
     * moved our instances.  Bind every listener again. */
    bind_reset(j, true);
    bind_pump(j, now_us);
    return 0;
}

static uint64_t
join_lease_us(const struct ha_join *j, uint32_t lease_s)
{
    return lease_s ? (uint64_t) lease_s * 1000000u
                   : 3 * (uint64_t) j->keepalive_us;
}

/* ---- bindings -------------------------------------------------------- */

static struct ha_join_binding *
bind_find_sock(struct ha_join *j, uint16_t sock)
{
    int i;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        if (j->binds[i].used && j->binds[i].sock == sock) {
            return &j->binds[i];
        }
    }
    return NULL;
}

static struct ha_join_binding *
bind_find_id(struct ha_join *j, uint64_t id)
{
    int i;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        if (j->binds[i].used && j->binds[i].req_id == id) {
            return &j->binds[i];
        }
    }
    return NULL;
}

/* Packs and sends the outstanding request of 'b' (b->req_id, b->req_bind).
 * Always BIND_FLAG_LISTEN | BIND_FLAG_REPLACE: the host owns its sockIDs,
 * so a re-bind after a re-join must not fail on a stale entry. */
static void
bind_send(struct ha_join *j, struct ha_join_binding *b)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__BindRequest br = SCAFFOLD__CONTROL__BIND_REQUEST__INIT;
    Scaffold__Control__UnbindRequest ur =
        SCAFFOLD__CONTROL__UNBIND_REQUEST__INIT;
    uint8_t buf[HA_JOIN_MAX_MSG];
    size_t n;

    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    if (b->req_bind) {
        br.id = b->req_id;
        br.object_id = b->obj;
        br.sock_id = b->sock;
        br.flags = SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_LISTEN
                   | SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
        env.bind = &br;
        j->stats.tx_binds++;
    } else {
        ur.id = b->req_id;
        ur.object_id = b->obj;
        ur.sock_id = b->sock;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND;
        env.unbind = &ur;
        j->stats.tx_unbinds++;
    }
    if (scaffold__control__envelope__get_packed_size(&env) > sizeof buf) {
        return;                 /* Cannot happen with these fields. */
    }
    n = scaffold__control__envelope__pack(&env, buf);
    join_xmit_buf(j, buf, n);
}

/* Sends the requests that are due, within the window, while JOINED. */
static void
bind_pump(struct ha_join *j, uint64_t now_us)
{
    int i, in_flight = 0;

    if (j->state != HA_JOIN_JOINED) {
        return;
    }
    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        in_flight += j->binds[i].used && j->binds[i].req_id != 0;
    }
    for (i = 0; i < HA_JOIN_MAX_BINDS && in_flight < HA_JOIN_BIND_WINDOW;
         i++) {
        struct ha_join_binding *b = &j->binds[i];

        if (!b->used || !b->dirty || b->req_id) {
            continue;
        }
        b->req_id = j->next_id++;
        b->req_bind = b->want;
        b->dirty = false;
        b->backoff_us = HA_JOIN_RETRY_MIN_US;
        b->deadline_us = now_us + b->backoff_us;
        bind_send(j, b);
        in_flight++;
    }
    bind_update_deadline(j);
}

/* Forgets every outstanding request (their answers become stale); with
 * 'resend', every binding is made again (bind or unbind) after the next
 * join. */
static void
bind_reset(struct ha_join *j, bool resend)
{
    int i;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        struct ha_join_binding *b = &j->binds[i];

        if (!b->used) {
            continue;
        }
        b->req_id = 0;
        b->deadline_us = UINT64_MAX;
        b->bound = false;
        if (resend) {
            b->dirty = true;
        }
    }
    j->bind_deadline_us = UINT64_MAX;
}

/* The outstanding request of 'b' is answered: 0 (OK or ALREADY_DONE) or a
 * final error.  Frees the slot once an unbind is done. */
static void
bind_done(struct ha_join *j, struct ha_join_binding *b, int error)
{
    bool was_bind = b->req_bind;

    b->req_id = 0;
    b->deadline_us = UINT64_MAX;
    b->error = error;
    if (!error) {
        j->stats.bind_ok++;
        b->bound = was_bind;
    } else {
        b->bound = false;
    }
    if (!b->want && !b->dirty && !was_bind) {
        b->used = false;
        j->n_binds--;
    } else if (!b->want && error && was_bind) {
        /* Closed while a refused bind was outstanding: nothing bound. */
        b->used = false;
        j->n_binds--;
    }
    bind_update_deadline(j);
    if (j->ops->bound) {
        j->ops->bound(b->obj, b->sock, was_bind, error, j->aux);
    }
}

static int
bind_error(struct ha_join *j, const Scaffold__Control__Error *e,
           uint64_t now_us)
{
    struct ha_join_binding *b = bind_find_id(j, e->id);

    switch (e->code) {
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_JOINED:
        /* Join again; every binding is sent after the JoinReply. */
        ha_join_start(j, now_us);
        return 0;
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNAVAILABLE:
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_INTERNAL:
        return 0;                       /* The retry timer asks again. */
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NOT_FOUND:
        if (!b->req_bind) {             /* Unbind of nothing: done. */
            bind_done(j, b, 0);
            bind_pump(j, now_us);
            return 0;
        }
        j->stats.bind_failed++;
        bind_done(j, b, -EINVAL);
        break;
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_UNSUPPORTED:
        j->stats.bind_unsupported++;
        bind_done(j, b, -EOPNOTSUPP);
        break;
    case SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_CONFLICT:
        j->stats.bind_failed++;
        bind_done(j, b, -EADDRINUSE);
        break;
    default:
        j->stats.bind_failed++;
        bind_done(j, b, -EINVAL);
        break;
    }
    bind_pump(j, now_us);
    return 0;
}

static void
bind_update_deadline(struct ha_join *j)
{
    uint64_t d = UINT64_MAX;
    int i;

    for (i = 0; i < HA_JOIN_MAX_BINDS; i++) {
        if (j->binds[i].used && j->binds[i].req_id
            && j->binds[i].deadline_us < d) {
            d = j->binds[i].deadline_us;
        }
    }
    j->bind_deadline_us = d;
}
