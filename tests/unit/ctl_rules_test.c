/*
 * Unit tests for controller/rules.c: the base rules, the whole rule set of
 * a label router computed from a small topology and two hosts (outside any
 * hostID block: routed alone everywhere), the rule sets of a topology with
 * hostID blocks over two ssIDs and what one move changes on each switch,
 * version checks, and the flow-mods the OpenFlow encoder makes of them.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/rules.h"
#include "controller/topo.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofpbuf.h"
#include "tests/unit/harness.h"

static struct ctl_topo *topo;
static struct ctl_rules_host hosts[2] = {
    { .mac = { 2, 0, 0, 0, 0, 1 }, .ss_id = 1, .host_id = 1,
      .dpid = 1, .port_no = 5 },
    { .mac = { 2, 0, 0, 0, 0, 2 }, .ss_id = 1, .host_id = 2,
      .dpid = 2, .port_no = 6 },
};
static struct ctl_rules_input input;
static const uint8_t ss1[] = { 1 };

/* s1:1 <-> s2:1, s2:2 <-> s3:1; s3 is the object router. */
static void
setup(void)
{
    topo = ctl_topo_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
    for (uint64_t i = 1; i <= 3; i++) {
        ctl_topo_switch_add(topo, i);
    }
    ctl_topo_link_seen(topo, 1, 1, 2, 1, 0, NULL);
    ctl_topo_link_seen(topo, 2, 1, 1, 1, 0, NULL);
    ctl_topo_link_seen(topo, 2, 2, 3, 1, 0, NULL);
    ctl_topo_link_seen(topo, 3, 1, 2, 2, 0, NULL);
    input = (struct ctl_rules_input) {
        .topo = topo, .ss_ids = ss1, .n_ss_ids = 1, .object_router = 3,
        .router_mac = { 2, 0x5c, 0, 0, 0, 1 },
        .hosts = hosts, .n_hosts = 2,
    };
}

static void
teardown(void)
{
    ctl_topo_destroy(topo);
}

/* Compares the formatted rules with 'want' (NULL-terminated). */
static void
expect_rules(const struct ctl_rule *rules, size_t n, const char *want[])
{
    size_t n_want = 0;
    char buf[512];

    while (want[n_want]) {
        n_want++;
    }
    CU_ASSERT_EQUAL(n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++) {
        ctl_rule_format(&rules[i], buf, sizeof buf);
        if (strcmp(buf, want[i])) {
            printf("\nrule %zu:\n  got  %s\n  want %s\n", i, buf, want[i]);
        }
        CU_ASSERT_STRING_EQUAL(buf, want[i]);
    }
}

static const char *base13[] = {
    "table=0,priority=65000,cookie=0x5c01000000000000,dl_type=0x88cc "
    "actions=CONTROLLER:65535",
    "table=0,priority=60000,cookie=0x5c02000000000000,dl_type=0x0800,"
    "nw_proto=17,tp_dst=1 actions=CONTROLLER:65535",
    "table=0,priority=0,cookie=0x5c03000000000000 actions=drop",
    "table=1,priority=0,cookie=0x5c03000000000001 actions=drop",
    NULL,
};

static void
test_base(void)
{
    struct ctl_rule r[CTL_RULES_BASE_MAX];

    size_t n = ctl_rules_base(CTL_ROLE_LABEL, OFP13_VERSION, r,
                              CTL_RULES_BASE_MAX);
    expect_rules(r, n, base13);
    n = ctl_rules_base(CTL_ROLE_LABEL, OFP10_VERSION, r, CTL_RULES_BASE_MAX);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(ctl_rules_base(CTL_ROLE_LABEL, OFP13_VERSION, r, 2), 2);
}

static void
test_label_router_s1(void)
{
    static const char *want[] = {
        "table=0,priority=65000,cookie=0x5c01000000000000,dl_type=0x88cc "
        "actions=CONTROLLER:65535",
        "table=0,priority=60000,cookie=0x5c02000000000000,dl_type=0x0800,"
        "nw_proto=17,tp_dst=1 actions=CONTROLLER:65535",
        "table=0,priority=0,cookie=0x5c03000000000000 actions=drop",
        "table=1,priority=0,cookie=0x5c03000000000001 actions=drop",
        "table=0,priority=40000,cookie=0x5c04000000000001,in_port=1 "
        "actions=goto_table:1",
        "table=0,priority=50000,cookie=0x5c11000000000101,in_port=5,"
        "dl_type=0x0800,nw_src=1.1.0.0/16 actions=goto_table:1",
        "table=0,priority=49000,cookie=0x5c11000000000101,in_port=5 "
        "actions=drop",
        "table=1,priority=40000,cookie=0x5c10000000000101,dl_type=0x0800,"
        "nw_dst=1.1.0.0/16 actions=mod_dl_src:02:5c:00:00:00:01,"
        "mod_dl_dst:02:00:00:00:00:01,output:5",
        "table=1,priority=40000,cookie=0x5c10000000000102,dl_type=0x0800,"
        "nw_dst=1.2.0.0/16 actions=output:1",
        "table=1,priority=40000,cookie=0x5c12000000000001,dl_type=0x0800,"
        "nw_dst=1.0.0.0/16 actions=output:1",
        NULL,
    };
    struct ctl_rule *rules;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&input, 1, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    expect_rules(rules, n, want);
    free(rules);
}

static void
test_label_router_s2(void)
{
    static const char *want[] = {
        "table=0,priority=40000,cookie=0x5c04000000000001,in_port=1 "
        "actions=goto_table:1",
        "table=0,priority=40000,cookie=0x5c04000000000002,in_port=2 "
        "actions=goto_table:1",
        "table=0,priority=50000,cookie=0x5c11000000000102,in_port=6,"
        "dl_type=0x0800,nw_src=1.2.0.0/16 actions=goto_table:1",
        "table=0,priority=49000,cookie=0x5c11000000000102,in_port=6 "
        "actions=drop",
        "table=1,priority=40000,cookie=0x5c10000000000101,dl_type=0x0800,"
        "nw_dst=1.1.0.0/16 actions=output:1",
        "table=1,priority=40000,cookie=0x5c10000000000102,dl_type=0x0800,"
        "nw_dst=1.2.0.0/16 actions=mod_dl_src:02:5c:00:00:00:01,"
        "mod_dl_dst:02:00:00:00:00:02,output:6",
        "table=1,priority=40000,cookie=0x5c12000000000001,dl_type=0x0800,"
        "nw_dst=1.0.0.0/16 actions=output:2",
        NULL,
    };
    struct ctl_rule *rules;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&input, 2, CTL_ROLE_LABEL,
                                           OFP15_VERSION, &rules, &n), 0);
    CU_ASSERT_FATAL(n >= 4);
    expect_rules(rules + 4, n - 4, want);
    free(rules);
}

static void
test_move_and_unreachable(void)
{
    struct ctl_rule *rules;
    size_t n;
    char buf[512];

    /* h1 moves to s2 port 7 (new hostID 3): s1 now routes it out port 1
     * and has no anti-spoofing rules left. */
    struct ctl_rules_host moved[2] = { hosts[0], hosts[1] };
    moved[0].dpid = 2;
    moved[0].port_no = 7;
    moved[0].host_id = 3;
    input.hosts = moved;
    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&input, 1, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL(n, 4 + 1 + 3);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_NOT_EQUAL(ctl_cookie_kind(rules[i].cookie),
                            CTL_COOKIE_ANTISPOOF);
    }
    ctl_rule_format(&rules[5], buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "table=1,priority=40000,cookie="
                           "0x5c10000000000103,dl_type=0x0800,"
                           "nw_dst=1.3.0.0/16 actions=output:1");
    free(rules);

    /* Cut s1 off: only its own host's rules and the base remain. */
    input.hosts = hosts;
    ctl_topo_link_remove(topo, 1, 1);
    ctl_topo_link_remove(topo, 2, 1);
    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&input, 1, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL(n, 4 + 2 + 1);
    free(rules);
}

/* The object router s3 (one link, port 1 toward s2): transit, and per
 * host a route back out of the ingress port plus the plain route. */
static const char *object_none[] = {
    "table=0,priority=65000,cookie=0x5c01000000000000,dl_type=0x88cc "
    "actions=CONTROLLER:65535",
    "table=0,priority=60000,cookie=0x5c02000000000000,dl_type=0x0800,"
    "nw_proto=17,tp_dst=1 actions=CONTROLLER:65535",
    "table=0,priority=0,cookie=0x5c03000000000000 actions=drop",
    "table=1,priority=0,cookie=0x5c03000000000001 actions=drop",
    "table=0,priority=40000,cookie=0x5c04000000000001,in_port=1 "
    "actions=goto_table:1",
    "table=1,priority=40001,cookie=0x5c10000000000101,in_port=1,"
    "dl_type=0x0800,nw_dst=1.1.0.0/16 actions=IN_PORT",
    "table=1,priority=40000,cookie=0x5c10000000000101,dl_type=0x0800,"
    "nw_dst=1.1.0.0/16 actions=output:1",
    "table=1,priority=40001,cookie=0x5c10000000000102,in_port=1,"
    "dl_type=0x0800,nw_dst=1.2.0.0/16 actions=IN_PORT",
    "table=1,priority=40000,cookie=0x5c10000000000102,dl_type=0x0800,"
    "nw_dst=1.2.0.0/16 actions=output:1",
    NULL,
};

static void
test_single_table_and_object(void)
{
    struct ctl_rule *rules;
    size_t n;

    CU_ASSERT_EQUAL(ctl_rules_switch(&input, 1, CTL_ROLE_LABEL,
                                     OFP10_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    free(rules);
    CU_ASSERT_EQUAL(ctl_rules_switch(&input, 3, CTL_ROLE_OBJECT,
                                     OFP15_VERSION, &rules, &n), 0);
    expect_rules(rules, n, object_none);
    free(rules);

    /* Objects 80 and 443 with live instances, resolved in groups... */
    static const uint16_t objects[] = { 80, 443 };
    input.objects = objects;
    input.n_objects = 2;
    input.resolve = CTL_RESOLVE_GROUP;
    CU_ASSERT_EQUAL(ctl_rules_switch(&input, 3, CTL_ROLE_OBJECT,
                                     OFP15_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 11);
    expect_rules(rules, 9, object_none);
    char buf[512];
    ctl_rule_format(&rules[9], buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "table=0,priority=45000,"
                           "cookie=0x5c20000000000050,dl_type=0x0800,"
                           "nw_proto=17,nw_dst=1.0.0.0/16,tp_dst=80 "
                           "actions=group:80");
    free(rules);

    /* ... or in the controller (stock OVS). */
    input.resolve = CTL_RESOLVE_CONTROLLER;
    CU_ASSERT_EQUAL(ctl_rules_switch(&input, 3, CTL_ROLE_OBJECT,
                                     OFP15_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 11);
    ctl_rule_format(&rules[10], buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "table=0,priority=45000,"
                           "cookie=0x5c200000000001bb,dl_type=0x0800,"
                           "nw_proto=17,nw_dst=1.0.0.0/16,tp_dst=443 "
                           "actions=CONTROLLER:65535");
    free(rules);
    input.resolve = CTL_RESOLVE_NONE;
    input.n_objects = 0;
}

static void
test_check(void)
{
    struct ctl_rule r = {
        .table = 0, .priority = 1, .match = CTL_M_NW_DST,
        .nw_dst = 0x01010000, .nw_dst_mask = 0xffff0000,
        .action = CTL_A_DROP,
    };

    /* nw_dst without dl_type=ip. */
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), -EINVAL);
    r.match |= CTL_M_DL_TYPE;
    r.dl_type = 0x0800;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), 0);
    /* tp_dst without a transport protocol. */
    r.match |= CTL_M_TP_DST;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), -EINVAL);
    r.match &= ~CTL_M_TP_DST;
    /* goto and groups need 1.1+; goto must go forward. */
    r.action = CTL_A_GOTO;
    r.goto_table = 1;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP10_VERSION), -EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), 0);
    r.table = 1;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), -EINVAL);
    r.action = CTL_A_GROUP;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP10_VERSION), -EPROTONOSUPPORT);
    /* Versions we do not speak. */
    r.action = CTL_A_DROP;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP12_VERSION), -EPROTONOSUPPORT);
    /* Reserved ports are not plain outputs. */
    r.table = 0;
    r.action = CTL_A_OUTPUT;
    r.out_port = 0xfffd;
    CU_ASSERT_EQUAL(ctl_rule_check(&r, OFP13_VERSION), -EINVAL);

    struct ofpbuf *msg = NULL;
    r.action = CTL_A_GOTO;
    CU_ASSERT_EQUAL(ctl_rule_encode(&r, OFP10_VERSION, &msg),
                    -EPROTONOSUPPORT);
    CU_ASSERT_PTR_NULL(msg);
}

/* Every generated rule encodes for every version it is meant for, and the
 * OpenFlow printer reads back the cookie, table and actions. */
static void
test_encode(void)
{
    static const enum ofp_version versions[] = { OFP13_VERSION,
                                                 OFP15_VERSION };
    for (size_t v = 0; v < 2; v++) {
        struct ctl_rule *rules;
        size_t n;
        CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&input, 1, CTL_ROLE_LABEL,
                                               versions[v], &rules, &n), 0);
        for (size_t i = 0; i < n; i++) {
            struct ofpbuf *msg;
            char cookie[32];
            CU_ASSERT_EQUAL_FATAL(ctl_rule_encode(&rules[i], versions[v],
                                                  &msg), 0);
            char *s = ofp_to_string(msg->data, msg->size, NULL, NULL, 2);
            snprintf(cookie, sizeof cookie, "cookie:0x%llx",
                     (unsigned long long) rules[i].cookie);
            CU_ASSERT_PTR_NOT_NULL(strstr(s, "ADD"));
            CU_ASSERT_PTR_NOT_NULL(strstr(s, cookie));
            if (rules[i].table) {
                CU_ASSERT_PTR_NOT_NULL(strstr(s, "table:1"));
            }
            if (rules[i].action == CTL_A_GOTO) {
                CU_ASSERT_PTR_NOT_NULL(strstr(s, "goto_table:1"));
            }
            if (rules[i].set_dl_dst) {
                CU_ASSERT_PTR_NOT_NULL(strstr(s, "02:00:00:00:00:01"));
            }
            if (!strstr(s, cookie)) {
                printf("\n%s\n", s);
            }
            free(s);
            ofpbuf_delete(msg);
        }
        free(rules);
    }

    /* The base rules also encode for OpenFlow 1.0. */
    struct ctl_rule r[CTL_RULES_BASE_MAX];
    size_t n = ctl_rules_base(CTL_ROLE_LABEL, OFP10_VERSION, r,
                              CTL_RULES_BASE_MAX);
    for (size_t i = 0; i < n; i++) {
        struct ofpbuf *msg;
        CU_ASSERT_EQUAL_FATAL(ctl_rule_encode(&r[i], OFP10_VERSION, &msg),
                              0);
        char *s = ofp_to_string(msg->data, msg->size, NULL, NULL, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "OFPT_FLOW_MOD"));
        free(s);
        ofpbuf_delete(msg);
    }
}

static void
test_equal(void)
{
    struct ctl_rule a[CTL_RULES_BASE_MAX], b[CTL_RULES_BASE_MAX];

    ctl_rules_base(CTL_ROLE_LABEL, OFP13_VERSION, a, CTL_RULES_BASE_MAX);
    ctl_rules_base(CTL_ROLE_LABEL, OFP13_VERSION, b, CTL_RULES_BASE_MAX);
    CU_ASSERT_TRUE(ctl_rule_equal(&a[0], &b[0]));
    b[0].priority++;
    CU_ASSERT_FALSE(ctl_rule_equal(&a[0], &b[0]));
    CU_ASSERT_FALSE(ctl_rule_equal(&a[1], &b[2]));
    CU_ASSERT_TRUE(ctl_cookie_is_ours(a[1].cookie));
    CU_ASSERT_EQUAL(ctl_cookie_kind(a[1].cookie), CTL_COOKIE_CONTROL);
}

/* ---- hostID blocks ------------------------------------------------------ */

/* r1:1 <-> r2:1, r2:2 <-> r3:1, r2:3 <-> O:1 (O = dpid 9, the object
 * router); ssIDs 1 and 2 served; blocks of 16: 1.0 at r1, 1.16 at r2,
 * 1.32 and 2.0 at r3; one host in each. */
static struct ctl_topo *btopo;
static const uint8_t ss12[] = { 1, 2 };
static const uint16_t bobjects[] = { 80 };
static struct ctl_rules_block bblocks[8] = {
    { .ss_id = 1, .first = 0, .size = 16, .dpid = 1 },
    { .ss_id = 1, .first = 16, .size = 16, .dpid = 2 },
    { .ss_id = 1, .first = 32, .size = 16, .dpid = 3 },
    { .ss_id = 2, .first = 0, .size = 16, .dpid = 3 },
};
static struct ctl_rules_host bhosts[4] = {
    { .mac = { 2, 0, 0, 0, 0, 0xa }, .ss_id = 1, .host_id = 1, .dpid = 1,
      .port_no = 10 },
    { .mac = { 2, 0, 0, 0, 0, 0xb }, .ss_id = 1, .host_id = 16, .dpid = 2,
      .port_no = 10 },
    { .mac = { 2, 0, 0, 0, 0, 0xc }, .ss_id = 1, .host_id = 32, .dpid = 3,
      .port_no = 10 },
    { .mac = { 2, 0, 0, 0, 0, 0xd }, .ss_id = 2, .host_id = 1, .dpid = 3,
      .port_no = 11 },
};

static struct ctl_rules_input
blocks_input(void)
{
    if (!btopo) {
        btopo = ctl_topo_create();
        for (uint64_t i = 1; i <= 3; i++) {
            ctl_topo_switch_add(btopo, i);
        }
        ctl_topo_switch_add(btopo, 9);
        ctl_topo_link_seen(btopo, 1, 1, 2, 1, 0, NULL);
        ctl_topo_link_seen(btopo, 2, 1, 1, 1, 0, NULL);
        ctl_topo_link_seen(btopo, 2, 2, 3, 1, 0, NULL);
        ctl_topo_link_seen(btopo, 3, 1, 2, 2, 0, NULL);
        ctl_topo_link_seen(btopo, 2, 3, 9, 1, 0, NULL);
        ctl_topo_link_seen(btopo, 9, 1, 2, 3, 0, NULL);
    }
    return (struct ctl_rules_input) {
        .topo = btopo, .ss_ids = ss12, .n_ss_ids = 2, .object_router = 9,
        .router_mac = { 2, 0x5c, 0, 0, 0, 1 },
        .hosts = bhosts, .n_hosts = 4, .blocks = bblocks, .n_blocks = 4,
        .resolve = CTL_RESOLVE_GROUP, .objects = bobjects, .n_objects = 1,
    };
}

static void
test_blocks_label_router(void)
{
    static const char *want[] = {
        "table=0,priority=40000,cookie=0x5c04000000000001,in_port=1 "
        "actions=goto_table:1",
        "table=0,priority=50000,cookie=0x5c11000000000101,in_port=10,"
        "dl_type=0x0800,nw_src=1.1.0.0/16 actions=goto_table:1",
        "table=0,priority=49000,cookie=0x5c11000000000101,in_port=10 "
        "actions=drop",
        "table=1,priority=40000,cookie=0x5c10000000000101,dl_type=0x0800,"
        "nw_dst=1.1.0.0/16 actions=mod_dl_src:02:5c:00:00:00:01,"
        "mod_dl_dst:02:00:00:00:00:0a,output:10",
        "table=1,priority=39000,cookie=0x5c130000000c0110,dl_type=0x0800,"
        "nw_dst=1.16.0.0/12 actions=output:1",
        "table=1,priority=39000,cookie=0x5c130000000c0120,dl_type=0x0800,"
        "nw_dst=1.32.0.0/12 actions=output:1",
        "table=1,priority=39000,cookie=0x5c130000000c0200,dl_type=0x0800,"
        "nw_dst=2.0.0.0/12 actions=output:1",
        "table=1,priority=40000,cookie=0x5c12000000000001,dl_type=0x0800,"
        "nw_dst=1.0.0.0/16 actions=output:1",
        "table=1,priority=40000,cookie=0x5c12000000000002,dl_type=0x0800,"
        "nw_dst=2.0.0.0/16 actions=output:1",
        NULL,
    };
    struct ctl_rules_input in = blocks_input();
    struct ctl_rule *rules;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&in, 1, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    CU_ASSERT_FATAL(n >= 4);
    expect_rules(rules, 4, base13);
    expect_rules(rules + 4, n - 4, want);
    free(rules);

    /* r3: two hosts, the block of r1 and r2 only; hosts 1.1 and 1.16 have
     * no /16 of their own here. */
    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&in, 3, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    CU_ASSERT_EQUAL(n, 4 + 1 + 2 * 3 + 2 + 2);
    free(rules);

    /* A block of 256 (a whole ssID) is one /8 route. */
    struct ctl_rules_block whole = { .ss_id = 7, .first = 0, .size = 256,
                                     .dpid = 3 };
    in.blocks = &whole;
    in.n_blocks = 1;
    in.n_hosts = 0;
    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&in, 1, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    char buf[512];
    CU_ASSERT_EQUAL_FATAL(n, 4 + 1 + 1 + 2);
    ctl_rule_format(&rules[5], buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "table=1,priority=39000,"
                           "cookie=0x5c13000000080700,dl_type=0x0800,"
                           "nw_dst=7.0.0.0/8 actions=output:1");
    free(rules);
}

static void
test_blocks_object_router(void)
{
    static const char *want[] = {
        "table=0,priority=40000,cookie=0x5c04000000000001,in_port=1 "
        "actions=goto_table:1",
        "table=1,priority=39001,cookie=0x5c130000000c0100,in_port=1,"
        "dl_type=0x0800,nw_dst=1.0.0.0/12 actions=IN_PORT",
        "table=1,priority=39000,cookie=0x5c130000000c0100,dl_type=0x0800,"
        "nw_dst=1.0.0.0/12 actions=output:1",
        "table=1,priority=39001,cookie=0x5c130000000c0110,in_port=1,"
        "dl_type=0x0800,nw_dst=1.16.0.0/12 actions=IN_PORT",
        "table=1,priority=39000,cookie=0x5c130000000c0110,dl_type=0x0800,"
        "nw_dst=1.16.0.0/12 actions=output:1",
        "table=1,priority=39001,cookie=0x5c130000000c0120,in_port=1,"
        "dl_type=0x0800,nw_dst=1.32.0.0/12 actions=IN_PORT",
        "table=1,priority=39000,cookie=0x5c130000000c0120,dl_type=0x0800,"
        "nw_dst=1.32.0.0/12 actions=output:1",
        "table=1,priority=39001,cookie=0x5c130000000c0200,in_port=1,"
        "dl_type=0x0800,nw_dst=2.0.0.0/12 actions=IN_PORT",
        "table=1,priority=39000,cookie=0x5c130000000c0200,dl_type=0x0800,"
        "nw_dst=2.0.0.0/12 actions=output:1",
        /* Unresolved without an instance: not along the block route of
         * hostID 0. */
        "table=1,priority=40000,cookie=0x5c12000000000001,dl_type=0x0800,"
        "nw_dst=1.0.0.0/16 actions=drop",
        "table=1,priority=40000,cookie=0x5c12000000000002,dl_type=0x0800,"
        "nw_dst=2.0.0.0/16 actions=drop",
        "table=0,priority=45000,cookie=0x5c20000000000050,dl_type=0x0800,"
        "nw_proto=17,nw_dst=1.0.0.0/16,tp_dst=80 actions=group:80",
        "table=0,priority=45000,cookie=0x5c20000000000050,dl_type=0x0800,"
        "nw_proto=17,nw_dst=2.0.0.0/16,tp_dst=80 actions=group:80",
        NULL,
    };
    struct ctl_rules_input in = blocks_input();
    struct ctl_rule *rules;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&in, 9, CTL_ROLE_OBJECT,
                                           OFP15_VERSION, &rules, &n), 0);
    CU_ASSERT_FATAL(n >= 4);
    expect_rules(rules + 4, n - 4, want);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(ctl_rule_check(&rules[i], OFP15_VERSION), 0);
    }
    free(rules);
}

/* Formats the rules of every switch of the block topology for 'in' into
 * 'out[s]' (switches r1, r2, r3, O), one malloc'ed array of strings each. */
static void
all_rules(const struct ctl_rules_input *in, char **out[4], size_t n_out[4])
{
    static const uint64_t dpids[4] = { 1, 2, 3, 9 };

    for (size_t s = 0; s < 4; s++) {
        struct ctl_rule *rules;
        size_t n;
        bool object = dpids[s] == 9;
        CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(
            in, dpids[s], object ? CTL_ROLE_OBJECT : CTL_ROLE_LABEL,
            object ? OFP15_VERSION : OFP13_VERSION, &rules, &n), 0);
        out[s] = calloc(n + 1, sizeof *out[s]);
        for (size_t i = 0; i < n; i++) {
            out[s][i] = malloc(512);
            ctl_rule_format(&rules[i], out[s][i], 512);
        }
        n_out[s] = n;
        free(rules);
    }
}

/* How many strings of 'a' are not in 'b'. */
static size_t
count_missing(char **a, size_t n_a, char **b, size_t n_b)
{
    size_t missing = 0;

    for (size_t i = 0; i < n_a; i++) {
        bool found = false;
        for (size_t j = 0; !found && j < n_b; j++) {
            found = !strcmp(a[i], b[j]);
        }
        missing += !found;
    }
    return missing;
}

static void
free_all(char **r[4], size_t n[4])
{
    for (size_t s = 0; s < 4; s++) {
        for (size_t i = 0; i < n[s]; i++) {
            free(r[s][i]);
        }
        free(r[s]);
    }
}

/* Host 1.32 moves from r3 to r1 and becomes 1.2 (r1's block): r3 loses its
 * three rules, r1 gains three, r2 and the object router are unchanged.
 * Then host 2.1 moves to r2, whose block is full: a new block 1.48/12 is
 * allocated to r2, and every other switch gains its route. */
static void
test_blocks_move_diff(void)
{
    struct ctl_rules_input in = blocks_input();
    char **before[4], **after[4];
    size_t n_before[4], n_after[4];
    static const size_t added[4] = { 3, 0, 0, 0 };
    static const size_t removed[4] = { 0, 0, 3, 0 };

    all_rules(&in, before, n_before);
    struct ctl_rules_host moved[4];
    memcpy(moved, bhosts, sizeof moved);
    moved[2].dpid = 1;
    moved[2].port_no = 11;
    moved[2].host_id = 2;
    in.hosts = moved;
    all_rules(&in, after, n_after);
    for (size_t s = 0; s < 4; s++) {
        CU_ASSERT_EQUAL(count_missing(after[s], n_after[s], before[s],
                                      n_before[s]), added[s]);
        CU_ASSERT_EQUAL(count_missing(before[s], n_before[s], after[s],
                                      n_after[s]), removed[s]);
    }
    free_all(before, n_before);

    /* The second move needs a new block. */
    static const size_t added2[4] = { 1, 3, 1, 2 };
    static const size_t removed2[4] = { 0, 0, 3, 0 };
    struct ctl_rules_block blocks[5];
    memcpy(blocks, bblocks, 4 * sizeof *blocks);
    blocks[4] = (struct ctl_rules_block) { .ss_id = 1, .first = 48,
                                           .size = 16, .dpid = 2 };
    in.blocks = blocks;
    in.n_blocks = 5;
    moved[3].dpid = 2;
    moved[3].port_no = 12;
    moved[3].ss_id = 1;
    moved[3].host_id = 48;
    char **after2[4];
    size_t n_after2[4];
    all_rules(&in, after2, n_after2);
    for (size_t s = 0; s < 4; s++) {
        CU_ASSERT_EQUAL(count_missing(after2[s], n_after2[s], after[s],
                                      n_after[s]), added2[s]);
        CU_ASSERT_EQUAL(count_missing(after[s], n_after[s], after2[s],
                                      n_after2[s]), removed2[s]);
    }
    free_all(after, n_after);
    free_all(after2, n_after2);
}

/* A host whose address is in another router's block (a store from before
 * blocks) is routed alone, above that block's route. */
static void
test_blocks_orphan(void)
{
    struct ctl_rules_input in = blocks_input();
    struct ctl_rules_host hs[5];
    struct ctl_rule *rules;
    size_t n;
    char buf[512];
    bool found = false;

    memcpy(hs, bhosts, sizeof bhosts);
    hs[4] = (struct ctl_rules_host) { .mac = { 2, 0, 0, 0, 0, 0xe },
                                      .ss_id = 1, .host_id = 5, .dpid = 3,
                                      .port_no = 12 };
    in.hosts = hs;
    in.n_hosts = 5;
    CU_ASSERT_FALSE(ctl_rules_host_in_block(&in, &hs[4]));
    CU_ASSERT_TRUE(ctl_rules_host_in_block(&in, &hs[0]));
    CU_ASSERT_EQUAL_FATAL(ctl_rules_switch(&in, 2, CTL_ROLE_LABEL,
                                           OFP13_VERSION, &rules, &n), 0);
    for (size_t i = 0; i < n; i++) {
        ctl_rule_format(&rules[i], buf, sizeof buf);
        found |= !strcmp(buf, "table=1,priority=40000,"
                         "cookie=0x5c10000000000105,dl_type=0x0800,"
                         "nw_dst=1.5.0.0/16 actions=output:2");
    }
    CU_ASSERT_TRUE(found);
    free(rules);
    CU_ASSERT_EQUAL(ctl_rules_block_prefix_len(16), 12);
    CU_ASSERT_EQUAL(ctl_rules_block_prefix_len(1), 16);
    CU_ASSERT_EQUAL(ctl_rules_block_prefix_len(256), 8);
    CU_ASSERT_EQUAL(ctl_rules_block_prefix_len(12), -1);
    CU_ASSERT_EQUAL(ctl_rules_block_prefix_len(512), -1);
}

static void
test_blocks_cleanup(void)
{
    ctl_topo_destroy(btopo);
    btopo = NULL;
}

static CU_TestInfo rules_tests[] = {
    {"base rules", test_base},
    {"label router with a host and a transit port", test_label_router_s1},
    {"label router in the middle", test_label_router_s2},
    {"host move and unreachable switch", test_move_and_unreachable},
    {"single table and object router", test_single_table_and_object},
    {"checks before encoding", test_check},
    {"encode 1.0, 1.3, 1.5", test_encode},
    {"rule equality and cookies", test_equal},
    {"blocks: label router", test_blocks_label_router},
    {"blocks: object router", test_blocks_object_router},
    {"blocks: a move changes two routers", test_blocks_move_diff},
    {"blocks: host outside its router's blocks", test_blocks_orphan},
    {"blocks: cleanup", test_blocks_cleanup},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_rules", NULL, NULL, setup, teardown, rules_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_rules", suites);
}
