/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the libsf calls (libsf/socket.c) against a scripted fake
 * agent: a thread serving the IPC protocol of libsf/ipc.h on an abstract
 * name of its own ($SCAFFOLD_AGENT), so no real agent or network is
 * needed.  The fake agent:
 *   - answers OPEN/BIND/LISTEN with success and plausible addresses;
 *   - after LISTEN, passes one accepted connection (a socketpair end) whose
 *     other end sends "welcome", a PEER update, then CLOSED(0);
 *   - CONNECT to objectID 1: refused; 2: answered after 100 ms; 3:
 *     answered at once, then echoes DATA, and turns "reset-me" into
 *     CLOSED(-ECONNRESET);
 *   - records CLOSE flags;
 *   - BOUND (asked on a connection of its own, served alongside the
 *     listener's): arg 0 "not yet"; objectID 81 refused (-EADDRINUSE);
 *     any other confirmed.
 */
#include <sf/socket.h>

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libsf/ipc.h"
#include "tests/unit/harness.h"

#define PREFIX 0x0a010000u
#define FAKE_MAX_PAYLOAD 1452           /* What the fake agent announces. */

static char agent_name[64];
static int listen_fd = -1;
static pthread_t agent_thread;
static volatile int last_close_flags = -1;
static volatile int last_batch_arg;
static volatile int last_bound_arg = -1;
static volatile int stop_agent;

struct conn_arg {
    int fd, n;
};

static void
send_ctl(int fd, enum sf_ipc_type type, int32_t arg,
         const struct sf_ipc_addr *a, int n, int pass_fd)
{
    uint8_t buf[SF_IPC_CTL_MAX];
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov;
    struct msghdr mh;

    iov.iov_base = buf;
    iov.iov_len = sf_ipc_encode(buf, sizeof buf, type, arg, a, n);
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (pass_fd >= 0) {
        struct cmsghdr *cm;

        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof pass_fd);
    }
    (void) sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static void
send_data(int fd, const char *s, const struct sf_ipc_addr *a)
{
    uint8_t buf[256];
    size_t len = 0;

    sf_ipc_append_data(buf, sizeof buf, &len, a, s, strlen(s));
    (void) send(fd, buf, len, MSG_NOSIGNAL);
}

/* Serves one IPC connection until it closes. */
static void
serve(int fd, int n)
{
    static uint8_t buf[SF_IPC_MAX_MSG];
    struct sf_ipc_addr local = { PREFIX | (1024 + n), (uint16_t) (1024 + n) };
    struct sf_ipc_addr peer = { 0x0a020401, 80 };

    for (;;) {
        struct sf_ipc_msg m;
        ssize_t r = recv(fd, buf, sizeof buf, 0);

        if (r <= 0) {
            return;
        }
        if (sf_ipc_decode(buf, (size_t) r, &m)) {
            send_ctl(fd, SF_IPC_REPLY, -EBADMSG, NULL, 0, -1);
            continue;
        }
        switch (m.type) {
        case SF_IPC_OPEN:
            send_ctl(fd, SF_IPC_REPLY, FAKE_MAX_PAYLOAD, &local, 1, -1);
            break;
        case SF_IPC_BIND:
            local.objectid = m.addr[0].objectid;
            send_ctl(fd, SF_IPC_REPLY, 0, &local, 1, -1);
            break;
        case SF_IPC_LISTEN: {
            int sv[2];
            struct sf_ipc_addr two[2] = { local, peer };
            struct sf_ipc_addr moved = { 0x0a030401, 80 };

            send_ctl(fd, SF_IPC_REPLY, 0, NULL, 0, -1);
            socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
            send_ctl(fd, SF_IPC_ACCEPT, SF_IPC_ACCEPT_RESUMED, two, 2, sv[1]);
            close(sv[1]);
            send_data(sv[0], "welcome", NULL);
            send_ctl(sv[0], SF_IPC_PEER, 0, &moved, 1, -1);
            send_ctl(sv[0], SF_IPC_CLOSED, 0, NULL, 0, -1);
            close(sv[0]);
            break;
        }
        case SF_IPC_CONNECT: {
            struct sf_ipc_addr two[2] = { local, peer };

            if (m.addr[0].objectid == 1) {
                send_ctl(fd, SF_IPC_REPLY, -ECONNREFUSED, NULL, 0, -1);
                break;
            }
            if (m.addr[0].objectid == 2) {
                usleep(100000);
            }
            send_ctl(fd, SF_IPC_REPLY, FAKE_MAX_PAYLOAD, two, 2, -1);
            break;
        }
        case SF_IPC_DATA: {
            struct sf_ipc_iter it;
            struct sf_ipc_rec rec;

            if (m.count > 1) {
                /* A batch (sendmmsg_sf): echoed as one message, as the
                 * agent batches toward a client that sent BATCH. */
                (void) send(fd, buf, (size_t) r, MSG_NOSIGNAL);
                break;
            }
            sf_ipc_iter_init(&it, &m);
            while (sf_ipc_iter_next(&it, &rec)) {
                if (rec.len == 8 && !memcmp(rec.data, "reset-me", 8)) {
                    send_ctl(fd, SF_IPC_CLOSED, -ECONNRESET, NULL, 0, -1);
                } else {
                    uint8_t out[SF_IPC_MAX_MSG];
                    size_t len = 0;

                    sf_ipc_append_data(out, sizeof out, &len, &rec.addr,
                                       rec.data, rec.len);
                    (void) send(fd, out, len, MSG_NOSIGNAL);
                }
            }
            break;
        }
        case SF_IPC_CLOSE:
            last_close_flags = m.arg;
            break;
        case SF_IPC_BATCH:
            last_batch_arg = m.arg;     /* No reply. */
            break;
        case SF_IPC_BOUND:
            last_bound_arg = m.arg;
            send_ctl(fd, SF_IPC_REPLY,
                     !m.arg ? 0 : m.addr[0].objectid == 81 ? -EADDRINUSE : 1,
                     &m.addr[0], 1, -1);
            break;
        default:
            send_ctl(fd, SF_IPC_REPLY, -EPROTO, NULL, 0, -1);
        }
    }
}

static void *
conn_main(void *arg)
{
    struct conn_arg *c = arg;

    serve(c->fd, c->n);
    close(c->fd);
    free(c);
    return NULL;
}

static void *
agent_main(void *arg)
{
    int n = 0;

    (void) arg;
    while (!stop_agent) {
        struct pollfd p = { listen_fd, POLLIN, 0 };
        struct conn_arg *c;
        pthread_t t;
        int fd;

        if (poll(&p, 1, 50) <= 0) {
            continue;
        }
        fd = accept(listen_fd, NULL, NULL);
        c = fd >= 0 ? malloc(sizeof *c) : NULL;
        if (c) {
            c->fd = fd;
            c->n = n++;
            if (pthread_create(&t, NULL, conn_main, c)) {
                close(fd);
                free(c);
            } else {
                pthread_detach(t);
            }
        } else if (fd >= 0) {
            close(fd);
        }
    }
    return NULL;
}

/* The fake agent serves each connection in a thread of its own, numbered
 * in the order they come (each test closes its sockets before opening the
 * next, so the numbering is the tests' own). */
static int
suite_init(void)
{
    struct sockaddr_un sun;
    size_t n;

    snprintf(agent_name, sizeof agent_name, "libsf-test-%ld", (long) getpid());
    setenv("SCAFFOLD_AGENT", agent_name, 1);
    listen_fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    n = strlen(agent_name);
    memcpy(sun.sun_path + 1, agent_name, n);
    if (bind(listen_fd, (struct sockaddr *) &sun,
             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n))
        || listen(listen_fd, 8)) {
        return 1;
    }
    return pthread_create(&agent_thread, NULL, agent_main, NULL);
}

static int
suite_clean(void)
{
    stop_agent = 1;
    pthread_join(agent_thread, NULL);
    close(listen_fd);
    return 0;
}

static void
test_argument_errors(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 80, 0 };
    char buf[8];
    int fd;

    errno = 0;
    CU_ASSERT_EQUAL(socket_sf(AF_INET, SOCK_STREAM, 0), -1);
    CU_ASSERT_EQUAL(errno, EAFNOSUPPORT);
    CU_ASSERT_EQUAL(socket_sf(AF_SCAFFOLD, SOCK_RAW, 0), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(socket_sf(AF_SCAFFOLD, SOCK_STREAM, 6), -1);
    CU_ASSERT_EQUAL(errno, EPROTONOSUPPORT);
    /* Descriptors that are not sf sockets. */
    CU_ASSERT_EQUAL(send_sf(-1, "x", 1, 0), -1);
    CU_ASSERT_EQUAL(errno, EBADF);
    CU_ASSERT_EQUAL(recv_sf(STDIN_FILENO, buf, sizeof buf, 0), -1);
    CU_ASSERT_EQUAL(errno, ENOTSOCK);
    CU_ASSERT_EQUAL(close_sf(9999, 0), -1);
    CU_ASSERT_EQUAL(errno, EBADF);
    /* A wrong family / short address. */
    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    a.sf_family = AF_INET;
    CU_ASSERT_EQUAL(bind_sf(fd, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, EAFNOSUPPORT);
    a.sf_family = AF_SCAFFOLD;
    CU_ASSERT_EQUAL(bind_sf(fd, (struct sockaddr *) &a, 4), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(send_sf(fd, "x", 1, 0), -1);
    CU_ASSERT_EQUAL(errno, ENOTCONN);
    CU_ASSERT_EQUAL(listen_sf(fd, 4), -1);          /* Not bound. */
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

static void
test_no_agent(void)
{
    setenv("SCAFFOLD_AGENT", "libsf-test-nobody-listens", 1);
    CU_ASSERT_EQUAL(socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0), -1);
    CU_ASSERT_EQUAL(errno, ECONNREFUSED);
    setenv("SCAFFOLD_AGENT", agent_name, 1);
}

static void
test_connect_refused_and_data(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 1, 0 }, got;
    socklen_t len = sizeof got;
    char buf[64];
    int fd;

    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, ECONNREFUSED);
    CU_ASSERT_EQUAL(getpeername_sf(fd, (struct sockaddr *) &got, &len), -1);
    CU_ASSERT_EQUAL(errno, ENOTCONN);
    /* Try again, to an object that answers. */
    a.sf_objectid = 3;
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a), 0);
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, EISCONN);
    len = sizeof got;
    CU_ASSERT_EQUAL(getpeername_sf(fd, (struct sockaddr *) &got, &len), 0);
    CU_ASSERT_EQUAL(got.sf_family, AF_SCAFFOLD);
    CU_ASSERT_EQUAL(got.sf_flowid, 0x0a020401);
    CU_ASSERT_EQUAL(got.sf_objectid, 80);
    len = sizeof got;
    CU_ASSERT_EQUAL(getsockname_sf(fd, (struct sockaddr *) &got, &len), 0);
    CU_ASSERT_EQUAL(got.sf_flowid & 0xffff0000u, PREFIX);

    /* Echo, and truncation like a datagram socket. */
    CU_ASSERT_EQUAL(send_sf(fd, "hello", 5, 0), 5);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), 5);
    CU_ASSERT_NSTRING_EQUAL(buf, "hello", 5);
    CU_ASSERT_EQUAL(send_sf(fd, "0123456789", 10, 0), 10);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, 4, MSG_TRUNC), 10);
    CU_ASSERT_NSTRING_EQUAL(buf, "0123", 4);
    CU_ASSERT_EQUAL(send_sf(fd, "0123456789", 10, 0), 10);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, 4, 0), 4);
    /* Too big for one datagram. */
    {
        static char big[SF_IPC_MAX_PAYLOAD + 1];
        CU_ASSERT_EQUAL(send_sf(fd, big, sizeof big, 0), -1);
        CU_ASSERT_EQUAL(errno, EMSGSIZE);
    }
    /* Over the interface's MTU (the agent announced 1452): EMSGSIZE,
     * not a datagram lost on the way. */
    {
        static char mtu[FAKE_MAX_PAYLOAD + 1];

        CU_ASSERT_EQUAL(send_sf(fd, mtu, sizeof mtu, 0), -1);
        CU_ASSERT_EQUAL(errno, EMSGSIZE);
        CU_ASSERT_EQUAL(send_sf(fd, mtu, FAKE_MAX_PAYLOAD, 0),
                        FAKE_MAX_PAYLOAD);
        CU_ASSERT_EQUAL(recv_sf(fd, mtu, sizeof mtu, 0), FAKE_MAX_PAYLOAD);
    }
    /* A reset notification surfaces as ECONNRESET, once. */
    CU_ASSERT_EQUAL(send_sf(fd, "reset-me", 8, 0), 8);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), -1);
    CU_ASSERT_EQUAL(errno, ECONNRESET);
    CU_ASSERT_EQUAL(close_sf(fd, SF_SEND_FAIL), 0);
    usleep(50000);
    CU_ASSERT_EQUAL(last_close_flags, SF_IPC_CLOSE_FAIL);
}

static void
test_nonblocking_connect(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 2, 0 };
    struct pollfd p;
    socklen_t len = sizeof(int);
    char buf[8];
    int fd, err = -1;

    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, EINPROGRESS);
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, EALREADY);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    p.fd = fd;
    p.events = POLLIN;
    CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
    CU_ASSERT_EQUAL(getsockopt_sf(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CU_ASSERT_EQUAL(err, 0);
    CU_ASSERT_EQUAL(send_sf(fd, "x", 1, 0), 1);
    CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), 1);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

static void
test_listen_accept(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 80, 0 }, peer;
    socklen_t len = sizeof peer;
    struct timeval tv = { 1, 0 };
    char buf[64];
    int l, fd, flags = 0;

    l = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_EQUAL(bind_sf(l, (struct sockaddr *) &a, sizeof a), 0);
    CU_ASSERT_EQUAL(bind_sf(l, (struct sockaddr *) &a, sizeof a), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(listen_sf(l, 8), 0);
    CU_ASSERT_EQUAL(setsockopt_sf(l, SOL_SOCKET, SO_RCVTIMEO, &tv,
                                  sizeof tv), 0);
    {
        /* The controller's confirmation, asked aside: the ACCEPT already
         * queued on the listener stays there for accept2_sf. */
        socklen_t vl = sizeof flags;

        flags = -1;
        CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, SF_SO_BOUND, &flags,
                                      &vl), 0);
        CU_ASSERT_EQUAL(flags, 1);
        CU_ASSERT_EQUAL(vl, sizeof(int));
        CU_ASSERT_EQUAL(last_bound_arg, 1);         /* Waited. */
        flags = 0;
    }
    fd = accept2_sf(l, (struct sockaddr *) &peer, &len, &flags);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(flags, SF_ACCEPT_RESUMED);
    {
        /* The accepted socket inherits the listener's limit. */
        static char mtu[FAKE_MAX_PAYLOAD + 1];

        CU_ASSERT_EQUAL(send_sf(fd, mtu, sizeof mtu, 0), -1);
        CU_ASSERT_EQUAL(errno, EMSGSIZE);
    }
    CU_ASSERT_EQUAL(peer.sf_objectid, 80);
    CU_ASSERT_EQUAL(peer.sf_flowid, 0x0a020401);
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), 7);
    CU_ASSERT_NSTRING_EQUAL(buf, "welcome", 7);
    /* PEER then CLOSED(0): the peer address follows, then EOF. */
    CU_ASSERT_EQUAL(recv_sf(fd, buf, sizeof buf, 0), 0);
    len = sizeof peer;
    CU_ASSERT_EQUAL(getpeername_sf(fd, (struct sockaddr *) &peer, &len), 0);
    CU_ASSERT_EQUAL(peer.sf_flowid, 0x0a030401);
    CU_ASSERT_EQUAL(send_sf(fd, "x", 1, 0), -1);
    CU_ASSERT_EQUAL(errno, EPIPE);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
    /* Nothing more to accept: the timeout applies. */
    CU_ASSERT_EQUAL(accept_sf(l, NULL, NULL), -1);
    CU_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
    CU_ASSERT_EQUAL(close_sf(l, 0), 0);
}

static void
test_dgram(void)
{
    struct sockaddr_sf to = { AF_SCAFFOLD, 99, 0x0a020000 }, from;
    socklen_t len = sizeof from;
    char buf[16];
    int fd;

    fd = socket_sf(AF_SCAFFOLD, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(send_sf(fd, "x", 1, 0), -1);
    CU_ASSERT_EQUAL(errno, EDESTADDRREQ);
    CU_ASSERT_EQUAL(connect_sf(fd, (struct sockaddr *) &to, sizeof to), -1);
    CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
    CU_ASSERT_EQUAL(sendto_sf(fd, "ping", 4, 0, (struct sockaddr *) &to,
                              sizeof to), 4);
    {
        static char mtu[FAKE_MAX_PAYLOAD + 1];

        CU_ASSERT_EQUAL(sendto_sf(fd, mtu, sizeof mtu, 0,
                                  (struct sockaddr *) &to, sizeof to), -1);
        CU_ASSERT_EQUAL(errno, EMSGSIZE);
    }
    /* The fake agent echoes the record with its address. */
    CU_ASSERT_EQUAL(recvfrom_sf(fd, buf, sizeof buf, 0,
                                (struct sockaddr *) &from, &len), 4);
    CU_ASSERT_EQUAL(from.sf_objectid, 99);
    CU_ASSERT_EQUAL(from.sf_flowid, 0x0a020000);
    CU_ASSERT_EQUAL(len, sizeof from);
    {
        int type = 0;
        socklen_t tl = sizeof type;
        CU_ASSERT_EQUAL(getsockopt_sf(fd, SOL_SOCKET, SO_TYPE, &type, &tl),
                        0);
        CU_ASSERT_EQUAL(type, SOCK_DGRAM);
        CU_ASSERT_EQUAL(getsockopt_sf(fd, SOL_SOCKET, SO_KEEPALIVE, &type,
                                      &tl), -1);
        CU_ASSERT_EQUAL(errno, ENOPROTOOPT);
    }
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

struct blaster {
    int fd;
    int id;
    int sent;
};

static void *
blast_thread(void *arg)
{
    struct blaster *b = arg;
    char msg[32];
    int i;

    for (i = 0; i < 2000; i++) {
        int n = snprintf(msg, sizeof msg, "t%d-%d", b->id, i);
        if (send_sf(b->fd, msg, (size_t) n, 0) == n) {
            b->sent++;
        }
    }
    return NULL;
}

static void
test_threads(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 3, 0 };
    struct blaster b[4];
    pthread_t t[4];
    int seen[4] = { 0, 0, 0, 0 }, next[4] = { 0, 0, 0, 0 };
    int fd, i, total = 0, in_order = 1;
    char buf[64];

    /* Four threads send on one descriptor while this one receives the
     * echoes: every datagram arrives whole, each thread's in its order. */
    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a),
                          0);
    for (i = 0; i < 4; i++) {
        b[i].fd = fd;
        b[i].id = i;
        b[i].sent = 0;
        pthread_create(&t[i], NULL, blast_thread, &b[i]);
    }
    while (total < 8000) {
        int id, k;
        ssize_t r = recv_sf(fd, buf, sizeof buf - 1, 0);

        if (r <= 0) {
            break;
        }
        buf[r] = '\0';
        if (sscanf(buf, "t%d-%d", &id, &k) != 2 || id < 0 || id > 3) {
            CU_FAIL("garbled datagram");
            break;
        }
        in_order &= k == next[id];
        next[id] = k + 1;
        seen[id]++;
        total++;
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(b[i].sent, 2000);
        CU_ASSERT_EQUAL(seen[i], 2000);
    }
    CU_ASSERT_TRUE(in_order);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

static void
fill_mmsg(struct mmsghdr *mm, struct iovec *iov, void *buf, size_t len)
{
    memset(mm, 0, sizeof *mm);
    iov->iov_base = buf;
    iov->iov_len = len;
    mm->msg_hdr.msg_iov = iov;
    mm->msg_hdr.msg_iovlen = 1;
}

static void
test_batches(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 3, 0 };
    static char big[FAKE_MAX_PAYLOAD + 1];
    char in[8][64], part1[] = "gat", part2[] = "hered";
    const char *words[] = { "one", "two", NULL, "three" };
    struct mmsghdr mm[8];
    struct iovec iov[8], two[2];
    int fd, i;

    fd = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(connect_sf(fd, (struct sockaddr *) &a, sizeof a),
                          0);
    /* The first recvmmsg_sf asks the agent for batches. */
    for (i = 0; i < 8; i++) {
        fill_mmsg(&mm[i], &iov[i], in[i], sizeof in[i]);
    }
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 8, MSG_DONTWAIT), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);

    /* Four datagrams in one IPC message: the third gathered from two
     * buffers; a fifth over the MTU ends the batch before it. */
    for (i = 0; i < 4; i++) {
        if (words[i]) {
            fill_mmsg(&mm[i], &iov[i], (void *) words[i], strlen(words[i]));
        }
    }
    memset(&mm[2], 0, sizeof mm[2]);
    two[0].iov_base = part1;
    two[0].iov_len = 3;
    two[1].iov_base = part2;
    two[1].iov_len = 5;
    mm[2].msg_hdr.msg_iov = two;
    mm[2].msg_hdr.msg_iovlen = 2;
    fill_mmsg(&mm[4], &iov[4], big, sizeof big);
    CU_ASSERT_EQUAL(sendmmsg_sf(fd, mm, 5, 0), 4);
    CU_ASSERT_EQUAL(mm[2].msg_len, 8);
    CU_ASSERT_EQUAL(sendmmsg_sf(fd, &mm[4], 1, 0), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);
    usleep(20000);
    CU_ASSERT_EQUAL(last_batch_arg, 8);

    /* Echoed as one message: all four in one call, the last one
     * truncated to a 4-byte buffer. */
    for (i = 0; i < 8; i++) {
        fill_mmsg(&mm[i], &iov[i], in[i], i == 3 ? 4 : sizeof in[i]);
    }
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 8, 0), 4);
    CU_ASSERT_EQUAL(mm[0].msg_len, 3);
    CU_ASSERT_NSTRING_EQUAL(in[0], "one", 3);
    CU_ASSERT_EQUAL(mm[2].msg_len, 8);
    CU_ASSERT_NSTRING_EQUAL(in[2], "gathered", 8);
    CU_ASSERT_EQUAL(mm[3].msg_len, 4);
    CU_ASSERT(mm[3].msg_hdr.msg_flags & MSG_TRUNC);
    CU_ASSERT_NSTRING_EQUAL(in[3], "thre", 4);

    /* A batch read partly by recvmmsg_sf, the rest by recv_sf. */
    for (i = 0; i < 3; i++) {
        fill_mmsg(&mm[i], &iov[i], (char *) "abc" + i, 1);
    }
    CU_ASSERT_EQUAL(sendmmsg_sf(fd, mm, 3, 0), 3);
    fill_mmsg(&mm[0], &iov[0], in[0], sizeof in[0]);
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 1, 0), 1);
    CU_ASSERT_EQUAL(in[0][0], 'a');
    CU_ASSERT_EQUAL(recv_sf(fd, in[1], sizeof in[1], MSG_DONTWAIT), 1);
    CU_ASSERT_EQUAL(in[1][0], 'b');
    CU_ASSERT_EQUAL(recv_sf(fd, in[1], sizeof in[1], MSG_DONTWAIT), 1);
    CU_ASSERT_EQUAL(in[1][0], 'c');
    CU_ASSERT_EQUAL(recv_sf(fd, in[1], sizeof in[1], MSG_DONTWAIT), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    /* A single datagram still works both ways in batched mode. */
    CU_ASSERT_EQUAL(send_sf(fd, "solo", 4, 0), 4);
    CU_ASSERT_EQUAL(recv_sf(fd, in[0], sizeof in[0], 0), 4);
    /* Notifications keep their effect. */
    CU_ASSERT_EQUAL(send_sf(fd, "reset-me", 8, 0), 8);
    fill_mmsg(&mm[0], &iov[0], in[0], sizeof in[0]);
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 1, 0), -1);
    CU_ASSERT_EQUAL(errno, ECONNRESET);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

static void
test_dgram_batches(void)
{
    struct sockaddr_sf to[2] = { { AF_SCAFFOLD, 99, 0x0a020000 },
                                 { AF_SCAFFOLD, 98, 0x0a030000 } };
    struct sockaddr_sf from[2];
    struct mmsghdr mm[2];
    struct iovec iov[2];
    char in[2][16];
    int fd, i;

    fd = socket_sf(AF_SCAFFOLD, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    fill_mmsg(&mm[0], &iov[0], in[0], sizeof in[0]);
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 2, MSG_DONTWAIT), -1);
    for (i = 0; i < 2; i++) {
        fill_mmsg(&mm[i], &iov[i], (void *) (i ? "p2" : "p1"), 2);
    }
    /* No destination: EDESTADDRREQ. */
    CU_ASSERT_EQUAL(sendmmsg_sf(fd, mm, 2, 0), -1);
    CU_ASSERT_EQUAL(errno, EDESTADDRREQ);
    for (i = 0; i < 2; i++) {
        mm[i].msg_hdr.msg_name = &to[i];
        mm[i].msg_hdr.msg_namelen = sizeof to[i];
    }
    CU_ASSERT_EQUAL(sendmmsg_sf(fd, mm, 2, 0), 2);
    for (i = 0; i < 2; i++) {
        fill_mmsg(&mm[i], &iov[i], in[i], sizeof in[i]);
        mm[i].msg_hdr.msg_name = &from[i];
        mm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    CU_ASSERT_EQUAL(recvmmsg_sf(fd, mm, 2, 0), 2);
    CU_ASSERT_EQUAL(from[0].sf_objectid, 99);
    CU_ASSERT_EQUAL(from[1].sf_flowid, 0x0a030000);
    CU_ASSERT_NSTRING_EQUAL(in[1], "p2", 2);
    CU_ASSERT_EQUAL(close_sf(fd, 0), 0);
}

static void
test_bound(void)
{
    struct sockaddr_sf a = { AF_SCAFFOLD, 81, 0 };
    socklen_t vl = sizeof(int);
    int l, v = -1;

    /* Not a listener (yet): no question to ask. */
    l = socket_sf(AF_SCAFFOLD, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, SF_SO_BOUND, &v, &vl),
                    -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, 99, &v, &vl), -1);
    CU_ASSERT_EQUAL(errno, ENOPROTOOPT);
    vl = 2;
    CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, SF_SO_BOUND, &v, &vl),
                    -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    /* Refused by the controller: the refusal is the error. */
    vl = sizeof v;
    CU_ASSERT_EQUAL(bind_sf(l, (struct sockaddr *) &a, sizeof a), 0);
    CU_ASSERT_EQUAL(listen_sf(l, 8), 0);
    CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, SF_SO_BOUND, &v, &vl),
                    -1);
    CU_ASSERT_EQUAL(errno, EADDRINUSE);
    CU_ASSERT_EQUAL(close_sf(l, 0), 0);
    /* Non-blocking: asked for the state now (arg 0), "not yet". */
    a.sf_objectid = 82;
    l = socket_sf(AF_SCAFFOLD, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_EQUAL(bind_sf(l, (struct sockaddr *) &a, sizeof a), 0);
    CU_ASSERT_EQUAL(listen_sf(l, 8), 0);
    v = -1;
    CU_ASSERT_EQUAL(getsockopt_sf(l, SOL_SCAFFOLD, SF_SO_BOUND, &v, &vl),
                    0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(last_bound_arg, 0);
    CU_ASSERT_EQUAL(close_sf(l, 0), 0);
}

static CU_TestInfo socket_tests[] = {
    { "argument errors", test_argument_errors },
    { "no agent", test_no_agent },
    { "connect refused, then data", test_connect_refused_and_data },
    { "non-blocking connect", test_nonblocking_connect },
    { "listen, accept (fd passing), notifications", test_listen_accept },
    { "SF_SO_BOUND: controller's confirmation", test_bound },
    { "datagram socket", test_dgram },
    { "threads sharing a descriptor", test_threads },
    { "sendmmsg_sf / recvmmsg_sf", test_batches },
    { "batches on a datagram socket", test_dgram_batches },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "socket", suite_init, suite_clean, NULL, NULL, socket_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("libsf_socket", suites);
}
