/*
 * Unit tests for controller/reconcile.c: flow stats and group description
 * replies, built with libopenvswitch the way a switch builds them, decoded
 * and compared with the wanted rules (kept, stale, transient, foreign,
 * missing), delete encoding, and malformed replies.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/object.h"
#include "controller/reconcile.h"
#include "controller/rules.h"
#include "openvswitch/list.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-group.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofpbuf.h"
#include "tests/unit/harness.h"

static ovs_be64
be64(uint64_t x)
{
    return ((ovs_be64) htonl(x & 0xffffffff) << 32) | htonl(x >> 32);
}

/* Appends to 'replies' the flow stats entry a switch reports for 'rule'
 * with 'cookie' (0: the rule's) and 'idle' timeout. */
static void
append_rule(struct ovs_list *replies, const struct ctl_rule *rule,
            enum ofp_version version, uint64_t cookie, uint16_t idle)
{
    enum ofputil_protocol p = ofputil_protocol_from_ofp_version(version);
    struct ofputil_flow_mod fm;
    struct ofpbuf ofpacts, *msg;

    CU_ASSERT_EQUAL_FATAL(ctl_rule_encode(rule, version, &msg), 0);
    ofpbuf_init(&ofpacts, 64);
    CU_ASSERT_EQUAL_FATAL(ofputil_decode_flow_mod(&fm, msg->data, p, NULL,
                                                  NULL, &ofpacts, OFPP_MAX,
                                                  255), 0);
    struct ofputil_flow_stats fs = {
        .cookie = be64(cookie ? cookie : rule->cookie),
        .table_id = rule->table,
        .priority = rule->priority,
        .idle_timeout = idle,
        .duration_sec = 42,
        .idle_age = -1,
        .hard_age = -1,
        .packet_count = 7,
        .byte_count = 700,
        .ofpacts = ofpacts.data,
        .ofpacts_len = ofpacts.size,
    };
    minimatch_expand(&fm.match, &fs.match);
    ofputil_append_flow_stats_reply(&fs, replies, NULL);
    minimatch_destroy(&fm.match);
    ofpbuf_uninit(&ofpacts);
    ofpbuf_delete(msg);
}

static void
test_flows(void)
{
    enum ofp_version v = OFP13_VERSION;
    struct ctl_rule base[CTL_RULES_BASE_MAX];
    size_t n = ctl_rules_base(CTL_ROLE_LABEL, v, base, CTL_RULES_BASE_MAX);
    CU_ASSERT_FATAL(n >= 3);

    /* Wanted: the base rules plus a transit rule that is missing. */
    struct ctl_rule want[CTL_RULES_BASE_MAX + 1];
    memcpy(want, base, n * sizeof *base);
    want[n] = base[0];
    want[n].priority = CTL_PRIO_TRANSIT;
    want[n].cookie = ctl_cookie(CTL_COOKIE_TRANSIT, 9);
    want[n].match = CTL_M_IN_PORT;
    want[n].in_port = 9;
    want[n].action = CTL_A_GOTO;
    want[n].goto_table = CTL_TABLE_ROUTE;
    size_t n_want = n + 1;

    struct ofpbuf *req = ctl_reconcile_encode_flow_request(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    struct ovs_list replies;
    ofpmp_init(&replies, req->data);

    for (size_t i = 0; i < n; i++) {
        append_rule(&replies, &base[i], v, 0, 0);       /* 0..n-1 kept */
    }
    struct ctl_rule stale = base[0];
    stale.priority = 123;
    append_rule(&replies, &stale, v, 0, 0);             /* n: stale */
    append_rule(&replies, &base[1], v,                  /* n+1: transient */
                ctl_cookie(CTL_COOKIE_L2_FLOW, 1), 60);
    append_rule(&replies, &base[1], v, 0x1234, 0);      /* foreign: dropped */
    struct ctl_rule wrong = base[1];                    /* n+2: same match, */
    wrong.priority = 77;                                /* other actions */
    wrong.action = CTL_A_DROP;
    append_rule(&replies, &wrong, v, 0, 0);

    struct ctl_reconcile_flows fl = { NULL, 0, 0 };
    for (struct ovs_list *l = replies.next; l != &replies; l = l->next) {
        struct ofpbuf *part = CONTAINER_OF(l, struct ofpbuf, list_node);
        ofpmsg_update_length(part);     /* As a switch does on send. */
        CU_ASSERT_EQUAL(ctl_reconcile_decode_flows(part->data, &fl), 0);
    }
    CU_ASSERT_EQUAL_FATAL(fl.n, n + 3);
    CU_ASSERT_EQUAL(fl.flows[0].n_packets, 7);
    CU_ASSERT_EQUAL(fl.flows[0].n_bytes, 700);
    CU_ASSERT_EQUAL(fl.flows[0].duration_sec, 42);

    long found[CTL_RULES_BASE_MAX + 1];
    bool keep[CTL_RULES_BASE_MAX + 3];
    CU_ASSERT_EQUAL(ctl_reconcile_diff(want, n_want, v, fl.flows, fl.n,
                                       found, keep), 0);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(found[i], (long) i);
        CU_ASSERT_TRUE(keep[i]);
    }
    CU_ASSERT_EQUAL(found[n], -1);          /* missing */
    CU_ASSERT_FALSE(keep[n]);               /* stale */
    CU_ASSERT_TRUE(keep[n + 1]);            /* transient */
    CU_ASSERT_FALSE(keep[n + 2]);           /* stale */

    /* The delete of a stale flow is a strict delete of exactly it. */
    struct ofpbuf *del, ofpacts;
    struct ofputil_flow_mod fm;
    CU_ASSERT_EQUAL(ctl_reconcile_encode_delete(&fl.flows[n], v, &del), 0);
    ofpbuf_init(&ofpacts, 64);
    CU_ASSERT_EQUAL(ofputil_decode_flow_mod(&fm, del->data,
                                            ofputil_protocol_from_ofp_version(v),
                                            NULL, NULL, &ofpacts, OFPP_MAX,
                                            255), 0);
    CU_ASSERT_EQUAL(fm.command, OFPFC_DELETE_STRICT);
    CU_ASSERT_EQUAL(fm.priority, 123);
    CU_ASSERT_EQUAL(fm.table_id, stale.table);
    CU_ASSERT_EQUAL(fm.cookie, be64(stale.cookie));
    CU_ASSERT_EQUAL(fm.cookie_mask, OVS_BE64_MAX);
    minimatch_destroy(&fm.match);
    ofpbuf_uninit(&ofpacts);
    ofpbuf_delete(del);

    /* Moving the stale ones out. */
    struct ctl_reconcile_flows gone = { NULL, 0, 0 };
    bool stale_ones[CTL_RULES_BASE_MAX + 3];
    for (size_t j = 0; j < fl.n; j++) {
        stale_ones[j] = !keep[j];
    }
    CU_ASSERT_EQUAL(ctl_reconcile_flows_take(&gone, &fl, stale_ones), 0);
    CU_ASSERT_EQUAL(gone.n, 2);
    CU_ASSERT_EQUAL(fl.n, n + 1);
    CU_ASSERT_EQUAL(gone.flows[0].priority, 123);

    ctl_reconcile_flows_clear(&gone);
    ctl_reconcile_flows_clear(&fl);
    ctl_reconcile_flows_clear(NULL);
    ofpbuf_list_delete(&replies);
    ofpbuf_delete(req);
}

static void
test_flows_malformed(void)
{
    struct ofpbuf *req = ctl_reconcile_encode_flow_request(OFP13_VERSION);
    struct ovs_list replies;
    struct ctl_rule base[CTL_RULES_BASE_MAX];
    size_t n = ctl_rules_base(CTL_ROLE_LABEL, OFP13_VERSION, base,
                              CTL_RULES_BASE_MAX);

    CU_ASSERT_FATAL(n > 0);
    ofpmp_init(&replies, req->data);
    append_rule(&replies, &base[0], OFP13_VERSION, 0, 0);
    struct ofpbuf *part = ofpbuf_from_list(ovs_list_front(&replies));
    /* Cut the entry short, keeping the header's length consistent. */
    part->size -= 8;
    ofpmsg_update_length(part);
    struct ctl_reconcile_flows fl = { NULL, 0, 0 };
    CU_ASSERT_EQUAL(ctl_reconcile_decode_flows(part->data, &fl), -EPROTO);
    CU_ASSERT_EQUAL(fl.n, 0);
    ctl_reconcile_flows_clear(&fl);
    ofpbuf_list_delete(&replies);
    ofpbuf_delete(req);

    /* OpenFlow 1.0 has no group descriptions. */
    CU_ASSERT_PTR_NULL(ctl_reconcile_encode_group_request(OFP10_VERSION));
}

static void
test_groups(void)
{
    enum ofp_version v = OFP15_VERSION;
    struct ctl_object_bucket b[] = {
        { 3, { 2, 0, 0, 0, 0, 1 }, 10, 0x01010010 },
        { 5, { 2, 0, 0, 0, 0, 2 }, 20, 0x01020014 },
    };
    struct ctl_object_instance insts[] = {
        { 80, { 2, 0, 0, 0, 0, 1 }, 10, 0x01010010 },
    };
    struct ofpbuf *gmsg, *req = ctl_reconcile_encode_group_request(v);
    struct ofputil_group_mod gm;

    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    CU_ASSERT_EQUAL_FATAL(ctl_object_encode_add(v, 80, b, 2, &gmsg), 0);
    CU_ASSERT_EQUAL_FATAL(ofputil_decode_group_mod(gmsg->data, &gm), 0);

    struct ovs_list replies;
    ofpmp_init(&replies, req->data);
    struct ofputil_group_desc gd = {
        .type = gm.type,
        .group_id = gm.group_id,
    };
    gd.props = gm.props;
    ofputil_append_group_desc_reply(&gd, &gm.buckets, &replies);

    struct ctl_reconcile_groups gl = { NULL, 0, 0 };
    for (struct ovs_list *l = replies.next; l != &replies; l = l->next) {
        struct ofpbuf *part = CONTAINER_OF(l, struct ofpbuf, list_node);
        ofpmsg_update_length(part);     /* As a switch does on send. */
        CU_ASSERT_EQUAL(ctl_reconcile_decode_groups(part->data, v, insts, 1,
                                                    &gl), 0);
    }
    CU_ASSERT_EQUAL_FATAL(gl.n, 1);
    CU_ASSERT_EQUAL(gl.groups[0].group_id, 80);
    CU_ASSERT_TRUE(gl.groups[0].round_robin);
    CU_ASSERT_EQUAL_FATAL(gl.groups[0].n_buckets, 2);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[0].bucket_id, 3);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[0].flow_id, 0x01010010);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[0].sock_id, 10);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[0].mac[5], 1);
    /* No instance has the second flowID: a zero MAC, so the bucket diff
     * removes it. */
    CU_ASSERT_EQUAL(gl.groups[0].buckets[1].bucket_id, 5);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[1].flow_id, 0x01020014);
    CU_ASSERT_EQUAL(gl.groups[0].buckets[1].mac[5], 0);

    ctl_reconcile_groups_clear(&gl);
    ctl_reconcile_groups_clear(NULL);
    ofputil_uninit_group_mod(&gm);
    ofpbuf_list_delete(&replies);
    ofpbuf_delete(gmsg);
    ofpbuf_delete(req);
}

static void
test_transient(void)
{
    CU_ASSERT_TRUE(ctl_reconcile_transient(ctl_cookie(CTL_COOKIE_L2_FLOW,
                                                      1)));
    CU_ASSERT_TRUE(ctl_reconcile_transient(ctl_cookie(CTL_COOKIE_RESOLVED,
                                                      80)));
    CU_ASSERT_FALSE(ctl_reconcile_transient(ctl_cookie(CTL_COOKIE_PREFIX,
                                                       1)));
}

static CU_TestInfo reconcile_tests[] = {
    {"flow stats: kept, stale, transient, foreign, missing", test_flows},
    {"flow stats: malformed reply", test_flows_malformed},
    {"group descriptions: buckets and instances", test_groups},
    {"transient cookies", test_transient},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_reconcile", NULL, NULL, NULL, NULL, reconcile_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_reconcile", suites);
}
