/*
 * SCAFFOLD controller: one OpenFlow connection to a switch.
 *
 * Data structures.  A struct ctl_ofconn embeds its uv_tcp_t and a uv_timer_t
 * (both with 'data' pointing back at the connection), a receive buffer
 * (an ofpbuf that accumulates stream bytes until a whole message is in), the
 * switch's ports as a small array, and the list of outstanding barriers.
 *
 * Flow of control.  Every read appends to 'rx' and then hands each complete
 * message to ctl_ofconn_dispatch().  The state machine is
 *
 *     HELLO --hello--> FEATURES --features reply--> PORTS --port desc--> READY
 *
 * (OpenFlow 1.0 switches list their ports in the features reply and skip
 * PORTS).  The timer ticks at a fraction of the echo interval: it sends an
 * echo request to an idle peer and closes a connection that has been silent
 * for the dead-peer timeout or has not finished the handshake by then.
 *
 * Lifetime.  ctl_ofconn_fail() is the single way out: it marks the
 * connection closing, fails outstanding barriers, tells the owner through
 * 'closed' and closes both handles; the memory is freed when the second
 * handle's close callback runs.  Messages and callbacks arriving while
 * closing are dropped.
 */
#include "controller/ofconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "controller/log.h"

VLOG_DEFINE_THIS_MODULE(ctl_ofconn);

/* Peer-triggered problems: at most 5 lines per second, bursts of 20. */
static struct vlog_rate_limit ctl_rl = VLOG_RATE_LIMIT_INIT(5, 20);
/* Connection life-cycle lines: anyone can connect, so these are limited
 * too, but generously (a restart of 100 switches logs in full). */
static struct vlog_rate_limit ctl_conn_rl = VLOG_RATE_LIMIT_INIT(50, 500);

/* Initial size of the output batch of one read. */
#define CTL_OFCONN_BATCH 65536

/* Flow control: when this much output waits for a switch, reading from it
 * stops (its requests wait in its own socket buffers) until the queue is
 * down to the low mark. */
#define CTL_OFCONN_HIGH_WATER (8u * 1024 * 1024)
#define CTL_OFCONN_LOW_WATER (2u * 1024 * 1024)

/* A slow switch that lets this much output pile up is dropped. */
#define CTL_OFCONN_MAX_BACKLOG (16u * 1024 * 1024)

/* OFPT_HELLO is message type 0 in every OpenFlow version; libopenvswitch
 * only names it per version through ofpraw. */
#define CTL_OFPT_HELLO 0
/* OFPT_PACKET_IN is message type 10 in OpenFlow 1.0 to 1.5. */
#define CTL_OFPT_PACKET_IN 10

enum ctl_ofconn_state {
    CTL_OFCONN_CONNECTING,      /* Active connection, TCP not up yet. */
    CTL_OFCONN_HELLO,           /* Waiting for the peer's hello. */
    CTL_OFCONN_FEATURES,        /* Waiting for the features reply. */
    CTL_OFCONN_PORTS,           /* Waiting for the port-desc reply. */
    CTL_OFCONN_READY,           /* Handshake done. */
};

/* An outstanding barrier request. */
struct ctl_barrier {
    uint32_t xid;               /* Request xid. */
    ctl_ofconn_barrier_cb *cb;  /* Completion callback. */
    void *aux;                  /* Its argument. */
};

/* One queued write: the message stays alive until libuv is done. */
struct ctl_wreq {
    uv_write_t req;             /* libuv request; req.data unused. */
    struct ofpbuf *msg;         /* Owned message. */
};

struct ctl_ofconn {
    uv_tcp_t tcp;               /* The stream; tcp.data == this. */
    uv_timer_t timer;           /* Echo/dead-peer timer; timer.data == this. */
    uv_connect_t connect_req;   /* Active connect request. */
    int open_handles;           /* Handles not closed yet; free at 0. */
    bool closing;               /* ctl_ofconn_fail() was called. */

    const struct ctl_ofconn_class *class; /* Owner callbacks. */
    void *aux;                  /* Owner argument. */
    struct ctl_ofconn_timers timers; /* Echo interval, dead timeout. */

    enum ctl_ofconn_state state;
    enum ofp_version version;   /* Negotiated version, valid from FEATURES. */
    uint64_t dpid;              /* Datapath id, valid from PORTS. */
    uint32_t next_xid;          /* Our next transaction id. */
    uint64_t created_ms;        /* Loop time at creation. */
    uint64_t last_rx_ms;        /* Loop time of the last byte received. */
    uint64_t echo_sent_ms;      /* When the outstanding echo went out. */
    bool echo_pending;          /* An echo request awaits its reply. */

    char peer[64];              /* "IP:PORT" of the switch. */
    char name[96];              /* Log name: peer, then dpid and peer. */

    struct ofpbuf rx;           /* Bytes received, not yet dispatched. */
    bool corked;                /* Inside a read: output goes to 'tx'. */
    struct ofpbuf *tx;          /* Output batched during one read, sent by
                                 * one uv_write at its end; NULL if none. */
    struct ofpbuf *tx_spare;    /* A written batch buffer kept for reuse. */
    bool rx_paused;             /* Reading stopped: too much output queued
                                 * (CTL_OFCONN_HIGH_WATER). */
    char rbuf[65536];           /* libuv read buffer. */

    struct ctl_ofconn_port *ports; /* Ports, unordered. */
    size_t n_ports, allocated_ports;

    struct ctl_barrier *barriers; /* Outstanding barriers, oldest first. */
    size_t n_barriers, allocated_barriers;
};

static struct ctl_ofconn *ctl_ofconn_create(uv_loop_t *,
                                            const struct ctl_ofconn_class *,
                                            const struct ctl_ofconn_timers *,
                                            void *aux);
static int ctl_ofconn_start(struct ctl_ofconn *);
static void ctl_ofconn_fail(struct ctl_ofconn *, int reason);
static void ctl_ofconn_dispatch(struct ctl_ofconn *,
                                const struct ofp_header *);
static void ctl_ofconn_garbage(struct ctl_ofconn *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ctl_ofconn_write(struct ctl_ofconn *, struct ofpbuf *);
static int ctl_ofconn_write_now(struct ctl_ofconn *, struct ofpbuf *);
static void ctl_ofconn_batch(struct ctl_ofconn *, const void *, size_t);
static void ctl_ofconn_uncork(struct ctl_ofconn *);

/* Accepts a pending connection on 'server'.  On success '*connp' is the new
 * connection (hello already sent).  On failure nothing is called back and a
 * negative errno is returned. */
int
ctl_ofconn_accept(uv_stream_t *server, const struct ctl_ofconn_class *class,
                  const struct ctl_ofconn_timers *timers, void *aux,
                  struct ctl_ofconn **connp)
{
    struct ctl_ofconn *conn = ctl_ofconn_create(server->loop, class, timers,
                                                aux);
    int rc = uv_accept(server, (uv_stream_t *) &conn->tcp);
    if (!rc) {
        rc = ctl_ofconn_start(conn);
    }
    if (rc) {
        conn->class = NULL;     /* No 'closed' for a failed start. */
        ctl_ofconn_fail(conn, rc);
        return rc;
    }
    *connp = conn;
    return 0;
}

static void
ctl_ofconn_connected(uv_connect_t *req, int status)
{
    struct ctl_ofconn *conn = req->data;

    if (conn->closing) {
        return;
    }
    if (status) {
        VLOG_INFO_RL(&ctl_rl, "%s: connect failed: %s", conn->name,
                     uv_strerror(status));
        ctl_ofconn_fail(conn, status);
        return;
    }
    int rc = ctl_ofconn_start(conn);
    if (rc) {
        ctl_ofconn_fail(conn, rc);
    }
}

/* Starts an active connection to 'sa'.  '*connp' is valid at once; if the
 * TCP connection fails, 'closed' is called with the error.  Returns a
 * negative errno (and calls nothing back) if the connect cannot start. */
int
ctl_ofconn_connect(uv_loop_t *loop, const struct sockaddr *sa,
                   const struct ctl_ofconn_class *class,
                   const struct ctl_ofconn_timers *timers, void *aux,
                   struct ctl_ofconn **connp)
{
    struct ctl_ofconn *conn = ctl_ofconn_create(loop, class, timers, aux);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;
        uv_ip4_name(sin, host, sizeof host);
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
        uv_ip6_name(sin6, host, sizeof host);
        port = ntohs(sin6->sin6_port);
    }
    snprintf(conn->peer, sizeof conn->peer, "%s:%d", host, port);
    snprintf(conn->name, sizeof conn->name, "%s", conn->peer);
    conn->state = CTL_OFCONN_CONNECTING;
    conn->connect_req.data = conn;
    int rc = uv_tcp_connect(&conn->connect_req, &conn->tcp, sa,
                            ctl_ofconn_connected);
    if (rc) {
        conn->class = NULL;
        ctl_ofconn_fail(conn, rc);
        return rc;
    }
    *connp = conn;
    return 0;
}

/* Closes 'conn': 'closed' is called (reason 0) before this returns.
 * Accepts NULL and connections already closing. */
void
ctl_ofconn_close(struct ctl_ofconn *conn)
{
    if (conn) {
        ctl_ofconn_fail(conn, 0);
    }
}

/* Sends request 'msg' with a fresh xid, stored in '*xidp' if not NULL.
 * Takes ownership of 'msg' whatever happens.  Returns 0 or -ENOTCONN. */
int
ctl_ofconn_send(struct ctl_ofconn *conn, struct ofpbuf *msg, uint32_t *xidp)
{
    struct ofp_header *oh = msg->data;
    uint32_t xid = conn->next_xid++;

    if (!conn->next_xid) {
        conn->next_xid = 1;
    }
    oh->xid = htonl(xid);
    if (xidp) {
        *xidp = xid;
    }
    return ctl_ofconn_write(conn, msg);
}

/* Sends 'msg' keeping its xid (a reply).  Takes ownership of 'msg'. */
/* Sends the 'len' bytes at 'data', one complete message (length field
 * right) that the caller keeps, with the next xid of 'conn' patched in.
 * Inside a read the message joins the read's batch without any
 * allocation; outside it is copied to a buffer of its own.  For answers
 * made from templates (L2 learning). */
int
ctl_ofconn_send_raw(struct ctl_ofconn *conn, void *data, size_t len)
{
    struct ofp_header *oh = data;

    if (len < sizeof *oh || ntohs(oh->length) != len) {
        return -EINVAL;
    }
    if (conn->closing || conn->state == CTL_OFCONN_CONNECTING) {
        return -ENOTCONN;
    }
    oh->xid = htonl(conn->next_xid++);
    if (!conn->next_xid) {
        conn->next_xid = 1;
    }
    if (conn->corked) {
        ctl_ofconn_batch(conn, data, len);
        return 0;
    }
    return ctl_ofconn_write_now(conn, ofpbuf_clone_data(data, len));
}

int
ctl_ofconn_send_reply(struct ctl_ofconn *conn, struct ofpbuf *msg)
{
    return ctl_ofconn_write(conn, msg);
}

/* Sends a barrier request; 'cb' runs when the reply arrives (status 0) or
 * when the connection closes first (-ECONNRESET).  Returns 0, or a negative
 * errno without calling 'cb'. */
int
ctl_ofconn_barrier(struct ctl_ofconn *conn, ctl_ofconn_barrier_cb *cb,
                   void *aux)
{
    uint32_t xid;

    if (conn->closing || conn->state < CTL_OFCONN_FEATURES) {
        return -ENOTCONN;
    }
    if (conn->n_barriers == conn->allocated_barriers) {
        size_t n = conn->allocated_barriers ? 2 * conn->allocated_barriers
                                            : 8;
        struct ctl_barrier *b = realloc(conn->barriers, n * sizeof *b);
        if (!b) {
            return -ENOMEM;
        }
        conn->barriers = b;
        conn->allocated_barriers = n;
    }
    int rc = ctl_ofconn_send(conn,
                             ofputil_encode_barrier_request(conn->version),
                             &xid);
    if (rc) {
        return rc;
    }
    conn->barriers[conn->n_barriers++] = (struct ctl_barrier) {
        .xid = xid, .cb = cb, .aux = aux,
    };
    return 0;
}

bool
ctl_ofconn_is_ready(const struct ctl_ofconn *conn)
{
    return conn->state == CTL_OFCONN_READY && !conn->closing;
}

enum ofp_version
ctl_ofconn_version(const struct ctl_ofconn *conn)
{
    return conn->version;
}

uint64_t
ctl_ofconn_dpid(const struct ctl_ofconn *conn)
{
    return conn->dpid;
}

const char *
ctl_ofconn_name(const struct ctl_ofconn *conn)
{
    return conn->name;
}

const char *
ctl_ofconn_peer(const struct ctl_ofconn *conn)
{
    return conn->peer;
}

size_t
ctl_ofconn_n_ports(const struct ctl_ofconn *conn)
{
    return conn->n_ports;
}

const struct ctl_ofconn_port *
ctl_ofconn_port_at(const struct ctl_ofconn *conn, size_t i)
{
    return i < conn->n_ports ? &conn->ports[i] : NULL;
}

const struct ctl_ofconn_port *
ctl_ofconn_port(const struct ctl_ofconn *conn, uint32_t port_no)
{
    for (size_t i = 0; i < conn->n_ports; i++) {
        if (conn->ports[i].port_no == port_no) {
            return &conn->ports[i];
        }
    }
    return NULL;
}

void *
ctl_ofconn_aux(const struct ctl_ofconn *conn)
{
    return conn->aux;
}

void
ctl_ofconn_set_aux(struct ctl_ofconn *conn, void *aux)
{
    conn->aux = aux;
}

/* Picks the highest version in both bitmaps.  Returns 0 or -EPROTO when
 * there is none. */
int
ctl_ofconn_negotiate(uint32_t ours, uint32_t theirs,
                     enum ofp_version *version)
{
    uint32_t common = ours & theirs;

    if (!common) {
        return -EPROTO;
    }
    *version = 31 - __builtin_clz(common);
    return 0;
}

/* ---- internals --------------------------------------------------------- */

static void
ctl_ofconn_handle_closed(uv_handle_t *handle)
{
    struct ctl_ofconn *conn = handle->data;

    if (--conn->open_handles == 0) {
        ofpbuf_uninit(&conn->rx);
        ofpbuf_delete(conn->tx);
        ofpbuf_delete(conn->tx_spare);
        free(conn->ports);
        free(conn->barriers);
        free(conn);
    }
}

static void ctl_ofconn_tick(uv_timer_t *);

static struct ctl_ofconn *
ctl_ofconn_create(uv_loop_t *loop, const struct ctl_ofconn_class *class,
                  const struct ctl_ofconn_timers *timers, void *aux)
{
    struct ctl_ofconn *conn = calloc(1, sizeof *conn);

    if (!conn) {
        /* Out of memory at connection setup: nothing sensible to do. */
        abort();
    }
    conn->class = class;
    conn->aux = aux;
    conn->timers = *timers;
    conn->next_xid = 1;
    conn->state = CTL_OFCONN_HELLO;
    conn->created_ms = uv_now(loop);
    conn->last_rx_ms = conn->created_ms;
    snprintf(conn->peer, sizeof conn->peer, "?");
    snprintf(conn->name, sizeof conn->name, "?");
    ofpbuf_init(&conn->rx, 0);

    uv_tcp_init(loop, &conn->tcp);
    conn->tcp.data = conn;
    uv_timer_init(loop, &conn->timer);
    conn->timer.data = conn;
    conn->open_handles = 2;

    unsigned int tick = timers->echo_interval_ms / 4;
    uv_timer_start(&conn->timer, ctl_ofconn_tick, tick < 25 ? 25 : tick,
                   tick < 25 ? 25 : tick);
    return conn;
}

static void
ctl_ofconn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct ctl_ofconn *conn = handle->data;

    (void) suggested;
    *buf = uv_buf_init(conn->rbuf, sizeof conn->rbuf);
}

/* Moves the undispatched bytes of 'rx' to the start of its storage. */
static void
ctl_ofconn_compact(struct ofpbuf *rx)
{
    if (!rx->size) {
        ofpbuf_clear(rx);
    } else if (rx->data != rx->base) {
        memmove(rx->base, rx->data, rx->size);
        rx->data = rx->base;
    }
}

static void
ctl_ofconn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_ofconn *conn = stream->data;

    if (conn->closing) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF) {
            VLOG_INFO_RL(&ctl_conn_rl, "%s: connection closed by switch",
                         conn->name);
        } else {
            VLOG_WARN_RL(&ctl_rl, "%s: read error: %s", conn->name,
                         uv_strerror(nread));
        }
        ctl_ofconn_fail(conn, nread == UV_EOF ? -ECONNRESET : (int) nread);
        return;
    }
    if (!nread) {
        return;
    }
    conn->last_rx_ms = uv_now(stream->loop);

    /* Messages are dispatched straight from the read buffer; only a
     * message cut by the end of a read is kept in 'rx' (and completed by
     * the next reads). */
    const uint8_t *p;
    size_t n;
    if (conn->rx.size) {
        ofpbuf_put(&conn->rx, buf->base, nread);
        p = conn->rx.data;
        n = conn->rx.size;
    } else {
        p = (const uint8_t *) buf->base;
        n = nread;
    }

    /* Everything this read delivers is answered by one write. */
    conn->corked = true;
    while (!conn->closing && n >= sizeof(struct ofp_header)) {
        const struct ofp_header *oh = (const struct ofp_header *) p;
        size_t len = ntohs(oh->length);

        if (oh->version < OFP10_VERSION || oh->version > OFP15_VERSION + 1) {
            ctl_ofconn_garbage(conn, "bad OpenFlow version 0x%02x",
                               oh->version);
            break;
        }
        if (len < sizeof *oh) {
            ctl_ofconn_garbage(conn, "message length %zu < 8", len);
            break;
        }
        if (conn->state > CTL_OFCONN_HELLO && oh->version != conn->version) {
            ctl_ofconn_garbage(conn, "version 0x%02x after negotiating "
                               "0x%02x", oh->version, conn->version);
            break;
        }
        if (n < len) {
            break;
        }
        ctl_ofconn_dispatch(conn, oh);
        p += len;
        n -= len;
    }
    ctl_ofconn_uncork(conn);
    if (conn->closing) {
        return;
    }
    if (uv_stream_get_write_queue_size(stream) > CTL_OFCONN_HIGH_WATER) {
        /* The switch sends faster than it reads our answers. */
        uv_read_stop(stream);
        conn->rx_paused = true;
    }
    if (conn->rx.size) {
        ofpbuf_pull(&conn->rx, conn->rx.size - n);
        ctl_ofconn_compact(&conn->rx);
    } else if (n) {
        ofpbuf_put(&conn->rx, p, n);
    }
}

/* Ends a read: sends its batch, if any, in one write. */
static void
ctl_ofconn_uncork(struct ctl_ofconn *conn)
{
    struct ofpbuf *tx = conn->tx;

    conn->corked = false;
    conn->tx = NULL;
    if (tx && tx->size && !conn->closing) {
        ctl_ofconn_write_now(conn, tx);
    } else {
        ofpbuf_delete(tx);
    }
}

static int
ctl_ofconn_start(struct ctl_ofconn *conn)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (!uv_tcp_getpeername(&conn->tcp, (struct sockaddr *) &ss, &len)) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
            uv_ip4_name(sin, host, sizeof host);
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
            uv_ip6_name(sin6, host, sizeof host);
            port = ntohs(sin6->sin6_port);
        }
    }
    snprintf(conn->peer, sizeof conn->peer, "%s:%d", host, port);
    snprintf(conn->name, sizeof conn->name, "%s", conn->peer);
    uv_tcp_nodelay(&conn->tcp, 1);
    conn->state = CTL_OFCONN_HELLO;
    conn->created_ms = uv_now(conn->tcp.loop);
    conn->last_rx_ms = conn->created_ms;

    int rc = uv_read_start((uv_stream_t *) &conn->tcp, ctl_ofconn_alloc,
                           ctl_ofconn_read);
    if (rc) {
        return rc;
    }
    VLOG_INFO_RL(&ctl_conn_rl, "%s: switch connected", conn->name);
    return ctl_ofconn_write(conn, ofputil_encode_hello(CTL_OFCONN_VERSIONS));
}

static void
ctl_ofconn_fail(struct ctl_ofconn *conn, int reason)
{
    if (conn->closing) {
        return;
    }
    conn->closing = true;
    uv_timer_stop(&conn->timer);

    /* Barrier callbacks may call back into 'conn': it refuses everything
     * now that 'closing' is set. */
    for (size_t i = 0; i < conn->n_barriers; i++) {
        conn->barriers[i].cb(conn, -ECONNRESET, conn->barriers[i].aux);
    }
    conn->n_barriers = 0;
    if (conn->class && conn->class->closed) {
        conn->class->closed(conn, reason, conn->aux);
    }
    uv_close((uv_handle_t *) &conn->timer, ctl_ofconn_handle_closed);
    uv_close((uv_handle_t *) &conn->tcp, ctl_ofconn_handle_closed);
}

static void
ctl_ofconn_garbage(struct ctl_ofconn *conn, const char *fmt, ...)
{
    char msg[256];
    va_list args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    VLOG_WARN_RL(&ctl_rl, "%s: protocol error, closing: %s", conn->name,
                 msg);
    ctl_ofconn_fail(conn, -EPROTO);
}

/* Frees 'msg', which has been written, or keeps it as 'conn''s spare
 * batch buffer for the next read. */
static void
ctl_ofconn_recycle(struct ctl_ofconn *conn, struct ofpbuf *msg)
{
    if (!conn->closing && !conn->tx_spare
        && msg->allocated >= CTL_OFCONN_BATCH) {
        ofpbuf_clear(msg);
        conn->tx_spare = msg;
    } else {
        ofpbuf_delete(msg);
    }
}

static void
ctl_ofconn_written(uv_write_t *req, int status)
{
    struct ctl_wreq *w = (struct ctl_wreq *) req;
    struct ctl_ofconn *conn = req->handle->data;

    ctl_ofconn_recycle(conn, w->msg);
    free(w);
    if (conn->rx_paused && !conn->closing && !status) {
        /* The switch reads our output: it is alive. */
        conn->last_rx_ms = uv_now(conn->tcp.loop);
        if (uv_stream_get_write_queue_size((uv_stream_t *) &conn->tcp)
            <= CTL_OFCONN_LOW_WATER) {
            conn->rx_paused = false;
            int rc = uv_read_start((uv_stream_t *) &conn->tcp,
                                   ctl_ofconn_alloc, ctl_ofconn_read);
            if (rc) {
                ctl_ofconn_fail(conn, rc);
                return;
            }
        }
    }
    if (status && status != UV_ECANCELED && !conn->closing) {
        VLOG_WARN_RL(&ctl_rl, "%s: write error: %s", conn->name,
                     uv_strerror(status));
        ctl_ofconn_fail(conn, status);
    }
}

/* Queues 'msg' (owned) for output. */
static int
ctl_ofconn_write(struct ctl_ofconn *conn, struct ofpbuf *msg)
{
    if (conn->closing || conn->state == CTL_OFCONN_CONNECTING) {
        ofpbuf_delete(msg);
        return -ENOTCONN;
    }
    /* Encoders may append after ofpraw_alloc() without fixing the header's
     * length (OVS's vconn layer does it on send): so do we. */
    ofpmsg_update_length(msg);
    if (VLOG_IS_DBG_ENABLED()) {
        char *s = ofp_to_string(msg->data, msg->size, NULL, NULL, 1);
        VLOG_DBG("%s: send %s", conn->name, s);
        free(s);
    }
    if (conn->corked) {
        ctl_ofconn_batch(conn, msg->data, msg->size);
        ofpbuf_delete(msg);
        return 0;
    }
    return ctl_ofconn_write_now(conn, msg);
}

/* Appends the 'len' bytes of message 'data' to the batch of 'conn'. */
static void
ctl_ofconn_batch(struct ctl_ofconn *conn, const void *data, size_t len)
{
    if (!conn->tx) {
        conn->tx = conn->tx_spare ? conn->tx_spare
                                  : ofpbuf_new(CTL_OFCONN_BATCH);
        conn->tx_spare = NULL;
    }
    ofpbuf_put(conn->tx, data, len);
}

/* Queues 'msg' (owned, framed) to libuv. */
static int
ctl_ofconn_write_now(struct ctl_ofconn *conn, struct ofpbuf *msg)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *) &conn->tcp)
        > CTL_OFCONN_MAX_BACKLOG) {
        ofpbuf_delete(msg);
        VLOG_WARN_RL(&ctl_rl, "%s: switch does not read, closing",
                     conn->name);
        ctl_ofconn_fail(conn, -ENOBUFS);
        return -ENOBUFS;
    }

    /* Nothing queued: try the socket right away, which spares the write
     * request and its callback when the kernel takes everything. */
    uv_buf_t now = uv_buf_init(msg->data, msg->size);
    int n = uv_try_write((uv_stream_t *) &conn->tcp, &now, 1);
    if (n == (int) msg->size) {
        ctl_ofconn_recycle(conn, msg);
        return 0;
    } else if (n > 0) {
        ofpbuf_pull(msg, n);
    } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
        ofpbuf_delete(msg);
        VLOG_WARN_RL(&ctl_rl, "%s: write failed: %s", conn->name,
                     uv_strerror(n));
        ctl_ofconn_fail(conn, n);
        return n;
    }

    struct ctl_wreq *w = malloc(sizeof *w);
    if (!w) {
        ofpbuf_delete(msg);
        return -ENOMEM;
    }
    w->msg = msg;
    uv_buf_t buf = uv_buf_init(msg->data, msg->size);
    int rc = uv_write(&w->req, (uv_stream_t *) &conn->tcp, &buf, 1,
                      ctl_ofconn_written);
    if (rc) {
        ofpbuf_delete(msg);
        free(w);
        VLOG_WARN_RL(&ctl_rl, "%s: write failed: %s", conn->name,
                     uv_strerror(rc));
        ctl_ofconn_fail(conn, rc);
    }
    return rc;
}

static void
ctl_ofconn_tick(uv_timer_t *timer)
{
    struct ctl_ofconn *conn = timer->data;
    uint64_t now = uv_now(timer->loop);
    uint64_t idle = now - conn->last_rx_ms;

    if (conn->closing || conn->state == CTL_OFCONN_CONNECTING) {
        if (!conn->closing
            && now - conn->created_ms >= conn->timers.dead_timeout_ms) {
            VLOG_INFO_RL(&ctl_rl, "%s: connect timed out", conn->name);
            ctl_ofconn_fail(conn, -ETIMEDOUT);
        }
        return;
    }
    if (conn->state != CTL_OFCONN_READY
        && now - conn->created_ms >= conn->timers.dead_timeout_ms) {
        VLOG_WARN_RL(&ctl_rl, "%s: no handshake after %"PRIu64" ms, closing",
                     conn->name, now - conn->created_ms);
        ctl_ofconn_fail(conn, -ETIMEDOUT);
    } else if (idle >= conn->timers.dead_timeout_ms) {
        VLOG_WARN_RL(&ctl_rl, "%s: dead peer, nothing received for %"PRIu64
                     " ms, closing", conn->name, idle);
        ctl_ofconn_fail(conn, -ETIMEDOUT);
    } else if (idle >= conn->timers.echo_interval_ms && !conn->echo_pending
               && conn->state > CTL_OFCONN_HELLO) {
        conn->echo_pending = true;
        conn->echo_sent_ms = now;
        VLOG_DBG("%s: idle for %"PRIu64" ms, sending echo request",
                 conn->name, idle);
        ctl_ofconn_send(conn, ofputil_encode_echo_request(conn->version),
                        NULL);
    }
}

static void
ctl_ofconn_port_update(struct ctl_ofconn *conn,
                       const struct ofputil_phy_port *pp,
                       enum ofp_port_reason reason)
{
    struct ctl_ofconn_port port = {
        .port_no = (uint16_t) pp->port_no,
        .hw_addr = pp->hw_addr,
        .up = !(pp->config & OFPUTIL_PC_PORT_DOWN)
              && !(pp->state & OFPUTIL_PS_LINK_DOWN),
    };
    size_t i;

    snprintf(port.name, sizeof port.name, "%.*s",
             (int) sizeof pp->name, pp->name);
    for (i = 0; i < conn->n_ports; i++) {
        if (conn->ports[i].port_no == port.port_no) {
            break;
        }
    }
    if (reason == OFPPR_DELETE) {
        if (i < conn->n_ports) {
            conn->ports[i] = conn->ports[--conn->n_ports];
        }
    } else if (i < conn->n_ports) {
        conn->ports[i] = port;
    } else {
        if (conn->n_ports == conn->allocated_ports) {
            size_t n = conn->allocated_ports ? 2 * conn->allocated_ports : 8;
            struct ctl_ofconn_port *p = realloc(conn->ports, n * sizeof *p);
            if (!p) {
                return;
            }
            conn->ports = p;
            conn->allocated_ports = n;
        }
        conn->ports[conn->n_ports++] = port;
    }
    if (conn->state == CTL_OFCONN_READY && conn->class->port_changed) {
        conn->class->port_changed(conn, &port, reason, conn->aux);
    }
}

static void
ctl_ofconn_set_ready(struct ctl_ofconn *conn)
{
    conn->state = CTL_OFCONN_READY;
    VLOG_INFO("%s: handshake done, OpenFlow 0x%02x, %zu ports", conn->name,
              conn->version, conn->n_ports);
    if (conn->class->ready) {
        conn->class->ready(conn, conn->aux);
    }
}

/* Pulls every port from 'b' into the table.  Returns 0 or an ofperr. */
static enum ofperr
ctl_ofconn_pull_ports(struct ctl_ofconn *conn, struct ofpbuf *b)
{
    struct ofputil_phy_port pp;
    int rc;

    while (!(rc = ofputil_pull_phy_port(conn->version, b, &pp))) {
        ctl_ofconn_port_update(conn, &pp, OFPPR_ADD);
    }
    return rc == EOF ? 0 : rc;
}

static void
ctl_ofconn_handle_hello(struct ctl_ofconn *conn, const struct ofp_header *oh)
{
    uint32_t theirs;

    if (oh->type != CTL_OFPT_HELLO) {
        ctl_ofconn_garbage(conn, "expected hello, got message type %d",
                           oh->type);
        return;
    }
    if (!ofputil_decode_hello(oh, &theirs)) {
        VLOG_DBG("%s: hello with unknown elements", conn->name);
    }
    if (ctl_ofconn_negotiate(CTL_OFCONN_VERSIONS, theirs, &conn->version)) {
        struct ofpbuf *msg = ofperr_encode_hello(OFPERR_OFPHFC_INCOMPATIBLE,
                                                 OFP10_VERSION,
                                                 "versions 1.0, 1.3, 1.5");
        uv_buf_t buf = uv_buf_init(msg->data, msg->size);
        uv_try_write((uv_stream_t *) &conn->tcp, &buf, 1);
        ofpbuf_delete(msg);
        ctl_ofconn_garbage(conn, "no common OpenFlow version (peer offers "
                           "bitmap 0x%"PRIx32")", theirs);
        return;
    }
    conn->state = CTL_OFCONN_FEATURES;
    ctl_ofconn_send(conn, ofpraw_alloc(OFPRAW_OFPT_FEATURES_REQUEST,
                                       conn->version, 0), NULL);
}

static void
ctl_ofconn_handle_features(struct ctl_ofconn *conn,
                           const struct ofp_header *oh)
{
    struct ofputil_switch_features features;
    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
    enum ofperr error;

    if (conn->state != CTL_OFCONN_FEATURES) {
        VLOG_DBG("%s: unexpected features reply ignored", conn->name);
        return;
    }
    error = ofputil_pull_switch_features(&b, &features);
    if (error) {
        ctl_ofconn_garbage(conn, "bad features reply: %s",
                           ofperr_get_name(error));
        return;
    }
    conn->dpid = features.datapath_id;
    snprintf(conn->name, sizeof conn->name, "dpid %016"PRIx64" (%s)",
             conn->dpid, conn->peer);
    if (conn->version < OFP13_VERSION) {
        /* The ports follow the features in OpenFlow 1.0 (a switch with
         * more than ~1300 ports would truncate them; not our case). */
        error = ctl_ofconn_pull_ports(conn, &b);
        if (error) {
            ctl_ofconn_garbage(conn, "bad port in features reply: %s",
                               ofperr_get_name(error));
            return;
        }
        ctl_ofconn_set_ready(conn);
    } else {
        conn->state = CTL_OFCONN_PORTS;
        ctl_ofconn_send(conn,
                        ofputil_encode_port_desc_stats_request(conn->version,
                                                               OFPP_ANY),
                        NULL);
    }
}

static void
ctl_ofconn_handle_port_desc(struct ctl_ofconn *conn,
                            const struct ofp_header *oh)
{
    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));

    if (conn->state != CTL_OFCONN_PORTS) {
        VLOG_DBG("%s: unexpected port-desc reply ignored", conn->name);
        return;
    }
    ofpraw_pull_assert(&b);
    enum ofperr error = ctl_ofconn_pull_ports(conn, &b);
    if (error) {
        ctl_ofconn_garbage(conn, "bad port-desc reply: %s",
                           ofperr_get_name(error));
        return;
    }
    if (!ofpmp_more(oh)) {
        ctl_ofconn_set_ready(conn);
    }
}

static void
ctl_ofconn_handle_error(struct ctl_ofconn *conn, const struct ofp_header *oh)
{
    struct ofpbuf payload;
    enum ofperr error = ofperr_decode_msg(oh, &payload);
    uint32_t xid = ntohl(oh->xid);

    if (!error) {
        ctl_ofconn_garbage(conn, "undecodable error message");
        return;
    }
    char *what = NULL;
    if (payload.size >= sizeof(struct ofp_header)) {
        what = ofp_to_string(payload.data, payload.size, NULL, NULL, 0);
    }
    VLOG_WARN_RL(&ctl_rl, "%s: switch reports error %s (xid %"PRIu32")%s%s",
                 conn->name, ofperr_get_name(error), xid,
                 what ? " for: " : "", what ? what : "");
    free(what);
    ofpbuf_uninit(&payload);
    if (conn->state != CTL_OFCONN_READY) {
        ctl_ofconn_fail(conn, -EPROTO);
        return;
    }
    if (conn->class->error) {
        conn->class->error(conn, xid, error, conn->aux);
    }
}

static void
ctl_ofconn_handle_barrier(struct ctl_ofconn *conn, const struct ofp_header *oh)
{
    uint32_t xid = ntohl(oh->xid);

    for (size_t i = 0; i < conn->n_barriers; i++) {
        if (conn->barriers[i].xid == xid) {
            struct ctl_barrier b = conn->barriers[i];
            memmove(&conn->barriers[i], &conn->barriers[i + 1],
                    (conn->n_barriers - i - 1) * sizeof *conn->barriers);
            conn->n_barriers--;
            b.cb(conn, 0, b.aux);
            return;
        }
    }
    VLOG_DBG("%s: barrier reply for unknown xid %"PRIu32, conn->name, xid);
}

static void
ctl_ofconn_dispatch(struct ctl_ofconn *conn, const struct ofp_header *oh)
{
    size_t len = ntohs(oh->length);
    enum ofptype type;
    enum ofperr error;

    if (conn->state == CTL_OFCONN_HELLO) {
        ctl_ofconn_handle_hello(conn, oh);
        return;
    }
    if (oh->type == CTL_OFPT_PACKET_IN && conn->state == CTL_OFCONN_READY
        && conn->class->packet_in && !VLOG_IS_DBG_ENABLED()
        && conn->class->packet_in(conn, oh, conn->aux)) {
        /* The owner's hot path took it. */
        return;
    }
    error = ofptype_decode(&type, oh);
    if (error) {
        ctl_ofconn_garbage(conn, "undecodable message (type %d, length %zu):"
                           " %s", oh->type, len, ofperr_get_name(error));
        return;
    }
    if (VLOG_IS_DBG_ENABLED()) {
        char *s = ofp_to_string(oh, len, NULL, NULL, 1);
        VLOG_DBG("%s: received %s", conn->name, s);
        free(s);
    }

    switch (type) {
    case OFPTYPE_ECHO_REQUEST:
        ctl_ofconn_send_reply(conn, ofputil_encode_echo_reply(oh));
        break;
    case OFPTYPE_ECHO_REPLY:
        conn->echo_pending = false;
        break;
    case OFPTYPE_ERROR:
        ctl_ofconn_handle_error(conn, oh);
        break;
    case OFPTYPE_FEATURES_REPLY:
        ctl_ofconn_handle_features(conn, oh);
        break;
    case OFPTYPE_PORT_DESC_STATS_REPLY:
        ctl_ofconn_handle_port_desc(conn, oh);
        break;
    case OFPTYPE_PORT_STATUS: {
        struct ofputil_port_status ps;
        error = ofputil_decode_port_status(oh, &ps);
        if (error) {
            ctl_ofconn_garbage(conn, "bad port-status: %s",
                               ofperr_get_name(error));
            return;
        }
        ctl_ofconn_port_update(conn, &ps.desc, ps.reason);
        break;
    }
    case OFPTYPE_BARRIER_REPLY:
        ctl_ofconn_handle_barrier(conn, oh);
        break;
    case OFPTYPE_HELLO:
        VLOG_DBG("%s: extra hello ignored", conn->name);
        break;
    default:
        if (conn->state == CTL_OFCONN_READY && conn->class->message) {
            conn->class->message(conn, type, oh, conn->aux);
        }
        break;
    }
}
