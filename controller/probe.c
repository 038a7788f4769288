/*
 * SCAFFOLD controller: discovery probe frames (see probe.h for the layout).
 *
 * The encoder writes the whole frame into a caller buffer; the decoder
 * walks the TLVs of a received frame, checks each length against what is
 * left, and accepts the frame only when it carries our organisational TLV.
 * The Chassis and Port ID TLVs are for humans and other tools; the decoder
 * does not trust them.
 */
#include "controller/probe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CTL_LLDP_END 0
#define CTL_LLDP_CHASSIS 1
#define CTL_LLDP_PORT 2
#define CTL_LLDP_TTL 3
#define CTL_LLDP_ORG 127
#define CTL_PROBE_SUBTYPE 1
#define CTL_PROBE_ORG_LEN (3 + 1 + 8 + 4 + 8)

static const uint8_t ctl_lldp_dst[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e };

static void
ctl_put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

static uint64_t
ctl_get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Appends TLV (type, value) at 'p' + '*ofs'.  The caller checked space. */
static void
ctl_put_tlv(uint8_t *p, size_t *ofs, int type, const void *value, size_t len)
{
    ctl_put_be(p + *ofs, ((unsigned) type << 9) | len, 2);
    memcpy(p + *ofs + 2, value, len);
    *ofs += 2 + len;
}

/* Writes the probe for 'probe' leaving a port with MAC 'src_mac' into
 * 'buf'.  Returns the frame length or -ENOSPC when 'size' is below
 * CTL_PROBE_MAX_LEN. */
int
ctl_probe_encode(const struct ctl_probe *probe, const uint8_t src_mac[6],
                 uint8_t *buf, size_t size)
{
    uint8_t value[64];
    size_t ofs = 0;
    int n;

    if (size < CTL_PROBE_MAX_LEN) {
        return -ENOSPC;
    }
    memcpy(buf, ctl_lldp_dst, 6);
    memcpy(buf + 6, src_mac, 6);
    ctl_put_be(buf + 12, CTL_PROBE_ETHERTYPE, 2);
    ofs = 14;

    value[0] = 7;               /* Locally assigned. */
    n = snprintf((char *) value + 1, sizeof value - 1, "dpid:%016llx",
                 (unsigned long long) probe->dpid);
    ctl_put_tlv(buf, &ofs, CTL_LLDP_CHASSIS, value, 1 + n);

    value[0] = 7;
    n = snprintf((char *) value + 1, sizeof value - 1, "%u",
                 (unsigned) probe->port);
    ctl_put_tlv(buf, &ofs, CTL_LLDP_PORT, value, 1 + n);

    ctl_put_be(value, 120, 2);
    ctl_put_tlv(buf, &ofs, CTL_LLDP_TTL, value, 2);

    ctl_put_be(value, CTL_PROBE_OUI, 3);
    value[3] = CTL_PROBE_SUBTYPE;
    ctl_put_be(value + 4, probe->dpid, 8);
    ctl_put_be(value + 12, probe->port, 4);
    ctl_put_be(value + 16, probe->instance, 8);
    ctl_put_tlv(buf, &ofs, CTL_LLDP_ORG, value, CTL_PROBE_ORG_LEN);

    ctl_put_tlv(buf, &ofs, CTL_LLDP_END, NULL, 0);
    /* Pad to the Ethernet minimum (60 bytes without FCS). */
    while (ofs < 60) {
        buf[ofs++] = 0;
    }
    return ofs;
}

/* Decodes 'frame' (a whole Ethernet frame).  Returns 0 and fills 'probe'
 * when it is one of our probes; -EINVAL when it is LLDP without our TLV or
 * malformed; -ENOENT when it is not LLDP at all. */
int
ctl_probe_decode(const void *frame, size_t len, struct ctl_probe *probe)
{
    const uint8_t *p = frame;
    bool found = false;
    size_t ofs = 14;

    if (len < 14 || ctl_get_be(p + 12, 2) != CTL_PROBE_ETHERTYPE) {
        return -ENOENT;
    }
    for (;;) {
        if (len - ofs < 2) {
            return -EINVAL;     /* Truncated: no End TLV. */
        }
        unsigned hdr = ctl_get_be(p + ofs, 2);
        unsigned type = hdr >> 9, tlv_len = hdr & 0x1ff;
        ofs += 2;
        if (tlv_len > len - ofs) {
            return -EINVAL;
        }
        if (type == CTL_LLDP_END) {
            break;
        }
        if (type == CTL_LLDP_ORG && tlv_len == CTL_PROBE_ORG_LEN
            && ctl_get_be(p + ofs, 3) == CTL_PROBE_OUI
            && p[ofs + 3] == CTL_PROBE_SUBTYPE) {
            probe->dpid = ctl_get_be(p + ofs + 4, 8);
            probe->port = ctl_get_be(p + ofs + 12, 4);
            probe->instance = ctl_get_be(p + ofs + 16, 8);
            found = true;
        }
        ofs += tlv_len;
    }
    return found ? 0 : -EINVAL;
}
