/*
 * SCAFFOLD controller: reconciling a switch with the wanted state.
 *
 * When a switch (re)connects, or the controller restarts, the switch may
 * already hold most of what it should.  Flushing it and installing
 * everything again blacks the data plane out for a moment and, worse,
 * deleting and re-adding an object router's select groups forgets every
 * sticky round-robin assignment.  Instead the controller reads the switch
 * back (flow stats filtered by our cookie tag, group descriptions), and
 * this module compares what it read with the rules the database wants:
 * identical flows and groups are left alone, stale ones are deleted one
 * by one, missing ones are added by the ordinary sync.
 *
 * Flows are compared on the wire's terms: a wanted ctl_rule is encoded as
 * a flow-mod and decoded again with libopenvswitch, so that both sides
 * went through the same normalisation, then table, priority, cookie,
 * match and actions must be equal (actions compared as text: decoded
 * ofpacts may differ in padding bytes).  Flows of ours that are short-lived by
 * design (L2 learning, fallback resolution) are never stale: they expire.
 *
 * The same flow list, read periodically or on demand, gives the admin
 * RPC real packet and byte counters.
 *
 * No I/O: the caller sends the requests and feeds the replies in.
 */
#ifndef CTL_RECONCILE_H
#define CTL_RECONCILE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/match.h"
#include "openvswitch/ofp-protocol.h"

struct ofpbuf;
struct ofp_header;
struct ofpact;
struct ctl_rule;
struct ctl_object_bucket;
struct ctl_object_instance;

/* One flow of ours read back from a switch. */
struct ctl_reconcile_flow {
    uint8_t table;              /* Table id. */
    uint16_t priority;          /* Priority. */
    uint64_t cookie;            /* Cookie (host byte order). */
    struct match match;         /* Match, as the switch reports it. */
    struct ofpact *ofpacts;     /* Actions; malloc'ed, owned. */
    size_t ofpacts_len;         /* Their length in bytes. */
    uint16_t idle_timeout;      /* Seconds, 0 for none. */
    uint16_t hard_timeout;      /* Seconds, 0 for none. */
    uint32_t duration_sec;      /* Age of the flow. */
    uint64_t n_packets;         /* Counters (UINT64_MAX: unknown). */
    uint64_t n_bytes;
};

/* The flows read from one switch. */
struct ctl_reconcile_flows {
    struct ctl_reconcile_flow *flows; /* 'n' of them, malloc'ed. */
    size_t n, allocated;
};

/* One group read back from an object router: its buckets as the
 * controller keeps them (object.h); only the bucket id and the flowID
 * come from the switch, the MAC and sockID from the instance with that
 * flowID, if any. */
struct ctl_reconcile_group {
    uint32_t group_id;          /* Group id. */
    bool round_robin;           /* Select group, selection_method
                                 * round_robin, buckets of ours. */
    struct ctl_object_bucket *buckets; /* In the switch's order; owned. */
    size_t n_buckets;
};

/* The groups read from one switch. */
struct ctl_reconcile_groups {
    struct ctl_reconcile_group *groups; /* 'n' of them, malloc'ed. */
    size_t n, allocated;
};

struct ofpbuf *ctl_reconcile_encode_flow_request(enum ofp_version);
struct ofpbuf *ctl_reconcile_encode_group_request(enum ofp_version);

int ctl_reconcile_decode_flows(const struct ofp_header *,
                               struct ctl_reconcile_flows *);
void ctl_reconcile_flows_clear(struct ctl_reconcile_flows *);
int ctl_reconcile_flows_take(struct ctl_reconcile_flows *dst,
                             struct ctl_reconcile_flows *src,
                             const bool *which);
void ctl_reconcile_flows_move(struct ctl_reconcile_flows *dst,
                              struct ctl_reconcile_flows *src);

int ctl_reconcile_decode_groups(const struct ofp_header *, enum ofp_version,
                                const struct ctl_object_instance *,
                                size_t n_insts,
                                struct ctl_reconcile_groups *);
void ctl_reconcile_groups_clear(struct ctl_reconcile_groups *);

bool ctl_reconcile_transient(uint64_t cookie);
int ctl_reconcile_diff(const struct ctl_rule *want, size_t n_want,
                       enum ofp_version,
                       const struct ctl_reconcile_flow *flows,
                       size_t n_flows, long *found, bool *keep);
long ctl_reconcile_find_same_match(const struct ctl_rule *,
                                   enum ofp_version,
                                   const struct ctl_reconcile_flow *flows,
                                   size_t n_flows);
int ctl_reconcile_encode_delete(const struct ctl_reconcile_flow *,
                                enum ofp_version, struct ofpbuf **msgp);

#endif /* controller/reconcile.h */
