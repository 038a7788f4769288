/*
 * SCAFFOLD controller: L2 learning for non-SCAFFOLD traffic (--l2-learning).
 *
 * So that a network can carry ordinary traffic beside SCAFFOLD, a label
 * router whose table-0 default sends packets to the controller (rules.h,
 * CTL_COOKIE_L2) gets learning-switch answers: each packet-in teaches the
 * switch's table "source MAC is behind in_port"; a packet to a known
 * unicast MAC is answered with ONE flow-mod (in_port, dl_src, dl_dst ->
 * output) that carries the packet-in's buffer id, so the switch forwards
 * the buffered packet and the rest of the flow itself; an unbuffered packet
 * also gets a packet-out; an unknown or multicast destination is flooded
 * by a packet-out.
 *
 * Fast path (OpenFlow 1.0, the cbench-style load): ctl_l2_answer_fast()
 * answers a buffered packet-in for a known destination by patching a
 * per-switch flow-mod template that libopenvswitch encoded once (buffer
 * id, in_port, dl_src, dl_dst, output port), with no allocation; anything
 * else falls back to ctl_l2_answer().
 *
 * One table per switch, bounded (least recently learnt MAC evicted first).
 * No I/O: the caller sends the messages, which it owns.
 */
#ifndef CTL_L2_H
#define CTL_L2_H 1

#include <stddef.h>
#include <stdint.h>

#include "openvswitch/ofp-protocol.h"

struct ofpbuf;
struct ctl_l2;

/* Idle timeout of a learnt flow, seconds. */
#define CTL_L2_IDLE 60
/* Priority of a learnt flow: above the default rules only. */
#define CTL_L2_PRIORITY 1

struct ctl_l2 *ctl_l2_create(size_t max_macs);
void ctl_l2_destroy(struct ctl_l2 *);
void ctl_l2_learn(struct ctl_l2 *, const uint8_t mac[6], uint32_t port);
uint32_t ctl_l2_lookup(const struct ctl_l2 *, const uint8_t mac[6]);
size_t ctl_l2_count(const struct ctl_l2 *);

int ctl_l2_answer(struct ctl_l2 *, enum ofp_version, uint32_t in_port,
                  uint32_t buffer_id, const void *frame, size_t len,
                  struct ofpbuf **flow_mod, struct ofpbuf **packet_out);

int ctl_l2_answer_fast(struct ctl_l2 *, uint32_t in_port, uint32_t buffer_id,
                       const void *frame, size_t len, void **msg,
                       size_t *msg_len);

#endif /* controller/l2.h */
