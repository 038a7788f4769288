/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha_conn: the SCAFFOLD connection state machine of one socket.
 *
 * A pure module: no I/O, no clock, no allocation of its own (the memory
 * for held and replayed datagrams comes through ops->alloc).  Inputs are
 * a decoded frame (ha_conn_input), a timer tick (ha_conn_tick) or an
 * application request (ha_conn_connect, ha_conn_send, ha_conn_close,
 * ha_conn_move) or a link change (ha_conn_set_link); every input takes
 * the current time in microseconds.
 * Outputs go through the struct ha_conn_ops the connection was created with:
 * frames to transmit (output) and events for the application (event).
 *
 * The demultiplexing of frames to connections, listeners, RST for unknown
 * flows and duplicate SYN detection live one level up, in stack.c.
 *
 * Handshakes (seq/ack in the SCAFFOLD header; "N" is the 64-bit nonce the
 * active opener draws at random and that every packet of the connection
 * carries; a packet with another nonce is dropped and counted, so that an
 * off-path attacker cannot reset, fail, move or feed a connection):
 *
 *   open      A -> ss.0.0:obj  SYN      seq=a            (A: SYN_SENT)
 *             B -> A           SYN|ACK  seq=b ack=a+1    (B: SYN_RCVD)
 *             A -> B           ACK      seq=a+1 ack=b+1  (both ESTABLISHED)
 *   data      DATA seq=first payload byte (one datagram per packet; data
 *             is neither retransmitted nor reordered, except the held and
 *             replayed datagrams of a resync, below)
 *   close     A -> B FIN seq=s; B -> A FIN|ACK ack=s+1 (each side closes
 *             its own half; either may start, both may start at once)
 *   failover  B's app closes with SF_SEND_FAIL: B sends A a FAIL at once
 *             (seq=its next, ack=its receive point when its application
 *             last sent a datagram, or its receive point if it never
 *             did: what came after the last answer counts as unserved)
 *             and answers every later packet of the connection with FAIL
 *             (ack=seq+1).
 *             A -> ss.0.0:obj  RSYN seq=r from a NEW sockID of A (a new
 *             5-tuple for the object router's sticky round robin; A:
 *             RSYN_SENT), resolved to a new instance C: C -> A RSYN|ACK
 *             seq=c ack=r+1 (C: RSYN_RCVD), A -> C ACK (both ESTABLISHED,
 *             C's application accepts a "resumed" connection; A's receive
 *             point becomes c+1); A's held datagrams follow the ACK.
 *             If the RSYN reaches B again, B's stack answers FAIL
 *             (ack=r+1) and A retries from yet another sockID
 *             (at most HA_RSYN_MAX_REFUSALS times, then reset).  A RST
 *             acknowledging the RSYN (ack=r+1) from any instance but B (a
 *             stack with no listener: a dead or unbound instance) is a
 *             refusal too, and counts against the same bound.
 *   mobility  A's flowID changes to A': A' -> B RSYN seq=r to B's flowID;
 *             B updates its remote flowID, B -> A' RSYN|ACK ack=r+1;
 *             A' -> B ACK, then A's held datagrams (B re-sends its last
 *             datagram after the RSYN|ACK when the RSYN's ack, A's
 *             receive point, shows that A did not get it).  The same
 *             exchange from an unchanged flowID after a link outage
 *             (ha_conn_set_link).
 *   RST       a stack answers a packet for a flow it does not know with RST
 *             carrying the packet's nonce; a RST with the right nonce
 *             from the connection's remote closes it (ECONNRESET).
 *
 * Sources: the nonce is not a secret from every agent that heard an
 * unresolved SYN (static mode, a shared link), so once the remote flowID
 * is resolved every packet must also come from that flowID and the remote
 * objectID (else HA_DROP_BAD_SOURCE).  Only RSYN may come from a new
 * flowID (mobility); during SYN_SENT to ss.0.0 a SYN|ACK or RST from any
 * instance is taken and the first SYN|ACK fixes the remote; during a
 * failover RSYN_SENT likewise the RSYN|ACK or RST of any instance (but
 * not the failed one's RST); such a RST does not end the connection but
 * makes it retry from another sockID, as a FAIL refusal does.
 *
 * Held and replayed datagrams (the stack does not retransmit data, but a
 * resync should not cost the application a retransmission timeout):
 *   - a datagram the application sends while the connection cannot carry
 *     it (RSYN_SENT, or while the host's link is down: ha_conn_set_link)
 *     is held, not dropped: at most HA_TXQ_MAX of them, the oldest dropped
 *     first (counted in tx_dropped).  They are sent, in order and with
 *     fresh sequence numbers, right after the ACK that completes the
 *     resync (RSYN|ACK received).  A connection that dies or is closed
 *     before drops them (counted);
 *   - the connection keeps a copy of the last datagram it transmitted
 *     (sequence number and payload).  A FAIL whose ack is at most that
 *     datagram's seq + 1 (the shedder did not get or did not answer it,
 *     or the FAIL answers that very datagram) holds it again, ahead of
 *     anything held, for the new instance; an RSYN whose ack (the peer's
 *     receive point) lies before the end of that datagram is answered
 *     with RSYN|ACK and then that datagram again, with its original
 *     sequence number (the peer moved or its link was down and it never
 *     got it).  Counted in tx_replayed;
 *   - after a link outage (ha_conn_set_link down, then up once the host
 *     has joined again) an ESTABLISHED connection whose flowID did not
 *     change resyncs with its peer anyway (RSYN from the same flowID, as
 *     a move), so that both sides replay what the outage lost, unless
 *     the peer has closed (it would not answer); a pending
 *     control packet (SYN, FIN, RSYN...) is sent again at once with the
 *     backoff reset.  A move (ha_conn_move) means the link works: its RSYN
 *     leaves at once with the backoff reset.  Such an RSYN is retransmitted
 *     early (HA_RTO_EARLY_MIN_US).
 * The storage for held and replayed datagrams comes from ops->alloc (the
 * stack's), on first use; without it datagrams are dropped as before.
 *
 * SYN, SYN|ACK, RSYN, RSYN|ACK and FIN are retransmitted until answered,
 * with a retransmission timeout computed from RTT samples as in RFC 6298
 * (SRTT, RTTVAR, Karn's rule: no samples from retransmitted packets;
 * exponential backoff; clamped to [HA_RTO_MIN_US, HA_RTO_MAX_US]).  After
 * 'max_retries' retransmissions the connection times out.
 *
 * Lifetime: created by the stack (ha_conn_init on caller memory), freed by
 * the stack after the HA_CEV_DEAD event.
 */
#ifndef HA_CONN_H
#define HA_CONN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sfp.h"

/* Retransmission timer bounds and defaults, microseconds. */
#define HA_RTO_INIT_US      200000u     /* Before the first RTT sample. */
#define HA_RTO_MIN_US       10000u
#define HA_RTO_MAX_US       2000000u
#define HA_RTO_GRAN_US      1000u       /* Clock granularity G. */
#define HA_MAX_RETRIES      8           /* Then HA_CEV_TIMEDOUT. */
#define HA_RSYN_MAX_RETRIES 20          /* Resync waits out link outages. */
/* A closed connection lingers this long to answer retransmitted FINs; a
 * failed one (SF_SEND_FAIL) to answer the peer with FAIL. */
#define HA_LINGER_US        2000000u
#define HA_FAIL_LINGER_US   10000000u
/* A failover RSYN answered with FAIL (it reached an instance that shed the
 * connection) or with RST (it reached a stack with no listener for the
 * objectID: a dead or unbound instance) is sent again from a fresh sockID
 * at most this many times; then the connection is reset. */
#define HA_RSYN_MAX_REFUSALS 8
/* Datagrams held while a connection cannot carry them (see above). */
#define HA_TXQ_MAX          4
/* The RSYN after a move or a link outage goes out as soon as the host has
 * an address, possibly before the controller's rules for it are in place
 * on the switches: its retransmission timeout starts from the RTT estimate
 * (SRTT + max(G, 4 RTTVAR)) without the HA_RTO_MIN_US floor, but at least
 * this long, and doubles from there (the answer restores the ordinary
 * timeout). */
#define HA_RTO_EARLY_MIN_US 2000u

enum ha_conn_state {
    HA_CONN_CLOSED,         /* Not yet opened, or gone. */
    HA_CONN_LISTEN,         /* A listening socket (stack.c). */
    HA_CONN_SYN_SENT,       /* Active open: SYN sent. */
    HA_CONN_SYN_RCVD,       /* Passive open: SYN|ACK sent. */
    HA_CONN_ESTABLISHED,    /* Data flows. */
    HA_CONN_RSYN_SENT,      /* Resync started here (failover or move). */
    HA_CONN_RSYN_RCVD,      /* New instance after failover: RSYN|ACK sent. */
    HA_CONN_FIN_WAIT,       /* Our FIN sent, not yet acknowledged. */
    HA_CONN_TIME_WAIT,      /* Both halves closed; answers stray FINs. */
    HA_CONN_FAILED,         /* Closed with SF_SEND_FAIL: answers FAIL. */
    HA_CONN_N_STATES
};

/* Events for the application side. */
enum ha_conn_event {
    HA_CEV_CONNECTED,       /* Active open completed. */
    HA_CEV_ACCEPTED,        /* Passive open completed (resumed if
                             * conn->resumed). */
    HA_CEV_DATA,            /* A datagram: 'data', 'len'. */
    HA_CEV_PEER_MOVED,      /* remote_flow changed (peer moved or the
                             * connection failed over). */
    HA_CEV_LOCAL_MOVED,     /* local_flow changed: our host moved
                             * (ha_conn_move) or a failover RSYN took a
                             * fresh sockID (ops->new_flow). */
    HA_CEV_PEER_CLOSED,     /* The peer closed its half (FIN). */
    HA_CEV_RESET,           /* RST or FAIL without a way to resync. */
    HA_CEV_TIMEDOUT,        /* Retransmissions exhausted. */
    HA_CEV_DEAD,            /* The connection may be freed now. */
};

/* Reasons a received frame was dropped, for counters. */
enum ha_conn_drop {
    HA_DROP_BAD_NONCE,      /* Nonce differs from the connection's. */
    HA_DROP_BAD_ACK,        /* Acknowledges something never sent. */
    HA_DROP_STATE,          /* Not acceptable in the current state. */
    HA_DROP_BAD_SOURCE,     /* Right nonce, but not from the connection's
                             * remote flowID and objectID. */
    HA_DROP_N
};

struct ha_conn;

struct ha_conn_ops {
    /* Transmits 'f' (the Ethernet addresses are the caller's to fill in; a
     * destination with hostID 0 must be resolved by the object router or
     * its stand-in).  'f' and its payload are valid during the call only. */
    void (*output)(struct ha_conn *, const struct sfp_frame *f, void *aux);
    /* Reports 'ev'; 'data'/'len' only for HA_CEV_DATA. */
    void (*event)(struct ha_conn *, enum ha_conn_event ev, const void *data,
                  size_t len, void *aux);
    /* Optional (NULL: keep the flowID).  Gives the connection a fresh
     * local flowID (a new sockID) before a failover RSYN, so that the RSYN
     * is a new 5-tuple for the object router's sticky select groups; the
     * old sockID is released.  Returns the new flowID, or 0 to keep the
     * current one (none free). */
    uint32_t (*new_flow)(struct ha_conn *, void *aux);
    /* Optional (NULL: datagrams are neither held nor replayed).  Memory
     * for held and replayed datagrams: 'alloc' returns 'size' bytes (or
     * NULL), 'free' gives back what 'alloc' returned.  The connection
     * frees everything it holds when it dies (HA_CEV_DEAD) or in
     * ha_conn_release(). */
    void *(*alloc)(size_t size, void *aux);
    void (*free)(void *p, void *aux);
};

/* A datagram kept by a connection (conn.c). */
struct ha_conn_dgram;

/* Counters, visible to --status. */
struct ha_conn_stats {
    uint64_t tx_packets, tx_bytes;      /* Data sent. */
    uint64_t rx_packets, rx_bytes;      /* Data received. */
    uint64_t tx_dropped;                /* Data the app sent that never
                                         * left: no storage, held queue
                                         * full (oldest), or the
                                         * connection ended first. */
    uint64_t tx_held;                   /* Data held during a resync or a
                                         * link outage. */
    uint64_t tx_replayed;               /* Datagrams sent again after a
                                         * resync (lost by the peer). */
    uint64_t rx_gaps;                   /* Data bytes skipped (loss). */
    uint64_t retransmits;               /* Control retransmissions. */
    uint64_t drops[HA_DROP_N];          /* Frames dropped, by reason. */
    uint64_t resyncs;                   /* Completed RSYN handshakes. */
};

/* One connection.  The members are read by stack.c and the agent (status,
 * demultiplexing); only conn.c and stack.c write them. */
struct ha_conn {
    enum ha_conn_state state;
    const struct ha_conn_ops *ops;
    void *aux;                  /* Passed to ops. */
    void *owner;                /* The application side (IPC), or NULL. */

    uint32_t local_flow;        /* Our flowID (ss.host.sock). */
    uint16_t local_obj;         /* Our objectID. */
    uint32_t remote_flow;       /* Peer's flowID; hostID 0 = unresolved. */
    uint16_t remote_obj;        /* Peer's objectID. */
    uint64_t nonce;             /* Connection nonce, never 0. */
    bool active;                /* We opened it (we may re-resolve). */
    bool resumed;               /* Passive side of a failover resync. */
    bool local_closed;          /* Our app closed (FIN sent or queued). */
    bool peer_closed;           /* Peer's FIN received. */

    uint32_t snd_nxt;           /* Next sequence number to send (bytes;
                                 * SYN, FIN and RSYN count one). */
    uint32_t rcv_nxt;           /* Next sequence number expected. */
    uint32_t rcv_served;        /* rcv_nxt when the application last sent
                                 * a datagram (ack of a shed's FAIL). */
    uint32_t ctl_seq;           /* Seq of the pending control packet. */
    uint32_t ctl_ack;           /* Its ack field. */
    uint8_t ctl_flags;          /* Pending control packet flags, or 0. */
    uint32_t ctl_dst;           /* Its destination flowID. */
    uint64_t ctl_first_us;      /* First transmission (RTT sample). */
    bool ctl_rexmitted;         /* Karn: retransmitted, no sample. */
    int retries;                /* Retransmissions of the pending packet. */
    int max_retries;
    uint64_t deadline_us;       /* Timer deadline, or UINT64_MAX. */

    uint32_t srtt_us;           /* Smoothed RTT, 0 = no sample yet. */
    uint32_t rttvar_us;         /* RTT variation. */
    uint32_t rto_us;            /* Current timeout (with backoff). */

    int rsyn_refusals;          /* Failover RSYNs answered with FAIL or
                                 * RST (refused). */
    bool link_down;             /* The host's link is down or not yet
                                 * joined again (ha_conn_set_link). */
    struct ha_conn_dgram *tx_last;      /* Last datagram sent, or NULL. */
    struct ha_conn_dgram *tx_held[HA_TXQ_MAX];  /* Held, oldest first. */
    int n_held;

    struct ha_conn_stats stats;
    uint64_t created_us;
};

/* Initialises 'c' (caller memory) as a CLOSED connection on 'local_flow'
 * and 'local_obj'. */
void ha_conn_init(struct ha_conn *c, const struct ha_conn_ops *ops,
                  void *aux, uint32_t local_flow, uint16_t local_obj,
                  uint64_t now_us);

/* Active open: sends SYN with 'nonce' (non-zero) and initial sequence
 * number 'iss' to 'remote_flow' (normally unresolved, ss.0.0) and
 * 'remote_obj'.  Returns 0 or -EINVAL / -EISCONN. */
int ha_conn_connect(struct ha_conn *c, uint32_t remote_flow,
                    uint16_t remote_obj, uint64_t nonce, uint32_t iss,
                    uint64_t now_us);

/* Passive open: 'syn' is a SYN (or RSYN, for a failover resume) that a
 * listener received; 'c' was initialised with the listener's objectID and a
 * fresh flowID.  Answers with SYN|ACK (or RSYN|ACK).  Returns 0 or
 * -EINVAL. */
int ha_conn_accept(struct ha_conn *c, const struct sfp_frame *syn,
                   uint32_t iss, uint64_t now_us);

/* Feeds a received frame addressed to this connection (the stack already
 * matched the destination flowID).  Returns 0 when the frame was accepted,
 * or a positive enum ha_conn_drop + 1 when it was dropped (and counted). */
int ha_conn_input(struct ha_conn *c, const struct sfp_frame *f,
                  uint64_t now_us);

/* Sends one datagram, or holds it while the connection resyncs or the
 * link is down (see above).  Returns 0, -ENOTCONN (not established),
 * -EPIPE (closed), -EAGAIN (resync in progress and no storage to hold it:
 * the datagram is dropped and counted), -EMSGSIZE. */
int ha_conn_send(struct ha_conn *c, const void *data, size_t len,
                 uint64_t now_us);

/* The application closes the connection: FIN (flags 0) or, with 'fail',
 * FAIL to the peer so that it resyncs to another instance.  The
 * connection lingers and ends with HA_CEV_DEAD. */
void ha_conn_close(struct ha_conn *c, bool fail, uint64_t now_us);

/* Aborts: sends RST if the connection was open, then HA_CEV_DEAD. */
void ha_conn_abort(struct ha_conn *c, uint64_t now_us);

/* Our flowID changed (mobility): RSYN from 'new_flow' to the peer. */
void ha_conn_move(struct ha_conn *c, uint32_t new_flow, uint64_t now_us);

/* The host's link went down ('up' false) or works again ('up' true: link
 * up and, with a controller, joined again).  While it is down datagrams
 * are held; when it comes back a pending control packet is sent again at
 * once with the backoff reset, and an ESTABLISHED connection whose peer
 * has not closed resyncs with it (RSYN from the same flowID).  Held
 * datagrams follow the resync. */
void ha_conn_set_link(struct ha_conn *c, bool up, uint64_t now_us);

/* Frees the datagrams 'c' keeps (without sending anything), for a caller
 * that frees a connection which never reported HA_CEV_DEAD. */
void ha_conn_release(struct ha_conn *c);

/* Runs the timer if its deadline passed. */
void ha_conn_tick(struct ha_conn *c, uint64_t now_us);

/* Timer deadline in microseconds, UINT64_MAX when none. */
static inline uint64_t
ha_conn_deadline(const struct ha_conn *c)
{
    return c->deadline_us;
}

/* "ESTABLISHED" etc. */
const char *ha_conn_state_name(enum ha_conn_state);
const char *ha_conn_event_name(enum ha_conn_event);

#endif /* HA_CONN_H */
