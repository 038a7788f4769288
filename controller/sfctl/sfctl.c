/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sfctl: the SCAFFOLD controller's admin command-line client.
 *
 * Connects to the controller's admin RPC (controller/rpc.h, docs/rpc.md):
 * the Unix socket STATE_DIR/admin.sock by default, or TCP with a shared
 * token; sends one length-prefixed admin Request per step and prints the
 * Response as an aligned table or, with --json, as JSON (jansson).  A plain
 * blocking client: one connection, one request at a time.
 *
 * Exit status: 0 on success, 1 for a runtime failure (no controller, an
 * error Response, a broken connection), 2 for a usage error.  Every failure
 * is one line on stderr starting with "sfctl: ".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/admin.pb-c.h"
#include "proto/framing.h"

#define SFCTL_DEFAULT_STATE_DIR "/var/lib/scaffold"
#define SFCTL_SOCKET_NAME "admin.sock"
#define SFCTL_MAX_RESPONSE (16u * 1024u * 1024u)
#define SFCTL_TIMEOUT_S 30

typedef Scaffold__Admin__Request Request;
typedef Scaffold__Admin__Response Response;

/* The connection to the controller. */
struct sfctl {
    int fd;                     /* Connected socket. */
    const char *where;          /* Socket path or "tcp:..." for messages. */
    const char *token;          /* Auth token, or NULL. */
    uint64_t next_id;           /* Id of the next Request. */
    struct sfp_framer framer;   /* Response frames. */
    uint8_t buf[65536];         /* Bytes read, not yet fed. */
    size_t off, len;            /* Unfed bytes are buf[off, len). */
    bool json;                  /* --json. */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));
static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* A runtime failure: one line, exit 1. */
static void
die(const char *fmt, ...)
{
    va_list args;

    fputs("sfctl: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

/* A usage error: one line, exit 2. */
static void
usage_error(const char *fmt, ...)
{
    va_list args;

    fputs("sfctl: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputs(" (try --help)\n", stderr);
    exit(2);
}

static void
usage(void)
{
    printf("usage: sfctl [OPTIONS] COMMAND [ARGS]\n"
"Admin client of the SCAFFOLD controller.\n"
"\n"
"Where the controller is (default: the Unix socket "
SFCTL_DEFAULT_STATE_DIR "/" SFCTL_SOCKET_NAME "):\n"
"  --socket PATH           its admin Unix socket\n"
"  --state-dir DIR         its state directory (socket DIR/admin.sock)\n"
"  --connect tcp:HOST:PORT its TCP admin endpoint (needs a token)\n"
"  --token TOKEN           shared token for --connect (or $SFCTL_TOKEN)\n"
"Output:\n"
"  --json                  JSON instead of tables\n"
"  -h, --help              this help\n"
"\n"
"Commands:\n"
"  switches                list switches\n"
"  links                   list inter-switch links\n"
"  hosts                   list joined hosts\n"
"  blocks                  list hostID blocks (ssID, first hostID, size,\n"
"                          prefix, label router, hosts, when emptied)\n"
"  objects                 list objects\n"
"  instances OBJ           list the instances of object OBJ (id or name)\n"
"  rules DPID              list the rules installed on switch DPID (hex)\n"
"  events [--since N] [--follow]\n"
"                          list events with ids above N; --follow keeps\n"
"                          printing new ones (JSON: one object per line)\n"
"  set-role DPID label|object\n"
"                          change a switch's role\n"
"  evict HOST              forget a host (MAC aa:bb:cc:dd:ee:ff or ss.host)\n"
"  status                  controller summary\n"
"\n"
"Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

/* ---- connection --------------------------------------------------------- */

static void
connect_unix(struct sfctl *ctl, const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof sun.sun_path) {
        usage_error("socket path too long: %s", path);
    }
    strcpy(sun.sun_path, path);
    ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl->fd < 0) {
        die("socket: %s", strerror(errno));
    }
    if (connect(ctl->fd, (struct sockaddr *) &sun, sizeof sun)) {
        die("cannot connect to %s: %s (is the controller running?)", path,
            strerror(errno));
    }
}

static void
connect_tcp(struct sfctl *ctl, const char *spec)
{
    char host[256];
    const char *port;
    const char *p = spec + 4;

    if (strncmp(spec, "tcp:", 4)) {
        usage_error("--connect wants tcp:HOST:PORT, not '%s'", spec);
    }
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end || end[1] != ':' || (size_t) (end - p - 1) >= sizeof host) {
            usage_error("--connect wants tcp:[ADDR]:PORT, not '%s'", spec);
        }
        memcpy(host, p + 1, end - p - 1);
        host[end - p - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(p, ':');
        if (!colon || colon == p || (size_t) (colon - p) >= sizeof host) {
            usage_error("--connect wants tcp:HOST:PORT, not '%s'", spec);
        }
        memcpy(host, p, colon - p);
        host[colon - p] = '\0';
        port = colon + 1;
    }
    if (!*port) {
        usage_error("--connect wants tcp:HOST:PORT, not '%s'", spec);
    }

    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) {
        die("cannot resolve %s: %s", spec, gai_strerror(rc));
    }
    int err = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        ctl->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                         a->ai_protocol);
        if (ctl->fd < 0) {
            err = errno;
            continue;
        }
        if (!connect(ctl->fd, a->ai_addr, a->ai_addrlen)) {
            freeaddrinfo(ai);
            return;
        }
        err = errno;
        close(ctl->fd);
        ctl->fd = -1;
    }
    freeaddrinfo(ai);
    die("cannot connect to %s: %s (is the controller running?)", spec,
        strerror(err));
}

static void
send_request(struct sfctl *ctl, Request *req)
{
    uint8_t *frame;
    size_t len;

    req->id = ctl->next_id++;
    if (ctl->token) {
        req->auth_token = (char *) ctl->token;
    }
    int rc = sfp_framing_encode_alloc(&req->base, 0, &frame, &len);
    if (rc) {
        die("encoding request: %s", sfp_framing_strerror(rc));
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = write(ctl->fd, frame + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("sending to %s: %s", ctl->where,
                n < 0 ? strerror(errno) : "short write");
        }
        done += (size_t) n;
    }
    free(frame);
}

/* Reads the next Response (caller frees it with
 * scaffold__admin__response__free_unpacked()). */
static Response *
read_response(struct sfctl *ctl)
{
    for (;;) {
        if (ctl->off < ctl->len) {
            const uint8_t *frame;
            size_t used, frame_len;
            int rc = sfp_framer_feed(&ctl->framer, ctl->buf + ctl->off,
                                     ctl->len - ctl->off, &used, &frame,
                                     &frame_len);
            ctl->off += used;
            if (rc == SFP_FRAMING_FRAME) {
                Response *r = scaffold__admin__response__unpack(
                    NULL, frame_len, frame);
                if (!r) {
                    die("%s sent a response that does not decode",
                        ctl->where);
                }
                return r;
            } else if (rc != SFP_FRAMING_MORE) {
                die("bad response from %s: %s", ctl->where,
                    sfp_framing_strerror(rc));
            }
        }
        ssize_t n = read(ctl->fd, ctl->buf, sizeof ctl->buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            die("no answer from %s within %d s", ctl->where,
                SFCTL_TIMEOUT_S);
        }
        if (n < 0) {
            die("reading from %s: %s", ctl->where, strerror(errno));
        }
        if (n == 0) {
            die("%s closed the connection", ctl->where);
        }
        ctl->off = 0;
        ctl->len = (size_t) n;
    }
}

static const char *
code_name(Scaffold__Admin__ErrorCode code)
{
    switch (code) {
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST:
        return "bad request";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED:
        return "unauthorized";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND:
        return "not found";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT:
        return "invalid argument";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNSUPPORTED:
        return "unsupported";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAVAILABLE:
        return "unavailable";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INTERNAL:
        return "internal error";
    case SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNSPECIFIED:
    case _SCAFFOLD__ADMIN__ERROR_CODE_IS_INT_SIZE:
    default:
        return "error";
    }
}

/* Checks that 'r' answers request 'id' with 'expected'; dies with the
 * controller's error otherwise. */
static void
check_response(struct sfctl *ctl, Response *r, uint64_t id,
               Scaffold__Admin__Response__ResultCase expected)
{
    if (r->result_case == SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR) {
        char msg[512];
        const char *code = code_name(r->error->code);
        snprintf(msg, sizeof msg, "%s",
                 r->error->message[0] ? r->error->message : "(no detail)");
        scaffold__admin__response__free_unpacked(r, NULL);
        die("%s: %s", code, msg);
    }
    if (r->id != id || r->result_case != expected) {
        scaffold__admin__response__free_unpacked(r, NULL);
        die("%s answered request %"PRIu64" with an unexpected response",
            ctl->where, id);
    }
}

/* Sends 'req' and returns its one Response of kind 'expected'. */
static Response *
call(struct sfctl *ctl, Request *req,
     Scaffold__Admin__Response__ResultCase expected)
{
    send_request(ctl, req);
    Response *r = read_response(ctl);
    check_response(ctl, r, req->id, expected);
    return r;
}

/* ---- formatting --------------------------------------------------------- */

/* An aligned text table built cell by cell. */
struct table {
    size_t n_cols;              /* Columns per row. */
    char **cells;               /* Row-major, malloc'ed strings. */
    size_t n_cells;             /* Cells so far. */
    size_t allocated;           /* Capacity of 'cells'. */
};

static void cellf(struct table *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cellf(struct table *t, const char *fmt, ...)
{
    va_list args;
    char *s;

    va_start(args, fmt);
    if (vasprintf(&s, fmt, args) < 0) {
        die("out of memory");
    }
    va_end(args);
    if (t->n_cells == t->allocated) {
        t->allocated = t->allocated ? 2 * t->allocated : 64;
        t->cells = realloc(t->cells, t->allocated * sizeof *t->cells);
        if (!t->cells) {
            die("out of memory");
        }
    }
    t->cells[t->n_cells++] = s;
}

/* Starts a table whose header is the 'n' column titles. */
static void
table_init(struct table *t, size_t n, const char *const *titles)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n;
    for (size_t i = 0; i < n; i++) {
        cellf(t, "%s", titles[i]);
    }
}

static void
table_print(struct table *t)
{
    size_t *w = calloc(t->n_cols, sizeof *w);
    if (!w) {
        die("out of memory");
    }
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > w[i % t->n_cols]) {
            w[i % t->n_cols] = len;
        }
    }
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t col = i % t->n_cols;
        if (col == t->n_cols - 1) {
            printf("%s\n", t->cells[i]);
        } else {
            printf("%-*s  ", (int) w[col], t->cells[i]);
        }
        free(t->cells[i]);
    }
    free(t->cells);
    free(w);
}

#define TITLES(...) \
    (sizeof (const char *[]) { __VA_ARGS__ } / sizeof (const char *)), \
    (const char *const[]) { __VA_ARGS__ }

static char *
fmt_mac(const ProtobufCBinaryData *b, char buf[18])
{
    if (b->len != 6) {
        snprintf(buf, 18, "?");
    } else {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b->data[0],
                 b->data[1], b->data[2], b->data[3], b->data[4], b->data[5]);
    }
    return buf;
}

/* Formats milliseconds since the epoch as UTC, "-" for 0. */
static char *
fmt_time(int64_t ms, char buf[32])
{
    if (!ms) {
        snprintf(buf, 32, "-");
        return buf;
    }
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static char *
fmt_flow(uint32_t f, char buf[20])
{
    snprintf(buf, 20, "%u.%u.%u", f >> 24, (f >> 16) & 0xff, f & 0xffff);
    return buf;
}

static const char *
role_name(Scaffold__Admin__SwitchRole role)
{
    switch (role) {
    case SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL:
        return "label";
    case SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT:
        return "object";
    case SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_UNKNOWN:
    case _SCAFFOLD__ADMIN__SWITCH_ROLE_IS_INT_SIZE:
    default:
        return "unknown";
    }
}

static const char *
of_name(uint32_t v)
{
    static const char *names[] = { "-", "1.0", "1.1", "1.2", "1.3", "1.4",
                                   "1.5" };
    return v < sizeof names / sizeof names[0] ? names[v] : "?";
}

static char *
fmt_dpid(uint64_t dpid, char buf[17])
{
    snprintf(buf, 17, "%016"PRIx64, dpid);
    return buf;
}

/* Formats the 'n' ascending values 'v' as ranges ("1-8", "1,3,5-8"; "-"
 * when empty) into 'buf' ('size' bytes), ending in "..." if they do not
 * fit. */
static char *
fmt_ranges(const uint32_t *v, size_t n, char *buf, size_t size)
{
    size_t len = 0;

    snprintf(buf, size, "-");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) {
            j++;
        }
        int w = j > i ? snprintf(buf + len, size - len, "%s%"PRIu32"-%"PRIu32,
                                 len ? "," : "", v[i], v[j])
                      : snprintf(buf + len, size - len, "%s%"PRIu32,
                                 len ? "," : "", v[i]);
        if (w < 0 || (size_t) w >= size - len) {
            snprintf(buf + (size > 4 ? size - 4 : 0), size > 4 ? 4 : size,
                     "...");
            break;
        }
        len += (size_t) w;
        i = j + 1;
    }
    return buf;
}

/* Prints 'j' (stolen) and a newline. */
static void
print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) {
        die("out of memory");
    }
    puts(s);
    free(s);
    json_decref(j);
}

/* json_pack() that dies instead of returning NULL. */
static json_t *
jpack(const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    json_t *j = json_vpack_ex(NULL, 0, fmt, args);
    va_end(args);
    if (!j) {
        die("out of memory");
    }
    return j;
}

/* ---- argument parsing --------------------------------------------------- */

static uint64_t
parse_dpid(const char *s)
{
    const char *p = s;
    char *end;

    if (!strncmp(p, "0x", 2) || !strncmp(p, "0X", 2)) {
        p += 2;
    }
    if (!*p || strlen(p) > 16 || strspn(p, "0123456789abcdefABCDEF")
        != strlen(p)) {
        usage_error("bad datapath id '%s' (up to 16 hex digits)", s);
    }
    uint64_t v = strtoull(p, &end, 16);
    return v;
}

static bool
parse_mac(const char *s, uint8_t mac[6])
{
    unsigned int b[6];
    char extra;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &extra) != 6 || strlen(s) != 17) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t) b[i];
    }
    return true;
}

static bool
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;

    if (!*s || strspn(s, "0123456789") != strlen(s)) {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > max) {
        return false;
    }
    *out = (uint32_t) v;
    return true;
}

/* ---- commands ----------------------------------------------------------- */

static void
cmd_switches(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListSwitches op = SCAFFOLD__ADMIN__LIST_SWITCHES__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_SWITCHES;
    req.list_switches = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    const Scaffold__Admin__SwitchList *l = r->switches;
    char d[17], t[32];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_switches; i++) {
            const Scaffold__Admin__Switch *s = l->switches[i];
            json_array_append_new(a, jpack(
                "{s:s, s:s, s:s, s:i, s:b, s:I, s:i, s:b}",
                "dpid", fmt_dpid(s->dpid, d), "name", s->name,
                "role", role_name(s->role), "of_version", (int) s->of_version,
                "connected", s->connected, "last_seen_ms",
                (json_int_t) s->last_seen_ms, "n_ports", (int) s->n_ports,
                "has_round_robin", s->has_round_robin));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("DPID", "NAME", "ROLE", "OF", "CONNECTED",
                               "PORTS", "RR", "LAST-SEEN"));
        for (size_t i = 0; i < l->n_switches; i++) {
            const Scaffold__Admin__Switch *s = l->switches[i];
            cellf(&tb, "%s", fmt_dpid(s->dpid, d));
            cellf(&tb, "%s", s->name[0] ? s->name : "-");
            cellf(&tb, "%s", role_name(s->role));
            cellf(&tb, "%s", of_name(s->of_version));
            cellf(&tb, "%s", s->connected ? "yes" : "no");
            cellf(&tb, "%u", s->n_ports);
            cellf(&tb, "%s", s->has_round_robin ? "yes" : "no");
            cellf(&tb, "%s", fmt_time(s->last_seen_ms, t));
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_links(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListLinks op = SCAFFOLD__ADMIN__LIST_LINKS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_LINKS;
    req.list_links = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_LINKS);
    const Scaffold__Admin__LinkList *l = r->links;
    char d1[17], d2[17], t[32];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_links; i++) {
            const Scaffold__Admin__Link *k = l->links[i];
            json_array_append_new(a, jpack(
                "{s:s, s:I, s:s, s:I, s:I}",
                "src_dpid", fmt_dpid(k->src_dpid, d1),
                "src_port", (json_int_t) k->src_port,
                "dst_dpid", fmt_dpid(k->dst_dpid, d2),
                "dst_port", (json_int_t) k->dst_port,
                "last_probe_ms", (json_int_t) k->last_probe_ms));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("SRC-DPID", "SRC-PORT", "DST-DPID",
                               "DST-PORT", "LAST-PROBE"));
        for (size_t i = 0; i < l->n_links; i++) {
            const Scaffold__Admin__Link *k = l->links[i];
            cellf(&tb, "%s", fmt_dpid(k->src_dpid, d1));
            cellf(&tb, "%u", k->src_port);
            cellf(&tb, "%s", fmt_dpid(k->dst_dpid, d2));
            cellf(&tb, "%u", k->dst_port);
            cellf(&tb, "%s", fmt_time(k->last_probe_ms, t));
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_hosts(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListHosts op = SCAFFOLD__ADMIN__LIST_HOSTS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_HOSTS;
    req.list_hosts = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_HOSTS);
    const Scaffold__Admin__HostList *l = r->hosts;
    char m[18], d[17], t1[32], t2[32], t3[32];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_hosts; i++) {
            const Scaffold__Admin__Host *h = l->hosts[i];
            json_array_append_new(a, jpack(
                "{s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:I, s:I}",
                "mac", fmt_mac(&h->mac, m), "name", h->name,
                "ss_id", (int) h->ss_id, "host_id", (int) h->host_id,
                "dpid", fmt_dpid(h->dpid, d), "port_no",
                (json_int_t) h->port_no, "joined_ms",
                (json_int_t) h->joined_ms, "moved_ms",
                (json_int_t) h->moved_ms, "lease_expiry_ms",
                (json_int_t) h->lease_expiry_ms));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("MAC", "NAME", "ADDRESS", "SWITCH", "PORT",
                               "JOINED", "MOVED", "LEASE-EXPIRY"));
        for (size_t i = 0; i < l->n_hosts; i++) {
            const Scaffold__Admin__Host *h = l->hosts[i];
            cellf(&tb, "%s", fmt_mac(&h->mac, m));
            cellf(&tb, "%s", h->name[0] ? h->name : "-");
            cellf(&tb, "%u.%u", h->ss_id, h->host_id);
            cellf(&tb, "%s", fmt_dpid(h->dpid, d));
            cellf(&tb, "%u", h->port_no);
            cellf(&tb, "%s", fmt_time(h->joined_ms, t1));
            cellf(&tb, "%s", fmt_time(h->moved_ms, t2));
            cellf(&tb, "%s", fmt_time(h->lease_expiry_ms, t3));
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_blocks(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListBlocks op = SCAFFOLD__ADMIN__LIST_BLOCKS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_BLOCKS;
    req.list_blocks = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_BLOCKS);
    const Scaffold__Admin__BlockList *l = r->blocks;
    char d[17], t1[32], t2[32];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_blocks; i++) {
            const Scaffold__Admin__Block *b = l->blocks[i];
            json_array_append_new(a, jpack(
                "{s:i, s:i, s:i, s:s, s:s, s:I, s:I, s:I}",
                "ss_id", (int) b->ss_id, "first_host_id",
                (int) b->first_host_id, "size", (int) b->size,
                "prefix", b->prefix, "dpid", fmt_dpid(b->dpid, d),
                "n_hosts", (json_int_t) b->n_hosts, "allocated_ms",
                (json_int_t) b->allocated_ms, "empty_since_ms",
                (json_int_t) b->empty_since_ms));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("SSID", "FIRST", "SIZE", "PREFIX", "SWITCH",
                               "HOSTS", "ALLOCATED", "EMPTY-SINCE"));
        for (size_t i = 0; i < l->n_blocks; i++) {
            const Scaffold__Admin__Block *b = l->blocks[i];
            cellf(&tb, "%u", b->ss_id);
            cellf(&tb, "%u", b->first_host_id);
            cellf(&tb, "%u", b->size);
            cellf(&tb, "%s", b->prefix[0] ? b->prefix : "-");
            cellf(&tb, "%s", fmt_dpid(b->dpid, d));
            cellf(&tb, "%u", b->n_hosts);
            cellf(&tb, "%s", fmt_time(b->allocated_ms, t1));
            cellf(&tb, "%s", fmt_time(b->empty_since_ms, t2));
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static Response *
list_objects(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListObjects op = SCAFFOLD__ADMIN__LIST_OBJECTS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_OBJECTS;
    req.list_objects = &op;
    return call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_OBJECTS);
}

static void
cmd_objects(struct sfctl *ctl)
{
    Response *r = list_objects(ctl);
    const Scaffold__Admin__ObjectList *l = r->objects;

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_objects; i++) {
            const Scaffold__Admin__Object *o = l->objects[i];
            json_array_append_new(a, jpack(
                "{s:i, s:s, s:i}", "object_id", (int) o->object_id,
                "name", o->name, "n_instances", (int) o->n_instances));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("OBJECT", "NAME", "INSTANCES"));
        for (size_t i = 0; i < l->n_objects; i++) {
            const Scaffold__Admin__Object *o = l->objects[i];
            cellf(&tb, "%u", o->object_id);
            cellf(&tb, "%s", o->name[0] ? o->name : "-");
            cellf(&tb, "%u", o->n_instances);
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_instances(struct sfctl *ctl, const char *arg)
{
    uint32_t object_id = 0;

    if (!parse_u32(arg, UINT16_MAX, &object_id)) {
        /* Not a number: look the name up. */
        Response *objs = list_objects(ctl);
        for (size_t i = 0; i < objs->objects->n_objects; i++) {
            if (!strcmp(objs->objects->objects[i]->name, arg)) {
                object_id = objs->objects->objects[i]->object_id;
            }
        }
        scaffold__admin__response__free_unpacked(objs, NULL);
        if (!object_id) {
            die("not found: no object named '%s'", arg);
        }
    } else if (!object_id) {
        usage_error("objectID must be 1..65535");
    }

    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListInstances op = SCAFFOLD__ADMIN__LIST_INSTANCES__INIT;
    op.object_id = object_id;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_INSTANCES;
    req.list_instances = &op;
    Response *r = call(ctl, &req,
                       SCAFFOLD__ADMIN__RESPONSE__RESULT_INSTANCES);
    const Scaffold__Admin__InstanceList *l = r->instances;
    char f[20], m[18], t[32];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_instances; i++) {
            const Scaffold__Admin__Instance *in = l->instances[i];
            json_array_append_new(a, jpack(
                "{s:i, s:s, s:I, s:s, s:I}", "object_id",
                (int) in->object_id, "flow_id", fmt_flow(in->flow_id, f),
                "flow_id_raw", (json_int_t) in->flow_id,
                "host_mac", fmt_mac(&in->host_mac, m),
                "bound_ms", (json_int_t) in->bound_ms));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("OBJECT", "FLOW-ID", "HOST", "BOUND"));
        for (size_t i = 0; i < l->n_instances; i++) {
            const Scaffold__Admin__Instance *in = l->instances[i];
            cellf(&tb, "%u", in->object_id);
            cellf(&tb, "%s", fmt_flow(in->flow_id, f));
            cellf(&tb, "%s", fmt_mac(&in->host_mac, m));
            cellf(&tb, "%s", fmt_time(in->bound_ms, t));
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_rules(struct sfctl *ctl, const char *arg)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListRules op = SCAFFOLD__ADMIN__LIST_RULES__INIT;
    op.dpid = parse_dpid(arg);
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_RULES;
    req.list_rules = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_RULES);
    const Scaffold__Admin__RuleList *l = r->rules;
    char cookie[20];

    if (ctl->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_rules; i++) {
            const Scaffold__Admin__Rule *u = l->rules[i];
            snprintf(cookie, sizeof cookie, "0x%"PRIx64, u->cookie);
            json_array_append_new(a, jpack(
                "{s:i, s:i, s:s, s:s, s:s, s:I, s:I}",
                "table_id", (int) u->table_id, "priority", (int) u->priority,
                "cookie", cookie, "match", u->match, "actions", u->actions,
                "n_packets", (json_int_t) u->n_packets,
                "n_bytes", (json_int_t) u->n_bytes));
        }
        print_json(a);
    } else {
        struct table tb;
        table_init(&tb, TITLES("TABLE", "PRIORITY", "COOKIE", "PACKETS",
                               "BYTES", "MATCH", "ACTIONS"));
        for (size_t i = 0; i < l->n_rules; i++) {
            const Scaffold__Admin__Rule *u = l->rules[i];
            cellf(&tb, "%u", u->table_id);
            cellf(&tb, "%u", u->priority);
            cellf(&tb, "0x%"PRIx64, u->cookie);
            cellf(&tb, "%"PRIu64, u->n_packets);
            cellf(&tb, "%"PRIu64, u->n_bytes);
            cellf(&tb, "%s", u->match[0] ? u->match : "*");
            cellf(&tb, "%s", u->actions[0] ? u->actions : "drop");
        }
        table_print(&tb);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static json_t *
event_json(const Scaffold__Admin__Event *e)
{
    return jpack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t) e->id,
                 "time_ms", (json_int_t) e->time_ms, "kind", e->kind,
                 "subject", e->subject, "detail", e->detail);
}

static void
print_event_line(const Scaffold__Admin__Event *e)
{
    char t[32];

    printf("%-6"PRIu64"  %s  %-14s  %-18s  %s\n", e->id,
           fmt_time(e->time_ms, t), e->kind, e->subject, e->detail);
}

static void
cmd_events(struct sfctl *ctl, uint64_t since, bool follow)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__ListEvents op = SCAFFOLD__ADMIN__LIST_EVENTS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_EVENTS;
    req.list_events = &op;

    if (follow) {
        /* One request; Responses with 'more' until the connection ends.
         * The read timeout does not apply. */
        struct timeval tv = { 0, 0 };
        setsockopt(ctl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        op.since_id = since;
        op.follow = true;
        send_request(ctl, &req);
        for (;;) {
            Response *r = read_response(ctl);
            check_response(ctl, r, req.id,
                           SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS);
            for (size_t i = 0; i < r->events->n_events; i++) {
                const Scaffold__Admin__Event *e = r->events->events[i];
                if (ctl->json) {
                    char *s = json_dumps(event_json(e), JSON_COMPACT
                                         | JSON_PRESERVE_ORDER);
                    puts(s);
                    free(s);
                } else {
                    print_event_line(e);
                }
            }
            fflush(stdout);
            scaffold__admin__response__free_unpacked(r, NULL);
        }
    }

    json_t *a = ctl->json ? json_array() : NULL;
    struct table tb;
    if (!ctl->json) {
        table_init(&tb, TITLES("ID", "TIME", "KIND", "SUBJECT", "DETAIL"));
    }
    for (;;) {
        op.since_id = since;
        Response *r = call(ctl, &req,
                           SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS);
        const Scaffold__Admin__EventList *l = r->events;
        for (size_t i = 0; i < l->n_events; i++) {
            const Scaffold__Admin__Event *e = l->events[i];
            char t[32];
            if (a) {
                json_array_append_new(a, event_json(e));
            } else {
                cellf(&tb, "%"PRIu64, e->id);
                cellf(&tb, "%s", fmt_time(e->time_ms, t));
                cellf(&tb, "%s", e->kind);
                cellf(&tb, "%s", e->subject[0] ? e->subject : "-");
                cellf(&tb, "%s", e->detail);
            }
            since = e->id;
        }
        bool done = !l->n_events || since >= l->last_id;
        scaffold__admin__response__free_unpacked(r, NULL);
        if (done) {
            break;
        }
    }
    if (a) {
        print_json(a);
    } else {
        table_print(&tb);
    }
}

static void
cmd_set_role(struct sfctl *ctl, const char *dpid_s, const char *role_s)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__SetRole op = SCAFFOLD__ADMIN__SET_ROLE__INIT;
    char d[17];

    op.dpid = parse_dpid(dpid_s);
    if (!strcmp(role_s, "label")) {
        op.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL;
    } else if (!strcmp(role_s, "object")) {
        op.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT;
    } else {
        usage_error("role must be 'label' or 'object', not '%s'", role_s);
    }
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_SET_ROLE;
    req.set_role = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE);
    if (ctl->json) {
        print_json(jpack("{s:b, s:s, s:s}", "ok", 1, "dpid",
                         fmt_dpid(op.dpid, d), "role", role_s));
    } else {
        printf("switch %s: role %s\n", fmt_dpid(op.dpid, d), role_s);
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

/* Parses HOST: a MAC (returns 1, fills 'mac') or ss.host (returns 2,
 * fills '*prefix' with ss.host.0.0).  Exits with a usage error otherwise. */
static int
parse_host(const char *arg, uint8_t mac[6], uint32_t *prefix)
{
    uint32_t ss, host;
    const char *dot = strchr(arg, '.');
    char ss_s[8];

    if (parse_mac(arg, mac)) {
        return 1;
    }
    if (!dot || (size_t) (dot - arg) >= sizeof ss_s) {
        usage_error("bad host '%s' (MAC aa:bb:cc:dd:ee:ff or ss.host)", arg);
    }
    memcpy(ss_s, arg, dot - arg);
    ss_s[dot - arg] = '\0';
    if (!parse_u32(ss_s, 255, &ss) || !parse_u32(dot + 1, 255, &host)
        || !host) {
        usage_error("bad host '%s' (MAC aa:bb:cc:dd:ee:ff or ss.host)", arg);
    }
    *prefix = ss << 24 | host << 16;
    return 2;
}

static void
cmd_evict(struct sfctl *ctl, const char *arg)
{
    uint8_t mac[6];
    uint32_t prefix;
    char m[18];
    ProtobufCBinaryData b = { 6, mac };

    if (parse_host(arg, mac, &prefix) == 2) {
        /* ss.host: find the host's MAC first. */
        Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
        Scaffold__Admin__DescribeHost op
            = SCAFFOLD__ADMIN__DESCRIBE_HOST__INIT;
        op.key_case = SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_FLOW_ID_PREFIX;
        op.flow_id_prefix = prefix;
        req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_HOST;
        req.describe_host = &op;
        Response *r = call(ctl, &req,
                           SCAFFOLD__ADMIN__RESPONSE__RESULT_HOST_DETAIL);
        if (!r->host_detail->host || r->host_detail->host->mac.len != 6) {
            die("%s described host %s without a MAC", ctl->where, arg);
        }
        memcpy(mac, r->host_detail->host->mac.data, 6);
        scaffold__admin__response__free_unpacked(r, NULL);
    }

    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__EvictHost op = SCAFFOLD__ADMIN__EVICT_HOST__INIT;
    op.mac = b;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_EVICT_HOST;
    req.evict_host = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE);
    if (ctl->json) {
        print_json(jpack("{s:b, s:s}", "ok", 1, "mac", fmt_mac(&b, m)));
    } else {
        printf("host %s: evicted\n", fmt_mac(&b, m));
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

static void
cmd_status(struct sfctl *ctl)
{
    Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__GetStatus op = SCAFFOLD__ADMIN__GET_STATUS__INIT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_GET_STATUS;
    req.get_status = &op;
    Response *r = call(ctl, &req, SCAFFOLD__ADMIN__RESPONSE__RESULT_STATUS);
    const Scaffold__Admin__Status *s = r->status;
    /* A controller older than the ss_ids field serves just ss_id. */
    uint32_t primary = s->ss_id;
    const uint32_t *ss_ids = s->n_ss_ids ? s->ss_ids : &primary;
    size_t n_ss_ids = s->n_ss_ids ? s->n_ss_ids : primary != 0;
    char t[32], ranges[1024];

    if (ctl->json) {
        json_t *ss = json_array();
        for (size_t i = 0; i < n_ss_ids; i++) {
            json_array_append_new(ss, json_integer(ss_ids[i]));
        }
        print_json(jpack(
            "{s:s, s:I, s:i, s:o, s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:s}",
            "version", s->version, "epoch", (json_int_t) s->epoch,
            "ss_id", (int) s->ss_id, "ss_ids", ss,
            "host_block", (int) s->host_block, "started_ms",
            (json_int_t) s->started_ms, "n_switches", (int) s->n_switches,
            "n_connected", (int) s->n_connected, "n_hosts",
            (int) s->n_hosts, "n_objects", (int) s->n_objects,
            "n_instances", (int) s->n_instances, "db_path", s->db_path));
    } else {
        printf("version:       %s\n", s->version[0] ? s->version : "-");
        printf("epoch:         %"PRIu64"\n", s->epoch);
        printf("ssID:          %u\n", s->ss_id);
        printf("ssIDs:         %s\n",
               fmt_ranges(ss_ids, n_ss_ids, ranges, sizeof ranges));
        if (s->host_block) {
            printf("hostID block:  %u\n", s->host_block);
        } else {
            printf("hostID block:  -\n");
        }
        printf("started:       %s\n", fmt_time(s->started_ms, t));
        printf("switches:      %u (%u connected)\n", s->n_switches,
               s->n_connected);
        printf("hosts:         %u\n", s->n_hosts);
        printf("objects:       %u (%u instances)\n", s->n_objects,
               s->n_instances);
        printf("database:      %s\n", s->db_path[0] ? s->db_path : "-");
    }
    scaffold__admin__response__free_unpacked(r, NULL);
}

/* ---- main --------------------------------------------------------------- */

enum {
    OPT_SOCKET = 256,
    OPT_STATE_DIR,
    OPT_CONNECT,
    OPT_TOKEN,
    OPT_JSON,
    OPT_SINCE,
    OPT_FOLLOW,
};

static const struct option global_opts[] = {
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct option cmd_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"since", required_argument, NULL, OPT_SINCE},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The commands and how many positional arguments each takes. */
static const struct {
    const char *name;
    int n_args;
    const char *args;
} commands[] = {
    {"switches", 0, ""}, {"links", 0, ""}, {"hosts", 0, ""},
    {"blocks", 0, ""},
    {"objects", 0, ""}, {"instances", 1, "OBJ"}, {"rules", 1, "DPID"},
    {"events", 0, "[--since N] [--follow]"},
    {"set-role", 2, "DPID label|object"}, {"evict", 1, "HOST"},
    {"status", 0, ""},
};

int
main(int argc, char *argv[])
{
    static struct sfctl ctl = { .fd = -1, .next_id = 1 };
    const char *socket_path = NULL, *state_dir = NULL, *tcp = NULL;
    char path_buf[sizeof ((struct sockaddr_un *) 0)->sun_path];
    int opt;

    ctl.token = getenv("SFCTL_TOKEN");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+h", global_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_SOCKET:
            socket_path = optarg;
            break;
        case OPT_STATE_DIR:
            state_dir = optarg;
            break;
        case OPT_CONNECT:
            tcp = optarg;
            break;
        case OPT_TOKEN:
            ctl.token = optarg;
            break;
        case OPT_JSON:
            ctl.json = true;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage_error("unknown or incomplete option '%s'",
                        argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage_error("no command given");
    }
    if (!!socket_path + !!state_dir + !!tcp > 1) {
        usage_error("give only one of --socket, --state-dir, --connect");
    }
    if (tcp && (!ctl.token || !ctl.token[0])) {
        usage_error("--connect needs --token (or $SFCTL_TOKEN)");
    }

    /* The command and its own options. */
    const char *cmd = argv[optind];
    size_t ci;
    for (ci = 0; ci < sizeof commands / sizeof commands[0]; ci++) {
        if (!strcmp(commands[ci].name, cmd)) {
            break;
        }
    }
    if (ci == sizeof commands / sizeof commands[0]) {
        usage_error("unknown command '%s'", cmd);
    }
    int cargc = argc - optind;
    char **cargv = argv + optind;
    uint64_t since = 0;
    bool follow = false;
    optind = 0;
    while ((opt = getopt_long(cargc, cargv, "+h", cmd_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_JSON:
            ctl.json = true;
            break;
        case OPT_SINCE:
        case OPT_FOLLOW:
            if (strcmp(cmd, "events")) {
                usage_error("%s takes no option '%s'", cmd,
                            cargv[optind - 1]);
            }
            if (opt == OPT_FOLLOW) {
                follow = true;
            } else {
                char *end;
                errno = 0;
                since = strtoull(optarg, &end, 10);
                if (!*optarg || *end || errno || *optarg == '-') {
                    usage_error("--since wants an event id, not '%s'",
                                optarg);
                }
            }
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage_error("%s: unknown or incomplete option '%s'", cmd,
                        cargv[optind - 1]);
        }
    }
    int n_args = cargc - optind;
    char **args = cargv + optind;
    if (n_args != commands[ci].n_args) {
        if (!commands[ci].args[0]) {
            usage_error("%s takes no arguments", cmd);
        }
        usage_error("usage: sfctl %s %s", cmd, commands[ci].args);
    }

    /* Check the arguments before connecting: a usage error is a usage
     * error even when the controller is down. */
    if (!strcmp(cmd, "rules") || !strcmp(cmd, "set-role")) {
        parse_dpid(args[0]);
    }
    if (!strcmp(cmd, "set-role") && strcmp(args[1], "label")
        && strcmp(args[1], "object")) {
        usage_error("role must be 'label' or 'object', not '%s'", args[1]);
    }
    if (!strcmp(cmd, "evict")) {
        uint8_t mac[6];
        uint32_t prefix;
        parse_host(args[0], mac, &prefix);
    }
    if (!strcmp(cmd, "instances") && !strcmp(args[0], "0")) {
        usage_error("objectID must be 1..65535");
    }

    signal(SIGPIPE, SIG_IGN);
    sfp_framer_init(&ctl.framer, SFCTL_MAX_RESPONSE);
    if (tcp) {
        ctl.where = tcp;
        connect_tcp(&ctl, tcp);
    } else {
        if (!socket_path) {
            int n = snprintf(path_buf, sizeof path_buf, "%s/%s",
                             state_dir ? state_dir : SFCTL_DEFAULT_STATE_DIR,
                             SFCTL_SOCKET_NAME);
            if (n < 0 || (size_t) n >= sizeof path_buf) {
                usage_error("state directory path too long");
            }
            socket_path = path_buf;
        }
        ctl.where = socket_path;
        ctl.token = NULL;
        connect_unix(&ctl, socket_path);
    }
    struct timeval tv = { SFCTL_TIMEOUT_S, 0 };
    setsockopt(ctl.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    if (!strcmp(cmd, "switches")) {
        cmd_switches(&ctl);
    } else if (!strcmp(cmd, "links")) {
        cmd_links(&ctl);
    } else if (!strcmp(cmd, "hosts")) {
        cmd_hosts(&ctl);
    } else if (!strcmp(cmd, "blocks")) {
        cmd_blocks(&ctl);
    } else if (!strcmp(cmd, "objects")) {
        cmd_objects(&ctl);
    } else if (!strcmp(cmd, "instances")) {
        cmd_instances(&ctl, args[0]);
    } else if (!strcmp(cmd, "rules")) {
        cmd_rules(&ctl, args[0]);
    } else if (!strcmp(cmd, "events")) {
        cmd_events(&ctl, since, follow);
    } else if (!strcmp(cmd, "set-role")) {
        cmd_set_role(&ctl, args[0], args[1]);
    } else if (!strcmp(cmd, "evict")) {
        cmd_evict(&ctl, args[0]);
    } else {
        cmd_status(&ctl);
    }
    close(ctl.fd);
    sfp_framer_destroy(&ctl.framer);
    if (fflush(stdout) || ferror(stdout)) {
        die("writing output: %s", strerror(errno));
    }
    return 0;
}
