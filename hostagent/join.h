/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha_join: the host's side of the in-band control protocol
 * (proto/control.proto, docs/protocol.md section 5.5): join, keepalive,
 * leave.  A pure module like conn.c: no I/O and no clock; inputs are
 * control datagrams, timer ticks and link events, outputs go through
 * struct ha_join_ops.
 *
 * States:
 *   IDLE     nothing to do (link down, or not started);
 *   JOINING  a JoinRequest is outstanding, retried with the same id and an
 *            exponential backoff (HA_JOIN_RETRY_MIN_US .. _MAX_US, with
 *            jitter) until a JoinReply comes;
 *   JOINED   the host has a prefix ss.host.0; a Keepalive goes out every
 *            keepalive_seconds (retried like a join); NOT_JOINED, a changed
 *            controller epoch, or a lease that runs out without an answer
 *            start a new join.
 *
 * A new join after the link came back carries the previous address
 * (JoinRequest.previous); when the reply assigns another prefix (a move),
 * ops->joined() is told so and the agent resyncs its connections (RSYN
 * from the new flowIDs: ha_stack_set_prefix).
 *
 * Bindings: every listener of the host is an object instance the
 * controller must know (BindRequest with BIND_FLAG_LISTEN | _REPLACE, so
 * that a re-bind is idempotent; UnbindRequest when the listener goes).  A
 * table of bindings holds what the agent wants (bound or not) and whether
 * a request must still go out ('dirty'); requests go out only while
 * JOINED, at most HA_JOIN_BIND_WINDOW at a time, each with its own id and
 * retried with the same id and the join's backoff until a Reply or Error
 * carrying that id comes.  A listener opened and closed again while its
 * BindRequest is outstanding gets its UnbindRequest after the reply.
 * Every JoinReply (first join, re-join after NOT_JOINED or a lost lease,
 * a move, a new controller epoch) marks every binding dirty again: the
 * controller may have lost or moved them.  Error replies: NOT_JOINED
 * starts a join; UNAVAILABLE and INTERNAL are retried; UNSUPPORTED (a
 * controller without bind), CONFLICT, BAD_REQUEST are final for that
 * request and reported through ops->bound(); the agent keeps serving.
 *
 * Frames (docs/protocol.md 5.5): unbound datagrams (DATA, nonce 0) from
 * ss.host.0 (0.0.0 before the first join), objectID 1, to ss.0.0 (0.0.0
 * before the first join), objectID 1; Ethernet destination the gateway
 * MAC once known, broadcast before.
 */
#ifndef HA_JOIN_H
#define HA_JOIN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sfp.h"

#define HA_JOIN_RETRY_MIN_US    200000u
#define HA_JOIN_RETRY_MAX_US    5000000u
#define HA_JOIN_MAX_MSG         512
#define HA_JOIN_MAX_BINDS       256     /* Listeners per host. */
#define HA_JOIN_BIND_WINDOW     16      /* Bind requests outstanding. */

enum ha_join_state {
    HA_JOIN_IDLE,
    HA_JOIN_JOINING,
    HA_JOIN_JOINED,
};

struct ha_join_ops {
    /* Sends control datagram 'f' to Ethernet destination 'eth_dst'. */
    void (*output)(const struct sfp_frame *f, const uint8_t eth_dst[6],
                   void *aux);
    /* The host's address is (now) 'prefix' (ss.host.0) behind gateway
     * 'gw_mac'; 'moved' when it replaces a different previous address. */
    void (*joined)(uint32_t prefix, const uint8_t gw_mac[6], bool moved,
                   void *aux);
    uint64_t (*random)(void *aux);
    /* Optional (NULL: not told).  The controller answered the BindRequest
     * ('bind') or UnbindRequest for instance 'obj'/'sock': 0 (done),
     * -EOPNOTSUPP (controller without bind: UNSUPPORTED), -EADDRINUSE
     * (CONFLICT), -EINVAL (BAD_REQUEST). */
    void (*bound)(uint16_t obj, uint16_t sock, bool bind, int error,
                  void *aux);
};

/* One listener the controller should (or should no longer) know. */
struct ha_join_binding {
    bool used;                  /* Slot in use. */
    bool want;                  /* Listener open: should be bound. */
    bool dirty;                 /* A request must (still) go out. */
    bool bound;                 /* Last answer said bound. */
    bool req_bind;              /* Outstanding request: bind, or unbind. */
    uint16_t obj;               /* ObjectID served. */
    uint16_t sock;              /* SockID of the listener. */
    uint64_t req_id;            /* Outstanding request id, 0 = none. */
    uint32_t backoff_us;        /* Its current retry interval. */
    uint64_t deadline_us;       /* Its next retry, UINT64_MAX = none. */
    int error;                  /* Last final refusal (-errno), or 0. */
};

struct ha_join_stats {
    uint64_t tx_requests;       /* Requests sent, retries included. */
    uint64_t rx_replies;        /* Replies that matched a request. */
    uint64_t rx_errors;         /* Error envelopes received. */
    uint64_t rx_bad;            /* Undecodable or unexpected envelopes. */
    uint64_t joins;             /* Successful joins. */
    uint64_t moves;             /* Joins that changed the prefix. */
    uint64_t tx_binds;          /* BindRequests sent, retries included. */
    uint64_t tx_unbinds;        /* UnbindRequests sent, retries included. */
    uint64_t bind_ok;           /* Bind/unbind requests answered OK. */
    uint64_t bind_failed;       /* ...answered with a final Error. */
    uint64_t bind_unsupported;  /* ...answered UNSUPPORTED. */
};

struct ha_join {
    enum ha_join_state state;
    const struct ha_join_ops *ops;
    void *aux;
    uint8_t mac[6];             /* Our interface MAC (JoinRequest.mac). */
    char name[64];              /* Host name for the controller's logs. */

    uint32_t prefix;            /* ss.host.0, 0 before the first join. */
    uint32_t previous;          /* Held until the link went down, or 0. */
    uint8_t gw_mac[6];          /* From the last JoinReply. */
    bool have_gw;
    uint64_t epoch;             /* Controller epoch of the last join. */
    uint32_t keepalive_us;      /* Interval from the JoinReply. */
    uint64_t lease_end_us;      /* Lease runs out then (JOINED). */

    uint64_t next_id;           /* Next request id. */
    uint64_t pending_id;        /* Outstanding request, 0 = none. */
    uint8_t pending[HA_JOIN_MAX_MSG];   /* Its packed Envelope. */
    size_t pending_len;
    uint32_t backoff_us;        /* Current retry interval. */
    uint64_t deadline_us;       /* Retry or keepalive time, UINT64_MAX. */

    struct ha_join_binding binds[HA_JOIN_MAX_BINDS];
    int n_binds;                /* Slots in use. */
    uint64_t bind_deadline_us;  /* Earliest binding retry, UINT64_MAX. */

    struct ha_join_stats stats;
};

/* Initialises 'j' (IDLE) for interface MAC 'mac' and host 'name'. */
void ha_join_init(struct ha_join *j, const struct ha_join_ops *, void *aux,
                  const uint8_t mac[6], const char *name, uint64_t now_us);

/* The link is up: join (again).  Sends the JoinRequest at once. */
void ha_join_start(struct ha_join *j, uint64_t now_us);

/* The link went down: stop, remembering the address as 'previous'. */
void ha_join_link_down(struct ha_join *j);

/* Sends a LeaveRequest (best effort, not retried) and goes IDLE. */
void ha_join_leave(struct ha_join *j, bool link_down);

/* A control datagram arrived (objectID 1 to objectID 1): 'f->payload' is
 * an Envelope.  Returns 0 if it was used, -EBADMSG (undecodable or
 * unexpected) or -ESTALE (answers nothing outstanding); both counted. */
int ha_join_input(struct ha_join *j, const struct sfp_frame *f,
                  uint64_t now_us);

/* Runs retries and keepalives that are due. */
void ha_join_tick(struct ha_join *j, uint64_t now_us);

/* A listener on sockID 'sock' serves objectID 'obj': have the controller
 * bind it (now if JOINED, else after the join).  Returns 0, or -ENOSPC
 * when HA_JOIN_MAX_BINDS listeners are already known, -EINVAL for an
 * objectID or sockID the controller would refuse (0, 1; sockID 0). */
int ha_join_bind(struct ha_join *j, uint16_t obj, uint16_t sock,
                 uint64_t now_us);

/* The listener on 'sock' is gone: have the controller unbind it.  Returns
 * 0, or -ENOENT when 'sock' was never bound (nothing to do). */
int ha_join_unbind(struct ha_join *j, uint16_t obj, uint16_t sock,
                   uint64_t now_us);

/* What the controller said about listener 'sock' serving 'obj': 1 bound
 * (confirmed), 0 not yet (a request to make, outstanding, or waiting for
 * the join), a negative errno (its refusal, as ops->bound() reported it),
 * or -ENOENT when no such listener is known. */
int ha_join_bind_state(const struct ha_join *j, uint16_t obj, uint16_t sock);

/* Bindings the controller confirmed, and those with a request to make or
 * outstanding. */
int ha_join_n_bound(const struct ha_join *j);
int ha_join_n_pending(const struct ha_join *j);

static inline uint64_t
ha_join_deadline(const struct ha_join *j)
{
    return j->deadline_us < j->bind_deadline_us ? j->deadline_us
                                                 : j->bind_deadline_us;
}

const char *ha_join_state_name(enum ha_join_state);

#endif /* HA_JOIN_H */
