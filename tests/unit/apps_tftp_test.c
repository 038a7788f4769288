/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for sf-tftp's packet codec and RTO estimator
 * (apps/tftp-proto.[ch]): fixed byte vectors of RFC 1350/2347 packets,
 * the "resume" option, malformed packets (each decoded from an exactly
 * sized heap copy, so ASan or valgrind catch an over-read), and the
 * RFC 6298 arithmetic with fixed samples.
 */
#include "apps/tftp-proto.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

#define MS 1000000ULL

static int
decode_copy(const void *buf, size_t len, struct tftp_pkt *p)
{
    void *copy = malloc(len ? len : 1);
    int r;

    memcpy(copy, buf, len);
    r = tftp_decode(copy, len, p);
    free(copy);
    return r;
}

static void
test_rrq_vector(void)
{
    static const char expect[] =
        "\0\1file.bin\0octet\0blksize\0001400\0tsize\0000\0resume\0001001";
    struct tftp_opts o;
    struct tftp_pkt p;
    uint8_t buf[128];
    size_t n;

    memset(&o, 0, sizeof o);
    o.has_blksize = true;
    o.blksize = 1400;
    o.has_tsize = true;
    o.has_resume = true;
    o.resume = 1001;
    n = tftp_encode_rrq(buf, sizeof buf, "file.bin", "octet", &o);
    CU_ASSERT_EQUAL_FATAL(n, sizeof expect);    /* Last NUL included. */
    CU_ASSERT_EQUAL(memcmp(buf, expect, n), 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, n, &p), 0);
    CU_ASSERT_EQUAL(p.op, TFTP_RRQ);
    CU_ASSERT_STRING_EQUAL(p.file, "file.bin");
    CU_ASSERT_STRING_EQUAL(p.mode, "octet");
    CU_ASSERT(p.opts.has_blksize && p.opts.blksize == 1400);
    CU_ASSERT(p.opts.has_tsize && p.opts.tsize == 0);
    CU_ASSERT(p.opts.has_resume && p.opts.resume == 1001);
    /* Too small a buffer: nothing. */
    CU_ASSERT_EQUAL(tftp_encode_rrq(buf, n - 1, "file.bin", "octet", &o), 0);
    /* No options, mode in capitals (RFC 1350: any case). */
    n = tftp_encode_rrq(buf, sizeof buf, "a", "OCTET", NULL);
    CU_ASSERT_EQUAL_FATAL(n, 10);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, n, &p), 0);
    CU_ASSERT_STRING_EQUAL(p.mode, "octet");
    CU_ASSERT(!p.opts.has_blksize && !p.opts.has_tsize
              && !p.opts.has_resume);
}

static void
test_other_vectors(void)
{
    uint8_t buf[64];
    struct tftp_opts o;
    struct tftp_pkt p;
    size_t n;

    CU_ASSERT_EQUAL(tftp_encode_ack(buf, sizeof buf, 0x1234), 4);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\4\x12\x34", 4), 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, 4, &p), 0);
    CU_ASSERT_EQUAL(p.op, TFTP_ACK);
    CU_ASSERT_EQUAL(p.block, 0x1234);

    CU_ASSERT_EQUAL(tftp_encode_data_hdr(buf, sizeof buf, 65535), 4);
    memcpy(buf + 4, "xyz", 3);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\3\xff\xffxyz", 7), 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, 7, &p), 0);
    CU_ASSERT_EQUAL(p.op, TFTP_DATA);
    CU_ASSERT_EQUAL(p.block, 65535);
    CU_ASSERT_EQUAL(p.len, 3);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, 4, &p), 0);  /* Empty last. */
    CU_ASSERT_EQUAL(p.len, 0);

    n = tftp_encode_error(buf, sizeof buf, TFTP_ENOTFOUND, "file not found");
    CU_ASSERT_EQUAL(n, 19);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\5\0\1file not found", 19), 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, n, &p), 0);
    CU_ASSERT_EQUAL(p.code, TFTP_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(p.msg, "file not found");

    memset(&o, 0, sizeof o);
    o.has_tsize = true;
    o.tsize = 1500000;
    n = tftp_encode_oack(buf, sizeof buf, &o);
    CU_ASSERT_EQUAL(n, 16);
    CU_ASSERT_EQUAL(memcmp(buf, "\0\6tsize\0001500000", 16), 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, n, &p), 0);
    CU_ASSERT_EQUAL(p.op, TFTP_OACK);
    CU_ASSERT(p.opts.has_tsize && p.opts.tsize == 1500000);
    CU_ASSERT(!p.opts.has_blksize);

    CU_ASSERT_STRING_EQUAL(tftp_op_name(TFTP_OACK), "OACK");
    CU_ASSERT_STRING_EQUAL(tftp_op_name(99), "?");
}

static void
test_unknown_option_ignored(void)
{
    static const char pkt[] = "\0\1f\0octet\0windowsize\0008\0BLKSIZE\000512";
    struct tftp_pkt p;

    CU_ASSERT_EQUAL_FATAL(decode_copy(pkt, sizeof pkt, &p), 0);
    CU_ASSERT(p.opts.has_blksize && p.opts.blksize == 512);
}

static void
test_malformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        { "", 0 },
        { "\0", 1 },
        { "\0\7", 2 },                              /* Opcode 7. */
        { "\0\0", 2 },                              /* Opcode 0. */
        { "\0\1file", 6 },                          /* No NUL. */
        { "\0\1\0octet", 9 },                       /* Empty name. */
        { "\0\1f\0", 4 },                           /* No mode. */
        { "\0\1f\0octet\0blksize", 17 },            /* Option, no NUL. */
        { "\0\1f\0octet\0blksize\0", 18 },          /* No value. */
        { "\0\1f\0octet\0blksize\0007\0", 20 },     /* Below 8. */
        { "\0\1f\0octet\0blksize\00099999\0", 24 }, /* Above 65464. */
        { "\0\1f\0octet\0blksize\0x\0", 20 },       /* Not a number. */
        { "\0\1f\0octet\0resume\0000\0", 19 },      /* Block 0. */
        { "\0\1f\0octet\0tsize\0-1\0", 19 },        /* Sign. */
        { "\0\4\0", 3 },                            /* Short ACK. */
        { "\0\4\0\1x", 5 },                         /* Long ACK. */
        { "\0\3\0", 3 },                            /* Short DATA. */
        { "\0\5\0\1", 4 },                          /* ERROR, no text. */
        { "\0\5\0\1abc", 7 },                       /* ERROR, no NUL. */
    };
    struct tftp_pkt p;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = decode_copy(bad[i].bytes, bad[i].len, &p);
        if (r != -EBADMSG) {
            CU_FAIL("malformed packet accepted");
            fprintf(stderr, "case %zu accepted\n", i);
        }
    }
}

static void
test_rto(void)
{
    struct tftp_rto r;
    int i;

    tftp_rto_init(&r, 200 * MS, 20 * MS, 2000 * MS);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 200 * MS);
    /* Backoff doubles, capped. */
    tftp_rto_backoff(&r);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 400 * MS);
    for (i = 0; i < 10; i++) {
        tftp_rto_backoff(&r);
    }
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 2000 * MS);
    /* First sample R: SRTT = R, RTTVAR = R/2, RTO = 3R; clears backoff. */
    tftp_rto_sample(&r, 100 * MS);
    CU_ASSERT_EQUAL(r.backoff, 0);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 300 * MS);
    /* Second sample equal: RTTVAR = 3/4 * 50 = 37.5, RTO = 250 ms. */
    tftp_rto_sample(&r, 100 * MS);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 250 * MS);
    /* Steady tiny RTTs: down to the floor. */
    for (i = 0; i < 100; i++) {
        tftp_rto_sample(&r, MS / 10);
    }
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 20 * MS);
    CU_ASSERT(r.srtt_ns < 0.2 * MS);
    /* Huge samples: capped at max. */
    tftp_rto_sample(&r, 10000 * MS);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 2000 * MS);
    tftp_rto_reset_backoff(&r);
    CU_ASSERT_EQUAL(r.backoff, 0);
    /* Initial value clamped into the bounds. */
    tftp_rto_init(&r, 1, 20 * MS, 2000 * MS);
    CU_ASSERT_EQUAL(tftp_rto_get(&r), 20 * MS);
}

static CU_TestInfo tftp_tests[] = {
    { "RRQ fixed vector with options", test_rrq_vector },
    { "ACK, DATA, ERROR, OACK vectors", test_other_vectors },
    { "unknown options ignored", test_unknown_option_ignored },
    { "malformed packets refused", test_malformed },
    { "RFC 6298 RTO", test_rto },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "tftp", NULL, NULL, NULL, NULL, tftp_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("apps_tftp", suites);
}
