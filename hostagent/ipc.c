/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the libsf IPC (format: libsf/ipc.h).
 *
 * Objects: one struct ha_client per IPC connection (accepted on the
 * abstract listening socket, or the agent's end of a socketpair made for
 * an accepted sf connection).  A client owns at most one stack socket
 * (client->conn, whose conn->owner points back), or is a one-shot STATUS
 * or BOUND session (BOUND: the question whether the controller confirmed
 * a listener's binding, asked on a connection of its own by
 * getsockopt_sf(SF_SO_BOUND); a waiting one is answered by
 * ha_ipc_bound_update() when the controller's answer comes or the
 * listener goes).  The owning process is recorded with SO_PEERCRED when the
 * connection is accepted; accepted connections inherit the listener's.
 *
 * Lifetimes: a client lives until its IPC connection closes (EOF or
 * error).  Then its socket is closed in the stack: with FIN or FAIL if the
 * application sent CLOSE first (close_sf), aborted with RST otherwise (the
 * process exited or crashed).  The stack socket may outlive the client
 * (FIN_WAIT, TIME_WAIT, FAILED lingering); the client forgets it at once.
 * A stack socket that dies first (RST, timeout) only clears client->conn;
 * the client stays until the application closes it.
 *
 * Back-pressure: control messages to an application (REPLY, ACCEPT, PEER,
 * CLOSED) are small and queued per client if its socket buffer is full;
 * datagrams are dropped and counted instead (an application that does not
 * read loses datagrams, as with UDP).
 *
 * Batching toward applications: a client that sent BATCH (recvmmsg_sf)
 * gets the datagrams that arrive for it during one loop callback packed
 * into DATA messages of up to 'batch_max' records (SF_IPC_BATCH_BYTES),
 * built in its 'rx_msg' and sent from ha_ipc_flush() at the end of the
 * callback (ha_agent_after), or earlier when full or before a control
 * message, so that order is kept.  Other clients get one datagram per
 * message, sent at once.
 */
#include "hostagent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libsf/ipc.h"

#define HA_CLIENT_QUEUE 16
#define HA_IPC_READS_PER_WAKEUP 64

enum ha_client_kind {
    HA_CLIENT_NEW,              /* No OPEN, STATUS or BOUND yet. */
    HA_CLIENT_SOCKET,           /* An sf socket. */
    HA_CLIENT_STATUS,           /* A --status session. */
    HA_CLIENT_BOUND,            /* A BOUND question (getsockopt_sf). */
};

struct ha_ctl_msg {
    uint8_t buf[SF_IPC_CTL_MAX];
    size_t len;
    int fd;                     /* To pass with SCM_RIGHTS, or -1. */
};

struct ha_client {
    struct ha_agent *agent;
    int fd;
    uv_poll_t poll;
    pid_t pid;
    uid_t uid;
    enum ha_client_kind kind;
    struct ha_conn *conn;       /* The stack socket, or NULL. */
    bool connecting;            /* A CONNECT awaits its REPLY. */
    bool closed_sent;           /* CLOSED already told. */
    bool dead;                  /* Closing: ignore everything. */
    bool bound_wait;            /* BOUND: answer when the state is final. */
    struct sf_ipc_addr bound_addr;      /* ...of the listener here. */
    struct ha_ctl_msg queue[HA_CLIENT_QUEUE];
    int q_head, q_len;
    struct ha_client *prev, *next;
    /* Batched delivery (after BATCH): 'rx_count' records in 'rx_msg'. */
    unsigned int batch_max;     /* Records per message, 0/1: no batching. */
    uint8_t *rx_msg;            /* SF_IPC_BATCH_BYTES, or NULL. */
    size_t rx_len;
    unsigned int rx_count;
    struct ha_client *batch_next;       /* In agent->batching. */
    bool batch_queued;
};

static void ipc_accept_cb(uv_poll_t *, int status, int events);
static void client_cb(uv_poll_t *, int status, int events);
static struct ha_client *client_new(struct ha_agent *, int fd);
static void client_close(struct ha_client *, bool graceful);
static void client_closed_cb(uv_handle_t *);
static void client_message(struct ha_client *, const uint8_t *, size_t);
static void client_reply(struct ha_client *, int error,
                         const struct sf_ipc_addr *, int n_addrs);
static void client_ctl(struct ha_client *, enum sf_ipc_type, int32_t arg,
                       const struct sf_ipc_addr *, int n_addrs, int fd);
static void client_flush(struct ha_client *);
static void client_update_poll(struct ha_client *);
static void client_data(struct ha_client *, const struct sf_ipc_addr *,
                        const void *, size_t);
static void client_status(struct ha_client *);
static void client_data_flush(struct ha_client *);
static void client_batch_unlink(struct ha_client *);
static void client_bind(struct ha_client *, const struct sf_ipc_msg *);
static struct sf_ipc_addr addr_local(const struct ha_conn *);
static struct sf_ipc_addr addr_remote(const struct ha_conn *);
static void ipc_accepted(struct ha_agent *, struct ha_conn *);
static int ipc_bound_state(struct ha_agent *, const struct sf_ipc_addr *);

int
ha_ipc_open(struct ha_agent *a)
{
    struct sockaddr_un sun;
    size_t n = strlen(a->ipc_name);
    socklen_t len;
    int error;

    a->ipc_buf = malloc(SF_IPC_MAX_MSG);
    if (!a->ipc_buf) {
        return -ENOMEM;
    }
    a->ipc_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK
                       | SOCK_CLOEXEC, 0);
    if (a->ipc_fd < 0) {
        return -errno;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (n > sizeof sun.sun_path - 1) {
        n = sizeof sun.sun_path - 1;
    }
    memcpy(sun.sun_path + 1, a->ipc_name, n);   /* Abstract: leading NUL. */
    len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n);
    if (bind(a->ipc_fd, (struct sockaddr *) &sun, len) < 0
        || listen(a->ipc_fd, 128) < 0) {
        error = -errno;
        close(a->ipc_fd);
        a->ipc_fd = -1;
        return error;
    }
    error = uv_poll_init(a->loop, &a->ipc_poll, a->ipc_fd);
    if (error) {
        close(a->ipc_fd);
        a->ipc_fd = -1;
        return error;
    }
    a->ipc_poll.data = a;
    return uv_poll_start(&a->ipc_poll, UV_READABLE, ipc_accept_cb);
}

void
ha_ipc_close(struct ha_agent *a)
{
    while (a->clients) {
        client_close(a->clients, false);
    }
    if (a->ipc_fd >= 0) {
        uv_poll_stop(&a->ipc_poll);
        uv_close((uv_handle_t *) &a->ipc_poll, NULL);
        close(a->ipc_fd);
        a->ipc_fd = -1;
    }
}

void
ha_ipc_event(struct ha_conn *c, enum ha_conn_event ev, const void *data,
             size_t len, void *aux)
{
    struct ha_agent *a = aux;
    struct ha_client *cl = c->owner;
    struct sf_ipc_addr addrs[2];

    if (!cl) {
        if (ev == HA_CEV_ACCEPTED) {
            ipc_accepted(a, c);
        }
        return;
    }
    switch (ev) {
    case HA_CEV_CONNECTED:
        if (cl->connecting) {
            cl->connecting = false;
            addrs[0] = addr_local(c);
            addrs[1] = addr_remote(c);
            client_ctl(cl, SF_IPC_REPLY, (int32_t) a->net.max_payload,
                       addrs, 2, -1);
        }
        break;
    case HA_CEV_ACCEPTED:
        break;
    case HA_CEV_DATA:
        addrs[0] = ha_stack_kind(c) == HA_SOCK_DGRAM ? addr_remote(c)
                   : (struct sf_ipc_addr) { 0, 0 };
        client_data(cl, &addrs[0], data, len);
        break;
    case HA_CEV_PEER_MOVED:
        addrs[0] = addr_remote(c);
        client_ctl(cl, SF_IPC_PEER, 0, addrs, 1, -1);
        break;
    case HA_CEV_LOCAL_MOVED:
        /* Our flowID changed: the host moved, or a failover RSYN left
         * from a fresh sockID (getsockname_sf follows it). */
        addrs[0] = addr_local(c);
        client_ctl(cl, SF_IPC_LOCAL, 0, addrs, 1, -1);
        break;
    case HA_CEV_PEER_CLOSED:
        if (!cl->closed_sent) {
            cl->closed_sent = true;
            client_ctl(cl, SF_IPC_CLOSED, 0, NULL, 0, -1);
        }
        break;
    case HA_CEV_RESET:
    case HA_CEV_TIMEDOUT: {
        int e = ev == HA_CEV_RESET ? ECONNRESET : ETIMEDOUT;

        if (cl->connecting) {
            cl->connecting = false;
            client_reply(cl, ev == HA_CEV_RESET ? ECONNREFUSED : e, NULL, 0);
        } else if (!cl->closed_sent) {
            cl->closed_sent = true;
            client_ctl(cl, SF_IPC_CLOSED, -e, NULL, 0, -1);
        }
        break;
    }
    case HA_CEV_DEAD:
        if (cl->connecting) {
            cl->connecting = false;
            client_reply(cl, ECONNABORTED, NULL, 0);
        }
        cl->conn = NULL;
        break;
    }
}

pid_t
ha_ipc_owner_pid(const struct ha_conn *c)
{
    const struct ha_client *cl = c->owner;

    return cl ? cl->pid : 0;
}

int
ha_ipc_n_clients(const struct ha_agent *a)
{
    const struct ha_client *cl;
    int n = 0;

    for (cl = a->clients; cl; cl = cl->next) {
        n += cl->kind == HA_CLIENT_SOCKET;
    }
    return n;
}

void
ha_ipc_pause(struct ha_agent *a, bool paused)
{
    struct ha_client *cl;

    if (a->ipc_paused == paused) {
        return;
    }
    a->ipc_paused = paused;
    for (cl = a->clients; cl; cl = cl->next) {
        client_update_poll(cl);
    }
}

void
ha_ipc_bound_update(struct ha_agent *a)
{
    struct ha_client *cl, *next;

    for (cl = a->clients; cl; cl = next) {
        int st;

        next = cl->next;
        if (cl->kind != HA_CLIENT_BOUND || !cl->bound_wait || cl->dead) {
            continue;
        }
        st = ipc_bound_state(a, &cl->bound_addr);
        if (st) {
            cl->bound_wait = false;
            client_ctl(cl, SF_IPC_REPLY, st, &cl->bound_addr, 1, -1);
        }
    }
}

void
ha_ipc_flush(struct ha_agent *a)
{
    while (a->batching) {
        struct ha_client *cl = a->batching;

        a->batching = cl->batch_next;
        cl->batch_next = NULL;
        cl->batch_queued = false;
        client_data_flush(cl);
    }
}

/* ---- static functions ------------------------------------------------ */

static void
ipc_accept_cb(uv_poll_t *p, int status, int events)
{
    struct ha_agent *a = p->data;
    int i;

    (void) events;
    if (status < 0) {
        return;
    }
    for (i = 0; i < 32; i++) {
        struct ha_client *cl;
        struct ucred cred;
        socklen_t len = sizeof cred;
        int fd = accept4(a->ipc_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                ha_log(a, HA_LOG_WARN, "ipc: accept: %s", strerror(errno));
            }
            break;
        }
        cl = client_new(a, fd);
        if (!cl) {
            close(fd);
            continue;
        }
        if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
            cl->pid = cred.pid;
            cl->uid = cred.uid;
        }
        a->stats.ipc_clients++;
    }
}

static struct ha_client *
client_new(struct ha_agent *a, int fd)
{
    struct ha_client *cl = calloc(1, sizeof *cl);
    int bufsize = 4 << 20;

    if (!cl) {
        return NULL;
    }
    cl->agent = a;
    cl->fd = fd;
    /* Room for bursts of datagrams toward a slow reader. */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize,
                   sizeof bufsize) < 0) {
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
                          sizeof bufsize);
    }
    if (uv_poll_init(a->loop, &cl->poll, fd)) {
        free(cl);
        return NULL;
    }
    cl->poll.data = cl;
    uv_poll_start(&cl->poll, a->ipc_paused ? UV_DISCONNECT : UV_READABLE,
                  client_cb);
    cl->next = a->clients;
    if (a->clients) {
        a->clients->prev = cl;
    }
    a->clients = cl;
    return cl;
}

/* Closes the client; its socket is closed gracefully in the stack if the
 * application asked (CLOSE), else aborted. */
static void
client_close(struct ha_client *cl, bool graceful)
{
    struct ha_agent *a = cl->agent;
    int i;

    (void) graceful;
    if (cl->dead) {
        return;
    }
    cl->dead = true;
    if (cl->rx_count) {
        a->stats.ipc_rx_dropped += cl->rx_count;
        cl->rx_count = 0;
        cl->rx_len = 0;
    }
    client_batch_unlink(cl);
    if (cl->conn) {
        struct ha_conn *c = cl->conn;

        cl->conn = NULL;
        ha_stack_abort(a->stack, c, ha_agent_now(a));
    }
    for (i = 0; i < cl->q_len; i++) {
        int fd = cl->queue[(cl->q_head + i) % HA_CLIENT_QUEUE].fd;
        if (fd >= 0) {
            close(fd);
        }
    }
    if (cl->prev) {
        cl->prev->next = cl->next;
    } else {
        a->clients = cl->next;
    }
    if (cl->next) {
        cl->next->prev = cl->prev;
    }
    uv_poll_stop(&cl->poll);
    uv_close((uv_handle_t *) &cl->poll, client_closed_cb);
}

static void
client_closed_cb(uv_handle_t *h)
{
    struct ha_client *cl = h->data;

    close(cl->fd);
    free(cl->rx_msg);
    free(cl);
}

static void
client_cb(uv_poll_t *p, int status, int events)
{
    struct ha_client *cl = p->data;
    struct ha_agent *a = cl->agent;
    int i;

    if (status < 0) {
        client_close(cl, false);
        ha_agent_after(a);
        return;
    }
    if (events & UV_WRITABLE) {
        client_flush(cl);
    }
    if (events & (UV_READABLE | UV_DISCONNECT)) {
        /* Stop as soon as the interface's transmit queue pushes back
         * (ha_ipc_pause): the rest waits in the socket.  A client that
         * hung up is read to its end anyway, so that it gets closed. */
        for (i = 0; i < HA_IPC_READS_PER_WAKEUP && !cl->dead
             && (!a->ipc_paused || (events & UV_DISCONNECT)); i++) {
            ssize_t r = recv(cl->fd, a->ipc_buf, SF_IPC_MAX_MSG,
                             MSG_DONTWAIT);

            if (r < 0) {
                if (errno != EAGAIN && errno != EINTR) {
                    client_close(cl, false);
                }
                break;
            }
            if (r == 0) {
                client_close(cl, false);
                break;
            }
            client_message(cl, a->ipc_buf, (size_t) r);
        }
    }
    ha_agent_after(a);
}

static void
client_message(struct ha_client *cl, const uint8_t *buf, size_t len)
{
    struct ha_agent *a = cl->agent;
    uint64_t now = ha_agent_now(a);
    struct sf_ipc_msg m;
    int error;

    if (sf_ipc_decode(buf, len, &m)) {
        a->stats.ipc_bad++;
        ha_log(a, HA_LOG_WARN, "ipc: pid %ld: malformed message (%zu bytes, "
               "type %d)", (long) cl->pid, len, len > 1 ? buf[1] : -1);
        client_reply(cl, EBADMSG, NULL, 0);
        return;
    }

    if (cl->kind == HA_CLIENT_NEW) {
        if (m.type == SF_IPC_OPEN) {
            struct sf_ipc_addr local;

            error = ha_stack_socket(a->stack, m.arg == SF_IPC_SOCK_STREAM
                                    ? HA_SOCK_STREAM : HA_SOCK_DGRAM, 0, cl,
                                    &cl->conn);
            if (!error) {
                cl->kind = HA_CLIENT_SOCKET;
                local = addr_local(cl->conn);
                /* A positive arg: the largest payload (send_sf beyond it
                 * fails with EMSGSIZE in libsf). */
                client_ctl(cl, SF_IPC_REPLY,
                           (int32_t) ha_netio_max_payload(a), &local, 1, -1);
            } else {
                client_reply(cl, -error, NULL, 0);
            }
            return;
        }
        if (m.type == SF_IPC_MOVE) {
            uint32_t prefix = m.addr[0].flowid;

            if (cl->uid != 0 && cl->uid != geteuid()) {
                client_reply(cl, EPERM, NULL, 0);
            } else if (sfp_flowid_sock(prefix)
                       || sfp_flowid_is_unresolved(prefix)
                       || !sfp_flowid_ss(prefix)) {
                client_reply(cl, EINVAL, NULL, 0);
            } else {
                char f[SFP_FLOWID_STRLEN];

                ha_log(a, HA_LOG_INFO, "moving to prefix %s (pid %ld)",
                       sfp_flowid_format(prefix, f), (long) cl->pid);
                ha_agent_set_address(a, prefix, a->gw_mac);
                client_reply(cl, 0, NULL, 0);
            }
            return;
        }
        if (m.type == SF_IPC_STATUS) {
            cl->kind = HA_CLIENT_STATUS;
            client_status(cl);
            return;
        }
        if (m.type == SF_IPC_BOUND) {
            int st = ipc_bound_state(a, &m.addr[0]);

            cl->kind = HA_CLIENT_BOUND;
            cl->bound_addr = m.addr[0];
            if (st || !m.arg) {
                client_ctl(cl, SF_IPC_REPLY, st, &cl->bound_addr, 1, -1);
            } else {
                /* ha_ipc_bound_update() answers when the controller
                 * does (agent_bound) or the listener goes. */
                cl->bound_wait = true;
            }
            return;
        }
    } else if (cl->kind == HA_CLIENT_SOCKET) {
        struct ha_conn *c = cl->conn;

        switch (m.type) {
        case SF_IPC_DATA: {
            struct sf_ipc_iter it;
            struct sf_ipc_rec r;

            if (!c) {
                a->stats.ipc_tx_errors += m.count;
                return;
            }
            sf_ipc_iter_init(&it, &m);
            while (sf_ipc_iter_next(&it, &r)) {
                if (a->net.max_payload && r.len > a->net.max_payload) {
                    /* libsf refuses these (EMSGSIZE); never a frame the
                     * interface would drop silently. */
                    a->stats.tx_too_big++;
                    a->stats.ipc_tx_errors++;
                } else if (ha_stack_send(a->stack, c, r.addr.flowid,
                                  r.addr.objectid, r.data, r.len, now)) {
                    a->stats.ipc_tx_errors++;
                }
                c = cl->conn;
                if (!c) {
                    break;
                }
            }
            return;
        }
        case SF_IPC_BATCH:
            if (!cl->rx_msg && m.arg > 1) {
                cl->rx_msg = malloc(SF_IPC_BATCH_BYTES);
            }
            if (cl->rx_msg) {
                client_data_flush(cl);
                cl->batch_max = (unsigned int) m.arg;
            }
            return;
        case SF_IPC_BIND:
            client_bind(cl, &m);
            return;
        case SF_IPC_LISTEN:
            error = c ? ha_stack_listen(a->stack, c, m.arg) : -ENOTCONN;
            if (!error) {
                ha_agent_listening(a, c);
            }
            client_reply(cl, -error, NULL, 0);
            return;
        case SF_IPC_CONNECT:
            if (!c || cl->connecting) {
                client_reply(cl, c ? EALREADY : ECONNABORTED, NULL, 0);
                return;
            }
            if (!ha_stack_prefix(a->stack)) {
                /* Controller mode, not joined yet: no address. */
                client_reply(cl, ENETUNREACH, NULL, 0);
                return;
            }
            cl->connecting = true;
            error = ha_stack_connect(a->stack, c, m.addr[0].flowid,
                                     m.addr[0].objectid, now);
            if (error) {
                cl->connecting = false;
                client_reply(cl, error == -EISCONN ? EISCONN : -error,
                             NULL, 0);
            }
            return;
        case SF_IPC_CLOSE:
            if (c) {
                cl->conn = NULL;
                ha_stack_close(a->stack, c, m.arg & SF_IPC_CLOSE_FAIL, now);
            }
            return;
        default:
            break;
        }
    }
    a->stats.ipc_refused++;
    ha_log(a, HA_LOG_WARN, "ipc: pid %ld: %s not allowed here",
           (long) cl->pid, sf_ipc_type_name(m.type));
    client_reply(cl, EPROTO, NULL, 0);
}

static void
client_bind(struct ha_client *cl, const struct sf_ipc_msg *m)
{
    struct ha_agent *a = cl->agent;
    struct ha_conn *c = cl->conn, *n;
    uint32_t flow = m->addr[0].flowid;
    uint16_t sock = sfp_flowid_sock(flow);
    struct sf_ipc_addr local;
    int error;

    if (!c) {
        client_reply(cl, ECONNABORTED, NULL, 0);
        return;
    }
    if (flow && (flow & 0xffff0000u) != ha_stack_prefix(a->stack)) {
        client_reply(cl, EADDRNOTAVAIL, NULL, 0);
        return;
    }
    if (sock && sock != sfp_flowid_sock(c->local_flow)) {
        /* A chosen sockID: move to a socket that has it. */
        if (c->state != HA_CONN_CLOSED) {
            client_reply(cl, EINVAL, NULL, 0);
            return;
        }
        error = ha_stack_socket(a->stack, ha_stack_kind(c), sock, cl, &n);
        if (error) {
            client_reply(cl, -error, NULL, 0);
            return;
        }
        cl->conn = n;
        ha_stack_abort(a->stack, c, ha_agent_now(a));
        c = n;
    }
    error = ha_stack_bind(a->stack, c, m->addr[0].objectid);
    local = addr_local(c);
    client_reply(cl, -error, &local, 1);
}

/* The answer to BOUND for the listener at 'addr' (its sockID and
 * objectID: the prefix may have changed since the application learnt
 * it): 1 confirmed (or static mode), 0 not yet, -errno refused, -ENOENT
 * no such listener. */
static int
ipc_bound_state(struct ha_agent *a, const struct sf_ipc_addr *addr)
{
    uint16_t sock = sfp_flowid_sock(addr->flowid);
    const struct ha_client *cl;

    for (cl = a->clients; cl; cl = cl->next) {
        const struct ha_conn *c = cl->conn;

        if (cl->kind == HA_CLIENT_SOCKET && !cl->dead && c
            && c->state == HA_CONN_LISTEN && c->local_obj == addr->objectid
            && sfp_flowid_sock(c->local_flow) == sock) {
            return a->controller_mode
                   ? ha_join_bind_state(&a->join, addr->objectid, sock) : 1;
        }
    }
    return -ENOENT;
}

/* A passive connection completed: hand it to the listener's application
 * as a new descriptor (socketpair, SCM_RIGHTS), or abort it. */
static void
ipc_accepted(struct ha_agent *a, struct ha_conn *c)
{
    struct ha_conn *l = ha_stack_listener(c);
    struct ha_client *lc = l ? l->owner : NULL;
    struct ha_client *cl;
    struct sf_ipc_addr addrs[2];
    int sv[2];

    if (!lc || lc->dead
        || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        ha_stack_abort(a->stack, c, ha_agent_now(a));
        return;
    }
    /* Only the agent's end is non-blocking: file status flags are shared
     * with the descriptor the application receives. */
    if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0) {
        close(sv[0]);
        close(sv[1]);
        ha_stack_abort(a->stack, c, ha_agent_now(a));
        return;
    }
    cl = client_new(a, sv[0]);
    if (!cl) {
        close(sv[0]);
        close(sv[1]);
        ha_stack_abort(a->stack, c, ha_agent_now(a));
        return;
    }
    cl->kind = HA_CLIENT_SOCKET;
    cl->pid = lc->pid;
    cl->uid = lc->uid;
    cl->conn = c;
    c->owner = cl;
    addrs[0] = addr_local(c);
    addrs[1] = addr_remote(c);
    client_ctl(lc, SF_IPC_ACCEPT, c->resumed ? SF_IPC_ACCEPT_RESUMED : 0,
               addrs, 2, sv[1]);
}

static void
client_reply(struct ha_client *cl, int error, const struct sf_ipc_addr *addrs,
             int n_addrs)
{
    client_ctl(cl, SF_IPC_REPLY, -error, addrs, n_addrs, -1);
}

/* Sends (or queues) a control message; 'fd' (if >= 0) is passed and then
 * closed here. */
static void
client_ctl(struct ha_client *cl, enum sf_ipc_type type, int32_t arg,
           const struct sf_ipc_addr *addrs, int n_addrs, int fd)
{
    struct ha_ctl_msg *q;

    if (cl->dead) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    client_data_flush(cl);      /* Datagrams before the notification. */
    if (cl->q_len == HA_CLIENT_QUEUE) {
        /* The application reads nothing at all: give up on it. */
        ha_log(cl->agent, HA_LOG_WARN, "ipc: pid %ld: not reading, closing",
               (long) cl->pid);
        if (fd >= 0) {
            close(fd);
        }
        client_close(cl, false);
        return;
    }
    q = &cl->queue[(cl->q_head + cl->q_len++) % HA_CLIENT_QUEUE];
    q->len = sf_ipc_encode(q->buf, sizeof q->buf, type, arg, addrs, n_addrs);
    q->fd = fd;
    client_flush(cl);
}

static void
client_flush(struct ha_client *cl)
{
    while (cl->q_len && !cl->dead) {
        struct ha_ctl_msg *q = &cl->queue[cl->q_head];
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { q->buf, q->len };
        struct msghdr mh;

        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        if (q->fd >= 0) {
            struct cmsghdr *cm;

            memset(&ctl, 0, sizeof ctl);
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof ctl.buf;
            cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &q->fd, sizeof q->fd);
        }
        if (sendmsg(cl->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            if (errno == EAGAIN) {
                break;
            }
            client_close(cl, false);
            return;
        }
        if (q->fd >= 0) {
            close(q->fd);
        }
        cl->q_head = (cl->q_head + 1) % HA_CLIENT_QUEUE;
        cl->q_len--;
    }
    client_update_poll(cl);
}

static void
client_update_poll(struct ha_client *cl)
{
    if (!cl->dead) {
        uv_poll_start(&cl->poll,
                      (cl->agent->ipc_paused ? 0 : UV_READABLE)
                      | UV_DISCONNECT | (cl->q_len ? UV_WRITABLE : 0),
                      client_cb);
    }
}

static void
client_data(struct ha_client *cl, const struct sf_ipc_addr *addr,
            const void *data, size_t len)
{
    uint8_t hdr[SF_IPC_DATA_OFF];
    struct iovec iov[2];
    struct msghdr mh;

    if (cl->dead || cl->q_len) {
        cl->agent->stats.ipc_rx_dropped++;
        return;
    }
    if (cl->batch_max > 1 && SF_IPC_DATA_OFF + len <= SF_IPC_BATCH_BYTES) {
        if (cl->rx_count >= cl->batch_max) {
            client_data_flush(cl);
        }
        if (cl->rx_count
            && sf_ipc_append_data(cl->rx_msg, SF_IPC_BATCH_BYTES,
                                  &cl->rx_len, addr, data, len)) {
            client_data_flush(cl);      /* No room left: start anew. */
        }
        if (!cl->rx_count) {
            cl->rx_len = 0;
            (void) sf_ipc_append_data(cl->rx_msg, SF_IPC_BATCH_BYTES,
                                      &cl->rx_len, addr, data, len);
            if (!cl->batch_queued) {
                cl->batch_queued = true;
                cl->batch_next = cl->agent->batching;
                cl->agent->batching = cl;
            }
        }
        cl->rx_count++;
        return;
    }
    sf_ipc_encode_data_hdr(hdr, addr, len);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    iov[1].iov_base = (void *) data;
    iov[1].iov_len = len;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    if (sendmsg(cl->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        cl->agent->stats.ipc_rx_dropped++;
    }
}

static void
client_status(struct ha_client *cl)
{
    struct ha_agent *a = cl->agent;
    size_t cap = 1 << 20, len, off = 0;
    char *text = malloc(cap);

    if (!text) {
        client_reply(cl, ENOMEM, NULL, 0);
        return;
    }
    len = ha_agent_status(a, text, cap);
    /* TEXT messages of at most 32 KiB; the last has arg 1.  Sent
     * blocking-free: a status reader that does not read loses the tail. */
    do {
        size_t n = len - off > 32768 ? 32768 : len - off;
        uint8_t hdr[SF_IPC_HDR_LEN];
        struct iovec iov[2];
        struct msghdr mh;

        sf_ipc_encode(hdr, sizeof hdr, SF_IPC_TEXT, off + n == len, NULL, 0);
        iov[0].iov_base = hdr;
        iov[0].iov_len = sizeof hdr;
        iov[1].iov_base = text + off;
        iov[1].iov_len = n;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = 2;
        if (sendmsg(cl->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            break;
        }
        off += n;
    } while (off < len);
    free(text);
}

static struct sf_ipc_addr
addr_local(const struct ha_conn *c)
{
    struct sf_ipc_addr a = { c->local_flow, c->local_obj };
    return a;
}

static struct sf_ipc_addr
addr_remote(const struct ha_conn *c)
{
    struct sf_ipc_addr a = { c->remote_flow, c->remote_obj };
    return a;
}

/* Sends the batch built in 'cl->rx_msg', if any.  A full socket buffer
 * drops it (counted per datagram), as for single datagrams. */
static void
client_data_flush(struct ha_client *cl)
{
    struct ha_agent *a = cl->agent;

    if (!cl->rx_count) {
        return;
    }
    if (cl->dead || cl->q_len
        || send(cl->fd, cl->rx_msg, cl->rx_len,
                MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        a->stats.ipc_rx_dropped += cl->rx_count;
    } else {
        a->stats.ipc_rx_batches++;
        a->stats.ipc_rx_batched += cl->rx_count;
    }
    cl->rx_count = 0;
    cl->rx_len = 0;
}

static void
client_batch_unlink(struct ha_client *cl)
{
    struct ha_client **p;

    if (!cl->batch_queued) {
        return;
    }
    for (p = &cl->agent->batching; *p; p = &(*p)->batch_next) {
        if (*p == cl) {
            *p = cl->batch_next;
            break;
        }
    }
    cl->batch_next = NULL;
    cl->batch_queued = false;
}
