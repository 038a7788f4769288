/*
 * SCAFFOLD controller: L2 learning for non-SCAFFOLD traffic (see l2.h).
 *
 * The table is an OVS hmap keyed by MAC with an LRU list: learning a MAC
 * again moves it to the tail, a full table evicts the head.  Entries are
 * allocated once per MAC, not per packet.
 */
#include "controller/l2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofpbuf.h"
#include "controller/rules.h"

struct ctl_l2_entry {
    struct hmap_node node;      /* In ctl_l2's 'macs'. */
    struct ovs_list lru;        /* In ctl_l2's 'lru', oldest first. */
    uint8_t mac[6];             /* Learnt MAC. */
    uint32_t port;              /* Port it was last seen on. */
};

struct ctl_l2 {
    struct hmap macs;           /* struct ctl_l2_entry by MAC. */
    struct ovs_list lru;        /* Least recently learnt first. */
    size_t max;                 /* Bound on entries. */
};

static uint32_t
ctl_l2_hash(const uint8_t mac[6])
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 6; i++) {
        h = (h ^ mac[i]) * 16777619u;
    }
    return h;
}

static struct ctl_l2_entry *
ctl_l2_find(const struct ctl_l2 *l2, const uint8_t mac[6])
{
    struct ctl_l2_entry *e;

    HMAP_FOR_EACH_WITH_HASH (e, node, ctl_l2_hash(mac), &l2->macs) {
        if (!memcmp(e->mac, mac, 6)) {
            return e;
        }
    }
    return NULL;
}

/* Creates an empty table of at most 'max_macs' MACs (at least 1).  Returns
 * NULL when out of memory. */
struct ctl_l2 *
ctl_l2_create(size_t max_macs)
{
    struct ctl_l2 *l2 = calloc(1, sizeof *l2);

    if (l2) {
        hmap_init(&l2->macs);
        ovs_list_init(&l2->lru);
        l2->max = max_macs ? max_macs : 1;
    }
    return l2;
}

/* Frees 'l2'.  Accepts NULL. */
void
ctl_l2_destroy(struct ctl_l2 *l2)
{
    struct ctl_l2_entry *e;

    if (!l2) {
        return;
    }
    HMAP_FOR_EACH_POP (e, node, &l2->macs) {
        free(e);
    }
    hmap_destroy(&l2->macs);
    free(l2);
}

/* Records that 'mac' (a unicast source) is behind 'port'.  Multicast
 * sources are ignored.  When the table is full the least recently learnt
 * MAC is forgotten. */
void
ctl_l2_learn(struct ctl_l2 *l2, const uint8_t mac[6], uint32_t port)
{
    struct ctl_l2_entry *e;

    if (mac[0] & 1) {
        return;
    }
    e = ctl_l2_find(l2, mac);
    if (e) {
        ovs_list_remove(&e->lru);
    } else {
        if (hmap_count(&l2->macs) >= l2->max) {
            e = CONTAINER_OF(ovs_list_pop_front(&l2->lru),
                             struct ctl_l2_entry, lru);
            hmap_remove(&l2->macs, &e->node);
        } else {
            e = malloc(sizeof *e);
            if (!e) {
                return;
            }
        }
        memcpy(e->mac, mac, 6);
        hmap_insert(&l2->macs, &e->node, ctl_l2_hash(mac));
    }
    e->port = port;
    ovs_list_push_back(&l2->lru, &e->lru);
}

/* Returns the port 'mac' was learnt on, or 0 if unknown. */
uint32_t
ctl_l2_lookup(const struct ctl_l2 *l2, const uint8_t mac[6])
{
    const struct ctl_l2_entry *e = ctl_l2_find(l2, mac);

    return e ? e->port : 0;
}

size_t
ctl_l2_count(const struct ctl_l2 *l2)
{
    return hmap_count(&l2->macs);
}

static ovs_be64
ctl_l2_htonll(uint64_t x)
{
    return ((ovs_be64) htonl(x & 0xffffffff) << 32) | htonl(x >> 32);
}

/* Learns from the packet-in of 'frame' ('len' bytes, in 'buffer_id' or
 * UINT32_MAX when not buffered) that arrived on 'in_port', and makes the
 * answer: for a known unicast destination on another port, a flow-mod in
 * '*flow_mod' naming the buffer (plus, for an unbuffered packet, a
 * packet-out of it in '*packet_out'); for an unknown or multicast
 * destination, a flooding packet-out in '*packet_out'; for a destination
 * behind 'in_port' itself, nothing.  Unused outputs are NULL; the caller
 * owns the rest.  Returns 0, or -EINVAL for a frame shorter than an
 * Ethernet header. */
int
ctl_l2_answer(struct ctl_l2 *l2, enum ofp_version version, uint32_t in_port,
              uint32_t buffer_id, const void *frame, size_t len,
              struct ofpbuf **flow_mod, struct ofpbuf **packet_out)
{
    enum ofputil_protocol proto = ofputil_protocol_from_ofp_version(version);
    const uint8_t *eth = frame;
    uint64_t stub[64 / 8];
    struct ofpbuf ofpacts;

    *flow_mod = NULL;
    *packet_out = NULL;
    if (len < 14) {
        return -EINVAL;
    }
    ctl_l2_learn(l2, eth + 6, in_port);
    uint32_t out = eth[0] & 1 ? 0 : ctl_l2_lookup(l2, eth);
    if (out == in_port) {
        return 0;
    }
    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    ofpact_put_OUTPUT(&ofpacts)->port = out ? OFP_PORT_C(out) : OFPP_FLOOD;
    if (out) {
        struct match match;
        struct eth_addr src, dst;
        memcpy(src.ea, eth + 6, 6);
        memcpy(dst.ea, eth, 6);
        match_init_catchall(&match);
        match_set_in_port(&match, OFP_PORT_C(in_port));
        match_set_dl_src(&match, src);
        match_set_dl_dst(&match, dst);
        struct ofputil_flow_mod fm = {
            .priority = CTL_L2_PRIORITY,
            .new_cookie = ctl_l2_htonll(ctl_cookie(CTL_COOKIE_L2_FLOW, 0)),
            .table_id = CTL_TABLE_CLASSIFY,
            .command = OFPFC_ADD,
            .idle_timeout = CTL_L2_IDLE,
            .buffer_id = buffer_id,
            .out_port = OFPP_ANY,
            .out_group = OFPG_ANY,
            .ofpacts = ofpacts.data,
            .ofpacts_len = ofpacts.size,
        };
        minimatch_init(&fm.match, &match);
        *flow_mod = ofputil_encode_flow_mod(&fm, proto);
        minimatch_destroy(&fm.match);
    }
    if (!out || buffer_id == UINT32_MAX) {
        struct ofputil_packet_out po = {
            .packet = buffer_id == UINT32_MAX ? frame : NULL,
            .packet_len = buffer_id == UINT32_MAX ? len : 0,
            .buffer_id = buffer_id,
            .ofpacts = ofpacts.data,
            .ofpacts_len = ofpacts.size,
        };
        match_init_catchall(&po.flow_metadata);
        match_set_in_port(&po.flow_metadata, OFP_PORT_C(in_port));
        *packet_out = ofputil_encode_packet_out(&po, proto);
    }
    ofpbuf_uninit(&ofpacts);
    return 0;
}
