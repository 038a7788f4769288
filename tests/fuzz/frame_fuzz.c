/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the SCAFFOLD frame codec (proto/sfp.[ch]).
 *
 * Decodes the input as an Ethernet frame.  When it decodes, the frame must
 * pass sfp_frame_check(), format without overflowing, re-encode to exactly
 * the input bytes (except the IPv4 DF bit, which the encoder always sets,
 * the IPv4 checksum that covers it, and Ethernet padding, which it never
 * writes) and decode again to an equal struct.  Any mismatch abort()s.
 *
 * Each input is tried three times: as it is; with its IPv4 and UDP
 * checksums recomputed so that mutations get past them to the deeper
 * checks; and with the EtherType, IPv4 version/IHL, total length and
 * protocol forced right too, so that the SCAFFOLD header checks are reached
 * even without a seed corpus.
 *
 * The input is copied into a heap buffer of exactly its size so that
 * AddressSanitizer catches a read one byte past the end.
 */
#include "proto/sfp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "frame_fuzz: %s\n", what);
        abort();
    }
}

static void
check_frames_equal(const struct sfp_frame *a, const struct sfp_frame *b)
{
    check(!memcmp(a->eth_dst, b->eth_dst, 6), "eth_dst");
    check(!memcmp(a->eth_src, b->eth_src, 6), "eth_src");
    check(a->src_flow == b->src_flow, "src_flow");
    check(a->dst_flow == b->dst_flow, "dst_flow");
    check(a->src_obj == b->src_obj, "src_obj");
    check(a->dst_obj == b->dst_obj, "dst_obj");
    check(a->ip_tos == b->ip_tos, "ip_tos");
    check(a->ip_ttl == b->ip_ttl, "ip_ttl");
    check(a->ip_id == b->ip_id, "ip_id");
    check(a->hdr.version == b->hdr.version, "hdr.version");
    check(a->hdr.flags == b->hdr.flags, "hdr.flags");
    check(a->hdr.hlen == b->hdr.hlen, "hdr.hlen");
    check(a->hdr.seq == b->hdr.seq, "hdr.seq");
    check(a->hdr.ack == b->hdr.ack, "hdr.ack");
    check(a->hdr.nonce == b->hdr.nonce, "hdr.nonce");
    check(a->payload_len == b->payload_len, "payload_len");
    check(!a->payload_len
          || !memcmp(a->payload, b->payload, a->payload_len), "payload");
}

/* Decodes 'in' ('size' bytes, writable: it gets its DF bit set) and, on
 * success, checks the round-trip properties. */
static void
run_one(uint8_t *in, size_t size)
{
    struct sfp_frame f, g;
    char line[256];
    enum sfp_error e;
    uint8_t *out;
    size_t n;

    e = sfp_frame_decode(in, size, &f);
    check((unsigned int) e < SFP_N_ERRORS, "error code out of range");
    check(sfp_strerror(e) != NULL, "sfp_strerror");
    if (e != SFP_OK) {
        return;
    }

    check(sfp_frame_check(&f) == SFP_OK, "sfp_frame_check");
    check(f.payload >= in && f.payload + f.payload_len <= in + size,
          "payload outside the input");
    sfp_frame_format(&f, line, sizeof line);
    check(strlen(line) < sizeof line, "format");

    /* Re-encode into a buffer of exactly the needed size. */
    n = sfp_frame_hdr_size(&f) + f.payload_len;
    check(n <= size, "frame larger than its input");
    out = malloc(n);
    check(out != NULL, "malloc");
    check(sfp_frame_encode(&f, out, n) == n, "encode length");
    check(sfp_frame_encode(&f, out, n - 1) == 0, "encode into too little");

    /* Same bytes, up to DF, the IPv4 checksum and Ethernet padding. */
    in[20] |= 0x40;
    check(!memcmp(out, in, 24) && !memcmp(out + 26, in + 26, n - 26),
          "re-encoded bytes");
    check(sfp_ipv4_csum(out + 14, 20) == 0, "re-encoded ipv4 checksum");

    e = sfp_frame_decode(out, n, &g);
    check(e == SFP_OK, "re-decode");
    check_frames_equal(&f, &g);
    free(out);
}

/* Rewrites both checksums of the frame in 'buf' so that the fuzzer's
 * mutations reach the checks behind them (the UDP checksum covers what the
 * UDP length says, clipped to the buffer). */
static void
fix_csums(uint8_t *buf, size_t size)
{
    uint8_t *ip = buf + 14, *udp = buf + 34;
    size_t udp_len;
    uint16_t c;

    if (size < 42) {
        return;
    }
    ip[10] = ip[11] = 0;
    c = sfp_ipv4_csum(ip, 20);
    ip[10] = (uint8_t) (c >> 8);
    ip[11] = (uint8_t) c;

    udp_len = (size_t) (udp[4] << 8 | udp[5]);
    if (udp_len > size - 34) {
        udp_len = size - 34;
    }
    if (udp_len < 8) {
        return;
    }
    udp[6] = udp[7] = 0;
    c = sfp_udp_csum((uint32_t) ip[12] << 24 | (uint32_t) ip[13] << 16
                     | (uint32_t) ip[14] << 8 | ip[15],
                     (uint32_t) ip[16] << 24 | (uint32_t) ip[17] << 16
                     | (uint32_t) ip[18] << 8 | ip[19],
                     udp, udp_len);
    udp[6] = (uint8_t) (c >> 8);
    udp[7] = (uint8_t) c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size ? size : 1);

    check(in != NULL, "malloc");

    /* 1: the input as it is. */
    if (size) {
        memcpy(in, data, size);
    }
    run_one(in, size);

    /* 2: again with the checksums made right. */
    if (size) {
        memcpy(in, data, size);
    }
    fix_csums(in, size);
    run_one(in, size);

    /* 3: again with EtherType, IPv4 version/IHL, total length and protocol
     * forced right as well, so that even an empty corpus quickly reaches
     * the UDP and SCAFFOLD checks with every other field fuzzed. */
    if (size >= 34 && size - 14 <= 65535) {
        memcpy(in, data, size);
        in[12] = 0x08;
        in[13] = 0x00;
        in[14] = 0x45;
        in[16] = (uint8_t) ((size - 14) >> 8);
        in[17] = (uint8_t) (size - 14);
        in[23] = 17;
        fix_csums(in, size);
        run_one(in, size);
    }

    free(in);
    return 0;
}
