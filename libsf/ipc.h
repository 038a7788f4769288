/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sf_ipc: the messages between libsf and scaffold-hostagent.
 *
 * Internal to the suite (libsf and hostagent/ include it as
 * "libsf/ipc.h"); applications use <sf/socket.h>.
 *
 * Transport.  The agent listens on the abstract Unix socket
 * SF_IPC_ADDRESS ("\0scaffold-hostagent", SOCK_SEQPACKET).  An abstract name
 * belongs to a network namespace, so every Mininet host or netns reaches
 * its own agent with no per-host path.  Every sf socket is ONE IPC
 * connection: the application's descriptor is the connection itself, so it
 * works with poll/epoll/libuv (readable = data, an accepted connection or a
 * notification is pending).  The agent records the owner with SO_PEERCRED;
 * when the connection closes (close_sf, exit, crash) the agent closes the
 * socket.  Accepted connections are socketpairs made by the agent, the
 * application's end passed with SCM_RIGHTS on the listener's connection.
 *
 * Messages.  One SEQPACKET message = one IPC message; all integers in host
 * byte order (both ends are on one host); lengths in bytes.
 *
 *   header (8)  u8 version (1) | u8 type | u16 count | i32 arg
 *   address (8) u32 flowID | u16 objectID | u16 reserved (0)
 *   record (16) u32 len | u32 reserved (0) | address, then 'len' payload
 *               bytes, then zero padding to a multiple of 4 (not after the
 *               last record)
 *
 *   type          dir  count  arg                 body
 *   OPEN      1   a>h  0      SF_IPC_SOCK_*       -            (first msg)
 *   BIND      2   a>h  0      0                   address
 *   LISTEN    3   a>h  0      backlog             -
 *   CONNECT   4   a>h  0      0                   address
 *   CLOSE     5   a>h  0      SF_IPC_CLOSE_FAIL?  -            (no reply)
 *   STATUS    6   a>h  0      0                   -            (first msg)
 *   DATA      7   both >=1    0                   count records
 *   REPLY     8   h>a  0      0 or -errno         0, 1 or 2 addresses
 *   ACCEPT    9   h>a  0      SF_IPC_ACCEPT_*     2 addresses  (+1 fd)
 *   PEER     10   h>a  0      0                   address (peer moved)
 *   CLOSED   11   h>a  0      0 (peer closed) or -ECONNRESET/-ETIMEDOUT
 *   TEXT     12   h>a  0      1 on the last one   UTF-8 text (STATUS)
 *   MOVE     13   a>h  0      0                   address: new ss.host.0
 *                                                 (first msg; admin only)
 *   LOCAL    14   h>a  0      0                   address (our flowID
 *                                                 changed: host moved, or
 *                                                 a failover RSYN took a
 *                                                 new sockID)
 *   BATCH    15   a>h  0      max records (1..    -            (no reply)
 *                             SF_IPC_BATCH_MAX)
 *   BOUND    16   a>h  0      1: wait, 0: now     address: a listener's
 *                                                 local address (first
 *                                                 msg)
 *
 * BOUND asks whether the controller has confirmed the binding of the
 * listener at 'address' (its BindRequest answered, which the controller
 * does once the object router's rule is in: docs/protocol.md 5.5), on an
 * IPC connection of its own so that the listener's stream of ACCEPTs is
 * left alone.  Its REPLY carries that address and has arg 1 (confirmed;
 * at once in static mode, where there is no controller), 0 (not yet;
 * only when asked with arg 0: with arg 1 the agent answers when the
 * controller does), or -errno: the controller's refusal (-EADDRINUSE,
 * -EOPNOTSUPP, -EINVAL), -ENOENT (no listener there, or it closed while
 * waiting).
 *
 * MOVE changes the host's flowID prefix as a re-join with a new hostID
 * would (every connection resyncs from its new flowID); it is the static
 * mode's stand-in for mobility and is refused (-EPERM) unless the peer is
 * root or the agent's own user.
 *
 * Requests OPEN, BIND, LISTEN, CONNECT, MOVE, BOUND and STATUS are
 * answered by one REPLY (STATUS by TEXT messages instead); OPEN's and
 * BIND's REPLY carry the local address, CONNECT's the local then the
 * peer address.
 * A successful OPEN's and CONNECT's REPLY have arg = the largest datagram
 * payload one frame on the host interface carries (MTU - 20 - 8 - 20,
 * 1452 at MTU 1500; 0 = unknown); libsf refuses longer sends with
 * EMSGSIZE, and the agent drops longer records (counted tx_too_big).
 * Accepted sockets inherit their listener's value.  A
 * message the agent cannot decode is answered with REPLY(-EBADMSG) (or
 * -EPROTO: valid but not allowed now) and counted; the connection stays
 * up.
 *
 * Data.  A DATA record's address is the datagram's destination (a>h) or
 * source (h>a) on datagram sockets and zero on connections.  Records sit at
 * 4-byte aligned offsets; the first payload always starts at offset 24
 * (SF_IPC_DATA_OFF), so a one-record message can be sent and received with
 * a two-element iovec and no copy.  The format allows many datagrams per
 * message.  The agent accepts many per message from applications
 * (sendmmsg_sf).  Toward an application it sends one per message (so that
 * a readable descriptor means one recv_sf() returns data) until the
 * application sends BATCH (recvmmsg_sf does, once): from then on the agent
 * packs the datagrams that arrive for the socket during one turn of its
 * loop into DATA messages of at most 'arg' records and SF_IPC_BATCH_BYTES
 * bytes, and libsf keeps the records it has not handed out yet.  Every
 * message other than DATA and TEXT is at most 24 bytes.
 */
#ifndef SF_IPC_H
#define SF_IPC_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_IPC_ADDRESS      "\0scaffold-hostagent"
#define SF_IPC_ADDRESS_LEN  (sizeof SF_IPC_ADDRESS - 1)
#define SF_IPC_VERSION      1
#define SF_IPC_HDR_LEN      8
#define SF_IPC_ADDR_LEN     8
#define SF_IPC_REC_LEN      16
#define SF_IPC_DATA_OFF     (SF_IPC_HDR_LEN + SF_IPC_REC_LEN)
#define SF_IPC_CTL_MAX      24          /* Largest non-DATA, non-TEXT. */
#define SF_IPC_MAX_PAYLOAD  65507       /* Largest datagram. */
#define SF_IPC_MAX_MSG      (256 * 1024)
#define SF_IPC_BATCH_MAX    64          /* Records per batched message. */
#define SF_IPC_BATCH_BYTES  65536       /* Bytes per batched message (and
                                         * libsf's receive buffer: holds
                                         * any one-record message too). */

enum sf_ipc_type {
    SF_IPC_OPEN = 1,
    SF_IPC_BIND,
    SF_IPC_LISTEN,
    SF_IPC_CONNECT,
    SF_IPC_CLOSE,
    SF_IPC_STATUS,
    SF_IPC_DATA,
    SF_IPC_REPLY,
    SF_IPC_ACCEPT,
    SF_IPC_PEER,
    SF_IPC_CLOSED,
    SF_IPC_TEXT,
    SF_IPC_MOVE,
    SF_IPC_LOCAL,
    SF_IPC_BATCH,
    SF_IPC_BOUND,
    SF_IPC_N_TYPES
};

/* OPEN's arg. */
#define SF_IPC_SOCK_STREAM  1
#define SF_IPC_SOCK_DGRAM   2
/* CLOSE's arg. */
#define SF_IPC_CLOSE_FAIL   1
/* ACCEPT's arg. */
#define SF_IPC_ACCEPT_RESUMED 1

struct sf_ipc_addr {
    uint32_t flowid;
    uint16_t objectid;
};

/* A decoded message: a read-only view of the caller's buffer. */
struct sf_ipc_msg {
    uint8_t type;               /* enum sf_ipc_type. */
    uint16_t count;             /* DATA: records. */
    int32_t arg;
    int n_addrs;                /* Addresses in the body (0..2). */
    struct sf_ipc_addr addr[2];
    const uint8_t *body;        /* After the header (DATA: records;
                                 * TEXT: text). */
    size_t body_len;
};

/* One DATA record. */
struct sf_ipc_rec {
    struct sf_ipc_addr addr;
    const uint8_t *data;        /* Points into the message buffer. */
    size_t len;
};

/* Iterator over the records of a decoded DATA message. */
struct sf_ipc_iter {
    const uint8_t *p, *end;
    unsigned int left;
};

/* Checks the message in 'buf' ('len' bytes) completely (every length, every
 * reserved field, every DATA record) and fills '*m', which points into
 * 'buf' (keep it alive).  Returns 0, or -EBADMSG for any malformed input
 * (and '*m' is unspecified). */
int sf_ipc_decode(const void *buf, size_t len, struct sf_ipc_msg *m);

/* Record iteration over a message sf_ipc_decode() accepted: returns true
 * and fills '*r' for each record in turn, then false. */
void sf_ipc_iter_init(struct sf_ipc_iter *, const struct sf_ipc_msg *);
bool sf_ipc_iter_next(struct sf_ipc_iter *, struct sf_ipc_rec *);

/* Encodes a non-DATA message with 'n_addrs' addresses (0..2) from 'addrs'
 * into 'buf'.  Returns its length, or 0 if 'size' is too small. */
size_t sf_ipc_encode(void *buf, size_t size, enum sf_ipc_type, int32_t arg,
                     const struct sf_ipc_addr *addrs, int n_addrs);

/* Writes the header and the first record header of a one-record DATA
 * message (SF_IPC_DATA_OFF bytes) into 'buf'; the payload follows. */
void sf_ipc_encode_data_hdr(void *buf, const struct sf_ipc_addr *,
                            size_t payload_len);

/* Writes the 8-byte header of a DATA message of 'count' records into
 * 'buf', and the 16-byte header of one record into 'rec' (the payload and
 * then, unless it is the last record, zero padding to a multiple of 4
 * follow it): for messages gathered from several buffers (sendmmsg_sf). */
void sf_ipc_encode_data_msg_hdr(void *buf, unsigned int count);
void sf_ipc_encode_rec_hdr(void *rec, const struct sf_ipc_addr *,
                           size_t payload_len);

/* Appends a record to a DATA message being built in 'buf' (its current
 * length '*lenp', 0 to start one; 'size' bytes available).  Returns 0 or
 * -EMSGSIZE (nothing written). */
int sf_ipc_append_data(void *buf, size_t size, size_t *lenp,
                       const struct sf_ipc_addr *, const void *data,
                       size_t len);

/* "BIND" etc., "?" for unknown. */
const char *sf_ipc_type_name(int type);

#endif /* SF_IPC_H */
