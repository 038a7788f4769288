/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for sf-iperf's datagram codec and receive accounting
 * (apps/iperf-proto.[ch]): fixed byte vectors, round trips, malformed
 * datagrams, loss/out-of-order/duplicate counting, RFC 3550 jitter with
 * fixed times, the token bucket, rate parsing.
 */
#include "apps/iperf-proto.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

static void
test_data_vector(void)
{
    static const uint8_t expect[IPF_DATA_LEN] = {
        0x53, 0x46, 0x49, 0x50, 1, IPF_DATA, 0x03, 0xe8,
        0xde, 0xad, 0xbe, 0xef,
        0, 0, 0, 0, 0, 0, 0x01, 0x02,
        0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05,
    };
    uint8_t buf[64];
    struct ipf_msg m, d;

    memset(&m, 0, sizeof m);
    m.type = IPF_DATA;
    m.interval_ms = 1000;
    m.session = 0xdeadbeef;
    m.seq = 0x102;
    m.ts_ns = 0x0102030405ULL;
    CU_ASSERT_EQUAL_FATAL(ipf_encode(buf, sizeof buf, &m), IPF_DATA_LEN);
    CU_ASSERT_EQUAL(memcmp(buf, expect, sizeof expect), 0);
    /* Padding after the DATA header is ignored. */
    CU_ASSERT_EQUAL_FATAL(ipf_decode(buf, sizeof buf, &d), 0);
    CU_ASSERT_EQUAL(d.type, IPF_DATA);
    CU_ASSERT_EQUAL(d.session, 0xdeadbeef);
    CU_ASSERT_EQUAL(d.interval_ms, 1000);
    CU_ASSERT_EQUAL(d.seq, 0x102);
    CU_ASSERT_EQUAL(d.ts_ns, 0x0102030405ULL);
    ipf_set_data(buf, 7, 9);
    CU_ASSERT_EQUAL_FATAL(ipf_decode(buf, IPF_DATA_LEN, &d), 0);
    CU_ASSERT_EQUAL(d.seq, 7);
    CU_ASSERT_EQUAL(d.ts_ns, 9);
    CU_ASSERT_EQUAL(ipf_encode(buf, IPF_DATA_LEN - 1, &m), 0);
}

static void
test_roundtrip_fin_report(void)
{
    uint8_t buf[IPF_STATS_LEN];
    struct ipf_msg m, d;

    memset(&m, 0, sizeof m);
    m.type = IPF_FIN;
    m.session = 42;
    m.sent_packets = 123456789;
    m.sent_bytes = 1ULL << 40;
    m.duration_ns = 10000000000ULL;
    CU_ASSERT_EQUAL_FATAL(ipf_encode(buf, sizeof buf, &m), IPF_FIN_LEN);
    CU_ASSERT_EQUAL_FATAL(ipf_decode(buf, IPF_FIN_LEN, &d), 0);
    CU_ASSERT_EQUAL(d.sent_packets, 123456789);
    CU_ASSERT_EQUAL(d.sent_bytes, 1ULL << 40);
    CU_ASSERT_EQUAL(d.duration_ns, 10000000000ULL);

    memset(&m, 0, sizeof m);
    m.type = IPF_REPORT;
    m.session = 43;
    m.stats.index = UINT32_MAX;
    m.stats.start_ns = 1;
    m.stats.end_ns = 2;
    m.stats.packets = 3;
    m.stats.bytes = 4;
    m.stats.expected = 5;
    m.stats.lost = 6;
    m.stats.ooo = 7;
    m.stats.dups = 8;
    m.stats.jitter_ns = 9;
    CU_ASSERT_EQUAL_FATAL(ipf_encode(buf, sizeof buf, &m), IPF_STATS_LEN);
    CU_ASSERT_EQUAL_FATAL(ipf_decode(buf, IPF_STATS_LEN, &d), 0);
    CU_ASSERT_EQUAL(d.type, IPF_REPORT);
    CU_ASSERT_EQUAL(memcmp(&d.stats, &m.stats, sizeof d.stats), 0);
}

static void
test_malformed(void)
{
    uint8_t buf[IPF_STATS_LEN];
    struct ipf_msg m, d;
    size_t n, cut;

    memset(&m, 0, sizeof m);
    m.type = IPF_INTERVAL;
    n = ipf_encode(buf, sizeof buf, &m);
    for (cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        CU_ASSERT_EQUAL(ipf_decode(copy, cut, &d), -EBADMSG);
        free(copy);
    }
    buf[0] ^= 1;                                /* Magic. */
    CU_ASSERT_EQUAL(ipf_decode(buf, n, &d), -EBADMSG);
    buf[0] ^= 1;
    buf[4] = 2;                                 /* Version. */
    CU_ASSERT_EQUAL(ipf_decode(buf, n, &d), -EBADMSG);
    buf[4] = 1;
    buf[5] = 9;                                 /* Type. */
    CU_ASSERT_EQUAL(ipf_decode(buf, n, &d), -EBADMSG);
    m.type = 9;
    CU_ASSERT_EQUAL(ipf_encode(buf, sizeof buf, &m), 0);
}

static void
test_loss_ooo_dups(void)
{
    static const uint64_t seqs[] = { 0, 1, 2, 4, 5, 3, 5, 7, 8 };
    struct ipf_rx rx;
    struct ipf_stats st;
    size_t i;

    ipf_rx_init(&rx);
    for (i = 0; i < 5; i++) {               /* 0 1 2 4 5 */
        ipf_rx_packet(&rx, seqs[i], 0, 0, 100);
    }
    memset(&st, 0, sizeof st);
    ipf_rx_interval(&rx, &st);
    CU_ASSERT_EQUAL(st.packets, 5);
    CU_ASSERT_EQUAL(st.bytes, 500);
    CU_ASSERT_EQUAL(st.expected, 6);
    CU_ASSERT_EQUAL(st.lost, 1);            /* 3, so far. */
    for (; i < sizeof seqs / sizeof *seqs; i++) {   /* 3 5 7 8 */
        ipf_rx_packet(&rx, seqs[i], 0, 0, 100);
    }
    ipf_rx_interval(&rx, &st);
    CU_ASSERT_EQUAL(st.packets, 3);         /* 3 (late), 7, 8. */
    CU_ASSERT_EQUAL(st.ooo, 1);
    CU_ASSERT_EQUAL(st.dups, 1);
    CU_ASSERT_EQUAL(st.expected, 3);        /* 6, 7, 8. */
    CU_ASSERT_EQUAL(st.lost, 0);            /* 6 lost, 3 came late. */
    /* Totals with the client's count of 10: 6 and 9 never came. */
    ipf_rx_total(&rx, 10, &st);
    CU_ASSERT_EQUAL(st.packets, 8);
    CU_ASSERT_EQUAL(st.expected, 10);
    CU_ASSERT_EQUAL(st.lost, 2);
    CU_ASSERT_EQUAL(st.packets, st.expected - st.lost);
    CU_ASSERT_EQUAL(st.ooo, 1);
    CU_ASSERT_EQUAL(st.dups, 1);
    /* Without a FIN the highest sequence decides. */
    ipf_rx_total(&rx, 0, &st);
    CU_ASSERT_EQUAL(st.expected, 9);
    CU_ASSERT_EQUAL(st.lost, 1);
    ipf_rx_destroy(&rx);
    ipf_rx_destroy(NULL);
}

static void
test_jitter(void)
{
    struct ipf_rx rx;
    struct ipf_stats st;
    uint64_t i;

    /* Constant transit: no jitter. */
    ipf_rx_init(&rx);
    for (i = 0; i < 100; i++) {
        ipf_rx_packet(&rx, i, i * 1000000, i * 1000000 + 50000, 10);
    }
    ipf_rx_total(&rx, 100, &st);
    CU_ASSERT_EQUAL(st.jitter_ns, 0);
    ipf_rx_destroy(&rx);

    /* Transit alternating 0 / 1 ms: |D| = 1 ms each time, J converges to
     * 1 ms: J_n = 1 - (15/16)^n ms after n differences. */
    ipf_rx_init(&rx);
    for (i = 0; i < 2; i++) {
        ipf_rx_packet(&rx, i, i * 10000000,
                      i * 10000000 + (i % 2) * 1000000, 10);
    }
    ipf_rx_total(&rx, 2, &st);
    CU_ASSERT_EQUAL(st.jitter_ns, 62500);   /* 1 ms / 16. */
    for (; i < 400; i++) {
        ipf_rx_packet(&rx, i, i * 10000000,
                      i * 10000000 + (i % 2) * 1000000, 10);
    }
    ipf_rx_total(&rx, 400, &st);
    CU_ASSERT(st.jitter_ns > 999000 && st.jitter_ns <= 1000000);
    ipf_rx_destroy(&rx);
}

static void
test_bucket(void)
{
    struct ipf_bucket b;
    uint64_t t = 1000000000ULL, sent = 0;
    int i;

    /* 1.4 MB/s of 1400-byte datagrams = 1000 per second. */
    ipf_bucket_init(&b, 1.4e6, 4 * 1400, t);
    CU_ASSERT_EQUAL(ipf_bucket_take(&b, t, 1400, 32), 0);
    CU_ASSERT_EQUAL(ipf_bucket_wait_ns(&b, 1400), 1000001);
    for (i = 1; i <= 1000; i++) {           /* Every 1 ms for 1 s. */
        sent += ipf_bucket_take(&b, t + (uint64_t) i * 1000000, 1400, 32);
    }
    CU_ASSERT(sent >= 999 && sent <= 1000);
    /* Idle for a second: the burst cap bounds the credit. */
    CU_ASSERT_EQUAL(ipf_bucket_take(&b, t + 2000000000ULL, 1400, 32), 4);
    CU_ASSERT_EQUAL(ipf_bucket_take(&b, t + 2000000000ULL, 1400, 32), 0);
    /* Unlimited. */
    ipf_bucket_init(&b, 0, 0, t);
    CU_ASSERT_EQUAL(ipf_bucket_take(&b, t, 1400, 32), 32);
    CU_ASSERT_EQUAL(ipf_bucket_wait_ns(&b, 1400), 0);
}

static void
test_parse_rate(void)
{
    double v;

    CU_ASSERT_EQUAL(ipf_parse_rate("100M", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 100e6, 1e-3);
    CU_ASSERT_EQUAL(ipf_parse_rate("1.5G", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 1.5e9, 1e-3);
    CU_ASSERT_EQUAL(ipf_parse_rate("64k", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 64e3, 1e-6);
    CU_ASSERT_EQUAL(ipf_parse_rate("0", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 0, 1e-9);
    CU_ASSERT_EQUAL(ipf_parse_rate("", &v), -EINVAL);
    CU_ASSERT_EQUAL(ipf_parse_rate("fast", &v), -EINVAL);
    CU_ASSERT_EQUAL(ipf_parse_rate("10MB", &v), -EINVAL);
    CU_ASSERT_EQUAL(ipf_parse_rate("-1M", &v), -EINVAL);
    CU_ASSERT_EQUAL(ipf_parse_rate("nan", &v), -EINVAL);
}

static CU_TestInfo iperf_tests[] = {
    { "DATA fixed vector", test_data_vector },
    { "FIN and REPORT round trips", test_roundtrip_fin_report },
    { "malformed datagrams refused", test_malformed },
    { "loss, out-of-order, duplicates", test_loss_ooo_dups },
    { "RFC 3550 jitter", test_jitter },
    { "token bucket", test_bucket },
    { "rate parsing", test_parse_rate },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "iperf", NULL, NULL, NULL, NULL, iperf_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("apps_iperf", suites);
}
