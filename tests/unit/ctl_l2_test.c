/*
 * Unit tests for controller/l2.c: the bounded MAC table (learn, move,
 * multicast ignored, LRU eviction) and the answers to packet-ins (one
 * flow-mod naming the buffer, flood for unknown destinations, nothing for
 * a destination behind the ingress port), decoded back with the codec.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/l2.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofpbuf.h"
#include "tests/unit/harness.h"

static const uint8_t m1[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t m2[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t m3[6] = { 2, 0, 0, 0, 0, 3 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void
test_table(void)
{
    struct ctl_l2 *l2 = ctl_l2_create(2);

    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m1), 0);
    ctl_l2_learn(l2, m1, 1);
    ctl_l2_learn(l2, m2, 2);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m1), 1);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m2), 2);
    ctl_l2_learn(l2, m1, 3);                /* Moved; now most recent. */
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m1), 3);
    ctl_l2_learn(l2, bcast, 4);             /* Multicast: ignored. */
    CU_ASSERT_EQUAL(ctl_l2_count(l2), 2);
    ctl_l2_learn(l2, m3, 5);                /* Full: m2 (oldest) goes. */
    CU_ASSERT_EQUAL(ctl_l2_count(l2), 2);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m2), 0);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m1), 3);
    CU_ASSERT_EQUAL(ctl_l2_lookup(l2, m3), 5);
    ctl_l2_destroy(l2);
    ctl_l2_destroy(NULL);
}

static char *
print(struct ofpbuf *msg)
{
    char *s = ofp_to_string(msg->data, msg->size, NULL, NULL, 1);

    ofpbuf_delete(msg);
    return s;
}

static void
frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6])
{
    memset(f, 0, 60);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
}

static void
test_answer(void)
{
    struct ctl_l2 *l2 = ctl_l2_create(16);
    struct ofpbuf *fm, *po;
    uint8_t f[60];
    char *s;

    CU_ASSERT_EQUAL(ctl_l2_answer(l2, OFP10_VERSION, 1, 7, f, 10, &fm, &po),
                    -EINVAL);

    /* m1 -> m2 (unknown): flood the buffered packet; m1 learnt. */
    frame(f, m2, m1);
    CU_ASSERT_EQUAL(ctl_l2_answer(l2, OFP10_VERSION, 1, 7, f, 60, &fm, &po),
                    0);
    CU_ASSERT_PTR_NULL(fm);
    CU_ASSERT_PTR_NOT_NULL_FATAL(po);
    s = print(po);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "buffer=0x00000007"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "actions=FLOOD"));
    free(s);

    /* m2 -> m1 (known, port 1): one flow-mod naming the buffer. */
    frame(f, m1, m2);
    CU_ASSERT_EQUAL(ctl_l2_answer(l2, OFP10_VERSION, 2, 8, f, 60, &fm, &po),
                    0);
    CU_ASSERT_PTR_NULL(po);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fm);
    s = print(fm);
    if (!strstr(s, "in_port=2,dl_src=02:00:00:00:00:02,"
                "dl_dst=02:00:00:00:00:01")) {
        printf("\n%s\n", s);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "in_port=2,dl_src=02:00:00:00:00:02,"
                                  "dl_dst=02:00:00:00:00:01"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "idle:60"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "buf:0x8"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "actions=output:1"));
    free(s);

    /* Unbuffered (OpenFlow 1.3): the flow-mod and a packet-out. */
    CU_ASSERT_EQUAL(ctl_l2_answer(l2, OFP13_VERSION, 2, UINT32_MAX, f, 60,
                                  &fm, &po), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fm);
    CU_ASSERT_PTR_NOT_NULL_FATAL(po);
    free(print(fm));
    s = print(po);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "actions=output:1"));
    free(s);

    /* A destination behind the ingress port: nothing. */
    frame(f, m2, m3);
    CU_ASSERT_EQUAL(ctl_l2_answer(l2, OFP10_VERSION, 2, 9, f, 60, &fm, &po),
                    0);
    CU_ASSERT_PTR_NULL(fm);
    CU_ASSERT_PTR_NULL(po);
    ctl_l2_destroy(l2);
}

/* The fast path's patched template is byte for byte what the generic
 * encoder makes for the same packet-in (the xid aside, which the sender
 * patches), for several ports, MACs and buffers; what it cannot answer
 * with one buffered flow-mod it leaves to the generic path. */
static void
test_answer_fast(void)
{
    struct ctl_l2 *fast = ctl_l2_create(16);
    struct ctl_l2 *slow = ctl_l2_create(16);
    struct ofpbuf *fm, *po;
    uint8_t f[60];
    void *msg;
    size_t len;

    CU_ASSERT_EQUAL(ctl_l2_answer_fast(fast, 1, 7, f, 10, &msg, &len),
                    -EINVAL);
    /* m1 -> m2 unknown: flood, not for the fast path (m1 still learnt). */
    frame(f, m2, m1);
    CU_ASSERT_EQUAL(ctl_l2_answer_fast(fast, 1, 7, f, 60, &msg, &len),
                    -EAGAIN);
    CU_ASSERT_EQUAL(ctl_l2_lookup(fast, m1), 1);
    CU_ASSERT_EQUAL(ctl_l2_answer(slow, OFP10_VERSION, 1, 7, f, 60, &fm,
                                  &po), 0);
    ofpbuf_delete(po);

    static const struct {
        uint32_t in_port, buffer;
    } cases[] = { { 2, 8 }, { 3, 0x12345678 }, { 0xfeff, 0 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t src[6] = { 2, 0, 0, 0, 0x10, (uint8_t) i };
        frame(f, m1, src);
        CU_ASSERT_EQUAL_FATAL(ctl_l2_answer_fast(fast, cases[i].in_port,
                                                 cases[i].buffer, f, 60,
                                                 &msg, &len), 0);
        CU_ASSERT_EQUAL_FATAL(ctl_l2_answer(slow, OFP10_VERSION,
                                            cases[i].in_port,
                                            cases[i].buffer, f, 60, &fm,
                                            &po), 0);
        CU_ASSERT_PTR_NULL(po);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fm);
        ofpmsg_update_length(fm);
        CU_ASSERT_EQUAL_FATAL(len, fm->size);
        /* Compare from after the xid. */
        CU_ASSERT_EQUAL(memcmp((uint8_t *) msg + 8,
                               (uint8_t *) fm->data + 8, len - 8), 0);
        CU_ASSERT_EQUAL(memcmp(msg, fm->data, 4), 0);
        ofpbuf_delete(fm);
    }

    /* Unbuffered, multicast, and behind the ingress port: generic path. */
    frame(f, m1, m2);
    CU_ASSERT_EQUAL(ctl_l2_answer_fast(fast, 2, UINT32_MAX, f, 60, &msg,
                                       &len), -EAGAIN);
    frame(f, bcast, m2);
    CU_ASSERT_EQUAL(ctl_l2_answer_fast(fast, 2, 9, f, 60, &msg, &len),
                    -EAGAIN);
    frame(f, m1, m3);
    CU_ASSERT_EQUAL(ctl_l2_answer_fast(fast, 1, 9, f, 60, &msg, &len),
                    -EAGAIN);
    ctl_l2_destroy(fast);
    ctl_l2_destroy(slow);
}

static CU_TestInfo l2_tests[] = {
    {"MAC table", test_table},
    {"answers to packet-ins", test_answer},
    {"fast path: template equals the encoder", test_answer_fast},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_l2", NULL, NULL, NULL, NULL, l2_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_l2", suites);
}
