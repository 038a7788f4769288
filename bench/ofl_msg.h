/*
 * sf-ofload: the OpenFlow 1.0 messages an emulated switch sends and the
 * classification of what a controller sends back.
 *
 * Everything is encoded and decoded with libopenvswitch's codec.  Packet-ins
 * are encoded once per switch into a template (struct ofl_pin); sending one
 * copies the template and patches the xid, buffer id and MAC addresses, so
 * the hot path neither allocates nor re-encodes.
 */
#ifndef OFL_MSG_H
#define OFL_MSG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/types.h"

/* Length of the Ethernet frame carried by every packet-in. */
#define OFL_FRAME_LEN 64

/* Ports every emulated switch reports (1..OFL_N_PORTS). */
#define OFL_N_PORTS 4

/* The port data packet-ins arrive on, and the port the destination MAC is
 * announced on (so a learning controller answers with a flow-mod). */
#define OFL_PORT_DATA 1
#define OFL_PORT_DST 2

/* A packet-in template: an encoded OFPT_PACKET_IN (OpenFlow 1.0) and the
 * offsets of the fields patched per message. */
struct ofl_pin {
    struct ofpbuf *msg;         /* Encoded message, owned. */
    size_t bid_ofs;             /* Offset of the 32-bit buffer id. */
    size_t dst_ofs;             /* Offset of the frame's destination MAC. */
    size_t src_ofs;             /* Offset of the frame's source MAC. */
};

/* What a controller message means to the load generator. */
enum ofl_resp {
    OFL_RESP_NONE,              /* Not a response to a packet-in. */
    OFL_RESP_FLOW_ADD,          /* Flow-mod ADD or MODIFY_STRICT. */
    OFL_RESP_FLOW_OTHER,        /* Flow-mod with another command. */
    OFL_RESP_PACKET_OUT,        /* Packet-out answering a packet-in: it
                                 * names a buffer or comes from the data
                                 * port. */
    OFL_RESP_PACKET_OUT_OTHER,  /* Packet-out of the controller's own (no
                                 * buffer, another in_port: a discovery
                                 * probe, say). */
};

/* Source MAC number 'idx' of switch 'sw_id' (locally administered unicast,
 * 02:ss:ss:ii:ii:ii) and the destination MAC announced by switch 'sw_id'
 * (0a:00:00:00:ss:ss). */
struct eth_addr ofl_msg_src_mac(uint16_t sw_id, uint32_t idx);
struct eth_addr ofl_msg_dst_mac(uint16_t sw_id);

/* Builds a packet-in template for a frame received on 'in_port' from 'src'
 * to 'dst'.  'arp' selects a gratuitous ARP reply (used to announce 'src')
 * instead of an IPv4/UDP frame.  The caller owns the template and frees it
 * with ofl_pin_destroy(). */
void ofl_pin_init(struct ofl_pin *, uint16_t in_port, struct eth_addr src,
                  struct eth_addr dst, bool arp);
void ofl_pin_destroy(struct ofl_pin *);

/* Appends one packet-in to 'out', from the template with 'xid', 'buffer_id'
 * and source MAC 'src'. */
void ofl_pin_put(const struct ofl_pin *, struct ofpbuf *out, uint32_t xid,
                 uint32_t buffer_id, struct eth_addr src);

/* Appends an OpenFlow 1.0 hello to 'out'. */
void ofl_msg_put_hello(struct ofpbuf *out);

/* Appends an echo request with 'xid' to 'out'. */
void ofl_msg_put_echo_request(struct ofpbuf *out, uint32_t xid);

/* Answers a controller request 'oh' of type 'type' for the switch with
 * datapath id 'dpid', appending the reply (if any) to 'out'.  '*miss_len' is
 * the switch's miss_send_len, updated by set-config.  Returns 0 if 'oh' was
 * understood (including messages that need no reply), or the OpenFlow error
 * that was appended to 'out' as the reply. */
enum ofperr ofl_msg_answer(const struct ofp_header *oh, enum ofptype type,
                           uint64_t dpid, uint16_t *miss_len,
                           struct ofpbuf *out);

/* Classifies controller message 'oh' of type 'type' as a response to a
 * packet-in.  For flow-mods and packet-outs, '*buffer_id' is the message's
 * buffer id (UINT32_MAX for none). */
enum ofl_resp ofl_msg_classify(const struct ofp_header *oh, enum ofptype type,
                               uint32_t *buffer_id);

#endif /* bench/ofl_msg.h */
