/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the SCAFFOLD wire format codec (proto/sfp.[ch]).
 *
 * The frames below were written by hand from docs/protocol.md; their IPv4
 * and UDP checksums were computed once by an independent script (Python
 * struct + RFC 1071), not by the codec under test.  The malformed cases
 * mutate a copy of a vector and, where the mutation is not about the
 * checksums, recompute them with this file's own straightforward RFC 1071
 * code (fix_csums()), so that each case reaches the check it targets.
 */
#include "proto/sfp.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/harness.h"

/* SYN 10.3.517:1200 > 10.0.0:80 (unresolved), seq=1 ack=0
 * nonce=0x0123456789abcdef, id 0x1234, TTL 64, no payload. */
static const uint8_t vec_syn[62] = {
    /* eth dst, src, type */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x08, 0x00,
    /* ipv4 ver/ihl tos tot_len id frag */
    0x45, 0x00, 0x00, 0x30, 0x12, 0x34, 0x40, 0x00,
    /* ipv4 ttl proto csum src dst */
    0x40, 0x11, 0x12, 0x82, 0x0a, 0x03, 0x02, 0x05, 0x0a, 0x00,
    0x00, 0x00,
    /* udp sport dport len csum */
    0x04, 0xb0, 0x00, 0x50, 0x00, 0x1c, 0x40, 0x87,
    /* sfp version flags hlen reserved seq */
    0x01, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01,
    /* sfp ack nonce */
    0x00, 0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
    0xcd, 0xef,
};

/* DATA|ACK 10.7.4660:80 > 10.3.517:1200, seq=1000 ack=2000, TOS 0x10,
 * id 0xbeef, TTL 63, payload "hello" (odd length). */
static const uint8_t vec_data[67] = {
    /* eth dst, src, type */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x00,
    /* ipv4 ver/ihl tos tot_len id frag */
    0x45, 0x10, 0x00, 0x35, 0xbe, 0xef, 0x40, 0x00,
    /* ipv4 ttl proto csum src dst */
    0x3f, 0x11, 0x54, 0x76, 0x0a, 0x07, 0x12, 0x34, 0x0a, 0x03,
    0x02, 0x05,
    /* udp sport dport len csum */
    0x00, 0x50, 0x04, 0xb0, 0x00, 0x21, 0xde, 0x77,
    /* sfp version flags hlen reserved seq */
    0x01, 0x42, 0x05, 0x00, 0x00, 0x00, 0x03, 0xe8,
    /* sfp ack nonce */
    0x00, 0x00, 0x07, 0xd0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
    0xcd, 0xef,
    /* payload */
    0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

/* Unbound datagram (DATA, nonce 0) from an unjoined host 0.0.0:1 to the
 * control objectID at 0.0.0:1, Ethernet broadcast, id 1, hlen 6 (4 bytes
 * of zero padding), 4-byte payload. */
static const uint8_t vec_dgram[70] = {
    /* eth dst, src, type */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x00,
    /* ipv4 ver/ihl tos tot_len id frag */
    0x45, 0x00, 0x00, 0x38, 0x00, 0x01, 0x40, 0x00,
    /* ipv4 ttl proto csum src dst */
    0x40, 0x11, 0x3a, 0xb5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00,
    /* udp sport dport len csum */
    0x00, 0x01, 0x00, 0x01, 0x00, 0x24, 0xe6, 0x61,
    /* sfp version flags hlen reserved seq */
    0x01, 0x40, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* sfp ack nonce */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00,
    /* sfp zero padding */
    0x00, 0x00, 0x00, 0x00,
    /* payload */
    0x0a, 0x02, 0x08, 0x01,
};

/* DATA|ACK 10.7.1:2000 > 10.3.2:3000, seq=7 ack=9 nonce=0x1111111111111111,
 * id 7: the payload makes the UDP checksum compute to 0, sent as 0xffff. */
static const uint8_t vec_ffff[64] = {
    /* eth dst, src, type */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x08, 0x00,
    /* ipv4 ver/ihl tos tot_len id frag */
    0x45, 0x00, 0x00, 0x32, 0x00, 0x07, 0x40, 0x00,
    /* ipv4 ttl proto csum src dst */
    0x40, 0x11, 0x26, 0xa8, 0x0a, 0x07, 0x00, 0x01, 0x0a, 0x03,
    0x00, 0x02,
    /* udp sport dport len csum */
    0x07, 0xd0, 0x0b, 0xb8, 0x00, 0x1e, 0xff, 0xff,
    /* sfp version flags hlen reserved seq */
    0x01, 0x42, 0x05, 0x00, 0x00, 0x00, 0x00, 0x07,
    /* sfp ack nonce */
    0x00, 0x00, 0x00, 0x09, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11,
    /* payload */
    0x8d, 0x87,
};


/* Expected decodings of the vectors above. */
static const uint8_t mac1[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac2[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct sfp_frame
frame_syn(void)
{
    struct sfp_frame f = {
        .src_flow = 0x0a030205, .dst_flow = 0x0a000000,
        .src_obj = 1200, .dst_obj = 80,
        .ip_tos = 0, .ip_ttl = 64, .ip_id = 0x1234,
        .hdr = { .version = 1, .flags = SFP_F_SYN, .hlen = 5, .seq = 1,
                 .ack = 0, .nonce = 0x0123456789abcdefULL },
        .payload = NULL, .payload_len = 0,
    };
    memcpy(f.eth_dst, mac1, 6);
    memcpy(f.eth_src, mac2, 6);
    return f;
}

static struct sfp_frame
frame_data(void)
{
    struct sfp_frame f = {
        .src_flow = sfp_flowid_make(10, 7, 4660),
        .dst_flow = sfp_flowid_make(10, 3, 517),
        .src_obj = 80, .dst_obj = 1200,
        .ip_tos = 0x10, .ip_ttl = 63, .ip_id = 0xbeef,
        .hdr = { .version = 1, .flags = SFP_F_DATA | SFP_F_ACK, .hlen = 5,
                 .seq = 1000, .ack = 2000, .nonce = 0x0123456789abcdefULL },
        .payload = (const uint8_t *) "hello", .payload_len = 5,
    };
    memcpy(f.eth_dst, mac2, 6);
    memcpy(f.eth_src, mac1, 6);
    return f;
}

static const uint8_t dgram_payload[4] = { 0x0a, 0x02, 0x08, 0x01 };

static struct sfp_frame
frame_dgram(void)
{
    struct sfp_frame f = {
        .src_flow = 0, .dst_flow = 0,
        .src_obj = SFP_OBJ_CONTROL, .dst_obj = SFP_OBJ_CONTROL,
        .ip_tos = 0, .ip_ttl = 64, .ip_id = 1,
        .hdr = { .version = 1, .flags = SFP_F_DATA, .hlen = 6 },
        .payload = dgram_payload, .payload_len = 4,
    };
    memcpy(f.eth_dst, mac_bcast, 6);
    memcpy(f.eth_src, mac1, 6);
    return f;
}

static const uint8_t ffff_payload[2] = { 0x8d, 0x87 };

static struct sfp_frame
frame_ffff(void)
{
    struct sfp_frame f = {
        .src_flow = sfp_flowid_make(10, 7, 1),
        .dst_flow = sfp_flowid_make(10, 3, 2),
        .src_obj = 2000, .dst_obj = 3000,
        .ip_tos = 0, .ip_ttl = 64, .ip_id = 7,
        .hdr = { .version = 1, .flags = SFP_F_DATA | SFP_F_ACK, .hlen = 5,
                 .seq = 7, .ack = 9, .nonce = 0x1111111111111111ULL },
        .payload = ffff_payload, .payload_len = 2,
    };
    memcpy(f.eth_dst, mac1, 6);
    memcpy(f.eth_src, mac2, 6);
    return f;
}

/* Asserts that 'got' equals 'want' field by field; payload bytes compared
 * by content. */
static void
assert_frame_eq(const struct sfp_frame *got, const struct sfp_frame *want)
{
    CU_ASSERT_EQUAL(memcmp(got->eth_dst, want->eth_dst, 6), 0);
    CU_ASSERT_EQUAL(memcmp(got->eth_src, want->eth_src, 6), 0);
    CU_ASSERT_EQUAL(got->src_flow, want->src_flow);
    CU_ASSERT_EQUAL(got->dst_flow, want->dst_flow);
    CU_ASSERT_EQUAL(got->src_obj, want->src_obj);
    CU_ASSERT_EQUAL(got->dst_obj, want->dst_obj);
    CU_ASSERT_EQUAL(got->ip_tos, want->ip_tos);
    CU_ASSERT_EQUAL(got->ip_ttl, want->ip_ttl);
    CU_ASSERT_EQUAL(got->ip_id, want->ip_id);
    CU_ASSERT_EQUAL(got->hdr.version, want->hdr.version);
    CU_ASSERT_EQUAL(got->hdr.flags, want->hdr.flags);
    CU_ASSERT_EQUAL(got->hdr.hlen, want->hdr.hlen);
    CU_ASSERT_EQUAL(got->hdr.seq, want->hdr.seq);
    CU_ASSERT_EQUAL(got->hdr.ack, want->hdr.ack);
    CU_ASSERT(got->hdr.nonce == want->hdr.nonce);
    CU_ASSERT_EQUAL_FATAL(got->payload_len, want->payload_len);
    if (want->payload_len) {
        CU_ASSERT_EQUAL(memcmp(got->payload, want->payload,
                               want->payload_len), 0);
    }
}

struct vector {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    struct sfp_frame (*frame)(void);
};

static const struct vector vectors[] = {
    { "syn", vec_syn, sizeof vec_syn, frame_syn },
    { "data", vec_data, sizeof vec_data, frame_data },
    { "dgram", vec_dgram, sizeof vec_dgram, frame_dgram },
    { "ffff", vec_ffff, sizeof vec_ffff, frame_ffff },
};
#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* ---- Vectors: decode and encode ------------------------------------- */

static void
test_decode_vectors(void)
{
    for (size_t i = 0; i < N_VECTORS; i++) {
        const struct vector *v = &vectors[i];
        struct sfp_frame want = v->frame();
        struct sfp_frame got;
        enum sfp_error e;

        e = sfp_frame_decode(v->bytes, v->len, &got);
        if (e) {
            printf("\n%s: %s\n", v->name, sfp_strerror(e));
        }
        CU_ASSERT_EQUAL_FATAL(e, SFP_OK);
        assert_frame_eq(&got, &want);
        /* The payload is a view into the decoded buffer. */
        CU_ASSERT_PTR_EQUAL(got.payload,
                            v->bytes + v->len - want.payload_len);
    }
}

static void
test_encode_vectors(void)
{
    for (size_t i = 0; i < N_VECTORS; i++) {
        const struct vector *v = &vectors[i];
        struct sfp_frame f = v->frame();
        uint8_t buf[256];

        memset(buf, 0xa5, sizeof buf);
        CU_ASSERT_EQUAL_FATAL(sfp_frame_encode(&f, buf, sizeof buf), v->len);
        CU_ASSERT_EQUAL(memcmp(buf, v->bytes, v->len), 0);
        CU_ASSERT_EQUAL(buf[v->len], 0xa5);     /* Nothing written after. */
        CU_ASSERT_EQUAL(sfp_frame_hdr_size(&f), v->len - f.payload_len);

        /* Exactly enough room works, one byte less writes nothing. */
        memset(buf, 0xa5, sizeof buf);
        CU_ASSERT_EQUAL(sfp_frame_encode(&f, buf, v->len), v->len);
        memset(buf, 0xa5, sizeof buf);
        CU_ASSERT_EQUAL(sfp_frame_encode(&f, buf, v->len - 1), 0);
        CU_ASSERT_EQUAL(buf[0], 0xa5);
        CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_OK);
    }
}

static void
test_encode_headers_in_place(void)
{
    struct sfp_frame f = frame_data();
    uint8_t buf[128];
    size_t hs = sfp_frame_hdr_size(&f);

    CU_ASSERT_EQUAL_FATAL(hs, SFP_FRAME_HDR_LEN);
    memset(buf, 0, sizeof buf);
    memcpy(buf + hs, "hello", 5);
    f.payload = NULL;                   /* Ignored by encode_headers. */
    CU_ASSERT_EQUAL_FATAL(sfp_frame_encode_headers(&f, buf, sizeof buf),
                          sizeof vec_data);
    CU_ASSERT_EQUAL(memcmp(buf, vec_data, sizeof vec_data), 0);
    CU_ASSERT_EQUAL(sfp_frame_encode_headers(&f, buf, sizeof vec_data - 1),
                    0);

    /* sfp_frame_encode() with the payload already in place. */
    f.payload = buf + hs;
    memset(buf, 0, hs);
    CU_ASSERT_EQUAL(sfp_frame_encode(&f, buf, sizeof buf), sizeof vec_data);
    CU_ASSERT_EQUAL(memcmp(buf, vec_data, sizeof vec_data), 0);
}

static void
test_encode_overlapping_payload(void)
{
    struct sfp_frame f = frame_data();
    uint8_t buf[128];

    /* The payload sits at the very start of the output buffer. */
    memset(buf, 0, sizeof buf);
    memcpy(buf, "hello", 5);
    f.payload = buf;
    CU_ASSERT_EQUAL_FATAL(sfp_frame_encode(&f, buf, sizeof buf),
                          sizeof vec_data);
    CU_ASSERT_EQUAL(memcmp(buf, vec_data, sizeof vec_data), 0);
}

static void
test_encode_defaults_and_limits(void)
{
    struct sfp_frame f = frame_syn();
    struct sfp_frame got;
    static uint8_t big[70000];
    uint8_t buf[128];

    /* TTL 0 and hlen 0 take their defaults and give the same bytes. */
    f.ip_ttl = 0;
    f.hdr.hlen = 0;
    CU_ASSERT_EQUAL_FATAL(sfp_frame_encode(&f, buf, sizeof buf),
                          sizeof vec_syn);
    CU_ASSERT_EQUAL(memcmp(buf, vec_syn, sizeof vec_syn), 0);

    /* The IPv4 total length limit. */
    f = frame_data();
    f.payload = big;
    f.payload_len = SFP_MAX_PAYLOAD;
    CU_ASSERT_EQUAL(sfp_frame_encode(&f, big, sizeof big),
                    SFP_FRAME_HDR_LEN + SFP_MAX_PAYLOAD);
    CU_ASSERT_EQUAL(sfp_frame_decode(big, SFP_FRAME_HDR_LEN
                                     + SFP_MAX_PAYLOAD, &got), SFP_OK);
    CU_ASSERT_EQUAL(got.payload_len, SFP_MAX_PAYLOAD);
    f.payload_len = SFP_MAX_PAYLOAD + 1;
    CU_ASSERT_EQUAL(sfp_frame_encode(&f, big, sizeof big), 0);
    CU_ASSERT_EQUAL(sfp_frame_encode_headers(&f, big, sizeof big), 0);

    /* hlen 1..4 cannot be encoded; nothing is written. */
    f = frame_syn();
    for (uint8_t hlen = 1; hlen < 5; hlen++) {
        f.hdr.hlen = hlen;
        memset(buf, 0xa5, sizeof buf);
        CU_ASSERT_EQUAL(sfp_frame_encode(&f, buf, sizeof buf), 0);
        CU_ASSERT_EQUAL(sfp_frame_encode_headers(&f, buf, sizeof buf), 0);
        CU_ASSERT_EQUAL(buf[0], 0xa5);
    }
    f.hdr.hlen = 255;
    CU_ASSERT_EQUAL(sfp_frame_encode(&f, buf, sizeof buf), 0);
    CU_ASSERT_EQUAL(sfp_frame_encode(&f, big, sizeof big), 42 + 1020);
    CU_ASSERT_EQUAL(sfp_frame_decode(big, 42 + 1020, &got), SFP_OK);
    CU_ASSERT_EQUAL(got.hdr.hlen, 255);
}

static void
test_hdr_codec(void)
{
    const uint8_t *base = vec_syn + 42;
    struct sfp_hdr h, want = frame_syn().hdr;
    uint8_t buf[64];

    CU_ASSERT_EQUAL_FATAL(sfp_hdr_decode(base, 20, &h), SFP_OK);
    CU_ASSERT_EQUAL(h.flags, want.flags);
    CU_ASSERT_EQUAL(h.seq, want.seq);
    CU_ASSERT(h.nonce == want.nonce);
    CU_ASSERT_EQUAL(sfp_hdr_encode(&h, buf, sizeof buf), 20);
    CU_ASSERT_EQUAL(memcmp(buf, base, 20), 0);
    CU_ASSERT_EQUAL(sfp_hdr_encode(&h, buf, 19), 0);
    CU_ASSERT_EQUAL(sfp_hdr_decode(base, 19, &h), SFP_E_HDR_SHORT);

    /* Padded header: 24 bytes, the last 4 zero. */
    CU_ASSERT_EQUAL_FATAL(sfp_hdr_decode(vec_dgram + 42, 28, &h), SFP_OK);
    CU_ASSERT_EQUAL(h.hlen, 6);
    memset(buf, 0xee, sizeof buf);
    CU_ASSERT_EQUAL(sfp_hdr_encode(&h, buf, sizeof buf), 24);
    CU_ASSERT_EQUAL(memcmp(buf, vec_dgram + 42, 24), 0);
    CU_ASSERT_EQUAL(buf[24], 0xee);
    CU_ASSERT_EQUAL(sfp_hdr_decode(vec_dgram + 42, 23, &h),
                    SFP_E_HDR_TRUNCATED);
}

/* ---- Malformed frames ----------------------------------------------- */

static uint8_t mbuf[256];
static size_t mlen;

static void
load(const uint8_t *vec, size_t len)
{
    memcpy(mbuf, vec, len);
    mlen = len;
}

static uint16_t
rd16(size_t ofs)
{
    return (uint16_t) (mbuf[ofs] << 8 | mbuf[ofs + 1]);
}

static void
wr16(size_t ofs, uint16_t v)
{
    mbuf[ofs] = v >> 8;
    mbuf[ofs + 1] = v & 0xff;
}

/* RFC 1071, 16 bits at a time, deliberately naive (independent of the
 * codec's own implementation). */
static uint32_t
ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) (p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    return sum;
}

static uint16_t
ref_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

/* Recomputes the IPv4 and UDP checksums of mbuf after a mutation; the UDP
 * checksum covers what the UDP length says, clipped to the frame. */
static void
fix_csums(void)
{
    size_t udp_len = rd16(38), avail = mlen - 34;
    uint32_t sum;
    uint16_t c;

    wr16(24, 0);
    wr16(24, ref_fold(ref_sum(0, mbuf + 14, 20)));
    wr16(40, 0);
    sum = ref_sum(0, mbuf + 26, 8);
    sum += 17 + rd16(38);
    sum = ref_sum(sum, mbuf + 34, udp_len < avail ? udp_len : avail);
    c = ref_fold(sum);
    wr16(40, c ? c : 0xffff);
}

static enum sfp_error
mdecode(void)
{
    struct sfp_frame f;

    return sfp_frame_decode(mbuf, mlen, &f);
}

/* The checksum fixer itself reproduces the vectors. */
static void
test_fix_csums_sanity(void)
{
    for (size_t i = 0; i < N_VECTORS; i++) {
        load(vectors[i].bytes, vectors[i].len);
        fix_csums();
        CU_ASSERT_EQUAL(memcmp(mbuf, vectors[i].bytes, mlen), 0);
        CU_ASSERT_EQUAL(mdecode(), SFP_OK);
    }
}

static void
test_bad_ethernet(void)
{
    for (size_t n = 0; n < 34; n++) {
        load(vec_syn, n);
        CU_ASSERT_EQUAL(mdecode(), SFP_E_SHORT_FRAME);
    }
    CU_ASSERT_EQUAL(sfp_frame_decode(NULL, 0, &(struct sfp_frame) { 0 }),
                    SFP_E_SHORT_FRAME);
    load(vec_syn, sizeof vec_syn);
    wr16(12, 0x86dd);
    CU_ASSERT_EQUAL(mdecode(), SFP_E_ETHERTYPE);
    wr16(12, 0x8100);                   /* VLAN tags are not accepted. */
    CU_ASSERT_EQUAL(mdecode(), SFP_E_ETHERTYPE);
}

static void
test_bad_ipv4(void)
{
    static const struct {
        size_t ofs;
        uint8_t val;
        enum sfp_error want;
    } cases[] = {
        { 14, 0x65, SFP_E_IP_VERSION },
        { 14, 0x05, SFP_E_IP_VERSION },
        { 14, 0x44, SFP_E_IP_IHL },
        { 14, 0x40, SFP_E_IP_IHL },
        { 14, 0x46, SFP_E_IP_OPTIONS },
        { 14, 0x4f, SFP_E_IP_OPTIONS },
        { 20, 0x20, SFP_E_IP_FRAGMENT },        /* MF. */
        { 21, 0x01, SFP_E_IP_FRAGMENT },        /* Offset 1. */
        { 20, 0x5f, SFP_E_IP_FRAGMENT },        /* DF + offset. */
        { 20, 0xc0, SFP_E_IP_FLAGS },           /* Reserved bit + DF. */
        { 20, 0x80, SFP_E_IP_FLAGS },
        { 22, 0x00, SFP_E_IP_TTL },
        { 23, 6, SFP_E_IP_PROTO },
        { 23, 1, SFP_E_IP_PROTO },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        load(vec_syn, sizeof vec_syn);
        mbuf[cases[i].ofs] = cases[i].val;
        fix_csums();
        if (mdecode() != cases[i].want) {
            printf("\ncase %zu: %s\n", i, sfp_error_name(mdecode()));
        }
        CU_ASSERT_EQUAL(mdecode(), cases[i].want);
    }

    /* Checksum: every single-bit error in the header is caught. */
    for (size_t bit = 0; bit < 160; bit++) {
        load(vec_syn, sizeof vec_syn);
        mbuf[14 + bit / 8] ^= 1u << (bit % 8);
        enum sfp_error e = mdecode();
        /* Bits of the version/IHL nibbles are caught earlier. */
        CU_ASSERT(e == SFP_E_IP_CSUM || (bit < 8 && e != SFP_OK));
    }

    /* DF clear is fine; TTL 1 is fine. */
    load(vec_syn, sizeof vec_syn);
    mbuf[20] = 0;
    mbuf[22] = 1;
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_OK);
}

static void
test_bad_lengths(void)
{
    /* tot_len below IPv4 + UDP. */
    load(vec_syn, sizeof vec_syn);
    wr16(16, 27);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_IP_TOTLEN);

    /* tot_len beyond the frame. */
    load(vec_syn, sizeof vec_syn);
    wr16(16, 49);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_IP_TRUNCATED);
    load(vec_syn, sizeof vec_syn - 1);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_IP_TRUNCATED);

    /* Trailing garbage: any byte past tot_len once the frame is over 60
     * bytes (a valid SCAFFOLD frame is at least 62). */
    load(vec_syn, sizeof vec_syn);
    mbuf[mlen++] = 0;
    CU_ASSERT_EQUAL(mdecode(), SFP_E_TRAILING);

    /* Ethernet padding up to 60 bytes is accepted: a 54-byte datagram
     * padded to 60 passes the length checks and fails later, on the
     * SCAFFOLD header; one more byte is trailing garbage. */
    load(vec_syn, 60);
    wr16(16, 40);                       /* IPv4 20 + UDP 8 + 12. */
    wr16(38, 20);
    mlen = 54;
    fix_csums();
    mlen = 60;
    CU_ASSERT_EQUAL(mdecode(), SFP_E_HDR_SHORT);
    mlen = 61;
    CU_ASSERT_EQUAL(mdecode(), SFP_E_TRAILING);

    /* UDP length must be tot_len - 20, both ways. */
    static const uint16_t bad_udp[] = { 0, 7, 8, 27, 29, 0xffff };
    for (size_t i = 0; i < sizeof bad_udp / sizeof bad_udp[0]; i++) {
        load(vec_syn, sizeof vec_syn);
        wr16(38, bad_udp[i]);
        fix_csums();
        CU_ASSERT_EQUAL(mdecode(), SFP_E_UDP_LEN);
    }

    /* UDP payload shorter than the SCAFFOLD base header. */
    load(vec_syn, sizeof vec_syn);
    wr16(16, 47);
    wr16(38, 27);
    mlen = 61;
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_HDR_SHORT);
}

static void
test_bad_udp(void)
{
    load(vec_data, sizeof vec_data);
    wr16(40, 0);
    CU_ASSERT_EQUAL(mdecode(), SFP_E_UDP_CSUM_ABSENT);

    load(vec_data, sizeof vec_data);
    wr16(40, rd16(40) ^ 0x0100);
    CU_ASSERT_EQUAL(mdecode(), SFP_E_UDP_CSUM);

    /* Every single-bit error in the pseudo-header addresses, the UDP
     * header, the SCAFFOLD header and the payload is caught. */
    for (size_t bit = 26 * 8; bit < sizeof vec_data * 8; bit++) {
        if (bit / 8 == 38 || bit / 8 == 39) {
            continue;                   /* UDP length: SFP_E_UDP_LEN. */
        }
        load(vec_data, sizeof vec_data);
        mbuf[bit / 8] ^= 1u << (bit % 8);
        if (bit / 8 < 34) {
            wr16(24, 0);
            wr16(24, ref_fold(ref_sum(0, mbuf + 14, 20)));
        }
        enum sfp_error e = mdecode();
        CU_ASSERT(e == SFP_E_UDP_CSUM || e == SFP_E_UDP_CSUM_ABSENT);
    }

    /* 0xffff stands for a computed 0 (vec_ffff); 0x0000 never does. */
    load(vec_ffff, sizeof vec_ffff);
    CU_ASSERT_EQUAL(rd16(40), 0xffff);
    CU_ASSERT_EQUAL(mdecode(), SFP_OK);
    wr16(40, 0);
    CU_ASSERT_EQUAL(mdecode(), SFP_E_UDP_CSUM_ABSENT);

    load(vec_syn, sizeof vec_syn);
    wr16(34, 0);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_SRC_OBJECTID);
    load(vec_syn, sizeof vec_syn);
    wr16(36, 0);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_DST_OBJECTID);
}

static void
test_bad_sfp_header(void)
{
    static const struct {
        const uint8_t *vec;
        size_t len;
        size_t ofs;
        uint8_t val;
        enum sfp_error want;
    } cases[] = {
        { vec_syn, sizeof vec_syn, 42, 0, SFP_E_VERSION },
        { vec_syn, sizeof vec_syn, 42, 2, SFP_E_VERSION },
        { vec_syn, sizeof vec_syn, 42, 0xff, SFP_E_VERSION },
        { vec_syn, sizeof vec_syn, 44, 0, SFP_E_HDR_LEN },
        { vec_syn, sizeof vec_syn, 44, 4, SFP_E_HDR_LEN },
        { vec_syn, sizeof vec_syn, 44, 6, SFP_E_HDR_TRUNCATED },
        { vec_syn, sizeof vec_syn, 44, 255, SFP_E_HDR_TRUNCATED },
        { vec_data, sizeof vec_data, 44, 7, SFP_E_HDR_TRUNCATED },
        { vec_syn, sizeof vec_syn, 45, 1, SFP_E_RESERVED },
        { vec_syn, sizeof vec_syn, 45, 0x80, SFP_E_RESERVED },
        { vec_syn, sizeof vec_syn, 43, 0x81, SFP_E_FLAGS_RESERVED },
        { vec_syn, sizeof vec_syn, 43, 0x80, SFP_E_FLAGS_RESERVED },
        { vec_syn, sizeof vec_syn, 43, 0x00, SFP_E_FLAGS },
        { vec_syn, sizeof vec_syn, 43, 0x05, SFP_E_FLAGS },   /* SYN|FIN */
        { vec_syn, sizeof vec_syn, 43, 0x09, SFP_E_FLAGS },   /* SYN|RST */
        { vec_syn, sizeof vec_syn, 43, 0x0a, SFP_E_FLAGS },   /* RST|ACK */
        { vec_syn, sizeof vec_syn, 43, 0x41, SFP_E_FLAGS },   /* SYN|DATA */
        { vec_syn, sizeof vec_syn, 43, 0x21, SFP_E_FLAGS },   /* SYN|RSYN */
        { vec_syn, sizeof vec_syn, 43, 0x12, SFP_E_FLAGS },   /* FAIL|ACK */
        { vec_syn, sizeof vec_syn, 43, 0x7f, SFP_E_FLAGS },
        { vec_dgram, sizeof vec_dgram, 62, 1, SFP_E_HDR_PADDING },
        { vec_dgram, sizeof vec_dgram, 65, 0x80, SFP_E_HDR_PADDING },
        /* ACK with a payload, to a resolved destination. */
        { vec_data, sizeof vec_data, 43, 0x02, SFP_E_PAYLOAD },
        { vec_data, sizeof vec_data, 43, 0x06, SFP_E_PAYLOAD },
        /* To the unresolved 10.0.0: only SYN, RSYN, datagram. */
        { vec_syn, sizeof vec_syn, 43, 0x03, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x02, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x04, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x08, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x10, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x22, SFP_E_UNRESOLVED },
        { vec_syn, sizeof vec_syn, 43, 0x42, SFP_E_UNRESOLVED },
        /* DATA with a nonce is connection data, not a datagram. */
        { vec_syn, sizeof vec_syn, 43, 0x40, SFP_E_UNRESOLVED },
        /* RSYN may go unresolved (SYN: vec_syn, datagram: vec_dgram). */
        { vec_syn, sizeof vec_syn, 43, 0x20, SFP_OK },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        load(cases[i].vec, cases[i].len);
        mbuf[cases[i].ofs] = cases[i].val;
        fix_csums();
        if (mdecode() != cases[i].want) {
            printf("\ncase %zu: %s\n", i, sfp_error_name(mdecode()));
        }
        CU_ASSERT_EQUAL(mdecode(), cases[i].want);
    }

    /* A zero nonce is only for unbound datagrams. */
    load(vec_syn, sizeof vec_syn);
    memset(mbuf + 54, 0, 8);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_NONCE);
    load(vec_data, sizeof vec_data);
    memset(mbuf + 54, 0, 8);
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_E_NONCE);    /* DATA|ACK. */
    load(vec_data, sizeof vec_data);
    memset(mbuf + 54, 0, 8);
    mbuf[43] = SFP_F_DATA;
    fix_csums();
    CU_ASSERT_EQUAL(mdecode(), SFP_OK);         /* Unbound datagram. */
}

/* Every error code has its own name and a message naming a field. */
static void
test_error_strings(void)
{
    for (int i = 0; i < SFP_N_ERRORS; i++) {
        const char *msg = sfp_strerror(i);
        const char *name = sfp_error_name(i);

        CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT(strncmp(name, "SFP_", 4) == 0);
        if (i) {
            CU_ASSERT_PTR_NOT_NULL(strchr(msg, ':'));
        }
        for (int j = 0; j < i; j++) {
            CU_ASSERT(strcmp(msg, sfp_strerror(j)) != 0);
            CU_ASSERT(strcmp(name, sfp_error_name(j)) != 0);
        }
    }
    CU_ASSERT_STRING_EQUAL(sfp_strerror(SFP_E_IP_IHL),
                           "ipv4.ihl: header length below 5 words");
    CU_ASSERT_STRING_EQUAL(sfp_error_name(SFP_E_TRAILING), "SFP_E_TRAILING");
    CU_ASSERT_PTR_NOT_NULL(sfp_strerror(SFP_N_ERRORS));
    CU_ASSERT_PTR_NOT_NULL(sfp_strerror((enum sfp_error) -1));
    CU_ASSERT_PTR_NOT_NULL(sfp_error_name(SFP_N_ERRORS + 7));
}

/* ---- Flags ---------------------------------------------------------- */

static void
test_flag_table(void)
{
    static const uint8_t legal[] = {
        SFP_F_SYN, SFP_F_SYN | SFP_F_ACK, SFP_F_ACK, SFP_F_DATA,
        SFP_F_DATA | SFP_F_ACK, SFP_F_FIN, SFP_F_FIN | SFP_F_ACK,
        SFP_F_RST, SFP_F_FAIL, SFP_F_RSYN, SFP_F_RSYN | SFP_F_ACK,
    };
    int n_legal = 0;

    for (int flags = 0; flags < 256; flags++) {
        bool want = false;

        for (size_t i = 0; i < sizeof legal; i++) {
            want |= legal[i] == flags;
        }
        CU_ASSERT_EQUAL(sfp_flags_valid(flags), want);
        n_legal += sfp_flags_valid(flags);

        struct sfp_hdr h = { .version = 1, .flags = flags, .hlen = 5,
                             .nonce = 1 };
        enum sfp_error e = sfp_hdr_check(&h);
        CU_ASSERT_EQUAL(e, want ? SFP_OK
                        : flags & 0x80 ? SFP_E_FLAGS_RESERVED
                        : SFP_E_FLAGS);
        h.nonce = 0;
        e = sfp_hdr_check(&h);
        CU_ASSERT(flags == SFP_F_DATA ? e == SFP_OK
                  : want ? e == SFP_E_NONCE : e != SFP_OK);
    }
    CU_ASSERT_EQUAL(n_legal, 11);
}

static void
test_hdr_and_frame_check(void)
{
    struct sfp_hdr h = { .version = 1, .flags = SFP_F_ACK, .nonce = 5 };
    struct sfp_frame f = frame_data();

    CU_ASSERT_EQUAL(sfp_hdr_check(&h), SFP_OK);     /* hlen 0 = 5. */
    h.hlen = 3;
    CU_ASSERT_EQUAL(sfp_hdr_check(&h), SFP_E_HDR_LEN);
    h.hlen = 5;
    h.version = 0;
    CU_ASSERT_EQUAL(sfp_hdr_check(&h), SFP_E_VERSION);

    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_OK);
    f.src_obj = 0;
    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_E_SRC_OBJECTID);
    f = frame_data();
    f.dst_obj = 0;
    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_E_DST_OBJECTID);
    f = frame_data();
    f.hdr.flags = SFP_F_ACK;
    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_E_PAYLOAD);
    f = frame_data();
    f.dst_flow = sfp_flowid_unresolved(10);
    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_E_UNRESOLVED);
    f.hdr.flags = SFP_F_DATA;
    f.hdr.nonce = 0;
    CU_ASSERT_EQUAL(sfp_frame_check(&f), SFP_OK);
    CU_ASSERT(sfp_hdr_is_datagram(&f.hdr));
}

/* ---- flowIDs and objectIDs ------------------------------------------ */

static void
test_flowid_parse(void)
{
    static const struct {
        const char *s;
        uint32_t want;
    } good[] = {
        { "10.3.517", 0x0a030205 },
        { "0.0.0", 0 },
        { "255.255.65535", 0xffffffff },
        { "1.2.3", 0x01020003 },
        { "10.0.0", 0x0a000000 },
        { "0.1.0", 0x00010000 },
    };
    static const char *const bad[] = {
        "", ".", "..", "1", "1.2", "1.2.", "1..3", ".1.2", "1.2.3.",
        "1.2.3.4", "256.0.0", "0.256.0", "1.2.65536", "1.2.99999999999",
        "99999999999999999999.0.0", " 1.2.3", "1.2.3 ", "1 .2.3",
        "a.b.c", "1.2.3a", "0x1.2.3", "+1.2.3", "-1.2.3", "1.-2.3",
        "01.2.3", "1.02.3", "1.2.03", "1.2.00", "1,2,3", "1.2.3\n",
        "10.3.517:80",
    };
    uint32_t v;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = 0xdeadbeef;
        CU_ASSERT_EQUAL(sfp_flowid_parse(good[i].s, &v), 0);
        CU_ASSERT_EQUAL(v, good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 0xdeadbeef;
        if (sfp_flowid_parse(bad[i], &v) != -EINVAL) {
            printf("\naccepted \"%s\"\n", bad[i]);
        }
        CU_ASSERT_EQUAL(sfp_flowid_parse(bad[i], &v), -EINVAL);
        CU_ASSERT_EQUAL(v, 0xdeadbeef);
    }
    CU_ASSERT_EQUAL(sfp_flowid_parse(NULL, &v), -EINVAL);
    CU_ASSERT_EQUAL(sfp_flowid_parse("1.2.3", NULL), -EINVAL);
}

static void
test_flowid_format(void)
{
    char buf[SFP_FLOWID_STRLEN];
    uint32_t v;

    CU_ASSERT_STRING_EQUAL(sfp_flowid_format(0x0a030205, buf), "10.3.517");
    CU_ASSERT_STRING_EQUAL(sfp_flowid_format(0, buf), "0.0.0");
    CU_ASSERT_STRING_EQUAL(sfp_flowid_format(0xffffffff, buf),
                           "255.255.65535");
    CU_ASSERT_EQUAL(strlen(buf) + 1, SFP_FLOWID_STRLEN);

    /* Format and parse are inverses over a spread of values. */
    for (uint64_t x = 0; x <= 0xffffffffULL; x += 0x01010101ULL / 3) {
        uint32_t id = (uint32_t) x;

        CU_ASSERT_EQUAL_FATAL(sfp_flowid_parse(sfp_flowid_format(id, buf),
                                               &v), 0);
        CU_ASSERT_EQUAL_FATAL(v, id);
    }
}

static void
test_flowid_fields(void)
{
    uint32_t id = sfp_flowid_make(10, 3, 517);

    CU_ASSERT_EQUAL(id, 0x0a030205);
    CU_ASSERT_EQUAL(sfp_flowid_ss(id), 10);
    CU_ASSERT_EQUAL(sfp_flowid_host(id), 3);
    CU_ASSERT_EQUAL(sfp_flowid_sock(id), 517);
    CU_ASSERT_EQUAL(sfp_flowid_to_ipv4(id), 0x0a030205);  /* 10.3.2.5 */
    CU_ASSERT_EQUAL(sfp_flowid_from_ipv4(0x0a030205), id);
    CU_ASSERT_FALSE(sfp_flowid_is_unresolved(id));
    CU_ASSERT_TRUE(sfp_flowid_is_unresolved(sfp_flowid_make(10, 0, 0)));
    CU_ASSERT_TRUE(sfp_flowid_is_unresolved(sfp_flowid_make(10, 0, 9)));
    CU_ASSERT_EQUAL(sfp_flowid_unresolved(7), 0x07000000);
    CU_ASSERT_EQUAL(sfp_flowid_make(255, 255, 65535), 0xffffffff);

    CU_ASSERT_FALSE(sfp_objectid_is_valid(SFP_OBJ_INVALID));
    CU_ASSERT_TRUE(sfp_objectid_is_valid(SFP_OBJ_CONTROL));
    CU_ASSERT_TRUE(sfp_objectid_is_system(SFP_OBJ_CONTROL));
    CU_ASSERT_TRUE(sfp_objectid_is_system(1023));
    CU_ASSERT_FALSE(sfp_objectid_is_system(1024));
    CU_ASSERT_FALSE(sfp_objectid_is_system(0));
    CU_ASSERT_EQUAL(SFP_OBJ_APP_MIN, SFP_OBJ_SYSTEM_MAX + 1);
}

static void
test_objectid_parse(void)
{
    static const char *const bad[] = {
        "", " 1", "1 ", "-1", "+1", "65536", "100000", "1.2", "0x10",
        "01", "00", "a", "12a", "99999999999999999999",
    };
    uint16_t v;

    CU_ASSERT_EQUAL(sfp_objectid_parse("0", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(sfp_objectid_parse("1", &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(sfp_objectid_parse("65535", &v), 0);
    CU_ASSERT_EQUAL(v, 65535);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 4242;
        CU_ASSERT_EQUAL(sfp_objectid_parse(bad[i], &v), -EINVAL);
        CU_ASSERT_EQUAL(v, 4242);
    }
    CU_ASSERT_EQUAL(sfp_objectid_parse(NULL, &v), -EINVAL);
}

/* ---- Format --------------------------------------------------------- */

static void
test_frame_format(void)
{
    struct sfp_frame f;
    char buf[160];

    CU_ASSERT_EQUAL_FATAL(sfp_frame_decode(vec_syn, sizeof vec_syn, &f),
                          SFP_OK);
    CU_ASSERT_STRING_EQUAL(sfp_frame_format(&f, buf, sizeof buf),
                           "10.3.517:1200 > 10.0.0:80 SYN seq=1 ack=0 "
                           "nonce=0x0123456789abcdef len=0");
    CU_ASSERT_EQUAL_FATAL(sfp_frame_decode(vec_data, sizeof vec_data, &f),
                          SFP_OK);
    CU_ASSERT_STRING_EQUAL(sfp_frame_format(&f, buf, sizeof buf),
                           "10.7.4660:80 > 10.3.517:1200 ACK|DATA seq=1000 "
                           "ack=2000 nonce=0x0123456789abcdef len=5");
    CU_ASSERT_EQUAL_FATAL(sfp_frame_decode(vec_dgram, sizeof vec_dgram, &f),
                          SFP_OK);
    CU_ASSERT_STRING_EQUAL(sfp_frame_format(&f, buf, sizeof buf),
                           "0.0.0:1 > 0.0.0:1 DATA seq=0 ack=0 "
                           "nonce=0x0000000000000000 len=4 hlen=6");

    /* Truncation keeps a NUL; size 0 writes nothing. */
    memset(buf, 'x', sizeof buf);
    sfp_frame_format(&f, buf, 10);
    CU_ASSERT_STRING_EQUAL(buf, "0.0.0:1 >");
    CU_ASSERT_EQUAL(buf[10], 'x');
    sfp_frame_format(&f, buf, 0);
    CU_ASSERT_EQUAL(buf[0], '0');
}

static void
test_flags_format(void)
{
    static const struct {
        uint8_t flags;
        const char *want;
    } cases[] = {
        { 0, "none" },
        { SFP_F_SYN, "SYN" },
        { SFP_F_SYN | SFP_F_ACK, "SYN|ACK" },
        { SFP_F_RSYN | SFP_F_ACK, "ACK|RSYN" },
        { SFP_F_FAIL, "FAIL" },
        { SFP_F_RST, "RST" },
        { SFP_F_FIN | SFP_F_ACK, "ACK|FIN" },
        { SFP_F_DATA, "DATA" },
        { 0x80, "0x80" },
        { 0xc0, "DATA|0x80" },
        { 0xff, "SYN|ACK|FIN|RST|FAIL|RSYN|DATA|0x80" },
    };
    char buf[SFP_FLAGS_STRLEN];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_STRING_EQUAL(sfp_flags_format(cases[i].flags, buf,
                                                sizeof buf), cases[i].want);
    }
    CU_ASSERT(strlen(buf) < SFP_FLAGS_STRLEN);
    sfp_flags_format(0xff, buf, 6);
    CU_ASSERT_STRING_EQUAL(buf, "SYN|A");
    sfp_flags_format(0xff, buf, 1);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

/* ---- Checksums ------------------------------------------------------ */

static void
test_csum(void)
{
    uint8_t buf[128];
    uint64_t acc;

    /* A correct header sums to 0; the stored value is the checksum of the
     * header with the field zeroed. */
    CU_ASSERT_EQUAL(sfp_ipv4_csum(vec_syn + 14, 20), 0);
    memcpy(buf, vec_syn + 14, 20);
    buf[10] = buf[11] = 0;
    CU_ASSERT_EQUAL(sfp_ipv4_csum(buf, 20), 0x1282);

    /* Chunked sums equal one sum, odd tail included, any alignment. */
    for (size_t ofs = 0; ofs < 8; ofs++) {
        memcpy(buf + ofs, vec_data + 34, 33);
        buf[ofs + 6] = buf[ofs + 7] = 0;
        acc = sfp_csum_add(0, buf + ofs, 10);
        acc = sfp_csum_add(acc, buf + ofs + 10, 23);
        CU_ASSERT_EQUAL(sfp_csum_finish(acc),
                        ref_fold(ref_sum(0, buf + ofs, 33)));
        CU_ASSERT_EQUAL(sfp_udp_csum(0x0a071234, 0x0a030205, buf + ofs, 33),
                        0xde77);
    }

    /* Incremental updates agree with recomputation (RFC 1624). */
    memcpy(buf, vec_syn + 14, 20);
    uint16_t c = 0x1282;
    c = sfp_csum_update32(c, 0x0a000000, 0x0a0700ff);   /* nw_dst */
    buf[16] = 0x0a;
    buf[17] = 0x07;
    buf[18] = 0x00;
    buf[19] = 0xff;
    c = sfp_csum_update16(c, 0x4011, 0x3f11);           /* TTL 64 -> 63 */
    buf[8] = 0x3f;
    buf[10] = buf[11] = 0;
    CU_ASSERT_EQUAL(c, ref_fold(ref_sum(0, buf, 20)));
    CU_ASSERT_EQUAL(sfp_csum_update16(0x1234, 0xaaaa, 0xaaaa), 0x1234);
}

/* ---- Fuzz-style property: mutating any byte never crashes and a frame
 * that still decodes re-encodes to the same bytes. -------------------- */

static void
test_mutation_roundtrip(void)
{
    for (size_t i = 0; i < N_VECTORS; i++) {
        for (size_t ofs = 0; ofs < vectors[i].len; ofs++) {
            for (int v = 0; v < 256; v += 17) {
                struct sfp_frame f;
                uint8_t out[256];

                load(vectors[i].bytes, vectors[i].len);
                mbuf[ofs] = v;
                fix_csums();
                if (sfp_frame_decode(mbuf, mlen, &f)) {
                    continue;
                }
                CU_ASSERT_EQUAL_FATAL(sfp_frame_check(&f), SFP_OK);
                size_t n = sfp_frame_encode(&f, out, sizeof out);
                CU_ASSERT_EQUAL_FATAL(n, mlen);
                /* Only the IPv4 flags may differ (DF is always set). */
                mbuf[20] |= 0x40;
                out[24] = mbuf[24];
                out[25] = mbuf[25];
                CU_ASSERT_EQUAL(memcmp(out, mbuf, n), 0);
            }
        }
    }
}

int
main(void)
{
    static CU_TestInfo vector_tests[] = {
        { "decode vectors", test_decode_vectors },
        { "encode vectors", test_encode_vectors },
        { "encode headers in place", test_encode_headers_in_place },
        { "encode overlapping payload", test_encode_overlapping_payload },
        { "encode defaults and limits", test_encode_defaults_and_limits },
        { "header codec", test_hdr_codec },
        CU_TEST_INFO_NULL,
    };
    static CU_TestInfo malformed_tests[] = {
        { "checksum fixer sanity", test_fix_csums_sanity },
        { "ethernet", test_bad_ethernet },
        { "ipv4", test_bad_ipv4 },
        { "lengths", test_bad_lengths },
        { "udp", test_bad_udp },
        { "scaffold header", test_bad_sfp_header },
        { "error strings", test_error_strings },
        { "mutation round trip", test_mutation_roundtrip },
        CU_TEST_INFO_NULL,
    };
    static CU_TestInfo flag_tests[] = {
        { "flag table", test_flag_table },
        { "header and frame check", test_hdr_and_frame_check },
        CU_TEST_INFO_NULL,
    };
    static CU_TestInfo id_tests[] = {
        { "flowid parse", test_flowid_parse },
        { "flowid format", test_flowid_format },
        { "flowid fields", test_flowid_fields },
        { "objectid parse", test_objectid_parse },
        CU_TEST_INFO_NULL,
    };
    static CU_TestInfo format_tests[] = {
        { "frame format", test_frame_format },
        { "flags format", test_flags_format },
        { "checksums", test_csum },
        CU_TEST_INFO_NULL,
    };
    static CU_SuiteInfo suites[] = {
        { "vectors", NULL, NULL, NULL, NULL, vector_tests },
        { "malformed", NULL, NULL, NULL, NULL, malformed_tests },
        { "flags", NULL, NULL, NULL, NULL, flag_tests },
        { "ids", NULL, NULL, NULL, NULL, id_tests },
        { "format and checksums", NULL, NULL, NULL, NULL, format_tests },
        CU_SUITE_INFO_NULL,
    };

    return sft_run("sfp", suites);
}
