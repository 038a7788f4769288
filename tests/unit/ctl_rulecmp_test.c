/*
 * Unit tests for ctl_rule_cmp() (controller/rules.c): the order a rule sync
 * diffs with must call two rules equal exactly when ctl_rule_format()
 * prints them the same (what reaches the switch), and be a total order.
 * Checked over pseudo-random rules, half of them variations of a few bases
 * with one field re-drawn, so that many pairs are equal, differ in one
 * field only, or only in a field that does not count (a field without its
 * match bit or action).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/rules.h"
#include "tests/unit/harness.h"

#define N_RULES 600

static uint32_t seed = 12345;

static uint32_t
rnd(uint32_t n)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
}

static void
random_rule(struct ctl_rule *r)
{
    static const uint32_t masks[] = { 0xffff0000u, 0xff000000u, 0x00ff0000u,
                                      0xffffffffu };

    memset(r, 0, sizeof *r);
    r->table = (uint8_t) rnd(2);
    r->priority = (uint16_t) (100 * rnd(2));
    r->cookie = rnd(2);
    r->match = rnd(64);
    /* Fields are set whatever the match bits say: those without their
     * bit must not count. */
    r->in_port = rnd(3);
    r->dl_type = rnd(2) ? 0x0800 : 0x0806;
    r->nw_proto = (uint8_t) (rnd(2) ? 17 : 6);
    r->nw_src = 0x01000000u | (rnd(3) << 16);
    r->nw_src_mask = masks[rnd(4)];
    r->nw_dst = 0x01000000u | (rnd(3) << 16);
    r->nw_dst_mask = masks[rnd(4)];
    r->tp_dst = (uint16_t) rnd(3);
    r->set_dl_src = rnd(2);
    r->set_dl_dst = rnd(2);
    r->dl_src[5] = (uint8_t) rnd(2);
    r->dl_dst[5] = (uint8_t) rnd(2);
    r->action = (enum ctl_rule_action) rnd(CTL_A_IN_PORT + 1);
    r->out_port = rnd(3);
    r->group_id = rnd(3);
    r->goto_table = (uint8_t) rnd(2);
}

/* A rule drawn from 8 fixed random bases with one field re-drawn: many
 * pairs are equal or differ in one field, counted or not. */
static void
near_rule(struct ctl_rule *r)
{
    static struct ctl_rule bases[8];
    static bool init;
    struct ctl_rule other;

    if (!init) {
        for (size_t i = 0; i < 8; i++) {
            random_rule(&bases[i]);
        }
        init = true;
    }
    *r = bases[rnd(8)];
    random_rule(&other);
    switch (rnd(12)) {
    case 0: r->match = other.match; break;
    case 1: r->in_port = other.in_port; break;
    case 2: r->nw_src = other.nw_src; break;
    case 3: r->nw_dst_mask = other.nw_dst_mask; break;
    case 4: r->tp_dst = other.tp_dst; break;
    case 5: r->set_dl_src = other.set_dl_src; break;
    case 6: r->dl_dst[5] = other.dl_dst[5]; break;
    case 7: r->action = other.action; break;
    case 8: r->out_port = other.out_port; break;
    case 9: r->group_id = other.group_id; break;
    case 10: r->cookie = other.cookie; break;
    default: break;
    }
}

static int
cmp_qsort(const void *a, const void *b)
{
    return ctl_rule_cmp(a, b);
}

static void
test_matches_format(void)
{
    static struct ctl_rule rules[N_RULES];
    static char text[N_RULES][512];
    size_t equal = 0, mismatch = 0;

    for (size_t i = 0; i < N_RULES; i++) {
        if (i % 2) {
            near_rule(&rules[i]);
        } else {
            random_rule(&rules[i]);
        }
        ctl_rule_format(&rules[i], text[i], sizeof text[i]);
    }
    for (size_t i = 0; i < N_RULES; i++) {
        for (size_t j = 0; j < N_RULES; j++) {
            bool same_text = !strcmp(text[i], text[j]);
            int c = ctl_rule_cmp(&rules[i], &rules[j]);
            int d = ctl_rule_cmp(&rules[j], &rules[i]);

            if (same_text != !c || (c > 0) != (d < 0) || (c < 0) != (d > 0)) {
                if (!mismatch++) {
                    printf("\n  %s\n  %s: cmp %d/%d\n", text[i], text[j], c,
                           d);
                }
            }
            equal += i != j && same_text;
            CU_ASSERT_EQUAL(ctl_rule_equal(&rules[i], &rules[j]), !c);
        }
    }
    CU_ASSERT_EQUAL(mismatch, 0);
    /* The draw must produce equal pairs, or the test proves little. */
    CU_ASSERT(equal > 0);
}

static void
test_total_order(void)
{
    static struct ctl_rule rules[N_RULES];

    for (size_t i = 0; i < N_RULES; i++) {
        near_rule(&rules[i]);
    }
    qsort(rules, N_RULES, sizeof *rules, cmp_qsort);
    for (size_t i = 0; i + 1 < N_RULES; i++) {
        CU_ASSERT(ctl_rule_cmp(&rules[i], &rules[i + 1]) <= 0);
        /* Transitivity over a window. */
        for (size_t j = i + 1; j < N_RULES && j < i + 20; j++) {
            CU_ASSERT(ctl_rule_cmp(&rules[i], &rules[j]) <= 0);
        }
    }
}

static void
test_ignored_fields(void)
{
    struct ctl_rule a, b;

    memset(&a, 0, sizeof a);
    a.match = CTL_M_NW_DST;
    a.nw_dst = 0x01020000;
    a.nw_dst_mask = 0xffff0000;
    a.action = CTL_A_OUTPUT;
    a.out_port = 3;
    b = a;
    b.in_port = 9;              /* No CTL_M_IN_PORT. */
    b.group_id = 7;             /* Not a group action. */
    b.dl_src[0] = 1;            /* No set_dl_src. */
    CU_ASSERT_EQUAL(ctl_rule_cmp(&a, &b), 0);
    b.out_port = 4;
    CU_ASSERT_NOT_EQUAL(ctl_rule_cmp(&a, &b), 0);
    b = a;
    b.nw_dst_mask = 0x00ff0000; /* An arbitrary mask is another rule. */
    CU_ASSERT_NOT_EQUAL(ctl_rule_cmp(&a, &b), 0);
}

static CU_TestInfo tests[] = {
    {"equal exactly when formatted the same", test_matches_format},
    {"a total order (qsort, transitivity)", test_total_order},
    {"fields without their match bit or action do not count",
     test_ignored_fields},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_rulecmp", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_rulecmp", suites);
}
