/*
 * Unit tests for controller/probe.c: the LLDP-style discovery probe, a
 * fixed byte vector, round trips and malformed frames.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "controller/probe.h"
#include "tests/unit/harness.h"

static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x07 };

/* The probe for dpid 0x1, port 2, instance 0x1122334455667788. */
static const uint8_t vector[] = {
    0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07,
    0x88, 0xcc,
    /* Chassis ID: 1 + 21 bytes, subtype 7, "dpid:0000000000000001". */
    0x02, 0x16, 0x07, 'd', 'p', 'i', 'd', ':', '0', '0', '0', '0', '0', '0',
    '0', '0', '0', '0', '0', '0', '0', '0', '0', '1',
    /* Port ID: subtype 7, "2". */
    0x04, 0x02, 0x07, '2',
    /* TTL 120. */
    0x06, 0x02, 0x00, 0x78,
    /* Organisational: OUI 5c:a4:f0, subtype 1, dpid, port, instance. */
    0xfe, 0x18, 0x5c, 0xa4, 0xf0, 0x01,
    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    /* End. */
    0x00, 0x00,
};

static void
test_vector(void)
{
    struct ctl_probe p = { .dpid = 1, .port = 2,
                           .instance = 0x1122334455667788ULL };
    uint8_t buf[CTL_PROBE_MAX_LEN];

    int len = ctl_probe_encode(&p, mac, buf, sizeof buf);
    CU_ASSERT_EQUAL_FATAL(len, (int) sizeof vector);
    CU_ASSERT_EQUAL(memcmp(buf, vector, sizeof vector), 0);
    CU_ASSERT_EQUAL(ctl_probe_encode(&p, mac, buf, 60), -ENOSPC);
}

static void
test_roundtrip(void)
{
    struct ctl_probe p = { .dpid = UINT64_MAX - 1, .port = 0xfffffff0,
                           .instance = 42 };
    struct ctl_probe q;
    uint8_t buf[CTL_PROBE_MAX_LEN];

    int len = ctl_probe_encode(&p, mac, buf, sizeof buf);
    CU_ASSERT_TRUE(len >= 60);
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, len, &q), 0);
    CU_ASSERT_EQUAL(q.dpid, p.dpid);
    CU_ASSERT_EQUAL(q.port, p.port);
    CU_ASSERT_EQUAL(q.instance, p.instance);
}

static void
test_short_padding(void)
{
    struct ctl_probe p = { .dpid = 3, .port = 1, .instance = 1 };
    uint8_t buf[CTL_PROBE_MAX_LEN];
    struct ctl_probe q;

    int len = ctl_probe_encode(&p, mac, buf, sizeof buf);
    /* Trailing padding after End is fine. */
    memset(buf + len, 0, 20);
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, len + 20, &q), 0);
}

static void
test_malformed(void)
{
    uint8_t buf[sizeof vector];
    struct ctl_probe q;

    /* Not LLDP at all. */
    memcpy(buf, vector, sizeof vector);
    buf[12] = 0x08;
    buf[13] = 0x00;
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, sizeof buf, &q), -ENOENT);
    CU_ASSERT_EQUAL(ctl_probe_decode(vector, 13, &q), -ENOENT);

    /* Every truncation fails cleanly. */
    for (size_t len = 14; len < sizeof vector; len++) {
        CU_ASSERT_EQUAL(ctl_probe_decode(vector, len, &q), -EINVAL);
    }

    /* A TLV length running past the end. */
    memcpy(buf, vector, sizeof vector);
    buf[14] = 0x03;
    buf[15] = 0xff;
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, sizeof buf, &q), -EINVAL);

    /* Somebody else's LLDP (wrong OUI). */
    memcpy(buf, vector, sizeof vector);
    buf[14 + 24 + 4 + 4 + 2] ^= 0xff;
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, sizeof buf, &q), -EINVAL);

    /* Organisational TLV of the wrong length. */
    memcpy(buf, vector, sizeof vector);
    buf[14 + 24 + 4 + 4 + 1] = 0x17;
    CU_ASSERT_EQUAL(ctl_probe_decode(buf, sizeof buf, &q), -EINVAL);
}

static CU_TestInfo probe_tests[] = {
    {"fixed vector", test_vector},
    {"round trip", test_roundtrip},
    {"padding after end", test_short_padding},
    {"malformed frames", test_malformed},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_probe", NULL, NULL, NULL, NULL, probe_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_probe", suites);
}
