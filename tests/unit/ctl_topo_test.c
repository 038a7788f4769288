/*
 * Unit tests for controller/topo.c: links, expiry, port state and shortest
 * paths (BFS) over small graphs, including disconnected ones.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "controller/topo.h"
#include "tests/unit/harness.h"

static struct ctl_topo *topo;

static void
setup(void)
{
    topo = ctl_topo_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
}

static void
teardown(void)
{
    ctl_topo_destroy(topo);
    topo = NULL;
}

/* Bidirectional link a:pa <-> b:pb. */
static void
link2(uint64_t a, uint32_t pa, uint64_t b, uint32_t pb)
{
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, a, pa, b, pb, 0, NULL), 0);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, b, pb, a, pa, 0, NULL), 0);
}

static void
add_switches(uint64_t n)
{
    for (uint64_t i = 1; i <= n; i++) {
        CU_ASSERT_EQUAL(ctl_topo_switch_add(topo, i), 0);
    }
}

static void
test_switches(void)
{
    uint64_t dpids[4];

    CU_ASSERT_EQUAL(ctl_topo_switch_add(topo, 5), 0);
    CU_ASSERT_EQUAL(ctl_topo_switch_add(topo, 2), 0);
    CU_ASSERT_EQUAL(ctl_topo_switch_add(topo, 2), -EEXIST);
    CU_ASSERT_EQUAL(ctl_topo_n_switches(topo), 2);
    CU_ASSERT_EQUAL(ctl_topo_switches(topo, dpids, 4), 2);
    CU_ASSERT_EQUAL(dpids[0], 2);
    CU_ASSERT_EQUAL(dpids[1], 5);
    CU_ASSERT_TRUE(ctl_topo_has_switch(topo, 5));
    CU_ASSERT_EQUAL(ctl_topo_switch_remove(topo, 5), 0);
    CU_ASSERT_EQUAL(ctl_topo_switch_remove(topo, 5), -ENOENT);
    CU_ASSERT_FALSE(ctl_topo_has_switch(topo, 5));
}

static void
test_links(void)
{
    enum ctl_topo_change ch;
    struct ctl_topo_link links[4];

    add_switches(3);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 9, 1, 1, 1, 0, &ch), -ENOENT);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 1, 1, 2, 1, 10, &ch), 0);
    CU_ASSERT_EQUAL(ch, CTL_TOPO_ADDED);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 1, 1, 2, 1, 20, &ch), 0);
    CU_ASSERT_EQUAL(ch, CTL_TOPO_UNCHANGED);
    CU_ASSERT_EQUAL(ctl_topo_link_from(topo, 1, 1)->last_seen_ms, 20);
    /* Same source port now reaches s3: the link moves. */
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 1, 1, 3, 4, 30, &ch), 0);
    CU_ASSERT_EQUAL(ch, CTL_TOPO_REPLACED);
    CU_ASSERT_EQUAL(ctl_topo_n_links(topo), 1);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 3, 4, 1, 1, 30, &ch), 0);
    CU_ASSERT_EQUAL(ctl_topo_links(topo, links, 4), 2);
    CU_ASSERT_EQUAL(links[0].src_dpid, 1);
    CU_ASSERT_EQUAL(links[0].dst_dpid, 3);
    CU_ASSERT_EQUAL(links[0].dst_port, 4);
    CU_ASSERT_EQUAL(links[1].src_dpid, 3);
    CU_ASSERT_FALSE(ctl_topo_is_edge_port(topo, 3, 4));
    CU_ASSERT_TRUE(ctl_topo_is_edge_port(topo, 3, 5));
    CU_ASSERT_EQUAL(ctl_topo_link_remove(topo, 1, 1), 0);
    CU_ASSERT_EQUAL(ctl_topo_link_remove(topo, 1, 1), -ENOENT);
    /* Removing a switch takes the links that touch it. */
    CU_ASSERT_EQUAL(ctl_topo_switch_remove(topo, 1), 0);
    CU_ASSERT_EQUAL(ctl_topo_n_links(topo), 0);
}

static void
count_expired(const struct ctl_topo_link *l, void *aux)
{
    (void) l;
    (*(int *) aux)++;
}

static void
test_expire(void)
{
    int n = 0;

    add_switches(2);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 1, 1, 2, 1, 1000, NULL), 0);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 2, 1, 1, 1, 3000, NULL), 0);
    CU_ASSERT_EQUAL(ctl_topo_expire(topo, 3999, 3000, count_expired, &n), 0);
    CU_ASSERT_EQUAL(ctl_topo_expire(topo, 4000, 3000, count_expired, &n), 1);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_PTR_NULL(ctl_topo_link_from(topo, 1, 1));
    CU_ASSERT_PTR_NOT_NULL(ctl_topo_link_from(topo, 2, 1));
}

static void
test_port_down(void)
{
    add_switches(2);
    link2(1, 1, 2, 1);
    CU_ASSERT_EQUAL(ctl_topo_port_set(topo, 1, 1, true), 0);
    CU_ASSERT_EQUAL(ctl_topo_port_set(topo, 7, 1, true), -ENOENT);
    CU_ASSERT_EQUAL(ctl_topo_n_links(topo), 2);
    /* Down removes the outgoing link; the incoming one stays until the
     * peer notices, but paths over a down port are not used. */
    CU_ASSERT_EQUAL(ctl_topo_port_set(topo, 1, 1, false), 0);
    CU_ASSERT_EQUAL(ctl_topo_n_links(topo), 1);
    struct ctl_topo_hop hops[4];
    size_t n;
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 2, 1, hops, 4, &n), -EHOSTUNREACH);
    CU_ASSERT_EQUAL(ctl_topo_port_remove(topo, 1, 1), 0);
    CU_ASSERT_EQUAL(ctl_topo_port_remove(topo, 1, 1), -ENOENT);
    /* A removed port counts as unknown, i.e. usable. */
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 2, 1, hops, 4, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
}

static void
test_path_line(void)
{
    struct ctl_topo_hop hops[8];
    size_t n = 99;

    /* 1 -(2:3)- 2 -(4:5)- 3 -(6:7)- 4 */
    add_switches(4);
    link2(1, 2, 2, 3);
    link2(2, 4, 3, 5);
    link2(3, 6, 4, 7);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 1, hops, 8, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 4, hops, 8, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(hops[0].dpid, 1);
    CU_ASSERT_EQUAL(hops[0].out_port, 2);
    CU_ASSERT_EQUAL(hops[1].dpid, 2);
    CU_ASSERT_EQUAL(hops[1].out_port, 4);
    CU_ASSERT_EQUAL(hops[2].dpid, 3);
    CU_ASSERT_EQUAL(hops[2].out_port, 6);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 4, 1, hops, 8, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(hops[0].dpid, 4);
    CU_ASSERT_EQUAL(hops[0].out_port, 7);
    CU_ASSERT_EQUAL(hops[2].out_port, 3);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 4, hops, 2, &n), -ENOSPC);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 9, hops, 8, &n), -ENOENT);
}

static void
test_path_shortest_and_ties(void)
{
    struct ctl_topo_hop hops[8];
    size_t n;

    /* Ring 1-2-3-4-5-1 plus a diamond 1-6-3: 1->3 is two hops via 2 or 6;
     * lower port numbers at s1 win (port 1 to s2). */
    add_switches(6);
    link2(1, 1, 2, 1);
    link2(2, 2, 3, 1);
    link2(3, 2, 4, 1);
    link2(4, 2, 5, 1);
    link2(5, 2, 1, 9);
    link2(1, 5, 6, 1);
    link2(6, 2, 3, 3);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 3, hops, 8, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(hops[0].out_port, 1);
    CU_ASSERT_EQUAL(hops[1].dpid, 2);
    /* 1->4: 1-5-4 (two hops) beats 1-2-3-4. */
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 4, hops, 8, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(hops[0].out_port, 9);
    CU_ASSERT_EQUAL(hops[1].dpid, 5);
    /* Take s2's port down: 1->3 goes through s6. */
    CU_ASSERT_EQUAL(ctl_topo_port_set(topo, 2, 1, false), 0);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 3, hops, 8, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(hops[0].out_port, 5);
    CU_ASSERT_EQUAL(hops[1].dpid, 6);
}

static void
test_path_disconnected(void)
{
    struct ctl_topo_hop hops[8];
    size_t n = 7;

    /* Two islands: 1-2 and 3-4; and a one-way link 2->3. */
    add_switches(4);
    link2(1, 1, 2, 1);
    link2(3, 1, 4, 1);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 4, hops, 8, &n), -EHOSTUNREACH);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(ctl_topo_link_seen(topo, 2, 2, 3, 2, 0, NULL), 0);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 1, 4, hops, 8, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(ctl_topo_path(topo, 4, 1, hops, 8, &n), -EHOSTUNREACH);
}

static void
test_routes(void)
{
    struct ctl_topo_route *routes;
    size_t n;

    /* 1 -(1:1)- 2 -(2:1)- 3, plus 1 -(2:1)- 4 and an island 5. */
    add_switches(5);
    link2(1, 1, 2, 1);
    link2(2, 2, 3, 1);
    link2(1, 2, 4, 1);
    CU_ASSERT_EQUAL_FATAL(ctl_topo_routes(topo, 1, &routes, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(routes[0].dpid, 2);
    CU_ASSERT_EQUAL(routes[0].out_port, 1);
    CU_ASSERT_EQUAL(routes[0].hops, 1);
    CU_ASSERT_EQUAL(routes[1].dpid, 3);
    CU_ASSERT_EQUAL(routes[1].out_port, 1);
    CU_ASSERT_EQUAL(routes[1].hops, 2);
    const struct ctl_topo_route *r = ctl_topo_route_find(routes, n, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->out_port, 2);
    CU_ASSERT_PTR_NULL(ctl_topo_route_find(routes, n, 5));
    CU_ASSERT_PTR_NULL(ctl_topo_route_find(routes, n, 1));
    free(routes);

    /* Agrees with ctl_topo_path() from every switch to every other. */
    for (uint64_t a = 1; a <= 5; a++) {
        CU_ASSERT_EQUAL_FATAL(ctl_topo_routes(topo, a, &routes, &n), 0);
        for (uint64_t b = 1; b <= 5; b++) {
            struct ctl_topo_hop hops[8];
            size_t n_hops;
            int rc = ctl_topo_path(topo, a, b, hops, 8, &n_hops);
            r = ctl_topo_route_find(routes, n, b);
            if (a == b || rc) {
                CU_ASSERT_PTR_NULL(r);
            } else {
                CU_ASSERT_PTR_NOT_NULL_FATAL(r);
                CU_ASSERT_EQUAL(r->out_port, hops[0].out_port);
                CU_ASSERT_EQUAL(r->hops, n_hops);
            }
        }
        free(routes);
    }
    CU_ASSERT_EQUAL(ctl_topo_routes(topo, 9, &routes, &n), -ENOENT);
}

static CU_TestInfo topo_tests[] = {
    {"switches", test_switches},
    {"links", test_links},
    {"expire", test_expire},
    {"port down", test_port_down},
    {"path on a line", test_path_line},
    {"shortest path and ties", test_path_shortest_and_ties},
    {"disconnected graph", test_path_disconnected},
    {"first-hop routes from one search", test_routes},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_topo", NULL, NULL, setup, teardown, topo_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_topo", suites);
}
