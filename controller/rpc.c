/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SCAFFOLD controller: the admin RPC server (see rpc.h and docs/rpc.md).
 *
 * Data structures.
 *   - struct ctl_rpc_server: the listeners (a Unix socket, optionally a TCP
 *     socket), the follow poll timer, and the list of connected clients.
 *     'n_open' counts the libuv handles not yet closed; once
 *     ctl_rpc_server_stop() was called and it drops to zero, the stop
 *     callback runs.
 *   - struct ctl_rpc_client: one accepted connection, from accept until its
 *     close callback, on the server's 'clients' list.  It owns its framer
 *     (proto/framing.h) and its read buffer.  Writes in flight are counted
 *     in 'n_writes'; a client told to close after an error Response
 *     ('close_after_write') stops reading and is closed when they drain.
 *   - struct ctl_rpc_write: one framed Response being written; freed in the
 *     write callback (which libuv also calls, with UV_ECANCELED, for writes
 *     still queued when the handle closes).
 *
 * Flow of control.  Bytes read are fed to the client's framer; each
 * complete frame is unpacked as an admin Request and answered at once,
 * synchronously, from the db handle or through a hook: there is no request
 * state that outlives the read callback except the follow state of
 * ListEvents (the 'following' fields), which the event push (from
 * ctl_rpc_notify_event() or the poll timer) uses to send new events.
 * Responses are built from stack and heap pieces that point into the db
 * rows, packed into one malloc'ed frame, and the pieces freed at once.
 */
#include "controller/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "openvswitch/list.h"
#include "proto/admin.pb-c.h"
#include "proto/framing.h"
#include "controller/log.h"
#include "controller/rules.h"

VLOG_DEFINE_THIS_MODULE(rpc);

static struct vlog_rate_limit rpc_rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* Largest Response payload the server sends (sfctl accepts as much). */
#define CTL_RPC_MAX_RESPONSE (16u * 1024u * 1024u)

/* Most clients served at once; more are accepted and closed at once. */
#define CTL_RPC_MAX_CLIENTS 256

/* A follower whose unsent Responses exceed this is disconnected. */
#define CTL_RPC_MAX_QUEUED (8u * 1024u * 1024u)

/* Most events per Response, whatever the request's limit says. */
#define CTL_RPC_EVENT_LIMIT_MAX 10000

/* Bytes read from a client per read callback. */
#define CTL_RPC_READ_SIZE 65536

/* Admin error codes, shorter. */
#define RPC_E_BAD_REQUEST SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST
#define RPC_E_UNAUTHORIZED SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED
#define RPC_E_NOT_FOUND SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND
#define RPC_E_INVALID_ARGUMENT \
    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT
#define RPC_E_UNSUPPORTED SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNSUPPORTED
#define RPC_E_UNAVAILABLE SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAVAILABLE
#define RPC_E_INTERNAL SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INTERNAL

typedef Scaffold__Admin__Response Response;
typedef Scaffold__Admin__Request Request;

struct ctl_rpc_server {
    uv_loop_t *loop;            /* Not owned. */
    struct db *db;              /* Not owned. */
    struct ctl_rpc_hooks hooks; /* Copy of the caller's hooks. */
    void *aux;                  /* Passed to every hook and to 'stop_cb'. */

    char *unix_path;            /* Socket path (owned). */
    char *token;                /* TCP token (owned), NULL without TCP. */
    size_t token_len;           /* strlen(token). */
    char *db_path;              /* For GetStatus (owned), may be NULL. */
    char *tcp_spec;             /* "tcp:..." for logs (owned), or NULL. */
    struct sockaddr_storage tcp_addr; /* Parsed TCP address. */
    size_t max_frame;           /* Largest Request payload. */
    unsigned int follow_poll_ms;/* Event poll period while following. */

    uv_pipe_t pipe;             /* Unix listener. */
    uv_tcp_t tcp;               /* TCP listener (if 'tcp_spec'). */
    uv_timer_t timer;           /* Follow poll. */
    bool pipe_open;             /* 'pipe' initialised, not yet closing. */
    bool tcp_open;              /* 'tcp' initialised, not yet closing. */
    bool timer_open;            /* 'timer' initialised, not yet closing. */
    bool bound;                 /* We created the socket file. */
    bool started;               /* ctl_rpc_server_start() was called. */
    bool stopping;              /* ctl_rpc_server_stop() was called. */
    int tcp_port;               /* Bound TCP port, 0 if none. */

    struct ovs_list clients;    /* struct ctl_rpc_client, by 'node'. */
    size_t n_clients;           /* Length of 'clients'. */
    size_t n_followers;         /* Clients with 'following' set. */
    unsigned int n_accepted;    /* Counter naming Unix clients. */
    int n_open;                 /* Handles not yet closed. */
    void (*stop_cb)(struct ctl_rpc_server *, void *aux);
};

struct ctl_rpc_client {
    struct ovs_list node;       /* In the server's 'clients'. */
    struct ctl_rpc_server *server; /* Owner. */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;                        /* The connection ('is_tcp' says which). */
    bool is_tcp;                /* Needs the token. */
    char name[96];              /* For logs: "admin unix#N" or
                                 * "admin tcp:ADDR:PORT". */
    struct sfp_framer framer;   /* Request frames. */
    bool closing;               /* uv_close() called. */
    bool close_after_write;     /* Fatal error sent: close once written. */
    size_t n_writes;            /* Writes in flight. */
    bool following;             /* A ListEvents with follow is active. */
    uint64_t follow_req_id;     /* Its request id. */
    uint64_t follow_since;      /* Newest event id sent to it. */
    uint32_t follow_limit;      /* Events per Response. */
    char rbuf[CTL_RPC_READ_SIZE]; /* Read buffer. */
};

struct ctl_rpc_write {
    uv_write_t req;             /* libuv request; req.data unused. */
    struct ctl_rpc_client *client; /* Writer. */
    uint8_t *buf;               /* Framed Response (malloc'ed, owned). */
};

static int parse_tcp(const char *spec, struct sockaddr_storage *ss);
static void client_close(struct ctl_rpc_client *);
static void handle_closed(struct ctl_rpc_server *);
static void on_listener_closed(uv_handle_t *);
static void on_connection(uv_stream_t *, int status);
static void follow_push(struct ctl_rpc_client *);
static void follow_stop(struct ctl_rpc_client *);
static void on_timer(uv_timer_t *);

/* ---- public functions --------------------------------------------------- */

int
ctl_rpc_default_path(const char *state_dir, char *buf, size_t size)
{
    struct sockaddr_un sun;

    if (!state_dir || !buf) {
        return -EINVAL;
    }
    int n = snprintf(buf, size, "%s/%s", state_dir, CTL_RPC_SOCKET_NAME);
    if (n < 0 || (size_t) n >= size || (size_t) n >= sizeof sun.sun_path) {
        return -ENAMETOOLONG;
    }
    return 0;
}

int
ctl_rpc_server_create(uv_loop_t *loop, struct db *db,
                      const struct ctl_rpc_config *cfg,
                      const struct ctl_rpc_hooks *hooks, void *aux,
                      struct ctl_rpc_server **out)
{
    struct sockaddr_un sun;

    if (!out) {
        return -EINVAL;
    }
    *out = NULL;
    if (!loop || !db || !cfg || !cfg->unix_path || !cfg->unix_path[0]
        || strlen(cfg->unix_path) >= sizeof sun.sun_path
        || cfg->max_frame > SFP_FRAMING_LIMIT) {
        return -EINVAL;
    }
    if (cfg->tcp && (!cfg->token || !cfg->token[0])) {
        return -EINVAL;
    }

    struct ctl_rpc_server *s = calloc(1, sizeof *s);
    if (!s) {
        return -ENOMEM;
    }
    s->loop = loop;
    s->db = db;
    if (hooks) {
        s->hooks = *hooks;
    }
    s->aux = aux;
    s->max_frame = cfg->max_frame ? cfg->max_frame : CTL_RPC_MAX_FRAME;
    s->follow_poll_ms = cfg->follow_poll_ms ? cfg->follow_poll_ms : 1000;
    ovs_list_init(&s->clients);

    s->unix_path = strdup(cfg->unix_path);
    if (!s->unix_path
        || (cfg->db_path && !(s->db_path = strdup(cfg->db_path)))) {
        ctl_rpc_server_destroy(s);
        return -ENOMEM;
    }
    if (cfg->tcp) {
        if (parse_tcp(cfg->tcp, &s->tcp_addr)) {
            ctl_rpc_server_destroy(s);
            return -EINVAL;
        }
        s->tcp_spec = strdup(cfg->tcp);
        s->token = strdup(cfg->token);
        if (!s->tcp_spec || !s->token) {
            ctl_rpc_server_destroy(s);
            return -ENOMEM;
        }
        s->token_len = strlen(s->token);
    }
    *out = s;
    return 0;
}

/* Removes a socket file left by a previous run.  Returns 0 if 'path' does
 * not exist or was a stale socket (now removed), -EADDRINUSE if a server
 * answers on it, -EEXIST if it is not a socket. */
static int
remove_stale(const char *path)
{
    struct stat st;

    if (lstat(path, &st)) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int live = !connect(fd, (struct sockaddr *) &sun, sizeof sun);
    close(fd);
    if (live) {
        return -EADDRINUSE;
    }
    if (unlink(path) && errno != ENOENT) {
        return -errno;
    }
    VLOG_INFO("replaced stale socket %s", path);
    return 0;
}

static int
start_unix(struct ctl_rpc_server *s)
{
    int rc = uv_pipe_init(s->loop, &s->pipe, 0);
    if (rc) {
        return rc;
    }
    s->pipe.data = s;
    s->pipe_open = true;
    s->n_open++;

    rc = remove_stale(s->unix_path);
    if (rc) {
        VLOG_ERR("admin socket %s: %s", s->unix_path,
                 rc == -EADDRINUSE ? "another server answers on it"
                 : rc == -EEXIST ? "exists and is not a socket"
                 : strerror(-rc));
        return rc;
    }
    rc = uv_pipe_bind(&s->pipe, s->unix_path);
    if (rc) {
        VLOG_ERR("bind %s: %s", s->unix_path, uv_strerror(rc));
        return rc;
    }
    s->bound = true;
    /* Nobody can connect before uv_listen(), so the mode is right before
     * the first client arrives. */
    if (chmod(s->unix_path, 0600)) {
        rc = -errno;
        VLOG_ERR("chmod %s: %s", s->unix_path, strerror(errno));
        return rc;
    }
    rc = uv_listen((uv_stream_t *) &s->pipe, 64, on_connection);
    if (rc) {
        VLOG_ERR("listen %s: %s", s->unix_path, uv_strerror(rc));
    }
    return rc;
}

static int
start_tcp(struct ctl_rpc_server *s)
{
    int rc = uv_tcp_init(s->loop, &s->tcp);
    if (rc) {
        return rc;
    }
    s->tcp.data = s;
    s->tcp_open = true;
    s->n_open++;

    rc = uv_tcp_bind(&s->tcp, (const struct sockaddr *) &s->tcp_addr, 0);
    if (!rc) {
        rc = uv_listen((uv_stream_t *) &s->tcp, 64, on_connection);
    }
    if (rc) {
        VLOG_ERR("listen %s: %s", s->tcp_spec, uv_strerror(rc));
        return rc;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!uv_tcp_getsockname(&s->tcp, (struct sockaddr *) &ss, &len)) {
        s->tcp_port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *) &ss)->sin6_port
                            : ((struct sockaddr_in *) &ss)->sin_port);
    }
    return 0;
}

int
ctl_rpc_server_start(struct ctl_rpc_server *s)
{
    if (!s || s->started || s->stopping) {
        return -EINVAL;
    }
    s->started = true;

    int rc = uv_timer_init(s->loop, &s->timer);
    if (rc) {
        return rc;
    }
    s->timer.data = s;
    s->timer_open = true;
    s->n_open++;

    rc = start_unix(s);
    if (!rc && s->tcp_spec) {
        rc = start_tcp(s);
    }
    if (!rc && s->tcp_spec) {
        VLOG_INFO("serving on %s and %s (port %d)", s->unix_path,
                  s->tcp_spec, s->tcp_port);
    } else if (!rc) {
        VLOG_INFO("serving on %s", s->unix_path);
    }
    return rc;
}

int
ctl_rpc_server_tcp_port(const struct ctl_rpc_server *s)
{
    return s ? s->tcp_port : 0;
}

size_t
ctl_rpc_server_n_clients(const struct ctl_rpc_server *s)
{
    return s ? s->n_clients : 0;
}

void
ctl_rpc_server_stop(struct ctl_rpc_server *s,
                    void (*cb)(struct ctl_rpc_server *, void *aux))
{
    if (!s || s->stopping) {
        return;
    }
    s->stopping = true;
    s->stop_cb = cb;

    if (s->bound) {
        unlink(s->unix_path);
        s->bound = false;
    }
    if (s->pipe_open) {
        s->pipe_open = false;
        uv_close((uv_handle_t *) &s->pipe, on_listener_closed);
    }
    if (s->tcp_open) {
        s->tcp_open = false;
        uv_close((uv_handle_t *) &s->tcp, on_listener_closed);
    }
    if (s->timer_open) {
        s->timer_open = false;
        uv_close((uv_handle_t *) &s->timer, on_listener_closed);
    }
    struct ctl_rpc_client *c, *next;
    LIST_FOR_EACH_SAFE (c, next, node, &s->clients) {
        client_close(c);
    }
    if (!s->n_open && s->stop_cb) {
        /* Never started: nothing to wait for. */
        s->stop_cb(s, s->aux);
    }
}

void
ctl_rpc_server_destroy(struct ctl_rpc_server *s)
{
    if (!s) {
        return;
    }
    free(s->unix_path);
    free(s->token);
    free(s->db_path);
    free(s->tcp_spec);
    free(s);
}

void
ctl_rpc_notify_event(struct ctl_rpc_server *s)
{
    if (!s || s->stopping || !s->n_followers) {
        return;
    }
    struct ctl_rpc_client *c, *next;
    LIST_FOR_EACH_SAFE (c, next, node, &s->clients) {
        if (c->following && !c->closing && !c->close_after_write) {
            follow_push(c);
        }
    }
}

/* ---- listeners and clients ---------------------------------------------- */

/* Parses "tcp:ADDR:PORT" or "tcp:[ADDR]:PORT" into '*ss'. */
static int
parse_tcp(const char *spec, struct sockaddr_storage *ss)
{
    char host[64];
    const char *port;

    if (strncmp(spec, "tcp:", 4)) {
        return -EINVAL;
    }
    spec += 4;
    if (*spec == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':'
            || (size_t) (end - spec - 1) >= sizeof host) {
            return -EINVAL;
        }
        memcpy(host, spec + 1, end - spec - 1);
        host[end - spec - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t) (colon - spec) >= sizeof host) {
            return -EINVAL;
        }
        memcpy(host, spec, colon - spec);
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    unsigned long p = strtoul(port, &end, 10);
    if (!*port || *end || errno || p > 65535) {
        return -EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    if (!uv_ip4_addr(host, (int) p, (struct sockaddr_in *) ss)) {
        return 0;
    }
    if (!uv_ip6_addr(host, (int) p, (struct sockaddr_in6 *) ss)) {
        return 0;
    }
    return -EINVAL;
}

static void
handle_closed(struct ctl_rpc_server *s)
{
    s->n_open--;
    if (s->stopping && !s->n_open && s->stop_cb) {
        s->stop_cb(s, s->aux);
    }
}

static void
on_listener_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void
on_client_closed(uv_handle_t *h)
{
    struct ctl_rpc_client *c = h->data;
    struct ctl_rpc_server *s = c->server;

    ovs_list_remove(&c->node);
    s->n_clients--;
    sfp_framer_destroy(&c->framer);
    free(c);
    handle_closed(s);
}

static void
client_close(struct ctl_rpc_client *c)
{
    if (c->closing) {
        return;
    }
    follow_stop(c);
    c->closing = true;
    uv_close(&c->h.handle, on_client_closed);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_rpc_client *c = h->data;

    (void) suggested;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void handle_frame(struct ctl_rpc_client *, const uint8_t *, size_t);
static void fail(struct ctl_rpc_client *, uint64_t id, int code,
                 const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_rpc_client *c = stream->data;

    if (nread < 0) {
        if (nread != UV_EOF) {
            VLOG_DBG_RL(&rpc_rl, "%s: read: %s", c->name,
                        uv_strerror((int) nread));
        } else if (sfp_framer_end(&c->framer) != SFP_FRAMING_MORE) {
            VLOG_WARN_RL(&rpc_rl, "%s: closed inside a frame",
                         c->name);
        }
        client_close(c);
        return;
    }

    const uint8_t *p = (const uint8_t *) buf->base;
    size_t left = (size_t) nread;
    while (left && !c->closing && !c->close_after_write) {
        const uint8_t *frame;
        size_t used, frame_len;
        int rc = sfp_framer_feed(&c->framer, p, left, &used, &frame,
                                 &frame_len);
        p += used;
        left -= used;
        if (rc == SFP_FRAMING_FRAME) {
            handle_frame(c, frame, frame_len);
        } else if (rc == SFP_FRAMING_MORE) {
            break;
        } else if (rc == SFP_FRAMING_TOO_BIG) {
            VLOG_WARN_RL(&rpc_rl, "%s: frame above %zu bytes refused",
                         c->name, c->server->max_frame);
            fail(c, 0, RPC_E_BAD_REQUEST,
                 "frame larger than %zu bytes", c->server->max_frame);
        } else {
            fail(c, 0, RPC_E_INTERNAL,
                 "framing: %s", sfp_framing_strerror(rc));
        }
    }
}

static void
on_connection(uv_stream_t *listener, int status)
{
    struct ctl_rpc_server *s = listener->data;
    bool is_tcp = listener == (uv_stream_t *) &s->tcp;

    if (status < 0) {
        VLOG_WARN_RL(&rpc_rl, "admin accept: %s", uv_strerror(status));
        return;
    }
    struct ctl_rpc_client *c = calloc(1, sizeof *c);
    if (!c) {
        VLOG_WARN_RL(&rpc_rl, "admin accept: out of memory");
        return;
    }
    c->server = s;
    c->is_tcp = is_tcp;
    int rc = is_tcp ? uv_tcp_init(s->loop, &c->h.tcp)
                    : uv_pipe_init(s->loop, &c->h.pipe, 0);
    if (rc) {
        free(c);
        return;
    }
    c->h.handle.data = c;
    sfp_framer_init(&c->framer, s->max_frame);
    ovs_list_push_back(&s->clients, &c->node);
    s->n_clients++;
    s->n_open++;

    rc = uv_accept(listener, &c->h.stream);
    if (rc) {
        VLOG_WARN_RL(&rpc_rl, "admin accept: %s", uv_strerror(rc));
        client_close(c);
        return;
    }
    if (is_tcp) {
        struct sockaddr_storage ss;
        char addr[64] = "?";
        int len = sizeof ss, port = 0;
        if (!uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *) &ss, &len)) {
            if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                uv_ip6_name(in6, addr, sizeof addr);
                port = ntohs(in6->sin6_port);
            } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                uv_ip4_name(in, addr, sizeof addr);
                port = ntohs(in->sin_port);
            }
        }
        snprintf(c->name, sizeof c->name, "admin tcp:%s:%d", addr, port);
    } else {
        snprintf(c->name, sizeof c->name, "admin unix#%u", ++s->n_accepted);
    }
    if (s->n_clients > CTL_RPC_MAX_CLIENTS) {
        VLOG_WARN_RL(&rpc_rl, "%s: too many clients, closing",
                     c->name);
        client_close(c);
        return;
    }
    rc = uv_read_start(&c->h.stream, on_alloc, on_read);
    if (rc) {
        client_close(c);
        return;
    }
    VLOG_DBG("%s: connected", c->name);
}

/* ---- sending ------------------------------------------------------------ */

static void
on_write(uv_write_t *req, int status)
{
    struct ctl_rpc_write *w = (struct ctl_rpc_write *) req;
    struct ctl_rpc_client *c = w->client;

    free(w->buf);
    free(w);
    c->n_writes--;
    if (c->closing) {
        return;
    }
    if (status) {
        VLOG_DBG_RL(&rpc_rl, "%s: write: %s", c->name,
                    uv_strerror(status));
        client_close(c);
    } else if (c->close_after_write && !c->n_writes) {
        client_close(c);
    }
}

/* Frames 'r' and queues it on 'c'.  Returns 0, or a negative errno value
 * (-EMSGSIZE: the Response is too large to send). */
static int
send_response(struct ctl_rpc_client *c, const Response *r)
{
    if (c->closing) {
        return -ENOTCONN;
    }
    struct ctl_rpc_write *w = calloc(1, sizeof *w);
    if (!w) {
        return -ENOMEM;
    }
    size_t len;
    int rc = sfp_framing_encode_alloc(&r->base, CTL_RPC_MAX_RESPONSE,
                                      &w->buf, &len);
    if (rc) {
        free(w);
        return rc;
    }
    w->client = c;
    uv_buf_t b = uv_buf_init((char *) w->buf, (unsigned int) len);
    rc = uv_write(&w->req, &c->h.stream, &b, 1, on_write);
    if (rc) {
        free(w->buf);
        free(w);
        client_close(c);
        return rc;
    }
    c->n_writes++;
    return 0;
}

static void
send_verror(struct ctl_rpc_client *c, uint64_t id, int code,
            const char *fmt, va_list args)
{
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    Scaffold__Admin__Error e = SCAFFOLD__ADMIN__ERROR__INIT;
    char msg[256];

    vsnprintf(msg, sizeof msg, fmt, args);
    e.code = code;
    e.message = msg;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR;
    r.error = &e;
    send_response(c, &r);
}

static void send_error(struct ctl_rpc_client *, uint64_t id, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends an error Response; the connection stays open. */
static void
send_error(struct ctl_rpc_client *c, uint64_t id, int code,
           const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    send_verror(c, id, code, fmt, args);
    va_end(args);
}

/* Sends an error Response, stops reading and closes 'c' once it is
 * written. */
static void
fail(struct ctl_rpc_client *c, uint64_t id, int code, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    send_verror(c, id, code, fmt, args);
    va_end(args);
    if (c->closing) {
        return;
    }
    c->close_after_write = true;
    follow_stop(c);
    uv_read_stop(&c->h.stream);
    if (!c->n_writes) {
        client_close(c);
    }
}

/* Sends 'r' and, if it cannot be encoded, an INTERNAL error instead. */
static void
send_or_complain(struct ctl_rpc_client *c, const Response *r)
{
    int rc = send_response(c, r);
    if (rc == -EMSGSIZE || rc == -ENOMEM) {
        send_error(c, r->id, RPC_E_INTERNAL,
                   "response not sent: %s", strerror(-rc));
    }
}

/* Maps a negative errno value from db/ or a hook to an admin ErrorCode. */
static int
errno_to_code(int rc)
{
    switch (-rc) {
    case ENOENT:
        return RPC_E_NOT_FOUND;
    case EINVAL:
    case ERANGE:
        return RPC_E_INVALID_ARGUMENT;
    case ENOTSUP:
    case ENOSYS:
        return RPC_E_UNSUPPORTED;
    case ENOTCONN:
    case EAGAIN:
    case EBUSY:
    case ETIMEDOUT:
        return RPC_E_UNAVAILABLE;
    default:
        return RPC_E_INTERNAL;
    }
}

/* Sends the error for a failed db call 'what' that returned 'rc'. */
static void
send_db_error(struct ctl_rpc_client *c, uint64_t id, const char *what,
              int rc)
{
    VLOG_WARN_RL(&rpc_rl, "%s: %s: %s", c->name, what,
                 db_errmsg(c->server->db));
    send_error(c, id, errno_to_code(rc), "%s: %s", what, strerror(-rc));
}

/* ---- building messages -------------------------------------------------- */

static Scaffold__Admin__SwitchRole
role_to_proto(enum db_role role)
{
    switch (role) {
    case DB_ROLE_LABEL:
        return SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL;
    case DB_ROLE_OBJECT:
        return SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT;
    case DB_ROLE_UNKNOWN:
    default:
        return SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_UNKNOWN;
    }
}

static ProtobufCBinaryData
mac_bytes(const uint8_t *mac)
{
    ProtobufCBinaryData b = { DB_MAC_LEN, (uint8_t *) mac };
    return b;
}

/* Fills 'm' from 's'; 'm' points into 's'. */
static void
fill_switch(struct ctl_rpc_server *srv, Scaffold__Admin__Switch *m,
            struct db_switch *s)
{
    struct db_port *ports;
    size_t n_ports = 0;

    scaffold__admin__switch__init(m);
    m->dpid = s->dpid;
    m->name = s->name;
    m->role = role_to_proto(s->role);
    m->of_version = s->of_version;
    m->connected = s->connected;
    m->last_seen_ms = s->last_seen;
    if (!db_port_list(srv->db, s->dpid, &ports, &n_ports)) {
        free(ports);
        m->n_ports = (uint32_t) n_ports;
    }
    if (srv->hooks.switch_info) {
        struct ctl_rpc_switch_info info;
        memset(&info, 0, sizeof info);
        if (!srv->hooks.switch_info(srv->aux, s->dpid, &info)) {
            m->has_round_robin = info.has_round_robin;
        }
    }
}

static void
fill_link(Scaffold__Admin__Link *m, const struct db_link *l)
{
    scaffold__admin__link__init(m);
    m->src_dpid = l->src_dpid;
    m->src_port = l->src_port;
    m->dst_dpid = l->dst_dpid;
    m->dst_port = l->dst_port;
    m->last_probe_ms = l->last_probe;
}

static void
fill_host(Scaffold__Admin__Host *m, struct db_host *h)
{
    scaffold__admin__host__init(m);
    m->mac = mac_bytes(h->mac);
    m->ss_id = h->ss_id;
    m->host_id = h->host_id;
    m->dpid = h->dpid;
    m->port_no = h->port_no;
    m->lease_expiry_ms = h->lease_expiry;
    m->joined_ms = h->joined_at;
    m->moved_ms = h->moved_at;
    m->name = h->name;
}

static void
fill_instance(Scaffold__Admin__Instance *m, struct db_instance *i)
{
    scaffold__admin__instance__init(m);
    m->object_id = i->object_id;
    m->flow_id = i->flow_id;
    m->host_mac = mac_bytes(i->host_mac);
    m->bound_ms = i->bound_at;
}

/* Allocates 'n' messages of 'size' bytes and an array of 'n' pointers to
 * them, in one block ('*ptrs' is the block; free it alone). */
static void *
alloc_msgs(size_t n, size_t size, void ***ptrs)
{
    *ptrs = NULL;
    if (!n) {
        return NULL;
    }
    void **block = calloc(1, n * (sizeof *block + size));
    if (!block) {
        return NULL;
    }
    uint8_t *msgs = (uint8_t *) (block + n);
    for (size_t i = 0; i < n; i++) {
        block[i] = msgs + i * size;
    }
    *ptrs = block;
    return msgs;
}

#define CTL_RPC_ALLOC(N, TYPE, PTRS) \
    ((TYPE *) alloc_msgs(N, sizeof(TYPE), (void ***) (PTRS)))

static void
send_nomem(struct ctl_rpc_client *c, uint64_t id)
{
    send_error(c, id, RPC_E_INTERNAL,
               "out of memory");
}

/* Fills the message at 'msg' from the db row at 'row'. */
typedef void fill_fn(void *msg, const void *row);

/* Builds the repeated field of a list Response for request 'id': one
 * message of 'msg_size' bytes per row of 'rows' ('n' rows of 'row_size'
 * bytes), each filled by 'fill'.  A message may be the protobuf-c message
 * followed by room for the strings it points to.  Stores in '*ptrs' the
 * array of 'n' pointers to the messages (one malloc'ed block, which the
 * caller frees with free() after sending; NULL when 'n' is 0) and returns
 * true; out of memory, sends the error and returns false. */
static bool
build_list(struct ctl_rpc_client *c, uint64_t id, const void *rows,
           size_t n, size_t row_size, size_t msg_size, fill_fn *fill,
           void ***ptrs)
{
    uint8_t *msgs = alloc_msgs(n, msg_size, ptrs);

    if (n && !msgs) {
        send_nomem(c, id);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        fill(msgs + i * msg_size, (const uint8_t *) rows + i * row_size);
    }
    return true;
}

/* A Block message with room for its prefix text (calloc'ed by
 * alloc_msgs(), so the text starts empty). */
struct block_msg {
    Scaffold__Admin__Block m;   /* First: what the pointer array names. */
    char prefix[24];            /* "ss.first.0.0/len". */
};

static void
fill_block(void *msg_, const void *row)
{
    struct block_msg *msg = msg_;
    const struct db_block *b = row;
    Scaffold__Admin__Block *m = &msg->m;

    scaffold__admin__block__init(m);
    m->ss_id = b->ss_id;
    m->first_host_id = b->first;
    m->size = b->size;
    int plen = ctl_rules_block_prefix_len(b->size);
    if (plen >= 0) {
        snprintf(msg->prefix, sizeof msg->prefix, "%u.%u.0.0/%d", b->ss_id,
                 b->first, plen);
    }
    m->prefix = msg->prefix;    /* "" for a size db/ would not store. */
    m->dpid = b->dpid;
    m->n_hosts = b->n_hosts;
    m->allocated_ms = b->allocated_at;
    m->empty_since_ms = b->empty_since;
}

/* ---- operations --------------------------------------------------------- */

static void
op_list_switches(struct ctl_rpc_client *c, uint64_t id)
{
    struct ctl_rpc_server *srv = c->server;
    struct db_switch *rows;
    size_t n;

    int rc = db_switch_list(srv->db, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing switches", rc);
        return;
    }
    Scaffold__Admin__Switch **ptrs;
    Scaffold__Admin__Switch *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Switch,
                                                  &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fill_switch(srv, &msgs[i], &rows[i]);
    }
    Scaffold__Admin__SwitchList list = SCAFFOLD__ADMIN__SWITCH_LIST__INIT;
    list.n_switches = n;
    list.switches = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES;
    r.switches = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

static void
op_list_links(struct ctl_rpc_client *c, uint64_t id)
{
    struct db_link *rows;
    size_t n;

    int rc = db_link_list(c->server->db, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing links", rc);
        return;
    }
    Scaffold__Admin__Link **ptrs;
    Scaffold__Admin__Link *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Link,
                                                &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fill_link(&msgs[i], &rows[i]);
    }
    Scaffold__Admin__LinkList list = SCAFFOLD__ADMIN__LINK_LIST__INIT;
    list.n_links = n;
    list.links = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_LINKS;
    r.links = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

static void
op_list_hosts(struct ctl_rpc_client *c, uint64_t id)
{
    struct db_host *rows;
    size_t n;

    int rc = db_host_list(c->server->db, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing hosts", rc);
        return;
    }
    Scaffold__Admin__Host **ptrs;
    Scaffold__Admin__Host *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Host,
                                                &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fill_host(&msgs[i], &rows[i]);
    }
    Scaffold__Admin__HostList list = SCAFFOLD__ADMIN__HOST_LIST__INIT;
    list.n_hosts = n;
    list.hosts = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_HOSTS;
    r.hosts = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

static void
op_list_objects(struct ctl_rpc_client *c, uint64_t id)
{
    struct db_object *rows;
    size_t n;

    int rc = db_object_list(c->server->db, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing objects", rc);
        return;
    }
    Scaffold__Admin__Object **ptrs;
    Scaffold__Admin__Object *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Object,
                                                  &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        scaffold__admin__object__init(&msgs[i]);
        msgs[i].object_id = rows[i].object_id;
        msgs[i].n_instances = rows[i].n_instances;
        msgs[i].name = rows[i].name;
    }
    Scaffold__Admin__ObjectList list = SCAFFOLD__ADMIN__OBJECT_LIST__INIT;
    list.n_objects = n;
    list.objects = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_OBJECTS;
    r.objects = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

static void
op_list_blocks(struct ctl_rpc_client *c, uint64_t id)
{
    struct db_block *rows;
    void **ptrs;
    size_t n;

    int rc = db_block_list(c->server->db, 0, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing blocks", rc);
        return;
    }
    if (build_list(c, id, rows, n, sizeof *rows, sizeof(struct block_msg),
                   fill_block, &ptrs)) {
        Scaffold__Admin__BlockList list = SCAFFOLD__ADMIN__BLOCK_LIST__INIT;
        list.n_blocks = n;
        list.blocks = (Scaffold__Admin__Block **) ptrs;
        Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
        r.id = id;
        r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_BLOCKS;
        r.blocks = &list;
        send_or_complain(c, &r);
        free(ptrs);
    }
    free(rows);
}

static void
op_list_instances(struct ctl_rpc_client *c, uint64_t id,
                  const Scaffold__Admin__ListInstances *req)
{
    struct db_instance *rows;
    struct db_object obj;
    size_t n;

    if (!req || !req->object_id || req->object_id > UINT16_MAX) {
        send_error(c, id,
                   RPC_E_INVALID_ARGUMENT,
                   "objectID must be 1..65535");
        return;
    }
    int rc = db_object_get(c->server->db, req->object_id, &obj);
    if (rc == -ENOENT) {
        send_error(c, id, RPC_E_NOT_FOUND,
                   "no object %"PRIu32, req->object_id);
        return;
    }
    rc = rc ? rc : db_instance_list(c->server->db, req->object_id, &rows,
                                    &n);
    if (rc) {
        send_db_error(c, id, "listing instances", rc);
        return;
    }
    Scaffold__Admin__Instance **ptrs;
    Scaffold__Admin__Instance *msgs
        = CTL_RPC_ALLOC(n, Scaffold__Admin__Instance, &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fill_instance(&msgs[i], &rows[i]);
    }
    Scaffold__Admin__InstanceList list = SCAFFOLD__ADMIN__INSTANCE_LIST__INIT;
    list.n_instances = n;
    list.instances = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_INSTANCES;
    r.instances = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

/* Checks that switch 'dpid' exists; sends NOT_FOUND (or the db error) and
 * returns false if not. */
static bool
switch_known(struct ctl_rpc_client *c, uint64_t id, uint64_t dpid,
             struct db_switch *sw)
{
    int rc = db_switch_get(c->server->db, dpid, sw);
    if (rc == -ENOENT) {
        send_error(c, id, RPC_E_NOT_FOUND,
                   "no switch %016"PRIx64, dpid);
        return false;
    } else if (rc) {
        send_db_error(c, id, "reading switch", rc);
        return false;
    }
    return true;
}

static void
free_rules(struct ctl_rpc_rule *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++) {
        free(rules[i].match);
        free(rules[i].actions);
    }
    free(rules);
}

static void
op_list_rules(struct ctl_rpc_client *c, uint64_t id,
              const Scaffold__Admin__ListRules *req)
{
    struct ctl_rpc_server *srv = c->server;
    struct db_switch sw;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    if (!switch_known(c, id, req->dpid, &sw)) {
        return;
    }
    if (!srv->hooks.rules) {
        send_error(c, id, RPC_E_UNSUPPORTED,
                   "this server cannot read rules");
        return;
    }
    struct ctl_rpc_rule *rules = NULL;
    size_t n = 0;
    int rc = srv->hooks.rules(srv->aux, req->dpid, &rules, &n);
    if (rc) {
        send_error(c, id, errno_to_code(rc), "rules of switch %016"PRIx64
                   ": %s", req->dpid, strerror(-rc));
        return;
    }
    Scaffold__Admin__Rule **ptrs;
    Scaffold__Admin__Rule *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Rule,
                                                &ptrs);
    if (n && !msgs) {
        free_rules(rules, n);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Scaffold__Admin__Rule *m = &msgs[i];
        scaffold__admin__rule__init(m);
        m->table_id = rules[i].table_id;
        m->priority = rules[i].priority;
        m->cookie = rules[i].cookie;
        m->match = rules[i].match ? rules[i].match : "";
        m->actions = rules[i].actions ? rules[i].actions : "";
        m->n_packets = rules[i].n_packets;
        m->n_bytes = rules[i].n_bytes;
    }
    Scaffold__Admin__RuleList list = SCAFFOLD__ADMIN__RULE_LIST__INIT;
    list.n_rules = n;
    list.rules = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_RULES;
    r.rules = &list;
    send_or_complain(c, &r);
    free(ptrs);
    free_rules(rules, n);
}

/* Sends up to 'limit' events after 'since' as one Response with 'more'.
 * Stores the id of the last event sent (or 'since') in '*last' and the
 * count in '*n_sent'.  Returns 0 or a negative errno value (the error was
 * sent). */
static int
send_events(struct ctl_rpc_client *c, uint64_t id, uint64_t since,
            uint32_t limit, bool more, uint64_t *last, size_t *n_sent)
{
    struct db *db = c->server->db;
    struct db_event *rows;
    uint64_t last_id;
    size_t n;

    int rc = db_event_list(db, since, limit, &rows, &n);
    if (!rc) {
        rc = db_event_last_id(db, &last_id);
        if (rc) {
            free(rows);
        }
    }
    if (rc) {
        send_db_error(c, id, "listing events", rc);
        return rc;
    }
    Scaffold__Admin__Event **ptrs;
    Scaffold__Admin__Event *msgs = CTL_RPC_ALLOC(n, Scaffold__Admin__Event,
                                                 &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        Scaffold__Admin__Event *m = &msgs[i];
        scaffold__admin__event__init(m);
        m->id = rows[i].id;
        m->time_ms = rows[i].time;
        m->kind = rows[i].kind;
        m->subject = rows[i].subject;
        m->detail = rows[i].detail;
    }
    Scaffold__Admin__EventList list = SCAFFOLD__ADMIN__EVENT_LIST__INIT;
    list.n_events = n;
    list.events = ptrs;
    list.last_id = last_id;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.more = more;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS;
    r.events = &list;
    rc = send_response(c, &r);
    if (rc == -EMSGSIZE || rc == -ENOMEM) {
        send_error(c, id, RPC_E_INTERNAL,
                   "events not sent: %s (use a smaller limit)",
                   strerror(-rc));
    }
    *last = n ? rows[n - 1].id : since;
    *n_sent = n;
    free(ptrs);
    free(rows);
    return rc;
}

static void
follow_stop(struct ctl_rpc_client *c)
{
    struct ctl_rpc_server *s = c->server;

    if (!c->following) {
        return;
    }
    c->following = false;
    if (!--s->n_followers && s->timer_open) {
        uv_timer_stop(&s->timer);
    }
}

/* Sends 'c' every event after its 'follow_since', in batches. */
static void
follow_push(struct ctl_rpc_client *c)
{
    for (;;) {
        if (uv_stream_get_write_queue_size(&c->h.stream)
            > CTL_RPC_MAX_QUEUED) {
            VLOG_WARN_RL(&rpc_rl, "%s: not reading its events, "
                         "closing", c->name);
            client_close(c);
            return;
        }
        uint64_t last;
        size_t n;
        if (send_events(c, c->follow_req_id, c->follow_since,
                        c->follow_limit, true, &last, &n)) {
            follow_stop(c);
            return;
        }
        c->follow_since = last;
        if (n < c->follow_limit) {
            return;
        }
    }
}

static void
on_timer(uv_timer_t *t)
{
    ctl_rpc_notify_event(t->data);
}

static void
op_list_events(struct ctl_rpc_client *c, uint64_t id,
               const Scaffold__Admin__ListEvents *req)
{
    struct ctl_rpc_server *s = c->server;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    uint32_t limit = req->limit ? req->limit : CTL_RPC_EVENT_LIMIT;
    if (limit > CTL_RPC_EVENT_LIMIT_MAX) {
        limit = CTL_RPC_EVENT_LIMIT_MAX;
    }
    if (!req->follow) {
        uint64_t last;
        size_t n;
        send_events(c, id, req->since_id, limit, false, &last, &n);
        return;
    }

    /* The first Response is sent even when empty: it tells the client that
     * it follows, and from which id. */
    uint64_t last;
    size_t n;
    if (send_events(c, id, req->since_id, limit, true, &last, &n)) {
        return;
    }
    if (!c->following) {
        c->following = true;
        if (!s->n_followers++) {
            uv_timer_start(&s->timer, on_timer, s->follow_poll_ms,
                           s->follow_poll_ms);
        }
    }
    c->follow_req_id = id;
    c->follow_limit = limit;
    c->follow_since = last;
    if (n == limit) {
        follow_push(c);
    }
}

static void
op_describe_switch(struct ctl_rpc_client *c, uint64_t id,
                   const Scaffold__Admin__DescribeSwitch *req)
{
    struct ctl_rpc_server *srv = c->server;
    struct db_switch sw;
    struct db_port *ports = NULL;
    struct db_link *links = NULL;
    size_t n_ports = 0, n_links = 0, n_mine = 0;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    if (!switch_known(c, id, req->dpid, &sw)) {
        return;
    }
    int rc = db_port_list(srv->db, sw.dpid, &ports, &n_ports);
    if (!rc) {
        rc = db_link_list(srv->db, &links, &n_links);
    }
    if (rc) {
        free(ports);
        send_db_error(c, id, "describing switch", rc);
        return;
    }
    for (size_t i = 0; i < n_links; i++) {
        if (links[i].src_dpid == sw.dpid || links[i].dst_dpid == sw.dpid) {
            links[n_mine++] = links[i];
        }
    }
    Scaffold__Admin__Port **pptrs;
    Scaffold__Admin__Port *pmsgs = CTL_RPC_ALLOC(n_ports,
                                                 Scaffold__Admin__Port,
                                                 &pptrs);
    Scaffold__Admin__Link **lptrs;
    Scaffold__Admin__Link *lmsgs = CTL_RPC_ALLOC(n_mine,
                                                 Scaffold__Admin__Link,
                                                 &lptrs);
    if ((n_ports && !pmsgs) || (n_mine && !lmsgs)) {
        free(pptrs);
        free(lptrs);
        free(ports);
        free(links);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n_ports; i++) {
        Scaffold__Admin__Port *m = &pmsgs[i];
        scaffold__admin__port__init(m);
        m->port_no = ports[i].port_no;
        m->name = ports[i].name;
        m->mac = mac_bytes(ports[i].mac);
        m->up = ports[i].up;
    }
    for (size_t i = 0; i < n_mine; i++) {
        fill_link(&lmsgs[i], &links[i]);
    }
    Scaffold__Admin__Switch swm;
    fill_switch(srv, &swm, &sw);
    Scaffold__Admin__SwitchDetail d = SCAFFOLD__ADMIN__SWITCH_DETAIL__INIT;
    d.sw = &swm;
    d.n_ports = n_ports;
    d.ports = pptrs;
    d.n_links = n_mine;
    d.links = lptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCH_DETAIL;
    r.switch_detail = &d;
    send_or_complain(c, &r);
    free(pptrs);
    free(lptrs);
    free(ports);
    free(links);
}

static void
op_describe_host(struct ctl_rpc_client *c, uint64_t id,
                 const Scaffold__Admin__DescribeHost *req)
{
    struct db *db = c->server->db;
    struct db_host h;
    int rc;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    if (req->key_case == SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_MAC) {
        if (req->mac.len != DB_MAC_LEN) {
            send_error(c, id,
                       RPC_E_INVALID_ARGUMENT,
                       "MAC must be 6 bytes, not %zu", req->mac.len);
            return;
        }
        rc = db_host_get(db, req->mac.data, &h);
    } else if (req->key_case
               == SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_FLOW_ID_PREFIX) {
        uint8_t ss = req->flow_id_prefix >> 24;
        uint8_t host = (req->flow_id_prefix >> 16) & 0xff;
        if (!host) {
            send_error(c, id,
                       RPC_E_INVALID_ARGUMENT,
                       "hostID 0 names no host");
            return;
        }
        rc = db_host_find(db, ss, host, &h);
    } else {
        send_error(c, id,
                   RPC_E_INVALID_ARGUMENT,
                   "no MAC or address given");
        return;
    }
    if (rc == -ENOENT) {
        send_error(c, id, RPC_E_NOT_FOUND,
                   "no such host");
        return;
    } else if (rc) {
        send_db_error(c, id, "reading host", rc);
        return;
    }
    struct db_instance *rows;
    size_t n;
    rc = db_instance_list_host(db, h.mac, &rows, &n);
    if (rc) {
        send_db_error(c, id, "listing instances", rc);
        return;
    }
    Scaffold__Admin__Instance **ptrs;
    Scaffold__Admin__Instance *msgs
        = CTL_RPC_ALLOC(n, Scaffold__Admin__Instance, &ptrs);
    if (n && !msgs) {
        free(rows);
        send_nomem(c, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        fill_instance(&msgs[i], &rows[i]);
    }
    Scaffold__Admin__Host hm;
    fill_host(&hm, &h);
    Scaffold__Admin__HostDetail d = SCAFFOLD__ADMIN__HOST_DETAIL__INIT;
    d.host = &hm;
    d.n_instances = n;
    d.instances = ptrs;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_HOST_DETAIL;
    r.host_detail = &d;
    send_or_complain(c, &r);
    free(ptrs);
    free(rows);
}

static void
send_done(struct ctl_rpc_client *c, uint64_t id)
{
    Scaffold__Admin__Done done = SCAFFOLD__ADMIN__DONE__INIT;
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;

    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE;
    r.done = &done;
    send_or_complain(c, &r);
}

static void
op_set_role(struct ctl_rpc_client *c, uint64_t id,
            const Scaffold__Admin__SetRole *req)
{
    struct ctl_rpc_server *srv = c->server;
    struct db_switch sw;
    enum db_role role;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    if (req->role == SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL) {
        role = DB_ROLE_LABEL;
    } else if (req->role == SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT) {
        role = DB_ROLE_OBJECT;
    } else {
        send_error(c, id,
                   RPC_E_INVALID_ARGUMENT,
                   "role must be label or object");
        return;
    }
    if (!switch_known(c, id, req->dpid, &sw)) {
        return;
    }
    if (!srv->hooks.set_role) {
        send_error(c, id, RPC_E_UNSUPPORTED,
                   "this server cannot change roles");
        return;
    }
    int rc = srv->hooks.set_role(srv->aux, req->dpid, role);
    if (rc) {
        send_error(c, id, errno_to_code(rc), "set role of switch %016"PRIx64
                   ": %s", req->dpid, strerror(-rc));
        return;
    }
    VLOG_INFO("%s: switch %016"PRIx64" role set to %s", c->name,
              req->dpid, db_role_name(role));
    send_done(c, id);
}

static void
op_evict_host(struct ctl_rpc_client *c, uint64_t id,
              const Scaffold__Admin__EvictHost *req)
{
    struct ctl_rpc_server *srv = c->server;
    struct db_host h;

    if (!req) {
        fail(c, id, RPC_E_BAD_REQUEST,
             "empty request");
        return;
    }
    if (req->mac.len != DB_MAC_LEN) {
        send_error(c, id,
                   RPC_E_INVALID_ARGUMENT,
                   "MAC must be 6 bytes, not %zu", req->mac.len);
        return;
    }
    const uint8_t *m = req->mac.data;
    int rc = db_host_get(srv->db, m, &h);
    if (rc == -ENOENT) {
        send_error(c, id, RPC_E_NOT_FOUND,
                   "no host %02x:%02x:%02x:%02x:%02x:%02x",
                   m[0], m[1], m[2], m[3], m[4], m[5]);
        return;
    } else if (rc) {
        send_db_error(c, id, "reading host", rc);
        return;
    }
    if (!srv->hooks.evict_host) {
        send_error(c, id, RPC_E_UNSUPPORTED,
                   "this server cannot evict hosts");
        return;
    }
    rc = srv->hooks.evict_host(srv->aux, m);
    if (rc) {
        send_error(c, id, errno_to_code(rc), "evict host: %s",
                   strerror(-rc));
        return;
    }
    VLOG_INFO("%s: host %02x:%02x:%02x:%02x:%02x:%02x evicted",
              c->name, m[0], m[1], m[2], m[3], m[4], m[5]);
    send_done(c, id);
}

static void
op_get_status(struct ctl_rpc_client *c, uint64_t id)
{
    struct ctl_rpc_server *srv = c->server;
    struct ctl_rpc_status st;
    struct db_switch *sw = NULL;
    struct db_host *hosts = NULL;
    struct db_object *objs = NULL;
    size_t n_sw = 0, n_hosts = 0, n_objs = 0;
    uint32_t ss_ids[sizeof st.ss_ids];

    memset(&st, 0, sizeof st);
    if (srv->hooks.status) {
        int rc = srv->hooks.status(srv->aux, &st);
        if (rc) {
            send_error(c, id, errno_to_code(rc), "status: %s",
                       strerror(-rc));
            return;
        }
        st.version[sizeof st.version - 1] = '\0';
    }
    int rc = db_switch_list(srv->db, &sw, &n_sw);
    if (!rc) {
        rc = db_host_list(srv->db, &hosts, &n_hosts);
    }
    if (!rc) {
        rc = db_object_list(srv->db, &objs, &n_objs);
    }
    if (rc) {
        free(sw);
        free(hosts);
        send_db_error(c, id, "status", rc);
        return;
    }
    Scaffold__Admin__Status m = SCAFFOLD__ADMIN__STATUS__INIT;
    m.version = st.version;
    m.epoch = st.epoch;
    m.ss_id = st.ss_id;
    if (st.n_ss_ids > sizeof st.ss_ids) {
        st.n_ss_ids = sizeof st.ss_ids;
    }
    for (size_t i = 0; i < st.n_ss_ids; i++) {
        ss_ids[m.n_ss_ids++] = st.ss_ids[i];
    }
    if (!m.n_ss_ids && st.ss_id) {
        ss_ids[m.n_ss_ids++] = st.ss_id;
    }
    m.ss_ids = ss_ids;
    m.host_block = st.host_block;
    m.started_ms = st.started_ms;
    m.n_switches = (uint32_t) n_sw;
    for (size_t i = 0; i < n_sw; i++) {
        m.n_connected += sw[i].connected;
    }
    m.n_hosts = (uint32_t) n_hosts;
    for (size_t i = 0; i < n_objs; i++) {
        m.n_objects += objs[i].n_instances > 0;
        m.n_instances += objs[i].n_instances;
    }
    m.db_path = srv->db_path ? srv->db_path : "";
    Response r = SCAFFOLD__ADMIN__RESPONSE__INIT;
    r.id = id;
    r.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_STATUS;
    r.status = &m;
    send_or_complain(c, &r);
    free(sw);
    free(hosts);
    free(objs);
}

/* ---- dispatch ----------------------------------------------------------- */

/* Compares the server's token with 'given' in time that depends only on
 * the server token's length. */
static bool
token_ok(const struct ctl_rpc_server *s, const char *given)
{
    size_t glen = given ? strlen(given) : 0;
    unsigned int diff = s->token_len != glen;

    for (size_t i = 0; i < s->token_len; i++) {
        unsigned char g = i < glen ? (unsigned char) given[i] : 0;
        diff |= (unsigned char) s->token[i] ^ g;
    }
    return !diff;
}

static void
handle_frame(struct ctl_rpc_client *c, const uint8_t *frame, size_t len)
{
    Request *req = scaffold__admin__request__unpack(NULL, len, frame);
    if (!req) {
        VLOG_WARN_RL(&rpc_rl, "%s: %zu-byte request does not decode",
                     c->name, len);
        fail(c, 0, RPC_E_BAD_REQUEST,
             "request does not decode");
        return;
    }
    uint64_t id = req->id;
    if (c->is_tcp && !token_ok(c->server, req->auth_token)) {
        VLOG_WARN_RL(&rpc_rl, "%s: wrong or missing token", c->name);
        fail(c, id, RPC_E_UNAUTHORIZED,
             "wrong or missing auth token");
        scaffold__admin__request__free_unpacked(req, NULL);
        return;
    }
    switch (req->op_case) {
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_SWITCHES:
        op_list_switches(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_LINKS:
        op_list_links(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_HOSTS:
        op_list_hosts(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_OBJECTS:
        op_list_objects(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_INSTANCES:
        op_list_instances(c, id, req->list_instances);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_RULES:
        op_list_rules(c, id, req->list_rules);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_EVENTS:
        op_list_events(c, id, req->list_events);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_SWITCH:
        op_describe_switch(c, id, req->describe_switch);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_HOST:
        op_describe_host(c, id, req->describe_host);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_SET_ROLE:
        op_set_role(c, id, req->set_role);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_EVICT_HOST:
        op_evict_host(c, id, req->evict_host);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_GET_STATUS:
        op_get_status(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP_LIST_BLOCKS:
        op_list_blocks(c, id);
        break;
    case SCAFFOLD__ADMIN__REQUEST__OP__NOT_SET:
    default:
        VLOG_WARN_RL(&rpc_rl, "%s: request %"PRIu64" has no known op",
                     c->name, id);
        fail(c, id, RPC_E_BAD_REQUEST,
             "request has no known op");
        break;
    }
    scaffold__admin__request__free_unpacked(req, NULL);
}
