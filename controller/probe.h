/*
 * SCAFFOLD controller: discovery probe frames (LLDP-style).
 *
 * The controller sends one probe out of every port of every switch
 * (packet-out) and learns a link when a neighbouring switch hands it back
 * (packet-in).  A probe is an 802.1AB LLDP frame so that packet captures
 * and tools recognise it:
 *
 *     dst 01:80:c2:00:00:0e, src = port MAC, ethertype 0x88cc
 *     Chassis ID  (type 1, subtype 7 "local"): "dpid:%016x"
 *     Port ID     (type 2, subtype 7 "local"): port number in decimal
 *     TTL         (type 3): 120 s
 *     Organisational TLV (type 127), OUI CTL_PROBE_OUI, subtype 1:
 *                 dpid (8 bytes) | port (4 bytes) | instance (8 bytes)
 *     End         (type 0)
 *
 * The organisational TLV carries the binary source and the controller
 * instance's random nonce: probes from another controller (or forged by a
 * host) carry the wrong nonce and are ignored.  Pure functions, no I/O;
 * hand-written because libopenvswitch keeps its LLDP code internal.
 */
#ifndef CTL_PROBE_H
#define CTL_PROBE_H 1

#include <stddef.h>
#include <stdint.h>

#define CTL_PROBE_ETHERTYPE 0x88cc
#define CTL_PROBE_OUI 0x5ca4f0u     /* Private to this project. */
#define CTL_PROBE_MAX_LEN 128       /* Enough for any probe we build. */

/* What a probe says. */
struct ctl_probe {
    uint64_t dpid;              /* Switch that sent it. */
    uint32_t port;              /* Port it left by. */
    uint64_t instance;          /* Sending controller's nonce. */
};

int ctl_probe_encode(const struct ctl_probe *, const uint8_t src_mac[6],
                     uint8_t *buf, size_t size);
int ctl_probe_decode(const void *frame, size_t len, struct ctl_probe *);

#endif /* controller/probe.h */
