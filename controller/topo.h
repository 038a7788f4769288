/*
 * SCAFFOLD controller: the topology graph.
 *
 * A pure in-memory model, no I/O: switches (by datapath id), their ports
 * (up or down) and directed links "src dpid:port -> dst dpid:port" learnt
 * from discovery probes.  It answers shortest-path questions by
 * breadth-first search over the links whose two ports are up.  The
 * controller mirrors every change into db/ and turns it into events; the
 * rule generator reads paths from here.
 *
 * A port sends to at most one link: a probe seen from the same source port
 * at a new destination replaces the old link.
 */
#ifndef CTL_TOPO_H
#define CTL_TOPO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_topo;

/* One directed link. */
struct ctl_topo_link {
    uint64_t src_dpid;          /* Switch that sent the probe. */
    uint32_t src_port;          /* Port it went out of. */
    uint64_t dst_dpid;          /* Switch that received it. */
    uint32_t dst_port;          /* Port it came in on. */
    uint64_t last_seen_ms;      /* Time of the last probe. */
};

/* One hop of a path: leave switch 'dpid' by 'out_port'. */
struct ctl_topo_hop {
    uint64_t dpid;
    uint32_t out_port;
};

/* What ctl_topo_link_seen() did. */
enum ctl_topo_change {
    CTL_TOPO_UNCHANGED,         /* Known link refreshed. */
    CTL_TOPO_ADDED,             /* New link. */
    CTL_TOPO_REPLACED,          /* Source port now reaches somewhere else. */
};

struct ctl_topo *ctl_topo_create(void);
void ctl_topo_destroy(struct ctl_topo *);

int ctl_topo_switch_add(struct ctl_topo *, uint64_t dpid);
int ctl_topo_switch_remove(struct ctl_topo *, uint64_t dpid);
bool ctl_topo_has_switch(const struct ctl_topo *, uint64_t dpid);
size_t ctl_topo_n_switches(const struct ctl_topo *);
size_t ctl_topo_switches(const struct ctl_topo *, uint64_t *dpids,
                         size_t max);

int ctl_topo_port_set(struct ctl_topo *, uint64_t dpid, uint32_t port_no,
                      bool up);
int ctl_topo_port_remove(struct ctl_topo *, uint64_t dpid,
                         uint32_t port_no);

int ctl_topo_link_seen(struct ctl_topo *, uint64_t src_dpid,
                       uint32_t src_port, uint64_t dst_dpid,
                       uint32_t dst_port, uint64_t now_ms,
                       enum ctl_topo_change *);
int ctl_topo_link_remove(struct ctl_topo *, uint64_t src_dpid,
                         uint32_t src_port);
size_t ctl_topo_expire(struct ctl_topo *, uint64_t now_ms,
                       uint64_t timeout_ms,
                       void (*cb)(const struct ctl_topo_link *, void *aux),
                       void *aux);
size_t ctl_topo_n_links(const struct ctl_topo *);
size_t ctl_topo_links(const struct ctl_topo *, struct ctl_topo_link *links,
                      size_t max);
const struct ctl_topo_link *ctl_topo_link_from(const struct ctl_topo *,
                                               uint64_t src_dpid,
                                               uint32_t src_port);
bool ctl_topo_is_edge_port(const struct ctl_topo *, uint64_t dpid,
                           uint32_t port_no);

/* First hop from a source switch toward 'dpid'. */
struct ctl_topo_route {
    uint64_t dpid;              /* Destination switch. */
    uint32_t out_port;          /* Port of the source switch to use. */
    uint32_t hops;              /* Path length in links. */
};

int ctl_topo_routes(const struct ctl_topo *, uint64_t src_dpid,
                    struct ctl_topo_route **routes, size_t *n);
const struct ctl_topo_route *ctl_topo_route_find(
    const struct ctl_topo_route *, size_t n, uint64_t dpid);

int ctl_topo_path(const struct ctl_topo *, uint64_t src_dpid,
                  uint64_t dst_dpid, struct ctl_topo_hop *hops,
                  size_t max_hops, size_t *n_hops);

#endif /* controller/topo.h */
