/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsf: the sf socket calls (<sf/socket.h>) on top of the IPC protocol of
 * libsf/ipc.h.
 *
 * Every sf socket is one SOCK_SEQPACKET connection to the host's agent; the
 * descriptor the application holds is that connection.  Per descriptor the
 * library keeps a small struct sf_sock (type, state, cached local and peer
 * addresses, a pending error) in a table indexed by descriptor.  Requests
 * (OPEN, BIND, LISTEN, CONNECT) are synchronous request/REPLY exchanges made
 * before any data can flow, so replies never interleave with data; after
 * that the agent only sends DATA, ACCEPT and notifications (PEER, LOCAL,
 * CLOSED), which recv_sf/accept_sf consume, updating the cache.
 *
 * The data path copies nothing in user space: send_sf writes the 24-byte
 * IPC header and the caller's buffer with one sendmsg (two iovecs), and
 * recv_sf reads the header and the payload straight into the caller's
 * buffer with one recvmsg.  sendmmsg_sf gathers up to SF_IPC_BATCH_MAX
 * datagrams into one DATA message the same way (iovecs: header, then per
 * record padding, record header, the caller's buffers).  recvmmsg_sf
 * switches the socket to batched delivery (BATCH to the agent, once):
 * from then on messages are read into the socket's 'rbuf' and each
 * datagram is copied once from there into the caller's buffers, by
 * recvmmsg_sf and recv_sf alike.
 *
 * Locking: 'tab_lock' protects the table; each sf_sock's 'lock' serialises
 * requests and protects its fields.  No lock is held across a blocking
 * recvmsg on the data path.
 */
#include <sf/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "libsf/ipc.h"

/* iovecs of one batched DATA message (header, then per record: padding,
 * record header, the caller's buffers); below the kernel's IOV_MAX. */
#define SF_SEND_IOV_MAX 1024

enum sf_state {
    SF_S_OPEN,                  /* Created (maybe bound). */
    SF_S_LISTEN,
    SF_S_CONNECTING,            /* Non-blocking connect under way. */
    SF_S_CONNECTED,
};

struct sf_sock {
    pthread_mutex_t lock;
    int type;                   /* SOCK_STREAM or SOCK_DGRAM. */
    enum sf_state state;
    bool bound;
    bool eof;                   /* Peer closed. */
    int error;                  /* Pending error (positive errno), 0. */
    struct sf_ipc_addr local;
    struct sf_ipc_addr peer;
    size_t max_payload;         /* Largest datagram (agent's answer). */
    /* Batched receive (after the first recvmmsg_sf): the agent may pack
     * several datagrams per message; the ones not handed out yet wait in
     * 'rbuf'.  'rlock' serialises receivers in this mode. */
    pthread_mutex_t rlock;
    bool batch;
    uint8_t *rbuf;              /* SF_IPC_BATCH_BYTES. */
    struct sf_ipc_iter rit;     /* Records left in 'rbuf'. */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sf_sock **tab;
static size_t tab_n;

static struct sf_sock *sf_lookup(int fd);
static int sf_register(int fd, struct sf_sock *);
static void sf_unregister(int fd);
static struct sf_sock *sf_sock_new(int type);
static void sf_sock_free(struct sf_sock *);
static int sf_send_check(int fd, struct sf_sock *);
static int sf_recv_check(int fd, struct sf_sock *);
static int sf_next_rec(int fd, struct sf_sock *, int flags,
                       struct sf_ipc_rec *);
static size_t sf_scatter(const struct sf_ipc_rec *, const struct iovec *,
                         size_t iovlen, int *msg_flags);
static int sf_request(int fd, struct sf_sock *, enum sf_ipc_type, int32_t arg,
                      const struct sf_ipc_addr *, struct sf_ipc_msg *,
                      uint8_t *buf, int timeout_ms);
static int sf_wait_msg(int fd, uint8_t *buf, size_t size, int timeout_ms,
                       struct sf_ipc_msg *);
static int sf_finish_connect(int fd, struct sf_sock *, bool block);
static void sf_notify(struct sf_sock *, const struct sf_ipc_msg *);
static int sf_get_addr(const struct sockaddr *, socklen_t,
                       struct sf_ipc_addr *);
static void sf_put_addr(const struct sf_ipc_addr *, struct sockaddr *,
                        socklen_t *);
static int sf_timeout_ms(int fd, int opt);
static int sf_agent_connect(int flags);
static int sf_bound(int fd, struct sf_sock *, int *val);
static int sf_fail(int error);
static ssize_t sf_recv(int fd, void *buf, size_t len, int flags,
                       struct sf_ipc_addr *from);
static ssize_t sf_send(int fd, struct sf_sock *, const void *buf, size_t len,
                       int flags, const struct sf_ipc_addr *to);

int
socket_sf(int domain, int type, int protocol)
{
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct sf_ipc_msg m;
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_sock *s;
    int fd, error;

    if (domain != AF_SCAFFOLD) {
        return sf_fail(EAFNOSUPPORT);
    }
    if (base != SOCK_STREAM && base != SOCK_DGRAM) {
        return sf_fail(EINVAL);
    }
    if (protocol) {
        return sf_fail(EPROTONOSUPPORT);
    }
    fd = sf_agent_connect(type & SOCK_CLOEXEC);
    if (fd < 0) {
        return sf_fail(-fd);
    }
    s = sf_sock_new(base);
    if (!s) {
        close(fd);
        return sf_fail(ENOMEM);
    }
    error = sf_request(fd, s, SF_IPC_OPEN,
                       base == SOCK_STREAM ? SF_IPC_SOCK_STREAM
                                           : SF_IPC_SOCK_DGRAM,
                       NULL, &m, buf, -1);
    if (!error && m.n_addrs >= 1) {
        s->local = m.addr[0];
    }
    if (!error && m.arg > 0 && m.arg <= SF_IPC_MAX_PAYLOAD) {
        s->max_payload = (size_t) m.arg;
    }
    if (!error && (type & SOCK_NONBLOCK)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            error = errno;
        }
    }
    if (!error) {
        error = sf_register(fd, s);
    }
    if (error) {
        sf_sock_free(s);
        close(fd);
        return sf_fail(error);
    }
    return fd;
}

int
bind_sf(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sf_sock *s = sf_lookup(fd);
    struct sf_ipc_addr a;
    struct sf_ipc_msg m;
    uint8_t buf[SF_IPC_CTL_MAX];
    int error;

    if (!s) {
        return -1;
    }
    error = sf_get_addr(addr, len, &a);
    if (error) {
        return sf_fail(error);
    }
    pthread_mutex_lock(&s->lock);
    if (s->bound || s->state != SF_S_OPEN) {
        error = EINVAL;
    } else {
        error = sf_request(fd, s, SF_IPC_BIND, 0, &a, &m, buf, -1);
        if (!error) {
            s->bound = true;
            if (m.n_addrs >= 1) {
                s->local = m.addr[0];
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return error ? sf_fail(error) : 0;
}

int
listen_sf(int fd, int backlog)
{
    struct sf_sock *s = sf_lookup(fd);
    struct sf_ipc_msg m;
    uint8_t buf[SF_IPC_CTL_MAX];
    int error;

    if (!s) {
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    if (s->type != SOCK_STREAM) {
        error = EOPNOTSUPP;
    } else if (s->state == SF_S_LISTEN) {
        error = 0;
    } else if (!s->bound || s->state != SF_S_OPEN) {
        error = EINVAL;
    } else {
        error = sf_request(fd, s, SF_IPC_LISTEN, backlog < 0 ? 0 : backlog,
                           NULL, &m, buf, -1);
        if (!error) {
            s->state = SF_S_LISTEN;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return error ? sf_fail(error) : 0;
}

int
accept_sf(int fd, struct sockaddr *addr, socklen_t *len)
{
    return accept2_sf(fd, addr, len, NULL);
}

int
accept2_sf(int fd, struct sockaddr *addr, socklen_t *len, int *flags)
{
    struct sf_sock *s = sf_lookup(fd), *n;
    uint8_t buf[SF_IPC_CTL_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { buf, sizeof buf };
    struct msghdr mh;
    struct cmsghdr *cm;
    struct sf_ipc_msg m;
    ssize_t r;
    int nfd;

    if (!s) {
        return -1;
    }
    if (s->state != SF_S_LISTEN) {
        return sf_fail(EINVAL);
    }
    for (;;) {
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            return sf_fail(EPIPE);          /* The agent went away. */
        }
        nfd = -1;
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
                && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
                memcpy(&nfd, CMSG_DATA(cm), sizeof nfd);
            }
        }
        if (sf_ipc_decode(buf, (size_t) r, &m) || m.type != SF_IPC_ACCEPT) {
            if (nfd >= 0) {
                close(nfd);
            }
            if (!sf_ipc_decode(buf, (size_t) r, &m)) {
                pthread_mutex_lock(&s->lock);
                sf_notify(s, &m);
                pthread_mutex_unlock(&s->lock);
            }
            continue;
        }
        if (nfd < 0) {
            /* The descriptor did not fit (MSG_CTRUNC): out of fds. */
            return sf_fail(EMFILE);
        }
        n = sf_sock_new(SOCK_STREAM);
        if (!n) {
            close(nfd);
            return sf_fail(ENOMEM);
        }
        n->state = SF_S_CONNECTED;
        n->bound = true;
        n->max_payload = s->max_payload;
        n->local = m.addr[0];
        n->peer = m.addr[1];
        if (sf_register(nfd, n)) {
            sf_sock_free(n);
            close(nfd);
            return sf_fail(ENOMEM);
        }
        if (addr && len) {
            sf_put_addr(&n->peer, addr, len);
        }
        if (flags) {
            *flags = m.arg & SF_IPC_ACCEPT_RESUMED ? SF_ACCEPT_RESUMED : 0;
        }
        return nfd;
    }
}

int
connect_sf(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sf_sock *s = sf_lookup(fd);
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_ipc_addr a;
    int error, fl;

    if (!s) {
        return -1;
    }
    error = sf_get_addr(addr, len, &a);
    if (error) {
        return sf_fail(error);
    }
    if (s->type != SOCK_STREAM) {
        return sf_fail(EOPNOTSUPP);
    }
    fl = fcntl(fd, F_GETFL);
    pthread_mutex_lock(&s->lock);
    switch (s->state) {
    case SF_S_CONNECTED:
        error = EISCONN;
        break;
    case SF_S_LISTEN:
        error = EINVAL;
        break;
    case SF_S_CONNECTING:
        error = sf_finish_connect(fd, s, false);
        if (!error && s->state == SF_S_CONNECTING) {
            error = EALREADY;
        } else if (!error) {
            error = EISCONN;
        }
        break;
    case SF_S_OPEN: {
        size_t n = sf_ipc_encode(buf, sizeof buf, SF_IPC_CONNECT, 0, &a, 1);

        if (send(fd, buf, n, MSG_NOSIGNAL) < 0) {
            error = errno;
            break;
        }
        s->state = SF_S_CONNECTING;
        if (fl >= 0 && (fl & O_NONBLOCK)) {
            error = EINPROGRESS;
            break;
        }
        error = sf_finish_connect(fd, s, true);
        break;
    }
    }
    pthread_mutex_unlock(&s->lock);
    return error ? sf_fail(error) : 0;
}

ssize_t
send_sf(int fd, const void *buf, size_t len, int flags)
{
    return sendto_sf(fd, buf, len, flags, NULL, 0);
}

ssize_t
sendto_sf(int fd, const void *buf, size_t len, int flags,
          const struct sockaddr *addr, socklen_t alen)
{
    struct sf_sock *s = sf_lookup(fd);
    struct sf_ipc_addr a;
    int error;

    if (!s) {
        return -1;
    }
    if (s->type == SOCK_DGRAM) {
        if (!addr) {
            return sf_fail(EDESTADDRREQ);
        }
        error = sf_get_addr(addr, alen, &a);
        if (error) {
            return sf_fail(error);
        }
        return sf_send(fd, s, buf, len, flags, &a);
    }
    if (addr) {
        return sf_fail(EISCONN);
    }
    error = sf_send_check(fd, s);
    if (error) {
        return sf_fail(error);
    }
    return sf_send(fd, s, buf, len, flags, NULL);
}

int
sendmmsg_sf(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
    static const uint8_t zero[4];
    struct sf_sock *s = sf_lookup(fd);
    uint8_t hdr[SF_IPC_HDR_LEN];
    uint8_t rec[SF_IPC_BATCH_MAX][SF_IPC_REC_LEN];
    struct iovec iov[SF_SEND_IOV_MAX];
    unsigned int sent = 0;
    int error = 0;

    if (!s) {
        return -1;
    }
    if (flags & ~MSG_DONTWAIT || (vlen && !msgs)) {
        return sf_fail(EINVAL);
    }
    if (s->type == SOCK_STREAM) {
        error = sf_send_check(fd, s);
        if (error) {
            return sf_fail(error);
        }
    }
    while (sent < vlen && !error) {
        unsigned int count = 0, i;
        size_t bytes = SF_IPC_HDR_LEN, prev = 0, niov = 1;
        struct msghdr mh;

        for (i = sent; i < vlen && count < SF_IPC_BATCH_MAX; i++) {
            const struct msghdr *m = &msgs[i].msg_hdr;
            struct sf_ipc_addr a = { 0, 0 };
            size_t len = 0, pad = count ? (4 - (prev & 3)) & 3 : 0, k;

            for (k = 0; k < m->msg_iovlen; k++) {
                len += m->msg_iov[k].iov_len;
            }
            if (s->type == SOCK_DGRAM) {
                error = m->msg_name ? sf_get_addr(m->msg_name,
                                                  m->msg_namelen, &a)
                                    : EDESTADDRREQ;
            } else if (m->msg_name) {
                error = EISCONN;
            }
            if (!error && len > s->max_payload) {
                error = EMSGSIZE;
            }
            if (error) {
                break;          /* Send what came before it. */
            }
            if (niov + 2 + m->msg_iovlen > SF_SEND_IOV_MAX
                || (count && bytes + pad + SF_IPC_REC_LEN + len
                             > SF_IPC_BATCH_BYTES)) {
                break;
            }
            if (pad) {
                iov[niov].iov_base = (void *) zero;
                iov[niov++].iov_len = pad;
            }
            sf_ipc_encode_rec_hdr(rec[count], &a, len);
            iov[niov].iov_base = rec[count];
            iov[niov++].iov_len = SF_IPC_REC_LEN;
            for (k = 0; k < m->msg_iovlen; k++) {
                iov[niov++] = m->msg_iov[k];
            }
            bytes += pad + SF_IPC_REC_LEN + len;
            prev = len;
            count++;
        }
        if (!count) {
            break;
        }
        sf_ipc_encode_data_msg_hdr(hdr, count);
        iov[0].iov_base = hdr;
        iov[0].iov_len = sizeof hdr;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = niov;
        if (sendmsg(fd, &mh, MSG_NOSIGNAL | (flags & MSG_DONTWAIT)) < 0) {
            error = errno;
            break;
        }
        for (i = sent; i < sent + count; i++) {
            size_t k, len = 0;

            for (k = 0; k < msgs[i].msg_hdr.msg_iovlen; k++) {
                len += msgs[i].msg_hdr.msg_iov[k].iov_len;
            }
            msgs[i].msg_len = (unsigned int) len;
        }
        sent += count;
    }
    if (!sent && error) {
        return sf_fail(error);
    }
    return (int) sent;
}

ssize_t
recv_sf(int fd, void *buf, size_t len, int flags)
{
    return sf_recv(fd, buf, len, flags, NULL);
}

ssize_t
recvfrom_sf(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
            socklen_t *alen)
{
    struct sf_ipc_addr from;
    ssize_t r = sf_recv(fd, buf, len, flags, &from);

    if (r >= 0 && addr && alen) {
        sf_put_addr(&from, addr, alen);
    }
    return r;
}

int
recvmmsg_sf(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
    struct sf_sock *s = sf_lookup(fd);
    unsigned int n = 0;

    if (!s) {
        return -1;
    }
    if (flags & ~(MSG_DONTWAIT | MSG_TRUNC) || (vlen && !msgs)) {
        return sf_fail(EINVAL);
    }
    if (!vlen) {
        return 0;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->batch) {
        /* From now on the agent may pack datagrams. */
        uint8_t buf[SF_IPC_CTL_MAX];
        size_t len = sf_ipc_encode(buf, sizeof buf, SF_IPC_BATCH,
                                   vlen < SF_IPC_BATCH_MAX
                                   ? (int32_t) vlen : SF_IPC_BATCH_MAX,
                                   NULL, 0);

        s->rbuf = malloc(SF_IPC_BATCH_BYTES);
        if (!s->rbuf) {
            pthread_mutex_unlock(&s->lock);
            return sf_fail(ENOMEM);
        }
        memset(&s->rit, 0, sizeof s->rit);
        if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
            int e = errno;

            free(s->rbuf);
            s->rbuf = NULL;
            pthread_mutex_unlock(&s->lock);
            return sf_fail(e);
        }
        s->batch = true;
    }
    pthread_mutex_unlock(&s->lock);

    for (;;) {
        int error = sf_recv_check(fd, s), e = 0;

        if (error < 0) {
            return 0;           /* The peer closed. */
        }
        if (error) {
            return sf_fail(error);
        }
        pthread_mutex_lock(&s->rlock);
        while (n < vlen) {
            struct msghdr *m = &msgs[n].msg_hdr;
            struct sf_ipc_rec rec;
            size_t got;

            /* Wait for the first datagram only. */
            e = sf_next_rec(fd, s, n ? MSG_DONTWAIT : flags, &rec);
            if (e) {
                break;
            }
            m->msg_flags = 0;
            got = sf_scatter(&rec, m->msg_iov, m->msg_iovlen, &m->msg_flags);
            msgs[n].msg_len = (unsigned int) (flags & MSG_TRUNC ? rec.len
                                                                : got);
            if (m->msg_name) {
                struct sf_ipc_addr from = rec.addr;

                if (s->type == SOCK_STREAM) {
                    pthread_mutex_lock(&s->lock);
                    from = s->peer;
                    pthread_mutex_unlock(&s->lock);
                }
                sf_put_addr(&from, m->msg_name, &m->msg_namelen);
            }
            m->msg_controllen = 0;
            n++;
        }
        pthread_mutex_unlock(&s->rlock);
        if (n) {
            return (int) n;     /* Errors wait for the next call. */
        }
        if (e < 0) {
            return sf_fail(-e);
        }
        /* e > 0: a notification; check the state again. */
    }
}

int
close_sf(int fd, int flags)
{
    struct sf_sock *s = sf_lookup(fd);
    uint8_t buf[SF_IPC_CTL_MAX];
    size_t n;

    if (!s) {
        return -1;
    }
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_CLOSE,
                      flags & SF_SEND_FAIL ? SF_IPC_CLOSE_FAIL : 0, NULL, 0);
    /* Best effort: without it the agent still sees the connection close
     * and aborts the socket. */
    (void) send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    sf_unregister(fd);
    close(fd);
    return flags & ~SF_SEND_FAIL ? sf_fail(EINVAL) : 0;
}

int
getsockname_sf(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct sf_sock *s = sf_lookup(fd);

    if (!s) {
        return -1;
    }
    if (!addr || !len) {
        return sf_fail(EFAULT);
    }
    pthread_mutex_lock(&s->lock);
    sf_put_addr(&s->local, addr, len);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int
getpeername_sf(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct sf_sock *s = sf_lookup(fd);
    int error = 0;

    if (!s) {
        return -1;
    }
    if (!addr || !len) {
        return sf_fail(EFAULT);
    }
    pthread_mutex_lock(&s->lock);
    if (s->state != SF_S_CONNECTED) {
        error = ENOTCONN;
    } else {
        sf_put_addr(&s->peer, addr, len);
    }
    pthread_mutex_unlock(&s->lock);
    return error ? sf_fail(error) : 0;
}

int
setsockopt_sf(int fd, int level, int name, const void *val, socklen_t len)
{
    if (!sf_lookup(fd)) {
        return -1;
    }
    if (level != SOL_SOCKET) {
        return sf_fail(ENOPROTOOPT);
    }
    switch (name) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO:
    case SO_RCVBUF:
    case SO_SNDBUF:
        /* The descriptor is the IPC connection: its own options apply. */
        return setsockopt(fd, level, name, val, len);
    default:
        return sf_fail(ENOPROTOOPT);
    }
}

int
getsockopt_sf(int fd, int level, int name, void *val, socklen_t *len)
{
    struct sf_sock *s = sf_lookup(fd);
    int v;

    if (!s) {
        return -1;
    }
    if (level == SOL_SCAFFOLD && name == SF_SO_BOUND) {
        int error;

        if (!val || !len || *len < (socklen_t) sizeof(int)) {
            return sf_fail(EINVAL);
        }
        error = sf_bound(fd, s, &v);
        if (error) {
            return sf_fail(error);
        }
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    if (level != SOL_SOCKET) {
        return sf_fail(ENOPROTOOPT);
    }
    switch (name) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO:
    case SO_RCVBUF:
    case SO_SNDBUF:
        return getsockopt(fd, level, name, val, len);
    case SO_ERROR:
    case SO_TYPE:
        if (!val || !len || *len < (socklen_t) sizeof(int)) {
            return sf_fail(EINVAL);
        }
        pthread_mutex_lock(&s->lock);
        if (name == SO_TYPE) {
            v = s->type;
        } else {
            if (s->state == SF_S_CONNECTING) {
                int e = sf_finish_connect(fd, s, false);
                if (e) {
                    s->error = e;
                }
            }
            v = s->error;
            s->error = 0;
        }
        pthread_mutex_unlock(&s->lock);
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    default:
        return sf_fail(ENOPROTOOPT);
    }
}

/* ---- static functions ------------------------------------------------ */

static int
sf_fail(int error)
{
    errno = error;
    return -1;
}

static struct sf_sock *
sf_lookup(int fd)
{
    struct sf_sock *s = NULL;

    pthread_mutex_lock(&tab_lock);
    if (fd >= 0 && (size_t) fd < tab_n) {
        s = tab[fd];
    }
    pthread_mutex_unlock(&tab_lock);
    if (!s) {
        errno = fd < 0 || fcntl(fd, F_GETFD) < 0 ? EBADF : ENOTSOCK;
    }
    return s;
}

static int
sf_register(int fd, struct sf_sock *s)
{
    int error = 0;

    pthread_mutex_lock(&tab_lock);
    if ((size_t) fd >= tab_n) {
        size_t n = tab_n ? tab_n : 64;
        struct sf_sock **t;

        while (n <= (size_t) fd) {
            n *= 2;
        }
        t = realloc(tab, n * sizeof *t);
        if (!t) {
            error = ENOMEM;
        } else {
            memset(t + tab_n, 0, (n - tab_n) * sizeof *t);
            tab = t;
            tab_n = n;
        }
    }
    if (!error) {
        tab[fd] = s;
    }
    pthread_mutex_unlock(&tab_lock);
    return error;
}

static void
sf_unregister(int fd)
{
    struct sf_sock *s = NULL;

    pthread_mutex_lock(&tab_lock);
    if (fd >= 0 && (size_t) fd < tab_n) {
        s = tab[fd];
        tab[fd] = NULL;
    }
    pthread_mutex_unlock(&tab_lock);
    sf_sock_free(s);
}

static void
sf_sock_free(struct sf_sock *s)
{
    if (s) {
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->rlock);
        free(s->rbuf);
        free(s);
    }
}

static struct sf_sock *
sf_sock_new(int type)
{
    struct sf_sock *s = calloc(1, sizeof *s);

    if (s) {
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->rlock, NULL);
        s->type = type;
        s->state = SF_S_OPEN;
        s->max_payload = SF_IPC_MAX_PAYLOAD;
    }
    return s;
}

/* Sends request 'type' and waits for its REPLY into '*m' (pointing into
 * 'buf', SF_IPC_CTL_MAX bytes); notifications on the way update 's' (may
 * be NULL on a one-shot connection).  Returns 0 or a positive errno (the
 * agent's answer or a local failure). */
static int
sf_request(int fd, struct sf_sock *s, enum sf_ipc_type type, int32_t arg,
           const struct sf_ipc_addr *a, struct sf_ipc_msg *m, uint8_t *buf,
           int timeout_ms)
{
    size_t n = sf_ipc_encode(buf, SF_IPC_CTL_MAX, type, arg, a, a ? 1 : 0);
    int error;

    if (send(fd, buf, n, MSG_NOSIGNAL) < 0) {
        return errno;
    }
    for (;;) {
        error = sf_wait_msg(fd, buf, SF_IPC_CTL_MAX, timeout_ms, m);
        if (error) {
            return error;
        }
        if (m->type == SF_IPC_REPLY) {
            return m->arg < 0 ? -m->arg : 0;
        }
        if (s) {
            sf_notify(s, m);
        }
    }
}

/* Waits up to 'timeout_ms' (-1: forever) for one message, whatever the
 * descriptor's O_NONBLOCK.  Returns 0 and '*m', ETIMEDOUT, EPIPE (agent
 * gone), EBADMSG or another errno. */
static int
sf_wait_msg(int fd, uint8_t *buf, size_t size, int timeout_ms,
            struct sf_ipc_msg *m)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    ssize_t r;
    int n;

    for (;;) {
        n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            return ETIMEDOUT;
        }
        r = recv(fd, buf, size, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (r < 0) {
            return errno;
        }
        if (r == 0) {
            return EPIPE;
        }
        return sf_ipc_decode(buf, (size_t) r, m) ? EBADMSG : 0;
    }
}

/* Reads the CONNECT reply (waiting if 'block').  Returns 0 (s->state tells
 * whether the connection is up or still under way) or a positive errno
 * (the connection failed; the socket is back to unconnected). */
static int
sf_finish_connect(int fd, struct sf_sock *s, bool block)
{
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_ipc_msg m;
    int error;

    for (;;) {
        error = sf_wait_msg(fd, buf, sizeof buf,
                            block ? sf_timeout_ms(fd, SO_SNDTIMEO) : 0, &m);
        if (error == ETIMEDOUT && !block) {
            return 0;
        }
        if (error) {
            /* The request is still pending in the agent on a timeout;
             * the socket is unusable for another connect. */
            return error;
        }
        if (m.type != SF_IPC_REPLY) {
            sf_notify(s, &m);
            continue;
        }
        if (m.arg < 0) {
            s->state = SF_S_OPEN;
            return -m.arg;
        }
        s->state = SF_S_CONNECTED;
        s->bound = true;
        if (m.arg > 0 && m.arg <= SF_IPC_MAX_PAYLOAD) {
            s->max_payload = (size_t) m.arg;
        }
        if (m.n_addrs == 2) {
            s->local = m.addr[0];
            s->peer = m.addr[1];
        }
        return 0;
    }
}

/* Applies a notification from the agent (caller holds s->lock). */
static void
sf_notify(struct sf_sock *s, const struct sf_ipc_msg *m)
{
    switch (m->type) {
    case SF_IPC_PEER:
        s->peer = m->addr[0];
        break;
    case SF_IPC_LOCAL:
        s->local = m->addr[0];
        break;
    case SF_IPC_CLOSED:
        if (m->arg < 0) {
            s->error = -m->arg;
        } else {
            s->eof = true;
        }
        break;
    case SF_IPC_REPLY:
        if (m->arg < 0) {
            s->error = -m->arg;
        }
        break;
    default:
        break;
    }
}

static ssize_t
sf_recv(int fd, void *buf, size_t len, int flags, struct sf_ipc_addr *from)
{
    struct sf_sock *s = sf_lookup(fd);
    uint8_t hdr[SF_IPC_DATA_OFF];
    struct iovec iov[2];
    struct msghdr mh;
    struct sf_ipc_msg m;
    ssize_t r;

    if (!s) {
        return -1;
    }
    if (flags & ~(MSG_DONTWAIT | MSG_TRUNC)) {
        return sf_fail(EINVAL);
    }
    for (;;) {
        int error = sf_recv_check(fd, s);

        if (error < 0) {
            return 0;           /* The peer closed. */
        }
        if (error) {
            return sf_fail(error);
        }

        if (s->batch) {
            struct sf_ipc_rec rec;
            struct iovec one = { buf, len };
            int mflags = 0, e;

            pthread_mutex_lock(&s->rlock);
            e = sf_next_rec(fd, s, flags, &rec);
            if (!e) {
                r = (ssize_t) sf_scatter(&rec, &one, 1, &mflags);
                if (from) {
                    *from = rec.addr;
                }
            }
            pthread_mutex_unlock(&s->rlock);
            if (e > 0) {
                continue;       /* A notification: check the state. */
            }
            if (e < 0) {
                return sf_fail(-e);
            }
            if (from && s->type == SOCK_STREAM) {
                pthread_mutex_lock(&s->lock);
                *from = s->peer;
                pthread_mutex_unlock(&s->lock);
            }
            return flags & MSG_TRUNC ? (ssize_t) rec.len : r;
        }
        iov[0].iov_base = hdr;
        iov[0].iov_len = sizeof hdr;
        iov[1].iov_base = buf;
        iov[1].iov_len = len;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = 2;
        r = recvmsg(fd, &mh, flags & MSG_DONTWAIT);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            return sf_fail(ECONNRESET);     /* The agent went away. */
        }
        if (r >= SF_IPC_DATA_OFF && hdr[0] == SF_IPC_VERSION
            && hdr[1] == SF_IPC_DATA) {
            uint16_t count;
            uint32_t rlen;

            memcpy(&count, hdr + 2, sizeof count);
            memcpy(&rlen, hdr + 8, sizeof rlen);
            if (count != 1 || rlen > SF_IPC_MAX_PAYLOAD
                || (!(mh.msg_flags & MSG_TRUNC)
                    && (size_t) r != SF_IPC_DATA_OFF + rlen)) {
                continue;                   /* Not from a sane agent. */
            }
            if (from) {
                memcpy(&from->flowid, hdr + 16, sizeof from->flowid);
                memcpy(&from->objectid, hdr + 20, sizeof from->objectid);
                if (s->type == SOCK_STREAM) {
                    pthread_mutex_lock(&s->lock);
                    *from = s->peer;
                    pthread_mutex_unlock(&s->lock);
                }
            }
            if (flags & MSG_TRUNC) {
                return rlen;
            }
            return rlen < len ? (ssize_t) rlen : (ssize_t) len;
        }
        if ((size_t) r <= sizeof hdr && !sf_ipc_decode(hdr, (size_t) r, &m)) {
            pthread_mutex_lock(&s->lock);
            sf_notify(s, &m);
            pthread_mutex_unlock(&s->lock);
        }
        /* Loop: report the notification's effect, or wait for data (a
         * non-blocking descriptor fails with EAGAIN). */
    }
}

static ssize_t
sf_send(int fd, struct sf_sock *s, const void *buf, size_t len, int flags,
        const struct sf_ipc_addr *to)
{
    uint8_t hdr[SF_IPC_DATA_OFF];
    struct iovec iov[2];
    struct msghdr mh;

    if (flags & ~MSG_DONTWAIT) {
        return sf_fail(EINVAL);
    }
    if (len > s->max_payload) {
        return sf_fail(EMSGSIZE);
    }
    sf_ipc_encode_data_hdr(hdr, to, len);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    iov[1].iov_base = (void *) buf;
    iov[1].iov_len = len;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    if (sendmsg(fd, &mh, MSG_NOSIGNAL | (flags & MSG_DONTWAIT)) < 0) {
        return -1;
    }
    return (ssize_t) len;
}

static int
sf_get_addr(const struct sockaddr *addr, socklen_t len,
            struct sf_ipc_addr *a)
{
    struct sockaddr_sf sf;

    if (!addr || len < (socklen_t) sizeof sf) {
        return EINVAL;
    }
    memcpy(&sf, addr, sizeof sf);
    if (sf.sf_family != AF_SCAFFOLD) {
        return EAFNOSUPPORT;
    }
    a->flowid = sf.sf_flowid;
    a->objectid = sf.sf_objectid;
    return 0;
}

static void
sf_put_addr(const struct sf_ipc_addr *a, struct sockaddr *addr,
            socklen_t *len)
{
    struct sockaddr_sf sf;
    size_t n;

    memset(&sf, 0, sizeof sf);
    sf.sf_family = AF_SCAFFOLD;
    sf.sf_objectid = a->objectid;
    sf.sf_flowid = a->flowid;
    n = *len < (socklen_t) sizeof sf ? (size_t) *len : sizeof sf;
    memcpy(addr, &sf, n);
    *len = sizeof sf;
}

/* A new IPC connection to the agent ('flags': SOCK_CLOEXEC or 0).
 * Returns its descriptor or a negative errno (ECONNREFUSED: no agent). */
static int
sf_agent_connect(int flags)
{
    const char *name = getenv("SCAFFOLD_AGENT");
    struct sockaddr_un sun;
    socklen_t sunlen;
    int fd, error;

    fd = socket(AF_UNIX, SOCK_SEQPACKET | flags, 0);
    if (fd < 0) {
        return -errno;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (name && *name) {
        /* Test hook: another abstract name ("\0" + $SCAFFOLD_AGENT). */
        size_t n = strnlen(name, sizeof sun.sun_path - 1);
        memcpy(sun.sun_path + 1, name, n);
        sunlen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(sun.sun_path, SF_IPC_ADDRESS, SF_IPC_ADDRESS_LEN);
        sunlen = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                              + SF_IPC_ADDRESS_LEN);
    }
    if (connect(fd, (struct sockaddr *) &sun, sunlen) < 0) {
        error = errno == ENOENT ? ECONNREFUSED : errno;
        close(fd);
        return -error;
    }
    return fd;
}

/* getsockopt_sf(SF_SO_BOUND): asks the agent, on an IPC connection of its
 * own (the listener's carries ACCEPTs with descriptors), whether the
 * controller confirmed the listener's binding; waits for the answer
 * unless 'fd' is non-blocking, up to its SO_RCVTIMEO.  Returns 0 and
 * '*val' (1 or 0), or a positive errno. */
static int
sf_bound(int fd, struct sf_sock *s, int *val)
{
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_ipc_addr local;
    struct sf_ipc_msg m;
    bool wait;
    int fl, q, error;

    pthread_mutex_lock(&s->lock);
    local = s->local;
    error = s->state == SF_S_LISTEN ? 0 : ENOENT;
    pthread_mutex_unlock(&s->lock);
    if (error) {
        return error;
    }
    fl = fcntl(fd, F_GETFL);
    wait = fl >= 0 && !(fl & O_NONBLOCK);
    q = sf_agent_connect(SOCK_CLOEXEC);
    if (q < 0) {
        return -q;
    }
    error = sf_request(q, NULL, SF_IPC_BOUND, wait ? 1 : 0, &local, &m, buf,
                       wait ? sf_timeout_ms(fd, SO_RCVTIMEO) : -1);
    close(q);
    if (error == ETIMEDOUT) {
        return EAGAIN;
    }
    if (!error) {
        *val = m.arg > 0;
    }
    return error;
}

/* The descriptor's SO_RCVTIMEO/SO_SNDTIMEO in ms, -1 when none. */
static int
sf_timeout_ms(int fd, int opt)
{
    struct timeval tv;
    socklen_t len = sizeof tv;

    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0
        || (!tv.tv_sec && !tv.tv_usec)) {
        return -1;
    }
    return (int) (tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

/* Whether a connected socket may send now: 0 or a positive errno (a
 * pending error is consumed). */
static int
sf_send_check(int fd, struct sf_sock *s)
{
    int error = 0;

    pthread_mutex_lock(&s->lock);
    if (s->state == SF_S_CONNECTING) {
        error = sf_finish_connect(fd, s, false);
        if (!error && s->state == SF_S_CONNECTING) {
            error = EAGAIN;
        }
    } else if (s->error) {
        error = s->error;
        s->error = 0;
    } else if (s->state != SF_S_CONNECTED) {
        error = ENOTCONN;
    } else if (s->eof) {
        error = EPIPE;
    }
    pthread_mutex_unlock(&s->lock);
    return error;
}

/* Whether the socket may receive now: 0, a positive errno (a pending
 * error is consumed), or -1 when the peer closed (recv returns 0). */
static int
sf_recv_check(int fd, struct sf_sock *s)
{
    int error = 0;

    pthread_mutex_lock(&s->lock);
    if (s->state == SF_S_CONNECTING) {
        error = sf_finish_connect(fd, s, false);
        if (!error && s->state == SF_S_CONNECTING) {
            error = EAGAIN;
        }
    }
    if (!error && s->error) {
        error = s->error;
        s->error = 0;
    } else if (!error && s->eof && !s->rit.left) {
        error = -1;
    } else if (!error && s->type == SOCK_STREAM
               && s->state != SF_S_CONNECTED) {
        error = ENOTCONN;
    }
    pthread_mutex_unlock(&s->lock);
    return error;
}

/* Batched mode (caller holds s->rlock): the next datagram, from 'rbuf' or
 * read from the agent ('flags' MSG_DONTWAIT: without waiting).  Returns 0
 * and '*rec' (valid until the next call), a positive value when a
 * notification was consumed instead (applied to 's'), or a negative
 * errno. */
static int
sf_next_rec(int fd, struct sf_sock *s, int flags, struct sf_ipc_rec *rec)
{
    struct sf_ipc_msg m;
    ssize_t r;

    if (sf_ipc_iter_next(&s->rit, rec)) {
        return 0;
    }
    r = recv(fd, s->rbuf, SF_IPC_BATCH_BYTES, flags & MSG_DONTWAIT);
    if (r < 0) {
        return -errno;
    }
    if (r == 0) {
        return -ECONNRESET;     /* The agent went away. */
    }
    if (sf_ipc_decode(s->rbuf, (size_t) r, &m)) {
        return 1;               /* Not from a sane agent: skip. */
    }
    if (m.type != SF_IPC_DATA) {
        pthread_mutex_lock(&s->lock);
        sf_notify(s, &m);
        pthread_mutex_unlock(&s->lock);
        return 1;
    }
    sf_ipc_iter_init(&s->rit, &m);
    return sf_ipc_iter_next(&s->rit, rec) ? 0 : 1;
}

/* Copies 'rec' into the buffers; sets MSG_TRUNC in '*msg_flags' when they
 * are too short.  Returns the bytes copied. */
static size_t
sf_scatter(const struct sf_ipc_rec *rec, const struct iovec *iov,
           size_t iovlen, int *msg_flags)
{
    size_t off = 0, k;

    for (k = 0; k < iovlen && off < rec->len; k++) {
        size_t n = rec->len - off < iov[k].iov_len ? rec->len - off
                                                   : iov[k].iov_len;
        memcpy(iov[k].iov_base, rec->data + off, n);
        off += n;
    }
    if (off < rec->len) {
        *msg_flags |= MSG_TRUNC;
    }
    return off;
}
