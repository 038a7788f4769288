/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sockets of one host and the demultiplexing of frames to them; see
 * stack.h for the dispatch rules.
 *
 * Data structures: every socket is a struct ha_sock (a struct ha_conn plus
 * the stack's bookkeeping), reachable from 'by_sock', an array indexed by
 * sockID (the per-packet lookup: one load), and from 'all', a list in
 * creation order used by the timer scan and --status.  Listeners are also
 * on 'listeners' (few per host; looked up by objectID on SYN).
 *
 * Lifetimes: a socket is freed after its HA_CEV_DEAD event, but only when
 * the outermost public call returns ('depth'), so that event handlers may
 * call back into the stack while a caller up the stack still holds the
 * socket.
 *
 * Known limits (next steps): timers are a linear scan over all sockets and
 * duplicate-SYN detection a linear scan over the connections; both want an
 * index (timer wheel, nonce hash) before thousands of connections.
 */
#include "hostagent/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HA_N_SOCKIDS 65536

struct ha_sock {
    struct ha_conn conn;        /* Must be first. */
    enum ha_sock_kind kind;
    struct ha_stack *stack;
    struct ha_sock *listener;   /* Accepted on this listener, or NULL. */
    int backlog;                /* Listener: max half-open children. */
    bool bound;                 /* bind() given an objectID. */
    bool dead;                  /* HA_CEV_DEAD seen: free when idle. */
    uint32_t iss;               /* Accepted: our initial sequence number. */
    struct ha_sock *prev, *next;        /* 'all' list. */
    struct ha_sock *lnext;              /* 'listeners' list. */
    struct ha_sock *znext;              /* 'zombies' list. */
};

struct ha_stack {
    const struct ha_stack_ops *ops;
    void *aux;
    uint32_t prefix;            /* ss.host.0 */
    struct ha_sock **by_sock;   /* HA_N_SOCKIDS entries. */
    struct ha_sock *all_head, *all_tail;
    struct ha_sock *listeners;
    struct ha_sock *zombies;
    size_t n_socks;
    uint16_t next_eph;          /* Next ephemeral sockID to try. */
    int depth;                  /* Nesting of public calls. */
    struct ha_stack_stats stats;
    struct ha_conn_ops conn_ops;
    struct ha_shed *shed;       /* HA_SHED_MAX connections we shed. */
    size_t shed_next;           /* Next slot to overwrite. */
    bool link_down;             /* ha_stack_set_link(false) in force. */
};

/* A connection this host shed with FAIL (stack.h, HA_SHED_US). */
struct ha_shed {
    uint64_t nonce;             /* 0: free slot. */
    uint64_t until;             /* Forgotten after this time. */
    uint32_t flow;              /* Its local flowID (the FAIL's source)... */
    uint16_t obj;               /* ...and objectID. */
    uint32_t ack_lo, ack_hi;    /* The peer's possible receive points: our
                                 * ISS + 1 .. snd_nxt at the shed. */
};

static void stack_conn_output(struct ha_conn *, const struct sfp_frame *,
                              void *aux);
static void stack_conn_event(struct ha_conn *, enum ha_conn_event,
                             const void *, size_t, void *aux);
static uint32_t stack_conn_new_flow(struct ha_conn *, void *aux);
static void *stack_conn_alloc(size_t, void *aux);
static void stack_conn_free(void *, void *aux);
static void stack_shed_add(struct ha_stack *, const struct ha_sock *,
                           uint64_t now);
static const struct ha_shed *stack_shed_find(const struct ha_stack *,
                                             const struct sfp_frame *,
                                             uint64_t now);
static void stack_shed_refuse(struct ha_stack *, const struct ha_shed *,
                              const struct sfp_frame *);
static void stack_enter(struct ha_stack *);
static void stack_leave(struct ha_stack *);
static struct ha_sock *sock_of(struct ha_conn *);
static struct ha_sock *stack_new_sock(struct ha_stack *, uint16_t sockid,
                                      enum ha_sock_kind, uint64_t now);
static int stack_alloc_sockid(struct ha_stack *, uint16_t *);
static struct ha_sock *stack_find_listener(struct ha_stack *, uint16_t obj);
static struct ha_sock *stack_find_dgram(struct ha_stack *, uint16_t obj);
static struct ha_sock *stack_find_dup(struct ha_stack *,
                                      const struct sfp_frame *);
static int stack_syn(struct ha_stack *, struct ha_sock *listener,
                     const struct sfp_frame *, uint64_t now);
static int stack_unknown(struct ha_stack *, const struct sfp_frame *);
static int stack_half_open(const struct ha_stack *, const struct ha_sock *);
static bool stack_is_local(const struct ha_stack *, uint32_t flow);

struct ha_stack *
ha_stack_create(const struct ha_stack_ops *ops, void *aux, uint32_t prefix)
{
    struct ha_stack *s = calloc(1, sizeof *s);

    if (!s) {
        return NULL;
    }
    s->by_sock = calloc(HA_N_SOCKIDS, sizeof *s->by_sock);
    s->shed = calloc(HA_SHED_MAX, sizeof *s->shed);
    if (!s->by_sock || !s->shed) {
        free(s->by_sock);
        free(s->shed);
        free(s);
        return NULL;
    }
    s->ops = ops;
    s->aux = aux;
    s->prefix = prefix & 0xffff0000u;
    s->next_eph = HA_SOCK_EPHEMERAL_MIN;
    s->conn_ops.output = stack_conn_output;
    s->conn_ops.event = stack_conn_event;
    s->conn_ops.new_flow = stack_conn_new_flow;
    s->conn_ops.alloc = stack_conn_alloc;
    s->conn_ops.free = stack_conn_free;
    return s;
}

void
ha_stack_destroy(struct ha_stack *s)
{
    struct ha_sock *k, *next;

    if (!s) {
        return;
    }
    for (k = s->all_head; k; k = next) {
        next = k->next;
        ha_conn_release(&k->conn);
        free(k);
    }
    for (k = s->zombies; k; k = next) {
        next = k->znext;
        ha_conn_release(&k->conn);
        free(k);
    }
    free(s->by_sock);
    free(s->shed);
    free(s);
}

void
ha_stack_set_prefix(struct ha_stack *s, uint32_t prefix, uint64_t now)
{
    struct ha_sock *k;

    prefix &= 0xffff0000u;
    if (prefix == s->prefix) {
        return;
    }
    stack_enter(s);
    s->prefix = prefix;
    for (k = s->all_head; k; k = k->next) {
        if (!k->dead) {
            uint16_t sock = sfp_flowid_sock(k->conn.local_flow);

            ha_conn_move(&k->conn, prefix | sock, now);
        }
    }
    stack_leave(s);
}

void
ha_stack_set_link(struct ha_stack *s, bool up, uint64_t now)
{
    struct ha_sock *k;

    if (s->link_down == !up) {
        return;
    }
    s->link_down = !up;
    stack_enter(s);
    for (k = s->all_head; k; k = k->next) {
        if (!k->dead && k->kind == HA_SOCK_STREAM
            && k->conn.state != HA_CONN_LISTEN) {
            ha_conn_set_link(&k->conn, up, now);
        }
    }
    stack_leave(s);
}

uint32_t
ha_stack_prefix(const struct ha_stack *s)
{
    return s->prefix;
}

int
ha_stack_socket(struct ha_stack *s, enum ha_sock_kind kind, uint16_t sockid,
                void *owner, struct ha_conn **connp)
{
    struct ha_sock *k;
    int error;

    if (!sockid) {
        error = stack_alloc_sockid(s, &sockid);
        if (error) {
            return error;
        }
    } else if (s->by_sock[sockid]) {
        return -EADDRINUSE;
    }
    k = stack_new_sock(s, sockid, kind, 0);
    if (!k) {
        return -ENOMEM;
    }
    k->conn.owner = owner;
    *connp = &k->conn;
    return 0;
}

int
ha_stack_bind(struct ha_stack *s, struct ha_conn *c, uint16_t obj)
{
    struct ha_sock *k = sock_of(c);

    if (!sfp_objectid_is_valid(obj) || c->state != HA_CONN_CLOSED
        || k->bound) {
        return -EINVAL;
    }
    if (k->kind == HA_SOCK_DGRAM && stack_find_dgram(s, obj)) {
        return -EADDRINUSE;
    }
    c->local_obj = obj;
    k->bound = true;
    return 0;
}

int
ha_stack_listen(struct ha_stack *s, struct ha_conn *c, int backlog)
{
    struct ha_sock *k = sock_of(c);

    if (k->kind != HA_SOCK_STREAM || !k->bound
        || c->state != HA_CONN_CLOSED) {
        return -EINVAL;
    }
    if (stack_find_listener(s, c->local_obj)) {
        return -EADDRINUSE;
    }
    k->backlog = backlog > 0 ? backlog : 128;
    c->state = HA_CONN_LISTEN;
    k->lnext = s->listeners;
    s->listeners = k;
    return 0;
}

int
ha_stack_connect(struct ha_stack *s, struct ha_conn *c, uint32_t dst,
                 uint16_t obj, uint64_t now)
{
    uint64_t nonce;
    int error;

    if (sock_of(c)->kind != HA_SOCK_STREAM) {
        return -EOPNOTSUPP;
    }
    if (!dst) {
        dst = sfp_flowid_unresolved(sfp_flowid_ss(s->prefix));
    }
    do {
        nonce = s->ops->random(s->aux);
    } while (!nonce);
    stack_enter(s);
    c->created_us = now;
    error = ha_conn_connect(c, dst, obj, nonce,
                            (uint32_t) s->ops->random(s->aux), now);
    stack_leave(s);
    return error;
}

int
ha_stack_send(struct ha_stack *s, struct ha_conn *c, uint32_t dst,
              uint16_t obj, const void *data, size_t len, uint64_t now)
{
    struct ha_sock *k = sock_of(c);
    struct sfp_frame f;
    int error;

    stack_enter(s);
    if (k->kind == HA_SOCK_STREAM) {
        error = ha_conn_send(c, data, len, now);
        stack_leave(s);
        return error;
    }
    if (!sfp_objectid_is_valid(obj)) {
        stack_leave(s);
        return -EDESTADDRREQ;
    }
    if (len > SFP_MAX_PAYLOAD) {
        stack_leave(s);
        return -EMSGSIZE;
    }
    memset(&f, 0, sizeof f);
    f.src_flow = c->local_flow;
    f.dst_flow = dst ? dst : sfp_flowid_unresolved(sfp_flowid_ss(s->prefix));
    f.src_obj = c->local_obj;
    f.dst_obj = obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.hdr.seq = 0;              /* Unbound: no sequence space. */
    f.payload = data;
    f.payload_len = len;
    c->stats.tx_packets++;
    c->stats.tx_bytes += len;
    s->stats.tx_frames++;
    s->ops->output(&f, s->aux);
    stack_leave(s);
    return 0;
}

void
ha_stack_close(struct ha_stack *s, struct ha_conn *c, bool fail,
               uint64_t now)
{
    struct ha_sock *k = sock_of(c);
    struct ha_sock *l;

    stack_enter(s);
    c->owner = NULL;
    if (c->state == HA_CONN_LISTEN) {
        /* Children not yet handed to the application go with it (not
         * those the application had and closed: they linger on). */
        for (l = s->all_head; l; l = l->next) {
            if (l->listener == k) {
                l->listener = NULL;
                if (!l->conn.owner && !l->conn.local_closed && !l->dead) {
                    ha_conn_abort(&l->conn, now);
                }
            }
        }
        c->local_closed = true;
        stack_conn_event(c, HA_CEV_DEAD, NULL, 0, s);
    } else if (k->kind == HA_SOCK_DGRAM) {
        c->local_closed = true;
        stack_conn_event(c, HA_CEV_DEAD, NULL, 0, s);
    } else {
        ha_conn_close(c, fail, now);
        if (fail && c->state == HA_CONN_FAILED && !c->active) {
            stack_shed_add(s, k, now);
        }
    }
    stack_leave(s);
}

void
ha_stack_abort(struct ha_stack *s, struct ha_conn *c, uint64_t now)
{
    struct ha_sock *k = sock_of(c);

    if (k->dead) {
        return;
    }
    if (c->state == HA_CONN_LISTEN || k->kind == HA_SOCK_DGRAM) {
        ha_stack_close(s, c, false, now);
        return;
    }
    stack_enter(s);
    c->owner = NULL;
    ha_conn_abort(c, now);
    stack_leave(s);
}

int
ha_stack_input(struct ha_stack *s, const struct sfp_frame *f, uint64_t now)
{
    uint8_t flags = f->hdr.flags;
    uint16_t sockid = sfp_flowid_sock(f->dst_flow);
    bool unresolved = sfp_flowid_is_unresolved(f->dst_flow);
    bool opening = flags == SFP_F_SYN || flags == SFP_F_RSYN;
    struct ha_sock *k;
    int ret;

    s->stats.rx_frames++;
    if (!unresolved && !stack_is_local(s, f->dst_flow)) {
        s->stats.rx_not_mine++;
        return 1;
    }
    if (unresolved && (opening || sfp_hdr_is_datagram(&f->hdr))) {
        k = NULL;               /* Resolve by objectID below. */
    } else if (unresolved) {
        s->stats.rx_not_mine++;
        return 1;
    } else {
        k = s->by_sock[sockid];
        if (k && k->dead) {
            k = NULL;
        }
    }

    stack_enter(s);
    if (sfp_hdr_is_datagram(&f->hdr)) {
        if (!k) {
            k = unresolved || !sockid ? stack_find_dgram(s, f->dst_obj)
                                      : NULL;
        }
        if (!k || k->kind != HA_SOCK_DGRAM) {
            s->stats.rx_unknown++;
            ret = 1;
        } else {
            k->conn.remote_flow = f->src_flow;
            k->conn.remote_obj = f->src_obj;
            k->conn.stats.rx_packets++;
            k->conn.stats.rx_bytes += f->payload_len;
            stack_conn_event(&k->conn, HA_CEV_DATA, f->payload,
                             f->payload_len, s);
            ret = 0;
        }
    } else if (opening && (!k || k->conn.state == HA_CONN_LISTEN)) {
        struct ha_sock *dup = stack_find_dup(s, f);
        const struct ha_shed *shed;

        if (dup) {
            ret = ha_conn_input(&dup->conn, f, now);
        } else if (flags == SFP_F_RSYN
                   && (shed = stack_shed_find(s, f, now)) != NULL) {
            stack_shed_refuse(s, shed, f);
            ret = 0;
        } else {
            if (!k) {
                k = stack_find_listener(s, f->dst_obj);
            }
            if (!k || k->conn.local_obj != f->dst_obj) {
                s->stats.rx_no_listener++;
                ret = stack_unknown(s, f);
            } else {
                ret = stack_syn(s, k, f, now);
            }
        }
    } else if (!k || k->kind != HA_SOCK_STREAM
               || k->conn.state == HA_CONN_LISTEN
               || k->conn.state == HA_CONN_CLOSED) {
        ret = stack_unknown(s, f);
    } else {
        ret = ha_conn_input(&k->conn, f, now);
        if (ret) {
            s->stats.rx_dropped++;
        }
    }
    stack_leave(s);
    return ret;
}

void
ha_stack_tick(struct ha_stack *s, uint64_t now)
{
    struct ha_sock *k;

    stack_enter(s);
    for (k = s->all_head; k; k = k->next) {
        if (!k->dead && k->conn.deadline_us <= now) {
            ha_conn_tick(&k->conn, now);
        }
    }
    stack_leave(s);
}

uint64_t
ha_stack_next_deadline(const struct ha_stack *s)
{
    uint64_t min = UINT64_MAX;
    const struct ha_sock *k;

    for (k = s->all_head; k; k = k->next) {
        if (!k->dead && k->conn.deadline_us < min) {
            min = k->conn.deadline_us;
        }
    }
    return min;
}

struct ha_conn *
ha_stack_listener(const struct ha_conn *c)
{
    const struct ha_sock *k = (const struct ha_sock *) c;

    return k->listener && !k->listener->dead ? &k->listener->conn : NULL;
}

enum ha_sock_kind
ha_stack_kind(const struct ha_conn *c)
{
    return ((const struct ha_sock *) c)->kind;
}

void
ha_stack_foreach(const struct ha_stack *s,
                 void (*cb)(const struct ha_conn *, void *aux), void *aux)
{
    const struct ha_sock *k;

    for (k = s->all_head; k; k = k->next) {
        if (!k->dead) {
            cb(&k->conn, aux);
        }
    }
}

size_t
ha_stack_count(const struct ha_stack *s)
{
    return s->n_socks;
}

const struct ha_stack_stats *
ha_stack_stats(const struct ha_stack *s)
{
    return &s->stats;
}

/* ---- static functions ------------------------------------------------ */

static struct ha_sock *
sock_of(struct ha_conn *c)
{
    return (struct ha_sock *) c;
}

static void
stack_conn_output(struct ha_conn *c, const struct sfp_frame *f, void *aux)
{
    struct ha_stack *s = aux;

    (void) c;
    s->stats.tx_frames++;
    s->ops->output(f, s->aux);
}

static void
stack_conn_event(struct ha_conn *c, enum ha_conn_event ev, const void *data,
                 size_t len, void *aux)
{
    struct ha_stack *s = aux;
    struct ha_sock *k = sock_of(c);

    if (ev == HA_CEV_DEAD) {
        if (k->dead) {
            return;
        }
        k->dead = true;
        s->ops->event(c, ev, data, len, s->aux);
        /* Unlink now (the sockID may be reused at once); free later. */
        if (s->by_sock[sfp_flowid_sock(c->local_flow)] == k) {
            s->by_sock[sfp_flowid_sock(c->local_flow)] = NULL;
        }
        if (k->prev) {
            k->prev->next = k->next;
        } else {
            s->all_head = k->next;
        }
        if (k->next) {
            k->next->prev = k->prev;
        } else {
            s->all_tail = k->prev;
        }
        if (k->backlog) {
            struct ha_sock **p;
            for (p = &s->listeners; *p; p = &(*p)->lnext) {
                if (*p == k) {
                    *p = k->lnext;
                    break;
                }
            }
        }
        for (struct ha_sock *l = s->all_head; l; l = l->next) {
            if (l->listener == k) {
                l->listener = NULL;
            }
        }
        s->n_socks--;
        k->znext = s->zombies;
        s->zombies = k;
        return;
    }
    s->ops->event(c, ev, data, len, s->aux);
}

static void
stack_enter(struct ha_stack *s)
{
    s->depth++;
}

static void
stack_leave(struct ha_stack *s)
{
    struct ha_sock *k, *next;

    if (--s->depth > 0) {
        return;
    }
    for (k = s->zombies; k; k = next) {
        next = k->znext;
        ha_conn_release(&k->conn);
        free(k);
    }
    s->zombies = NULL;
}

static struct ha_sock *
stack_new_sock(struct ha_stack *s, uint16_t sockid, enum ha_sock_kind kind,
               uint64_t now)
{
    struct ha_sock *k = calloc(1, sizeof *k);

    if (!k) {
        return NULL;
    }
    ha_conn_init(&k->conn, &s->conn_ops, s, s->prefix | sockid, sockid, now);
    k->conn.link_down = s->link_down;
    k->kind = kind;
    k->stack = s;
    k->prev = s->all_tail;
    if (s->all_tail) {
        s->all_tail->next = k;
    } else {
        s->all_head = k;
    }
    s->all_tail = k;
    s->by_sock[sockid] = k;
    s->n_socks++;
    return k;
}

static int
stack_alloc_sockid(struct ha_stack *s, uint16_t *sockidp)
{
    unsigned int i;

    for (i = 0; i < HA_N_SOCKIDS - HA_SOCK_EPHEMERAL_MIN; i++) {
        uint16_t id = s->next_eph;

        s->next_eph = id == UINT16_MAX ? HA_SOCK_EPHEMERAL_MIN : id + 1;
        if (!s->by_sock[id]) {
            *sockidp = id;
            return 0;
        }
    }
    return -EADDRNOTAVAIL;
}

static struct ha_sock *
stack_find_listener(struct ha_stack *s, uint16_t obj)
{
    struct ha_sock *k;

    for (k = s->listeners; k; k = k->lnext) {
        if (!k->dead && k->conn.local_obj == obj) {
            return k;
        }
    }
    return NULL;
}

static struct ha_sock *
stack_find_dgram(struct ha_stack *s, uint16_t obj)
{
    struct ha_sock *k;

    for (k = s->all_head; k; k = k->next) {
        if (!k->dead && k->kind == HA_SOCK_DGRAM && k->bound
            && k->conn.local_obj == obj) {
            return k;
        }
    }
    return NULL;
}

/* A SYN or RSYN that repeats one an opening or open passive connection
 * already answered (same peer flowID, objectID and nonce). */
static struct ha_sock *
stack_find_dup(struct ha_stack *s, const struct sfp_frame *f)
{
    struct ha_sock *k;

    for (k = s->all_head; k; k = k->next) {
        const struct ha_conn *c = &k->conn;

        if (!k->dead && !c->active && c->nonce == f->hdr.nonce
            && c->remote_flow == f->src_flow && c->remote_obj == f->src_obj
            && (c->state == HA_CONN_SYN_RCVD
                || c->state == HA_CONN_RSYN_RCVD
                || c->state == HA_CONN_ESTABLISHED)) {
            return k;
        }
    }
    return NULL;
}

static int
stack_syn(struct ha_stack *s, struct ha_sock *l, const struct sfp_frame *f,
          uint64_t now)
{
    struct ha_sock *k;
    uint16_t sockid;
    int error;

    if (stack_half_open(s, l) >= l->backlog) {
        s->stats.rx_backlog_full++;
        return 1;
    }
    error = stack_alloc_sockid(s, &sockid);
    if (error) {
        s->stats.rx_backlog_full++;
        return 1;
    }
    k = stack_new_sock(s, sockid, HA_SOCK_STREAM, now);
    if (!k) {
        s->stats.rx_backlog_full++;
        return 1;
    }
    k->conn.local_obj = l->conn.local_obj;
    k->bound = true;
    k->listener = l;
    k->iss = (uint32_t) s->ops->random(s->aux);
    error = ha_conn_accept(&k->conn, f, k->iss, now);
    if (error) {
        k->conn.local_closed = true;
        stack_conn_event(&k->conn, HA_CEV_DEAD, NULL, 0, s);
        return 1;
    }
    return 0;
}

/* Children of listener 'l' still in their opening handshake. */
static int
stack_half_open(const struct ha_stack *s, const struct ha_sock *l)
{
    const struct ha_sock *k;
    int n = 0;

    for (k = s->all_head; k; k = k->next) {
        if (k->listener == l && !k->dead
            && (k->conn.state == HA_CONN_SYN_RCVD
                || k->conn.state == HA_CONN_RSYN_RCVD)) {
            n++;
        }
    }
    return n;
}

/* No socket for 'f': answer a connection packet with RST. */
static int
stack_unknown(struct ha_stack *s, const struct sfp_frame *f)
{
    struct sfp_frame r;

    s->stats.rx_unknown++;
    if (f->hdr.flags == SFP_F_RST || f->hdr.flags == SFP_F_FAIL
        || !f->hdr.nonce || sfp_flowid_is_unresolved(f->src_flow)) {
        return 1;       /* E.g. a FAIL to a sockID left by a failover. */
    }
    memset(&r, 0, sizeof r);
    r.src_flow = sfp_flowid_is_unresolved(f->dst_flow)
                 ? s->prefix : f->dst_flow;
    r.dst_flow = f->src_flow;
    r.src_obj = f->dst_obj;
    r.dst_obj = f->src_obj;
    r.hdr.version = SFP_VERSION;
    r.hdr.flags = SFP_F_RST;
    r.hdr.hlen = SFP_HDR_WORDS;
    r.hdr.seq = f->hdr.ack;
    r.hdr.ack = f->hdr.seq + 1;
    r.hdr.nonce = f->hdr.nonce;
    s->stats.tx_rst++;
    s->stats.tx_frames++;
    s->ops->output(&r, s->aux);
    return 1;
}

static bool
stack_is_local(const struct ha_stack *s, uint32_t flow)
{
    return (flow & 0xffff0000u) == s->prefix;
}

/* conn ops new_flow: a failover RSYN leaves from a fresh sockID (a new
 * 5-tuple); packets to the old one no longer find the connection. */
static uint32_t
stack_conn_new_flow(struct ha_conn *c, void *aux)
{
    struct ha_stack *s = aux;
    struct ha_sock *k = sock_of(c);
    uint16_t old = sfp_flowid_sock(c->local_flow);
    uint16_t id;

    if (k->dead || k->kind != HA_SOCK_STREAM
        || stack_alloc_sockid(s, &id)) {
        return 0;
    }
    s->by_sock[id] = k;
    if (s->by_sock[old] == k) {
        s->by_sock[old] = NULL;
    }
    return s->prefix | id;
}

/* conn ops alloc/free: memory for the datagrams a connection holds or may
 * replay (conn.h); the connection gives it back before it is freed. */
static void *
stack_conn_alloc(size_t size, void *aux)
{
    (void) aux;
    return malloc(size);
}

static void
stack_conn_free(void *p, void *aux)
{
    (void) aux;
    free(p);
}

/* Remembers the connection 'k' just shed with FAIL. */
static void
stack_shed_add(struct ha_stack *s, const struct ha_sock *k, uint64_t now)
{
    const struct ha_conn *c = &k->conn;
    struct ha_shed *e = NULL;
    size_t i;

    for (i = 0; i < HA_SHED_MAX; i++) {
        if (s->shed[i].nonce == c->nonce) {
            e = &s->shed[i];            /* Shed again: the newest counts. */
            break;
        }
    }
    if (!e) {
        e = &s->shed[s->shed_next];
        s->shed_next = (s->shed_next + 1) % HA_SHED_MAX;
    }
    e->nonce = c->nonce;
    e->until = now + HA_SHED_US;
    e->flow = c->local_flow;
    e->obj = c->local_obj;
    e->ack_lo = k->iss + 1;
    e->ack_hi = c->snd_nxt;
}

/* The shed connection RSYN 'f' would resume here, or NULL: same nonce and
 * objectID, and an ack in the sequence space we sent in (the RSYN right
 * after our FAIL, not one after the connection lived on elsewhere). */
static const struct ha_shed *
stack_shed_find(const struct ha_stack *s, const struct sfp_frame *f,
                uint64_t now)
{
    size_t i;

    if (sfp_flowid_is_unresolved(f->src_flow)) {
        return NULL;
    }
    for (i = 0; i < HA_SHED_MAX; i++) {
        const struct ha_shed *e = &s->shed[i];

        if (e->nonce == f->hdr.nonce && e->nonce && now < e->until
            && e->obj == f->dst_obj
            && f->hdr.ack - e->ack_lo <= e->ack_hi - e->ack_lo) {
            return e;
        }
    }
    return NULL;
}

/* Answers RSYN 'f' of shed connection 'e' with FAIL, from the flowID the
 * connection had here (the client's remote flowID). */
static void
stack_shed_refuse(struct ha_stack *s, const struct ha_shed *e,
                  const struct sfp_frame *f)
{
    struct sfp_frame r;

    memset(&r, 0, sizeof r);
    r.src_flow = e->flow;
    r.dst_flow = f->src_flow;
    r.src_obj = e->obj;
    r.dst_obj = f->src_obj;
    r.hdr.version = SFP_VERSION;
    r.hdr.flags = SFP_F_FAIL;
    r.hdr.hlen = SFP_HDR_WORDS;
    r.hdr.seq = e->ack_hi;
    r.hdr.ack = f->hdr.seq + 1;
    r.hdr.nonce = f->hdr.nonce;
    s->stats.rx_shed_rsyn++;
    s->stats.tx_frames++;
    s->ops->output(&r, s->aux);
}
