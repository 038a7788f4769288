/*
 * SCAFFOLD controller: object resolution on the object router (see
 * object.h).
 *
 * The group of an objectID is a select group whose buckets all end in
 * "resubmit(,1)": table 1 of the object router routes by the rewritten
 * nw_dst (rules.h), so a bucket depends only on its instance's flowID and
 * never on the topology.  A topology change re-routes table 1 and leaves
 * every group, and every round-robin assignment, alone.
 *
 * Bucket ids come from a per-group counter that only grows (the caller
 * keeps it), so an id is never reused for another instance while the
 * group exists: the switch's sticky assignments, which are kept by bucket
 * id, can never land a flow on the wrong instance.
 */
#include "controller/object.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/list.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-group.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofpbuf.h"
#include "controller/rules.h"

static bool
ctl_object_same(const struct ctl_object_bucket *b,
                const struct ctl_object_instance *i)
{
    return !memcmp(b->mac, i->mac, 6) && b->sock_id == i->sock_id
           && b->flow_id == i->flow_id;
}

/* Computes how one group goes from its buckets 'old' ('n_old') to one
 * bucket per instance of 'want' ('n_want', all of the same object).  A
 * bucket stays when an instance with the same host MAC, sockID and flowID
 * is still wanted; every other old bucket is removed; every wanted
 * instance without a bucket gets a new one, numbered from '*next_id'
 * (advanced).  On success stores malloc'ed arrays (NULL when empty) of the
 * removed bucket ids, in 'old' order, and of the added buckets, in 'want'
 * order, and returns 0; the caller frees both.  The group's new bucket
 * list is 'old' without the removed ones, followed by the added ones
 * (what insert-buckets at "last" gives).  Returns -ENOMEM, or -ENOSPC when
 * bucket ids are exhausted, with nothing stored. */
int
ctl_object_diff(const struct ctl_object_bucket *old, size_t n_old,
                const struct ctl_object_instance *want, size_t n_want,
                uint32_t *next_id, uint32_t **removed, size_t *n_removed,
                struct ctl_object_bucket **added, size_t *n_added)
{
    uint32_t *rm = calloc(n_old + 1, sizeof *rm);
    struct ctl_object_bucket *add = calloc(n_want + 1, sizeof *add);
    size_t n_rm = 0, n_add = 0;
    uint32_t id = *next_id ? *next_id : 1;

    *removed = NULL;
    *added = NULL;
    *n_removed = *n_added = 0;
    if (!rm || !add) {
        free(rm);
        free(add);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n_old; i++) {
        bool keep = false;
        for (size_t j = 0; !keep && j < n_want; j++) {
            keep = ctl_object_same(&old[i], &want[j]);
        }
        if (!keep) {
            rm[n_rm++] = old[i].bucket_id;
        }
    }
    for (size_t j = 0; j < n_want; j++) {
        bool have = false;
        for (size_t i = 0; !have && i < n_old; i++) {
            have = ctl_object_same(&old[i], &want[j]);
        }
        for (size_t k = 0; !have && k < n_add; k++) {
            have = !memcmp(add[k].mac, want[j].mac, 6)
                   && add[k].sock_id == want[j].sock_id;
        }
        if (have) {
            continue;
        }
        if (id > CTL_OBJECT_BUCKET_MAX) {
            free(rm);
            free(add);
            return -ENOSPC;
        }
        struct ctl_object_bucket *b = &add[n_add++];
        b->bucket_id = id++;
        memcpy(b->mac, want[j].mac, 6);
        b->sock_id = want[j].sock_id;
        b->flow_id = want[j].flow_id;
    }
    *next_id = id;
    if (n_rm) {
        *removed = rm;
        *n_removed = n_rm;
    } else {
        free(rm);
    }
    if (n_add) {
        *added = add;
        *n_added = n_add;
    } else {
        free(add);
    }
    return 0;
}

/* Picks, round robin, the instance that serves the next new flow of an
 * object: the one with the lowest flowID above '*last_flow' (the flowID
 * picked last time), wrapping around to the lowest.  Instances may come
 * and go between picks without skewing the turn.  Stores the pick's flowID
 * in '*last_flow' and returns its index in 'insts', or -ENOENT when 'n' is
 * 0. */
int
ctl_object_rr_pick(const struct ctl_object_instance *insts, size_t n,
                   uint32_t *last_flow)
{
    int next = -1, lowest = -1;

    for (size_t i = 0; i < n; i++) {
        uint32_t f = insts[i].flow_id;
        if (lowest < 0 || f < insts[lowest].flow_id) {
            lowest = i;
        }
        if (f > *last_flow && (next < 0 || f < insts[next].flow_id)) {
            next = i;
        }
    }
    if (lowest < 0) {
        return -ENOENT;
    }
    if (next < 0) {
        next = lowest;
    }
    *last_flow = insts[next].flow_id;
    return next;
}

/* Appends to 'ofpacts' what resolves a packet to 'flow_id': rewrite nw_dst,
 * then route it in the route table (which may send it back out of its
 * ingress port). */
static void
ctl_object_put_resolve(struct ofpbuf *ofpacts, uint32_t flow_id)
{
    ofpact_put_SET_IPV4_DST(ofpacts)->ipv4 = htonl(flow_id);
    struct ofpact_resubmit *rs = ofpact_put_RESUBMIT(ofpacts);
    rs->in_port = OFPP_IN_PORT;
    rs->table_id = CTL_TABLE_ROUTE;
}

static struct ofputil_bucket *
ctl_object_bucket_new(const struct ctl_object_bucket *b)
{
    struct ofputil_bucket *ob = calloc(1, sizeof *ob);
    struct ofpbuf ofpacts;

    if (!ob) {
        return NULL;
    }
    ofpbuf_init(&ofpacts, 64);
    ctl_object_put_resolve(&ofpacts, b->flow_id);
    ob->weight = 1;
    ob->watch_port = OFPP_ANY;
    ob->watch_group = OFPG_ANY;
    ob->bucket_id = b->bucket_id;
    ob->ofpacts_len = ofpacts.size;
    ob->ofpacts = ofpbuf_steal_data(&ofpacts);
    return ob;
}

static void
ctl_object_buckets_free(struct ovs_list *list)
{
    struct ofputil_bucket *ob;

    LIST_FOR_EACH_POP (ob, list_node, list) {
        free(ob->ofpacts);
        free(ob);
    }
}

static int
ctl_object_encode(enum ofp_version version, uint16_t command,
                  uint32_t group_id, uint32_t command_bucket_id,
                  bool round_robin, const struct ctl_object_bucket *buckets,
                  size_t n, struct ofpbuf **msgp)
{
    struct ofputil_group_mod gm;
    int rc = 0;

    if (version != OFP15_VERSION) {
        return -EPROTONOSUPPORT;
    }
    memset(&gm, 0, sizeof gm);
    gm.command = command;
    gm.type = OFPGT11_SELECT;
    gm.group_id = group_id;
    gm.command_bucket_id = command_bucket_id;
    ovs_list_init(&gm.buckets);
    if (round_robin) {
        strcpy(gm.props.selection_method, "round_robin");
    }
    for (size_t i = 0; i < n; i++) {
        struct ofputil_bucket *ob = ctl_object_bucket_new(&buckets[i]);
        if (!ob) {
            rc = -ENOMEM;
            break;
        }
        ovs_list_push_back(&gm.buckets, &ob->list_node);
    }
    if (!rc) {
        *msgp = ofputil_encode_group_mod(version, &gm, NULL, -1);
    }
    ctl_object_buckets_free(&gm.buckets);
    return rc;
}

/* Encodes an OFPGC15_ADD of select group 'group_id' with selection_method
 * round_robin and one bucket per element of 'buckets' ('n' may be 0).
 * Returns 0 and the message in '*msgp' (the caller's), -EPROTONOSUPPORT
 * for a version other than OpenFlow 1.5, or -ENOMEM. */
int
ctl_object_encode_add(enum ofp_version version, uint32_t group_id,
                      const struct ctl_object_bucket *buckets, size_t n,
                      struct ofpbuf **msgp)
{
    return ctl_object_encode(version, OFPGC15_ADD, group_id,
                             OFPG15_BUCKET_ALL, true, buckets, n, msgp);
}

/* Encodes an OFPGC15_INSERT_BUCKET that appends 'buckets' to group
 * 'group_id'.  Same contract as ctl_object_encode_add(). */
int
ctl_object_encode_insert(enum ofp_version version, uint32_t group_id,
                         const struct ctl_object_bucket *buckets, size_t n,
                         struct ofpbuf **msgp)
{
    return ctl_object_encode(version, OFPGC15_INSERT_BUCKET, group_id,
                             OFPG15_BUCKET_LAST, false, buckets, n, msgp);
}

/* Encodes an OFPGC15_REMOVE_BUCKET of bucket 'bucket_id' of group
 * 'group_id'.  Same contract as ctl_object_encode_add(). */
int
ctl_object_encode_remove(enum ofp_version version, uint32_t group_id,
                         uint32_t bucket_id, struct ofpbuf **msgp)
{
    return ctl_object_encode(version, OFPGC15_REMOVE_BUCKET, group_id,
                             bucket_id, false, NULL, 0, msgp);
}

/* Encodes an OFPGC15_DELETE of group 'group_id' (OFPG_ALL: every group;
 * the switch also deletes the flows that use them).  Same contract as
 * ctl_object_encode_add(). */
int
ctl_object_encode_delete(enum ofp_version version, uint32_t group_id,
                         struct ofpbuf **msgp)
{
    return ctl_object_encode(version, OFPGC15_DELETE, group_id,
                             OFPG15_BUCKET_ALL, false, NULL, 0, msgp);
}

static ovs_be64
ctl_object_htonll(uint64_t x)
{
    return ((ovs_be64) htonl(x & 0xffffffff) << 32) | htonl(x >> 32);
}

/* Fallback resolution of the packet 'packet' ('len' bytes) of flow 'f' to
 * the instance at 'flow_id': stores in '*flow_mod' an exact 5-tuple flow
 * (table 0, idle timeout CTL_OBJECT_RR_IDLE seconds) that resolves the rest
 * of the flow in the switch, and in '*packet_out' a packet-out that
 * resolves this packet.  Both are the caller's.  OpenFlow 1.3 and 1.5
 * only (the route table is needed): -EPROTONOSUPPORT otherwise. */
int
ctl_object_encode_resolved(enum ofp_version version,
                           const struct ctl_object_flow *f, uint32_t flow_id,
                           const void *packet, size_t len,
                           struct ofpbuf **flow_mod,
                           struct ofpbuf **packet_out)
{
    enum ofputil_protocol proto = ofputil_protocol_from_ofp_version(version);
    uint64_t stub[128 / 8];
    struct ofpbuf ofpacts;
    struct match match;

    if (version != OFP13_VERSION && version != OFP15_VERSION) {
        return -EPROTONOSUPPORT;
    }
    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    ctl_object_put_resolve(&ofpacts, flow_id);

    match_init_catchall(&match);
    match_set_dl_type(&match, htons(0x0800));
    match_set_nw_proto(&match, 17);
    match_set_nw_src(&match, htonl(f->nw_src));
    match_set_nw_dst(&match, htonl(f->nw_dst));
    match_set_tp_src(&match, htons(f->tp_src));
    match_set_tp_dst(&match, htons(f->tp_dst));
    struct ofputil_flow_mod fm = {
        .priority = CTL_PRIO_RESOLVED,
        .new_cookie = ctl_object_htonll(ctl_cookie(CTL_COOKIE_RESOLVED,
                                                   f->tp_dst)),
        .table_id = CTL_TABLE_CLASSIFY,
        .command = OFPFC_ADD,
        .idle_timeout = CTL_OBJECT_RR_IDLE,
        .buffer_id = UINT32_MAX,
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
        .ofpacts = ofpacts.data,
        .ofpacts_len = ofpacts.size,
    };
    minimatch_init(&fm.match, &match);
    *flow_mod = ofputil_encode_flow_mod(&fm, proto);
    minimatch_destroy(&fm.match);

    struct ofputil_packet_out po = {
        .packet = packet,
        .packet_len = len,
        .buffer_id = UINT32_MAX,
        .ofpacts = ofpacts.data,
        .ofpacts_len = ofpacts.size,
    };
    match_init_catchall(&po.flow_metadata);
    match_set_in_port(&po.flow_metadata, OFP_PORT_C(f->in_port));
    *packet_out = ofputil_encode_packet_out(&po, proto);
    ofpbuf_uninit(&ofpacts);
    return 0;
}
