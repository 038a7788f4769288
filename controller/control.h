/*
 * SCAFFOLD controller: in-band control requests (proto/control.proto).
 *
 * A host's agent sends a packed Envelope as the payload of an unbound
 * datagram to objectID 1; its label router hands the frame to the
 * controller as a packet-in.  ctl_control_handle() takes that payload plus
 * where it came from (switch, port, Ethernet source) and returns the packed
 * reply Envelope, doing its work in db/ inside one transaction:
 *
 *   - join: assign (or keep) the host's address (ssID, hostID).  HostIDs
 *     come from the blocks of the host's label router (db_block_*): the
 *     lowest free hostID of its blocks, or of a new block of
 *     'host_block' hostIDs allocated to it in the first served ssID that
 *     has one free.  A host that re-joins from another switch or port has
 *     moved: it gets a new address there and the move is recorded.  The
 *     host's MAC in the request must be the frame's Ethernet source.
 *   - keepalive: renew the lease of a joined host (NOT_JOINED otherwise).
 *   - leave: forget the host and its instances.
 *   - bind, unbind: record or remove an instance (objectID, host, sockID)
 *     of a joined host (CONFLICT for a bound sockID unless
 *     BIND_FLAG_REPLACE).  The caller re-syncs the object router's groups
 *     from db/ when 'changed' is set (object.h).
 *
 * Requests are idempotent by (MAC, request id): the first reply is stored
 * with db_request_put() and a retry gets the same bytes back.
 *
 * No sockets and no OpenFlow here: the caller frames the reply
 * (sfp_frame_encode) and sends the packet-out, and re-syncs rules when
 * 'changed' is set.  When 'instance_changed' is set the caller holds the
 * reply of a bind or unbind until the object routers confirmed the group
 * change, and when 'address_changed' is set the JoinReply until the host's
 * label router confirmed the host's rules (docs/protocol.md section 5.5);
 * a retry of a held request is recognised by 'id' (same MAC) and not
 * answered a second time.  A retry answered from the stored reply sets
 * neither flag.
 */
#ifndef CTL_CONTROL_H
#define CTL_CONTROL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Domain settings the answers carry. */
struct ctl_control_config {
    const uint8_t *ss_ids;      /* The ssIDs served, ascending. */
    size_t n_ss_ids;
    uint16_t host_block;        /* HostIDs per new block (a power of two,
                                 * 1..256). */
    uint8_t router_mac[6];      /* Gateway MAC for JoinReply. */
    uint32_t lease_seconds;     /* Lease after each join or keepalive. */
    uint32_t keepalive_seconds; /* Keepalive interval for the hosts. */
    uint64_t epoch;             /* JoinReply.controller_epoch. */
};

/* Where a request came from (the packet-in). */
struct ctl_control_origin {
    uint64_t dpid;              /* Label router. */
    uint32_t port_no;           /* Its port. */
    uint8_t mac[6];             /* Ethernet source of the frame. */
};

/* What to send back and what changed. */
struct ctl_control_result {
    uint8_t *reply;             /* Packed Envelope, malloc'ed (free()). */
    size_t reply_len;           /* Its length. */
    uint32_t reply_dst_flow;    /* ss.host.0 of the host, or 0 (0.0.0). */
    bool changed;               /* Hosts changed: re-sync the rules. */
    bool new_block;             /* A block was allocated (every switch
                                 * gets its route). */
    bool instance_changed;      /* A bind or unbind added or removed an
                                 * instance: the caller may hold the reply
                                 * until the object router has it. */
    bool address_changed;       /* A join assigned a new address (first
                                 * join or move): the caller may hold the
                                 * reply until the host's label router
                                 * has its rules. */
    uint64_t id;                /* The request id, 0 if none. */
    char what[96];              /* One line for the log, e.g.
                                 * "join 1.3 (new)". */
};

int ctl_control_handle(struct db *, const struct ctl_control_config *,
                       const struct ctl_control_origin *,
                       const uint8_t *payload, size_t len, int64_t now_ms,
                       struct ctl_control_result *);

#endif /* controller/control.h */
