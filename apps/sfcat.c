/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sfcat: netcat for SCAFFOLD bound flows, built on libsf.  Used by the
 * system tests and handy by hand.
 *
 *   sfcat --listen OBJ [--echo] [--fail-on-term]
 *       serve objectID OBJ: accept connections, print every datagram
 *       ("recv N: TEXT"), echo it back prefixed with "echo:" (--echo);
 *       on SIGTERM close every connection, with SF_SEND_FAIL if
 *       --fail-on-term (so that clients fail over).
 *   sfcat OBJ [--wait-ms MS]
 *       connect to objectID OBJ, send every stdin line as one datagram,
 *       print every datagram received; at end of input wait until as many
 *       datagrams came back as were sent (or MS ms), close, exit.
 *   sfcat --dgram [--listen [--echo]] OBJ
 *       the same with unbound datagrams (SOCK_DGRAM, sendto_sf and
 *       recvfrom_sf): the server binds OBJ and prints "dgram from
 *       FLOW:OBJ: TEXT"; the client sends each stdin line to OBJ (resolved
 *       per datagram) and prints the answers with their source.
 *   sfcat OBJ --count N [--size BYTES]
 *       blast N datagrams of BYTES (default 1400) as fast as send_sf
 *       allows, report the send rate, close.  The server (without --echo)
 *       prints "total N datagrams B bytes" when the connection closes.
 *
 * One poll() loop over stdin and the sf descriptors: it also shows that an
 * sf descriptor works with poll.
 */
#include <sf/socket.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/sfp.h"

#define MAX_CONNS 64

static volatile sig_atomic_t got_term;

static void usage(FILE *, const char *);
static int run_listen(uint16_t obj, bool echo, bool fail_on_term);
static int run_connect(uint16_t obj, int wait_ms);
static int run_blast(uint16_t obj, long count, size_t size);
static int run_dgram(uint16_t obj, bool listen_mode, bool echo, int wait_ms);
static const char *addr_str(const struct sockaddr_sf *, char *, size_t);
static void on_term(int);
static long long now_ms(void);

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "listen", no_argument, NULL, 'l' },
        { "echo", no_argument, NULL, 'e' },
        { "fail-on-term", no_argument, NULL, 'f' },
        { "wait-ms", required_argument, NULL, 'w' },
        { "count", required_argument, NULL, 'c' },
        { "dgram", no_argument, NULL, 'd' },
        { "size", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool listen_mode = false, echo = false, fail = false, dgram = false;
    int wait_ms = 2000, c;
    long count = 0, size = 1400;
    uint16_t obj;

    while ((c = getopt_long(argc, argv, "lefw:c:s:dh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_mode = true; break;
        case 'e': echo = true; break;
        case 'f': fail = true; break;
        case 'w': wait_ms = atoi(optarg); break;
        case 'c': count = atol(optarg); break;
        case 'd': dgram = true; break;
        case 's': size = atol(optarg); break;
        case 'h': usage(stdout, argv[0]); return 0;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (optind != argc - 1 || sfp_objectid_parse(argv[optind], &obj)
        || !sfp_objectid_is_valid(obj)) {
        usage(stderr, argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    if (size < 1 || size > 65507 || count < 0) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (count) {
        return run_blast(obj, count, (size_t) size);
    }
    if (dgram) {
        return run_dgram(obj, listen_mode, echo, wait_ms);
    }
    return listen_mode ? run_listen(obj, echo, fail)
                       : run_connect(obj, wait_ms);
}

static void
usage(FILE *f, const char *prog)
{
    fprintf(f,
"Usage: %s --listen OBJ [--echo] [--fail-on-term]\n"
"       %s OBJ [--wait-ms MS]\n"
"Netcat over SCAFFOLD bound flows (needs scaffold-hostagent running in\n"
"this network namespace).\n"
"  -l, --listen        serve objectID OBJ, print what arrives\n"
"  -e, --echo          send every datagram back prefixed with \"echo:\"\n"
"  -f, --fail-on-term  on SIGTERM close connections with SF_SEND_FAIL\n"
"  -w, --wait-ms MS    client: after end of input, wait up to MS ms for\n"
"                      replies (default 2000)\n"
"  -d, --dgram         unbound datagrams (SOCK_DGRAM) instead of a flow\n"
"  -c, --count N       client: send N datagrams as fast as possible\n"
"  -s, --size BYTES    their size (default 1400)\n"
"  -h, --help          this text\n", prog, prog);
}

static int
run_listen(uint16_t obj, bool echo, bool fail_on_term)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, obj, 0 };
    struct pollfd pfd[MAX_CONNS + 1];
    long long pkts[MAX_CONNS], bytes[MAX_CONNS];
    int conns[MAX_CONNS], n = 0, l, i;
    char buf[65536], s[64];

    l = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    if (l < 0) {
        fprintf(stderr, "sfcat: socket_sf: %s\n", strerror(errno));
        return 1;
    }
    if (bind_sf(l, (struct sockaddr *) &a, sizeof a) < 0
        || listen_sf(l, 16) < 0) {
        fprintf(stderr, "sfcat: bind/listen %u: %s\n", obj, strerror(errno));
        return 1;
    }
    {
        socklen_t len = sizeof a;
        getsockname_sf(l, (struct sockaddr *) &a, &len);
        printf("listening %s\n", addr_str(&a, s, sizeof s));
    }
    while (!got_term) {
        pfd[0].fd = l;
        pfd[0].events = POLLIN;
        for (i = 0; i < n; i++) {
            pfd[i + 1].fd = conns[i];
            pfd[i + 1].events = POLLIN;
        }
        if (poll(pfd, (nfds_t) n + 1, -1) < 0) {
            continue;
        }
        if (pfd[0].revents & POLLIN) {
            struct sockaddr_sf peer;
            socklen_t len = sizeof peer;
            int flags = 0, fd = accept2_sf(l, (struct sockaddr *) &peer,
                                           &len, &flags);
            if (fd >= 0 && n < MAX_CONNS) {
                pkts[n] = bytes[n] = 0;
                conns[n++] = fd;
                printf("accepted %s%s\n", addr_str(&peer, s, sizeof s),
                       flags & SF_ACCEPT_RESUMED ? " resumed" : "");
            } else if (fd >= 0) {
                close_sf(fd, 0);
            }
        }
        for (i = n - 1; i >= 0; i--) {
            ssize_t r;

            if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            r = recv_sf(conns[i], buf, sizeof buf - 1, MSG_DONTWAIT);
            if (r < 0 && errno == EAGAIN) {
                continue;
            }
            if (r <= 0) {
                if (pkts[i] > 100) {
                    printf("total %lld datagrams %lld bytes\n", pkts[i],
                           bytes[i]);
                }
                printf("closed %d%s%s\n", i, r < 0 ? ": " : "",
                       r < 0 ? strerror(errno) : "");
                close_sf(conns[i], 0);
                n--;
                conns[i] = conns[n];
                pkts[i] = pkts[n];
                bytes[i] = bytes[n];
                continue;
            }
            pkts[i]++;
            bytes[i] += r;
            if (!echo && pkts[i] > 100) {
                continue;               /* A blast: count, do not print. */
            }
            buf[r] = '\0';
            printf("recv %d: %s\n", i, buf);
            if (echo) {
                char out[65536 + 8];
                int m = snprintf(out, sizeof out, "echo:%s", buf);
                if (send_sf(conns[i], out, (size_t) m, 0) < 0) {
                    printf("send %d: %s\n", i, strerror(errno));
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        close_sf(conns[i], fail_on_term ? SF_SEND_FAIL : 0);
    }
    close_sf(l, 0);
    printf("bye\n");
    return 0;
}

static int
run_connect(uint16_t obj, int wait_ms)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, obj, 0 }, local, peer;
    socklen_t len;
    struct pollfd pfd[2];
    long long deadline = -1;
    int fd, sent = 0, got = 0;
    bool in_open = true;
    char line[65536], s1[64], s2[64];

    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "sfcat: socket_sf: %s\n", strerror(errno));
        return 1;
    }
    if (connect_sf(fd, (struct sockaddr *) &a, sizeof a) < 0) {
        fprintf(stderr, "sfcat: connect_sf %u: %s\n", obj, strerror(errno));
        close_sf(fd, 0);
        return 1;
    }
    len = sizeof local;
    getsockname_sf(fd, (struct sockaddr *) &local, &len);
    len = sizeof peer;
    getpeername_sf(fd, (struct sockaddr *) &peer, &len);
    printf("connected %s > %s\n", addr_str(&local, s1, sizeof s1),
           addr_str(&peer, s2, sizeof s2));
    while (!got_term) {
        int timeout = -1, nfds = 0;

        if (in_open) {
            pfd[nfds].fd = STDIN_FILENO;
            pfd[nfds++].events = POLLIN;
        } else {
            if (got >= sent || now_ms() >= deadline) {
                break;
            }
            timeout = (int) (deadline - now_ms());
        }
        pfd[nfds].fd = fd;
        pfd[nfds++].events = POLLIN;
        if (poll(pfd, (nfds_t) nfds, timeout) < 0) {
            continue;
        }
        if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
            if (!fgets(line, sizeof line, stdin)) {
                in_open = false;
                deadline = now_ms() + wait_ms;
            } else {
                size_t n = strcspn(line, "\n");
                if (send_sf(fd, line, n, 0) < 0) {
                    printf("send: %s\n", strerror(errno));
                } else {
                    sent++;
                }
            }
        }
        if (pfd[nfds - 1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv_sf(fd, line, sizeof line - 1, MSG_DONTWAIT);

            if (r < 0 && errno == EAGAIN) {
                continue;
            }
            if (r <= 0) {
                printf("closed%s%s\n", r < 0 ? ": " : "",
                       r < 0 ? strerror(errno) : "");
                close_sf(fd, 0);
                return r < 0 ? 1 : 0;
            }
            line[r] = '\0';
            printf("recv: %s\n", line);
            got++;
        }
    }
    len = sizeof peer;
    if (!getpeername_sf(fd, (struct sockaddr *) &peer, &len)) {
        printf("peer %s\n", addr_str(&peer, s2, sizeof s2));
    }
    len = sizeof local;
    if (!getsockname_sf(fd, (struct sockaddr *) &local, &len)) {
        printf("local %s\n", addr_str(&local, s1, sizeof s1));
    }
    close_sf(fd, 0);
    printf("sent %d received %d\n", sent, got);
    return 0;
}

static int
run_blast(uint16_t obj, long count, size_t size)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, obj, 0 };
    char *buf = calloc(1, size);
    long long t0, t1;
    long i, errors = 0;
    int fd;

    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    if (!buf || fd < 0
        || connect_sf(fd, (struct sockaddr *) &a, sizeof a) < 0) {
        fprintf(stderr, "sfcat: connect_sf %u: %s\n", obj, strerror(errno));
        return 1;
    }
    t0 = now_ms();
    for (i = 0; i < count && !got_term; i++) {
        memcpy(buf, &i, sizeof i < size ? sizeof i : size);
        if (send_sf(fd, buf, size, 0) < 0) {
            errors++;
        }
    }
    t1 = now_ms();
    /* Let the agent drain before the FIN overtakes nothing: FIN follows
     * the data on the same IPC connection, so order is kept anyway. */
    close_sf(fd, 0);
    printf("sent %ld datagrams of %zu bytes in %lld ms: %.1f kpps, "
           "%.1f Mb/s, %ld errors\n", i, size, t1 - t0,
           t1 > t0 ? (double) i / (double) (t1 - t0) : 0.0,
           t1 > t0 ? (double) i * (double) size * 8 / 1000.0
                     / (double) (t1 - t0) : 0.0, errors);
    free(buf);
    return 0;
}

static int
run_dgram(uint16_t obj, bool listen_mode, bool echo, int wait_ms)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, obj, 0 }, from;
    struct pollfd pfd[2];
    long long deadline = -1;
    bool in_open = !listen_mode;
    int fd, sent = 0, got = 0;
    char buf[65536], s[64];

    fd = socket_sf(AF_SCAFFOLD, SOCK_DGRAM, 0);
    if (fd < 0) {
        fprintf(stderr, "sfcat: socket_sf: %s\n", strerror(errno));
        return 1;
    }
    if (listen_mode) {
        socklen_t len = sizeof a;

        if (bind_sf(fd, (struct sockaddr *) &a, sizeof a) < 0) {
            fprintf(stderr, "sfcat: bind_sf %u: %s\n", obj, strerror(errno));
            return 1;
        }
        getsockname_sf(fd, (struct sockaddr *) &a, &len);
        printf("bound %s\n", addr_str(&a, s, sizeof s));
        a.sf_flowid = 0;
        a.sf_objectid = obj;
    }
    while (!got_term) {
        int nfds = 0, timeout = -1;

        if (in_open) {
            pfd[nfds].fd = STDIN_FILENO;
            pfd[nfds++].events = POLLIN;
        } else if (!listen_mode) {
            if (got >= sent || now_ms() >= deadline) {
                break;
            }
            timeout = (int) (deadline - now_ms());
        }
        pfd[nfds].fd = fd;
        pfd[nfds++].events = POLLIN;
        if (poll(pfd, (nfds_t) nfds, timeout) < 0) {
            continue;
        }
        if (in_open && (pfd[0].revents & (POLLIN | POLLHUP))) {
            if (!fgets(buf, sizeof buf, stdin)) {
                in_open = false;
                deadline = now_ms() + wait_ms;
            } else if (sendto_sf(fd, buf, strcspn(buf, "\n"), 0,
                                 (struct sockaddr *) &a, sizeof a) < 0) {
                printf("sendto: %s\n", strerror(errno));
            } else {
                sent++;
            }
        }
        if (pfd[nfds - 1].revents & POLLIN) {
            socklen_t len = sizeof from;
            ssize_t r = recvfrom_sf(fd, buf, sizeof buf - 1, MSG_DONTWAIT,
                                    (struct sockaddr *) &from, &len);

            if (r < 0) {
                continue;
            }
            buf[r] = '\0';
            printf("dgram from %s: %s\n", addr_str(&from, s, sizeof s), buf);
            got++;
            if (listen_mode && echo) {
                char out[65536 + 8];
                int m = snprintf(out, sizeof out, "echo:%s", buf);

                if (sendto_sf(fd, out, (size_t) m, 0,
                              (struct sockaddr *) &from, len) < 0) {
                    printf("sendto: %s\n", strerror(errno));
                }
            }
        }
    }
    close_sf(fd, 0);
    if (!listen_mode) {
        printf("sent %d received %d\n", sent, got);
    }
    return 0;
}

static const char *
addr_str(const struct sockaddr_sf *a, char *buf, size_t size)
{
    char f[SFP_FLOWID_STRLEN];

    snprintf(buf, size, "%s:%u", sfp_flowid_format(a->sf_flowid, f),
             a->sf_objectid);
    return buf;
}

static void
on_term(int sig)
{
    (void) sig;
    got_term = 1;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
