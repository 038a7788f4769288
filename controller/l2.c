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
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofpbuf.h"
#include "controller/rules.h"

struct ctl_l2_entry {
    struct hmap_node node;      /* In ctl_l2's 'macs'. */
    struct ovs_list lru;        /* In ctl_l2's 'lru', oldest first. */
    uint8_t mac[6];             /* Learnt MAC. */
    uint32_t port;              /* Port it was last seen on. */
};

/* The OpenFlow 1.0 answer flow-mod, encoded once by libopenvswitch and
 * patched per packet-in (ctl_l2_answer_fast()). */
struct ctl_l2_template {
    bool ready;                 /* Encoded and its offsets verified. */
    bool broken;                /* Encoding or verification failed: the
                                 * fast path stays off. */
    size_t len;                 /* Message length. */
    uint8_t msg[128];           /* The message. */
};

struct ctl_l2 {
    struct hmap macs;           /* struct ctl_l2_entry by MAC. */
    struct ovs_list lru;        /* Least recently learnt first. */
    size_t max;                 /* Bound on entries. */
    struct ctl_l2_template tpl; /* OpenFlow 1.0 answer template. */
};

/* Where the OpenFlow 1.0 flow-mod's variable fields sit: OVS's own message
 * structs, after the 8-byte header; the output action is the standard
 * ofp_action_output (type, len, port, max_len) right after the flow-mod. */
#define CTL_L2_OFS_MATCH (sizeof(struct ofp_header) \
                          + offsetof(struct ofp10_flow_mod, match))
#define CTL_L2_OFS_IN_PORT (CTL_L2_OFS_MATCH \
                            + offsetof(struct ofp10_match, in_port))
#define CTL_L2_OFS_DL_SRC (CTL_L2_OFS_MATCH \
                           + offsetof(struct ofp10_match, dl_src))
#define CTL_L2_OFS_DL_DST (CTL_L2_OFS_MATCH \
                           + offsetof(struct ofp10_match, dl_dst))
#define CTL_L2_OFS_BUFFER (sizeof(struct ofp_header) \
                           + offsetof(struct ofp10_flow_mod, buffer_id))
#define CTL_L2_OFS_OUT_PORT (sizeof(struct ofp_header) \
                             + sizeof(struct ofp10_flow_mod) + 4)

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

/* Encodes the answer flow-mod: in_port, dl_src, dl_dst -> output:out,
 * naming 'buffer_id'.  The caller owns the result. */
static struct ofpbuf *
ctl_l2_encode_flow_mod(enum ofp_version version, uint32_t in_port,
                       const uint8_t src_mac[6], const uint8_t dst_mac[6],
                       uint32_t out, uint32_t buffer_id)
{
    uint64_t stub[64 / 8];
    struct ofpbuf ofpacts;
    struct match match;
    struct eth_addr src, dst;

    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    ofpact_put_OUTPUT(&ofpacts)->port = OFP_PORT_C(out);
    memcpy(src.ea, src_mac, 6);
    memcpy(dst.ea, dst_mac, 6);
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
    struct ofpbuf *msg = ofputil_encode_flow_mod(
        &fm, ofputil_protocol_from_ofp_version(version));
    minimatch_destroy(&fm.match);
    ofpbuf_uninit(&ofpacts);
    return msg;
}

static uint32_t
ctl_l2_get16(const uint8_t *p)
{
    return (uint32_t) p[0] << 8 | p[1];
}

static uint32_t
ctl_l2_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static void
ctl_l2_put16(uint8_t *p, uint32_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void
ctl_l2_put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* Encodes the OpenFlow 1.0 answer template of 'l2' once, with marker
 * values in every field the fast path patches, and checks that each
 * marker is where the offsets say: if libopenvswitch ever lays the message
 * out differently, the fast path stays off rather than sending garbage. */
static void
ctl_l2_template_init(struct ctl_l2 *l2)
{
    static const uint8_t src[6] = { 0x0a, 0x5c, 0x01, 0x02, 0x03, 0x04 };
    static const uint8_t dst[6] = { 0x0a, 0x5c, 0x05, 0x06, 0x07, 0x08 };
    struct ctl_l2_template *t = &l2->tpl;
    struct ofpbuf *msg = ctl_l2_encode_flow_mod(OFP10_VERSION, 0x1234, src,
                                                dst, 0x4321, 0x5c5c0001);

    t->broken = true;
    if (!msg) {
        return;
    }
    ofpmsg_update_length(msg);
    const uint8_t *b = msg->data;
    if (msg->size <= sizeof t->msg
        && msg->size >= CTL_L2_OFS_OUT_PORT + 2
        && ctl_l2_get16(b + CTL_L2_OFS_IN_PORT) == 0x1234
        && !memcmp(b + CTL_L2_OFS_DL_SRC, src, 6)
        && !memcmp(b + CTL_L2_OFS_DL_DST, dst, 6)
        && ctl_l2_get32(b + CTL_L2_OFS_BUFFER) == 0x5c5c0001
        && ctl_l2_get16(b + CTL_L2_OFS_OUT_PORT) == 0x4321) {
        memcpy(t->msg, b, msg->size);
        t->len = msg->size;
        t->broken = false;
        t->ready = true;
    }
    ofpbuf_delete(msg);
}

/* The fast path of ctl_l2_answer() for an OpenFlow 1.0 switch: learns
 * from the packet-in of 'frame' ('len' bytes, buffered in 'buffer_id',
 * arrived on 'in_port') and, when the answer is one flow-mod naming the
 * buffer (known unicast destination on another port), patches the
 * switch's template (encoded once by libopenvswitch) and points '*msg' at
 * it ('*msg_len' bytes, owned by 'l2', valid until the next call; the
 * sender patches the xid).  No allocation.  Returns 0; -EAGAIN when the
 * answer is something else (flood, unbuffered, destination behind
 * 'in_port', port beyond 16 bits, no template): the caller then uses
 * ctl_l2_answer(), which learns again harmlessly; -EINVAL for a runt. */
int
ctl_l2_answer_fast(struct ctl_l2 *l2, uint32_t in_port, uint32_t buffer_id,
                   const void *frame, size_t len, void **msg,
                   size_t *msg_len)
{
    const uint8_t *eth = frame;

    if (len < 14) {
        return -EINVAL;
    }
    ctl_l2_learn(l2, eth + 6, in_port);
    if (eth[0] & 1 || buffer_id == UINT32_MAX || in_port > 0xff00) {
        return -EAGAIN;
    }
    uint32_t out = ctl_l2_lookup(l2, eth);
    if (!out || out == in_port || out > 0xff00) {
        return -EAGAIN;
    }
    if (!l2->tpl.ready) {
        if (l2->tpl.broken) {
            return -EAGAIN;
        }
        ctl_l2_template_init(l2);
        if (!l2->tpl.ready) {
            return -EAGAIN;
        }
    }
    uint8_t *t = l2->tpl.msg;
    ctl_l2_put16(t + CTL_L2_OFS_IN_PORT, in_port);
    memcpy(t + CTL_L2_OFS_DL_SRC, eth + 6, 6);
    memcpy(t + CTL_L2_OFS_DL_DST, eth, 6);
    ctl_l2_put32(t + CTL_L2_OFS_BUFFER, buffer_id);
    ctl_l2_put16(t + CTL_L2_OFS_OUT_PORT, out);
    *msg = t;
    *msg_len = l2->tpl.len;
    return 0;
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
        *flow_mod = ctl_l2_encode_flow_mod(version, in_port, eth + 6, eth,
                                           out, buffer_id);
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
