/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsf: SCAFFOLD sockets with the shape of BSD sockets.
 *
 *     #include <sf/socket.h>      link: libscaffold-libsf.a
 *
 * An sf socket names a peer by objectID (the service) and, once bound, by
 * flowID (the instance).  A client connects to an objectID; the network
 * picks an instance; the connection survives the instance failing
 * (failover, see SF_SEND_FAIL) and either end moving (mobility): the
 * application only sees an outage.
 *
 * The calls talk to the host's scaffold-hostagent over an abstract Unix
 * socket private to the network namespace.  Every descriptor they return is
 * a real file descriptor (the IPC connection itself): poll, epoll and libuv
 * work on it.  It is readable when recv_sf() has a datagram, accept_sf() a
 * connection, or the agent a notification for the socket (a recv_sf() that
 * consumes only a notification fails with EAGAIN on a non-blocking socket
 * and keeps waiting on a blocking one).  Non-blocking mode is O_NONBLOCK on
 * the descriptor (fcntl) or SOCK_NONBLOCK in socket_sf().  A non-blocking
 * connect_sf() fails with EINPROGRESS; wait for POLLIN, then read the result
 * with getsockopt_sf(SO_ERROR) (or call connect_sf() again).
 *
 * Semantics: SOCK_STREAM sockets are bound flows carrying datagrams
 * (message boundaries are kept; data is not retransmitted or reordered by
 * the stack, like UDP: applications that need reliability add it, as
 * sf-tftp does).  SOCK_DGRAM sockets send unbound datagrams, each resolved
 * on its own.
 *
 * Errors: every call returns -1 and sets errno like its BSD counterpart;
 * the errno values each can set are listed below.  Common to all calls
 * taking a descriptor: EBADF (not an sf socket), ENOTSOCK.  Calls that talk
 * to the agent may also fail with ECONNREFUSED/ENOENT (no agent) or EPIPE
 * (the agent went away).
 *
 * Thread safety: every call may be made from any thread.  Requests on one
 * socket are serialised; send_sf/recv_sf from several threads each get
 * whole datagrams.
 */
#ifndef SF_SOCKET_H
#define SF_SOCKET_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Address family of struct sockaddr_sf (never given to the kernel). */
#define AF_SCAFFOLD 0x5346

/* A SCAFFOLD address.  Host byte order (unlike sockaddr_in): an objectID
 * (the service) and a flowID ss.host.sock (the instance / connection end).
 * flowID 0 means "unresolved in my domain" for connect_sf/sendto_sf and
 * "any: my host, a new sockID" for bind_sf. */
struct sockaddr_sf {
    sa_family_t sf_family;      /* AF_SCAFFOLD. */
    uint16_t sf_objectid;       /* objectID; 0 = none. */
    uint32_t sf_flowid;         /* flowID; see above. */
};

/* close_sf() flags. */
#define SF_SEND_FAIL 0x1        /* Fail over: the peer resyncs with another
                                 * instance of the object instead of seeing
                                 * the connection close. */

/* getsockopt_sf() level and option of SCAFFOLD's own.  SF_SO_BOUND (int,
 * read only) on a listening SOCK_STREAM socket: 1 once the domain
 * controller has confirmed the binding that listen_sf() asked for, that
 * is, once the object router resolves the objectID to this listener too
 * (at once in static addressing mode, where there is no controller).  A
 * blocking descriptor waits for the confirmation (up to SO_RCVTIMEO, then
 * EAGAIN); a non-blocking one answers 0 while it is still outstanding.
 * Errors besides the usual: the controller's refusal EADDRINUSE (another
 * host owns the sockID), EOPNOTSUPP (controller without bind), EINVAL;
 * ENOENT (not a listener, or it closed meanwhile), ECONNREFUSED (no
 * agent).  The socket keeps listening after a refusal: peers that reach
 * the host directly still connect. */
#define SOL_SCAFFOLD 0x5346
#define SF_SO_BOUND 1

/* accept_sf() sets this in *flags of accept2_sf() for a connection that
 * was resumed here after failing over from another instance. */
#define SF_ACCEPT_RESUMED 0x1

/* socket_sf: a new sf socket.  'domain' AF_SCAFFOLD; 'type' SOCK_STREAM
 * (bound flows) or SOCK_DGRAM (unbound datagrams), optionally ORed with
 * SOCK_NONBLOCK and SOCK_CLOEXEC; 'protocol' 0.  Returns the descriptor.
 * Errors: EAFNOSUPPORT, EINVAL (type), EPROTONOSUPPORT, EMFILE/ENFILE,
 * ENOMEM, ECONNREFUSED (no agent in this network namespace). */
int socket_sf(int domain, int type, int protocol);

/* bind_sf: binds to objectID addr->sf_objectid (which a SOCK_STREAM socket
 * then serves with listen_sf, or at which a SOCK_DGRAM socket receives).
 * sf_flowid 0 or this host's ss.host.0 lets the agent keep the socket's
 * sockID; ss.host.SOCK asks for sockID SOCK.  Errors: EINVAL (already
 * bound, objectID 0, 'len' too small), EAFNOSUPPORT, EADDRINUSE,
 * EADDRNOTAVAIL (flowID not of this host). */
int bind_sf(int fd, const struct sockaddr *addr, socklen_t len);

/* listen_sf: a bound SOCK_STREAM socket accepts connections to its
 * objectID; 'backlog' bounds the half-open ones.  Errors: EINVAL (not
 * bound), EOPNOTSUPP (SOCK_DGRAM), EADDRINUSE (objectID served by another
 * listener on this host). */
int listen_sf(int fd, int backlog);

/* accept_sf: the next connection of a listening socket; its peer address
 * into 'addr' if not NULL ('*len' in/out as for accept()).  The new
 * descriptor is blocking and close-on-exec.  Errors: EINVAL (not
 * listening), EAGAIN (non-blocking or SO_RCVTIMEO expired, none pending),
 * EMFILE, EINTR. */
int accept_sf(int fd, struct sockaddr *addr, socklen_t *len);
/* accept2_sf: accept_sf() that also reports SF_ACCEPT_RESUMED in '*flags'
 * (may be NULL). */
int accept2_sf(int fd, struct sockaddr *addr, socklen_t *len, int *flags);

/* connect_sf: opens a bound flow to objectID addr->sf_objectid (sf_flowid 0:
 * resolved by the network).  Errors: EINPROGRESS (non-blocking: wait for
 * POLLIN), EALREADY, EISCONN, ETIMEDOUT (no answer), ECONNREFUSED (no
 * instance serves the objectID), ECONNRESET, EINVAL, EAFNOSUPPORT,
 * EOPNOTSUPP (SOCK_DGRAM). */
int connect_sf(int fd, const struct sockaddr *addr, socklen_t len);

/* send_sf: one datagram on a connected socket ('flags': MSG_DONTWAIT).
 * Returns 'len'.  Errors: ENOTCONN, EPIPE (closed), ECONNRESET, EMSGSIZE,
 * EAGAIN, EDESTADDRREQ (SOCK_DGRAM: use sendto_sf).
 * EMSGSIZE: 'len' is more than one frame on the host interface carries,
 * its MTU less the IPv4, UDP and SCAFFOLD headers (MTU - 48: 1452 bytes
 * at MTU 1500), as the agent reported when the socket was opened or
 * connected (accepted sockets: their listener's).  SCAFFOLD does not
 * fragment; nothing is sent. */
ssize_t send_sf(int fd, const void *buf, size_t len, int flags);

/* recv_sf: one datagram; a longer one is truncated to 'len' (MSG_TRUNC in
 * 'flags' returns its real length).  Returns 0 when the peer closed.
 * 'flags': MSG_DONTWAIT, MSG_TRUNC.  Errors: EAGAIN (non-blocking or
 * SO_RCVTIMEO expired), ECONNRESET, ETIMEDOUT (connection lost), ENOTCONN,
 * EINTR. */
ssize_t recv_sf(int fd, void *buf, size_t len, int flags);

/* sendto_sf: send_sf() to 'addr' on a SOCK_DGRAM socket (on a connected
 * socket 'addr' must be NULL).  Errors: those of send_sf, EINVAL,
 * EAFNOSUPPORT, EISCONN. */
ssize_t sendto_sf(int fd, const void *buf, size_t len, int flags,
                  const struct sockaddr *addr, socklen_t alen);

/* Batches (struct mmsghdr: define _GNU_SOURCE before <sys/socket.h>).
 *
 * sendmmsg_sf: sends up to 'vlen' datagrams, msgs[i].msg_hdr.msg_iov
 * gathered into each, with one IPC message per up to 64 datagrams (64 KiB)
 * instead of one per datagram; msg_name is NULL on a connection and a
 * struct sockaddr_sf on a SOCK_DGRAM socket; msg_control is ignored.
 * Returns the number sent (msgs[i].msg_len set for each); a datagram that
 * cannot be sent (EMSGSIZE, a bad address) ends the batch before it, and
 * the call fails with its errno only when it is the first.  'flags':
 * MSG_DONTWAIT.  Errors: those of send_sf/sendto_sf, EINVAL.
 *
 * recvmmsg_sf: receives up to 'vlen' datagrams: waits for the first (like
 * recv_sf, unless MSG_DONTWAIT or SO_RCVTIMEO), then takes whatever else
 * is ready without waiting.  Each is scattered into msgs[i].msg_hdr's
 * buffers (MSG_TRUNC in msg_flags when they are too short); msg_len is
 * its length copied (flags MSG_TRUNC: its real length); msg_name, if not
 * NULL, gets the source (the peer on a connection).  Returns the number
 * received, 0 when the peer closed.  Errors: those of recv_sf, ENOMEM.
 * The first call switches the socket to batched delivery: from then on
 * the agent packs the datagrams that are ready into one IPC message, and
 * those not yet handed out wait inside the library, where poll() cannot
 * see them.  A poll-driven reader of such a socket must therefore read
 * (recvmmsg_sf or recv_sf with MSG_DONTWAIT) until EAGAIN after each
 * wakeup; recv_sf keeps working and returns them one by one. */
struct mmsghdr;
int sendmmsg_sf(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags);
int recvmmsg_sf(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags);

/* recvfrom_sf: recv_sf() that also reports the source (the peer on a
 * connection). */
ssize_t recvfrom_sf(int fd, void *buf, size_t len, int flags,
                    struct sockaddr *addr, socklen_t *alen);

/* close_sf: closes the socket.  'flags' 0: an orderly close (the peer's
 * recv_sf returns 0); SF_SEND_FAIL: the peer fails over to another
 * instance of the object.  The descriptor is released in every case.
 * Errors: EBADF, EINVAL (unknown flags; the socket is still closed). */
int close_sf(int fd, int flags);

/* getsockname_sf / getpeername_sf: this end's / the peer's address.  The
 * peer's flowID changes after a failover or when the peer moves; this
 * end's flowID when this host moves and after a failover (the resync
 * leaves from a fresh sockID).  The new values come with the agent's
 * notifications, which recv_sf (and friends) consume in order with the
 * data.  Errors: EINVAL
 * ('*len' negative), ENOTCONN (getpeername_sf on an unconnected socket). */
int getsockname_sf(int fd, struct sockaddr *addr, socklen_t *len);
int getpeername_sf(int fd, struct sockaddr *addr, socklen_t *len);

/* setsockopt_sf / getsockopt_sf: SOL_SOCKET options SO_RCVTIMEO and
 * SO_SNDTIMEO (struct timeval; recv_sf/send_sf/accept_sf/connect_sf then
 * fail with EAGAIN, connect_sf with ETIMEDOUT), SO_RCVBUF, SO_SNDBUF;
 * getsockopt_sf also SO_ERROR (pending error, cleared by reading),
 * SO_TYPE and (level SOL_SCAFFOLD) SF_SO_BOUND, above.  Errors:
 * ENOPROTOOPT, EINVAL, EFAULT.
 * SO_RCVBUF and SO_SNDBUF size this end of the socket's IPC connection to
 * the agent.  Datagrams waiting for the application are charged to the
 * agent's end of that connection, whose send buffer is 4 MB: a larger
 * SO_RCVBUF does not let more datagrams wait (beyond about 4 MB the
 * agent drops them, counted in its status as ipc rx_dropped), and
 * getsockopt_sf(SO_RCVBUF) reports this end only. */
int setsockopt_sf(int fd, int level, int name, const void *val,
                  socklen_t len);
int getsockopt_sf(int fd, int level, int name, void *val, socklen_t *len);

#ifdef __cplusplus
}
#endif

#endif /* SF_SOCKET_H */
