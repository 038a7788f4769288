/*
 * SCAFFOLD controller: reconciling a switch with the wanted state (see
 * reconcile.h).
 *
 * Data structures: a flat array of the flows read (each owns a copy of
 * its actions) and a flat array of the groups read (each owns its
 * buckets).  A switch holds a few hundred rules at most, so the diff is a
 * plain O(n * m) comparison after decoding each wanted rule once.
 */
#include "controller/reconcile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openflow/openflow.h"
#include "openvswitch/list.h"
#include "openvswitch/meta-flow.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-group.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofpbuf.h"
#include "controller/object.h"
#include "controller/rules.h"

static ovs_be64
ctl_rc_htonll(uint64_t x)
{
    return ((ovs_be64) htonl(x & 0xffffffff) << 32) | htonl(x >> 32);
}

static uint64_t
ctl_rc_ntohll(ovs_be64 x)
{
    return ((uint64_t) ntohl(x & 0xffffffff) << 32) | ntohl(x >> 32);
}

/* Encodes a flow stats request for every flow whose cookie carries our
 * tag, in every table.  OpenFlow 1.0 cannot filter by cookie: the caller
 * gets every flow and ctl_reconcile_decode_flows() keeps ours.  The
 * caller owns the result. */
struct ofpbuf *
ctl_reconcile_encode_flow_request(enum ofp_version version)
{
    struct ofputil_flow_stats_request fsr = {
        .aggregate = false,
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
        .table_id = 0xff,
    };

    match_init_catchall(&fsr.match);
    if (version >= OFP11_VERSION) {
        fsr.cookie = ctl_rc_htonll(CTL_COOKIE_TAG << 56);
        fsr.cookie_mask = ctl_rc_htonll(UINT64_C(0xff) << 56);
    }
    return ofputil_encode_flow_stats_request(
        &fsr, ofputil_protocol_from_ofp_version(version));
}

/* Encodes a group description request for all groups (OpenFlow 1.1 and
 * later; NULL for 1.0).  The caller owns the result. */
struct ofpbuf *
ctl_reconcile_encode_group_request(enum ofp_version version)
{
    if (version < OFP11_VERSION) {
        return NULL;
    }
    return ofputil_encode_group_desc_request(version, OFPG_ALL);
}

static struct ctl_reconcile_flow *
ctl_reconcile_flow_new(struct ctl_reconcile_flows *fl)
{
    if (fl->n == fl->allocated) {
        size_t n = fl->allocated ? 2 * fl->allocated : 16;
        struct ctl_reconcile_flow *p = realloc(fl->flows, n * sizeof *p);
        if (!p) {
            return NULL;
        }
        fl->flows = p;
        fl->allocated = n;
    }
    struct ctl_reconcile_flow *f = &fl->flows[fl->n];
    memset(f, 0, sizeof *f);
    return f;
}

/* Appends to 'fl' every flow of ours (cookie tag 0x5c) in flow stats reply
 * 'oh' (one part of a multipart reply; 'oh' is only read).  Returns 0, or
 * -EPROTO when the reply does not decode (the flows before the error are
 * kept), or -ENOMEM. */
int
ctl_reconcile_decode_flows(const struct ofp_header *oh,
                           struct ctl_reconcile_flows *fl)
{
    uint64_t stub[1024 / 8];
    struct ofpbuf ofpacts, msg;
    int rc = 0;

    ofpbuf_use_const(&msg, oh, ntohs(oh->length));
    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    for (;;) {
        struct ofputil_flow_stats fs;
        int retval = ofputil_decode_flow_stats_reply(&fs, &msg, false,
                                                     &ofpacts);
        if (retval) {
            rc = retval == EOF ? 0 : -EPROTO;
            break;
        }
        uint64_t cookie = ctl_rc_ntohll(fs.cookie);
        if (!ctl_cookie_is_ours(cookie)) {
            continue;
        }
        struct ctl_reconcile_flow *f = ctl_reconcile_flow_new(fl);
        if (!f) {
            rc = -ENOMEM;
            break;
        }
        f->ofpacts = fs.ofpacts_len ? malloc(fs.ofpacts_len) : NULL;
        if (fs.ofpacts_len && !f->ofpacts) {
            rc = -ENOMEM;
            break;
        }
        if (fs.ofpacts_len) {
            memcpy(f->ofpacts, fs.ofpacts, fs.ofpacts_len);
        }
        f->ofpacts_len = fs.ofpacts_len;
        f->table = fs.table_id;
        f->priority = fs.priority;
        f->cookie = cookie;
        f->match = fs.match;
        f->idle_timeout = fs.idle_timeout;
        f->hard_timeout = fs.hard_timeout;
        f->duration_sec = fs.duration_sec;
        f->n_packets = fs.packet_count;
        f->n_bytes = fs.byte_count;
        fl->n++;
    }
    ofpbuf_uninit(&ofpacts);
    return rc;
}

/* Frees the flows of 'fl' and empties it ('fl' itself is the caller's). */
void
ctl_reconcile_flows_clear(struct ctl_reconcile_flows *fl)
{
    if (!fl) {
        return;
    }
    for (size_t i = 0; i < fl->n; i++) {
        free(fl->flows[i].ofpacts);
    }
    free(fl->flows);
    memset(fl, 0, sizeof *fl);
}

/* Replaces 'dst' by 'src' and empties 'src'. */
void
ctl_reconcile_flows_move(struct ctl_reconcile_flows *dst,
                         struct ctl_reconcile_flows *src)
{
    ctl_reconcile_flows_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

/* Moves the flows of 'src' whose 'which' entry is true to the end of
 * 'dst' (ownership of their actions goes with them) and compacts 'src'.
 * Returns 0 or -ENOMEM (then nothing moved). */
int
ctl_reconcile_flows_take(struct ctl_reconcile_flows *dst,
                         struct ctl_reconcile_flows *src, const bool *which)
{
    size_t n = 0, k = 0;

    for (size_t j = 0; j < src->n; j++) {
        n += which[j];
    }
    if (dst->n + n > dst->allocated) {
        struct ctl_reconcile_flow *p = realloc(dst->flows, (dst->n + n)
                                                           * sizeof *p);
        if (!p) {
            return -ENOMEM;
        }
        dst->flows = p;
        dst->allocated = dst->n + n;
    }
    for (size_t j = 0; j < src->n; j++) {
        if (which[j]) {
            dst->flows[dst->n++] = src->flows[j];
        } else {
            src->flows[k++] = src->flows[j];
        }
    }
    src->n = k;
    return 0;
}

/* The flowID a bucket of ours rewrites nw_dst to, 0 when the bucket is
 * not one of ours (set nw_dst, then resubmit(,1)). */
static uint32_t
ctl_reconcile_bucket_flow(const struct ofputil_bucket *b)
{
    const struct ofpact *a;
    uint32_t flow_id = 0;
    size_t n = 0;

    OFPACT_FOR_EACH (a, b->ofpacts, b->ofpacts_len) {
        n++;
        if (a->type == OFPACT_SET_IPV4_DST && n == 1) {
            flow_id = ntohl(ofpact_get_SET_IPV4_DST(a)->ipv4);
        } else if (a->type == OFPACT_SET_FIELD && n == 1) {
            const struct ofpact_set_field *sf = ofpact_get_SET_FIELD(a);
            if (sf->field->id != MFF_IPV4_DST) {
                return 0;
            }
            flow_id = ntohl(sf->value->be32);
        } else if (a->type == OFPACT_RESUBMIT && n == 2) {
            if (ofpact_get_RESUBMIT(a)->table_id != CTL_TABLE_ROUTE) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    return n == 2 ? flow_id : 0;
}

/* Appends to 'gl' the groups in group description reply 'oh' (one part of
 * a multipart reply, only read) of a 'version' switch.  A bucket's MAC and
 * sockID come from the instance of 'insts' ('n_insts') with its flowID;
 * a bucket that is not ours, or whose flowID no instance has, keeps a zero
 * MAC, so that ctl_object_diff() removes it.  Returns 0, -EPROTO or
 * -ENOMEM. */
int
ctl_reconcile_decode_groups(const struct ofp_header *oh,
                            enum ofp_version version,
                            const struct ctl_object_instance *insts,
                            size_t n_insts, struct ctl_reconcile_groups *gl)
{
    struct ofpbuf msg;
    int rc = 0;

    ofpbuf_use_const(&msg, oh, ntohs(oh->length));
    for (;;) {
        struct ofputil_group_desc gd;
        int retval = ofputil_decode_group_desc_reply(&gd, &msg, version);
        if (retval) {
            rc = retval == EOF ? 0 : -EPROTO;
            break;
        }
        if (gl->n == gl->allocated) {
            size_t n = gl->allocated ? 2 * gl->allocated : 8;
            struct ctl_reconcile_group *p = realloc(gl->groups,
                                                    n * sizeof *p);
            if (!p) {
                ofputil_uninit_group_desc(&gd);
                rc = -ENOMEM;
                break;
            }
            gl->groups = p;
            gl->allocated = n;
        }
        struct ctl_reconcile_group *g = &gl->groups[gl->n];
        memset(g, 0, sizeof *g);
        g->group_id = gd.group_id;
        g->round_robin = gd.type == OFPGT11_SELECT
                         && !strcmp(gd.props.selection_method,
                                    "round_robin");
        size_t n_buckets = ovs_list_size(&gd.buckets);
        g->buckets = calloc(n_buckets + 1, sizeof *g->buckets);
        if (!g->buckets) {
            ofputil_uninit_group_desc(&gd);
            rc = -ENOMEM;
            break;
        }
        const struct ofputil_bucket *b;
        LIST_FOR_EACH (b, list_node, &gd.buckets) {
            struct ctl_object_bucket *cb = &g->buckets[g->n_buckets++];
            cb->bucket_id = b->bucket_id;
            cb->flow_id = ctl_reconcile_bucket_flow(b);
            for (size_t i = 0; cb->flow_id && i < n_insts; i++) {
                if (insts[i].flow_id == cb->flow_id
                    && insts[i].object_id == gd.group_id) {
                    memcpy(cb->mac, insts[i].mac, 6);
                    cb->sock_id = insts[i].sock_id;
                    break;
                }
            }
        }
        gl->n++;
        ofputil_uninit_group_desc(&gd);
    }
    return rc;
}

/* Frees the groups of 'gl' and empties it. */
void
ctl_reconcile_groups_clear(struct ctl_reconcile_groups *gl)
{
    if (!gl) {
        return;
    }
    for (size_t i = 0; i < gl->n; i++) {
        free(gl->groups[i].buckets);
    }
    free(gl->groups);
    memset(gl, 0, sizeof *gl);
}

/* True for the cookies of flows that are short-lived by design (learnt L2
 * flows, fallback resolutions): they are never in the wanted set and are
 * left to expire rather than deleted as stale. */
bool
ctl_reconcile_transient(uint64_t cookie)
{
    enum ctl_cookie_kind kind = ctl_cookie_kind(cookie);

    return kind == CTL_COOKIE_L2_FLOW || kind == CTL_COOKIE_RESOLVED;
}

/* Decodes the flow-mod 'rule' becomes on a 'version' switch into
 * '*match' and 'ofpacts'. */
static int
ctl_reconcile_rule_decode(const struct ctl_rule *rule,
                          enum ofp_version version, struct match *match,
                          struct ofpbuf *ofpacts)
{
    enum ofputil_protocol protocol
        = ofputil_protocol_from_ofp_version(version);
    struct ofputil_flow_mod fm;
    struct ofpbuf *msg;
    int rc = ctl_rule_encode(rule, version, &msg);

    if (rc) {
        return rc;
    }
    ofpbuf_clear(ofpacts);
    enum ofperr error = ofputil_decode_flow_mod(&fm, msg->data, protocol,
                                                NULL, NULL, ofpacts,
                                                OFPP_MAX, 255);
    ofpbuf_delete(msg);
    if (error) {
        return -EPROTO;
    }
    minimatch_expand(&fm.match, match);
    minimatch_destroy(&fm.match);
    return 0;
}

/* Compares the wanted rules 'want' ('n_want') of a 'version' switch with
 * the flows read from it ('flows', 'n_flows').  Stores in 'found[i]' the
 * index of the flow identical to want[i] (table, priority, cookie, match,
 * actions, no timeouts), -1 if none; and in 'keep[j]' whether flows[j] is
 * wanted or transient (ctl_reconcile_transient()): the others are stale.
 * Both arrays are the caller's.  A wanted rule that does not encode is
 * "not found" (the sync logs it when it tries to add it).  Returns 0 or
 * -ENOMEM. */
int
ctl_reconcile_diff(const struct ctl_rule *want, size_t n_want,
                   enum ofp_version version,
                   const struct ctl_reconcile_flow *flows, size_t n_flows,
                   long *found, bool *keep)
{
    struct ofpbuf ofpacts;
    struct match *match = malloc(sizeof *match);

    if (!match) {
        return -ENOMEM;
    }
    for (size_t j = 0; j < n_flows; j++) {
        keep[j] = ctl_reconcile_transient(flows[j].cookie);
    }
    ofpbuf_init(&ofpacts, 256);
    for (size_t i = 0; i < n_want; i++) {
        found[i] = -1;
        if (ctl_reconcile_rule_decode(&want[i], version, match, &ofpacts)) {
            continue;
        }
        for (size_t j = 0; j < n_flows; j++) {
            const struct ctl_reconcile_flow *f = &flows[j];
            if (keep[j] || f->table != want[i].table
                || f->priority != want[i].priority
                || f->cookie != want[i].cookie
                || f->idle_timeout || f->hard_timeout
                || !match_equal(&f->match, match)
                || !ofpacts_equal_stringwise(f->ofpacts, f->ofpacts_len,
                                             ofpacts.data, ofpacts.size)) {
                continue;
            }
            found[i] = j;
            keep[j] = true;
            break;
        }
    }
    ofpbuf_uninit(&ofpacts);
    free(match);
    return 0;
}

/* Returns the index of the flow of 'flows' ('n_flows') that 'rule' would
 * replace on a 'version' switch (same table, priority and match, whatever
 * its cookie and actions), -1 if none. */
long
ctl_reconcile_find_same_match(const struct ctl_rule *rule,
                              enum ofp_version version,
                              const struct ctl_reconcile_flow *flows,
                              size_t n_flows)
{
    struct ofpbuf ofpacts;
    struct match *match;
    long found = -1;

    if (!n_flows || !(match = malloc(sizeof *match))) {
        return -1;
    }
    ofpbuf_init(&ofpacts, 256);
    if (!ctl_reconcile_rule_decode(rule, version, match, &ofpacts)) {
        for (size_t j = 0; found < 0 && j < n_flows; j++) {
            if (flows[j].table == rule->table
                && flows[j].priority == rule->priority
                && match_equal(&flows[j].match, match)) {
                found = j;
            }
        }
    }
    ofpbuf_uninit(&ofpacts);
    free(match);
    return found;
}

/* Encodes an OFPFC_DELETE_STRICT that removes exactly flow 'f' (its table,
 * priority and match; and, from OpenFlow 1.1 on, its cookie) into '*msgp',
 * owned by the caller.  Returns 0. */
int
ctl_reconcile_encode_delete(const struct ctl_reconcile_flow *f,
                            enum ofp_version version, struct ofpbuf **msgp)
{
    struct ofputil_flow_mod fm = {
        .priority = f->priority,
        .new_cookie = OVS_BE64_MAX,
        .table_id = f->table,
        .command = OFPFC_DELETE_STRICT,
        .buffer_id = UINT32_MAX,
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
    };

    if (version >= OFP11_VERSION) {
        fm.cookie = ctl_rc_htonll(f->cookie);
        fm.cookie_mask = OVS_BE64_MAX;
    }
    minimatch_init(&fm.match, &f->match);
    *msgp = ofputil_encode_flow_mod(
        &fm, ofputil_protocol_from_ofp_version(version));
    minimatch_destroy(&fm.match);
    return 0;
}
