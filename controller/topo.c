/*
 * SCAFFOLD controller: the topology graph (see topo.h for the contract).
 *
 * Data structures.  'switches' is an OVS hmap of struct ctl_topo_switch by
 * datapath id; each switch keeps its ports in a small array (switches have
 * few ports and the array is scanned).  'links' is an hmap of struct
 * ctl_topo_link_node by source (dpid, port): at most one link per source
 * port.  Removing a switch removes every link that touches it.
 *
 * Paths are computed on demand by breadth-first search; each BFS step scans
 * all links, O(V * E), which is fine for the hundreds of links of a domain.
 * The rule generator asks once per switch for the first hop toward every
 * other switch (ctl_topo_routes()), so a full sync costs O(V^2 * E).  A
 * per-switch adjacency list is the next step if that shows in a profile.
 */
#include "controller/topo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/hmap.h"

struct ctl_topo_port {
    uint32_t port_no;           /* OpenFlow port number. */
    bool up;                    /* Usable for forwarding. */
};

struct ctl_topo_switch {
    struct hmap_node node;      /* In ctl_topo's 'switches'. */
    uint64_t dpid;              /* Datapath id. */
    struct ctl_topo_port *ports; /* Known ports, unordered. */
    size_t n_ports, allocated_ports;
    /* BFS scratch, valid during one search only. */
    bool visited;
    struct ctl_topo_switch *prev; /* Predecessor on the BFS tree. */
    uint32_t prev_port;           /* Port of 'prev' leading here. */
    uint32_t first_port;          /* Source's port toward here. */
    uint32_t depth;               /* Links from the source. */
};

struct ctl_topo_link_node {
    struct hmap_node node;      /* In ctl_topo's 'links', by source. */
    struct ctl_topo_link link;  /* The link. */
};

struct ctl_topo {
    struct hmap switches;       /* struct ctl_topo_switch by dpid. */
    struct hmap links;          /* struct ctl_topo_link_node by source. */
};

static uint32_t
ctl_hash64(uint64_t x)
{
    /* splitmix64 finaliser. */
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (uint32_t) x ^ (uint32_t) (x >> 32);
}

static uint32_t
ctl_hash_src(uint64_t dpid, uint32_t port)
{
    return ctl_hash64(dpid ^ ((uint64_t) port << 48) ^ port);
}

static struct ctl_topo_switch *
ctl_topo_find(const struct ctl_topo *topo, uint64_t dpid)
{
    struct ctl_topo_switch *sw;

    HMAP_FOR_EACH_WITH_HASH (sw, node, ctl_hash64(dpid), &topo->switches) {
        if (sw->dpid == dpid) {
            return sw;
        }
    }
    return NULL;
}

static struct ctl_topo_link_node *
ctl_topo_find_link(const struct ctl_topo *topo, uint64_t dpid, uint32_t port)
{
    struct ctl_topo_link_node *ln;

    HMAP_FOR_EACH_WITH_HASH (ln, node, ctl_hash_src(dpid, port),
                             &topo->links) {
        if (ln->link.src_dpid == dpid && ln->link.src_port == port) {
            return ln;
        }
    }
    return NULL;
}

static struct ctl_topo_port *
ctl_topo_find_port(const struct ctl_topo_switch *sw, uint32_t port_no)
{
    for (size_t i = 0; i < sw->n_ports; i++) {
        if (sw->ports[i].port_no == port_no) {
            return &sw->ports[i];
        }
    }
    return NULL;
}

/* A port not reported (yet) counts as up: a probe came through it. */
static bool
ctl_topo_port_up(const struct ctl_topo *topo, uint64_t dpid, uint32_t port)
{
    const struct ctl_topo_switch *sw = ctl_topo_find(topo, dpid);
    const struct ctl_topo_port *p = sw ? ctl_topo_find_port(sw, port) : NULL;

    return sw && (!p || p->up);
}

struct ctl_topo *
ctl_topo_create(void)
{
    struct ctl_topo *topo = calloc(1, sizeof *topo);

    if (topo) {
        hmap_init(&topo->switches);
        hmap_init(&topo->links);
    }
    return topo;
}

/* Frees 'topo' and everything in it.  Accepts NULL. */
void
ctl_topo_destroy(struct ctl_topo *topo)
{
    struct ctl_topo_switch *sw;
    struct ctl_topo_link_node *ln;

    if (!topo) {
        return;
    }
    HMAP_FOR_EACH_POP (ln, node, &topo->links) {
        free(ln);
    }
    HMAP_FOR_EACH_POP (sw, node, &topo->switches) {
        free(sw->ports);
        free(sw);
    }
    hmap_destroy(&topo->links);
    hmap_destroy(&topo->switches);
    free(topo);
}

/* Adds switch 'dpid'.  Returns 0, -EEXIST or -ENOMEM. */
int
ctl_topo_switch_add(struct ctl_topo *topo, uint64_t dpid)
{
    if (ctl_topo_find(topo, dpid)) {
        return -EEXIST;
    }
    struct ctl_topo_switch *sw = calloc(1, sizeof *sw);
    if (!sw) {
        return -ENOMEM;
    }
    sw->dpid = dpid;
    hmap_insert(&topo->switches, &sw->node, ctl_hash64(dpid));
    return 0;
}

/* Removes switch 'dpid', its ports and every link from or to it.  Returns
 * 0 or -ENOENT. */
int
ctl_topo_switch_remove(struct ctl_topo *topo, uint64_t dpid)
{
    struct ctl_topo_switch *sw = ctl_topo_find(topo, dpid);
    struct ctl_topo_link_node *ln;

    if (!sw) {
        return -ENOENT;
    }
    HMAP_FOR_EACH_SAFE (ln, node, &topo->links) {
        if (ln->link.src_dpid == dpid || ln->link.dst_dpid == dpid) {
            hmap_remove(&topo->links, &ln->node);
            free(ln);
        }
    }
    hmap_remove(&topo->switches, &sw->node);
    free(sw->ports);
    free(sw);
    return 0;
}

bool
ctl_topo_has_switch(const struct ctl_topo *topo, uint64_t dpid)
{
    return ctl_topo_find(topo, dpid) != NULL;
}

size_t
ctl_topo_n_switches(const struct ctl_topo *topo)
{
    return hmap_count(&topo->switches);
}

static int
ctl_cmp_u64(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;

    return a < b ? -1 : a > b;
}

/* Stores up to 'max' datapath ids, sorted ascending, in 'dpids'.  Returns
 * the number of switches (which may exceed 'max'). */
size_t
ctl_topo_switches(const struct ctl_topo *topo, uint64_t *dpids, size_t max)
{
    const struct ctl_topo_switch *sw;
    size_t n = 0;

    HMAP_FOR_EACH (sw, node, &topo->switches) {
        if (n < max) {
            dpids[n] = sw->dpid;
        }
        n++;
    }
    qsort(dpids, n < max ? n : max, sizeof *dpids, ctl_cmp_u64);
    return n;
}

/* Records port 'port_no' of 'dpid' as up or down.  A port going down takes
 * its outgoing link with it (incoming links go when the peer reports its
 * own port down or the probes stop).  Returns 0, -ENOENT or -ENOMEM. */
int
ctl_topo_port_set(struct ctl_topo *topo, uint64_t dpid, uint32_t port_no,
                  bool up)
{
    struct ctl_topo_switch *sw = ctl_topo_find(topo, dpid);

    if (!sw) {
        return -ENOENT;
    }
    struct ctl_topo_port *p = ctl_topo_find_port(sw, port_no);
    if (!p) {
        if (sw->n_ports == sw->allocated_ports) {
            size_t n = sw->allocated_ports ? 2 * sw->allocated_ports : 8;
            struct ctl_topo_port *ports = realloc(sw->ports,
                                                  n * sizeof *ports);
            if (!ports) {
                return -ENOMEM;
            }
            sw->ports = ports;
            sw->allocated_ports = n;
        }
        p = &sw->ports[sw->n_ports++];
        p->port_no = port_no;
    }
    p->up = up;
    if (!up) {
        ctl_topo_link_remove(topo, dpid, port_no);
    }
    return 0;
}

/* Forgets port 'port_no' of 'dpid' and its outgoing link. */
int
ctl_topo_port_remove(struct ctl_topo *topo, uint64_t dpid, uint32_t port_no)
{
    struct ctl_topo_switch *sw = ctl_topo_find(topo, dpid);
    struct ctl_topo_port *p = sw ? ctl_topo_find_port(sw, port_no) : NULL;

    if (!p) {
        return -ENOENT;
    }
    *p = sw->ports[--sw->n_ports];
    ctl_topo_link_remove(topo, dpid, port_no);
    return 0;
}

/* Records that a probe sent from src_dpid:src_port arrived at
 * dst_dpid:dst_port at 'now_ms'.  Both switches must be known.  '*change'
 * (if not NULL) says whether the link is new.  Returns 0, -ENOENT or
 * -ENOMEM. */
int
ctl_topo_link_seen(struct ctl_topo *topo, uint64_t src_dpid,
                   uint32_t src_port, uint64_t dst_dpid, uint32_t dst_port,
                   uint64_t now_ms, enum ctl_topo_change *change)
{
    enum ctl_topo_change dummy;

    change = change ? change : &dummy;
    if (!ctl_topo_find(topo, src_dpid) || !ctl_topo_find(topo, dst_dpid)) {
        return -ENOENT;
    }
    struct ctl_topo_link_node *ln = ctl_topo_find_link(topo, src_dpid,
                                                       src_port);
    if (ln) {
        if (ln->link.dst_dpid == dst_dpid && ln->link.dst_port == dst_port) {
            *change = CTL_TOPO_UNCHANGED;
        } else {
            ln->link.dst_dpid = dst_dpid;
            ln->link.dst_port = dst_port;
            *change = CTL_TOPO_REPLACED;
        }
        ln->link.last_seen_ms = now_ms;
        return 0;
    }
    ln = calloc(1, sizeof *ln);
    if (!ln) {
        return -ENOMEM;
    }
    ln->link = (struct ctl_topo_link) {
        .src_dpid = src_dpid, .src_port = src_port,
        .dst_dpid = dst_dpid, .dst_port = dst_port,
        .last_seen_ms = now_ms,
    };
    hmap_insert(&topo->links, &ln->node, ctl_hash_src(src_dpid, src_port));
    *change = CTL_TOPO_ADDED;
    return 0;
}

/* Removes the link out of src_dpid:src_port.  Returns 0 or -ENOENT. */
int
ctl_topo_link_remove(struct ctl_topo *topo, uint64_t src_dpid,
                     uint32_t src_port)
{
    struct ctl_topo_link_node *ln = ctl_topo_find_link(topo, src_dpid,
                                                       src_port);
    if (!ln) {
        return -ENOENT;
    }
    hmap_remove(&topo->links, &ln->node);
    free(ln);
    return 0;
}

/* Removes every link not seen for 'timeout_ms' before 'now_ms', calling
 * 'cb' (if not NULL) with each just before it goes.  Returns how many. */
size_t
ctl_topo_expire(struct ctl_topo *topo, uint64_t now_ms, uint64_t timeout_ms,
                void (*cb)(const struct ctl_topo_link *, void *aux),
                void *aux)
{
    struct ctl_topo_link_node *ln;
    size_t n = 0;

    HMAP_FOR_EACH_SAFE (ln, node, &topo->links) {
        if (now_ms - ln->link.last_seen_ms >= timeout_ms) {
            if (cb) {
                cb(&ln->link, aux);
            }
            hmap_remove(&topo->links, &ln->node);
            free(ln);
            n++;
        }
    }
    return n;
}

size_t
ctl_topo_n_links(const struct ctl_topo *topo)
{
    return hmap_count(&topo->links);
}

static int
ctl_cmp_link(const void *a_, const void *b_)
{
    const struct ctl_topo_link *a = a_, *b = b_;

    if (a->src_dpid != b->src_dpid) {
        return a->src_dpid < b->src_dpid ? -1 : 1;
    }
    return a->src_port < b->src_port ? -1 : a->src_port > b->src_port;
}

/* Copies up to 'max' links, sorted by source, into 'links'.  Returns the
 * number of links (which may exceed 'max'). */
size_t
ctl_topo_links(const struct ctl_topo *topo, struct ctl_topo_link *links,
               size_t max)
{
    const struct ctl_topo_link_node *ln;
    size_t n = 0;

    HMAP_FOR_EACH (ln, node, &topo->links) {
        if (n < max) {
            links[n] = ln->link;
        }
        n++;
    }
    qsort(links, n < max ? n : max, sizeof *links, ctl_cmp_link);
    return n;
}

const struct ctl_topo_link *
ctl_topo_link_from(const struct ctl_topo *topo, uint64_t src_dpid,
                   uint32_t src_port)
{
    const struct ctl_topo_link_node *ln = ctl_topo_find_link(topo, src_dpid,
                                                             src_port);
    return ln ? &ln->link : NULL;
}

/* True when no link leaves or enters dpid:port: hosts attach there. */
bool
ctl_topo_is_edge_port(const struct ctl_topo *topo, uint64_t dpid,
                      uint32_t port_no)
{
    const struct ctl_topo_link_node *ln;

    if (ctl_topo_find_link(topo, dpid, port_no)) {
        return false;
    }
    HMAP_FOR_EACH (ln, node, &topo->links) {
        if (ln->link.dst_dpid == dpid && ln->link.dst_port == port_no) {
            return false;
        }
    }
    return true;
}

/* Breadth-first search from 'src' over links whose two ports are up,
 * filling every switch's BFS scratch fields.  Stops early once 'stop' (if
 * not NULL) is reached.  Among equal-length paths the one through lower
 * datapath ids and ports wins, so results are reproducible.  Returns 0 or
 * -ENOMEM. */
static int
ctl_topo_bfs(const struct ctl_topo *topo, struct ctl_topo_switch *src,
             const struct ctl_topo_switch *stop)
{
    struct ctl_topo_switch *sw;
    size_t n_sw = hmap_count(&topo->switches);
    size_t n_links = hmap_count(&topo->links);
    struct ctl_topo_switch **queue = malloc(n_sw * sizeof *queue);
    struct ctl_topo_link *links = malloc((n_links + 1) * sizeof *links);

    if (!queue || !links) {
        free(queue);
        free(links);
        return -ENOMEM;
    }
    /* Sorted links make ties deterministic. */
    ctl_topo_links(topo, links, n_links);

    HMAP_FOR_EACH (sw, node, &topo->switches) {
        sw->visited = false;
        sw->prev = NULL;
    }
    size_t head = 0, tail = 0;
    src->visited = true;
    src->depth = 0;
    queue[tail++] = src;
    while (head < tail && !(stop && stop->visited)) {
        struct ctl_topo_switch *cur = queue[head++];
        for (size_t i = 0; i < n_links; i++) {
            const struct ctl_topo_link *l = &links[i];
            if (l->src_dpid != cur->dpid
                || !ctl_topo_port_up(topo, l->src_dpid, l->src_port)
                || !ctl_topo_port_up(topo, l->dst_dpid, l->dst_port)) {
                continue;
            }
            struct ctl_topo_switch *next = ctl_topo_find(topo, l->dst_dpid);
            if (next && !next->visited) {
                next->visited = true;
                next->prev = cur;
                next->prev_port = l->src_port;
                next->first_port = cur == src ? l->src_port
                                              : cur->first_port;
                next->depth = cur->depth + 1;
                queue[tail++] = next;
            }
        }
    }
    free(queue);
    free(links);
    return 0;
}

/* Finds a shortest path (fewest links) from 'src_dpid' to 'dst_dpid' over
 * links whose two ports are up.  Stores the hops, one per switch before
 * 'dst_dpid' (none when src == dst), in 'hops' and their number in
 * '*n_hops'.  Ties are broken as in ctl_topo_bfs().  Returns 0, -ENOENT
 * when a switch is unknown, -EHOSTUNREACH when no path exists, -ENOSPC
 * when the path has more than 'max_hops' hops or -ENOMEM. */
int
ctl_topo_path(const struct ctl_topo *topo, uint64_t src_dpid,
              uint64_t dst_dpid, struct ctl_topo_hop *hops, size_t max_hops,
              size_t *n_hops)
{
    struct ctl_topo_switch *src = ctl_topo_find(topo, src_dpid);
    struct ctl_topo_switch *dst = ctl_topo_find(topo, dst_dpid);
    struct ctl_topo_switch *sw;

    *n_hops = 0;
    if (!src || !dst) {
        return -ENOENT;
    }
    if (src == dst) {
        return 0;
    }
    int rc = ctl_topo_bfs(topo, src, dst);
    if (rc) {
        return rc;
    }
    if (!dst->visited) {
        return -EHOSTUNREACH;
    }

    size_t n = dst->depth;
    if (n > max_hops) {
        return -ENOSPC;
    }
    size_t i = n;
    for (sw = dst; sw != src; sw = sw->prev) {
        i--;
        hops[i].dpid = sw->prev->dpid;
        hops[i].out_port = sw->prev_port;
    }
    *n_hops = n;
    return 0;
}

static int
ctl_cmp_route(const void *a_, const void *b_)
{
    const struct ctl_topo_route *a = a_, *b = b_;

    return a->dpid < b->dpid ? -1 : a->dpid > b->dpid;
}

/* Computes, with one search, the first hop from 'src_dpid' toward every
 * other switch it can reach.  '*routes' is a malloc'ed array (free() it)
 * of '*n' routes sorted by destination dpid, for ctl_topo_route_find().
 * Returns 0, -ENOENT (unknown source) or -ENOMEM. */
int
ctl_topo_routes(const struct ctl_topo *topo, uint64_t src_dpid,
                struct ctl_topo_route **routes, size_t *n)
{
    struct ctl_topo_switch *src = ctl_topo_find(topo, src_dpid);
    struct ctl_topo_switch *sw;

    *routes = NULL;
    *n = 0;
    if (!src) {
        return -ENOENT;
    }
    int rc = ctl_topo_bfs(topo, src, NULL);
    if (rc) {
        return rc;
    }
    struct ctl_topo_route *r = calloc(hmap_count(&topo->switches) + 1,
                                      sizeof *r);
    if (!r) {
        return -ENOMEM;
    }
    HMAP_FOR_EACH (sw, node, &topo->switches) {
        if (sw->visited && sw != src) {
            r[*n].dpid = sw->dpid;
            r[*n].out_port = sw->first_port;
            r[*n].hops = sw->depth;
            (*n)++;
        }
    }
    qsort(r, *n, sizeof *r, ctl_cmp_route);
    *routes = r;
    return 0;
}

/* The route toward 'dpid' in 'routes' (from ctl_topo_routes()), or NULL
 * when unreachable. */
const struct ctl_topo_route *
ctl_topo_route_find(const struct ctl_topo_route *routes, size_t n,
                    uint64_t dpid)
{
    struct ctl_topo_route key = { .dpid = dpid };

    return n ? bsearch(&key, routes, n, sizeof *routes, ctl_cmp_route)
             : NULL;
}
