/*
 * SCAFFOLD controller: rule generation (see rules.h).
 *
 * ctl_rules_base() is the part of the rule layout every switch shares:
 * discovery probes and the control objectID go to the controller, and
 * everything no other rule claims is dropped by a priority-0 rule whose
 * counters `ovs-ofctl dump-flows` shows.  ctl_rules_switch() is the whole
 * desired rule set of one switch (see rules.h for the table layout),
 * computed from the topology and the joined hosts; the controller installs
 * the difference between it and what the switch has.  The object router's
 * select groups themselves come from object.c.
 *
 * ctl_rule_encode() refuses what the negotiated version cannot carry
 * (libopenvswitch's encoders abort on that) and what lacks its match
 * prerequisites (the switch would reject it).
 */
#include "controller/rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofpbuf.h"
#include "controller/topo.h"
#include "proto/sfp.h"

#define CTL_ETH_TYPE_IP 0x0800
#define CTL_IPPROTO_UDP 17
#define CTL_IPPROTO_TCP 6

static ovs_be64
ctl_htonll(uint64_t x)
{
    return ((ovs_be64) htonl(x & 0xffffffff) << 32) | htonl(x >> 32);
}

static struct ctl_rule
ctl_rule_to_controller(uint16_t priority, uint64_t cookie)
{
    return (struct ctl_rule) {
        .priority = priority,
        .cookie = cookie,
        .action = CTL_A_CONTROLLER,
    };
}

/* Stores the base rules for a switch of role 'role' speaking 'version' in
 * 'rules' (room for 'max'; CTL_RULES_BASE_MAX is enough) and returns their
 * number.  OpenFlow 1.0 switches get the single-table layout. */
size_t
ctl_rules_base(enum ctl_role role, enum ofp_version version,
               struct ctl_rule *rules, size_t max)
{
    struct ctl_rule r[CTL_RULES_BASE_MAX];
    size_t n = 0;

    (void) role;                /* Same base for every role so far. */

    r[n] = ctl_rule_to_controller(CTL_PRIO_DISCOVERY,
                                  ctl_cookie(CTL_COOKIE_DISCOVERY, 0));
    r[n].match = CTL_M_DL_TYPE;
    r[n].dl_type = 0x88cc;
    n++;

    r[n] = ctl_rule_to_controller(CTL_PRIO_CONTROL,
                                  ctl_cookie(CTL_COOKIE_CONTROL, 0));
    r[n].match = CTL_M_DL_TYPE | CTL_M_NW_PROTO | CTL_M_TP_DST;
    r[n].dl_type = CTL_ETH_TYPE_IP;
    r[n].nw_proto = CTL_IPPROTO_UDP;
    r[n].tp_dst = SFP_OBJ_CONTROL;
    n++;

    r[n] = (struct ctl_rule) {
        .table = CTL_TABLE_CLASSIFY,
        .priority = CTL_PRIO_DROP,
        .cookie = ctl_cookie(CTL_COOKIE_DROP, CTL_TABLE_CLASSIFY),
        .action = CTL_A_DROP,
    };
    n++;

    if (version >= OFP13_VERSION) {
        r[n] = r[n - 1];
        r[n].table = CTL_TABLE_ROUTE;
        r[n].cookie = ctl_cookie(CTL_COOKIE_DROP, CTL_TABLE_ROUTE);
        n++;
    }

    if (n > max) {
        n = max;
    }
    memcpy(rules, r, n * sizeof *r);
    return n;
}

/* A growing array of rules. */
struct ctl_rule_vec {
    struct ctl_rule *rules;
    size_t n, allocated;
    int error;                  /* First allocation failure. */
};

static struct ctl_rule *
ctl_rule_vec_add(struct ctl_rule_vec *v)
{
    static struct ctl_rule scratch;

    if (v->n == v->allocated) {
        size_t n = v->allocated ? 2 * v->allocated : 16;
        struct ctl_rule *r = realloc(v->rules, n * sizeof *r);
        if (!r) {
            v->error = -ENOMEM;
            return &scratch;
        }
        v->rules = r;
        v->allocated = n;
    }
    memset(&v->rules[v->n], 0, sizeof *v->rules);
    return &v->rules[v->n++];
}

static uint32_t
ctl_prefix(uint8_t ss_id, uint8_t host_id)
{
    return ((uint32_t) ss_id << 24) | ((uint32_t) host_id << 16);
}

static int
ctl_cmp_u32(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;

    return a < b ? -1 : a > b;
}

/* Appends a table-1 route "nw_dst=prefix/mask -> output:port" (or, with
 * 'in_port', "in_port=port,nw_dst=prefix/mask -> IN_PORT") to 'v' and
 * returns it. */
static struct ctl_rule *
ctl_rule_route(struct ctl_rule_vec *v, uint16_t priority, uint64_t cookie,
               uint32_t prefix, uint32_t mask, uint32_t port, bool in_port)
{
    struct ctl_rule *r = ctl_rule_vec_add(v);

    r->table = CTL_TABLE_ROUTE;
    r->priority = priority;
    r->cookie = cookie;
    r->match = CTL_M_DL_TYPE | CTL_M_NW_DST;
    r->dl_type = CTL_ETH_TYPE_IP;
    r->nw_dst = prefix;
    r->nw_dst_mask = mask;
    if (in_port) {
        r->match |= CTL_M_IN_PORT;
        r->in_port = port;
        r->action = CTL_A_IN_PORT;
    } else {
        r->action = CTL_A_OUTPUT;
        r->out_port = port;
    }
    return r;
}

/* The length of the nw_dst prefix of a block of 'size' hostIDs (16 for 1,
 * 8 for 256), or -1 if 'size' is not a power of two in 1..256. */
int
ctl_rules_block_prefix_len(uint16_t size)
{
    if (!size || size > 256 || (size & (size - 1))) {
        return -1;
    }
    return 16 - __builtin_ctz(size);
}

/* True when host 'h' lies in a block of its own router (its address is
 * then routed by the block's route everywhere else). */
bool
ctl_rules_host_in_block(const struct ctl_rules_input *in,
                        const struct ctl_rules_host *h)
{
    for (size_t i = 0; i < in->n_blocks; i++) {
        const struct ctl_rules_block *b = &in->blocks[i];
        if (b->ss_id == h->ss_id && h->host_id >= b->first
            && h->host_id - b->first < b->size
            && ctl_rules_block_prefix_len(b->size) >= 0) {
            return b->dpid == h->dpid;
        }
    }
    return false;
}

/* Computes every rule switch 'dpid' (of 'role', speaking 'version') should
 * have, in a stable order: base, transit, anti-spoofing, host routes,
 * block routes, unresolved, per-object rules.  Hosts and blocks that
 * cannot be reached from 'dpid' get no route there.
 * On success '*rules' is a malloc'ed array (free() it) of '*n' rules and 0
 * is returned; -ENOMEM otherwise. */
int
ctl_rules_switch(const struct ctl_rules_input *in, uint64_t dpid,
                 enum ctl_role role, enum ofp_version version,
                 struct ctl_rule **rules, size_t *n)
{
    struct ctl_rule_vec v = { NULL, 0, 0, 0 };
    struct ctl_rule base[CTL_RULES_BASE_MAX];
    size_t n_base = ctl_rules_base(role, version, base, CTL_RULES_BASE_MAX);

    *rules = NULL;
    *n = 0;
    for (size_t i = 0; i < n_base; i++) {
        struct ctl_rule *r = ctl_rule_vec_add(&v);
        *r = base[i];
        if (in->l2_learning && role != CTL_ROLE_OBJECT
            && r->table == CTL_TABLE_CLASSIFY
            && r->priority == CTL_PRIO_DROP) {
            /* Non-SCAFFOLD traffic: L2 learning in the controller. */
            r->cookie = ctl_cookie(CTL_COOKIE_L2, 0);
            r->action = CTL_A_CONTROLLER;
        }
    }
    if (version < OFP13_VERSION) {
        /* Single-table switches: base only. */
        goto out;
    }
    bool object = role == CTL_ROLE_OBJECT;

    /* One search gives the first hop toward every reachable switch. */
    struct ctl_topo_route *routes;
    size_t n_routes;
    if (ctl_topo_routes(in->topo, dpid, &routes, &n_routes)) {
        routes = NULL;
        n_routes = 0;
    }

    /* Transit: inter-switch ports, in port order. */
    size_t n_links = ctl_topo_n_links(in->topo);
    struct ctl_topo_link *links = calloc(n_links + 1, sizeof *links);
    uint32_t *ports = calloc(2 * n_links + 1, sizeof *ports);
    size_t n_ports = 0;
    if (!links || !ports) {
        free(links);
        free(ports);
        free(routes);
        v.error = -ENOMEM;
        goto out;
    }
    ctl_topo_links(in->topo, links, n_links);
    for (size_t i = 0; i < n_links; i++) {
        if (links[i].src_dpid == dpid) {
            ports[n_ports++] = links[i].src_port;
        }
        if (links[i].dst_dpid == dpid) {
            ports[n_ports++] = links[i].dst_port;
        }
    }
    qsort(ports, n_ports, sizeof *ports, ctl_cmp_u32);
    for (size_t i = 0; i < n_ports; i++) {
        if (i && ports[i] == ports[i - 1]) {
            continue;
        }
        struct ctl_rule *r = ctl_rule_vec_add(&v);
        r->table = CTL_TABLE_CLASSIFY;
        r->priority = CTL_PRIO_TRANSIT;
        r->cookie = ctl_cookie(CTL_COOKIE_TRANSIT, ports[i]);
        r->match = CTL_M_IN_PORT;
        r->in_port = ports[i];
        r->action = CTL_A_GOTO;
        r->goto_table = CTL_TABLE_ROUTE;
    }
    free(links);
    free(ports);

    /* Anti-spoofing on the edge ports of the hosts attached here. */
    for (size_t i = 0; i < in->n_hosts; i++) {
        const struct ctl_rules_host *h = &in->hosts[i];
        uint64_t id = ((uint64_t) h->ss_id << 8) | h->host_id;
        if (h->dpid != dpid) {
            continue;
        }
        struct ctl_rule *r = ctl_rule_vec_add(&v);
        r->table = CTL_TABLE_CLASSIFY;
        r->priority = CTL_PRIO_SPOOF_ALLOW;
        r->cookie = ctl_cookie(CTL_COOKIE_ANTISPOOF, id);
        r->match = CTL_M_IN_PORT | CTL_M_DL_TYPE | CTL_M_NW_SRC;
        r->in_port = h->port_no;
        r->dl_type = CTL_ETH_TYPE_IP;
        r->nw_src = ctl_prefix(h->ss_id, h->host_id);
        r->nw_src_mask = 0xffff0000;
        r->action = CTL_A_GOTO;
        r->goto_table = CTL_TABLE_ROUTE;

        r = ctl_rule_vec_add(&v);
        r->table = CTL_TABLE_CLASSIFY;
        r->priority = CTL_PRIO_SPOOF_DROP;
        r->cookie = ctl_cookie(CTL_COOKIE_ANTISPOOF, id);
        r->match = CTL_M_IN_PORT;
        r->in_port = h->port_no;
        r->action = CTL_A_DROP;
    }

    /* Host routes: on the host's own router, and everywhere for a host
     * outside the blocks of its router. */
    for (size_t i = 0; i < in->n_hosts; i++) {
        const struct ctl_rules_host *h = &in->hosts[i];
        const struct ctl_topo_route *route = NULL;
        if (h->dpid != dpid) {
            if (ctl_rules_host_in_block(in, h)) {
                continue;       /* Its block's route carries it. */
            }
            route = ctl_topo_route_find(routes, n_routes, h->dpid);
            if (!route) {
                continue;       /* Unreachable from here. */
            }
        }
        uint32_t port = route ? route->out_port : h->port_no;
        uint64_t id = ((uint64_t) h->ss_id << 8) | h->host_id;
        uint32_t prefix = ctl_prefix(h->ss_id, h->host_id);
        if (object && route) {
            /* A resolved packet often goes back where it came from. */
            ctl_rule_route(&v, CTL_PRIO_PREFIX_IN_PORT,
                           ctl_cookie(CTL_COOKIE_PREFIX, id), prefix,
                           0xffff0000, port, true);
        }
        struct ctl_rule *r = ctl_rule_route(&v, CTL_PRIO_PREFIX,
                                            ctl_cookie(CTL_COOKIE_PREFIX, id),
                                            prefix, 0xffff0000, port,
                                            false);
        if (h->dpid == dpid) {
            r->set_dl_src = true;
            memcpy(r->dl_src, in->router_mac, 6);
            r->set_dl_dst = true;
            memcpy(r->dl_dst, h->mac, 6);
        }
    }

    /* Block routes toward the other routers' blocks.  'zero' marks the
     * ssIDs whose hostID-0 block is routed here. */
    uint8_t zero[32] = { 0 };
    for (size_t i = 0; i < in->n_blocks; i++) {
        const struct ctl_rules_block *b = &in->blocks[i];
        int plen = ctl_rules_block_prefix_len(b->size);
        if (b->dpid == dpid || plen < 0 || b->first % b->size) {
            continue;
        }
        const struct ctl_topo_route *route
            = ctl_topo_route_find(routes, n_routes, b->dpid);
        if (!route) {
            continue;
        }
        uint64_t id = ((uint64_t) plen << 16) | ((uint64_t) b->ss_id << 8)
                      | b->first;
        uint32_t mask = UINT32_MAX << (32 - plen);
        uint32_t prefix = ctl_prefix(b->ss_id, b->first);
        if (object) {
            ctl_rule_route(&v, CTL_PRIO_BLOCK_IN_PORT,
                           ctl_cookie(CTL_COOKIE_BLOCK, id), prefix, mask,
                           route->out_port, true);
        }
        ctl_rule_route(&v, CTL_PRIO_BLOCK, ctl_cookie(CTL_COOKIE_BLOCK, id),
                       prefix, mask, route->out_port, false);
        if (b->first == SFP_HOST_UNRESOLVED) {
            zero[b->ss_id / 8] |= 1u << (b->ss_id % 8);
        }
    }

    /* Unresolved destinations of every served ssID toward the object
     * router; where there is none to go to (the object router itself, or
     * no route to it) dropped, if a block route would catch them. */
    const struct ctl_topo_route *orr
        = ctl_topo_route_find(routes, n_routes, in->object_router);
    bool to_object = in->object_router && in->object_router != dpid && orr;
    for (size_t i = 0; i < in->n_ss_ids; i++) {
        uint8_t ss = in->ss_ids[i];
        if (!to_object && !(zero[ss / 8] & (1u << (ss % 8)))) {
            continue;
        }
        struct ctl_rule *r = ctl_rule_route(
            &v, CTL_PRIO_PREFIX, ctl_cookie(CTL_COOKIE_UNRESOLVED, ss),
            ctl_prefix(ss, SFP_HOST_UNRESOLVED), 0xffff0000,
            to_object ? orr->out_port : 0, false);
        if (!to_object) {
            r->action = CTL_A_DROP;
        }
    }
    free(routes);

    /* Object router: unresolved traffic per objectID (and served ssID) to
     * its group or to the controller. */
    for (size_t i = 0; object && in->resolve != CTL_RESOLVE_NONE
                       && i < in->n_objects; i++) {
        for (size_t j = 0; j < in->n_ss_ids; j++) {
            struct ctl_rule *r = ctl_rule_vec_add(&v);
            r->table = CTL_TABLE_CLASSIFY;
            r->priority = CTL_PRIO_OBJECT;
            r->cookie = ctl_cookie(CTL_COOKIE_OBJECT, in->objects[i]);
            r->match = CTL_M_DL_TYPE | CTL_M_NW_PROTO | CTL_M_NW_DST
                       | CTL_M_TP_DST;
            r->dl_type = CTL_ETH_TYPE_IP;
            r->nw_proto = CTL_IPPROTO_UDP;
            r->nw_dst = ctl_prefix(in->ss_ids[j], SFP_HOST_UNRESOLVED);
            r->nw_dst_mask = 0xffff0000;
            r->tp_dst = in->objects[i];
            if (in->resolve == CTL_RESOLVE_GROUP) {
                r->action = CTL_A_GROUP;
                r->group_id = in->objects[i];
            } else {
                r->action = CTL_A_CONTROLLER;
            }
        }
    }

out:
    if (v.error) {
        free(v.rules);
        return v.error;
    }
    *rules = v.rules;
    *n = v.n;
    return 0;
}

#define CTL_CMP(X, Y) do {                                              \
        if ((X) != (Y)) {                                               \
            return (X) < (Y) ? -1 : 1;                                  \
        }                                                               \
    } while (0)

/* A total order on rules that looks only at what reaches the switch (the
 * fields ctl_rule_format() prints: a field counts only under its match bit
 * or action), so that ctl_rule_cmp(a, b) == 0 exactly when the formatted
 * rules are the same.  No formatting: a sync diffs thousands of rules. */
int
ctl_rule_cmp(const struct ctl_rule *a, const struct ctl_rule *b)
{
    CTL_CMP(a->table, b->table);
    CTL_CMP(a->priority, b->priority);
    CTL_CMP(a->cookie, b->cookie);
    CTL_CMP(a->match, b->match);
    if (a->match & CTL_M_IN_PORT) {
        CTL_CMP(a->in_port, b->in_port);
    }
    if (a->match & CTL_M_DL_TYPE) {
        CTL_CMP(a->dl_type, b->dl_type);
    }
    if (a->match & CTL_M_NW_PROTO) {
        CTL_CMP(a->nw_proto, b->nw_proto);
    }
    if (a->match & CTL_M_NW_SRC) {
        CTL_CMP(a->nw_src, b->nw_src);
        CTL_CMP(a->nw_src_mask, b->nw_src_mask);
    }
    if (a->match & CTL_M_NW_DST) {
        CTL_CMP(a->nw_dst, b->nw_dst);
        CTL_CMP(a->nw_dst_mask, b->nw_dst_mask);
    }
    if (a->match & CTL_M_TP_DST) {
        CTL_CMP(a->tp_dst, b->tp_dst);
    }
    CTL_CMP(a->set_dl_src, b->set_dl_src);
    if (a->set_dl_src) {
        int c = memcmp(a->dl_src, b->dl_src, 6);
        if (c) {
            return c;
        }
    }
    CTL_CMP(a->set_dl_dst, b->set_dl_dst);
    if (a->set_dl_dst) {
        int c = memcmp(a->dl_dst, b->dl_dst, 6);
        if (c) {
            return c;
        }
    }
    /* Unknown actions format as "drop", as CTL_A_DROP does. */
    enum ctl_rule_action aa = a->action <= CTL_A_IN_PORT ? a->action
                                                          : CTL_A_DROP;
    enum ctl_rule_action ba = b->action <= CTL_A_IN_PORT ? b->action
                                                          : CTL_A_DROP;
    CTL_CMP(aa, ba);
    switch (aa) {
    case CTL_A_OUTPUT:
        CTL_CMP(a->out_port, b->out_port);
        break;
    case CTL_A_GROUP:
        CTL_CMP(a->group_id, b->group_id);
        break;
    case CTL_A_GOTO:
        CTL_CMP(a->goto_table, b->goto_table);
        break;
    case CTL_A_DROP:
    case CTL_A_CONTROLLER:
    case CTL_A_IN_PORT:
    default:
        break;
    }
    return 0;
}
#undef CTL_CMP

/* True when 'a' and 'b' are the same flow with the same actions. */
bool
ctl_rule_equal(const struct ctl_rule *a, const struct ctl_rule *b)
{
    return !ctl_rule_cmp(a, b);
}

/* Checks that 'rule' is well formed and that 'version' can carry it.
 * Returns 0, -EINVAL (missing match prerequisite) or -EPROTONOSUPPORT. */
int
ctl_rule_check(const struct ctl_rule *rule, enum ofp_version version)
{
    if (version != OFP10_VERSION && version != OFP13_VERSION
        && version != OFP15_VERSION) {
        return -EPROTONOSUPPORT;
    }
    if ((rule->match & (CTL_M_NW_PROTO | CTL_M_NW_SRC | CTL_M_NW_DST))
        && (!(rule->match & CTL_M_DL_TYPE)
            || rule->dl_type != CTL_ETH_TYPE_IP)) {
        return -EINVAL;
    }
    if ((rule->match & CTL_M_TP_DST)
        && (!(rule->match & CTL_M_NW_PROTO)
            || (rule->nw_proto != CTL_IPPROTO_UDP
                && rule->nw_proto != CTL_IPPROTO_TCP))) {
        return -EINVAL;
    }
    if (version == OFP10_VERSION && rule->table) {
        return -EPROTONOSUPPORT;
    }
    if ((rule->action == CTL_A_GROUP || rule->action == CTL_A_GOTO)
        && version < OFP11_VERSION) {
        return -EPROTONOSUPPORT;
    }
    if (rule->action == CTL_A_GOTO && rule->goto_table <= rule->table) {
        return -EINVAL;
    }
    if ((rule->match & CTL_M_IN_PORT) && rule->in_port >= 0xff00) {
        return -EINVAL;
    }
    if (rule->action == CTL_A_OUTPUT && rule->out_port >= 0xff00) {
        return -EINVAL;
    }
    return 0;
}

static void
ctl_rule_to_match(const struct ctl_rule *rule, struct match *m)
{
    match_init_catchall(m);
    if (rule->match & CTL_M_IN_PORT) {
        match_set_in_port(m, OFP_PORT_C(rule->in_port));
    }
    if (rule->match & CTL_M_DL_TYPE) {
        match_set_dl_type(m, htons(rule->dl_type));
    }
    if (rule->match & CTL_M_NW_PROTO) {
        match_set_nw_proto(m, rule->nw_proto);
    }
    if (rule->match & CTL_M_NW_SRC) {
        match_set_nw_src_masked(m, htonl(rule->nw_src),
                                htonl(rule->nw_src_mask));
    }
    if (rule->match & CTL_M_NW_DST) {
        match_set_nw_dst_masked(m, htonl(rule->nw_dst),
                                htonl(rule->nw_dst_mask));
    }
    if (rule->match & CTL_M_TP_DST) {
        match_set_tp_dst(m, htons(rule->tp_dst));
    }
}

static void
ctl_rule_to_ofpacts(const struct ctl_rule *rule, struct ofpbuf *ofpacts)
{
    if (rule->action == CTL_A_DROP) {
        return;
    }
    if (rule->set_dl_src) {
        memcpy(ofpact_put_SET_ETH_SRC(ofpacts)->mac.ea, rule->dl_src, 6);
    }
    if (rule->set_dl_dst) {
        memcpy(ofpact_put_SET_ETH_DST(ofpacts)->mac.ea, rule->dl_dst, 6);
    }
    switch (rule->action) {
    case CTL_A_OUTPUT:
        ofpact_put_OUTPUT(ofpacts)->port = OFP_PORT_C(rule->out_port);
        break;
    case CTL_A_CONTROLLER: {
        struct ofpact_output *out = ofpact_put_OUTPUT(ofpacts);
        out->port = OFPP_CONTROLLER;
        out->max_len = UINT16_MAX;  /* Whole packet, not buffered. */
        break;
    }
    case CTL_A_GROUP:
        ofpact_put_GROUP(ofpacts)->group_id = rule->group_id;
        break;
    case CTL_A_GOTO:
        ofpact_put_GOTO_TABLE(ofpacts)->table_id = rule->goto_table;
        break;
    case CTL_A_IN_PORT:
        ofpact_put_OUTPUT(ofpacts)->port = OFPP_IN_PORT;
        break;
    case CTL_A_DROP:
    default:
        break;
    }
}

static struct ofpbuf *
ctl_rule_encode__(const struct ctl_rule *rule, enum ofp_version version,
                  uint16_t command)
{
    struct match match;
    uint64_t stub[128 / 8];
    struct ofpbuf ofpacts;

    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    ctl_rule_to_match(rule, &match);
    if (command == OFPFC_ADD) {
        ctl_rule_to_ofpacts(rule, &ofpacts);
    }

    struct ofputil_flow_mod fm = {
        .priority = rule->priority,
        .new_cookie = command == OFPFC_ADD ? ctl_htonll(rule->cookie)
                                           : OVS_BE64_MAX,
        .table_id = rule->table,
        .command = command,
        .buffer_id = UINT32_MAX,
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
        .ofpacts = ofpacts.data,
        .ofpacts_len = ofpacts.size,
    };
    minimatch_init(&fm.match, &match);
    struct ofpbuf *msg = ofputil_encode_flow_mod(
        &fm, ofputil_protocol_from_ofp_version(version));
    minimatch_destroy(&fm.match);
    ofpbuf_uninit(&ofpacts);
    return msg;
}

/* Encodes 'rule' as an OFPFC_ADD flow-mod for 'version' into '*msgp'
 * (owned by the caller; its xid is for the sender to set).  Returns 0 or
 * the error of ctl_rule_check(), with '*msgp' untouched. */
int
ctl_rule_encode(const struct ctl_rule *rule, enum ofp_version version,
                struct ofpbuf **msgp)
{
    int rc = ctl_rule_check(rule, version);

    if (!rc) {
        *msgp = ctl_rule_encode__(rule, version, OFPFC_ADD);
    }
    return rc;
}

/* Encodes an OFPFC_DELETE_STRICT that removes exactly 'rule' (same table,
 * priority and match, any cookie).  Same contract as ctl_rule_encode(). */
int
ctl_rule_encode_delete(const struct ctl_rule *rule, enum ofp_version version,
                       struct ofpbuf **msgp)
{
    int rc = ctl_rule_check(rule, version);

    if (!rc) {
        *msgp = ctl_rule_encode__(rule, version, OFPFC_DELETE_STRICT);
    }
    return rc;
}

/* Encodes a flow-mod that deletes every rule a SCAFFOLD controller
 * installed (cookie tag 0x5c, all tables).  OpenFlow 1.0 cannot match
 * cookies without Nicira extensions: there it deletes every rule.  The
 * caller owns the result. */
struct ofpbuf *
ctl_rules_encode_flush(enum ofp_version version)
{
    struct match match;

    match_init_catchall(&match);
    struct ofputil_flow_mod fm = {
        .new_cookie = OVS_BE64_MAX,
        .table_id = OFPTT_ALL,
        .command = OFPFC_DELETE,
        .buffer_id = UINT32_MAX,
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
    };
    if (version >= OFP11_VERSION) {
        fm.cookie = ctl_htonll(CTL_COOKIE_TAG << 56);
        fm.cookie_mask = ctl_htonll(UINT64_C(0xff) << 56);
    }
    minimatch_init(&fm.match, &match);
    struct ofpbuf *msg = ofputil_encode_flow_mod(
        &fm, ofputil_protocol_from_ofp_version(version));
    minimatch_destroy(&fm.match);
    return msg;
}

static const char *
ctl_ip(uint32_t ip, char *buf, size_t size)
{
    snprintf(buf, size, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
             (ip >> 8) & 0xff, ip & 0xff);
    return buf;
}

static int
ctl_prefix_len(uint32_t mask)
{
    return mask ? 32 - __builtin_ctz(mask) : 0;
}

/* Prints the match of 'rule' ("dl_type=0x0800,nw_dst=1.2.0.0/16", "" for
 * match-all) into 'match' and its actions ("output:1", "drop") into
 * 'actions', in ovs-ofctl syntax.  Both are always NUL-terminated. */
void
ctl_rule_format_parts(const struct ctl_rule *rule, char *match_out,
                      size_t match_size, char *actions_out,
                      size_t actions_size)
{
    char match[256] = "", actions[160] = "", ip[16];
    size_t m = 0, a = 0;

#define CTL_PUT(BUF, OFS, ...) \
    (OFS += snprintf(BUF + OFS, OFS < sizeof BUF ? sizeof BUF - OFS : 0, \
                     __VA_ARGS__), OFS = OFS < sizeof BUF ? OFS : sizeof BUF)
    if (rule->match & CTL_M_IN_PORT) {
        CTL_PUT(match, m, ",in_port=%"PRIu32, rule->in_port);
    }
    if (rule->match & CTL_M_DL_TYPE) {
        CTL_PUT(match, m, ",dl_type=0x%04"PRIx16, rule->dl_type);
    }
    if (rule->match & CTL_M_NW_PROTO) {
        CTL_PUT(match, m, ",nw_proto=%u", rule->nw_proto);
    }
    if (rule->match & CTL_M_NW_SRC) {
        CTL_PUT(match, m, ",nw_src=%s/%d", ctl_ip(rule->nw_src, ip, sizeof ip),
                ctl_prefix_len(rule->nw_src_mask));
    }
    if (rule->match & CTL_M_NW_DST) {
        CTL_PUT(match, m, ",nw_dst=%s/%d", ctl_ip(rule->nw_dst, ip, sizeof ip),
                ctl_prefix_len(rule->nw_dst_mask));
    }
    if (rule->match & CTL_M_TP_DST) {
        CTL_PUT(match, m, ",tp_dst=%u", rule->tp_dst);
    }
    if (rule->set_dl_src) {
        const uint8_t *e = rule->dl_src;
        CTL_PUT(actions, a, "mod_dl_src:%02x:%02x:%02x:%02x:%02x:%02x,",
                e[0], e[1], e[2], e[3], e[4], e[5]);
    }
    if (rule->set_dl_dst) {
        const uint8_t *e = rule->dl_dst;
        CTL_PUT(actions, a, "mod_dl_dst:%02x:%02x:%02x:%02x:%02x:%02x,",
                e[0], e[1], e[2], e[3], e[4], e[5]);
    }
    switch (rule->action) {
    case CTL_A_OUTPUT:
        CTL_PUT(actions, a, "output:%"PRIu32, rule->out_port);
        break;
    case CTL_A_CONTROLLER:
        CTL_PUT(actions, a, "CONTROLLER:65535");
        break;
    case CTL_A_GROUP:
        CTL_PUT(actions, a, "group:%"PRIu32, rule->group_id);
        break;
    case CTL_A_GOTO:
        CTL_PUT(actions, a, "goto_table:%u", rule->goto_table);
        break;
    case CTL_A_IN_PORT:
        CTL_PUT(actions, a, "IN_PORT");
        break;
    case CTL_A_DROP:
    default:
        CTL_PUT(actions, a, "drop");
        break;
    }
#undef CTL_PUT
    snprintf(match_out, match_size, "%s", match[0] ? match + 1 : "");
    snprintf(actions_out, actions_size, "%s", actions);
}

/* Prints 'rule' in ovs-ofctl add-flow syntax.  Returns what snprintf()
 * returns. */
int
ctl_rule_format(const struct ctl_rule *rule, char *buf, size_t size)
{
    char match[256], actions[160];

    ctl_rule_format_parts(rule, match, sizeof match, actions, sizeof actions);
    return snprintf(buf, size, "table=%u,priority=%u,cookie=0x%016"PRIx64
                    "%s%s actions=%s", rule->table, rule->priority,
                    rule->cookie, match[0] ? "," : "", match, actions);
}
