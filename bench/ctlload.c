/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sf-ctlload: joins/s, binds/s and leaves/s through the real control plane.
 *
 *   sf-ctlload -i IFACE [--hosts N] [--binds B] [--objects K]
 *              [--window W] [--timeout MS] [--retries R] [--no-leave]
 *              [--json]
 *
 * Runs where a host would (a network namespace whose interface IFACE is an
 * edge port of a label router) and plays N hosts at once, each with its own
 * MAC: every request is a real in-band control frame (docs/protocol.md 5.5)
 * that the label router hands to the controller as a packet-in, and every
 * answer is the controller's packet-out.  Three phases, each timed on its
 * own: N JoinRequests, then B BindRequests per joined host (objectIDs
 * spread over K objects, LISTEN | REPLACE: each is a bucket the controller
 * installs in the object router's group before it answers), then N
 * LeaveRequests (which withdraw every instance and the hosts' rules).
 *
 * At most W requests are outstanding at a time (a sliding window); an
 * unanswered request is sent again with the same id after the timeout, at
 * most R times (the controller handles retries idempotently).  Figures per
 * phase: requests, answered, errors (by the controller's error code),
 * retransmissions, duration, rate = answered / duration, and the latency
 * from first transmission to answer (median, 99th percentile, max).
 *
 * Exit status: 0 when every request of every phase was answered without an
 * error, 1 otherwise (or on a socket error), 2 for bad options.  Needs
 * CAP_NET_RAW (a packet socket on IFACE, set promiscuous: the answers go to
 * the invented MACs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/control.pb-c.h"
#include "proto/sfp.h"

#define CL_FRAME_MAX 2048
/* Requests in one phase: cl_req_id() has 24 bits for the index. */
#define CL_MAX_REQUESTS 0x1000000u

enum cl_phase { CL_JOIN, CL_BIND, CL_LEAVE, CL_N_PHASES };
static const char *const cl_phase_name[CL_N_PHASES] = {
    "join", "bind", "leave",
};

/* One emulated host. */
struct cl_host {
    uint8_t mac[6];
    uint8_t ss_id, host_id;     /* 0 until joined. */
    uint8_t gw[6];
    bool have_gw;
};

/* One request of the current phase. */
struct cl_req {
    uint32_t host;              /* Index into hosts. */
    uint32_t object_id;         /* Bind: objectID; else 0. */
    uint32_t sock_id;           /* Bind: sockID; else 0. */
    uint64_t first_ns;          /* First transmission; 0: not sent yet. */
    uint64_t last_ns;           /* Latest transmission. */
    unsigned int tries;
    bool done;
};

struct cl_stats {
    size_t requests, answered, errors, retrans, given_up, stray;
    size_t err_code[16];
    double seconds;
    double *lat_us;             /* One per answered request. */
};

static struct {
    const char *ifname;
    unsigned int hosts, binds, objects, window, timeout_ms, retries;
    bool leave, json;
} opt = {
    .hosts = 100, .binds = 1, .objects = 10, .window = 32,
    .timeout_ms = 200, .retries = 10, .leave = true,
};

static volatile sig_atomic_t cl_stop;
static int cl_fd = -1;
static int cl_ifindex;
static struct cl_host *cl_hosts;
static uint32_t cl_run_tag;

static void
cl_on_signal(int sig)
{
    (void) sig;
    cl_stop = 1;
}

static uint64_t
cl_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Request ids: the phase in the top byte, the request's index below, a
 * per-run tag in the middle, so that answers from an earlier run (or
 * another phase) are never taken for this one's. */
static uint64_t
cl_req_id(enum cl_phase phase, size_t index)
{
    return ((uint64_t) (phase + 1) << 56) | ((uint64_t) cl_run_tag << 24)
           | (uint64_t) (index & 0xffffff);
}

static int
cl_open(const char *ifname)
{
    struct sockaddr_ll sll;
    struct packet_mreq mr;
    int fd, size = 4 << 20;

    cl_ifindex = (int) if_nametoindex(ifname);
    if (!cl_ifindex) {
        fprintf(stderr, "sf-ctlload: interface '%s': %s\n", ifname,
                strerror(errno));
        return -1;
    }
    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    if (fd < 0) {
        fprintf(stderr, "sf-ctlload: packet socket: %s (needs "
                "CAP_NET_RAW)\n", strerror(errno));
        return -1;
    }
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_IP);
    sll.sll_ifindex = cl_ifindex;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = cl_ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (bind(fd, (struct sockaddr *) &sll, sizeof sll) < 0
        || setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
                      sizeof mr) < 0) {
        fprintf(stderr, "sf-ctlload: %s: %s\n", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return fd;
}

/* Sends 'env' from host 'h' as an unbound control datagram. */
static int
cl_send(const struct cl_host *h, const Scaffold__Control__Envelope *env)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t msg[512], frame[CL_FRAME_MAX];
    struct sfp_frame f;
    size_t n, len;

    n = scaffold__control__envelope__get_packed_size(env);
    if (n > sizeof msg) {
        return -EMSGSIZE;
    }
    scaffold__control__envelope__pack(env, msg);
    memset(&f, 0, sizeof f);
    memcpy(f.eth_dst, h->have_gw ? h->gw : bcast, 6);
    memcpy(f.eth_src, h->mac, 6);
    f.src_flow = h->host_id ? sfp_flowid_make(h->ss_id, h->host_id, 0) : 0;
    f.dst_flow = sfp_flowid_unresolved(h->ss_id);
    f.src_obj = SFP_OBJ_CONTROL;
    f.dst_obj = SFP_OBJ_CONTROL;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.payload = msg;
    f.payload_len = n;
    len = sfp_frame_encode(&f, frame, sizeof frame);
    if (!len) {
        return -EMSGSIZE;
    }
    if (len < SFP_ETH_MIN_FRAME) {
        memset(frame + len, 0, SFP_ETH_MIN_FRAME - len);
        len = SFP_ETH_MIN_FRAME;
    }
    for (;;) {
        if (send(cl_fd, frame, len, 0) >= 0) {
            return 0;
        }
        if (errno == ENOBUFS || errno == EAGAIN) {
            struct pollfd p = { .fd = cl_fd, .events = POLLOUT };
            (void) poll(&p, 1, 10);
            continue;
        }
        return -errno;
    }
}

static int
cl_xmit(enum cl_phase phase, size_t index, const struct cl_req *r)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest join =
        SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;
    Scaffold__Control__BindRequest bind =
        SCAFFOLD__CONTROL__BIND_REQUEST__INIT;
    Scaffold__Control__LeaveRequest leave =
        SCAFFOLD__CONTROL__LEAVE_REQUEST__INIT;
    struct cl_host *h = &cl_hosts[r->host];
    char name[32];

    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    switch (phase) {
    case CL_JOIN:
        snprintf(name, sizeof name, "ctlload-%u", r->host);
        join.id = cl_req_id(phase, index);
        join.mac.data = h->mac;
        join.mac.len = 6;
        join.agent_version = (char *) "sf-ctlload";
        join.name = name;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
        env.join = &join;
        break;
    case CL_BIND:
        bind.id = cl_req_id(phase, index);
        bind.object_id = r->object_id;
        bind.sock_id = r->sock_id;
        bind.flags = SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_LISTEN
                     | SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
        env.bind = &bind;
        break;
    case CL_LEAVE:
    default:
        leave.id = cl_req_id(phase, index);
        leave.reason = SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_SHUTDOWN;
        env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE;
        env.leave = &leave;
        break;
    }
    return cl_send(h, &env);
}

/* Takes the answer in 'env' for request 'r' of 'phase'.  Returns true if it
 * answers it (reply or error), false if it is not for 'r'. */
static bool
cl_answer(enum cl_phase phase, struct cl_req *r,
          const Scaffold__Control__Envelope *env, struct cl_stats *st,
          uint64_t now)
{
    struct cl_host *h = &cl_hosts[r->host];

    if (env->body_case == SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR) {
        unsigned int code = (unsigned int) env->error->code;

        st->errors++;
        st->err_code[code < 16 ? code : 15]++;
    } else if (phase == CL_JOIN
               && env->body_case
                  == SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY) {
        const Scaffold__Control__JoinReply *jr = env->join_reply;

        if (!jr->ss_id || jr->ss_id > 254 || !jr->host_id
            || jr->host_id > 254 || jr->gateway_mac.len != 6) {
            st->errors++;
            st->err_code[0]++;
        } else {
            h->ss_id = (uint8_t) jr->ss_id;
            h->host_id = (uint8_t) jr->host_id;
            memcpy(h->gw, jr->gateway_mac.data, 6);
            h->have_gw = true;
            st->answered++;
        }
    } else if (phase != CL_JOIN
               && env->body_case == SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY) {
        st->answered++;
        if (phase == CL_LEAVE) {
            h->host_id = 0;
        }
    } else {
        return false;
    }
    st->lat_us[st->answered + st->errors - 1] =
        (double) (now - r->first_ns) / 1e3;
    r->done = true;
    return true;
}

/* Reads every frame waiting on the socket; answers go to their requests. */
static size_t
cl_receive(enum cl_phase phase, struct cl_req *reqs, size_t n_reqs,
           struct cl_stats *st)
{
    uint8_t buf[CL_FRAME_MAX];
    size_t done = 0;

    for (;;) {
        Scaffold__Control__Envelope *env;
        struct sfp_frame f;
        ssize_t len = recv(cl_fd, buf, sizeof buf, MSG_DONTWAIT);
        uint64_t id, index;

        if (len < 0) {
            break;
        }
        if (sfp_frame_decode(buf, (size_t) len, &f) != SFP_OK
            || f.src_obj != SFP_OBJ_CONTROL || f.dst_obj != SFP_OBJ_CONTROL
            || sfp_flowid_host(f.src_flow) != SFP_HOST_CONTROLLER) {
            continue;       /* Our own requests, probes, other traffic. */
        }
        env = scaffold__control__envelope__unpack(NULL, f.payload_len,
                                                  f.payload);
        if (!env) {
            st->stray++;
            continue;
        }
        switch (env->body_case) {
        case SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY:
            id = env->join_reply->id;
            break;
        case SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY:
            id = env->reply->id;
            break;
        case SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR:
            id = env->error->id;
            break;
        default:
            id = 0;
            break;
        }
        index = id & 0xffffff;
        if (id != cl_req_id(phase, index) || index >= n_reqs
            || reqs[index].done || !reqs[index].first_ns
            || memcmp(f.eth_dst, cl_hosts[reqs[index].host].mac, 6)) {
            st->stray++;    /* A duplicate answer to a retransmission. */
        } else if (cl_answer(phase, &reqs[index], env, st, cl_now_ns())) {
            done++;
        } else {
            st->stray++;
        }
        scaffold__control__envelope__free_unpacked(env, NULL);
    }
    return done;
}

static int
cl_cmp_double(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;

    return a < b ? -1 : a > b;
}

/* Runs one phase over 'reqs' with the sliding window.  Returns 0, or a
 * negative errno for a socket error. */
static int
cl_run_phase(enum cl_phase phase, struct cl_req *reqs, size_t n,
             struct cl_stats *st)
{
    uint64_t timeout = (uint64_t) opt.timeout_ms * 1000000ULL;
    uint64_t start = cl_now_ns(), last_progress = start;
    size_t next = 0, finished = 0, in_flight = 0, i;

    memset(st, 0, sizeof *st);
    st->requests = n;
    st->lat_us = calloc(n ? n : 1, sizeof *st->lat_us);
    if (!st->lat_us) {
        return -ENOMEM;
    }
    while (finished < n && !cl_stop) {
        uint64_t now = cl_now_ns();
        struct pollfd p = { .fd = cl_fd, .events = POLLIN };
        size_t got;
        int rc;

        /* Fill the window. */
        while (next < n && in_flight < opt.window) {
            reqs[next].first_ns = reqs[next].last_ns = now;
            reqs[next].tries = 1;
            rc = cl_xmit(phase, next, &reqs[next]);
            if (rc) {
                return rc;
            }
            next++;
            in_flight++;
        }
        rc = poll(&p, 1, 2);
        if (rc < 0 && errno != EINTR) {
            return -errno;
        }
        got = cl_receive(phase, reqs, next, st);
        finished += got;
        in_flight -= got;
        now = cl_now_ns();
        if (got) {
            last_progress = now;
        }
        /* Retransmit what timed out; give up after opt.retries. */
        for (i = 0; i < next; i++) {
            struct cl_req *r = &reqs[i];

            if (r->done || now - r->last_ns < timeout) {
                continue;
            }
            if (r->tries > opt.retries) {
                r->done = true;
                st->given_up++;
                finished++;
                in_flight--;
                continue;
            }
            r->tries++;
            r->last_ns = now;
            st->retrans++;
            rc = cl_xmit(phase, i, r);
            if (rc) {
                return rc;
            }
        }
        (void) last_progress;
    }
    st->seconds = (double) (cl_now_ns() - start) / 1e9;
    return 0;
}

static void
cl_print(enum cl_phase phase, const struct cl_stats *st, bool last)
{
    size_t k = st->answered + st->errors;
    double med = 0, p99 = 0, max = 0;
    double rate = st->seconds > 0 ? (double) st->answered / st->seconds : 0;

    if (k) {
        qsort(st->lat_us, k, sizeof *st->lat_us, cl_cmp_double);
        med = st->lat_us[k / 2];
        p99 = st->lat_us[k * 99 / 100 < k ? k * 99 / 100 : k - 1];
        max = st->lat_us[k - 1];
    }
    if (opt.json) {
        printf("  \"%s\": {\"requests\": %zu, \"answered\": %zu, "
               "\"errors\": %zu, \"given_up\": %zu, \"retransmissions\": %zu, "
               "\"stray\": %zu, \"seconds\": %.6f, \"per_second\": %.1f, "
               "\"latency_us\": {\"median\": %.1f, \"p99\": %.1f, "
               "\"max\": %.1f}, \"error_codes\": {",
               cl_phase_name[phase], st->requests, st->answered, st->errors,
               st->given_up, st->retrans, st->stray, st->seconds, rate, med,
               p99, max);
        bool first = true;
        for (size_t c = 0; c < 16; c++) {
            if (st->err_code[c]) {
                printf("%s\"%zu\": %zu", first ? "" : ", ", c,
                       st->err_code[c]);
                first = false;
            }
        }
        printf("}}%s\n", last ? "" : ",");
        return;
    }
    printf("%-5s %zu requests: %zu answered, %zu errors, %zu given up, "
           "%zu retransmissions in %.3f s = %.0f/s; latency median %.0f us, "
           "p99 %.0f us, max %.0f us\n", cl_phase_name[phase], st->requests,
           st->answered, st->errors, st->given_up, st->retrans, st->seconds,
           rate, med, p99, max);
    for (size_t c = 0; c < 16; c++) {
        if (st->err_code[c]) {
            printf("      error code %zu: %zu\n", c, st->err_code[c]);
        }
    }
}

static void
cl_usage(FILE *out)
{
    fprintf(out,
"Usage: sf-ctlload -i IFACE [options]\n"
"Joins, binds and leaves of many emulated hosts through the real control\n"
"plane (in-band frames -> label router -> controller -> packet-outs).\n"
"Run it in a namespace whose IFACE is an edge port of a label router.\n"
"\n"
"  -i, --interface IFACE  the edge interface (required)\n"
"  -n, --hosts N          emulated hosts, each with its own MAC (100)\n"
"  -b, --binds B          BindRequests per joined host (1; 0: no bind phase)\n"
"  -k, --objects K        objectIDs the binds are spread over, from 1000 (10)\n"
"  -w, --window W         requests outstanding at a time (32)\n"
"  -t, --timeout MS       retransmission timeout (200)\n"
"  -r, --retries R        retransmissions before giving up a request (10)\n"
"      --no-leave         skip the leave phase (hosts stay joined)\n"
"      --json             one JSON object on stdout\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 if every request was answered without error, 1 if not (or\n"
"on a socket error), 2 for bad options.\n");
}

static int
cl_uint(const char *s, const char *what, unsigned int min, unsigned int max,
        unsigned int *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max || *s == '-') {
        fprintf(stderr, "sf-ctlload: %s: bad value '%s' (expected %u..%u)\n",
                what, s, min, max);
        return -1;
    }
    *out = (unsigned int) v;
    return 0;
}

int
main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        { "interface", required_argument, NULL, 'i' },
        { "hosts", required_argument, NULL, 'n' },
        { "binds", required_argument, NULL, 'b' },
        { "objects", required_argument, NULL, 'k' },
        { "window", required_argument, NULL, 'w' },
        { "timeout", required_argument, NULL, 't' },
        { "retries", required_argument, NULL, 'r' },
        { "no-leave", no_argument, NULL, 'L' },
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cl_stats st[CL_N_PHASES];
    bool ran[CL_N_PHASES] = { false };
    struct cl_req *reqs;
    int c, rc = 0, status = 0;
    size_t i, n;

    while ((c = getopt_long(argc, argv, "i:n:b:k:w:t:r:h", longopts,
                            NULL)) != -1) {
        int bad = 0;

        switch (c) {
        case 'i': opt.ifname = optarg; break;
        case 'n': bad = cl_uint(optarg, "--hosts", 1, 65535, &opt.hosts);
                  break;
        case 'b': bad = cl_uint(optarg, "--binds", 0, 1000, &opt.binds);
                  break;
        case 'k': bad = cl_uint(optarg, "--objects", 1, 60000,
                                &opt.objects);
                  break;
        case 'w': bad = cl_uint(optarg, "--window", 1, 65535, &opt.window);
                  break;
        case 't': bad = cl_uint(optarg, "--timeout", 1, 60000,
                                &opt.timeout_ms);
                  break;
        case 'r': bad = cl_uint(optarg, "--retries", 0, 1000, &opt.retries);
                  break;
        case 'L': opt.leave = false; break;
        case 'J': opt.json = true; break;
        case 'h': cl_usage(stdout); return 0;
        default: cl_usage(stderr); return 2;
        }
        if (bad) {
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sf-ctlload: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    if (!opt.ifname) {
        fprintf(stderr, "sf-ctlload: -i IFACE is required (see --help)\n");
        return 2;
    }
    if ((uint64_t) opt.hosts * opt.binds > CL_MAX_REQUESTS) {
        /* Request ids carry a phase's request index in 24 bits. */
        fprintf(stderr, "sf-ctlload: --hosts %u x --binds %u: more than %u "
                "requests in one phase\n", opt.hosts, opt.binds,
                CL_MAX_REQUESTS);
        return 2;
    }
    signal(SIGINT, cl_on_signal);
    signal(SIGTERM, cl_on_signal);
    cl_fd = cl_open(opt.ifname);
    if (cl_fd < 0) {
        return 1;
    }
    srandom((unsigned int) (cl_now_ns() ^ (uint64_t) getpid()));
    cl_run_tag = (uint32_t) random() & 0xffffffu;
    cl_hosts = calloc(opt.hosts, sizeof *cl_hosts);
    n = (size_t) opt.hosts * (opt.binds > 1 ? opt.binds : 1);
    reqs = calloc(n, sizeof *reqs);
    if (!cl_hosts || !reqs) {
        fprintf(stderr, "sf-ctlload: out of memory\n");
        return 1;
    }
    /* Locally administered, unicast; two random bytes per run. */
    uint16_t r16 = (uint16_t) random();
    for (i = 0; i < opt.hosts; i++) {
        uint8_t m[6] = { 0x02, 0xc1, (uint8_t) (r16 >> 8), (uint8_t) r16,
                         (uint8_t) (i >> 8), (uint8_t) i };
        memcpy(cl_hosts[i].mac, m, 6);
    }
    if (opt.json) {
        printf("{\n  \"hosts\": %u, \"binds_per_host\": %u, \"objects\": %u, "
               "\"window\": %u,\n", opt.hosts, opt.binds, opt.objects,
               opt.window);
    }

    /* Joins. */
    for (i = 0; i < opt.hosts; i++) {
        reqs[i] = (struct cl_req) { .host = (uint32_t) i };
    }
    rc = cl_run_phase(CL_JOIN, reqs, opt.hosts, &st[CL_JOIN]);
    ran[CL_JOIN] = !rc;

    /* Binds from every joined host. */
    if (!rc && opt.binds && !cl_stop) {
        size_t k = 0;
        for (i = 0; i < opt.hosts; i++) {
            if (!cl_hosts[i].host_id) {
                continue;
            }
            for (unsigned int b = 0; b < opt.binds; b++, k++) {
                reqs[k] = (struct cl_req) {
                    .host = (uint32_t) i,
                    .object_id = 1000 + (uint32_t) (k % opt.objects),
                    .sock_id = 100 + b,
                };
            }
        }
        rc = cl_run_phase(CL_BIND, reqs, k, &st[CL_BIND]);
        ran[CL_BIND] = !rc;
    }

    /* Leaves. */
    if (!rc && opt.leave && !cl_stop) {
        size_t k = 0;
        for (i = 0; i < opt.hosts; i++) {
            if (cl_hosts[i].host_id) {
                reqs[k++] = (struct cl_req) { .host = (uint32_t) i };
            }
        }
        rc = cl_run_phase(CL_LEAVE, reqs, k, &st[CL_LEAVE]);
        ran[CL_LEAVE] = !rc;
    }
    if (rc) {
        fprintf(stderr, "sf-ctlload: %s\n", strerror(-rc));
        status = 1;
    }

    int last = -1;
    for (c = 0; c < CL_N_PHASES; c++) {
        if (ran[c]) {
            last = c;
        }
    }
    for (c = 0; c < CL_N_PHASES; c++) {
        if (!ran[c]) {
            continue;
        }
        cl_print((enum cl_phase) c, &st[c], c == last);
        if (st[c].answered != st[c].requests) {
            status = 1;
        }
        free(st[c].lat_us);
    }
    if (opt.json) {
        printf("%s}\n", last < 0 ? "  \"error\": true\n" : "");
    }
    if (cl_stop) {
        status = 1;
    }
    free(reqs);
    free(cl_hosts);
    close(cl_fd);
    return status;
}
