/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sf-iperf: iperf's UDP mode over SCAFFOLD sockets (and over kernel UDP
 * for comparison on the same path).
 *
 *   sf-iperf -s [--object OBJ] [--json] [-1]
 *   sf-iperf -s --udp [HOST:]PORT [--json] [-1]
 *   sf-iperf -c OBJ [--dgram] [-b RATE] [-l LEN] [-t SECS] [-i SECS] [--json]
 *   sf-iperf --udp HOST:PORT [-b RATE] [-l LEN] [-t SECS] [-i SECS] [--json]
 *
 * The client paces DATA datagrams (sequence number + send time) with a
 * token bucket for -t seconds, then sends FIN with its totals until the
 * server answers with its final REPORT.  The server accounts every session
 * (iperf-proto.c: loss, RFC 3550 jitter, out-of-order, duplicates), prints
 * an interval line every -i seconds of the client and sends it back as an
 * INTERVAL message, so that both ends show send and receive figures.
 *
 * Transports: a bound flow (connect_sf/send_sf, the default), unbound
 * datagrams (--dgram: sendto_sf to the objectID, each resolved on its own;
 * the server answers with sendto_sf to the source flowID), or kernel UDP
 * (--udp; sendmmsg batches).  An sf server serves both sf transports on
 * its objectID at once.  Every transport is batched the same way: the
 * client sends what the token bucket releases at once (up to BATCH) with
 * one sendmmsg/sendmmsg_sf, the server reads with recvmmsg/recvmmsg_sf.
 *
 * --rtt: ping-pong latency instead (every server mode echoes "SFPG"
 * datagrams as they are).
 *
 * One thread, one poll() loop per side.
 */
#include <sf/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apps/iperf-proto.h"
#include "proto/sfp.h"

#define DEFAULT_OBJECT  5001
#define MAX_SESSIONS    64
#define BATCH           32              /* Datagrams per send round. */
#define UDP_BATCH       32              /* recvmmsg batch. */
#define RCVBUF          (4 << 20)       /* Server socket buffers. */
#define FIN_TRIES       20
#define FIN_WAIT_NS     150000000ULL    /* Between FINs. */
#define IDLE_NS         5000000000ULL   /* A silent session ends. */
#define LINGER_NS       10000000000ULL  /* A finished one answers FINs. */
/* --rtt: "SFPG" | u64 sequence | padding, echoed as is by every server
 * mode (kernel UDP reads at most 256 bytes of a datagram). */
#define RTT_MAGIC       0x53465047u
#define RTT_HDR_LEN     12
#define RTT_MAX_LEN     256
#define RTT_TIMEOUT_MS  1000

enum mode {
    MODE_BOUND,                 /* sf bound flow. */
    MODE_DGRAM,                 /* sf unbound datagrams. */
    MODE_UDP,                   /* Kernel UDP. */
};

static const char *const mode_names[] = { "bound", "dgram", "udp" };

struct options {
    bool server;
    enum mode mode;
    uint16_t object;
    struct sockaddr_storage udp_addr;
    socklen_t udp_len;
    double rate_bps;            /* 0: unlimited. */
    size_t len;
    double duration;
    double interval;
    bool json;
    bool one_off;
    bool rtt;                   /* Ping-pong latency instead of a stream. */
    unsigned long count;        /* --rtt: exchanges. */
};

/* A run the server is receiving. */
struct session {
    bool used;
    enum mode mode;
    int fd;                     /* MODE_BOUND: the connection; else the
                                 * shared socket. */
    bool started;               /* First DATA seen. */
    bool finished;              /* Final report made. */
    uint32_t id;
    struct sockaddr_sf sf_from; /* MODE_DGRAM: where to answer. */
    struct sockaddr_storage udp_from;   /* MODE_UDP. */
    socklen_t udp_len;
    char peer[64];
    uint64_t interval_ns;
    struct ipf_rx rx;
    uint64_t first_ns, last_ns; /* Monotonic arrival times. */
    uint64_t next_iv_ns;
    uint32_t iv_index;
    uint64_t done_ns;
    struct ipf_stats final;
    json_t *intervals;          /* --json: the interval objects. */
};

struct server {
    const struct options *opt;
    int lfd, dfd, ufd;          /* Listener, sf datagram, UDP: or -1. */
    struct session s[MAX_SESSIONS];
    int n_done;
};

static volatile sig_atomic_t stop;

static void usage(FILE *);
static int parse_hostport(const char *, bool passive,
                          struct sockaddr_storage *, socklen_t *);
static uint64_t mono_ns(void);
static uint64_t real_ns(void);
static void on_signal(int);
static const char *sf_addr_str(const struct sockaddr_sf *, char *, size_t);
static double mbps(uint64_t bytes, uint64_t ns);
static void print_stats(const char *tag, const struct ipf_stats *);
static json_t *stats_json(const struct ipf_stats *);
static int run_client(const struct options *);
static int run_server(const struct options *);

static uint32_t
get_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return ntohl(v);
}

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "server", no_argument, NULL, 's' },
        { "client", required_argument, NULL, 'c' },
        { "object", required_argument, NULL, 'o' },
        { "dgram", no_argument, NULL, 'd' },
        { "udp", required_argument, NULL, 'u' },
        { "bandwidth", required_argument, NULL, 'b' },
        { "length", required_argument, NULL, 'l' },
        { "time", required_argument, NULL, 't' },
        { "interval", required_argument, NULL, 'i' },
        { "json", no_argument, NULL, 'J' },
        { "one-off", no_argument, NULL, '1' },
        { "rtt", no_argument, NULL, 'R' },
        { "count", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct options o;
    const char *udp = NULL;
    bool have_client = false, dgram = false;
    char *end;
    int c;

    memset(&o, 0, sizeof o);
    o.object = DEFAULT_OBJECT;
    o.rate_bps = 1e6;
    o.len = 1400;
    o.duration = 10;
    o.interval = 1;
    o.count = 1000;
    while ((c = getopt_long(argc, argv, "sc:o:du:b:l:t:i:J1Rn:h", opts,
                            NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = true;
            break;
        case 'c':
        case 'o':
            if (sfp_objectid_parse(optarg, &o.object)
                || !sfp_objectid_is_valid(o.object)) {
                fprintf(stderr, "sf-iperf: %s: not an objectID (1..65535)\n",
                        optarg);
                return 2;
            }
            have_client |= c == 'c';
            break;
        case 'd':
            dgram = true;
            break;
        case 'u':
            udp = optarg;
            break;
        case 'b':
            if (ipf_parse_rate(optarg, &o.rate_bps)) {
                fprintf(stderr, "sf-iperf: -b %s: expected a rate in bit/s "
                        "such as 500k, 100M, 1G (0: unlimited)\n", optarg);
                return 2;
            }
            break;
        case 'l': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < RTT_HDR_LEN || v > IPF_MAX_MSG) {
                fprintf(stderr, "sf-iperf: -l %s: payload size must be "
                        "%d..%d bytes\n", optarg, IPF_DATA_LEN, IPF_MAX_MSG);
                return 2;
            }
            o.len = (size_t) v;
            break;
        }
        case 't':
            o.duration = strtod(optarg, &end);
            if (*end || !(o.duration > 0) || o.duration > 86400) {
                fprintf(stderr, "sf-iperf: -t %s: seconds, > 0\n", optarg);
                return 2;
            }
            break;
        case 'i':
            o.interval = strtod(optarg, &end);
            if (*end || !(o.interval >= 0.01) || o.interval > 60) {
                fprintf(stderr, "sf-iperf: -i %s: seconds, 0.01..60\n",
                        optarg);
                return 2;
            }
            break;
        case 'J':
            o.json = true;
            break;
        case '1':
            o.one_off = true;
            break;
        case 'R':
            o.rtt = true;
            break;
        case 'n': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > 100000000) {
                fprintf(stderr, "sf-iperf: -n %s: 1..100000000\n", optarg);
                return 2;
            }
            o.count = v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sf-iperf: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (o.len < (o.rtt ? RTT_HDR_LEN : IPF_DATA_LEN)) {
        fprintf(stderr, "sf-iperf: -l %zu: payload size must be at least "
                "%d bytes\n", o.len, o.rtt ? RTT_HDR_LEN : IPF_DATA_LEN);
        return 2;
    }
    if (o.rtt && (o.server || o.len > RTT_MAX_LEN)) {
        fprintf(stderr, "sf-iperf: --rtt is a client option, with -l at "
                "most %d\n", RTT_MAX_LEN);
        return 2;
    }
    if (o.server && have_client) {
        fprintf(stderr, "sf-iperf: -s and -c are exclusive\n");
        return 2;
    }
    if (!o.server && !have_client && !udp) {
        fprintf(stderr, "sf-iperf: give -s (server), -c OBJ or "
                "--udp HOST:PORT (client)\n");
        usage(stderr);
        return 2;
    }
    if (udp && have_client) {
        fprintf(stderr, "sf-iperf: -c OBJ and --udp are exclusive\n");
        return 2;
    }
    if (dgram && udp) {
        fprintf(stderr, "sf-iperf: --dgram and --udp are exclusive\n");
        return 2;
    }
    o.mode = udp ? MODE_UDP : dgram ? MODE_DGRAM : MODE_BOUND;
    if (udp && parse_hostport(udp, o.server, &o.udp_addr, &o.udp_len)) {
        fprintf(stderr, "sf-iperf: --udp %s: expected %sHOST:PORT\n", udp,
                o.server ? "[HOST:]PORT or " : "");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    return o.server ? run_server(&o) : run_client(&o);
}

static void
usage(FILE *f)
{
    fprintf(f,
"Usage: sf-iperf -s [--object OBJ] [--json] [-1]\n"
"       sf-iperf -s --udp [HOST:]PORT [--json] [-1]\n"
"       sf-iperf -c OBJ [--dgram] [-b RATE] [-l LEN] [-t SECS] [-i SECS]\n"
"                [--json]\n"
"       sf-iperf --udp HOST:PORT [-b RATE] [-l LEN] [-t SECS] [-i SECS]\n"
"                [--json]\n"
"       sf-iperf {-c OBJ [--dgram] | --udp HOST:PORT} --rtt [-l LEN] [-n N]\n"
"Measures a paced datagram stream like iperf's UDP mode: send rate,\n"
"receive rate, loss, jitter (RFC 3550) and reordering, per interval and\n"
"in total.  SCAFFOLD modes need scaffold-hostagent in this network\n"
"namespace.\n"
"  -s, --server          receive: serve objectID OBJ over bound flows and\n"
"                        unbound datagrams at once (or kernel UDP, --udp)\n"
"  -o, --object OBJ      server's objectID (default %d)\n"
"  -c, --client OBJ      send to objectID OBJ over a bound flow\n"
"  -d, --dgram           client: unbound datagrams (sendto_sf, each\n"
"                        resolved on its own) instead of a bound flow\n"
"  -u, --udp HOST:PORT   kernel UDP instead of SCAFFOLD (comparison)\n"
"  -b, --bandwidth RATE  target rate in bit/s, k/M/G suffixes; 0 = as fast\n"
"                        as possible (default 1M)\n"
"  -l, --length LEN      datagram payload bytes (default 1400, min %d)\n"
"  -t, --time SECS       how long to send (default 10)\n"
"  -i, --interval SECS   report interval (default 1)\n"
"  -J, --json            machine-readable output (server: one JSON object\n"
"                        per line and run)\n"
"  -1, --one-off         server: exit after one run\n"
"  -R, --rtt             client: ping-pong latency instead of a stream:\n"
"                        -n datagrams of -l bytes (min %d, max %d), one at\n"
"                        a time; prints mean/stddev/min/median/max\n"
"  -n, --count N         --rtt: exchanges (default 1000)\n"
"  -h, --help            this text\n"
"Exit status: 0 done, 1 error (no agent, no server, connection lost, no\n"
"final report), 2 usage.\n", DEFAULT_OBJECT, IPF_DATA_LEN, RTT_HDR_LEN,
            RTT_MAX_LEN);
}

/* ---- client ------------------------------------------------------------ */

struct client {
    const struct options *opt;
    int fd;
    struct sockaddr_sf dst;     /* MODE_DGRAM. */
    uint32_t session;
    uint8_t *bufs;              /* BATCH datagrams of opt->len bytes. */
    uint64_t sent, sent_bytes, send_errors;
    uint64_t iv_sent, iv_bytes;
    bool have_report;
    bool lost_conn;
    struct ipf_stats report;
    json_t *iv_json;            /* Client intervals. */
    json_t *srv_json;           /* Server intervals. */
};

static int client_open(struct client *);
static int client_send(struct client *, unsigned int n);
static void client_drain(struct client *);
static int client_rtt(struct client *);
static int cmp_double(const void *, const void *);
static void client_interval(struct client *, uint32_t index, double start,
                            double end);

static int
run_client(const struct options *o)
{
    struct client c;
    struct ipf_bucket bucket;
    struct ipf_msg m;
    uint64_t t0, t_end, iv_ns, next_iv, now, since_poll = 0, t_stop;
    uint32_t iv_index = 0;
    double burst;
    unsigned int i;
    int rc = 0;

    memset(&c, 0, sizeof c);
    c.opt = o;
    c.fd = -1;
    while (getrandom(&c.session, sizeof c.session, 0) != sizeof c.session) {
        continue;
    }
    c.bufs = calloc(BATCH, o->len);
    c.iv_json = json_array();
    c.srv_json = json_array();
    if (!c.bufs || !c.iv_json || !c.srv_json) {
        fprintf(stderr, "sf-iperf: out of memory\n");
        return 1;
    }
    if (client_open(&c)) {
        free(c.bufs);
        json_decref(c.iv_json);
        json_decref(c.srv_json);
        return 1;
    }
    if (o->rtt) {
        rc = client_rtt(&c);
        if (o->mode == MODE_UDP) {
            close(c.fd);
        } else {
            close_sf(c.fd, 0);
        }
        free(c.bufs);
        json_decref(c.iv_json);
        json_decref(c.srv_json);
        return rc;
    }
    memset(&m, 0, sizeof m);
    m.type = IPF_DATA;
    m.session = c.session;
    m.interval_ms = (uint16_t) llround(o->interval * 1000);
    for (i = 0; i < BATCH; i++) {
        ipf_encode(c.bufs + i * o->len, o->len, &m);
    }
    if (!o->json) {
        char target[64];

        if (o->mode == MODE_UDP) {
            snprintf(target, sizeof target, "UDP");
        } else {
            snprintf(target, sizeof target, "objectID %u", o->object);
        }
        char rate[32];

        if (o->rate_bps > 0) {
            snprintf(rate, sizeof rate, "%.3f Mbit/s", o->rate_bps / 1e6);
        } else {
            snprintf(rate, sizeof rate, "unlimited");
        }
        printf("sf-iperf: %s to %s, %zu-byte datagrams, %.1f s, target "
               "%s\n", mode_names[o->mode], target, o->len, o->duration,
               rate);
    }

    /* Burst: 2 ms of credit, at least 4 datagrams. */
    burst = o->rate_bps / 8 * 0.002;
    if (burst < 4.0 * (double) o->len) {
        burst = 4.0 * (double) o->len;
    }
    /* Pacing sleeps are short: 1 us of timer slack instead of 50. */
    (void) prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    t0 = mono_ns();
    t_end = t0 + (uint64_t) (o->duration * 1e9);
    iv_ns = (uint64_t) (o->interval * 1e9);
    next_iv = t0 + iv_ns;
    ipf_bucket_init(&bucket, o->rate_bps / 8, burst, t0);
    while (!stop && !c.lost_conn) {
        unsigned int n;

        now = mono_ns();
        while (now >= next_iv && next_iv <= t_end) {
            client_interval(&c, iv_index, (double) iv_index * o->interval,
                            (double) (iv_index + 1) * o->interval);
            iv_index++;
            next_iv += iv_ns;
        }
        if (now >= t_end) {
            break;
        }
        n = ipf_bucket_take(&bucket, now, o->len, BATCH);
        if (n) {
            if (client_send(&c, n) < 0) {
                break;
            }
            since_poll += n;
            if (since_poll >= 256) {
                client_drain(&c);
                since_poll = 0;
            }
        } else {
            uint64_t wait = ipf_bucket_wait_ns(&bucket, o->len);
            struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
            struct timespec ts;

            if (wait > next_iv - now) {
                wait = next_iv - now;
            }
            if (wait > t_end - now) {
                wait = t_end - now;
            }
            ts.tv_sec = (time_t) (wait / 1000000000);
            ts.tv_nsec = (long) (wait % 1000000000);
            if (ppoll(&pfd, 1, &ts, NULL) > 0) {
                client_drain(&c);
            }
            since_poll = 0;
        }
    }
    t_stop = mono_ns();
    if (c.iv_sent || iv_index == 0) {
        double start = (double) iv_index * o->interval;
        double end = (double) (t_stop - t0) / 1e9;
        if (end > start) {
            client_interval(&c, iv_index, start, end);
        }
    }

    /* FIN until the server's final REPORT. */
    memset(&m, 0, sizeof m);
    m.type = IPF_FIN;
    m.session = c.session;
    m.interval_ms = (uint16_t) llround(o->interval * 1000);
    m.sent_packets = c.sent;
    m.sent_bytes = c.sent_bytes;
    m.duration_ns = t_stop - t0;
    for (i = 0; i < FIN_TRIES && !c.have_report && !c.lost_conn; i++) {
        uint8_t fin[IPF_FIN_LEN];
        size_t n = ipf_encode(fin, sizeof fin, &m);
        ssize_t r;
        uint64_t deadline = mono_ns() + FIN_WAIT_NS;

        if (o->mode == MODE_BOUND) {
            r = send_sf(c.fd, fin, n, 0);
        } else if (o->mode == MODE_DGRAM) {
            r = sendto_sf(c.fd, fin, n, 0, (struct sockaddr *) &c.dst,
                          sizeof c.dst);
        } else {
            r = send(c.fd, fin, n, 0);
        }
        if (r < 0 && o->mode == MODE_BOUND) {
            fprintf(stderr, "sf-iperf: send FIN: %s\n", strerror(errno));
            c.lost_conn = true;
            break;
        }
        while (!c.have_report && !c.lost_conn
               && (now = mono_ns()) < deadline) {
            struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
            int ms = (int) ((deadline - now) / 1000000) + 1;

            if (poll(&pfd, 1, ms) > 0) {
                client_drain(&c);
            }
        }
    }

    if (o->json) {
        json_t *root = json_object(), *sum = json_object();
        double secs = (double) (t_stop - t0) / 1e9;

        json_object_set_new(root, "version", json_integer(1));
        json_object_set_new(root, "role", json_string("client"));
        json_object_set_new(root, "mode", json_string(mode_names[o->mode]));
        if (o->mode != MODE_UDP) {
            json_object_set_new(root, "objectid", json_integer(o->object));
        }
        json_object_set_new(root, "session", json_integer(c.session));
        json_object_set_new(root, "length", json_integer((json_int_t) o->len));
        json_object_set_new(root, "target_bps", json_real(o->rate_bps));
        json_object_set_new(root, "duration", json_real(o->duration));
        json_object_set_new(root, "intervals", c.iv_json);
        json_object_set_new(root, "server_intervals", c.srv_json);
        json_object_set_new(sum, "seconds", json_real(secs));
        json_object_set_new(sum, "packets", json_integer((json_int_t) c.sent));
        json_object_set_new(sum, "bytes",
                            json_integer((json_int_t) c.sent_bytes));
        json_object_set_new(sum, "bits_per_second",
                            json_real(secs > 0 ? (double) c.sent_bytes * 8
                                                 / secs : 0));
        json_object_set_new(sum, "send_errors",
                            json_integer((json_int_t) c.send_errors));
        json_object_set_new(root, "sent", sum);
        json_object_set_new(root, "received",
                            c.have_report ? stats_json(&c.report)
                                          : json_null());
        if (!c.have_report) {
            json_object_set_new(root, "error",
                                json_string(c.lost_conn
                                            ? "connection lost"
                                            : "no final report from the "
                                              "server"));
        }
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(root);
    } else {
        double secs = (double) (t_stop - t0) / 1e9;

        printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
        printf("[sent] %6.2f-%6.2f s %9llu dgrams %10.3f MBytes "
               "%9.2f Mbit/s  %llu send errors\n", 0.0, secs,
               (unsigned long long) c.sent, (double) c.sent_bytes / 1e6,
               mbps(c.sent_bytes, t_stop - t0),
               (unsigned long long) c.send_errors);
        if (c.have_report) {
            print_stats("recv", &c.report);
        }
        json_decref(c.iv_json);
        json_decref(c.srv_json);
    }
    if (!c.have_report) {
        fprintf(stderr, "sf-iperf: %s\n", c.lost_conn
                ? "connection lost"
                : "no final report from the server (FIN unanswered)");
        rc = 1;
    }
    if (o->mode == MODE_UDP) {
        close(c.fd);
    } else {
        close_sf(c.fd, 0);
    }
    free(c.bufs);
    return rc;
}

/* Ping-pong: one datagram at a time, each echoed by the server; the
 * round-trip times of the answered ones are summarised on stdout. */
static int
client_rtt(struct client *c)
{
    const struct options *o = c->opt;
    static uint8_t out[RTT_MAX_LEN], in[IPF_MAX_MSG];
    double *rtt = calloc(o->count, sizeof *rtt);
    double sum = 0, sq = 0, mean, sd, min = 0, max = 0;
    unsigned long i, got = 0, lost = 0;
    uint32_t magic = htonl(RTT_MAGIC);

    if (!rtt) {
        fprintf(stderr, "sf-iperf: out of memory\n");
        return 1;
    }
    memset(out, 0, sizeof out);
    memcpy(out, &magic, 4);
    for (i = 0; i < o->count && !stop; i++) {
        uint64_t seq = i, t0, deadline;
        ssize_t r;

        memcpy(out + 4, &seq, sizeof seq);
        t0 = mono_ns();
        if (o->mode == MODE_UDP) {
            r = send(c->fd, out, o->len, 0);
        } else if (o->mode == MODE_BOUND) {
            r = send_sf(c->fd, out, o->len, 0);
        } else {
            r = sendto_sf(c->fd, out, o->len, 0, (struct sockaddr *) &c->dst,
                          sizeof c->dst);
        }
        if (r < 0) {
            fprintf(stderr, "sf-iperf: send: %s\n", strerror(errno));
            free(rtt);
            return 1;
        }
        deadline = t0 + RTT_TIMEOUT_MS * 1000000ULL;
        for (;;) {
            struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
            uint64_t now = mono_ns(), back;
            int ms = now >= deadline ? 0
                     : (int) ((deadline - now + 999999) / 1000000);

            if (now >= deadline || poll(&pfd, 1, ms) <= 0) {
                lost++;
                break;
            }
            if (o->mode == MODE_UDP) {
                r = recv(c->fd, in, sizeof in, MSG_DONTWAIT);
            } else {
                r = recv_sf(c->fd, in, sizeof in, MSG_DONTWAIT);
            }
            back = mono_ns();
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (r <= 0) {
                fprintf(stderr, "sf-iperf: recv: %s\n",
                        r < 0 ? strerror(errno) : "connection closed");
                free(rtt);
                return 1;
            }
            if (r >= RTT_HDR_LEN && !memcmp(in, out, RTT_HDR_LEN)) {
                rtt[got++] = (double) (back - t0) / 1e3;
                break;
            }
        }
    }
    if (!got) {
        fprintf(stderr, "sf-iperf: no answer (is sf-iperf -s serving "
                "it?)\n");
        free(rtt);
        return 1;
    }
    for (i = 0; i < got; i++) {
        sum += rtt[i];
        sq += rtt[i] * rtt[i];
        min = !i || rtt[i] < min ? rtt[i] : min;
        max = !i || rtt[i] > max ? rtt[i] : max;
    }
    mean = sum / (double) got;
    sd = got > 1 ? sqrt((sq - sum * mean) / (double) (got - 1)) : 0;
    qsort(rtt, got, sizeof *rtt, cmp_double);
    if (o->json) {
        printf("{\"mode\": \"%s\", \"len\": %zu, \"samples\": %lu, "
               "\"lost\": %lu, \"mean_us\": %.1f, \"stddev_us\": %.1f, "
               "\"min_us\": %.1f, \"median_us\": %.1f, \"max_us\": %.1f}\n",
               mode_names[o->mode], o->len, got, lost, mean, sd, min,
               rtt[got / 2], max);
    } else {
        printf("sf-iperf: rtt %s, %zu-byte datagrams: %lu samples, %lu lost; "
               "mean %.1f us, stddev %.1f, min %.1f, median %.1f, max %.1f\n",
               mode_names[o->mode], o->len, got, lost, mean, sd, min,
               rtt[got / 2], max);
    }
    free(rtt);
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static int
client_open(struct client *c)
{
    const struct options *o = c->opt;
    struct sockaddr_sf a = { AF_SCAFFOLD, o->object, 0 };

    if (o->mode == MODE_UDP) {
        c->fd = socket(o->udp_addr.ss_family, SOCK_DGRAM, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *) &o->udp_addr,
                                 o->udp_len) < 0) {
            fprintf(stderr, "sf-iperf: UDP socket: %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    c->fd = socket_sf(AF_SCAFFOLD,
                      o->mode == MODE_BOUND ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (c->fd < 0) {
        fprintf(stderr, "sf-iperf: socket_sf: %s%s\n", strerror(errno),
                errno == ECONNREFUSED ? " (is scaffold-hostagent running "
                "in this network namespace?)" : "");
        return -1;
    }
    if (o->mode == MODE_DGRAM) {
        c->dst = a;
        return 0;
    }
    if (connect_sf(c->fd, (struct sockaddr *) &a, sizeof a) < 0) {
        int e = errno;
        fprintf(stderr, "sf-iperf: connect_sf objectID %u: %s%s\n",
                o->object, strerror(e),
                e == ECONNREFUSED || e == ETIMEDOUT
                ? " (is sf-iperf -s serving it?)" : "");
        close_sf(c->fd, 0);
        return -1;
    }
    return 0;
}

/* Sends 'n' DATA datagrams from the batch buffers.  Returns 0, or -1 when
 * the bound flow is gone. */
static int
client_send(struct client *c, unsigned int n)
{
    const struct options *o = c->opt;
    uint64_t ts = real_ns();
    unsigned int i;

    for (i = 0; i < n; i++) {
        ipf_set_data(c->bufs + i * o->len, c->sent + i, ts);
    }
    if (o->mode == MODE_UDP) {
        struct mmsghdr mm[BATCH];
        struct iovec iov[BATCH];
        unsigned int done = 0;

        memset(mm, 0, sizeof mm);
        for (i = 0; i < n; i++) {
            iov[i].iov_base = c->bufs + i * o->len;
            iov[i].iov_len = o->len;
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        while (done < n) {
            int r = sendmmsg(c->fd, mm + done, n - done, 0);
            if (r < 0) {
                if (errno == EINTR) {
                    continue;
                }
                /* ECONNREFUSED (no listener yet), ENOBUFS: the datagram
                 * is lost, as in iperf. */
                c->send_errors++;
                ipf_set_data(c->bufs + done * o->len, c->sent, ts);
                done++;
                c->sent++;
                c->sent_bytes += o->len;
                c->iv_sent++;
                c->iv_bytes += o->len;
                continue;
            }
            done += (unsigned int) r;
            c->sent += (unsigned int) r;
            c->sent_bytes += (uint64_t) r * o->len;
            c->iv_sent += (unsigned int) r;
            c->iv_bytes += (uint64_t) r * o->len;
        }
        return 0;
    }
    /* sendmmsg_sf: the whole round in one IPC message. */
    {
        struct mmsghdr mm[BATCH];
        struct iovec iov[BATCH];
        unsigned int done = 0;

        memset(mm, 0, sizeof mm);
        for (i = 0; i < n; i++) {
            iov[i].iov_base = c->bufs + i * o->len;
            iov[i].iov_len = o->len;
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            if (o->mode == MODE_DGRAM) {
                mm[i].msg_hdr.msg_name = &c->dst;
                mm[i].msg_hdr.msg_namelen = sizeof c->dst;
            }
        }
        while (done < n) {
            int r = sendmmsg_sf(c->fd, mm + done, n - done, 0);

            if (r < 0 && errno == EINTR && !stop) {
                continue;
            }
            if (r < 0 && o->mode == MODE_BOUND
                && (errno == EPIPE || errno == ECONNRESET
                    || errno == ENOTCONN || errno == ETIMEDOUT)) {
                fprintf(stderr, "sf-iperf: sendmmsg_sf: %s\n",
                        strerror(errno));
                c->lost_conn = true;
                return -1;
            }
            if (r < 0 && errno == EMSGSIZE) {
                fprintf(stderr, "sf-iperf: -l %zu: %s (one frame on the "
                        "interface's MTU cannot carry it)\n", o->len,
                        strerror(errno));
                c->lost_conn = true;
                return -1;
            }
            if (r < 0) {
                /* A datagram that could not be sent counts as sent and
                 * lost: the sequence number is used up either way. */
                c->send_errors++;
                r = 1;
            }
            done += (unsigned int) r;
            c->sent += (unsigned int) r;
            c->sent_bytes += (uint64_t) r * o->len;
            c->iv_sent += (unsigned int) r;
            c->iv_bytes += (uint64_t) r * o->len;
        }
    }
    return 0;
}

/* Reads what the server sent back (INTERVAL, REPORT) without blocking. */
static void
client_drain(struct client *c)
{
    const struct options *o = c->opt;
    uint8_t buf[512];
    struct ipf_msg m;
    int k;

    for (k = 0; k < 64; k++) {
        ssize_t r;

        if (o->mode == MODE_UDP) {
            r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r < 0 && errno == ECONNREFUSED) {
                continue;       /* ICMP for a datagram: no listener. */
            }
        } else {
            r = recv_sf(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR)) {
            return;
        }
        if (r <= 0) {
            if (o->mode == MODE_BOUND) {
                fprintf(stderr, "sf-iperf: connection %s\n",
                        r == 0 ? "closed by the server" : strerror(errno));
                c->lost_conn = true;
            }
            return;
        }
        if (ipf_decode(buf, (size_t) r, &m) || m.session != c->session) {
            continue;
        }
        if (m.type == IPF_INTERVAL) {
            if (o->json) {
                json_array_append_new(c->srv_json, stats_json(&m.stats));
            } else {
                print_stats("recv", &m.stats);
            }
        } else if (m.type == IPF_REPORT && !c->have_report) {
            c->report = m.stats;
            c->have_report = true;
        }
    }
}

static void
client_interval(struct client *c, uint32_t index, double start, double end)
{
    uint64_t ns = (uint64_t) ((end - start) * 1e9);

    if (c->opt->json) {
        json_t *j = json_object();

        json_object_set_new(j, "index", json_integer(index));
        json_object_set_new(j, "start", json_real(start));
        json_object_set_new(j, "end", json_real(end));
        json_object_set_new(j, "packets", json_integer((json_int_t)
                                                       c->iv_sent));
        json_object_set_new(j, "bytes", json_integer((json_int_t)
                                                     c->iv_bytes));
        json_object_set_new(j, "bits_per_second",
                            json_real(ns ? (double) c->iv_bytes * 8e9
                                           / (double) ns : 0));
        json_array_append_new(c->iv_json, j);
    } else {
        printf("[sent] %6.2f-%6.2f s %9llu dgrams %10.3f MBytes "
               "%9.2f Mbit/s\n", start, end,
               (unsigned long long) c->iv_sent, (double) c->iv_bytes / 1e6,
               mbps(c->iv_bytes, ns));
    }
    c->iv_sent = 0;
    c->iv_bytes = 0;
}

/* ---- server ------------------------------------------------------------ */

static int server_open(struct server *);
static struct session *session_new(struct server *, enum mode, int fd);
static void session_input(struct server *, struct session *,
                          const struct ipf_msg *, size_t len, uint64_t now);
static void session_tick(struct server *, struct session *, uint64_t now);
static void session_finish(struct server *, struct session *, uint64_t sent,
                           uint64_t now);
static void session_reply(struct session *, const struct ipf_msg *);
static void session_free(struct session *);
static void server_read(struct server *, int fd, enum mode,
                        struct session *bound);
static void server_accept(struct server *);
static bool server_busy(const struct server *);

static int
run_server(const struct options *o)
{
    struct server sv;
    struct pollfd pfd[MAX_SESSIONS + 3];
    struct session *owner[MAX_SESSIONS + 3];
    int i, rc = 0;

    memset(&sv, 0, sizeof sv);
    sv.opt = o;
    sv.lfd = sv.dfd = sv.ufd = -1;
    if (server_open(&sv)) {
        return 1;
    }
    while (!stop && !(o->one_off && sv.n_done > 0 && !server_busy(&sv))) {
        uint64_t now = mono_ns(), next = now + 100000000ULL;
        int n = 0, timeout;

        for (i = 0; i < MAX_SESSIONS; i++) {
            struct session *s = &sv.s[i];

            if (!s->used) {
                continue;
            }
            session_tick(&sv, s, now);
            if (!s->used) {
                continue;
            }
            if (s->started && !s->finished && s->next_iv_ns < next) {
                next = s->next_iv_ns;
            }
            if (s->mode == MODE_BOUND) {
                pfd[n].fd = s->fd;
                pfd[n].events = POLLIN;
                owner[n++] = s;
            }
        }
        if (sv.lfd >= 0) {
            pfd[n].fd = sv.lfd;
            pfd[n].events = POLLIN;
            owner[n++] = NULL;
        }
        if (sv.dfd >= 0) {
            pfd[n].fd = sv.dfd;
            pfd[n].events = POLLIN;
            owner[n++] = NULL;
        }
        if (sv.ufd >= 0) {
            pfd[n].fd = sv.ufd;
            pfd[n].events = POLLIN;
            owner[n++] = NULL;
        }
        timeout = next > now ? (int) ((next - now) / 1000000) + 1 : 0;
        if (poll(pfd, (nfds_t) n, timeout) <= 0) {
            continue;
        }
        for (i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            if (owner[i]) {
                if (owner[i]->used && owner[i]->fd == pfd[i].fd) {
                    server_read(&sv, pfd[i].fd, MODE_BOUND, owner[i]);
                }
            } else if (pfd[i].fd == sv.lfd) {
                server_accept(&sv);
            } else if (pfd[i].fd == sv.dfd) {
                server_read(&sv, sv.dfd, MODE_DGRAM, NULL);
            } else {
                server_read(&sv, sv.ufd, MODE_UDP, NULL);
            }
        }
    }
    for (i = 0; i < MAX_SESSIONS; i++) {
        if (sv.s[i].used) {
            if (sv.s[i].started && !sv.s[i].finished) {
                session_finish(&sv, &sv.s[i], 0, mono_ns());
            }
            session_free(&sv.s[i]);
        }
    }
    if (sv.lfd >= 0) {
        close_sf(sv.lfd, 0);
    }
    if (sv.dfd >= 0) {
        close_sf(sv.dfd, 0);
    }
    if (sv.ufd >= 0) {
        close(sv.ufd);
    }
    return rc;
}

static int
server_open(struct server *sv)
{
    const struct options *o = sv->opt;
    struct sockaddr_sf a = { AF_SCAFFOLD, o->object, 0 };
    int rcvbuf = RCVBUF;
    char s[64];
    socklen_t len;

    if (o->mode == MODE_UDP) {
        char host[INET6_ADDRSTRLEN] = "?";
        int one = 1;
        uint16_t port;

        sv->ufd = socket(o->udp_addr.ss_family, SOCK_DGRAM, 0);
        if (sv->ufd < 0) {
            fprintf(stderr, "sf-iperf: UDP socket: %s\n", strerror(errno));
            return -1;
        }
        setsockopt(sv->ufd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (setsockopt(sv->ufd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
                       sizeof rcvbuf) < 0) {
            setsockopt(sv->ufd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                       sizeof rcvbuf);
        }
        if (bind(sv->ufd, (struct sockaddr *) &o->udp_addr, o->udp_len) < 0) {
            fprintf(stderr, "sf-iperf: bind UDP: %s\n", strerror(errno));
            return -1;
        }
        if (o->udp_addr.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const void *) &o->udp_addr;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else {
            const struct sockaddr_in6 *in6 = (const void *) &o->udp_addr;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
        fprintf(stderr, "sf-iperf: listening on UDP %s port %u\n", host,
                port);
        return 0;
    }
    sv->lfd = socket_sf(AF_SCAFFOLD, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (sv->lfd < 0) {
        fprintf(stderr, "sf-iperf: socket_sf: %s%s\n", strerror(errno),
                errno == ECONNREFUSED ? " (is scaffold-hostagent running "
                "in this network namespace?)" : "");
        return -1;
    }
    if (bind_sf(sv->lfd, (struct sockaddr *) &a, sizeof a) < 0
        || listen_sf(sv->lfd, 64) < 0) {
        fprintf(stderr, "sf-iperf: bind/listen objectID %u: %s\n",
                o->object, strerror(errno));
        return -1;
    }
    sv->dfd = socket_sf(AF_SCAFFOLD, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (sv->dfd < 0 || bind_sf(sv->dfd, (struct sockaddr *) &a,
                               sizeof a) < 0) {
        fprintf(stderr, "sf-iperf: bind datagram socket to objectID %u: "
                "%s\n", o->object, strerror(errno));
        return -1;
    }
    setsockopt_sf(sv->dfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    len = sizeof a;
    getsockname_sf(sv->lfd, (struct sockaddr *) &a, &len);
    fprintf(stderr, "sf-iperf: listening on %s (bound flows and unbound "
            "datagrams)\n", sf_addr_str(&a, s, sizeof s));
    return 0;
}

/* True while some session is in use (running or lingering). */
static bool
server_busy(const struct server *sv)
{
    int i;

    for (i = 0; i < MAX_SESSIONS; i++) {
        if (sv->s[i].used) {
            return true;
        }
    }
    return false;
}

static void
server_accept(struct server *sv)
{
    struct sockaddr_sf peer;
    socklen_t len = sizeof peer;
    struct session *s;
    int fd, k, rcvbuf = RCVBUF;

    for (k = 0; k < 16; k++) {
        fd = accept_sf(sv->lfd, (struct sockaddr *) &peer, &len);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "sf-iperf: accept_sf: %s\n",
                        strerror(errno));
            }
            return;
        }
        setsockopt_sf(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        s = session_new(sv, MODE_BOUND, fd);
        if (!s) {
            fprintf(stderr, "sf-iperf: too many sessions, connection "
                    "refused\n");
            close_sf(fd, 0);
            continue;
        }
        sf_addr_str(&peer, s->peer, sizeof s->peer);
    }
}

/* Reads up to a batch of datagrams from 'fd' (the connection of 'bound',
 * or the shared sf datagram or UDP socket). */
static void
server_read(struct server *sv, int fd, enum mode mode, struct session *bound)
{
    /* recvmmsg (kernel UDP) or recvmmsg_sf batches: only the headers
     * matter; MSG_TRUNC reports each datagram's real length. */
    static uint8_t ubuf[UDP_BATCH][RTT_MAX_LEN];
    struct sockaddr_storage uaddr[UDP_BATCH];
    struct sockaddr_sf saddr[UDP_BATCH];
    struct mmsghdr mm[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    int u_n = 0, u_i = 0;
    struct ipf_msg m;
    int k;

    /* At most 512 datagrams per wakeup, but never drop the rest of a
     * batch already read. */
    for (k = 0; k < 512 || u_i < u_n; k++) {
        struct sockaddr_sf from;
        struct sockaddr_storage ufrom;
        socklen_t flen = sizeof from, ulen = sizeof ufrom;
        struct session *s = bound;
        const uint8_t *p;
        uint64_t now;
        ssize_t r;
        int i;

        if (u_i == u_n) {
            memset(mm, 0, sizeof mm);
            for (i = 0; i < UDP_BATCH; i++) {
                iov[i].iov_base = ubuf[i];
                iov[i].iov_len = sizeof ubuf[i];
                mm[i].msg_hdr.msg_iov = &iov[i];
                mm[i].msg_hdr.msg_iovlen = 1;
                if (mode == MODE_UDP) {
                    mm[i].msg_hdr.msg_name = &uaddr[i];
                    mm[i].msg_hdr.msg_namelen = sizeof uaddr[i];
                } else if (mode == MODE_DGRAM) {
                    mm[i].msg_hdr.msg_name = &saddr[i];
                    mm[i].msg_hdr.msg_namelen = sizeof saddr[i];
                }
            }
            u_i = 0;
            if (mode == MODE_UDP) {
                u_n = recvmmsg(fd, mm, UDP_BATCH, MSG_DONTWAIT | MSG_TRUNC,
                               NULL);
            } else {
                u_n = recvmmsg_sf(fd, mm, UDP_BATCH,
                                  MSG_DONTWAIT | MSG_TRUNC);
            }
        }
        if (u_n <= 0) {
            r = u_n;            /* -1 (errno) or 0 (the peer closed). */
            u_n = 0;
            p = NULL;
        } else {
            p = ubuf[u_i];
            r = (ssize_t) mm[u_i].msg_len;
            if (mode == MODE_UDP) {
                ulen = mm[u_i].msg_hdr.msg_namelen;
                memcpy(&ufrom, &uaddr[u_i], sizeof ufrom);
            } else if (mode == MODE_DGRAM) {
                from = saddr[u_i];
                flen = sizeof from;
            }
            u_i++;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR)) {
            return;
        }
        now = mono_ns();
        if (r <= 0) {
            if (mode == MODE_BOUND) {
                if (r < 0) {
                    fprintf(stderr, "sf-iperf: connection from %s: %s\n",
                            bound->peer, strerror(errno));
                }
                if (bound->started && !bound->finished) {
                    session_finish(sv, bound, 0, now);
                }
                session_free(bound);
            }
            return;
        }
        if (r >= RTT_HDR_LEN && get_be32(p) == RTT_MAGIC) {
            /* --rtt: echo as is (what was read of it). */
            size_t n = r > RTT_MAX_LEN ? RTT_MAX_LEN : (size_t) r;
            if (mode == MODE_UDP) {
                (void) sendto(fd, p, n, MSG_DONTWAIT,
                              (struct sockaddr *) &ufrom, ulen);
            } else if (mode == MODE_DGRAM) {
                (void) sendto_sf(fd, p, n, MSG_DONTWAIT,
                                 (struct sockaddr *) &from, flen);
            } else {
                (void) send_sf(fd, p, n, MSG_DONTWAIT);
            }
            continue;
        }
        if (ipf_decode(p, (size_t) r < RTT_MAX_LEN ? (size_t) r
                                                   : RTT_MAX_LEN, &m)
            || (m.type != IPF_DATA && m.type != IPF_FIN)) {
            continue;
        }
        if (!s) {
            for (i = 0; i < MAX_SESSIONS; i++) {
                struct session *t = &sv->s[i];
                if (t->used && t->mode == mode && t->id == m.session
                    && (mode == MODE_UDP
                        ? t->udp_len == ulen
                          && !memcmp(&t->udp_from, &ufrom, ulen)
                        : t->sf_from.sf_flowid == from.sf_flowid)) {
                    s = t;
                    break;
                }
            }
            if (!s) {
                /* A FIN for a run we never saw (every datagram lost, or
                 * we started late) still gets a report: all lost. */
                s = session_new(sv, mode, fd);
                if (!s) {
                    continue;
                }
                if (mode == MODE_UDP) {
                    char host[INET6_ADDRSTRLEN] = "?";
                    uint16_t port = 0;

                    s->udp_from = ufrom;
                    s->udp_len = ulen;
                    if (ufrom.ss_family == AF_INET) {
                        const struct sockaddr_in *in = (const void *) &ufrom;
                        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
                        port = ntohs(in->sin_port);
                    } else if (ufrom.ss_family == AF_INET6) {
                        const struct sockaddr_in6 *in6 =
                            (const void *) &ufrom;
                        inet_ntop(AF_INET6, &in6->sin6_addr, host,
                                  sizeof host);
                        port = ntohs(in6->sin6_port);
                    }
                    snprintf(s->peer, sizeof s->peer, "%s:%u", host, port);
                } else {
                    s->sf_from = from;
                    sf_addr_str(&from, s->peer, sizeof s->peer);
                }
            }
        }
        session_input(sv, s, &m, (size_t) r, now);
        if (!s->used) {
            return;
        }
    }
}

static struct session *
session_new(struct server *sv, enum mode mode, int fd)
{
    int i;

    for (i = 0; i < MAX_SESSIONS; i++) {
        struct session *s = &sv->s[i];

        if (!s->used) {
            memset(s, 0, sizeof *s);
            s->used = true;
            s->mode = mode;
            s->fd = fd;
            ipf_rx_init(&s->rx);
            s->intervals = json_array();
            return s;
        }
    }
    return NULL;
}

static void
session_input(struct server *sv, struct session *s, const struct ipf_msg *m,
              size_t len, uint64_t now)
{
    const struct options *o = sv->opt;

    if (m->type == IPF_FIN && !s->started) {
        s->started = true;
        s->id = m->session;
        s->interval_ns = (uint64_t) (m->interval_ms ? m->interval_ms : 1000)
                         * 1000000ULL;
        s->first_ns = s->last_ns = now;
        s->next_iv_ns = now + s->interval_ns;
        if (!o->json) {
            printf("[%08x] %s run from %s: FIN without any data\n", s->id,
                   mode_names[s->mode], s->peer);
        }
    }
    if (m->type == IPF_FIN) {
        if (s->started && s->id == m->session && !s->finished) {
            session_tick(sv, s, now);
            session_finish(sv, s, m->sent_packets, now);
        }
        if (s->finished && s->id == m->session) {
            struct ipf_msg r;

            memset(&r, 0, sizeof r);
            r.type = IPF_REPORT;
            r.session = s->id;
            r.stats = s->final;
            session_reply(s, &r);
        }
        return;
    }
    if (!s->started) {
        s->started = true;
        s->id = m->session;
        s->interval_ns = (uint64_t) (m->interval_ms ? m->interval_ms : 1000)
                         * 1000000ULL;
        s->first_ns = now;
        s->last_ns = now;
        s->next_iv_ns = now + s->interval_ns;
        if (!o->json) {
            printf("[%08x] %s run from %s\n", s->id, mode_names[s->mode],
                   s->peer);
        }
    } else if (s->id != m->session || s->finished) {
        return;                 /* A stale datagram or a second run. */
    }
    session_tick(sv, s, now);
    s->last_ns = now;
    ipf_rx_packet(&s->rx, m->seq, m->ts_ns, real_ns(), len);
}

/* Emits the intervals that are due, ends a silent session, forgets a
 * finished one after a while. */
static void
session_tick(struct server *sv, struct session *s, uint64_t now)
{
    const struct options *o = sv->opt;

    if (s->finished) {
        /* Linger to answer repeated FINs (a lost REPORT), shorter for a
         * one-off server; a bound flow goes when the client closes. */
        if (now - s->done_ns > (o->one_off ? LINGER_NS / 10 : LINGER_NS)) {
            session_free(s);
        }
        return;
    }
    if (!s->started) {
        return;
    }
    while (now >= s->next_iv_ns) {
        struct ipf_msg m;
        char tag[16];

        memset(&m, 0, sizeof m);
        m.type = IPF_INTERVAL;
        m.session = s->id;
        ipf_rx_interval(&s->rx, &m.stats);
        m.stats.index = s->iv_index;
        m.stats.start_ns = (uint64_t) s->iv_index * s->interval_ns;
        m.stats.end_ns = m.stats.start_ns + s->interval_ns;
        s->iv_index++;
        s->next_iv_ns += s->interval_ns;
        if (o->json) {
            json_array_append_new(s->intervals, stats_json(&m.stats));
        } else {
            snprintf(tag, sizeof tag, "%08x", s->id);
            print_stats(tag, &m.stats);
        }
        session_reply(s, &m);
    }
    if (now - s->last_ns > IDLE_NS) {
        if (!o->json) {
            printf("[%08x] silent for %.0f s, no FIN: ending the run\n",
                   s->id, IDLE_NS / 1e9);
        }
        session_finish(sv, s, 0, now);
    }
}

/* Final report: a last partial interval, then the totals ('sent' from
 * the client's FIN, 0 if unknown). */
static void
session_finish(struct server *sv, struct session *s, uint64_t sent,
               uint64_t now)
{
    const struct options *o = sv->opt;
    struct ipf_stats st;
    uint64_t end = (s->last_ns > s->first_ns ? s->last_ns : now)
                   - s->first_ns;
    char tag[16];

    memset(&st, 0, sizeof st);
    ipf_rx_interval(&s->rx, &st);
    if (st.packets || st.lost) {
        struct ipf_msg m;

        st.index = s->iv_index;
        st.start_ns = (uint64_t) s->iv_index * s->interval_ns;
        st.end_ns = end > st.start_ns ? end : st.start_ns;
        if (o->json) {
            json_array_append_new(s->intervals, stats_json(&st));
        } else {
            snprintf(tag, sizeof tag, "%08x", s->id);
            print_stats(tag, &st);
        }
        memset(&m, 0, sizeof m);
        m.type = IPF_INTERVAL;
        m.session = s->id;
        m.stats = st;
        session_reply(s, &m);
    }
    memset(&s->final, 0, sizeof s->final);
    ipf_rx_total(&s->rx, sent, &s->final);
    s->final.index = UINT32_MAX;
    s->final.start_ns = 0;
    s->final.end_ns = end;
    s->finished = true;
    s->done_ns = now;
    sv->n_done++;
    if (o->json) {
        json_t *root = json_object();

        json_object_set_new(root, "version", json_integer(1));
        json_object_set_new(root, "role", json_string("server"));
        json_object_set_new(root, "mode", json_string(mode_names[s->mode]));
        json_object_set_new(root, "session", json_integer(s->id));
        json_object_set_new(root, "peer", json_string(s->peer));
        json_object_set_new(root, "fin", json_boolean(sent > 0));
        json_object_set_new(root, "intervals", s->intervals);
        s->intervals = NULL;
        json_object_set_new(root, "received", stats_json(&s->final));
        json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
        snprintf(tag, sizeof tag, "%08x", s->id);
        print_stats(tag, &s->final);
    }
}

static void
session_reply(struct session *s, const struct ipf_msg *m)
{
    uint8_t buf[IPF_STATS_LEN];
    size_t n = ipf_encode(buf, sizeof buf, m);

    if (s->mode == MODE_BOUND) {
        (void) send_sf(s->fd, buf, n, MSG_DONTWAIT);
    } else if (s->mode == MODE_DGRAM) {
        (void) sendto_sf(s->fd, buf, n, MSG_DONTWAIT,
                         (struct sockaddr *) &s->sf_from, sizeof s->sf_from);
    } else {
        (void) sendto(s->fd, buf, n, MSG_DONTWAIT,
                      (struct sockaddr *) &s->udp_from, s->udp_len);
    }
}

static void
session_free(struct session *s)
{
    if (s->mode == MODE_BOUND && s->fd >= 0) {
        close_sf(s->fd, 0);
    }
    ipf_rx_destroy(&s->rx);
    json_decref(s->intervals);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* ---- helpers ----------------------------------------------------------- */

static void
print_stats(const char *tag, const struct ipf_stats *st)
{
    uint64_t ns = st->end_ns - st->start_ns;

    printf("[%s] %6.2f-%6.2f s %9llu dgrams %10.3f MBytes %9.2f Mbit/s  "
           "jitter %.3f ms  lost %llu/%llu (%.3g%%)  ooo %llu",
           tag, (double) st->start_ns / 1e9, (double) st->end_ns / 1e9,
           (unsigned long long) st->packets, (double) st->bytes / 1e6,
           mbps(st->bytes, ns), (double) st->jitter_ns / 1e6,
           (unsigned long long) st->lost, (unsigned long long) st->expected,
           st->expected ? 100.0 * (double) st->lost / (double) st->expected
                        : 0.0,
           (unsigned long long) st->ooo);
    if (st->dups) {
        printf("  dup %llu", (unsigned long long) st->dups);
    }
    putchar('\n');
}

static json_t *
stats_json(const struct ipf_stats *st)
{
    json_t *j = json_object();
    uint64_t ns = st->end_ns - st->start_ns;

    if (st->index != UINT32_MAX) {
        json_object_set_new(j, "index", json_integer(st->index));
    }
    json_object_set_new(j, "start", json_real((double) st->start_ns / 1e9));
    json_object_set_new(j, "end", json_real((double) st->end_ns / 1e9));
    json_object_set_new(j, "packets", json_integer((json_int_t) st->packets));
    json_object_set_new(j, "bytes", json_integer((json_int_t) st->bytes));
    json_object_set_new(j, "bits_per_second",
                        json_real(mbps(st->bytes, ns) * 1e6));
    json_object_set_new(j, "expected",
                        json_integer((json_int_t) st->expected));
    json_object_set_new(j, "lost", json_integer((json_int_t) st->lost));
    json_object_set_new(j, "lost_percent",
                        json_real(st->expected
                                  ? 100.0 * (double) st->lost
                                    / (double) st->expected : 0.0));
    json_object_set_new(j, "jitter_ms",
                        json_real((double) st->jitter_ns / 1e6));
    json_object_set_new(j, "out_of_order",
                        json_integer((json_int_t) st->ooo));
    json_object_set_new(j, "duplicates", json_integer((json_int_t) st->dups));
    return j;
}

static double
mbps(uint64_t bytes, uint64_t ns)
{
    return ns ? (double) bytes * 8e3 / (double) ns : 0.0;
}

static int
parse_hostport(const char *s, bool passive, struct sockaddr_storage *ss,
               socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    const char *colon = strrchr(s, ':');
    char host[256];
    const char *port;
    int error;

    if (!colon) {
        if (!passive) {
            return -EINVAL;
        }
        host[0] = '\0';
        port = s;
    } else {
        size_t n = (size_t) (colon - s);

        if (n >= sizeof host) {
            return -EINVAL;
        }
        memcpy(host, s, n);
        host[n] = '\0';
        port = colon + 1;
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
            memmove(host, host + 1, n - 2);
            host[n - 2] = '\0';
        }
    }
    if (!*port || (!passive && !*host)) {
        return -EINVAL;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    error = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (error || !res) {
        return -EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static const char *
sf_addr_str(const struct sockaddr_sf *a, char *buf, size_t size)
{
    char f[SFP_FLOWID_STRLEN];

    snprintf(buf, size, "%s:%u", sfp_flowid_format(a->sf_flowid, f),
             a->sf_objectid);
    return buf;
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t
real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}
