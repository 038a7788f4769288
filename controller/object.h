/*
 * SCAFFOLD controller: object resolution on the object router.
 *
 * Per objectID with live instances the object router holds a select group
 * (group id = objectID), one bucket per instance: "set nw_dst to the
 * instance's flowID, resubmit to the route table" (rules.h explains why a
 * resubmit rather than an output).  With the ofproto-ext extension the
 * group uses selection_method=round_robin: each new flow takes the next
 * instance and stays there.
 *
 * Buckets are kept stable: when instances come and go the controller sends
 * insert-buckets / remove-buckets (OpenFlow 1.5) for exactly the changed
 * instances, so flows already assigned to other buckets stay where they
 * are.  ctl_object_diff() computes those changes as a pure function; the
 * encoders below turn them into group mods.  A bucket id names one
 * instance (host MAC, sockID) at one flowID; a host that moves gets a new
 * flowID, so its instances get new buckets.
 *
 * Without the extension (stock OVS answers the group mod with
 * OFPBPC_BAD_VALUE) the controller resolves each new flow itself:
 * ctl_object_rr_pick() chooses the instance round robin, and
 * ctl_object_encode_resolved() makes the packet-out and the short-lived
 * exact 5-tuple flow.
 *
 * No I/O here.  Every encoder returns a message the caller owns.
 */
#ifndef CTL_OBJECT_H
#define CTL_OBJECT_H 1

#include <stddef.h>
#include <stdint.h>

#include "openvswitch/ofp-protocol.h"

struct ofpbuf;

/* One live instance, as the group needs it. */
struct ctl_object_instance {
    uint16_t object_id;         /* Object served. */
    uint8_t mac[6];             /* Serving host. */
    uint16_t sock_id;           /* Its socket. */
    uint32_t flow_id;           /* ss.host.sock, where it is now. */
};

/* One bucket of a group: an instance and its bucket id. */
struct ctl_object_bucket {
    uint32_t bucket_id;         /* 1..CTL_OBJECT_BUCKET_MAX. */
    uint8_t mac[6];
    uint16_t sock_id;
    uint32_t flow_id;
};

/* Largest bucket id (OpenFlow 1.5 OFPG15_BUCKET_MAX). */
#define CTL_OBJECT_BUCKET_MAX UINT32_C(0xffffff00)

/* The group id used at connect to learn whether the switch accepts
 * selection_method=round_robin (added, then deleted at once). */
#define CTL_OBJECT_PROBE_GROUP UINT32_C(0xfffffe00)

/* Seconds an idle round-robin assignment (and a fallback flow) lives. */
#define CTL_OBJECT_RR_IDLE 10

int ctl_object_diff(const struct ctl_object_bucket *old, size_t n_old,
                    const struct ctl_object_instance *want, size_t n_want,
                    uint32_t *next_id,
                    uint32_t **removed, size_t *n_removed,
                    struct ctl_object_bucket **added, size_t *n_added);

int ctl_object_rr_pick(const struct ctl_object_instance *, size_t n,
                       uint32_t *last_flow);

/* Group mods (OpenFlow 1.5 only: -EPROTONOSUPPORT otherwise). */
int ctl_object_encode_add(enum ofp_version, uint32_t group_id,
                          const struct ctl_object_bucket *, size_t n,
                          struct ofpbuf **msgp);
int ctl_object_encode_insert(enum ofp_version, uint32_t group_id,
                             const struct ctl_object_bucket *, size_t n,
                             struct ofpbuf **msgp);
int ctl_object_encode_remove(enum ofp_version, uint32_t group_id,
                             uint32_t bucket_id, struct ofpbuf **msgp);
int ctl_object_encode_delete(enum ofp_version, uint32_t group_id,
                             struct ofpbuf **msgp);

/* An unresolved packet the controller resolves (fallback). */
struct ctl_object_flow {
    uint32_t in_port;           /* Where it entered the object router. */
    uint32_t nw_src, nw_dst;    /* Host byte order; nw_dst is ss.0.0.0. */
    uint16_t tp_src, tp_dst;    /* tp_dst is the objectID. */
};

int ctl_object_encode_resolved(enum ofp_version,
                               const struct ctl_object_flow *,
                               uint32_t flow_id, const void *packet,
                               size_t len, struct ofpbuf **flow_mod,
                               struct ofpbuf **packet_out);

#endif /* controller/object.h */
