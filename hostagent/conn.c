/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection state machine of one SCAFFOLD socket; see conn.h for the
 * packet exchanges.  This file knows nothing about sockets, IPC or frames on
 * a wire: it turns inputs into calls of ops->output and ops->event.
 *
 * Held and replayed datagrams (conn.h): 'tx_last' is a copy of the last
 * datagram transmitted, 'tx_held' the datagrams the application sent while
 * the connection could not carry them, oldest first.  Their memory comes
 * from ops->alloc and goes back through ops->free when they are sent, when
 * the connection dies (conn_dead) or in ha_conn_release().  Copying each
 * datagram into 'tx_last' is the price of replaying it after a resync;
 * its buffer is reused while datagrams fit.
 *
 * Timers: a connection has one deadline.  While a control packet is pending
 * (c->ctl_flags != 0) the deadline is its retransmission time; in TIME_WAIT
 * and FAILED it is the end of the linger period.  HA_CEV_DEAD is always the
 * last thing a function does: the stack may free the connection in it.
 */
#include "hostagent/conn.h"

#include <errno.h>
#include <string.h>

/* A datagram a connection keeps: the last one sent, or one held. */
struct ha_conn_dgram {
    uint32_t seq;               /* Sequence number it was sent with. */
    uint32_t len;               /* Payload bytes in 'data'. */
    uint32_t cap;               /* Room in 'data'. */
    uint8_t data[];
};

/* Smallest buffer for 'tx_last' (small datagrams share one size). */
#define CONN_LAST_MIN 64

static void conn_xmit(struct ha_conn *, uint8_t flags, uint32_t seq,
                      uint32_t ack, uint32_t dst, const void *payload,
                      size_t len);
static void conn_arm(struct ha_conn *, uint8_t flags, uint32_t seq,
                     uint32_t ack, uint32_t dst, uint64_t now_us);
static void conn_acked(struct ha_conn *, uint64_t now_us);
static void conn_emit(struct ha_conn *, enum ha_conn_event, const void *,
                      size_t);
static void conn_dead(struct ha_conn *);
static void conn_linger(struct ha_conn *, enum ha_conn_state, uint64_t us,
                        uint64_t now_us);
static void conn_established(struct ha_conn *, uint64_t now_us);
static int conn_drop(struct ha_conn *, enum ha_conn_drop);
static void conn_data_in(struct ha_conn *, const struct sfp_frame *);
static void conn_start_resync(struct ha_conn *, uint32_t dst,
                              uint64_t now_us);
static void conn_failover(struct ha_conn *, uint64_t now_us);
static void conn_rsyn_refused(struct ha_conn *, uint64_t now_us);
static bool conn_source_ok(const struct ha_conn *, const struct sfp_frame *);
static bool seq_lt(uint32_t a, uint32_t b);
static void conn_rto_reset(struct ha_conn *);
static void conn_retry_early(struct ha_conn *, uint64_t now_us);
static void conn_send_data(struct ha_conn *, const void *, size_t);
static void conn_remember(struct ha_conn *, uint32_t seq, const void *,
                          size_t);
static int conn_hold(struct ha_conn *, const void *, size_t, bool replay);
static void conn_flush(struct ha_conn *);
static void conn_replay_last(struct ha_conn *, uint32_t peer_ack);
static struct ha_conn_dgram *dgram_new(struct ha_conn *, size_t cap);
static void dgram_free(struct ha_conn *, struct ha_conn_dgram *);

void
ha_conn_init(struct ha_conn *c, const struct ha_conn_ops *ops, void *aux,
             uint32_t local_flow, uint16_t local_obj, uint64_t now_us)
{
    memset(c, 0, sizeof *c);
    c->state = HA_CONN_CLOSED;
    c->ops = ops;
    c->aux = aux;
    c->local_flow = local_flow;
    c->local_obj = local_obj;
    c->rto_us = HA_RTO_INIT_US;
    c->max_retries = HA_MAX_RETRIES;
    c->deadline_us = UINT64_MAX;
    c->created_us = now_us;
}

int
ha_conn_connect(struct ha_conn *c, uint32_t remote_flow, uint16_t remote_obj,
                uint64_t nonce, uint32_t iss, uint64_t now_us)
{
    if (!nonce || !sfp_objectid_is_valid(remote_obj)) {
        return -EINVAL;
    }
    if (c->state != HA_CONN_CLOSED) {
        return -EISCONN;
    }
    c->remote_flow = remote_flow;
    c->remote_obj = remote_obj;
    c->nonce = nonce;
    c->active = true;
    c->state = HA_CONN_SYN_SENT;
    c->snd_nxt = iss + 1;
    conn_arm(c, SFP_F_SYN, iss, 0, remote_flow, now_us);
    return 0;
}

int
ha_conn_accept(struct ha_conn *c, const struct sfp_frame *syn, uint32_t iss,
               uint64_t now_us)
{
    uint8_t flags = syn->hdr.flags;

    if ((flags != SFP_F_SYN && flags != SFP_F_RSYN) || !syn->hdr.nonce
        || c->state != HA_CONN_CLOSED) {
        return -EINVAL;
    }
    c->remote_flow = syn->src_flow;
    c->remote_obj = syn->src_obj;
    c->nonce = syn->hdr.nonce;
    c->rcv_nxt = syn->hdr.seq + 1;
    c->snd_nxt = iss + 1;
    if (flags == SFP_F_SYN) {
        c->state = HA_CONN_SYN_RCVD;
        conn_arm(c, SFP_F_SYN | SFP_F_ACK, iss, c->rcv_nxt, c->remote_flow,
                 now_us);
    } else {
        c->resumed = true;
        c->state = HA_CONN_RSYN_RCVD;
        conn_arm(c, SFP_F_RSYN | SFP_F_ACK, iss, c->rcv_nxt, c->remote_flow,
                 now_us);
    }
    return 0;
}

int
ha_conn_input(struct ha_conn *c, const struct sfp_frame *f, uint64_t now_us)
{
    const struct sfp_hdr *h = &f->hdr;

    if (h->nonce != c->nonce || !c->nonce) {
        return conn_drop(c, HA_DROP_BAD_NONCE);
    }
    if (f->dst_obj != c->local_obj) {
        return conn_drop(c, HA_DROP_STATE);
    }
    if (!conn_source_ok(c, f)) {
        return conn_drop(c, HA_DROP_BAD_SOURCE);
    }
    if (c->state == HA_CONN_FAILED) {
        /* Everything but RST/FAIL is answered with FAIL. */
        if (h->flags == SFP_F_RST) {
            conn_dead(c);
        } else if (h->flags != SFP_F_FAIL) {
            conn_xmit(c, SFP_F_FAIL, c->snd_nxt, h->seq + 1, f->src_flow,
                      NULL, 0);
        }
        return 0;
    }

    switch (h->flags) {
    case SFP_F_RST:
        if (c->state == HA_CONN_CLOSED) {
            return conn_drop(c, HA_DROP_STATE);
        }
        if (c->state == HA_CONN_RSYN_SENT
            && sfp_flowid_is_unresolved(c->ctl_dst)) {
            if (f->src_flow == c->remote_flow) {
                /* The failed instance forgot us: we are leaving it
                 * anyway. */
                return conn_drop(c, HA_DROP_STATE);
            }
            if (!c->active || c->ctl_flags != SFP_F_RSYN
                || h->ack != c->ctl_seq + 1) {
                return conn_drop(c, HA_DROP_BAD_ACK);
            }
            /* Our failover RSYN reached a stack with no listener for the
             * objectID (a dead or unbound instance still in the object
             * router's group): a refusal, like the shedder's FAIL. */
            conn_rsyn_refused(c, now_us);
            return 0;
        }
        if (!c->local_closed && c->state != HA_CONN_SYN_RCVD
            && c->state != HA_CONN_RSYN_RCVD) {
            conn_emit(c, HA_CEV_RESET, NULL, 0);
        }
        conn_dead(c);
        return 0;

    case SFP_F_FAIL:
        if (c->state == HA_CONN_ESTABLISHED && c->active
            && !c->local_closed) {
            /* The failed instance's FAIL acknowledges up to its receive
             * point, or answers a datagram with ack = its seq + 1: our
             * last datagram may never have been served.  The new
             * instance gets it after the resync. */
            if (c->tx_last && !seq_lt(c->tx_last->seq + 1, h->ack)) {
                if (!conn_hold(c, c->tx_last->data, c->tx_last->len,
                               true)) {
                    c->stats.tx_replayed++;
                }
            }
            conn_failover(c, now_us);
            return 0;
        }
        if (c->state == HA_CONN_RSYN_SENT) {
            if (c->active && c->ctl_flags == SFP_F_RSYN
                && h->ack == c->ctl_seq + 1) {
                /* FAIL answers our RSYN itself: it reached an instance
                 * that shed us (sticky round robin, or we moved while it
                 * shed us).  Again, from another sockID. */
                conn_rsyn_refused(c, now_us);
            }
            return 0;           /* Else a duplicate FAIL: resync under way. */
        }
        if (c->state == HA_CONN_CLOSED) {
            return conn_drop(c, HA_DROP_STATE);
        }
        if (!c->local_closed) {
            conn_emit(c, HA_CEV_RESET, NULL, 0);
        }
        conn_dead(c);
        return 0;

    case SFP_F_SYN:
        /* A duplicate SYN: our SYN|ACK was lost or is still in flight. */
        if (!c->active && h->seq + 1 == c->rcv_nxt
            && f->src_flow == c->remote_flow) {
            if (c->state == HA_CONN_SYN_RCVD) {
                c->ctl_rexmitted = true;        /* Karn: ambiguous now. */
                conn_xmit(c, c->ctl_flags, c->ctl_seq, c->ctl_ack,
                          c->ctl_dst, NULL, 0);
                return 0;
            }
            if (c->state == HA_CONN_ESTABLISHED) {
                conn_xmit(c, SFP_F_SYN | SFP_F_ACK, c->snd_nxt - 1,
                          c->rcv_nxt, c->remote_flow, NULL, 0);
                return 0;
            }
        }
        return conn_drop(c, HA_DROP_STATE);

    case SFP_F_SYN | SFP_F_ACK:
        if (c->state == HA_CONN_SYN_SENT) {
            if (h->ack != c->ctl_seq + 1) {
                return conn_drop(c, HA_DROP_BAD_ACK);
            }
            conn_acked(c, now_us);
            c->remote_flow = f->src_flow;
            c->rcv_nxt = h->seq + 1;
            conn_xmit(c, SFP_F_ACK, c->snd_nxt, c->rcv_nxt, c->remote_flow,
                      NULL, 0);
            c->state = HA_CONN_ESTABLISHED;
            conn_emit(c, HA_CEV_CONNECTED, NULL, 0);
            return 0;
        }
        if (c->active && c->state == HA_CONN_ESTABLISHED
            && f->src_flow == c->remote_flow && h->seq + 1 == c->rcv_nxt) {
            /* Our ACK was lost: repeat it. */
            conn_xmit(c, SFP_F_ACK, c->snd_nxt, c->rcv_nxt, c->remote_flow,
                      NULL, 0);
            return 0;
        }
        return conn_drop(c, HA_DROP_STATE);

    case SFP_F_ACK:
        if (c->state == HA_CONN_SYN_RCVD || c->state == HA_CONN_RSYN_RCVD) {
            if (h->ack != c->ctl_seq + 1) {
                return conn_drop(c, HA_DROP_BAD_ACK);
            }
            conn_acked(c, now_us);
            conn_established(c, now_us);
            return 0;
        }
        if (c->state == HA_CONN_CLOSED || c->state == HA_CONN_SYN_SENT) {
            return conn_drop(c, HA_DROP_STATE);
        }
        return 0;               /* Duplicate ACK: harmless. */

    case SFP_F_DATA:
    case SFP_F_DATA | SFP_F_ACK:
        switch (c->state) {
        case HA_CONN_SYN_RCVD:
        case HA_CONN_RSYN_RCVD:
            /* The ACK was lost but data proves the peer is there. */
            conn_acked(c, now_us);
            c->ctl_rexmitted = true;
            conn_established(c, now_us);
            conn_data_in(c, f);
            return 0;
        case HA_CONN_ESTABLISHED:
        case HA_CONN_FIN_WAIT:
        case HA_CONN_RSYN_SENT:
            if (c->peer_closed) {
                return conn_drop(c, HA_DROP_STATE);
            }
            conn_data_in(c, f);
            return 0;
        default:
            return conn_drop(c, HA_DROP_STATE);
        }

    case SFP_F_FIN:
        switch (c->state) {
        case HA_CONN_SYN_RCVD:
        case HA_CONN_RSYN_RCVD:
        case HA_CONN_ESTABLISHED:
        case HA_CONN_FIN_WAIT:
        case HA_CONN_RSYN_SENT:
        case HA_CONN_TIME_WAIT:
            conn_xmit(c, SFP_F_FIN | SFP_F_ACK, c->snd_nxt, h->seq + 1,
                      f->src_flow, NULL, 0);
            if (!c->peer_closed && c->state != HA_CONN_TIME_WAIT) {
                c->peer_closed = true;
                if (c->state == HA_CONN_SYN_RCVD
                    || c->state == HA_CONN_RSYN_RCVD) {
                    conn_acked(c, now_us);
                    c->ctl_rexmitted = true;
                    conn_established(c, now_us);
                }
                if (!c->local_closed) {
                    conn_emit(c, HA_CEV_PEER_CLOSED, NULL, 0);
                }
            }
            return 0;
        default:
            return conn_drop(c, HA_DROP_STATE);
        }

    case SFP_F_FIN | SFP_F_ACK:
        if (c->state == HA_CONN_FIN_WAIT && c->ctl_flags == SFP_F_FIN) {
            if (h->ack != c->ctl_seq + 1) {
                return conn_drop(c, HA_DROP_BAD_ACK);
            }
            conn_acked(c, now_us);
            conn_linger(c, HA_CONN_TIME_WAIT, HA_LINGER_US, now_us);
            return 0;
        }
        if (c->state == HA_CONN_TIME_WAIT) {
            return 0;
        }
        return conn_drop(c, HA_DROP_STATE);

    case SFP_F_RSYN:
        switch (c->state) {
        case HA_CONN_RSYN_RCVD:
            if (f->src_flow != c->remote_flow || h->seq + 1 != c->rcv_nxt) {
                return conn_drop(c, HA_DROP_STATE);
            }
            c->ctl_rexmitted = true;
            conn_xmit(c, c->ctl_flags, c->ctl_seq, c->ctl_ack, c->ctl_dst,
                      NULL, 0);
            return 0;
        case HA_CONN_ESTABLISHED:
        case HA_CONN_FIN_WAIT:
        case HA_CONN_RSYN_SENT:
            /* The peer moved (or repeats its RSYN): follow it. */
            c->rcv_nxt = h->seq + 1;
            if (f->src_flow != c->remote_flow) {
                if (c->state == HA_CONN_RSYN_SENT && c->ctl_flags
                    && c->ctl_dst == c->remote_flow) {
                    c->ctl_dst = f->src_flow;   /* Both moved. */
                }
                c->remote_flow = f->src_flow;
                c->stats.resyncs++;
                conn_emit(c, HA_CEV_PEER_MOVED, NULL, 0);
            }
            conn_xmit(c, SFP_F_RSYN | SFP_F_ACK, c->snd_nxt, h->seq + 1,
                      c->remote_flow, NULL, 0);
            if (c->state != HA_CONN_RSYN_SENT
                || !sfp_flowid_is_unresolved(c->ctl_dst)) {
                /* The RSYN's ack is the peer's receive point: what we
                 * sent since its link went down never reached it. */
                conn_replay_last(c, h->ack);
            }
            return 0;
        default:
            return conn_drop(c, HA_DROP_STATE);
        }

    case SFP_F_RSYN | SFP_F_ACK:
        if (c->state == HA_CONN_RSYN_SENT) {
            if (h->ack != c->ctl_seq + 1) {
                return conn_drop(c, HA_DROP_BAD_ACK);
            }
            if (sfp_flowid_is_unresolved(c->ctl_dst)) {
                /* Failover: a new instance, a new sequence space. */
                c->rcv_nxt = h->seq + 1;
            }
            bool moved = f->src_flow != c->remote_flow;

            conn_acked(c, now_us);
            c->max_retries = HA_MAX_RETRIES;
            c->rsyn_refusals = 0;
            c->state = HA_CONN_ESTABLISHED;
            c->stats.resyncs++;
            conn_xmit(c, SFP_F_ACK, c->snd_nxt, h->seq + 1, f->src_flow,
                      NULL, 0);
            c->remote_flow = f->src_flow;
            /* What the application sent during the resync follows the
             * ACK (unless the link went down again meanwhile). */
            if (!c->link_down) {
                conn_flush(c);
            }
            if (moved) {
                conn_emit(c, HA_CEV_PEER_MOVED, NULL, 0);
            }
            return 0;
        }
        if (c->state == HA_CONN_ESTABLISHED && f->src_flow == c->remote_flow) {
            conn_xmit(c, SFP_F_ACK, c->snd_nxt, h->seq + 1, f->src_flow,
                      NULL, 0);
            return 0;
        }
        return conn_drop(c, HA_DROP_STATE);

    default:
        return conn_drop(c, HA_DROP_STATE);
    }
}

int
ha_conn_send(struct ha_conn *c, const void *data, size_t len,
             uint64_t now_us)
{
    (void) now_us;
    if (len > SFP_MAX_PAYLOAD) {
        return -EMSGSIZE;
    }
    switch (c->state) {
    case HA_CONN_ESTABLISHED:
        if (c->local_closed) {
            return -EPIPE;
        }
        if (c->link_down) {
            return conn_hold(c, data, len, false);
        }
        break;
    case HA_CONN_RSYN_SENT:
        return conn_hold(c, data, len, false);
    case HA_CONN_SYN_SENT:
    case HA_CONN_SYN_RCVD:
    case HA_CONN_RSYN_RCVD:
    case HA_CONN_LISTEN:
    case HA_CONN_CLOSED:
        return -ENOTCONN;
    default:
        return -EPIPE;
    }
    conn_send_data(c, data, len);
    return 0;
}

void
ha_conn_close(struct ha_conn *c, bool fail, uint64_t now_us)
{
    if (c->local_closed) {
        return;
    }
    c->local_closed = true;
    switch (c->state) {
    case HA_CONN_ESTABLISHED:
    case HA_CONN_SYN_RCVD:
    case HA_CONN_RSYN_RCVD:
        if (fail) {
            c->ctl_flags = 0;
            /* Datagrams that came after the application's last send
             * are taken as unserved: the peer replays its last one to
             * the next instance (conn.h). */
            conn_xmit(c, SFP_F_FAIL, c->snd_nxt,
                      c->stats.tx_packets ? c->rcv_served : c->rcv_nxt,
                      c->remote_flow, NULL, 0);
            ha_conn_release(c);         /* Nothing more to send. */
            conn_linger(c, HA_CONN_FAILED, HA_FAIL_LINGER_US, now_us);
        } else if (c->state == HA_CONN_ESTABLISHED) {
            c->state = HA_CONN_FIN_WAIT;
            conn_arm(c, SFP_F_FIN, c->snd_nxt, c->rcv_nxt, c->remote_flow,
                     now_us);
            c->snd_nxt++;
        } else {
            ha_conn_abort(c, now_us);
        }
        return;
    case HA_CONN_RSYN_SENT:
        ha_conn_abort(c, now_us);
        return;
    case HA_CONN_FIN_WAIT:
    case HA_CONN_TIME_WAIT:
    case HA_CONN_FAILED:
        return;
    default:
        conn_dead(c);
        return;
    }
}

void
ha_conn_abort(struct ha_conn *c, uint64_t now_us)
{
    (void) now_us;
    c->local_closed = true;
    switch (c->state) {
    case HA_CONN_SYN_RCVD:
    case HA_CONN_RSYN_RCVD:
    case HA_CONN_ESTABLISHED:
    case HA_CONN_FIN_WAIT:
    case HA_CONN_RSYN_SENT:
        if (!sfp_flowid_is_unresolved(c->remote_flow)) {
            conn_xmit(c, SFP_F_RST, c->snd_nxt, c->rcv_nxt, c->remote_flow,
                      NULL, 0);
        }
        break;
    default:
        break;
    }
    conn_dead(c);
}

void
ha_conn_move(struct ha_conn *c, uint32_t new_flow, uint64_t now_us)
{
    uint32_t dst;

    if (new_flow == c->local_flow) {
        return;
    }
    c->local_flow = new_flow;
    switch (c->state) {
    case HA_CONN_ESTABLISHED:
        dst = c->remote_flow;
        c->link_down = false;   /* A new address: the link works. */
        break;
    case HA_CONN_RSYN_SENT:
        dst = c->ctl_dst;       /* Restart from the new flowID. */
        c->link_down = false;
        break;
    default:
        /* Pending SYN/FIN retransmissions simply leave from the new
         * flowID; lingering states need nothing. */
        conn_emit(c, HA_CEV_LOCAL_MOVED, NULL, 0);
        return;
    }
    conn_start_resync(c, dst, now_us);
    conn_retry_early(c, now_us);
    conn_emit(c, HA_CEV_LOCAL_MOVED, NULL, 0);
}

void
ha_conn_set_link(struct ha_conn *c, bool up, uint64_t now_us)
{
    if (!up) {
        c->link_down = true;
        return;
    }
    if (!c->link_down) {
        return;
    }
    c->link_down = false;
    if (c->state == HA_CONN_ESTABLISHED && !c->local_closed
        && !c->peer_closed) {
        /* Same flowID, but the peer's datagrams may have been lost:
         * resync so that it replays them, then send what we held.  (A
         * peer that closed has ended: it would not answer.) */
        conn_start_resync(c, c->remote_flow, now_us);
        conn_retry_early(c, now_us);
        return;
    }
    if (c->ctl_flags && c->deadline_us != UINT64_MAX) {
        /* Retransmissions went nowhere while the link was down: send
         * the pending packet now and forget the backoff. */
        conn_rto_reset(c);
        c->ctl_rexmitted = true;
        c->stats.retransmits++;
        conn_xmit(c, c->ctl_flags, c->ctl_seq, c->ctl_ack, c->ctl_dst, NULL,
                  0);
        c->deadline_us = now_us + c->rto_us;
        conn_retry_early(c, now_us);
    }
}

void
ha_conn_release(struct ha_conn *c)
{
    int i;

    if (c->tx_last) {
        dgram_free(c, c->tx_last);
        c->tx_last = NULL;
    }
    for (i = 0; i < c->n_held; i++) {
        dgram_free(c, c->tx_held[i]);
        c->tx_held[i] = NULL;
    }
    c->stats.tx_dropped += (uint64_t) c->n_held;
    c->n_held = 0;
}

void
ha_conn_tick(struct ha_conn *c, uint64_t now_us)
{
    if (now_us < c->deadline_us) {
        return;
    }
    if (c->state == HA_CONN_TIME_WAIT || c->state == HA_CONN_FAILED) {
        conn_dead(c);
        return;
    }
    if (!c->ctl_flags) {
        c->deadline_us = UINT64_MAX;
        return;
    }
    if (c->retries >= c->max_retries) {
        if (!c->local_closed && c->state != HA_CONN_SYN_RCVD
            && c->state != HA_CONN_RSYN_RCVD) {
            conn_emit(c, HA_CEV_TIMEDOUT, NULL, 0);
        }
        conn_dead(c);
        return;
    }
    c->retries++;
    c->ctl_rexmitted = true;
    c->stats.retransmits++;
    c->rto_us = c->rto_us * 2 > HA_RTO_MAX_US ? HA_RTO_MAX_US : c->rto_us * 2;
    conn_xmit(c, c->ctl_flags, c->ctl_seq, c->ctl_ack, c->ctl_dst, NULL, 0);
    c->deadline_us = now_us + c->rto_us;
}

const char *
ha_conn_state_name(enum ha_conn_state s)
{
    static const char *const names[HA_CONN_N_STATES] = {
        [HA_CONN_CLOSED] = "CLOSED",
        [HA_CONN_LISTEN] = "LISTEN",
        [HA_CONN_SYN_SENT] = "SYN_SENT",
        [HA_CONN_SYN_RCVD] = "SYN_RCVD",
        [HA_CONN_ESTABLISHED] = "ESTABLISHED",
        [HA_CONN_RSYN_SENT] = "RSYN_SENT",
        [HA_CONN_RSYN_RCVD] = "RSYN_RCVD",
        [HA_CONN_FIN_WAIT] = "FIN_WAIT",
        [HA_CONN_TIME_WAIT] = "TIME_WAIT",
        [HA_CONN_FAILED] = "FAILED",
    };
    return (unsigned) s < HA_CONN_N_STATES ? names[s] : "?";
}

const char *
ha_conn_event_name(enum ha_conn_event ev)
{
    switch (ev) {
    case HA_CEV_CONNECTED: return "CONNECTED";
    case HA_CEV_ACCEPTED: return "ACCEPTED";
    case HA_CEV_DATA: return "DATA";
    case HA_CEV_PEER_MOVED: return "PEER_MOVED";
    case HA_CEV_LOCAL_MOVED: return "LOCAL_MOVED";
    case HA_CEV_PEER_CLOSED: return "PEER_CLOSED";
    case HA_CEV_RESET: return "RESET";
    case HA_CEV_TIMEDOUT: return "TIMEDOUT";
    case HA_CEV_DEAD: return "DEAD";
    }
    return "?";
}

/* ---- static functions ------------------------------------------------ */

static void
conn_xmit(struct ha_conn *c, uint8_t flags, uint32_t seq, uint32_t ack,
          uint32_t dst, const void *payload, size_t len)
{
    struct sfp_frame f;

    memset(&f, 0, sizeof f);
    f.src_flow = c->local_flow;
    f.dst_flow = dst;
    f.src_obj = c->local_obj;
    f.dst_obj = c->remote_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = flags;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.hdr.seq = seq;
    f.hdr.ack = ack;
    f.hdr.nonce = c->nonce;
    f.payload = payload;
    f.payload_len = len;
    c->ops->output(c, &f, c->aux);
}

/* Sends control packet 'flags' and keeps it for retransmission. */
static void
conn_arm(struct ha_conn *c, uint8_t flags, uint32_t seq, uint32_t ack,
         uint32_t dst, uint64_t now_us)
{
    c->ctl_flags = flags;
    c->ctl_seq = seq;
    c->ctl_ack = ack;
    c->ctl_dst = dst;
    c->ctl_first_us = now_us;
    c->ctl_rexmitted = false;
    c->retries = 0;
    conn_xmit(c, flags, seq, ack, dst, NULL, 0);
    c->deadline_us = now_us + c->rto_us;
}

/* The pending control packet was answered: take an RTT sample (RFC 6298,
 * unless it was retransmitted) and stop the timer. */
static void
conn_acked(struct ha_conn *c, uint64_t now_us)
{
    if (c->ctl_flags && !c->ctl_rexmitted && now_us >= c->ctl_first_us) {
        uint64_t r = now_us - c->ctl_first_us;
        uint32_t rtt = r > HA_RTO_MAX_US ? HA_RTO_MAX_US : (uint32_t) r;
        uint64_t rto;

        if (!rtt) {
            rtt = 1;
        }
        if (!c->srtt_us) {
            c->srtt_us = rtt;
            c->rttvar_us = rtt / 2;
        } else {
            uint32_t err = c->srtt_us > rtt ? c->srtt_us - rtt
                                            : rtt - c->srtt_us;
            c->rttvar_us = (3 * (uint64_t) c->rttvar_us + err) / 4;
            c->srtt_us = (7 * (uint64_t) c->srtt_us + rtt) / 8;
        }
        rto = c->srtt_us + (4 * (uint64_t) c->rttvar_us > HA_RTO_GRAN_US
                            ? 4 * (uint64_t) c->rttvar_us : HA_RTO_GRAN_US);
        c->rto_us = rto < HA_RTO_MIN_US ? HA_RTO_MIN_US
                    : rto > HA_RTO_MAX_US ? HA_RTO_MAX_US : (uint32_t) rto;
    } else if (c->ctl_flags && c->srtt_us) {
        /* Backed off without a sample: return to the estimate. */
        uint64_t rto = c->srtt_us + 4 * (uint64_t) c->rttvar_us;
        c->rto_us = rto < HA_RTO_MIN_US ? HA_RTO_MIN_US
                    : rto > HA_RTO_MAX_US ? HA_RTO_MAX_US : (uint32_t) rto;
    }
    c->ctl_flags = 0;
    c->retries = 0;
    c->deadline_us = UINT64_MAX;
}

static void
conn_emit(struct ha_conn *c, enum ha_conn_event ev, const void *data,
          size_t len)
{
    c->ops->event(c, ev, data, len, c->aux);
}

static void
conn_dead(struct ha_conn *c)
{
    ha_conn_release(c);
    c->state = HA_CONN_CLOSED;
    c->ctl_flags = 0;
    c->deadline_us = UINT64_MAX;
    conn_emit(c, HA_CEV_DEAD, NULL, 0);
}

static void
conn_linger(struct ha_conn *c, enum ha_conn_state state, uint64_t us,
            uint64_t now_us)
{
    c->state = state;
    c->deadline_us = now_us + us;
}

static void
conn_established(struct ha_conn *c, uint64_t now_us)
{
    (void) now_us;
    if (c->state == HA_CONN_RSYN_RCVD) {
        c->stats.resyncs++;
    }
    c->state = HA_CONN_ESTABLISHED;
    conn_emit(c, HA_CEV_ACCEPTED, NULL, 0);
}

static int
conn_drop(struct ha_conn *c, enum ha_conn_drop why)
{
    c->stats.drops[why]++;
    return (int) why + 1;
}

static void
conn_data_in(struct ha_conn *c, const struct sfp_frame *f)
{
    int32_t gap = (int32_t) (f->hdr.seq - c->rcv_nxt);

    /* Bytes skipped (lost or reordered datagrams); data is delivered
     * anyway: bound flows carry datagrams, not a byte stream. */
    if (gap > 0) {
        c->stats.rx_gaps += (uint32_t) gap;
    }
    if (gap >= 0) {
        c->rcv_nxt = f->hdr.seq + (uint32_t) f->payload_len;
    }
    c->stats.rx_packets++;
    c->stats.rx_bytes += f->payload_len;
    conn_emit(c, HA_CEV_DATA, f->payload, f->payload_len);
}

/* RSYN to 'dst': the unresolved objectID after FAIL, or the peer's flowID
 * after we moved. */
static void
conn_start_resync(struct ha_conn *c, uint32_t dst, uint64_t now_us)
{
    c->state = HA_CONN_RSYN_SENT;
    c->max_retries = HA_RSYN_MAX_RETRIES;
    conn_rto_reset(c);          /* A new attempt: no old backoff. */
    conn_arm(c, SFP_F_RSYN, c->snd_nxt, c->rcv_nxt, dst, now_us);
    c->snd_nxt++;
}

/* Failover: RSYN to the unresolved objectID from a fresh sockID, so that
 * the RSYN is a new 5-tuple and the object router's sticky round robin
 * gives it the next instance, not the one that shed us. */
static void
conn_failover(struct ha_conn *c, uint64_t now_us)
{
    uint32_t flow = c->ops->new_flow ? c->ops->new_flow(c, c->aux) : 0;
    bool moved = flow && flow != c->local_flow;

    if (moved) {
        c->local_flow = flow;
    }
    conn_start_resync(c, sfp_flowid_unresolved(
                          sfp_flowid_ss(c->remote_flow)), now_us);
    if (moved) {
        conn_emit(c, HA_CEV_LOCAL_MOVED, NULL, 0);
    }
}

/* Our pending failover RSYN was refused: FAIL from an instance that shed
 * the connection, or RST from a stack with no listener for the objectID.
 * Again from yet another sockID (the object router gives the new 5-tuple
 * the next instance), at most HA_RSYN_MAX_REFUSALS times. */
static void
conn_rsyn_refused(struct ha_conn *c, uint64_t now_us)
{
    if (++c->rsyn_refusals > HA_RSYN_MAX_REFUSALS) {
        conn_emit(c, HA_CEV_RESET, NULL, 0);
        conn_dead(c);
        return;
    }
    conn_failover(c, now_us);
}

/* Whether 'f' (nonce already checked) may come from where it comes from.
 * Once the remote flowID is resolved, every packet must come from it and
 * from the remote objectID: the nonce alone does not do, since every agent
 * that heard an unresolved SYN knows it.  Exceptions:
 *   - RSYN may come from a new flowID (the peer moved);
 *   - while our SYN to an unresolved destination is unanswered, a SYN|ACK
 *     (the first fixes the remote) or a RST (refused) from any instance of
 *     the objectID; to a resolved destination, from that host;
 *   - while our RSYN to the unresolved objectID (failover) is unanswered,
 *     an RSYN|ACK or a RST from any instance of the objectID, as for a
 *     SYN (the first RSYN|ACK fixes the remote again; a RST acknowledging
 *     the RSYN makes us retry from another sockID). */
static bool
conn_source_ok(const struct ha_conn *c, const struct sfp_frame *f)
{
    uint8_t flags = f->hdr.flags;

    if (f->src_obj != c->remote_obj) {
        return false;
    }
    if (flags == SFP_F_RSYN) {
        return true;
    }
    if (c->state == HA_CONN_SYN_SENT
        && (flags == (SFP_F_SYN | SFP_F_ACK) || flags == SFP_F_RST)) {
        return sfp_flowid_is_unresolved(c->remote_flow)
               || (f->src_flow & 0xffff0000u)
                  == (c->remote_flow & 0xffff0000u);
    }
    if (c->state == HA_CONN_RSYN_SENT && sfp_flowid_is_unresolved(c->ctl_dst)
        && (flags == (SFP_F_RSYN | SFP_F_ACK) || flags == SFP_F_RST)) {
        return true;            /* (The failed instance's RST is ignored
                                 * below.) */
    }
    return f->src_flow == c->remote_flow;
}

static bool
seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t) (a - b) < 0;
}

/* Forgets the backoff: the timeout from the RTT estimate (RFC 6298), or
 * the initial one without a sample. */
static void
conn_rto_reset(struct ha_conn *c)
{
    uint64_t rto;

    if (!c->srtt_us) {
        c->rto_us = HA_RTO_INIT_US;
        return;
    }
    rto = c->srtt_us + (4 * (uint64_t) c->rttvar_us > HA_RTO_GRAN_US
                        ? 4 * (uint64_t) c->rttvar_us : HA_RTO_GRAN_US);
    c->rto_us = rto < HA_RTO_MIN_US ? HA_RTO_MIN_US
                : rto > HA_RTO_MAX_US ? HA_RTO_MAX_US : (uint32_t) rto;
}

/* The pending RSYN after a move or a link outage: the new attachment's
 * rules may lag the address (conn.h, HA_RTO_EARLY_MIN_US), so its timeout
 * starts from the RTT estimate without the floor of HA_RTO_MIN_US and
 * doubles from there; the answer (conn_acked) brings the ordinary one
 * back.  Nothing changes without an RTT sample. */
static void
conn_retry_early(struct ha_conn *c, uint64_t now_us)
{
    uint64_t t;

    if (!c->srtt_us || c->ctl_flags != SFP_F_RSYN) {
        return;
    }
    t = c->srtt_us + (4 * (uint64_t) c->rttvar_us > HA_RTO_GRAN_US
                      ? 4 * (uint64_t) c->rttvar_us : HA_RTO_GRAN_US);
    if (t < HA_RTO_EARLY_MIN_US) {
        t = HA_RTO_EARLY_MIN_US;
    }
    if (t < c->rto_us) {
        c->rto_us = (uint32_t) t;
        c->deadline_us = now_us + t;
    }
}

/* Transmits one datagram with the next sequence numbers and keeps a copy
 * of it for a replay. */
static void
conn_send_data(struct ha_conn *c, const void *data, size_t len)
{
    /* seq = the first payload byte (docs/protocol.md 4). */
    conn_xmit(c, SFP_F_DATA, c->snd_nxt, 0, c->remote_flow, data, len);
    conn_remember(c, c->snd_nxt, data, len);
    c->rcv_served = c->rcv_nxt;
    c->snd_nxt += (uint32_t) len;
    c->stats.tx_packets++;
    c->stats.tx_bytes += len;
}

/* Keeps 'data' as the last datagram sent (seq 'seq'), reusing the buffer
 * while it fits.  Without memory there is simply nothing to replay. */
static void
conn_remember(struct ha_conn *c, uint32_t seq, const void *data, size_t len)
{
    struct ha_conn_dgram *d = c->tx_last;

    if (!c->ops->alloc || !c->ops->free) {
        return;
    }
    if (!d || d->cap < len) {
        if (d) {
            dgram_free(c, d);
        }
        d = c->tx_last = dgram_new(c, len);
        if (!d) {
            return;
        }
    }
    d->seq = seq;
    d->len = (uint32_t) len;
    if (len) {
        memcpy(d->data, data, len);
    }
}

/* Holds a datagram for after the resync: at the end of the queue, or with
 * 'replay' (the last datagram, sent before anything held) at its head.
 * A full queue drops its oldest datagram (counted); a replay finding it
 * full is not held.  Returns 0, or -EAGAIN (dropped: no memory). */
static int
conn_hold(struct ha_conn *c, const void *data, size_t len, bool replay)
{
    struct ha_conn_dgram *d;

    if (!c->ops->alloc || !c->ops->free) {
        c->stats.tx_dropped++;
        return -EAGAIN;
    }
    if (c->n_held == HA_TXQ_MAX) {
        if (replay) {
            return -EAGAIN;
        }
        dgram_free(c, c->tx_held[0]);
        memmove(&c->tx_held[0], &c->tx_held[1],
                (HA_TXQ_MAX - 1) * sizeof c->tx_held[0]);
        c->n_held--;
        c->stats.tx_dropped++;
    }
    d = dgram_new(c, len);
    if (!d) {
        if (!replay) {
            c->stats.tx_dropped++;
        }
        return -EAGAIN;
    }
    d->len = (uint32_t) len;
    if (len) {
        memcpy(d->data, data, len);
    }
    if (replay) {
        memmove(&c->tx_held[1], &c->tx_held[0],
                (size_t) c->n_held * sizeof c->tx_held[0]);
        c->tx_held[0] = d;
    } else {
        c->tx_held[c->n_held] = d;
        c->stats.tx_held++;
    }
    c->n_held++;
    return 0;
}

/* Sends the held datagrams, oldest first, with fresh sequence numbers. */
static void
conn_flush(struct ha_conn *c)
{
    int i, n = c->n_held;

    c->n_held = 0;
    for (i = 0; i < n; i++) {
        struct ha_conn_dgram *d = c->tx_held[i];

        c->tx_held[i] = NULL;
        conn_send_data(c, d->data, d->len);
        dgram_free(c, d);
    }
}

/* After answering an RSYN: sends the last datagram again, with its own
 * sequence number, if 'peer_ack' (the peer's receive point) lies before
 * its end (the peer never got it). */
static void
conn_replay_last(struct ha_conn *c, uint32_t peer_ack)
{
    const struct ha_conn_dgram *d = c->tx_last;

    if (d && d->len && seq_lt(peer_ack, d->seq + d->len)) {
        c->stats.tx_replayed++;
        conn_xmit(c, SFP_F_DATA, d->seq, 0, c->remote_flow, d->data,
                  d->len);
    }
}

static struct ha_conn_dgram *
dgram_new(struct ha_conn *c, size_t cap)
{
    struct ha_conn_dgram *d;

    if (cap < CONN_LAST_MIN) {
        cap = CONN_LAST_MIN;
    }
    d = c->ops->alloc(sizeof *d + cap, c->aux);
    if (d) {
        d->seq = 0;
        d->len = 0;
        d->cap = (uint32_t) cap;
    }
    return d;
}

static void
dgram_free(struct ha_conn *c, struct ha_conn_dgram *d)
{
    c->ops->free(d, c->aux);
}
