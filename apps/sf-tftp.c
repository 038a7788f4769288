/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sf-tftp: TFTP (RFC 1350 read requests, options RFC 2347/2348/2349) over
 * a SCAFFOLD bound flow, with transfers that survive a server failover and
 * a client move.
 *
 *   sf-tftp -s --object OBJ --root DIR [--fail-after-blocks N] [--rate R]
 *   sf-tftp -c OBJ FILE [-o OUT] [--blksize N]
 *
 * Reliability is TFTP's own lock step: the server sends DATA n and waits
 * for ACK n; both ends retransmit on a timeout from an RFC 6298 estimator
 * (SRTT/RTTVAR from packets sent once, exponential backoff, bounded
 * retries).  Per RFC 1123 the server never answers a duplicate ACK with
 * DATA (no Sorcerer's Apprentice); the client re-ACKs a duplicate DATA.
 *
 * Continuation.  The flow survives its server instance: when the instance
 * sheds the client (close_sf(fd, SF_SEND_FAIL), e.g. --fail-after-blocks)
 * the client's stack resyncs the connection to another instance, whose
 * accept_sf() reports it as resumed.  That instance does not know the
 * transfer, so it answers whatever arrives on a connection without an RRQ
 * with ERROR 5 (unknown transfer ID).  The client then re-sends its RRQ
 * with the option "resume" = the next block it needs; the server seeks
 * there and confirms in its OACK.  If the connection itself is lost
 * (reset, timed out, retries exhausted) the client opens a new one and
 * does the same.  The stacks hand the request the client sends during
 * the resync (or the one the shedder never answered) to the new instance
 * at once, so the ERROR 5 comes without waiting for a retransmission.  A
 * move of the client needs nothing from the application: the stacks
 * resync and replay the datagram the outage lost (docs/protocol.md).
 *
 * The server is one poll() loop over the listener and up to MAX_XFERS
 * connections, each with its own timer; the client is one loop over its
 * connection.
 */
#include <sf/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apps/tftp-proto.h"
#include "proto/sfp.h"

#define SF_MAX_BLKSIZE  1448    /* 1500-byte MTU - IPv4, UDP, SCAFFOLD
                                 * headers - TFTP's 4. */
#define MAX_XFERS       64
#define PKT_MAX         (4 + SF_MAX_BLKSIZE)
#define MS              1000000ULL
#define INITIAL_RTO     (200 * MS)
#define MIN_RTO         (20 * MS)
#define MAX_RTO         (2000 * MS)
#define DEFAULT_RETRIES 10
#define MAX_RESTARTS    10      /* Client re-requests / reconnects. */
#define LINGER_NS       (5000 * MS)

static volatile sig_atomic_t stop;

static void usage(FILE *);
static uint64_t mono_ns(void);
static void on_signal(int);
static const char *sf_addr_str(const struct sockaddr_sf *, char *, size_t);
static int parse_bytes(const char *, uint64_t *);
static int run_server(int argc, char *argv[]);
static int run_client(int argc, char *argv[]);

int
main(int argc, char *argv[])
{
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--server")) {
            return run_server(argc, argv);
        }
        if (!strcmp(argv[i], "-c") || !strncmp(argv[i], "--client", 8)
            || !strncmp(argv[i], "-c", 2)) {
            return run_client(argc, argv);
        }
    }
    fprintf(stderr, "sf-tftp: give -s (server) or -c OBJ FILE (client)\n");
    usage(stderr);
    return 2;
}

static void
usage(FILE *f)
{
    fprintf(f,
"Usage: sf-tftp -s --object OBJ --root DIR [--fail-after-blocks N]\n"
"               [--rate BYTES/S] [--verbose]\n"
"       sf-tftp -c OBJ FILE [-o OUT] [--blksize N] [--retries N] [--quiet]\n"
"TFTP read requests over a SCAFFOLD bound flow (needs scaffold-hostagent\n"
"in this network namespace).  Downloads continue across a failover of the\n"
"server instance and a move of the client.\n"
"Server:\n"
"  -s, --server              serve files\n"
"      --object OBJ          objectID to serve (1..65535)\n"
"      --root DIR            directory the files are read from\n"
"      --fail-after-blocks N after sending N blocks of a transfer, shed the\n"
"                            client with close_sf(SF_SEND_FAIL) (tests)\n"
"      --rate BYTES/S        pace each transfer (k/M suffixes)\n"
"      --max-blksize N       largest block size granted (default %d)\n"
"  -v, --verbose             log every transfer step\n"
"Client:\n"
"  -c, --client OBJ          objectID of the server\n"
"  FILE                      file name to request\n"
"  -o, --output OUT          where to write it (default: FILE's base name)\n"
"  -b, --blksize N           ask for N-byte blocks (RFC 2348; default 512,\n"
"                            at most %d over SCAFFOLD)\n"
"  -r, --retries N           retransmissions before giving up a connection\n"
"                            (default %d)\n"
"  -q, --quiet               no progress lines\n"
"  -h, --help                this text\n"
"Exit status: 0 file received, 1 error (TFTP ERROR from the server, no\n"
"server, timed out), 2 usage.\n", SF_MAX_BLKSIZE, SF_MAX_BLKSIZE,
            DEFAULT_RETRIES);
}

/* ---- server ------------------------------------------------------------ */

enum xfer_state {
    X_IDLE,                     /* Connection without a transfer. */
    X_OACK,                     /* OACK sent, waiting for ACK 0. */
    X_DATA,                     /* DATA 'block' sent, waiting for its ACK. */
    X_PACED,                    /* Waiting for the rate limit to send. */
    X_DONE,                     /* Last block acknowledged. */
};

/* One connection of the server and the transfer on it. */
struct xfer {
    bool used;
    int fd;                     /* The connection. */
    char peer[64];
    enum xfer_state state;
    int file;                   /* -1 when none. */
    char name[TFTP_NAME_MAX + 1];
    uint64_t req_resume;        /* The RRQ's first block (1: whole file). */
    uint64_t size;
    unsigned int blksize;
    uint64_t block;             /* Absolute number of the last DATA sent. */
    bool last;                  /* That DATA was the final, short one. */
    uint8_t pkt[PKT_MAX];       /* The packet awaiting its ACK. */
    size_t pkt_len;
    uint64_t sent_ns;           /* When 'pkt' was sent first. */
    bool retransmitted;         /* 'pkt' was sent again (Karn). */
    unsigned int retries;
    uint64_t deadline;          /* Retransmission or pacing time. */
    struct tftp_rto rto;
    uint64_t blocks_sent;       /* DATA first transmissions. */
    uint64_t retrans;
    uint64_t start_ns;
    uint64_t pace_next;         /* Rate limit: earliest next DATA. */
};

struct server {
    const char *root;
    int rootfd;
    uint16_t object;
    uint64_t fail_after;
    uint64_t rate;              /* Bytes per second, 0: unlimited. */
    unsigned int max_blksize;
    unsigned int retries;
    bool verbose;
    int lfd;
    struct xfer x[MAX_XFERS];
};

static void srv_accept(struct server *);
static void srv_input(struct server *, struct xfer *);
static void srv_packet(struct server *, struct xfer *,
                       const struct tftp_pkt *);
static void srv_rrq(struct server *, struct xfer *, const struct tftp_pkt *);
static void srv_send_block(struct server *, struct xfer *, uint64_t now);
static void srv_timer(struct server *, struct xfer *, uint64_t now);
static void srv_error(struct xfer *, uint16_t code, const char *msg);
static void srv_send(struct xfer *, uint64_t now);
static void srv_end_transfer(struct xfer *);
static void srv_close(struct xfer *, int flags);

static int
run_server(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "server", no_argument, NULL, 's' },
        { "object", required_argument, NULL, 'O' },
        { "root", required_argument, NULL, 'R' },
        { "fail-after-blocks", required_argument, NULL, 'F' },
        { "rate", required_argument, NULL, 'T' },
        { "max-blksize", required_argument, NULL, 'M' },
        { "retries", required_argument, NULL, 'r' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct server *sv = calloc(1, sizeof *sv);
    struct sockaddr_sf a = { AF_SCAFFOLD, 0, 0 };
    struct pollfd pfd[MAX_XFERS + 1];
    struct xfer *owner[MAX_XFERS + 1];
    socklen_t len;
    char s[64], *end;
    int c, i;

    if (!sv) {
        return 1;
    }
    sv->max_blksize = SF_MAX_BLKSIZE;
    sv->retries = DEFAULT_RETRIES;
    sv->lfd = -1;
    while ((c = getopt_long(argc, argv, "sr:vh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            break;
        case 'O':
            if (sfp_objectid_parse(optarg, &sv->object)
                || !sfp_objectid_is_valid(sv->object)) {
                fprintf(stderr, "sf-tftp: --object %s: not an objectID "
                        "(1..65535)\n", optarg);
                return 2;
            }
            break;
        case 'R':
            sv->root = optarg;
            break;
        case 'F':
            sv->fail_after = strtoull(optarg, &end, 10);
            if (*end || !sv->fail_after) {
                fprintf(stderr, "sf-tftp: --fail-after-blocks %s: a "
                        "positive number\n", optarg);
                return 2;
            }
            break;
        case 'T':
            if (parse_bytes(optarg, &sv->rate)) {
                fprintf(stderr, "sf-tftp: --rate %s: bytes per second, "
                        "k/M suffixes\n", optarg);
                return 2;
            }
            break;
        case 'M': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 8 || v > SF_MAX_BLKSIZE) {
                fprintf(stderr, "sf-tftp: --max-blksize %s: 8..%d\n", optarg,
                        SF_MAX_BLKSIZE);
                return 2;
            }
            sv->max_blksize = (unsigned int) v;
            break;
        }
        case 'r':
            sv->retries = (unsigned int) strtoul(optarg, &end, 10);
            if (*end || !sv->retries) {
                fprintf(stderr, "sf-tftp: --retries %s: a positive number\n",
                        optarg);
                return 2;
            }
            break;
        case 'v':
            sv->verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !sv->object || !sv->root) {
        fprintf(stderr, "sf-tftp: the server needs --object OBJ and "
                "--root DIR\n");
        usage(stderr);
        return 2;
    }
    sv->rootfd = open(sv->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sv->rootfd < 0) {
        fprintf(stderr, "sf-tftp: --root %s: %s\n", sv->root,
                strerror(errno));
        return 1;
    }
    sv->lfd = socket_sf(AF_SCAFFOLD, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (sv->lfd < 0) {
        fprintf(stderr, "sf-tftp: socket_sf: %s%s\n", strerror(errno),
                errno == ECONNREFUSED ? " (is scaffold-hostagent running "
                "in this network namespace?)" : "");
        return 1;
    }
    a.sf_objectid = sv->object;
    if (bind_sf(sv->lfd, (struct sockaddr *) &a, sizeof a) < 0
        || listen_sf(sv->lfd, 64) < 0) {
        fprintf(stderr, "sf-tftp: bind/listen objectID %u: %s\n",
                sv->object, strerror(errno));
        return 1;
    }
    len = sizeof a;
    getsockname_sf(sv->lfd, (struct sockaddr *) &a, &len);
    printf("listening %s root %s\n", sf_addr_str(&a, s, sizeof s), sv->root);

    while (!stop) {
        uint64_t now = mono_ns(), next = UINT64_MAX;
        int n = 0, timeout = -1;

        for (i = 0; i < MAX_XFERS; i++) {
            struct xfer *x = &sv->x[i];

            if (!x->used) {
                continue;
            }
            if (x->deadline && x->deadline <= now) {
                srv_timer(sv, x, now);
            }
            if (!x->used) {
                continue;
            }
            if (x->deadline && x->deadline < next) {
                next = x->deadline;
            }
            pfd[n].fd = x->fd;
            pfd[n].events = POLLIN;
            owner[n++] = x;
        }
        pfd[n].fd = sv->lfd;
        pfd[n].events = POLLIN;
        owner[n++] = NULL;
        if (next != UINT64_MAX) {
            now = mono_ns();
            timeout = next > now ? (int) ((next - now + MS - 1) / MS) : 0;
        }
        if (poll(pfd, (nfds_t) n, timeout) <= 0) {
            continue;
        }
        for (i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            if (!owner[i]) {
                srv_accept(sv);
            } else if (owner[i]->used && owner[i]->fd == pfd[i].fd) {
                srv_input(sv, owner[i]);
            }
        }
    }
    for (i = 0; i < MAX_XFERS; i++) {
        if (sv->x[i].used) {
            srv_close(&sv->x[i], 0);
        }
    }
    close_sf(sv->lfd, 0);
    close(sv->rootfd);
    free(sv);
    printf("bye\n");
    return 0;
}

static void
srv_accept(struct server *sv)
{
    struct sockaddr_sf peer;
    socklen_t len;
    int fd, flags, i, k;

    for (k = 0; k < 16; k++) {
        len = sizeof peer;
        flags = 0;
        fd = accept2_sf(sv->lfd, (struct sockaddr *) &peer, &len, &flags);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "sf-tftp: accept_sf: %s\n", strerror(errno));
            }
            return;
        }
        for (i = 0; i < MAX_XFERS && sv->x[i].used; i++) {
            continue;
        }
        if (i == MAX_XFERS) {
            fprintf(stderr, "sf-tftp: %d connections: refusing one\n",
                    MAX_XFERS);
            close_sf(fd, 0);
            continue;
        }
        memset(&sv->x[i], 0, sizeof sv->x[i]);
        sv->x[i].used = true;
        sv->x[i].fd = fd;
        sv->x[i].file = -1;
        sv->x[i].state = X_IDLE;
        sf_addr_str(&peer, sv->x[i].peer, sizeof sv->x[i].peer);
        tftp_rto_init(&sv->x[i].rto, INITIAL_RTO, MIN_RTO, MAX_RTO);
        printf("accepted %s%s\n", sv->x[i].peer,
               flags & SF_ACCEPT_RESUMED ? " resumed" : "");
    }
}

static void
srv_input(struct server *sv, struct xfer *x)
{
    uint8_t buf[PKT_MAX + 512];
    struct tftp_pkt pkt;
    int k;

    for (k = 0; k < 64 && x->used; k++) {
        ssize_t r = recv_sf(x->fd, buf, sizeof buf, MSG_DONTWAIT);

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR)) {
            return;
        }
        if (r <= 0) {
            printf("closed %s%s%s\n", x->peer, r < 0 ? ": " : "",
                   r < 0 ? strerror(errno) : "");
            srv_close(x, 0);
            return;
        }
        if (tftp_decode(buf, (size_t) r, &pkt)) {
            srv_error(x, TFTP_EBADOP, "malformed packet");
            continue;
        }
        srv_packet(sv, x, &pkt);
    }
}

static void
srv_packet(struct server *sv, struct xfer *x, const struct tftp_pkt *p)
{
    uint64_t now = mono_ns();

    switch (p->op) {
    case TFTP_RRQ:
        srv_rrq(sv, x, p);
        return;
    case TFTP_WRQ:
        srv_error(x, TFTP_EACCESS, "write requests are not served");
        return;
    case TFTP_ERROR:
        printf("client %s: error %u: %s\n", x->peer, p->code, p->msg);
        srv_end_transfer(x);
        return;
    case TFTP_ACK:
        break;
    default:
        srv_error(x, TFTP_EBADOP, "unexpected packet");
        return;
    }
    /* ACK. */
    if (x->state == X_IDLE) {
        /* A transfer we do not know: a failover brought the client here
         * (or we restarted).  ERROR 5 makes it re-request with resume. */
        if (sv->verbose) {
            printf("%s: ACK %u for an unknown transfer\n", x->peer,
                   p->block);
        }
        srv_error(x, TFTP_EBADID, "unknown transfer ID");
        return;
    }
    if (x->state == X_DONE || x->state == X_PACED) {
        return;                 /* Duplicate. */
    }
    if (p->block != (x->state == X_OACK ? 0 : (uint16_t) x->block)) {
        return;                 /* Duplicate or stale: RFC 1123, no DATA. */
    }
    if (!x->retransmitted) {
        tftp_rto_sample(&x->rto, now - x->sent_ns);
    }
    if (x->state == X_DATA && x->last) {
        double secs = (double) (now - x->start_ns) / 1e9;

        printf("sent %s to %s: %" PRIu64 " bytes, blocks %" PRIu64
               " in this session, %.3f s, %" PRIu64 " retransmits, "
               "srtt %.3f ms\n", x->name, x->peer, x->size, x->blocks_sent,
               secs, x->retrans, x->rto.srtt_ns / 1e6);
        x->state = X_DONE;
        x->deadline = now + LINGER_NS;
        close(x->file);
        x->file = -1;
        return;
    }
    srv_send_block(sv, x, now);
}

static void
srv_rrq(struct server *sv, struct xfer *x, const struct tftp_pkt *p)
{
    struct tftp_opts oack;
    struct stat st;
    uint64_t now = mono_ns(), resume = 1;
    const char *name = p->file;
    int fd;

    if (strcmp(p->mode, "octet") && strcmp(p->mode, "netascii")) {
        srv_error(x, TFTP_EBADOP, "mode not supported (use octet)");
        return;
    }
    while (*name == '/') {
        name++;
    }
    if (!*name || strstr(name, "..")) {
        srv_error(x, TFTP_EACCESS, "access violation");
        return;
    }
    if (x->state != X_IDLE && x->state != X_DONE && !strcmp(x->name, name)
        && x->req_resume == (p->opts.has_resume ? p->opts.resume : 1)) {
        /* A retransmitted RRQ of the running transfer: the OACK may have
         * been lost; the transfer itself goes on. */
        if (x->state == X_OACK) {
            x->retransmitted = true;
            (void) send_sf(x->fd, x->pkt, x->pkt_len, MSG_DONTWAIT);
        }
        return;
    }
    srv_end_transfer(x);
    fd = openat(sv->rootfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EISDIR;

        if (fd >= 0) {
            close(fd);
        }
        printf("RRQ %s from %s: %s\n", p->file, x->peer, strerror(e));
        srv_error(x, e == ENOENT ? TFTP_ENOTFOUND : TFTP_EACCESS,
                  e == ENOENT ? "file not found" : strerror(e));
        return;
    }
    x->file = fd;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->size = (uint64_t) st.st_size;
    x->blksize = TFTP_DEFAULT_BLKSIZE;
    memset(&oack, 0, sizeof oack);
    if (p->opts.has_blksize) {
        x->blksize = p->opts.blksize < sv->max_blksize ? p->opts.blksize
                                                       : sv->max_blksize;
        oack.has_blksize = true;
        oack.blksize = x->blksize;
    }
    if (p->opts.has_tsize) {
        oack.has_tsize = true;
        oack.tsize = x->size;
    }
    if (p->opts.has_resume) {
        resume = p->opts.resume;
        if ((resume - 1) > x->size / x->blksize) {
            srv_error(x, TFTP_EOPTNEG, "resume beyond the end of the file");
            srv_end_transfer(x);
            return;
        }
        oack.has_resume = true;
        oack.resume = resume;
    }
    x->req_resume = resume;
    x->block = resume - 1;
    x->last = false;
    x->blocks_sent = 0;
    x->retrans = 0;
    x->start_ns = now;
    x->pace_next = now;
    tftp_rto_reset_backoff(&x->rto);
    printf("RRQ %s from %s: %" PRIu64 " bytes, blksize %u%s", name, x->peer,
           x->size, x->blksize, resume > 1 ? ", resume at block " : "\n");
    if (resume > 1) {
        printf("%" PRIu64 "\n", resume);
    }
    if (oack.has_blksize || oack.has_tsize || oack.has_resume) {
        /* The OACK is acknowledged by ACK 0; DATA 'resume' follows. */
        x->pkt_len = tftp_encode_oack(x->pkt, sizeof x->pkt, &oack);
        x->state = X_OACK;
        x->retries = 0;
        tftp_rto_reset_backoff(&x->rto);
        srv_send(x, now);
        return;
    }
    srv_send_block(sv, x, now);
}

/* Sends the block after x->block (or schedules it when the rate limit
 * says not yet). */
static void
srv_send_block(struct server *sv, struct xfer *x, uint64_t now)
{
    uint64_t b = x->block + 1;
    size_t hl;
    ssize_t n;

    if (sv->rate && now < x->pace_next) {
        x->state = X_PACED;
        x->deadline = x->pace_next;
        return;
    }
    hl = tftp_encode_data_hdr(x->pkt, sizeof x->pkt, (uint16_t) b);
    n = pread(x->file, x->pkt + hl, x->blksize,
              (off_t) ((b - 1) * x->blksize));
    if (n < 0) {
        srv_error(x, TFTP_EUNDEF, strerror(errno));
        srv_end_transfer(x);
        return;
    }
    x->pkt_len = hl + (size_t) n;
    x->block = b;
    x->last = (size_t) n < x->blksize;
    x->state = X_DATA;
    x->retries = 0;
    x->blocks_sent++;
    if (sv->rate) {
        x->pace_next = (x->pace_next > now - 100 * MS ? x->pace_next : now)
                       + (uint64_t) ((double) x->pkt_len * 1e9
                                     / (double) sv->rate);
    }
    tftp_rto_reset_backoff(&x->rto);
    srv_send(x, now);
    if (sv->verbose) {
        printf("%s: DATA %" PRIu64 " (%zd bytes)\n", x->peer, b, n);
    }
    if (sv->fail_after && x->blocks_sent >= sv->fail_after && !x->last) {
        printf("shedding %s after %" PRIu64 " blocks of %s "
               "(SF_SEND_FAIL)\n", x->peer, x->blocks_sent, x->name);
        srv_close(x, SF_SEND_FAIL);
    }
}

/* Retransmission, pacing, or the end of a finished connection's linger. */
static void
srv_timer(struct server *sv, struct xfer *x, uint64_t now)
{
    switch (x->state) {
    case X_PACED:
        srv_send_block(sv, x, now);
        return;
    case X_DONE:
        srv_close(x, 0);
        return;
    case X_OACK:
    case X_DATA:
        if (++x->retries > sv->retries) {
            printf("%s: %s: no ACK after %u retransmissions, giving up\n",
                   x->peer, x->name, sv->retries);
            srv_error(x, TFTP_EUNDEF, "timed out");
            srv_end_transfer(x);
            return;
        }
        tftp_rto_backoff(&x->rto);
        x->retrans++;
        x->retransmitted = true;
        if (sv->verbose) {
            printf("%s: retransmit %s %" PRIu64 " (rto %.1f ms)\n", x->peer,
                   x->state == X_OACK ? "OACK" : "DATA", x->block,
                   (double) tftp_rto_get(&x->rto) / 1e6);
        }
        if (send_sf(x->fd, x->pkt, x->pkt_len, MSG_DONTWAIT) < 0
            && errno != EAGAIN) {
            printf("closed %s: %s\n", x->peer, strerror(errno));
            srv_close(x, 0);
            return;
        }
        x->deadline = now + tftp_rto_get(&x->rto);
        return;
    case X_IDLE:
        x->deadline = 0;
        return;
    }
}

/* Sends x->pkt for the first time and arms the retransmission timer. */
static void
srv_send(struct xfer *x, uint64_t now)
{
    x->sent_ns = now;
    x->retransmitted = false;
    x->deadline = now + tftp_rto_get(&x->rto);
    if (send_sf(x->fd, x->pkt, x->pkt_len, 0) < 0) {
        /* The connection is gone; its recv reports it. */
        x->deadline = now + tftp_rto_get(&x->rto);
    }
}

static void
srv_error(struct xfer *x, uint16_t code, const char *msg)
{
    uint8_t buf[4 + TFTP_MSG_MAX + 1];
    size_t n = tftp_encode_error(buf, sizeof buf, code, msg);

    (void) send_sf(x->fd, buf, n, MSG_DONTWAIT);
}

/* Forgets the transfer, keeps the connection (IDLE). */
static void
srv_end_transfer(struct xfer *x)
{
    if (x->file >= 0) {
        close(x->file);
    }
    x->file = -1;
    x->state = X_IDLE;
    x->deadline = 0;
}

static void
srv_close(struct xfer *x, int flags)
{
    srv_end_transfer(x);
    close_sf(x->fd, flags);
    x->used = false;
}

/* ---- client ------------------------------------------------------------ */

struct client {
    uint16_t object;
    const char *file;
    const char *out;
    unsigned int want_blksize;  /* 0: default, no option. */
    unsigned int retries;
    bool quiet;
    int fd;                     /* Connection, -1 when none. */
    int outfd;
    unsigned int blksize;
    uint64_t tsize;             /* From OACK, 0 unknown. */
    uint64_t next;              /* Next absolute block wanted. */
    uint64_t bytes;             /* Bytes of the file written. */
    bool started;               /* Some DATA or OACK arrived. */
    bool done;
    uint8_t pkt[PKT_MAX];       /* Last packet sent (RRQ or ACK). */
    size_t pkt_len;
    uint64_t sent_ns;
    bool retransmitted;
    unsigned int tries;
    struct tftp_rto rto;
    uint64_t retrans, restarts, reconnects;
    unsigned int stuck;         /* Restarts since the last new DATA. */
    uint64_t last_data_ns;      /* When the last new DATA came. */
    uint64_t max_gap_ns;        /* Longest wait between new DATA. */
    bool resuming;              /* Restarted: report the next new DATA. */
    char peer[64];
};

static int cl_connect(struct client *);
static int cl_request(struct client *, uint64_t now);
static int cl_send(struct client *, uint64_t now);
static int cl_restart(struct client *, bool reconnect, const char *why);
static void cl_peer(struct client *);

static int
run_client(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "client", required_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "blksize", required_argument, NULL, 'b' },
        { "retries", required_argument, NULL, 'r' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct client cl;
    uint8_t buf[PKT_MAX + 512];
    uint64_t t0, last_progress, now, dally_until = 0;
    char *end;
    int c, rc = 1;

    memset(&cl, 0, sizeof cl);
    cl.retries = DEFAULT_RETRIES;
    cl.fd = -1;
    cl.outfd = -1;
    while ((c = getopt_long(argc, argv, "c:o:b:r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (sfp_objectid_parse(optarg, &cl.object)
                || !sfp_objectid_is_valid(cl.object)) {
                fprintf(stderr, "sf-tftp: -c %s: not an objectID "
                        "(1..65535)\n", optarg);
                return 2;
            }
            break;
        case 'o':
            cl.out = optarg;
            break;
        case 'b': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < TFTP_MIN_BLKSIZE || v > SF_MAX_BLKSIZE) {
                fprintf(stderr, "sf-tftp: --blksize %s: %d..%d\n", optarg,
                        TFTP_MIN_BLKSIZE, SF_MAX_BLKSIZE);
                return 2;
            }
            cl.want_blksize = (unsigned int) v;
            break;
        }
        case 'r':
            cl.retries = (unsigned int) strtoul(optarg, &end, 10);
            if (*end || !cl.retries) {
                fprintf(stderr, "sf-tftp: --retries %s: a positive number\n",
                        optarg);
                return 2;
            }
            break;
        case 'q':
            cl.quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!cl.object || optind != argc - 1) {
        fprintf(stderr, "sf-tftp: the client needs -c OBJ and one FILE\n");
        usage(stderr);
        return 2;
    }
    cl.file = argv[optind];
    if (strlen(cl.file) > TFTP_NAME_MAX) {
        fprintf(stderr, "sf-tftp: %s: name too long\n", cl.file);
        return 2;
    }
    if (!cl.out) {
        const char *slash = strrchr(cl.file, '/');
        cl.out = slash ? slash + 1 : cl.file;
        if (!*cl.out) {
            fprintf(stderr, "sf-tftp: give -o OUT\n");
            return 2;
        }
    }
    tftp_rto_init(&cl.rto, INITIAL_RTO, MIN_RTO, MAX_RTO);
    cl.blksize = TFTP_DEFAULT_BLKSIZE;
    cl.next = 1;
    if (cl_connect(&cl)) {
        return 1;
    }
    cl.outfd = open(cl.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (cl.outfd < 0) {
        fprintf(stderr, "sf-tftp: %s: %s\n", cl.out, strerror(errno));
        close_sf(cl.fd, 0);
        return 1;
    }
    t0 = last_progress = mono_ns();
    if (cl_request(&cl, t0)) {
        goto out;
    }
    while (!stop) {
        struct pollfd pfd = { .fd = cl.fd, .events = POLLIN };
        uint64_t deadline = dally_until ? dally_until
                                        : cl.sent_ns + tftp_rto_get(&cl.rto);
        struct tftp_pkt p;
        ssize_t r;
        int timeout;

        now = mono_ns();
        if (!cl.quiet && now - last_progress >= 1000 * MS && !cl.done) {
            double secs = (double) (now - t0) / 1e9;
            if (cl.tsize) {
                fprintf(stderr, "progress: %" PRIu64 "/%" PRIu64
                        " bytes (%.0f%%), %.2f MB/s\n", cl.bytes, cl.tsize,
                        100.0 * (double) cl.bytes / (double) cl.tsize,
                        (double) cl.bytes / 1e6 / secs);
            } else {
                fprintf(stderr, "progress: %" PRIu64 " bytes, %.2f MB/s\n",
                        cl.bytes, (double) cl.bytes / 1e6 / secs);
            }
            last_progress = now;
        }
        if (now >= deadline) {
            if (cl.done) {
                rc = 0;
                break;
            }
            if (++cl.tries > cl.retries) {
                if (cl_restart(&cl, true, "no answer")) {
                    break;
                }
                continue;
            }
            tftp_rto_backoff(&cl.rto);
            cl.retrans++;
            cl.retransmitted = true;
            cl.sent_ns = now;
            if (send_sf(cl.fd, cl.pkt, cl.pkt_len, 0) < 0
                && cl_restart(&cl, true, strerror(errno))) {
                break;
            }
            continue;
        }
        timeout = (int) ((deadline - now + MS - 1) / MS);
        if (poll(&pfd, 1, timeout) <= 0) {
            continue;
        }
        r = recv_sf(cl.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (r <= 0) {
            if (cl.done) {
                rc = 0;
                break;
            }
            if (cl_restart(&cl, true, r < 0 ? strerror(errno)
                                            : "closed by the server")) {
                break;
            }
            continue;
        }
        now = mono_ns();
        if (tftp_decode(buf, (size_t) r, &p)) {
            continue;
        }
        if (p.op == TFTP_ERROR) {
            if (p.code == TFTP_EBADID && !cl.done) {
                /* A new instance that does not know us: re-request. */
                cl_peer(&cl);
                if (cl_restart(&cl, false, "server does not know the "
                               "transfer")) {
                    break;
                }
                continue;
            }
            if (cl.done) {
                continue;
            }
            fprintf(stderr, "sf-tftp: %s: server error %u: %s\n", cl.file,
                    p.code, p.msg);
            goto out;
        }
        if (p.op == TFTP_OACK && !cl.started) {
            if (!cl.retransmitted) {
                tftp_rto_sample(&cl.rto, now - cl.sent_ns);
            }
            if (p.opts.has_blksize) {
                if (p.opts.blksize > (cl.want_blksize ? cl.want_blksize
                                                      : TFTP_DEFAULT_BLKSIZE)
                    || p.opts.blksize > SF_MAX_BLKSIZE) {
                    fprintf(stderr, "sf-tftp: server offered blksize %u, "
                            "more than asked\n", p.opts.blksize);
                    goto out;
                }
                cl.blksize = p.opts.blksize;
            }
            if (p.opts.has_tsize) {
                cl.tsize = p.opts.tsize;
            }
            if (cl.next > 1 && (!p.opts.has_resume
                                || p.opts.resume != cl.next)) {
                fprintf(stderr, "sf-tftp: the server cannot resume at block "
                        "%" PRIu64 "\n", cl.next);
                goto out;
            }
            cl.started = true;
            cl.pkt_len = tftp_encode_ack(cl.pkt, sizeof cl.pkt, 0);
            tftp_rto_reset_backoff(&cl.rto);
            if (cl_send(&cl, now)) {
                break;
            }
            continue;
        }
        if (p.op != TFTP_DATA) {
            continue;
        }
        if (p.block == (uint16_t) cl.next && !cl.done) {
            if (!cl.started && cl.next > 1) {
                /* Options ignored by the server: it restarted at 1. */
                continue;
            }
            if (p.len > cl.blksize) {
                fprintf(stderr, "sf-tftp: DATA %u longer than the block "
                        "size\n", p.block);
                goto out;
            }
            cl.started = true;
            if (!cl.retransmitted) {
                tftp_rto_sample(&cl.rto, now - cl.sent_ns);
            }
            if (cl.last_data_ns && now - cl.last_data_ns > cl.max_gap_ns) {
                cl.max_gap_ns = now - cl.last_data_ns;
            }
            if (cl.resuming && !cl.quiet) {
                /* The whole outage as this client saw it: last block
                 * before the restart to the first one after it. */
                fprintf(stderr, "resumed %s at block %" PRIu64 " after "
                        "%.3f ms without data\n", cl.file, cl.next,
                        cl.last_data_ns ? (double) (now - cl.last_data_ns)
                                          / 1e6 : 0.0);
            }
            cl.resuming = false;
            cl.last_data_ns = now;
            cl.stuck = 0;
            if (p.len && pwrite(cl.outfd, p.data, p.len,
                                (off_t) ((cl.next - 1) * cl.blksize))
                         != (ssize_t) p.len) {
                fprintf(stderr, "sf-tftp: %s: %s\n", cl.out,
                        strerror(errno));
                goto out;
            }
            cl.bytes = (cl.next - 1) * cl.blksize + p.len;
            cl.pkt_len = tftp_encode_ack(cl.pkt, sizeof cl.pkt, p.block);
            tftp_rto_reset_backoff(&cl.rto);
            cl.next++;
            if (cl_send(&cl, now)) {
                break;
            }
            if (p.len < cl.blksize) {
                /* Dally: re-ACK a retransmitted last block for a while. */
                cl.done = true;
                dally_until = now + 2 * tftp_rto_get(&cl.rto);
            }
        } else if (p.block == (uint16_t) (cl.next - 1) && cl.started) {
            /* Duplicate: our ACK got lost; say it again. */
            cl.retransmitted = true;
            (void) send_sf(cl.fd, cl.pkt, cl.pkt_len, 0);
            cl.retrans++;
        }
    }
    if (cl.done) {
        double secs = (double) (mono_ns() - t0) / 1e9;

        rc = 0;
        if (ftruncate(cl.outfd, (off_t) cl.bytes) < 0) {
            fprintf(stderr, "sf-tftp: %s: %s\n", cl.out, strerror(errno));
            rc = 1;
        }
        cl_peer(&cl);
        printf("received %s: %" PRIu64 " bytes in %.3f s (%.2f MB/s), "
               "blksize %u, %" PRIu64 " retransmits, %" PRIu64
               " resumes, %" PRIu64 " reconnects, srtt %.3f ms, longest "
               "gap %.1f ms, last server %s\n", cl.file, cl.bytes, secs,
               secs > 0 ? (double) cl.bytes / 1e6 / secs : 0.0, cl.blksize,
               cl.retrans, cl.restarts, cl.reconnects,
               cl.rto.srtt_ns / 1e6, (double) cl.max_gap_ns / 1e6, cl.peer);
    } else if (stop) {
        fprintf(stderr, "sf-tftp: interrupted\n");
    }
out:
    if (cl.outfd >= 0 && close(cl.outfd) < 0 && rc == 0) {
        fprintf(stderr, "sf-tftp: %s: %s\n", cl.out, strerror(errno));
        rc = 1;
    }
    if (rc && cl.outfd >= 0 && !cl.started) {
        unlink(cl.out);         /* Nothing came: leave nothing behind. */
    }
    if (cl.fd >= 0) {
        close_sf(cl.fd, 0);
    }
    return rc;
}

static int
cl_connect(struct client *cl)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, cl->object, 0 };

    cl->fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    if (cl->fd < 0) {
        fprintf(stderr, "sf-tftp: socket_sf: %s%s\n", strerror(errno),
                errno == ECONNREFUSED ? " (is scaffold-hostagent running "
                "in this network namespace?)" : "");
        return -1;
    }
    if (connect_sf(cl->fd, (struct sockaddr *) &a, sizeof a) < 0) {
        int e = errno;

        fprintf(stderr, "sf-tftp: connect_sf objectID %u: %s%s\n",
                cl->object, strerror(e),
                e == ECONNREFUSED || e == ETIMEDOUT
                ? " (no sf-tftp server for it?)" : "");
        close_sf(cl->fd, 0);
        cl->fd = -1;
        return -1;
    }
    cl_peer(cl);
    if (!cl->quiet) {
        fprintf(stderr, "connected to %s\n", cl->peer);
    }
    return 0;
}

/* Sends the RRQ (with "resume" past block 1). */
static int
cl_request(struct client *cl, uint64_t now)
{
    struct tftp_opts o;

    memset(&o, 0, sizeof o);
    if (cl->want_blksize) {
        o.has_blksize = true;
        o.blksize = cl->want_blksize;
    }
    o.has_tsize = true;
    o.tsize = 0;
    if (cl->next > 1) {
        o.has_resume = true;
        o.resume = cl->next;
        /* The block size must not change mid-file. */
        o.has_blksize = true;
        o.blksize = cl->blksize;
    }
    cl->started = false;
    cl->pkt_len = tftp_encode_rrq(cl->pkt, sizeof cl->pkt, cl->file, "octet",
                                  &o);
    tftp_rto_reset_backoff(&cl->rto);
    return cl_send(cl, now);
}

/* Sends cl->pkt for the first time. */
static int
cl_send(struct client *cl, uint64_t now)
{
    cl->sent_ns = now;
    cl->retransmitted = false;
    cl->tries = 0;
    if (send_sf(cl->fd, cl->pkt, cl->pkt_len, 0) < 0) {
        return cl_restart(cl, true, strerror(errno));
    }
    return 0;
}

/* Continues the download from cl->next: on the same connection (a new
 * instance answered ERROR 5) or on a new one.  Returns 0, or -1 when out
 * of attempts. */
static int
cl_restart(struct client *cl, bool reconnect, const char *why)
{
    int attempt;

    if (++cl->stuck > MAX_RESTARTS) {
        fprintf(stderr, "sf-tftp: %s: giving up after %d restarts without "
                "progress (%s)\n", cl->file, MAX_RESTARTS, why);
        return -1;
    }
    cl->restarts++;
    cl->resuming = true;
    if (!cl->quiet) {
        fprintf(stderr, "resuming %s at block %" PRIu64 " (byte %" PRIu64
                ")%s after %.1f ms without data: %s\n", cl->file, cl->next,
                (cl->next - 1) * cl->blksize,
                reconnect ? " on a new connection" : "",
                cl->last_data_ns ? (double) (mono_ns() - cl->last_data_ns)
                                   / 1e6 : 0.0, why);
    }
    if (reconnect) {
        close_sf(cl->fd, 0);
        cl->fd = -1;
        cl->reconnects++;
        /* Each connect_sf is resolved anew: a dead instance may answer
         * the first with a reset, another instance the next. */
        for (attempt = 1; cl_connect(cl); attempt++) {
            struct timespec ts = { 0, 100 * 1000000L * attempt };

            if (attempt == 5 || stop) {
                return -1;
            }
            nanosleep(&ts, NULL);
        }
    }
    return cl_request(cl, mono_ns());
}

static void
cl_peer(struct client *cl)
{
    struct sockaddr_sf peer;
    socklen_t len = sizeof peer;

    if (cl->fd >= 0 && !getpeername_sf(cl->fd, (struct sockaddr *) &peer,
                                       &len)) {
        sf_addr_str(&peer, cl->peer, sizeof cl->peer);
    }
}

/* ---- helpers ----------------------------------------------------------- */

static int
parse_bytes(const char *s, uint64_t *v)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(s, &end);
    if (errno || end == s || d < 0) {
        return -EINVAL;
    }
    if (*end == 'k' || *end == 'K') {
        d *= 1e3;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        d *= 1e6;
        end++;
    }
    if (*end) {
        return -EINVAL;
    }
    *v = (uint64_t) d;
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

static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}
