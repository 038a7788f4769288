/*
 * sf-ofload: OpenFlow 1.0 messages of an emulated switch.
 *
 * The switch side of a cbench-style benchmark needs few messages: a hello,
 * a features reply with a handful of ports, answers to the requests a
 * controller makes while it sets a switch up (get-config, barrier, echo,
 * description and port-description statistics), and packet-ins.  All of
 * them are encoded with libopenvswitch.  Packet-ins, the only messages sent
 * at a high rate, are encoded once into a template (struct ofl_pin) whose
 * buffer id, xid and MAC addresses are patched in place per message.  The
 * patched offsets come from the codec's own message structures, so the
 * template stays valid whatever the codec emits.
 *
 * Frames are built from the C library's protocol headers: the Ethernet
 * frame is data carried by OpenFlow, not an OpenFlow structure.
 */
#include "bench/ofl_msg.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <net/ethernet.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/util.h"

/* The packet-in's frame: Ethernet + IPv4 + UDP, padded to OFL_FRAME_LEN. */
#define OFL_UDP_SRC 5000
#define OFL_UDP_DST 6000

static void ofl_msg_append(struct ofpbuf *out, struct ofpbuf *msg);
static ofp_port_t ofl_port(uint16_t);
static uint16_t ofl_ip_csum(const void *, size_t);
static size_t ofl_frame_udp(uint8_t *frame, struct eth_addr src,
                            struct eth_addr dst);
static size_t ofl_frame_arp(uint8_t *frame, struct eth_addr src);

struct eth_addr
ofl_msg_src_mac(uint16_t sw_id, uint32_t idx)
{
    struct eth_addr ea = { .ea = { 0x02, sw_id >> 8, sw_id & 0xff,
                                   (idx >> 16) & 0xff, (idx >> 8) & 0xff,
                                   idx & 0xff } };
    return ea;
}

struct eth_addr
ofl_msg_dst_mac(uint16_t sw_id)
{
    struct eth_addr ea = { .ea = { 0x0a, 0, 0, 0, sw_id >> 8,
                                   sw_id & 0xff } };
    return ea;
}

void
ofl_pin_init(struct ofl_pin *pin, uint16_t in_port, struct eth_addr src,
             struct eth_addr dst, bool arp)
{
    uint8_t frame[OFL_FRAME_LEN];
    size_t len = arp ? ofl_frame_arp(frame, src) : ofl_frame_udp(frame, src,
                                                                 dst);

    struct ofputil_packet_in_private pi;
    memset(&pi, 0, sizeof pi);
    pi.base.packet = frame;
    pi.base.packet_len = len;
    pi.base.reason = OFPR_NO_MATCH;
    pi.base.table_id = 0;
    pi.base.cookie = OVS_BE64_MAX;
    match_init_catchall(&pi.base.flow_metadata);
    match_set_in_port(&pi.base.flow_metadata, ofl_port(in_port));

    pin->msg = ofputil_encode_packet_in_private(&pi, OFPUTIL_P_OF10_STD,
                                                OFPUTIL_PACKET_IN_STD);
    /* The codec leaves b->msg at the body (struct ofp10_packet_in) and
     * appends the frame last. */
    const uint8_t *base = pin->msg->data;
    pin->bid_ofs = ((const uint8_t *) pin->msg->msg - base)
                   + offsetof(struct ofp10_packet_in, buffer_id);
    size_t frame_ofs = pin->msg->size - len;
    pin->dst_ofs = frame_ofs + offsetof(struct ether_header, ether_dhost);
    pin->src_ofs = frame_ofs + offsetof(struct ether_header, ether_shost);
}

void
ofl_pin_destroy(struct ofl_pin *pin)
{
    if (pin) {
        ofpbuf_delete(pin->msg);
        pin->msg = NULL;
    }
}

void
ofl_pin_put(const struct ofl_pin *pin, struct ofpbuf *out, uint32_t xid,
            uint32_t buffer_id, struct eth_addr src)
{
    uint8_t *p = ofpbuf_put(out, pin->msg->data, pin->msg->size);
    struct ofp_header *oh = (struct ofp_header *) p;
    ovs_be32 bid = htonl(buffer_id);

    oh->xid = htonl(xid);
    memcpy(p + pin->bid_ofs, &bid, sizeof bid);
    memcpy(p + pin->src_ofs, src.ea, sizeof src.ea);
}

void
ofl_msg_put_hello(struct ofpbuf *out)
{
    ofl_msg_append(out, ofputil_encode_hello(1u << OFP10_VERSION));
}

void
ofl_msg_put_echo_request(struct ofpbuf *out, uint32_t xid)
{
    struct ofpbuf *msg = ofputil_encode_echo_request(OFP10_VERSION);
    struct ofp_header *oh = msg->data;
    oh->xid = htonl(xid);
    ofl_msg_append(out, msg);
}

/* The features reply: 'dpid', one table, OFL_N_PORTS ports. */
static struct ofpbuf *
ofl_msg_features_reply(uint64_t dpid, ovs_be32 xid)
{
    struct ofputil_switch_features f = {
        .datapath_id = dpid,
        .n_buffers = 256,
        .n_tables = 1,
        .capabilities = OFPUTIL_C_FLOW_STATS | OFPUTIL_C_TABLE_STATS
                        | OFPUTIL_C_PORT_STATS,
        .ofpacts = UINT64_C(1) << OFPACT_OUTPUT,
    };
    struct ofpbuf *msg = ofputil_encode_switch_features(
        &f, OFPUTIL_P_OF10_STD, xid);

    for (uint16_t i = 1; i <= OFL_N_PORTS; i++) {
        struct ofputil_phy_port pp;
        memset(&pp, 0, sizeof pp);
        pp.port_no = ofl_port(i);
        pp.hw_addr = ofl_msg_src_mac((uint16_t) dpid, 0xff0000u | i);
        snprintf(pp.name, sizeof pp.name, "s%"PRIu64"-eth%u", dpid, i);
        pp.curr = NETDEV_F_1GB_FD | NETDEV_F_COPPER;
        pp.supported = pp.advertised = pp.curr;
        pp.curr_speed = pp.max_speed = 1000000;
        ofputil_put_switch_features_port(&pp, msg);
    }
    return msg;
}

/* Port-description statistics reply (OpenFlow 1.0 carries it as an OVS
 * extension; some controllers ask for it anyway). */
static void
ofl_msg_put_port_desc(const struct ofp_header *oh, uint64_t dpid,
                      struct ofpbuf *out)
{
    struct ovs_list replies;
    ofpmp_init(&replies, oh);
    for (uint16_t i = 1; i <= OFL_N_PORTS; i++) {
        struct ofputil_phy_port pp;
        memset(&pp, 0, sizeof pp);
        pp.port_no = ofl_port(i);
        pp.hw_addr = ofl_msg_src_mac((uint16_t) dpid, 0xff0000u | i);
        snprintf(pp.name, sizeof pp.name, "s%"PRIu64"-eth%u", dpid, i);
        ofputil_append_port_desc_stats_reply(&pp, &replies);
    }
    struct ofpbuf *msg;
    LIST_FOR_EACH_POP (msg, list_node, &replies) {
        ofl_msg_append(out, msg);
    }
}

static void
ofl_msg_put_desc(const struct ofp_header *oh, uint64_t dpid,
                 struct ofpbuf *out)
{
    struct ofpbuf *msg = ofpraw_alloc_stats_reply(oh, 0);
    struct ofp_desc_stats *ods = ofpbuf_put_zeros(msg, sizeof *ods);

    snprintf(ods->mfr_desc, sizeof ods->mfr_desc, "SCAFFOLD suite");
    snprintf(ods->hw_desc, sizeof ods->hw_desc, "sf-ofload emulated switch");
    snprintf(ods->sw_desc, sizeof ods->sw_desc, "sf-ofload");
    snprintf(ods->serial_num, sizeof ods->serial_num, "%"PRIu64, dpid);
    snprintf(ods->dp_desc, sizeof ods->dp_desc, "switch %"PRIu64, dpid);
    ofl_msg_append(out, msg);
}

enum ofperr
ofl_msg_answer(const struct ofp_header *oh, enum ofptype type, uint64_t dpid,
               uint16_t *miss_len, struct ofpbuf *out)
{
    struct ofputil_switch_config config;
    enum ofperr error = 0;

    switch (type) {
    case OFPTYPE_FEATURES_REQUEST:
        ofl_msg_append(out, ofl_msg_features_reply(dpid, oh->xid));
        return 0;

    case OFPTYPE_ECHO_REQUEST:
        ofl_msg_append(out, ofputil_encode_echo_reply(oh));
        return 0;

    case OFPTYPE_BARRIER_REQUEST:
        ofl_msg_append(out, ofpraw_alloc_reply(OFPRAW_OFPT10_BARRIER_REPLY,
                                               oh, 0));
        return 0;

    case OFPTYPE_SET_CONFIG:
        error = ofputil_decode_set_config(oh, &config);
        if (!error) {
            *miss_len = config.miss_send_len;
            return 0;
        }
        break;

    case OFPTYPE_GET_CONFIG_REQUEST:
        memset(&config, 0, sizeof config);
        config.frag = OFPUTIL_FRAG_NORMAL;
        config.invalid_ttl_to_controller = -1;
        config.miss_send_len = *miss_len;
        ofl_msg_append(out, ofputil_encode_get_config_reply(oh, &config));
        return 0;

    case OFPTYPE_DESC_STATS_REQUEST:
        ofl_msg_put_desc(oh, dpid, out);
        return 0;

    case OFPTYPE_PORT_DESC_STATS_REQUEST:
        ofl_msg_put_port_desc(oh, dpid, out);
        return 0;

    /* Settings a real switch accepts silently, and messages that need no
     * answer. */
    case OFPTYPE_HELLO:
    case OFPTYPE_ECHO_REPLY:
    case OFPTYPE_SET_FLOW_FORMAT:
    case OFPTYPE_FLOW_MOD_TABLE_ID:
    case OFPTYPE_SET_PACKET_IN_FORMAT:
    case OFPTYPE_SET_CONTROLLER_ID:
    case OFPTYPE_SET_ASYNC_CONFIG:
    case OFPTYPE_FLOW_MOD:
    case OFPTYPE_PACKET_OUT:
    case OFPTYPE_PORT_MOD:
    case OFPTYPE_ERROR:
        return 0;

    case OFPTYPE_FLOW_STATS_REQUEST:
    case OFPTYPE_AGGREGATE_STATS_REQUEST:
    case OFPTYPE_TABLE_STATS_REQUEST:
    case OFPTYPE_PORT_STATS_REQUEST:
    case OFPTYPE_QUEUE_STATS_REQUEST:
        error = OFPERR_OFPBRC_BAD_STAT;
        break;

    default:
        error = OFPERR_OFPBRC_BAD_TYPE;
        break;
    }
    ofl_msg_append(out, ofperr_encode_reply(error, oh));
    return error;
}

enum ofl_resp
ofl_msg_classify(const struct ofp_header *oh, enum ofptype type,
                 uint32_t *buffer_id)
{
    *buffer_id = UINT32_MAX;
    if (type != OFPTYPE_FLOW_MOD && type != OFPTYPE_PACKET_OUT) {
        return OFL_RESP_NONE;
    }

    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
    enum ofpraw raw;
    if (ofpraw_pull(&raw, &b)) {
        return OFL_RESP_NONE;
    }

    uint16_t command;
    switch (raw) {
    case OFPRAW_OFPT10_FLOW_MOD: {
        const struct ofp10_flow_mod *ofm = ofpbuf_try_pull(&b, sizeof *ofm);
        if (!ofm) {
            return OFL_RESP_NONE;
        }
        *buffer_id = ntohl(ofm->buffer_id);
        command = ntohs(ofm->command) & 0xff;
        break;
    }
    case OFPRAW_NXT_FLOW_MOD: {
        const struct nx_flow_mod *nfm = ofpbuf_try_pull(&b, sizeof *nfm);
        if (!nfm) {
            return OFL_RESP_NONE;
        }
        *buffer_id = ntohl(nfm->buffer_id);
        command = ntohs(nfm->command) & 0xff;
        break;
    }
    case OFPRAW_OFPT10_PACKET_OUT: {
        const struct ofp10_packet_out *opo = ofpbuf_try_pull(&b, sizeof *opo);
        if (!opo) {
            return OFL_RESP_NONE;
        }
        *buffer_id = ntohl(opo->buffer_id);
        return (*buffer_id != UINT32_MAX
                || ntohs(opo->in_port) == OFL_PORT_DATA
                ? OFL_RESP_PACKET_OUT : OFL_RESP_PACKET_OUT_OTHER);
    }
    default:
        /* A later OpenFlow version: not negotiated by this tool. */
        return type == OFPTYPE_PACKET_OUT ? OFL_RESP_PACKET_OUT
                                          : OFL_RESP_FLOW_OTHER;
    }
    return (command == OFPFC_ADD || command == OFPFC_MODIFY_STRICT
            ? OFL_RESP_FLOW_ADD : OFL_RESP_FLOW_OTHER);
}

/* OpenFlow port number 'port' (libopenvswitch's own converter is internal).
 */
static ofp_port_t
ofl_port(uint16_t port)
{
    return (OVS_FORCE ofp_port_t) port;
}

/* Appends 'msg' to 'out' and frees 'msg'.  The codec leaves the header's
 * length to the sender for messages built in pieces (a features reply with
 * ports, statistics replies), so it is set here. */
static void
ofl_msg_append(struct ofpbuf *out, struct ofpbuf *msg)
{
    ofpmsg_update_length(msg);
    ofpbuf_put(out, msg->data, msg->size);
    ofpbuf_delete(msg);
}

static uint16_t
ofl_ip_csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return htons((uint16_t) ~sum);
}

/* An IPv4/UDP frame from 'src' to 'dst', OFL_FRAME_LEN bytes. */
static size_t
ofl_frame_udp(uint8_t *frame, struct eth_addr src, struct eth_addr dst)
{
    struct ether_header eh;
    struct iphdr ip;
    struct udphdr udp;
    size_t l3 = OFL_FRAME_LEN - sizeof eh;

    memset(frame, 0, OFL_FRAME_LEN);
    memcpy(eh.ether_dhost, dst.ea, ETH_ALEN);
    memcpy(eh.ether_shost, src.ea, ETH_ALEN);
    eh.ether_type = htons(ETHERTYPE_IP);

    memset(&ip, 0, sizeof ip);
    ip.version = 4;
    ip.ihl = sizeof ip / 4;
    ip.tot_len = htons((uint16_t) l3);
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.saddr = htonl(0xc0a80028);       /* 192.168.0.40 */
    ip.daddr = htonl(0xc0a80128);       /* 192.168.1.40 */
    ip.check = ofl_ip_csum(&ip, sizeof ip);

    memset(&udp, 0, sizeof udp);
    udp.source = htons(OFL_UDP_SRC);
    udp.dest = htons(OFL_UDP_DST);
    udp.len = htons((uint16_t) (l3 - sizeof ip));

    memcpy(frame, &eh, sizeof eh);
    memcpy(frame + sizeof eh, &ip, sizeof ip);
    memcpy(frame + sizeof eh + sizeof ip, &udp, sizeof udp);
    return OFL_FRAME_LEN;
}

/* A broadcast gratuitous ARP reply announcing 'src', OFL_FRAME_LEN bytes
 * (padded). */
static size_t
ofl_frame_arp(uint8_t *frame, struct eth_addr src)
{
    struct ether_header eh;
    struct ether_arp arp;
    uint32_t ip = htonl(0xc0a80100 | src.ea[5]);

    memset(frame, 0, OFL_FRAME_LEN);
    memset(eh.ether_dhost, 0xff, ETH_ALEN);
    memcpy(eh.ether_shost, src.ea, ETH_ALEN);
    eh.ether_type = htons(ETHERTYPE_ARP);

    memset(&arp, 0, sizeof arp);
    arp.arp_hrd = htons(ARPHRD_ETHER);
    arp.arp_pro = htons(ETHERTYPE_IP);
    arp.arp_hln = ETH_ALEN;
    arp.arp_pln = 4;
    arp.arp_op = htons(ARPOP_REPLY);
    memcpy(arp.arp_sha, src.ea, ETH_ALEN);
    memcpy(arp.arp_spa, &ip, 4);
    memcpy(arp.arp_tha, src.ea, ETH_ALEN);
    memcpy(arp.arp_tpa, &ip, 4);

    memcpy(frame, &eh, sizeof eh);
    memcpy(frame + sizeof eh, &arp, sizeof arp);
    return OFL_FRAME_LEN;
}
