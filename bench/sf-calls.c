/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sf-callbench: per-call latency of libsf (issue 8, item 2) and a
 * ping-pong RTT for any payload size, SCAFFOLD and kernel UDP alike.
 *
 *   sf-callbench server [--object OBJ] [--udp PORT]
 *       echoes every datagram of every bound flow to OBJ (libsf listener)
 *       and every kernel UDP datagram to PORT, until SIGTERM.
 *   sf-callbench rtt {--object OBJ | --udp HOST:PORT} [-l LEN] [-n N]
 *       one datagram of LEN bytes at a time, echoed by a server; prints
 *       one JSON line: mean/stddev/min/median/max of the round trips (us).
 *   sf-callbench calls --object OBJ [-n N] [--bind-base OBJ2] [-l LEN]
 *       times, N times each, with clock_gettime(CLOCK_MONOTONIC):
 *       socket_sf, connect_sf (to OBJ, served by a server), send_sf (LEN
 *       bytes), close_sf (orderly: FIN) and close_sf(SF_SEND_FAIL) (the
 *       abortive close libsf offers: it has no RST flag) on connected
 *       sockets, bind_sf, listen_sf on objectIDs OBJ2+i, and the time from
 *       bind_sf until libsf reports the controller's confirmation
 *       (getsockopt_sf(SF_SO_BOUND) on the listener, which waits for it).  Prints one JSON line per call: n, mean, stddev, min,
 *       median, max in microseconds.
 *   sf-callbench bound --object OBJ [--hold 1]
 *       listens on OBJ, waits for the controller's confirmation
 *       (getsockopt_sf(SF_SO_BOUND)), prints "bound FLOWID:OBJ US" or
 *       "error TEXT" (exit status 1), and holds the listener if asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libsf/ipc.h"
#include "sf/socket.h"

#define CB_MAX_CONNS 64
#define CB_MAX_LEN 65507

static volatile sig_atomic_t cb_stop;

static void
cb_on_signal(int sig)
{
    (void) sig;
    cb_stop = 1;
}

static uint64_t
cb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int
cb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

/* Prints one JSON line summarising 'v' (n values, microseconds). */
static void
cb_summary(const char *what, const char *extra, double *v, size_t n,
           size_t failed)
{
    double sum = 0, sq = 0, mean = 0, sd = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        sum += v[i];
        sq += v[i] * v[i];
    }
    if (n) {
        mean = sum / (double) n;
        sd = n > 1 ? sqrt(fmax(0, (sq - sum * mean) / (double) (n - 1))) : 0;
        qsort(v, n, sizeof *v, cb_cmp_double);
    }
    printf("{\"call\": \"%s\"%s, \"n\": %zu, \"failed\": %zu, "
           "\"mean_us\": %.2f, \"stddev_us\": %.2f, \"min_us\": %.2f, "
           "\"median_us\": %.2f, \"max_us\": %.2f}\n", what,
           extra ? extra : "", n, failed, mean, sd, n ? v[0] : 0,
           n ? v[n / 2] : 0, n ? v[n - 1] : 0);
    fflush(stdout);
}

static void
cb_sfaddr(struct sockaddr_sf *a, unsigned obj)
{
    memset(a, 0, sizeof *a);
    a->sf_family = AF_SCAFFOLD;
    a->sf_objectid = (uint16_t) obj;
    a->sf_flowid = 0;
}

static int
cb_udp_addr(const char *spec, struct sockaddr_in *sin)
{
    char host[64];
    const char *colon = strrchr(spec, ':');

    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    if (!colon) {
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        sin->sin_port = htons((uint16_t) atoi(spec));
        return 0;
    }
    if ((size_t) (colon - spec) >= sizeof host) {
        return -1;
    }
    memcpy(host, spec, (size_t) (colon - spec));
    host[colon - spec] = '\0';
    sin->sin_port = htons((uint16_t) atoi(colon + 1));
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* The client side of rtt and stack: a kernel UDP socket connected to 'udp'
 * (HOST:PORT) if given, else a libsf socket connected to objectID 'obj'.
 * Returns the fd, or -1 after printing why. */
static int
cb_connect(unsigned obj, const char *udp)
{
    int fd;

    if (udp) {
        struct sockaddr_in sin;

        fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || cb_udp_addr(udp, &sin)
            || connect(fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
            fprintf(stderr, "sf-callbench: udp %s: %s\n", udp,
                    strerror(errno));
            return -1;
        }
    } else {
        struct sockaddr_sf a;

        fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
        cb_sfaddr(&a, obj);
        if (fd < 0 || connect_sf(fd, (struct sockaddr *) &a, sizeof a) < 0) {
            fprintf(stderr, "sf-callbench: connect %u: %s\n", obj,
                    strerror(errno));
            return -1;
        }
    }
    return fd;
}

/* ---- server ------------------------------------------------------------- */

static int
cb_server(unsigned obj, const char *udp, const char *tcp)
{
    static uint8_t buf[CB_MAX_LEN];
    int conns[CB_MAX_CONNS], nconns = 0, l = -1, u = -1, t = -1, i;
    bool plain[CB_MAX_CONNS];
    struct sockaddr_sf a;

    if (obj) {
        l = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
        cb_sfaddr(&a, obj);
        if (l < 0 || bind_sf(l, (struct sockaddr *) &a, sizeof a) < 0
            || listen_sf(l, 64) < 0) {
            fprintf(stderr, "sf-callbench: serve %u: %s\n", obj,
                    strerror(errno));
            return 1;
        }
    }
    if (udp) {
        struct sockaddr_in sin;

        u = socket(AF_INET, SOCK_DGRAM, 0);
        if (u < 0 || cb_udp_addr(udp, &sin)
            || bind(u, (struct sockaddr *) &sin, sizeof sin) < 0) {
            fprintf(stderr, "sf-callbench: udp %s: %s\n", udp,
                    strerror(errno));
            return 1;
        }
    }
    if (tcp) {
        struct sockaddr_in sin;
        int one = 1;

        t = socket(AF_INET, SOCK_STREAM, 0);
        if (t >= 0) {
            setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        }
        if (t < 0 || cb_udp_addr(tcp, &sin)
            || bind(t, (struct sockaddr *) &sin, sizeof sin) < 0
            || listen(t, 128) < 0) {
            fprintf(stderr, "sf-callbench: tcp %s: %s\n", tcp,
                    strerror(errno));
            return 1;
        }
    }
    printf("sf-callbench: serving%s%s%s\n", obj ? " object" : "",
           udp ? " udp" : "", tcp ? " tcp" : "");
    fflush(stdout);
    while (!cb_stop) {
        struct pollfd pfd[CB_MAX_CONNS + 2];
        int n = 0;

        if (l >= 0) {
            pfd[n++] = (struct pollfd) { .fd = l, .events = POLLIN };
        }
        if (u >= 0) {
            pfd[n++] = (struct pollfd) { .fd = u, .events = POLLIN };
        }
        if (t >= 0) {
            pfd[n++] = (struct pollfd) { .fd = t, .events = POLLIN };
        }
        for (i = 0; i < nconns; i++) {
            pfd[n++] = (struct pollfd) { .fd = conns[i], .events = POLLIN };
        }
        if (poll(pfd, (nfds_t) n, 200) <= 0) {
            continue;
        }
        for (i = 0; i < n; i++) {
            int fd = pfd[i].fd;
            ssize_t r;

            if (!pfd[i].revents) {
                continue;
            }
            if (fd == l) {
                int c = accept_sf(l, NULL, NULL);

                if (c >= 0 && nconns < CB_MAX_CONNS) {
                    plain[nconns] = false;
                    conns[nconns++] = c;
                } else if (c >= 0) {
                    close_sf(c, 0);
                }
            } else if (fd == t) {
                int c = accept(t, NULL, NULL);

                if (c >= 0 && nconns < CB_MAX_CONNS) {
                    plain[nconns] = true;
                    conns[nconns++] = c;
                } else if (c >= 0) {
                    close(c);
                }
            } else if (fd == u) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;

                r = recvfrom(u, buf, sizeof buf, MSG_DONTWAIT,
                             (struct sockaddr *) &from, &fl);
                if (r > 0) {
                    (void) sendto(u, buf, (size_t) r, MSG_DONTWAIT,
                                  (struct sockaddr *) &from, fl);
                }
            } else {
                bool pl = false;
                int j;

                for (j = 0; j < nconns; j++) {
                    if (conns[j] == fd) {
                        pl = plain[j];
                    }
                }
                for (;;) {
                    r = pl ? recv(fd, buf, sizeof buf, MSG_DONTWAIT)
                           : recv_sf(fd, buf, sizeof buf, MSG_DONTWAIT);
                    if (r > 0) {
                        if (pl) {
                            (void) send(fd, buf, (size_t) r, MSG_NOSIGNAL);
                        } else {
                            (void) send_sf(fd, buf, (size_t) r, 0);
                        }
                        continue;
                    }
                    if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                        if (pl) {
                            close(fd);
                        } else {
                            close_sf(fd, 0);
                        }
                        for (j = 0; j < nconns; j++) {
                            if (conns[j] == fd) {
                                plain[j] = plain[nconns - 1];
                                conns[j] = conns[--nconns];
                                break;
                            }
                        }
                    }
                    break;
                }
            }
        }
    }
    for (i = 0; i < nconns; i++) {
        if (plain[i]) {
            close(conns[i]);
        } else {
            close_sf(conns[i], 0);
        }
    }
    if (t >= 0) {
        close(t);
    }
    if (l >= 0) {
        close_sf(l, 0);
    }
    if (u >= 0) {
        close(u);
    }
    return 0;
}

/* ---- rtt ---------------------------------------------------------------- */

static int
cb_rtt(unsigned obj, const char *udp, size_t len, size_t count)
{
    static uint8_t out[CB_MAX_LEN], in[CB_MAX_LEN];
    double *v = calloc(count, sizeof *v);
    size_t i, got = 0, lost = 0;
    int fd;
    char extra[128];

    if (!v) {
        return 1;
    }
    fd = cb_connect(obj, udp);
    if (fd < 0) {
        return 1;
    }
    memset(out, 0x5a, len);
    for (i = 0; i < count && !cb_stop; i++) {
        uint64_t t0, deadline;
        uint32_t seq = (uint32_t) i;
        ssize_t r;

        memcpy(out, &seq, sizeof seq);
        t0 = cb_now_ns();
        r = udp ? send(fd, out, len, 0) : send_sf(fd, out, len, 0);
        if (r < 0) {
            fprintf(stderr, "sf-callbench: send %zu: %s\n", len,
                    strerror(errno));
            return 1;
        }
        deadline = t0 + 1000000000ULL;
        for (;;) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            uint64_t now = cb_now_ns();

            if (now >= deadline
                || poll(&pfd, 1, (int) ((deadline - now) / 1000000 + 1))
                   <= 0) {
                lost++;
                break;
            }
            r = udp ? recv(fd, in, sizeof in, MSG_DONTWAIT)
                    : recv_sf(fd, in, sizeof in, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (r <= 0) {
                fprintf(stderr, "sf-callbench: recv: %s\n",
                        r ? strerror(errno) : "closed");
                return 1;
            }
            if ((size_t) r == len && !memcmp(in, out, sizeof seq)) {
                v[got++] = (double) (cb_now_ns() - t0) / 1e3;
                break;
            }
        }
    }
    snprintf(extra, sizeof extra, ", \"mode\": \"%s\", \"len\": %zu, "
             "\"lost\": %zu", udp ? "udp" : "bound", len, lost);
    cb_summary("rtt", extra, v, got, lost);
    if (udp) {
        close(fd);
    } else {
        close_sf(fd, 0);
    }
    free(v);
    return got ? 0 : 1;
}

/* ---- stack latency ------------------------------------------------------ */

static uint64_t
cb_real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Reads every frame waiting on packet socket 'p'; a frame carrying the
 * 8-byte 'mark' sets '*out_ns' (sent by this host) or '*in_ns' (received)
 * to its kernel timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME). */
static void
cb_drain_tap(int p, const uint8_t *mark, uint64_t *out_ns, uint64_t *in_ns)
{
    static uint8_t frame[2048];

    for (;;) {
        struct sockaddr_ll sll;
        char cbuf[256];
        struct iovec iov = { frame, sizeof frame };
        struct msghdr mh = { .msg_name = &sll, .msg_namelen = sizeof sll,
                             .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = cbuf,
                             .msg_controllen = sizeof cbuf };
        struct cmsghdr *cm;
        uint64_t ts = 0;
        ssize_t r = recvmsg(p, &mh, MSG_DONTWAIT);

        if (r <= 0) {
            return;
        }
        if (!memmem(frame, (size_t) r, mark, 8)) {
            continue;
        }
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET
                && cm->cmsg_type == SO_TIMESTAMPNS) {
                struct timespec t;

                memcpy(&t, CMSG_DATA(cm), sizeof t);
                ts = (uint64_t) t.tv_sec * 1000000000ULL
                     + (uint64_t) t.tv_nsec;
            }
        }
        if (sll.sll_pkttype == PACKET_OUTGOING) {
            *out_ns = ts;
        } else {
            *in_ns = ts;
        }
    }
}

/* Stack latency on this host: application send call -> frame on the
 * wire (the kernel's timestamp of the outgoing frame on 'iface', seen by a
 * packet socket), and the echo's frame on the wire -> recv returning it to
 * the application. */
static int
cb_stack(const char *iface, unsigned obj, const char *udp, size_t len,
         size_t count)
{
    static uint8_t out[CB_MAX_LEN], in[CB_MAX_LEN];
    double *vs = calloc(count, sizeof *vs), *vr = calloc(count, sizeof *vr);
    size_t i, ns = 0, nr = 0, miss = 0;
    struct sockaddr_ll sll;
    int fd, p, one = 1;
    char extra[128];

    if (!vs || !vr || len < 8) {
        return 1;
    }
    p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int) if_nametoindex(iface);
    if (p < 0 || !sll.sll_ifindex
        || setsockopt(p, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0
        || bind(p, (struct sockaddr *) &sll, sizeof sll) < 0) {
        fprintf(stderr, "sf-callbench: packet socket on %s: %s\n", iface,
                strerror(errno));
        return 1;
    }
    fd = cb_connect(obj, udp);
    if (fd < 0) {
        return 1;
    }
    memset(out, 0x5a, len);
    for (i = 0; i < count && !cb_stop; i++) {
        uint32_t seq = (uint32_t) i ^ 0xa5c30000u, magic = 0x5afe5afeu;
        uint64_t t_send, t_recv = 0, w_out = 0, w_in = 0, deadline;
        ssize_t r;

        memcpy(out, &seq, 4);
        memcpy(out + 4, &magic, 4);
        cb_drain_tap(p, out, &w_out, &w_in);    /* stale frames */
        w_out = w_in = 0;
        t_send = cb_real_ns();
        r = udp ? send(fd, out, len, 0) : send_sf(fd, out, len, 0);
        if (r < 0) {
            fprintf(stderr, "sf-callbench: send: %s\n", strerror(errno));
            return 1;
        }
        deadline = cb_now_ns() + 1000000000ULL;
        while (cb_now_ns() < deadline && !(t_recv && w_out && w_in)) {
            struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
                                     { .fd = p, .events = POLLIN } };

            if (poll(pfd, 2, 50) <= 0) {
                continue;
            }
            if (pfd[0].revents && !t_recv) {
                r = udp ? recv(fd, in, sizeof in, MSG_DONTWAIT)
                        : recv_sf(fd, in, sizeof in, MSG_DONTWAIT);
                if (r > 0 && (size_t) r == len && !memcmp(in, out, 8)) {
                    t_recv = cb_real_ns();
                }
            }
            if (pfd[1].revents) {
                cb_drain_tap(p, out, &w_out, &w_in);
            }
        }
        if (w_out && w_out >= t_send) {
            vs[ns++] = (double) (w_out - t_send) / 1e3;
        }
        if (w_in && t_recv && t_recv >= w_in) {
            vr[nr++] = (double) (t_recv - w_in) / 1e3;
        }
        if (!(t_recv && w_out && w_in)) {
            miss++;
        }
    }
    snprintf(extra, sizeof extra, ", \"mode\": \"%s\", \"len\": %zu",
             udp ? "udp" : "bound", len);
    cb_summary("stack_send", extra, vs, ns, miss);
    cb_summary("stack_recv", extra, vr, nr, miss);
    if (udp) {
        close(fd);
    } else {
        close_sf(fd, 0);
    }
    close(p);
    free(vs);
    free(vr);
    return ns && nr ? 0 : 1;
}

/* ---- calls -------------------------------------------------------------- */

/* The agent's "binds ... ok=N" counter (controller confirmations of binds
 * and unbinds), or -1; its "pending=" count into '*pending'. */
static long
cb_binds_ok(long *pending)
{
    static uint8_t buf[SF_IPC_MAX_MSG];
    static char text[65536];
    struct sockaddr_un sun;
    uint8_t hdr[SF_IPC_HDR_LEN];
    size_t tl = 0;
    long ok = -1;
    const char *p;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, SF_IPC_ADDRESS, SF_IPC_ADDRESS_LEN);
    if (connect(fd, (struct sockaddr *) &sun,
                (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                             + SF_IPC_ADDRESS_LEN)) < 0) {
        close(fd);
        return -1;
    }
    sf_ipc_encode(hdr, sizeof hdr, SF_IPC_STATUS, 0, NULL, 0);
    if (send(fd, hdr, sizeof hdr, MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        struct sf_ipc_msg m;
        ssize_t r = recv(fd, buf, sizeof buf, 0);

        if (r <= 0 || sf_ipc_decode(buf, (size_t) r, &m)
            || m.type != SF_IPC_TEXT) {
            break;
        }
        if (tl + m.body_len < sizeof text) {
            memcpy(text + tl, m.body, m.body_len);
            tl += m.body_len;
        }
        if (m.arg == 1) {
            break;
        }
    }
    close(fd);
    text[tl] = '\0';
    p = strstr(text, "binds bound=");
    if (p && pending) {
        const char *q = strstr(p, " pending=");
        *pending = q ? strtol(q + 9, NULL, 10) : -1;
    }
    if (p && (p = strstr(p, " ok="))) {
        ok = strtol(p + 4, NULL, 10);
    }
    return ok;
}

enum { C_SOCKET, C_CONNECT, C_SEND, C_CLOSE_FIN, C_CLOSE_FAIL, C_BIND,
       C_LISTEN, C_BIND_CONFIRM, C_CLOSE_LISTENER, C_N };
static const char *const cb_names[C_N] = {
    "socket_sf", "connect_sf", "send_sf", "close_sf_fin", "close_sf_fail",
    "bind_sf", "listen_sf", "bind_sf_confirmed", "close_sf_listener",
};

static int
cb_calls(unsigned obj, unsigned bind_base, size_t n, size_t len)
{
    static uint8_t buf[CB_MAX_LEN];
    double *v[C_N];
    size_t got[C_N] = { 0 }, bad[C_N] = { 0 }, i, k;
    char extra[96];

    for (k = 0; k < C_N; k++) {
        v[k] = calloc(2 * n, sizeof(double));   /* socket_sf: 2 a round */
        if (!v[k]) {
            return 1;
        }
    }
    memset(buf, 0x33, len);
#define CB_T(call, expr) do {                                           \
        uint64_t t0_ = cb_now_ns();                                     \
        int ok_ = (expr) >= 0;                                          \
        double us_ = (double) (cb_now_ns() - t0_) / 1e3;                \
        if (ok_) { v[call][got[call]++] = us_; } else { bad[call]++; }  \
    } while (0)
    /* Two phases, so that neither measures the other's control traffic:
     * every listener closed makes the agent unbind, and the controller's
     * rule changes that follow (and the switches' revalidation) would
     * land on the next iteration's connect_sf. */
    for (i = 0; i < n && !cb_stop; i++) {
        struct sockaddr_sf a;
        int fd = -1, r = 0;

        /* Client side: socket, connect, send, close (FIN / SEND_FAIL). */
        CB_T(C_SOCKET, fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0));
        if (fd < 0) {
            continue;
        }
        cb_sfaddr(&a, obj);
        CB_T(C_CONNECT, r = connect_sf(fd, (struct sockaddr *) &a,
                                       sizeof a));
        if (r < 0) {
            fprintf(stderr, "sf-callbench: connect_sf %u: %s\n", obj,
                    strerror(errno));
            close_sf(fd, 0);
            continue;
        }
        CB_T(C_SEND, send_sf(fd, buf, len, 0));
        /* Drain the echo so the next iteration starts clean. */
        {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            if (poll(&pfd, 1, 100) > 0) {
                (void) recv_sf(fd, buf, len, MSG_DONTWAIT);
            }
        }
        if (i % 2 == 0) {
            CB_T(C_CLOSE_FIN, close_sf(fd, 0));
        } else {
            CB_T(C_CLOSE_FAIL, close_sf(fd, SF_SEND_FAIL));
        }

    }
    for (i = 0; i < n && !cb_stop; i++) {
        struct sockaddr_sf a;
        int fd = -1, r = 0;
        uint64_t t0;
        long pend = 0;

        /* Server side: bind, listen, confirmation, close.  Start from a
         * quiet agent: no bind or unbind outstanding. */
        t0 = cb_now_ns();
        while (cb_binds_ok(&pend) >= 0 && pend > 0
               && cb_now_ns() - t0 < 2000000000ULL) {
            usleep(100);
        }
        CB_T(C_SOCKET, fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0));
        if (fd < 0) {
            continue;
        }
        {
            struct timeval tv = { 2, 0 };

            (void) setsockopt_sf(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
                                 sizeof tv);
        }
        cb_sfaddr(&a, bind_base + (unsigned) (i % 1000));
        t0 = cb_now_ns();
        CB_T(C_BIND, r = bind_sf(fd, (struct sockaddr *) &a, sizeof a));
        if (r < 0) {
            fprintf(stderr, "sf-callbench: bind_sf: %s\n", strerror(errno));
            close_sf(fd, 0);
            continue;
        }
        CB_T(C_LISTEN, r = listen_sf(fd, 16));
        if (r == 0) {
            /* Blocks until the agent hears the controller's answer (2 s
             * at most: SO_RCVTIMEO, set above). */
            socklen_t vl = sizeof r;

            if (getsockopt_sf(fd, SOL_SCAFFOLD, SF_SO_BOUND, &r, &vl) == 0
                && r == 1) {
                v[C_BIND_CONFIRM][got[C_BIND_CONFIRM]++] =
                    (double) (cb_now_ns() - t0) / 1e3;
            } else {
                bad[C_BIND_CONFIRM]++;
            }
        }
        CB_T(C_CLOSE_LISTENER, close_sf(fd, 0));
    }
    snprintf(extra, sizeof extra, ", \"len\": %zu", len);
    for (k = 0; k < C_N; k++) {
        cb_summary(cb_names[k], k == C_SEND ? extra : NULL, v[k], got[k],
                   bad[k]);
        free(v[k]);
    }
    return 0;
}

/* The kernel counterpart of cb_calls: TCP connect/send/close to a server
 * through the same switches, bind/listen of a TCP socket. */
enum { P_SOCKET, P_CONNECT, P_SEND, P_CLOSE, P_BIND, P_LISTEN, P_CLOSE_L,
       P_N };
static const char *const cb_pnames[P_N] = {
    "plain_socket", "plain_connect", "plain_send", "plain_close",
    "plain_bind", "plain_listen", "plain_close_listener",
};

static int
cb_plain_calls(const char *tcp, size_t n, size_t len)
{
    static uint8_t buf[CB_MAX_LEN];
    struct sockaddr_in dst, any;
    double *v[P_N];
    size_t got[P_N] = { 0 }, bad[P_N] = { 0 }, i, k;
    char extra[96];

    if (cb_udp_addr(tcp, &dst)) {
        return 2;
    }
    memset(&any, 0, sizeof any);
    any.sin_family = AF_INET;
    for (k = 0; k < P_N; k++) {
        v[k] = calloc(n, sizeof(double));
        if (!v[k]) {
            return 1;
        }
    }
    memset(buf, 0x33, len);
    for (i = 0; i < n && !cb_stop; i++) {
        int fd = -1, r = 0;

        CB_T(P_SOCKET, fd = socket(AF_INET, SOCK_STREAM, 0));
        if (fd < 0) {
            continue;
        }
        CB_T(P_CONNECT, r = connect(fd, (struct sockaddr *) &dst,
                                    sizeof dst));
        if (r < 0) {
            fprintf(stderr, "sf-callbench: connect %s: %s\n", tcp,
                    strerror(errno));
            close(fd);
            continue;
        }
        CB_T(P_SEND, send(fd, buf, len, MSG_NOSIGNAL));
        {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            if (poll(&pfd, 1, 100) > 0) {
                (void) recv(fd, buf, len, MSG_DONTWAIT);
            }
        }
        CB_T(P_CLOSE, close(fd));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            continue;
        }
        CB_T(P_BIND, r = bind(fd, (struct sockaddr *) &any, sizeof any));
        CB_T(P_LISTEN, listen(fd, 16));
        CB_T(P_CLOSE_L, close(fd));
    }
    snprintf(extra, sizeof extra, ", \"len\": %zu", len);
    for (k = 0; k < P_N; k++) {
        cb_summary(cb_pnames[k], k == P_SEND ? extra : NULL, v[k], got[k],
                   bad[k]);
        free(v[k]);
    }
    return 0;
}

/* Opens a bound flow to 'obj' and holds it until SIGTERM (scale test). */
static int
cb_hold(unsigned obj)
{
    struct sockaddr_sf a;
    int fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    int tries;

    cb_sfaddr(&a, obj);
    for (tries = 0; fd >= 0 && tries < 30 && !cb_stop; tries++) {
        if (connect_sf(fd, (struct sockaddr *) &a, sizeof a) == 0) {
            printf("connected\n");
            fflush(stdout);
            while (!cb_stop) {
                pause();
            }
            close_sf(fd, 0);
            return 0;
        }
        fprintf(stderr, "sf-callbench: connect_sf %u: %s\n", obj,
                strerror(errno));
        close_sf(fd, 0);
        sleep(1);
        fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    }
    return 1;
}

/* Listens on 'obj' and waits for the controller's confirmation
 * (SF_SO_BOUND, at most 10 s); prints "bound FLOWID:OBJ US" (microseconds
 * from bind_sf) or the error, then holds the listener until SIGTERM if
 * 'hold'.  Exit status 0 when confirmed. */
static int
cb_bound(unsigned obj, bool hold)
{
    struct sockaddr_sf a, me;
    struct timeval tv = { 10, 0 };
    socklen_t len = sizeof me, vl;
    int fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0), v = 0, r;
    uint64_t t0 = cb_now_ns();

    cb_sfaddr(&a, obj);
    if (fd < 0
        || setsockopt_sf(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
        || bind_sf(fd, (struct sockaddr *) &a, sizeof a) < 0
        || listen_sf(fd, 16) < 0
        || getsockname_sf(fd, (struct sockaddr *) &me, &len) < 0) {
        fprintf(stderr, "sf-callbench: listen on %u: %s\n", obj,
                strerror(errno));
        return 1;
    }
    vl = sizeof v;
    r = getsockopt_sf(fd, SOL_SCAFFOLD, SF_SO_BOUND, &v, &vl);
    if (r < 0) {
        printf("error %s\n", strerror(errno));
    } else {
        printf("bound %u.%u.%u:%u %.1f\n", me.sf_flowid >> 24,
               me.sf_flowid >> 16 & 0xff, me.sf_flowid & 0xffff,
               me.sf_objectid, (double) (cb_now_ns() - t0) / 1e3);
    }
    fflush(stdout);
    while (hold && !cb_stop) {
        pause();
    }
    close_sf(fd, 0);
    return r < 0 || v != 1;
}

static void
cb_usage(FILE *f)
{
    fprintf(f,
"Usage: sf-callbench server [--object OBJ] [--udp [HOST:]PORT]\n"
"       sf-callbench rtt {--object OBJ | --udp HOST:PORT} [-l LEN] [-n N]\n"
"       sf-callbench calls --object OBJ [--bind-base OBJ2] [-l LEN] [-n N]\n"
"       sf-callbench calls --tcp HOST:PORT [-l LEN] [-n N]   (kernel)\n"
"       sf-callbench hold --object OBJ   (hold a bound flow until SIGTERM)\n"
"       sf-callbench bound --object OBJ [--hold 1]   (listen, wait for\n"
"                    the controller's confirmation, print it)\n"
"       sf-callbench stack --iface IF {--object OBJ | --udp HOST:PORT}\n"
"                    [-l LEN] [-n N]   (send call -> frame on IF, and\n"
"                    echo frame on IF -> recv returns)\n"
"  server --tcp [HOST:]PORT also echoes kernel TCP connections.\n"
"Per-call latency of libsf and ping-pong round trips (one JSON line per\n"
"figure, microseconds).  Needs scaffold-hostagent in this namespace for\n"
"SCAFFOLD modes.  Exit status 0 ok, 1 error, 2 usage.\n");
}

int
main(int argc, char **argv)
{
    const char *mode, *udp = NULL, *tcp = NULL, *iface = NULL;
    unsigned obj = 0, bind_base = 30000;
    bool hold = false;
    size_t len = 18, n = 1000;
    int i;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        cb_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    mode = argv[1];
    for (i = 2; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!val) {
            cb_usage(stderr);
            return 2;
        }
        if (!strcmp(opt, "--object")) {
            obj = (unsigned) atoi(val);
        } else if (!strcmp(opt, "--udp")) {
            udp = val;
        } else if (!strcmp(opt, "--iface")) {
            iface = val;
        } else if (!strcmp(opt, "--tcp")) {
            tcp = val;
        } else if (!strcmp(opt, "-l")) {
            len = (size_t) atol(val);
        } else if (!strcmp(opt, "-n")) {
            n = (size_t) atol(val);
        } else if (!strcmp(opt, "--bind-base")) {
            bind_base = (unsigned) atoi(val);
        } else if (!strcmp(opt, "--hold")) {
            hold = atoi(val) != 0;
        } else {
            cb_usage(stderr);
            return 2;
        }
    }
    if (len < 4 || len > CB_MAX_LEN || n < 1) {
        cb_usage(stderr);
        return 2;
    }
    signal(SIGTERM, cb_on_signal);
    signal(SIGINT, cb_on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(mode, "server") && (obj || udp || tcp)) {
        return cb_server(obj, udp, tcp);
    } else if (!strcmp(mode, "calls") && tcp) {
        return cb_plain_calls(tcp, n, len);
    } else if (!strcmp(mode, "stack") && iface && (!obj != !udp)) {
        return cb_stack(iface, obj, udp, len, n);
    } else if (!strcmp(mode, "hold") && obj) {
        return cb_hold(obj);
    } else if (!strcmp(mode, "bound") && obj) {
        return cb_bound(obj, hold);
    } else if (!strcmp(mode, "rtt") && (!obj != !udp)) {
        return cb_rtt(obj, udp, len, n);
    } else if (!strcmp(mode, "calls") && obj) {
        return cb_calls(obj, bind_base, n, len);
    }
    cb_usage(stderr);
    return 2;
}
