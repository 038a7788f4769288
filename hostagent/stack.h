/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha_stack: the sockets of one host, and the demultiplexing of received
 * frames to them.  Pure like conn.c (no I/O, no clock): the agent feeds it
 * decoded frames and timer ticks and gets frames to send and application
 * events back through struct ha_stack_ops.
 *
 * Every socket has a sockID (the low 16 bits of its flowID, 1..65535; sockID
 * 0 is the agent itself) and is one of:
 *   - a listener (state LISTEN) bound to an objectID;
 *   - a connection (struct ha_conn, conn.c), active or accepted;
 *   - a datagram socket (unbound datagrams: DATA with nonce 0).
 *
 * Received frame dispatch (ha_stack_input):
 *   - a destination outside this host's ss.host prefix is dropped (counted),
 *     except an unresolved one (hostID 0);
 *   - SYN or RSYN to an unresolved flowID, to sockID 0 or to a listener's
 *     sockID goes to the listener of the destination objectID (this host is
 *     its own object router in static mode); a repeated SYN/RSYN (same
 *     source flowID and nonce as a connection still opening or open) goes
 *     to that connection, which answers it again; an RSYN of a connection
 *     this host shed (HA_SHED_US) is answered with FAIL;
 *   - a datagram goes to the datagram socket of the destination sockID or,
 *     unresolved, of the objectID;
 *   - anything else goes to the connection of the destination sockID, which
 *     checks the nonce;
 *   - a connection packet for a sockID nobody holds is answered with RST
 *     (carrying the packet's nonce), never a RST, a FAIL or a datagram.
 *
 * Datagrams a connection holds or replays after a resync (conn.h) live in
 * memory the stack allocates for it (conn ops alloc/free) and frees with
 * it.
 *
 * Failover: before a client's RSYN after FAIL its connection gets a new
 * sockID (conn ops new_flow); the old one is released at once, and the
 * application hears of it (HA_CEV_LOCAL_MOVED, as after a move).  The
 * RSYN may be refused (FAIL from an instance that shed the connection,
 * RST from a stack with no listener for the objectID); the connection
 * then retries from yet another sockID (conn.h, HA_RSYN_MAX_REFUSALS).
 *
 * Object lifetimes: the stack allocates and frees every socket.  The
 * application side refers to one through 'conn->owner' and learns that it
 * is gone from HA_CEV_DEAD (forwarded through ops->event); memory is freed
 * after the outermost ha_stack_* call returns, so handlers may call back
 * into the stack.
 */
#ifndef HA_STACK_H
#define HA_STACK_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostagent/conn.h"

#define HA_SOCK_EPHEMERAL_MIN 1024     /* First automatically chosen sockID. */

/* Connections this host shed with SF_SEND_FAIL are remembered this long, at
 * most this many (the oldest goes first): an RSYN of such a connection that
 * comes back here (the object router's round robin handed it to us again)
 * is answered with FAIL instead of being accepted, and the client retries
 * from another sockID.  Only the RSYN that follows our own shed is refused:
 * its ack (the client's receive point) lies in the sequence space we sent
 * in; after the connection lived on elsewhere, a later failover may come
 * back here and is accepted. */
#define HA_SHED_MAX 1024
#define HA_SHED_US  60000000u

enum ha_sock_kind {
    HA_SOCK_STREAM,         /* Bound flows: listener or connection. */
    HA_SOCK_DGRAM,          /* Unbound datagrams. */
};

struct ha_stack_ops {
    /* Transmits 'f' (valid during the call only). */
    void (*output)(const struct sfp_frame *f, void *aux);
    /* Application event for 'conn' (conn->owner says whose).  For
     * HA_CEV_ACCEPTED, ha_stack_listener() names the listener.  For a
     * datagram socket's HA_CEV_DATA, conn->remote_flow/remote_obj hold the
     * source of that datagram. */
    void (*event)(struct ha_conn *conn, enum ha_conn_event,
                  const void *data, size_t len, void *aux);
    /* 64 unpredictable bits (nonces, initial sequence numbers). */
    uint64_t (*random)(void *aux);
};

/* Host-wide counters. */
struct ha_stack_stats {
    uint64_t rx_frames;         /* Frames given to ha_stack_input. */
    uint64_t rx_not_mine;       /* Destination outside our prefix. */
    uint64_t rx_unknown;        /* No socket for the destination. */
    uint64_t rx_no_listener;    /* SYN/RSYN for an objectID nobody serves. */
    uint64_t rx_backlog_full;   /* SYN dropped: listener backlog full. */
    uint64_t rx_dropped;        /* Dropped by a connection (bad nonce...). */
    uint64_t tx_rst;            /* RSTs sent for unknown flows. */
    uint64_t rx_shed_rsyn;      /* RSYNs of connections we shed, answered
                                 * with FAIL. */
    uint64_t tx_frames;         /* Frames handed to ops->output. */
};

struct ha_stack;

/* Creates a stack for host prefix 'prefix' (ss.host.0: sockID bits zero).
 * Returns NULL when out of memory. */
struct ha_stack *ha_stack_create(const struct ha_stack_ops *, void *aux,
                                 uint32_t prefix);

/* Frees every socket without sending anything.  NULL is fine. */
void ha_stack_destroy(struct ha_stack *);

/* Changes the host prefix (mobility): every open connection resyncs from
 * its new flowID. */
void ha_stack_set_prefix(struct ha_stack *, uint32_t prefix, uint64_t now);

/* The host's link went down ('up' false), or works again ('up' true: the
 * link is up and, with a controller, the host joined again; call it after
 * ha_stack_set_prefix).  Every connection hears of it (ha_conn_set_link):
 * datagrams sent while the link is down are held, and when it works
 * again pending control packets leave at once and established
 * connections whose flowID did not change resync with their peers.
 * Sockets opened while the link is down start so.  Repeating the current
 * state does nothing. */
void ha_stack_set_link(struct ha_stack *, bool up, uint64_t now);
uint32_t ha_stack_prefix(const struct ha_stack *);

/* Opens a socket of 'kind' on sockID 'sock' (0: the next free ephemeral
 * one) owned by 'owner'.  The socket is CLOSED, its objectID its sockID
 * until bound.  Returns 0 and '*connp', or -EADDRINUSE, -EADDRNOTAVAIL (no
 * free sockID), -ENOMEM. */
int ha_stack_socket(struct ha_stack *, enum ha_sock_kind kind, uint16_t sock,
                    void *owner, struct ha_conn **connp);

/* Binds a CLOSED socket to objectID 'obj'.  Returns 0, -EINVAL (bad
 * objectID or socket not CLOSED). */
int ha_stack_bind(struct ha_stack *, struct ha_conn *, uint16_t obj);

/* Makes a bound stream socket a listener for its objectID, accepting at
 * most 'backlog' half-open connections.  Returns 0, -EINVAL (not bound,
 * not a stream socket), -EADDRINUSE (another listener serves it). */
int ha_stack_listen(struct ha_stack *, struct ha_conn *, int backlog);

/* Active open of a stream socket to objectID 'obj' at 'dst' (0: this
 * host's domain, unresolved).  HA_CEV_CONNECTED or an error event
 * follows.  Returns 0 or a negative errno from ha_conn_connect. */
int ha_stack_connect(struct ha_stack *, struct ha_conn *, uint32_t dst,
                     uint16_t obj, uint64_t now);

/* Sends a datagram on a connection (ha_conn_send) or, for a datagram
 * socket, to 'dst'/'obj' (dst 0: unresolved in our domain). */
int ha_stack_send(struct ha_stack *, struct ha_conn *, uint32_t dst,
                  uint16_t obj, const void *data, size_t len, uint64_t now);

/* The application closed 'conn' (SF_SEND_FAIL: 'fail').  The owner is
 * cleared; no more events for it except HA_CEV_DEAD. */
void ha_stack_close(struct ha_stack *, struct ha_conn *, bool fail,
                    uint64_t now);

/* Aborts 'conn' (RST to an open peer) at once, e.g. when its application
 * died.  The owner is cleared; HA_CEV_DEAD follows. */
void ha_stack_abort(struct ha_stack *, struct ha_conn *, uint64_t now);

/* Feeds one decoded, verified frame.  Returns 0 if it was used, a positive
 * value if it was dropped (counted). */
int ha_stack_input(struct ha_stack *, const struct sfp_frame *, uint64_t now);

/* Runs due timers; ha_stack_next_deadline() says when to call again
 * (UINT64_MAX: no timer). */
void ha_stack_tick(struct ha_stack *, uint64_t now);
uint64_t ha_stack_next_deadline(const struct ha_stack *);

/* The listener a connection was accepted on, NULL if none (any more). */
struct ha_conn *ha_stack_listener(const struct ha_conn *);
enum ha_sock_kind ha_stack_kind(const struct ha_conn *);

/* Calls 'cb' for every socket, in sockID order. */
void ha_stack_foreach(const struct ha_stack *,
                      void (*cb)(const struct ha_conn *, void *aux),
                      void *aux);
size_t ha_stack_count(const struct ha_stack *);
const struct ha_stack_stats *ha_stack_stats(const struct ha_stack *);

#endif /* HA_STACK_H */
