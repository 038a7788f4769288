/*
 * SCAFFOLD controller: rule generation.
 *
 * Rules are computed by pure functions from the controller's state (roles,
 * topology, hosts) into version-independent struct ctl_rule values, which
 * tests compare directly; ctl_rule_encode() then turns one into a flow-mod
 * for the switch's negotiated OpenFlow version, and ctl_rule_format()
 * prints it in ovs-ofctl syntax for logs and tests.
 *
 * Table layout (OpenFlow 1.3 and 1.5; a 1.0 switch gets only the base
 * rules of table 0):
 *
 *     table 0 (classify)  discovery probes and the control objectID to the
 *                         controller; per inter-switch port "transit" and
 *                         per joined host's edge port "anti-spoofing allow"
 *                         -> goto table 1; the host's edge port otherwise
 *                         dropped; everything else dropped (counted).
 *     table 1 (route)     on the host's own router, nw_dst=ss.host.0.0/16
 *                         toward the host (rewriting the Ethernet
 *                         addresses); on every other switch one route per
 *                         hostID block, nw_dst=ss.first.0.0/(16 - log2 B),
 *                         toward the block's router; per served ssID,
 *                         nw_dst=ss.0.0.0/16 (unresolved) toward the object
 *                         router, above the block route that contains
 *                         hostID 0; the rest dropped (counted).
 *
 * HostIDs come in blocks (struct ctl_rules_block): an aligned range of B
 * hostIDs of one ssID that belongs to one label router, so a label router
 * carries its own hosts' rules plus one route per block, and a host that
 * moves changes the rules of its old and new router only.  A host whose
 * address lies in no block of its own router (a store written before
 * blocks) keeps a /16 route on every switch, as before.
 *
 * The object router (OpenFlow 1.5) has the same two tables, without hosts
 * of its own: table 0 also sends unresolved SCAFFOLD traffic for each
 * objectID with live instances (udp, nw_dst=ss.0.0.0/16, tp_dst=objectID,
 * one rule per served ssID) to the select group of that objectID (group
 * id = objectID; see object.h) or, on a switch without round-robin groups,
 * to the controller.  A bucket rewrites nw_dst to the instance's flowID
 * and resubmits to table 1, whose block routes carry the packet toward the
 * instance.  The resolved packet usually leaves by the port it came in on
 * (client and instance behind the same label router), which OpenFlow
 * forbids for a plain output: table 1 of the object router therefore has,
 * per block (and per host routed alone), one more rule "in_port=OUT,
 * nw_dst=prefix -> output:IN_PORT" one priority above the route
 * "nw_dst=prefix -> output:OUT".  Unresolved traffic of an objectID
 * without instances is dropped there by nw_dst=ss.0.0.0/16 (which would
 * otherwise follow the block route of hostID 0).

 * Cookies identify what installed a rule, so that `ovs-ofctl dump-flows` is
 * readable and stale rules can be found by cookie:
 *
 *     bits 63..56  0x5c, "installed by a SCAFFOLD controller"
 *     bits 55..48  kind (enum ctl_cookie_kind)
 *     bits 47..0   kind-specific value (e.g. ssID << 8 | hostID, objectID)
 */
#ifndef CTL_RULES_H
#define CTL_RULES_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/config.h"
#include "openvswitch/ofp-protocol.h"

struct ofpbuf;
struct ctl_topo;

#define CTL_COOKIE_TAG UINT64_C(0x5c)

enum ctl_cookie_kind {
    CTL_COOKIE_DISCOVERY = 0x01,  /* Probes to the controller. */
    CTL_COOKIE_CONTROL = 0x02,    /* Control objectID to the controller. */
    CTL_COOKIE_DROP = 0x03,       /* Default drop (counted); value table. */
    CTL_COOKIE_TRANSIT = 0x04,    /* Inter-switch port; value port. */
    CTL_COOKIE_L2 = 0x05,         /* Table-0 default to the controller
                                   * (--l2-learning, instead of drop). */
    CTL_COOKIE_L2_FLOW = 0x06,    /* A flow learnt by L2 learning. */
    CTL_COOKIE_PREFIX = 0x10,     /* nw_dst=ss.host.0.0/16 routes. */
    CTL_COOKIE_ANTISPOOF = 0x11,  /* Edge-port source checks. */
    CTL_COOKIE_UNRESOLVED = 0x12, /* hostID 0 toward the object router
                                   * (or dropped there); value ssID. */
    CTL_COOKIE_BLOCK = 0x13,      /* A block's route; value prefix length
                                   * << 16 | ssID << 8 | first hostID. */
    CTL_COOKIE_OBJECT = 0x20,     /* Object router, per objectID. */
    CTL_COOKIE_RESOLVED = 0x21,   /* Object router fallback: one resolved
                                   * flow (short-lived); value objectID. */
};

/* Tables. */
enum {
    CTL_TABLE_CLASSIFY = 0,
    CTL_TABLE_ROUTE = 1,
};

/* Rule priorities: more specific purposes win. */
enum {
    CTL_PRIO_DISCOVERY = 65000,
    CTL_PRIO_CONTROL = 60000,
    CTL_PRIO_SPOOF_ALLOW = 50000,
    CTL_PRIO_SPOOF_DROP = 49000,
    CTL_PRIO_RESOLVED = 45001,
    CTL_PRIO_OBJECT = 45000,
    CTL_PRIO_TRANSIT = 40000,
    CTL_PRIO_PREFIX_IN_PORT = 40001,
    CTL_PRIO_PREFIX = 40000,
    CTL_PRIO_BLOCK_IN_PORT = 39001,
    CTL_PRIO_BLOCK = 39000,
    CTL_PRIO_DROP = 0,
};

/* Match fields present in a struct ctl_rule. */
enum {
    CTL_M_IN_PORT = 1 << 0,
    CTL_M_DL_TYPE = 1 << 1,
    CTL_M_NW_PROTO = 1 << 2,
    CTL_M_NW_SRC = 1 << 3,
    CTL_M_NW_DST = 1 << 4,
    CTL_M_TP_DST = 1 << 5,
};

/* What the rule finally does with a packet. */
enum ctl_rule_action {
    CTL_A_DROP,                 /* No actions. */
    CTL_A_OUTPUT,               /* Output to 'out_port'. */
    CTL_A_CONTROLLER,           /* Whole packet to the controller. */
    CTL_A_GROUP,                /* To group 'group_id' (OpenFlow 1.1+). */
    CTL_A_GOTO,                 /* Continue in table 'goto_table' (1.1+). */
    CTL_A_IN_PORT,              /* Back out of the ingress port. */
};

/* One flow, independent of the OpenFlow version.  Addresses and ports in
 * host byte order. */
struct ctl_rule {
    uint8_t table;              /* Table id. */
    uint16_t priority;          /* Flow priority. */
    uint64_t cookie;            /* See ctl_cookie(). */
    uint32_t match;             /* CTL_M_* bits. */
    uint32_t in_port;
    uint16_t dl_type;
    uint8_t nw_proto;
    uint32_t nw_src, nw_src_mask;
    uint32_t nw_dst, nw_dst_mask;
    uint16_t tp_dst;
    bool set_dl_src;            /* Rewrite Ethernet source first? */
    bool set_dl_dst;            /* Rewrite Ethernet destination first? */
    uint8_t dl_src[6], dl_dst[6];
    enum ctl_rule_action action;
    uint32_t out_port;          /* For CTL_A_OUTPUT. */
    uint32_t group_id;          /* For CTL_A_GROUP. */
    uint8_t goto_table;         /* For CTL_A_GOTO. */
};

static inline uint64_t
ctl_cookie(enum ctl_cookie_kind kind, uint64_t value)
{
    return (CTL_COOKIE_TAG << 56) | ((uint64_t) kind << 48)
           | (value & UINT64_C(0xffffffffffff));
}

static inline enum ctl_cookie_kind
ctl_cookie_kind(uint64_t cookie)
{
    return (cookie >> 48) & 0xff;
}

static inline bool
ctl_cookie_is_ours(uint64_t cookie)
{
    return cookie >> 56 == CTL_COOKIE_TAG;
}

/* The base rules every switch gets on connect. */
#define CTL_RULES_BASE_MAX 4
size_t ctl_rules_base(enum ctl_role, enum ofp_version,
                      struct ctl_rule *rules, size_t max);

/* A joined host, as the rule generator needs it. */
struct ctl_rules_host {
    uint8_t mac[6];             /* Host MAC (last-hop Ethernet dst). */
    uint8_t ss_id;              /* Its domain. */
    uint8_t host_id;            /* Its hostID (1..254). */
    uint64_t dpid;              /* Attachment switch. */
    uint32_t port_no;           /* Attachment port. */
};

/* A block of hostIDs: first .. first + size - 1 of ssID 'ss_id' (hostIDs
 * 0 and 255 are never handed out), attached to label router 'dpid'.
 * 'first' is a multiple of 'size', a power of two 1..256. */
struct ctl_rules_block {
    uint8_t ss_id;
    uint8_t first;
    uint16_t size;
    uint64_t dpid;
};

/* How the object router resolves unresolved destinations. */
enum ctl_resolve {
    CTL_RESOLVE_NONE,           /* Not known yet: no per-object rules. */
    CTL_RESOLVE_GROUP,          /* Select groups, round robin. */
    CTL_RESOLVE_CONTROLLER,     /* Packet-in; the controller resolves. */
};

/* Everything the per-switch rules depend on. */
struct ctl_rules_input {
    const struct ctl_topo *topo;  /* Switches, links, paths. */
    const uint8_t *ss_ids;        /* The ssIDs served, ascending. */
    size_t n_ss_ids;
    uint64_t object_router;       /* Its dpid; 0 when none is known. */
    uint8_t router_mac[6];        /* Ethernet src on the last hop. */
    bool l2_learning;             /* Label routers: table-0 default to the
                                   * controller instead of drop. */
    const struct ctl_rules_host *hosts;
    size_t n_hosts;
    const struct ctl_rules_block *blocks; /* HostID blocks, in (ssID,
                                           * first) order. */
    size_t n_blocks;
    /* Object router only: */
    enum ctl_resolve resolve;     /* How it resolves. */
    const uint16_t *objects;      /* ObjectIDs with live instances (and a
                                   * group, for CTL_RESOLVE_GROUP). */
    size_t n_objects;
};

int ctl_rules_switch(const struct ctl_rules_input *, uint64_t dpid,
                     enum ctl_role, enum ofp_version,
                     struct ctl_rule **rules, size_t *n);
bool ctl_rule_equal(const struct ctl_rule *, const struct ctl_rule *);
int ctl_rule_cmp(const struct ctl_rule *, const struct ctl_rule *);
int ctl_rules_block_prefix_len(uint16_t size);
bool ctl_rules_host_in_block(const struct ctl_rules_input *,
                             const struct ctl_rules_host *);

int ctl_rule_check(const struct ctl_rule *, enum ofp_version);
int ctl_rule_encode(const struct ctl_rule *, enum ofp_version,
                    struct ofpbuf **msgp);
int ctl_rule_encode_delete(const struct ctl_rule *, enum ofp_version,
                           struct ofpbuf **msgp);
struct ofpbuf *ctl_rules_encode_flush(enum ofp_version);
int ctl_rule_format(const struct ctl_rule *, char *buf, size_t size);
void ctl_rule_format_parts(const struct ctl_rule *, char *match,
                           size_t match_size, char *actions,
                           size_t actions_size);

#endif /* controller/rules.h */
