/*
 * Unit tests for controller/object.c: bucket updates of an object's select
 * group (instances before/after -> removed and inserted buckets, stable
 * ids), the fallback round-robin picker, and the group mods and fallback
 * messages the OpenFlow encoder makes (checked by decoding them back).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/object.h"
#include "controller/rules.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofpbuf.h"
#include "tests/unit/harness.h"

#define MAC(N) { 2, 0, 0, 0, 0, N }

static const struct ctl_object_instance a = { 80, MAC(1), 10, 0x01010010 };
static const struct ctl_object_instance b = { 80, MAC(2), 20, 0x01020014 };
static const struct ctl_object_instance c = { 80, MAC(2), 21, 0x01020015 };

static void
test_diff_new_group(void)
{
    struct ctl_object_instance want[] = { a, b, c };
    uint32_t *removed, next = 1;
    struct ctl_object_bucket *added;
    size_t n_removed, n_added;

    CU_ASSERT_EQUAL(ctl_object_diff(NULL, 0, want, 3, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_removed, 0);
    CU_ASSERT_PTR_NULL(removed);
    CU_ASSERT_EQUAL_FATAL(n_added, 3);
    for (uint32_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(added[i].bucket_id, i + 1);
        CU_ASSERT_EQUAL(added[i].flow_id, want[i].flow_id);
    }
    CU_ASSERT_EQUAL(next, 4);
    free(added);

    /* Nothing wanted, nothing there. */
    CU_ASSERT_EQUAL(ctl_object_diff(NULL, 0, NULL, 0, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_removed + n_added, 0);
    CU_ASSERT_EQUAL(next, 4);
}

static void
test_diff_updates(void)
{
    struct ctl_object_bucket old[] = {
        { 1, MAC(1), 10, 0x01010010 },
        { 2, MAC(2), 20, 0x01020014 },
        { 3, MAC(2), 21, 0x01020015 },
    };
    uint32_t *removed, next = 4;
    struct ctl_object_bucket *added;
    size_t n_removed, n_added;

    /* Same instances: no change, ids kept. */
    struct ctl_object_instance same[] = { c, a, b };
    CU_ASSERT_EQUAL(ctl_object_diff(old, 3, same, 3, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_removed + n_added, 0);
    CU_ASSERT_EQUAL(next, 4);

    /* Unbind of b: exactly its bucket goes. */
    struct ctl_object_instance less[] = { a, c };
    CU_ASSERT_EQUAL(ctl_object_diff(old, 3, less, 2, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL_FATAL(n_removed, 1);
    CU_ASSERT_EQUAL(removed[0], 2);
    CU_ASSERT_EQUAL(n_added, 0);
    free(removed);

    /* A new instance d: one insert, with a fresh id. */
    struct ctl_object_instance d = { 80, MAC(3), 30, 0x0103001e };
    struct ctl_object_instance more[] = { a, b, c, d };
    CU_ASSERT_EQUAL(ctl_object_diff(old, 3, more, 4, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_removed, 0);
    CU_ASSERT_EQUAL_FATAL(n_added, 1);
    CU_ASSERT_EQUAL(added[0].bucket_id, 4);
    CU_ASSERT_EQUAL(added[0].flow_id, 0x0103001e);
    CU_ASSERT_EQUAL(next, 5);
    free(added);

    /* Host 2 moved (hostID 2 -> 5): both its buckets are replaced, with
     * new ids; a's bucket stays. */
    struct ctl_object_instance b5 = b, c5 = c;
    b5.flow_id = 0x01050014;
    c5.flow_id = 0x01050015;
    struct ctl_object_instance moved[] = { a, b5, c5 };
    CU_ASSERT_EQUAL(ctl_object_diff(old, 3, moved, 3, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL_FATAL(n_removed, 2);
    CU_ASSERT_EQUAL(removed[0], 2);
    CU_ASSERT_EQUAL(removed[1], 3);
    CU_ASSERT_EQUAL_FATAL(n_added, 2);
    CU_ASSERT_EQUAL(added[0].bucket_id, 5);
    CU_ASSERT_EQUAL(added[0].flow_id, 0x01050014);
    CU_ASSERT_EQUAL(added[1].bucket_id, 6);
    CU_ASSERT_EQUAL(next, 7);
    free(removed);
    free(added);

    /* Everything gone. */
    CU_ASSERT_EQUAL(ctl_object_diff(old, 3, NULL, 0, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_removed, 3);
    CU_ASSERT_EQUAL(n_added, 0);
    free(removed);

    /* A duplicate wanted instance gets one bucket only. */
    struct ctl_object_instance dup[] = { d, d };
    CU_ASSERT_EQUAL(ctl_object_diff(NULL, 0, dup, 2, &next, &removed,
                                    &n_removed, &added, &n_added), 0);
    CU_ASSERT_EQUAL(n_added, 1);
    free(added);

    /* Bucket ids exhausted. */
    next = CTL_OBJECT_BUCKET_MAX + 1;
    CU_ASSERT_EQUAL(ctl_object_diff(NULL, 0, dup, 1, &next, &removed,
                                    &n_removed, &added, &n_added), -ENOSPC);
    CU_ASSERT_PTR_NULL(added);
}

static void
test_rr_pick(void)
{
    struct ctl_object_instance insts[] = { c, a, b };   /* Any order. */
    uint32_t last = 0;
    int seq[7];

    for (int i = 0; i < 7; i++) {
        seq[i] = ctl_object_rr_pick(insts, 3, &last);
    }
    /* By flowID: a (1), b (2), c (0), a, b, c, a. */
    CU_ASSERT_EQUAL(seq[0], 1);
    CU_ASSERT_EQUAL(seq[1], 2);
    CU_ASSERT_EQUAL(seq[2], 0);
    CU_ASSERT_EQUAL(seq[3], 1);
    CU_ASSERT_EQUAL(seq[6], 1);
    CU_ASSERT_EQUAL(last, a.flow_id);

    /* b goes away: the turn continues with c, then a. */
    struct ctl_object_instance fewer[] = { a, c };
    CU_ASSERT_EQUAL(ctl_object_rr_pick(fewer, 2, &last), 1);
    CU_ASSERT_EQUAL(ctl_object_rr_pick(fewer, 2, &last), 0);
    /* The picked instance itself goes away: the next one above it. */
    last = b.flow_id;
    CU_ASSERT_EQUAL(ctl_object_rr_pick(fewer, 2, &last), 1);
    /* None left. */
    CU_ASSERT_EQUAL(ctl_object_rr_pick(NULL, 0, &last), -ENOENT);
    CU_ASSERT_EQUAL(last, c.flow_id);
}

/* Decodes 'msg' back to text with the codec's own printer and checks that
 * it contains 'want'. */
static void
expect_print(struct ofpbuf *msg, const char *want)
{
    char *s = ofp_to_string(msg->data, msg->size, NULL, NULL, 1);

    if (!strstr(s, want)) {
        printf("\n  got  %s\n  want ...%s...\n", s, want);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(s, want));
    free(s);
    ofpbuf_delete(msg);
}

static void
test_encode(void)
{
    struct ctl_object_bucket bk[] = {
        { 1, MAC(1), 10, 0x01010010 },
        { 2, MAC(2), 20, 0x01020014 },
    };
    struct ofpbuf *msg = NULL, *po = NULL;

    CU_ASSERT_EQUAL(ctl_object_encode_add(OFP13_VERSION, 80, bk, 2, &msg),
                    -EPROTONOSUPPORT);
    CU_ASSERT_PTR_NULL(msg);
    CU_ASSERT_EQUAL(ctl_object_encode_add(OFP15_VERSION, 80, bk, 2, &msg), 0);
    expect_print(msg, "ADD group_id=80,type=select,"
                 "selection_method=round_robin,"
                 "bucket=bucket_id:1,actions=set_field:1.1.0.16"
                 "->ip_dst,resubmit(,1),bucket=bucket_id:2,"
                 "actions=set_field:1.2.0.20->ip_dst,resubmit(,1)");
    CU_ASSERT_EQUAL(ctl_object_encode_insert(OFP15_VERSION, 80, &bk[1], 1,
                                             &msg), 0);
    expect_print(msg, "INSERT_BUCKET command_bucket_id:last,group_id=80,"
                 "bucket=bucket_id:2,actions=set_field:1.2.0.20->ip_dst");
    CU_ASSERT_EQUAL(ctl_object_encode_remove(OFP15_VERSION, 80, 2, &msg), 0);
    expect_print(msg, "REMOVE_BUCKET command_bucket_id:2,group_id=80");
    CU_ASSERT_EQUAL(ctl_object_encode_delete(OFP15_VERSION, 80, &msg), 0);
    expect_print(msg, "DEL group_id=80");

    struct ctl_object_flow f = {
        .in_port = 3, .nw_src = 0x01030007, .nw_dst = 0x01000000,
        .tp_src = 5000, .tp_dst = 80,
    };
    uint8_t frame[60] = { 0 };
    CU_ASSERT_EQUAL(ctl_object_encode_resolved(OFP10_VERSION, &f, 0x01010010,
                                               frame, sizeof frame, &msg,
                                               &po), -EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(ctl_object_encode_resolved(OFP15_VERSION, &f, 0x01010010,
                                               frame, sizeof frame, &msg,
                                               &po), 0);
    expect_print(msg, "ADD priority=45001,udp,nw_src=1.3.0.7,nw_dst=1.0.0.0,"
                 "tp_src=5000,tp_dst=80 cookie:0x5c21000000000050 idle:10 "
                 "actions=set_field:1.1.0.16->ip_dst,resubmit(,1)");
    expect_print(po, "in_port=3");
}

static CU_TestInfo object_tests[] = {
    {"bucket diff: new group", test_diff_new_group},
    {"bucket diff: unbind, bind, move", test_diff_updates},
    {"fallback round-robin picker", test_rr_pick},
    {"group mods and fallback messages", test_encode},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_object", NULL, NULL, NULL, NULL, object_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_object", suites);
}
