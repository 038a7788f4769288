/*
 * SCAFFOLD controller: the controller instance (see controller.h).
 *
 * Data structures.
 *   - struct ctl_peer: one per OpenFlow connection, from accept (or connect)
 *     until its 'closed' callback; on the controller's 'peers' list.  It is
 *     the ofconn's aux pointer.
 *   - struct ctl_switch: one per datapath id that completed a handshake, in
 *     'switches' (hmap by dpid).  'peer' is its current connection or NULL.
 *     A switch that reconnects with the same dpid gets its new connection
 *     and the old one is closed; a switch whose connection closes is removed
 *     from the table and from the topology.
 *   - struct ctl_connector: one per --connect target; reconnects with
 *     exponential backoff (1 s to 8 s) while the controller runs.
 *   - struct ctl_topo: the topology graph, fed by ports (handshake and
 *     port-status) and by discovery probes.
 *   - struct db (db/db.h): the persistent mirror in STATE_DIR/scaffold.db.
 *     Switches, ports and links are written when they change (not on every
 *     probe refresh) together with an event ("switch.up", "link.down", ...)
 *     so that another controller could replay them.  A db failure is logged
 *     and the controller carries on with its in-memory state.  At start the
 *     previous run's switches are marked disconnected and its links
 *     dropped: they are rediscovered within a probe interval.
 *
 * Flow of control.  On ready a switch gets a flush of every rule with our
 * cookie tag and then its whole desired rule set (rules.h: base, transit,
 * anti-spoofing, prefix routes, unresolved), computed from the topology and
 * the hosts in db/; a barrier confirms it ("provisioned").  Every later
 * change (link found or lost, port-status, switch up or down) schedules one
 * sync on a zero timer, which recomputes each switch's set and sends only
 * the difference (delete_strict / add) and a barrier.  The discovery timer
 * sends one probe per up port of every ready switch and expires links
 * whose probes stopped.  A packet-in that decodes as a SCAFFOLD datagram
 * to objectID 1 goes to control.c (join, keepalive, leave, bind, unbind in
 * db/) and its reply goes back as a packet-out on the same port; a change
 * of hosts schedules a sync.
 *
 * Object routers (object.h): each ctl_switch of role object keeps the
 * groups it was sent ('groups', one struct ctl_group per objectID with
 * its buckets in switch order) and how it resolves ('resolve'): unknown
 * until the probe group mod's barrier (round-robin groups) or an
 * OFPBPC_BAD_VALUE error (fallback: packet-ins resolved here, round robin
 * per objectID in 'rr_last').  A sync sends group changes before the flow
 * diff and group deletions after it, all derived from the instances in
 * db/, so bind, unbind, move, leave, eviction and lease expiry all take
 * the same path.  The lease timer removes expired hosts every second.
 *
 * Replies that mean "rule installed" (docs/protocol.md 5.5): the framed
 * reply of a bind or unbind that changed an instance, and the JoinReply
 * that gave a host a new address (first join or move), are held (struct
 * ctl_held, in 'held' by MAC and request id, on 'held_new' until the next
 * sync) and wait for a set of switches ('wait'): a bind or unbind for the
 * object routers that resolve in groups, a join for the host's label
 * router, or for every switch when a new hostID block was allocated
 * (every switch gets its route).  The sync brings every switch up to
 * date, then sends each switch that a held reply waits for one barrier
 * whose callback carries those replies (struct ctl_held_batch); a reply
 * goes out when the last of its barriers completed, or failed because the
 * switch went away (the change is in db/ and installed on reconnect).  A
 * retry of a held request is not answered: the held reply answers both.
 * A reply that no connected, synced switch would confirm goes out at
 * once.
 *
 * The admin RPC server (rpc.c) answers from
 * db/ and calls the hooks below for roles, evictions, rules and status.
 * Every change to switches or links rewrites the status file
 * (STATE_DIR/status), one line per switch and per link.
 */
#include "controller/controller.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controller/config.h"
#include "controller/control.h"
#include "controller/l2.h"
#include "controller/object.h"
#include "controller/ofconn.h"
#include "controller/probe.h"
#include "controller/reconcile.h"
#include "controller/rpc.h"
#include "controller/rules.h"
#include "controller/topo.h"
#include "db/db.h"
#include "proto/sfp.h"
#include "openflow/openflow.h"
#include "openvswitch/hmap.h"
#include "openvswitch/list.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofpbuf.h"
#include "controller/log.h"

VLOG_DEFINE_THIS_MODULE(ctl_controller);

static struct vlog_rate_limit ctl_rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* Background refresh of the flow counters (ms); the 'rules' RPC also asks
 * for a refresh when its copy is older than CTL_STATS_FRESH_MS. */
#define CTL_STATS_INTERVAL_MS 10000
#define CTL_STATS_FRESH_MS 1000

/* Marks, in a sync's wanted list, a rule held back (table ids stop at
 * 254; OFPTT_ALL is never a rule's). */
#define CTL_RULE_DEFERRED 0xff

struct ctl_connector;

struct ctl_peer {
    struct ovs_list node;       /* In ctl_controller's 'peers'. */
    struct ctl_controller *ctl; /* Owner. */
    struct ctl_ofconn *conn;    /* The connection. */
    struct ctl_connector *connector; /* Active target, NULL if accepted. */
    bool closed;                /* Closed during a walk (ctl_walk_begin()):
                                 * forgotten when the walk ends. */
    int closed_reason;          /* Its reason. */
};

struct ctl_switch {
    struct hmap_node node;      /* In ctl_controller's 'switches'. */
    uint64_t dpid;              /* Datapath id. */
    struct ctl_peer *peer;      /* Current connection. */
    enum ctl_role role;         /* Configured role. */
    bool provisioned;           /* First rule sync confirmed (barrier). */
    uint64_t ready_ms;          /* Loop time of the handshake. */
    struct ctl_rule *installed; /* Rules sent to the switch, in order. */
    size_t n_installed;
    uint64_t change_ns;         /* uv_hrtime() of the change whose rules
                                 * await a barrier, 0 if none. */
    /* Object router only (object.h): */
    enum ctl_resolve resolve;   /* Groups, controller, or not known yet. */
    bool rr_probing;            /* Round-robin probe group mod sent, its
                                 * barrier not answered yet. */
    struct ctl_group *groups;   /* Groups installed, by objectID. */
    size_t n_groups;
    struct ctl_l2 *l2;          /* MAC table (--l2-learning), or NULL. */
    /* Read-back (reconcile.h): */
    bool reading;               /* Flows/groups requested at connect, the
                                 * barrier behind them not answered yet:
                                 * no sync until it is. */
    bool have_read;             /* Read-back complete, not adopted yet. */
    struct ctl_reconcile_flows rx_flows;   /* Flow stats being received. */
    struct ctl_reconcile_groups rx_groups; /* Groups read at connect. */
    struct ctl_reconcile_flows stats;      /* Last complete flow stats
                                            * (counters for the RPC). */
    uint64_t stats_ms;          /* Loop time of 'stats', 0 if none. */
    struct ctl_reconcile_flows suspect; /* Read back, not wanted (yet). */
    uint64_t settle_ms;         /* Loop time when the topology is taken as
                                 * settled and suspects are deleted. */
    bool stats_pending;         /* A refresh awaits its barrier. */
};

/* One select group installed on an object router. */
struct ctl_group {
    uint16_t object_id;         /* Also the group id. */
    struct ctl_object_bucket *buckets; /* In the switch's bucket order. */
    size_t n_buckets;
    uint32_t next_bucket_id;    /* Bucket ids only grow. */
};

/* Which switches' barriers a held reply waits for (ctl_held's 'wait'). */
enum ctl_held_wait {
    CTL_HELD_GROUPS = 1 << 0,   /* Object routers resolving in groups. */
    CTL_HELD_SWITCH = 1 << 1,   /* The switch 'wait_dpid'. */
    CTL_HELD_ALL = 1 << 2,      /* Every switch. */
};

/* A control reply held until switches confirmed the rule change behind
 * it: a bind or unbind (object routers' groups), a join that assigned a
 * new address (the host's label router, or every switch). */
struct ctl_held {
    struct hmap_node node;      /* In ctl_controller's 'held'. */
    struct ovs_list list_node;  /* In 'held_new' until a sync sent the
                                 * barriers (then unlisted). */
    uint8_t mac[6];             /* Host (Ethernet source of the request). */
    uint64_t id;                /* Request id. */
    uint64_t dpid;              /* Label router to answer through. */
    uint32_t port;              /* Its port. */
    uint64_t start_ns;          /* uv_hrtime() when the request came in. */
    unsigned int wait;          /* enum ctl_held_wait bits. */
    uint64_t wait_dpid;         /* The switch of CTL_HELD_SWITCH. */
    size_t n_waits;             /* Barriers not completed yet. */
    size_t len;                 /* Length of 'frame'. */
    uint8_t frame[];            /* The framed reply. */
};

/* The held replies behind one barrier to one switch. */
struct ctl_held_batch {
    struct ctl_controller *ctl; /* Owner. */
    size_t n;                   /* Replies in 'held'. */
    struct ctl_held *held[];
};

struct ctl_connector {
    struct ctl_controller *ctl; /* Owner. */
    char target[CTL_CONFIG_TARGET_LEN]; /* "tcp:IP:PORT". */
    struct sockaddr_storage ss; /* Its address. */
    uv_timer_t retry;           /* Reconnect timer; retry.data == this. */
    struct ctl_peer *peer;      /* Current attempt or connection. */
    unsigned int backoff_ms;    /* Next retry delay. */
};

struct ctl_controller {
    uv_loop_t *loop;
    struct ctl_config cfg;      /* Copy of the configuration. */
    uv_tcp_t server;            /* Listener (if cfg.listen). */
    bool listening;
    uv_timer_t probe_timer;     /* Discovery period. */
    uv_timer_t sync_timer;      /* Coalesces rule syncs after changes. */
    uint64_t change_ns;         /* uv_hrtime() of the first change not
                                 * synced yet, 0 if none. */
    struct ctl_connector *connectors; /* cfg.n_connect of them. */
    struct ovs_list peers;      /* struct ctl_peer, every connection. */
    struct hmap switches;       /* struct ctl_switch by dpid. */
    struct ctl_topo *topo;      /* Topology graph. */
    uint64_t instance;          /* Random nonce carried in our probes. */
    char status_path[CTL_CONFIG_PATH_LEN + 16]; /* Status file. */
    char db_path[CTL_CONFIG_PATH_LEN + 16];     /* sqlite file. */
    struct db *db;              /* State store, NULL if it failed to open. */
    struct ctl_rpc_server *rpc; /* Admin RPC on STATE_DIR/admin.sock. */
    char rpc_path[CTL_CONFIG_PATH_LEN + 16];    /* Its socket. */
    int64_t started_ms;         /* Wall clock at start. */
    uint64_t epoch;             /* Controller epoch (control.proto). */
    uv_timer_t lease_timer;     /* Expires hosts whose lease ran out. */
    uint32_t *rr_last;          /* Fallback resolution: per objectID the
                                 * flowID picked last (65536 entries). */
    uint8_t ss_ids[255];        /* The ssIDs served, ascending. */
    size_t n_ss_ids;
    struct hmap held;           /* struct ctl_held by MAC and request id. */
    struct ovs_list held_new;   /* struct ctl_held awaiting their barriers
                                 * (sent by the next sync). */
    int walking;                /* Depth of walks over 'switches' that
                                 * write to them (ctl_walk_begin()). */
    bool stopping;
};

static const struct ctl_ofconn_class ctl_peer_class;
static void ctl_connector_start(struct ctl_connector *);
static void ctl_schedule_sync(struct ctl_controller *);
static void ctl_held_attach(struct ctl_controller *);
static void ctl_walk_begin(struct ctl_controller *);
static void ctl_walk_end(struct ctl_controller *);

/* MACs learnt per switch with --l2-learning. */
#define CTL_L2_MAX_MACS 8192
static void ctl_status_write(struct ctl_controller *);

static uint32_t
ctl_dpid_hash(uint64_t dpid)
{
    return (uint32_t) dpid ^ (uint32_t) (dpid >> 32);
}

static struct ctl_switch *
ctl_switch_find(const struct ctl_controller *ctl, uint64_t dpid)
{
    struct ctl_switch *sw;

    HMAP_FOR_EACH_WITH_HASH (sw, node, ctl_dpid_hash(dpid), &ctl->switches) {
        if (sw->dpid == dpid) {
            return sw;
        }
    }
    return NULL;
}

static struct ctl_ofconn_timers
ctl_timers(const struct ctl_controller *ctl)
{
    return (struct ctl_ofconn_timers) {
        .echo_interval_ms = ctl->cfg.echo_interval_ms,
        .dead_timeout_ms = ctl->cfg.dead_timeout_ms,
    };
}

static struct ctl_peer *
ctl_peer_new(struct ctl_controller *ctl, struct ctl_connector *connector)
{
    struct ctl_peer *peer = calloc(1, sizeof *peer);

    if (peer) {
        peer->ctl = ctl;
        peer->connector = connector;
        ovs_list_push_back(&ctl->peers, &peer->node);
    }
    return peer;
}

static void
ctl_peer_free(struct ctl_peer *peer)
{
    ovs_list_remove(&peer->node);
    free(peer);
}

/* ---- state store ------------------------------------------------------- */

static int64_t
ctl_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs a failed db call 'what' (rate-limited: a broken disk must not flood
 * the log) and returns 'rc'. */
static int
ctl_db_check(struct ctl_controller *ctl, int rc, const char *what)
{
    if (rc) {
        VLOG_WARN_RL(&ctl_rl, "db: %s failed: %s", what, db_errmsg(ctl->db));
    }
    return rc;
}

/* Appends event 'kind' about 'subject' to the event log. */
static void __attribute__((format(printf, 4, 5)))
ctl_db_event(struct ctl_controller *ctl, const char *kind,
             const char *subject, const char *fmt, ...)
{
    char detail[256];
    va_list args;

    if (!ctl->db) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    ctl_db_check(ctl, db_event_append(ctl->db, ctl_wall_ms(), kind, subject,
                                      detail, NULL), "event append");
    if (ctl->rpc) {
        ctl_rpc_notify_event(ctl->rpc);
    }
}

static enum db_role
ctl_role_to_db(enum ctl_role role)
{
    return role == CTL_ROLE_LABEL ? DB_ROLE_LABEL
           : role == CTL_ROLE_OBJECT ? DB_ROLE_OBJECT : DB_ROLE_UNKNOWN;
}

static enum ctl_role
ctl_role_from_db(enum db_role role)
{
    return role == DB_ROLE_LABEL ? CTL_ROLE_LABEL
           : role == DB_ROLE_OBJECT ? CTL_ROLE_OBJECT : CTL_ROLE_NONE;
}

static void
ctl_db_port(struct ctl_controller *ctl, uint64_t dpid,
            const struct ctl_ofconn_port *port)
{
    struct db_port p = {
        .dpid = dpid,
        .port_no = port->port_no,
        .up = port->up,
    };

    if (!ctl->db) {
        return;
    }
    memcpy(p.mac, port->hw_addr.ea, DB_MAC_LEN);
    snprintf(p.name, sizeof p.name, "%s", port->name);
    ctl_db_check(ctl, db_port_upsert(ctl->db, &p), "port upsert");
}

/* Records switch 'sw' (just connected on 'conn') with its ports. */
static void
ctl_db_switch_up(struct ctl_controller *ctl, struct ctl_switch *sw,
                 struct ctl_ofconn *conn)
{
    struct db_switch s = {
        .dpid = sw->dpid,
        .role = ctl_role_to_db(sw->role),
        .of_version = ctl_ofconn_version(conn),
        .connected = true,
        .last_seen = ctl_wall_ms(),
    };
    struct db_port *old;
    size_t n_old;
    char subject[32];

    if (!ctl->db) {
        return;
    }
    snprintf(subject, sizeof subject, "%016"PRIx64, sw->dpid);
    snprintf(s.name, sizeof s.name, "%s", subject);
    ctl_db_check(ctl, db_begin(ctl->db), "begin");
    if (!ctl_db_check(ctl, db_switch_upsert(ctl->db, &s), "switch upsert")) {
        /* Ports the switch no longer has go. */
        if (!ctl_db_check(ctl, db_port_list(ctl->db, sw->dpid, &old, &n_old),
                          "port list")) {
            for (size_t i = 0; i < n_old; i++) {
                if (!ctl_ofconn_port(conn, old[i].port_no)) {
                    ctl_db_check(ctl, db_port_delete(ctl->db, sw->dpid,
                                                     old[i].port_no),
                                 "port delete");
                }
            }
            free(old);
        }
        for (size_t i = 0; i < ctl_ofconn_n_ports(conn); i++) {
            ctl_db_port(ctl, sw->dpid, ctl_ofconn_port_at(conn, i));
        }
    }
    ctl_db_event(ctl, "switch.up", subject, "peer %s, OpenFlow 0x%02x, "
                 "%zu ports, role %s", ctl_ofconn_peer(conn),
                 ctl_ofconn_version(conn), ctl_ofconn_n_ports(conn),
                 ctl_role_name(sw->role));
    if (ctl_db_check(ctl, db_commit(ctl->db), "commit")) {
        db_rollback(ctl->db);
    }
}

static void
ctl_db_link(struct ctl_controller *ctl, const struct ctl_topo_link *l,
            bool up, const char *why)
{
    char subject[48];

    if (!ctl->db) {
        return;
    }
    snprintf(subject, sizeof subject, "%016"PRIx64":%"PRIu32, l->src_dpid,
             l->src_port);
    if (up) {
        struct db_link dl = {
            .src_dpid = l->src_dpid, .src_port = l->src_port,
            .dst_dpid = l->dst_dpid, .dst_port = l->dst_port,
            .last_probe = ctl_wall_ms(),
        };
        ctl_db_check(ctl, db_link_upsert(ctl->db, &dl), "link upsert");
    } else {
        int rc = db_link_delete(ctl->db, l->src_dpid, l->src_port);
        if (rc != -ENOENT) {
            ctl_db_check(ctl, rc, "link delete");
        }
    }
    ctl_db_event(ctl, up ? "link.up" : "link.down", subject,
                 "to %016"PRIx64":%"PRIu32"%s%s", l->dst_dpid, l->dst_port,
                 why ? ", " : "", why ? why : "");
}

/* The controller epoch (proto/control.proto JoinReply.controller_epoch)
 * changes only when the controller restarts WITHOUT its state: hosts that
 * see it change re-join and re-bind.  A restart that finds its store keeps
 * the stored epoch (the hosts' addresses are still valid); a fresh store
 * gets a new one, the wall clock in ms, which is above every epoch an
 * earlier store can have handed out (unless the clock went back). */
static void
ctl_epoch_load(struct ctl_controller *ctl, int64_t now)
{
    char value[DB_META_VALUE_SIZE];
    int rc = db_meta_get(ctl->db, "controller_epoch", value, sizeof value);

    if (!rc) {
        char *end;
        ctl->epoch = strtoull(value, &end, 10);
        if (*end || !ctl->epoch) {
            VLOG_WARN("db: bad controller_epoch '%s': starting a new one",
                      value);
            rc = -ENOENT;
        } else {
            VLOG_INFO("controller epoch %"PRIu64" (state kept)", ctl->epoch);
            return;
        }
    }
    if (rc != -ENOENT) {
        ctl_db_check(ctl, rc, "meta get");
    }
    ctl->epoch = now > 0 ? (uint64_t) now : 1;
    snprintf(value, sizeof value, "%"PRIu64, ctl->epoch);
    ctl_db_check(ctl, db_meta_put(ctl->db, "controller_epoch", value),
                 "meta put");
    VLOG_INFO("controller epoch %"PRIu64" (new state)", ctl->epoch);
}

/* Opens the store and forgets the previous run's live state. */
static int
ctl_db_open(struct ctl_controller *ctl)
{
    char *msg = NULL;
    struct db_switch *sws;
    size_t n;

    int rc = db_open(ctl->db_path, &ctl->db, &msg);
    if (rc) {
        VLOG_ERR("db: cannot open %s: %s", ctl->db_path,
                 msg ? msg : strerror(-rc));
        free(msg);
        return rc;
    }
    int64_t now = ctl_wall_ms();
    ctl_db_check(ctl, db_begin(ctl->db), "begin");
    if (!ctl_db_check(ctl, db_switch_list(ctl->db, &sws, &n),
                      "switch list")) {
        for (size_t i = 0; i < n; i++) {
            if (sws[i].connected) {
                ctl_db_check(ctl, db_switch_set_connected(ctl->db,
                                                          sws[i].dpid, false,
                                                          now),
                             "switch disconnect");
            }
        }
        free(sws);
    }
    ctl_db_check(ctl, db_link_expire(ctl->db, INT64_MAX, &n), "link expire");
    ctl_epoch_load(ctl, now);
    ctl_db_event(ctl, "controller.start", "", "ssid %u, ssids %s, host "
                 "block %u, instance %016"PRIx64", epoch %"PRIu64,
                 ctl->cfg.ssid, ctl->cfg.ssids_set ? ctl->cfg.ssids_text
                 : "(ssid)", ctl->cfg.host_block, ctl->instance, ctl->epoch);
    return ctl_db_check(ctl, db_commit(ctl->db), "commit");
}

/* ---- listener and connectors ------------------------------------------- */

static void
ctl_on_accept(uv_stream_t *server, int status)
{
    struct ctl_controller *ctl = server->data;
    struct ctl_ofconn_timers timers = ctl_timers(ctl);

    if (status) {
        VLOG_WARN_RL(&ctl_rl, "accept failed: %s", uv_strerror(status));
        return;
    }
    struct ctl_peer *peer = ctl_peer_new(ctl, NULL);
    if (!peer) {
        VLOG_WARN_RL(&ctl_rl, "out of memory, connection refused");
        return;
    }
    int rc = ctl_ofconn_accept(server, &ctl_peer_class, &timers, peer,
                               &peer->conn);
    if (rc) {
        VLOG_WARN_RL(&ctl_rl, "accept failed: %s", uv_strerror(rc));
        ctl_peer_free(peer);
    }
}

static void
ctl_connector_fire(uv_timer_t *timer)
{
    ctl_connector_start(timer->data);
}

static void
ctl_connector_retry(struct ctl_connector *c)
{
    if (c->ctl->stopping) {
        return;
    }
    VLOG_INFO("%s: reconnecting in %u ms", c->target, c->backoff_ms);
    uv_timer_start(&c->retry, ctl_connector_fire, c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > 8000 ? 8000 : c->backoff_ms * 2;
}

static void
ctl_connector_start(struct ctl_connector *c)
{
    struct ctl_ofconn_timers timers = ctl_timers(c->ctl);
    struct ctl_peer *peer = ctl_peer_new(c->ctl, c);

    if (!peer) {
        ctl_connector_retry(c);
        return;
    }
    c->peer = peer;
    int rc = ctl_ofconn_connect(c->ctl->loop, (struct sockaddr *) &c->ss,
                                &ctl_peer_class, &timers, peer, &peer->conn);
    if (rc) {
        VLOG_WARN_RL(&ctl_rl, "%s: cannot connect: %s", c->target,
                     uv_strerror(rc));
        c->peer = NULL;
        ctl_peer_free(peer);
        ctl_connector_retry(c);
    }
}

/* ---- switches ---------------------------------------------------------- */

static void
ctl_provisioned(struct ctl_ofconn *conn, int status, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_switch *sw = ctl_switch_find(peer->ctl, ctl_ofconn_dpid(conn));

    if (status || !sw || sw->peer != peer) {
        return;
    }
    if (sw->provisioned) {
        if (sw->change_ns) {
            /* From the event (join, link, port) to rules in the switch. */
            VLOG_INFO("%s: rules in (barrier) %.1f ms after the change",
                      ctl_ofconn_name(conn),
                      (uv_hrtime() - sw->change_ns) / 1e6);
            sw->change_ns = 0;
        }
        return;
    }
    sw->provisioned = true;
    VLOG_INFO("%s: provisioned (rules confirmed by barrier after %"PRIu64
              " ms)", ctl_ofconn_name(conn),
              uv_now(peer->ctl->loop) - sw->ready_ms);
    ctl_status_write(peer->ctl);
}

static void
ctl_switch_groups_clear(struct ctl_switch *sw)
{
    for (size_t i = 0; i < sw->n_groups; i++) {
        free(sw->groups[i].buckets);
    }
    free(sw->groups);
    sw->groups = NULL;
    sw->n_groups = 0;
}

static void
ctl_switch_free(struct ctl_switch *sw)
{
    if (sw) {
        ctl_switch_groups_clear(sw);
        ctl_l2_destroy(sw->l2);
        ctl_reconcile_flows_clear(&sw->rx_flows);
        ctl_reconcile_groups_clear(&sw->rx_groups);
        ctl_reconcile_flows_clear(&sw->stats);
        ctl_reconcile_flows_clear(&sw->suspect);
        free(sw->installed);
        free(sw);
    }
}

/* The dpid of the first connected object router, 0 if none. */
static uint64_t
ctl_object_router(const struct ctl_controller *ctl)
{
    const struct ctl_switch *sw;
    uint64_t best = 0;

    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        if (sw->role == CTL_ROLE_OBJECT && (!best || sw->dpid < best)) {
            best = sw->dpid;
        }
    }
    return best;
}

static bool
ctl_rule_in(const struct ctl_rule *r, const struct ctl_rule *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ctl_rule_equal(r, &set[i])) {
            return true;
        }
    }
    return false;
}

/* A sorted copy of a switch's rules, for membership tests in O(log n) (a
 * sync compares the hundreds of rules of a switch with the hundreds it
 * should have); ordered by ctl_rule_cmp(), which compares what reaches the
 * switch without formatting.  Without memory for the copy it looks in the
 * caller's array itself, in O(n). */
struct ctl_rule_index {
    struct ctl_rule *sorted;    /* NULL: search 'rules' linearly. */
    const struct ctl_rule *rules;
    size_t n;
};

static int
ctl_rule_qsort_cmp(const void *a, const void *b)
{
    return ctl_rule_cmp(a, b);
}

/* Indexes 'rules' ('n'), which must outlive the index. */
static void
ctl_rule_index_init(struct ctl_rule_index *ix, const struct ctl_rule *rules,
                    size_t n)
{
    ix->rules = rules;
    ix->n = n;
    ix->sorted = malloc((n + 1) * sizeof *ix->sorted);
    if (ix->sorted) {
        memcpy(ix->sorted, rules, n * sizeof *rules);
        qsort(ix->sorted, n, sizeof *ix->sorted, ctl_rule_qsort_cmp);
    }
}

static bool
ctl_rule_index_has(const struct ctl_rule_index *ix, const struct ctl_rule *r)
{
    if (!ix->sorted) {
        return ctl_rule_in(r, ix->rules, ix->n);
    }
    return ix->n && bsearch(r, ix->sorted, ix->n, sizeof *ix->sorted,
                            ctl_rule_qsort_cmp) != NULL;
}

static void
ctl_rule_index_destroy(struct ctl_rule_index *ix)
{
    free(ix->sorted);
}

/* What the rules of every switch are computed from, loaded from the
 * store once per sync: the joined hosts and the hostID blocks of the
 * served ssIDs. */
struct ctl_view {
    struct ctl_rules_host *hosts;
    size_t n_hosts;
    struct ctl_rules_block *blocks;
    size_t n_blocks;
};

static bool
ctl_serves(const struct ctl_controller *ctl, unsigned int ss_id)
{
    return ctl_config_serves(&ctl->cfg, ss_id);
}

/* Loads the joined hosts and the blocks of the served ssIDs from the
 * store into 'view' (empty when there are none or the store failed); free
 * it with ctl_view_free(). */
static void
ctl_view_load(struct ctl_controller *ctl, struct ctl_view *view)
{
    struct db_host *rows;
    struct db_block *blocks;
    size_t n_rows;

    memset(view, 0, sizeof *view);
    if (!ctl->db) {
        return;
    }
    if (!ctl_db_check(ctl, db_host_list(ctl->db, &rows, &n_rows),
                      "host list")) {
        view->hosts = calloc(n_rows + 1, sizeof *view->hosts);
        for (size_t i = 0; view->hosts && i < n_rows; i++) {
            if (!ctl_serves(ctl, rows[i].ss_id)) {
                continue;
            }
            struct ctl_rules_host *h = &view->hosts[view->n_hosts++];
            memcpy(h->mac, rows[i].mac, 6);
            h->ss_id = rows[i].ss_id;
            h->host_id = rows[i].host_id;
            h->dpid = rows[i].dpid;
            h->port_no = rows[i].port_no;
        }
        free(rows);
    }
    if (!ctl_db_check(ctl, db_block_list(ctl->db, 0, &blocks, &n_rows),
                      "block list")) {
        view->blocks = calloc(n_rows + 1, sizeof *view->blocks);
        for (size_t i = 0; view->blocks && i < n_rows; i++) {
            if (!ctl_serves(ctl, blocks[i].ss_id)) {
                continue;
            }
            struct ctl_rules_block *b = &view->blocks[view->n_blocks++];
            b->ss_id = blocks[i].ss_id;
            b->first = blocks[i].first;
            b->size = blocks[i].size;
            b->dpid = blocks[i].dpid;
        }
        free(blocks);
    }
}

static void
ctl_view_free(struct ctl_view *view)
{
    free(view->hosts);
    free(view->blocks);
    memset(view, 0, sizeof *view);
}

/* ---- object router: groups (object.h) --------------------------------- */

/* Loads the live instances of this domain's hosts, in (objectID, flowID)
 * order, into a malloc'ed array ('*insts' NULL and '*n' 0 when there are
 * none or the store failed). */
static void
ctl_load_instances(struct ctl_controller *ctl,
                   struct ctl_object_instance **insts, size_t *n)
{
    struct db_instance *rows;
    size_t n_rows;

    *insts = NULL;
    *n = 0;
    if (!ctl->db || ctl_db_check(ctl, db_instance_list(ctl->db, 0, &rows,
                                                       &n_rows),
                                 "instance list")) {
        return;
    }
    *insts = calloc(n_rows + 1, sizeof **insts);
    for (size_t i = 0; *insts && i < n_rows; i++) {
        if (!ctl_serves(ctl, rows[i].ss_id)) {
            continue;
        }
        struct ctl_object_instance *o = &(*insts)[(*n)++];
        o->object_id = rows[i].object_id;
        memcpy(o->mac, rows[i].host_mac, 6);
        o->sock_id = rows[i].sock_id;
        o->flow_id = rows[i].flow_id;
    }
    free(rows);
}

static struct ctl_group *
ctl_group_find(struct ctl_switch *sw, uint16_t object_id)
{
    for (size_t i = 0; i < sw->n_groups; i++) {
        if (sw->groups[i].object_id == object_id) {
            return &sw->groups[i];
        }
    }
    return NULL;
}

static void
ctl_group_send(struct ctl_ofconn *conn, int rc, struct ofpbuf *msg,
               const char *what, uint16_t object_id, size_t *ops)
{
    if (rc) {
        VLOG_WARN("%s: cannot encode %s of group %u: %s",
                  ctl_ofconn_name(conn), what, object_id, strerror(-rc));
        return;
    }
    ctl_ofconn_send(conn, msg, NULL);
    (*ops)++;
}

/* Brings the group of 'object_id' on object router 'sw' to one bucket per
 * instance in 'insts' ('n' of them, all of that object): adds the group,
 * or inserts and removes only the buckets that changed.  Returns the
 * number of group mods sent. */
static size_t
ctl_group_update(struct ctl_switch *sw, struct ctl_ofconn *conn,
                 uint16_t object_id, const struct ctl_object_instance *insts,
                 size_t n)
{
    enum ofp_version version = ctl_ofconn_version(conn);
    struct ctl_group *g = ctl_group_find(sw, object_id);
    struct ofpbuf *msg = NULL;
    size_t ops = 0;

    if (!g) {
        struct ctl_group *groups = realloc(sw->groups, (sw->n_groups + 1)
                                                       * sizeof *groups);
        if (!groups) {
            return 0;
        }
        sw->groups = groups;
        g = &sw->groups[sw->n_groups];
        memset(g, 0, sizeof *g);
        g->object_id = object_id;
        g->next_bucket_id = 1;
    }
    uint32_t *removed, next = g->next_bucket_id;
    struct ctl_object_bucket *added;
    size_t n_removed, n_added;
    int rc = ctl_object_diff(g->buckets, g->n_buckets, insts, n, &next,
                             &removed, &n_removed, &added, &n_added);
    if (rc) {
        VLOG_WARN("%s: group %u: %s", ctl_ofconn_name(conn), object_id,
                  strerror(-rc));
        return 0;
    }
    struct ctl_object_bucket *list = calloc(g->n_buckets + n_added + 1,
                                            sizeof *list);
    if (!list) {
        free(removed);
        free(added);
        return 0;
    }
    size_t n_list = 0;
    for (size_t i = 0; i < g->n_buckets; i++) {
        bool gone = false;
        for (size_t j = 0; j < n_removed; j++) {
            gone |= removed[j] == g->buckets[i].bucket_id;
        }
        if (!gone) {
            list[n_list++] = g->buckets[i];
        }
    }
    memcpy(&list[n_list], added, n_added * sizeof *added);
    n_list += n_added;

    if (g == &sw->groups[sw->n_groups]) {
        /* New group: all its buckets at once. */
        sw->n_groups++;
        rc = ctl_object_encode_add(version, object_id, list, n_list, &msg);
        ctl_group_send(conn, rc, msg, "add", object_id, &ops);
    } else {
        for (size_t j = 0; j < n_removed; j++) {
            rc = ctl_object_encode_remove(version, object_id, removed[j],
                                          &msg);
            ctl_group_send(conn, rc, msg, "remove-buckets", object_id, &ops);
        }
        if (n_added) {
            rc = ctl_object_encode_insert(version, object_id, added,
                                          n_added, &msg);
            ctl_group_send(conn, rc, msg, "insert-buckets", object_id,
                           &ops);
        }
    }
    if (ops) {
        VLOG_INFO("%s: group %u: %zu buckets (%zu inserted, %zu removed)",
                  ctl_ofconn_name(conn), object_id, n_list, n_added,
                  n_removed);
    }
    free(g->buckets);
    g->buckets = list;
    g->n_buckets = n_list;
    g->next_bucket_id = next;
    free(removed);
    free(added);
    return ops;
}

/* Deletes the groups of 'sw' whose object has no instance in 'objects'
 * ('n' objectIDs) any more.  Returns the number of group mods sent. */
static size_t
ctl_groups_prune(struct ctl_switch *sw, struct ctl_ofconn *conn,
                 const uint16_t *objects, size_t n)
{
    size_t ops = 0;

    for (size_t i = 0; i < sw->n_groups; ) {
        struct ctl_group *g = &sw->groups[i];
        bool wanted = false;
        for (size_t j = 0; j < n; j++) {
            wanted |= objects[j] == g->object_id;
        }
        if (wanted) {
            i++;
            continue;
        }
        struct ofpbuf *msg = NULL;
        int rc = ctl_object_encode_delete(ctl_ofconn_version(conn),
                                          g->object_id, &msg);
        ctl_group_send(conn, rc, msg, "delete", g->object_id, &ops);
        VLOG_INFO("%s: group %u deleted (no live instance)",
                  ctl_ofconn_name(conn), g->object_id);
        free(g->buckets);
        sw->groups[i] = sw->groups[--sw->n_groups];
    }
    return ops;
}

/* Deletes every group of object router 'sw' (OpenFlow 1.5) and forgets
 * them. */
static void
ctl_groups_flush(struct ctl_switch *sw, struct ctl_ofconn *conn)
{
    struct ofpbuf *msg;

    if (!ctl_object_encode_delete(ctl_ofconn_version(conn), OFPG_ALL,
                                  &msg)) {
        ctl_ofconn_send(conn, msg, NULL);
    }
    ctl_switch_groups_clear(sw);
}

static void
ctl_rr_probed(struct ctl_ofconn *conn, int status, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_switch *sw = ctl_switch_find(peer->ctl, ctl_ofconn_dpid(conn));

    if (status || !sw || sw->peer != peer || !sw->rr_probing) {
        return;
    }
    sw->rr_probing = false;
    if (sw->resolve == CTL_RESOLVE_NONE) {
        sw->resolve = CTL_RESOLVE_GROUP;
        VLOG_INFO("%s: object router with selection_method=round_robin: "
                  "resolving in select groups", ctl_ofconn_name(conn));
        ctl_schedule_sync(peer->ctl);
    }
}

/* Learns how object router 'sw' can resolve: OpenFlow 1.5 switches get a
 * probe (add, then delete, an empty round_robin group; a stock switch
 * refuses it with OFPBPC_BAD_VALUE, see ctl_peer_error()), OpenFlow 1.3
 * ones cannot carry the method and resolve in the controller. */
static void
ctl_rr_probe(struct ctl_switch *sw, struct ctl_ofconn *conn)
{
    enum ofp_version version = ctl_ofconn_version(conn);
    struct ofpbuf *msg;

    if (sw->resolve != CTL_RESOLVE_NONE || sw->rr_probing) {
        return;
    }
    if (version == OFP13_VERSION) {
        sw->resolve = CTL_RESOLVE_CONTROLLER;
        VLOG_WARN("%s: object router speaks OpenFlow 1.3, which cannot "
                  "carry selection_method=round_robin: resolving in the "
                  "controller", ctl_ofconn_name(conn));
        return;
    }
    if (version != OFP15_VERSION) {
        VLOG_WARN_RL(&ctl_rl, "%s: object router needs OpenFlow 1.3 or "
                     "1.5: no object resolution", ctl_ofconn_name(conn));
        return;
    }
    if (!ctl_object_encode_add(version, CTL_OBJECT_PROBE_GROUP, NULL, 0,
                               &msg)) {
        ctl_ofconn_send(conn, msg, NULL);
    }
    if (!ctl_object_encode_delete(version, CTL_OBJECT_PROBE_GROUP, &msg)) {
        ctl_ofconn_send(conn, msg, NULL);
    }
    sw->rr_probing = true;
    if (ctl_ofconn_barrier(conn, ctl_rr_probed, sw->peer)) {
        sw->rr_probing = false;
    }
}

/* Adopts the groups read from object router 'sw' at connect: the
 * round-robin groups of objects become the controller's view of the switch
 * (so that ctl_group_update() changes only buckets that differ and an
 * unchanged group, with its sticky assignments, is left alone); any other
 * group is deleted.  Returns the number of group mods sent. */
static size_t
ctl_switch_adopt_groups(struct ctl_switch *sw, struct ctl_ofconn *conn)
{
    enum ofp_version version = ctl_ofconn_version(conn);
    size_t ops = 0, adopted = 0;

    ctl_switch_groups_clear(sw);
    for (size_t i = 0; i < sw->rx_groups.n; i++) {
        struct ctl_reconcile_group *rg = &sw->rx_groups.groups[i];
        struct ctl_group *groups;

        if (sw->resolve == CTL_RESOLVE_GROUP && rg->round_robin
            && rg->group_id && rg->group_id <= UINT16_MAX
            && (groups = realloc(sw->groups, (sw->n_groups + 1)
                                             * sizeof *groups))) {
            struct ctl_group *g = &groups[sw->n_groups++];
            sw->groups = groups;
            g->object_id = rg->group_id;
            g->buckets = rg->buckets;
            g->n_buckets = rg->n_buckets;
            g->next_bucket_id = 1;
            for (size_t j = 0; j < g->n_buckets; j++) {
                if (g->buckets[j].bucket_id >= g->next_bucket_id) {
                    g->next_bucket_id = g->buckets[j].bucket_id + 1;
                }
            }
            rg->buckets = NULL;
            rg->n_buckets = 0;
            adopted++;
            continue;
        }
        struct ofpbuf *msg;
        int rc = ctl_object_encode_delete(version, rg->group_id, &msg);
        ctl_group_send(conn, rc, msg, "delete (stale)", rg->group_id, &ops);
    }
    if (sw->rx_groups.n) {
        VLOG_INFO("%s: read back %zu groups: %zu kept, %zu deleted",
                  ctl_ofconn_name(conn), sw->rx_groups.n, adopted, ops);
    }
    ctl_reconcile_groups_clear(&sw->rx_groups);
    return ops;
}

/* Adopts the flows read from 'sw' at connect against the rules it should
 * have now ('want', 'n_want'): identical flows become 'sw->installed' (and
 * are not touched); the caller's diff then adds what is missing.  Flows of
 * ours that are not wanted yet become suspects: right after a restart the
 * topology is still being rediscovered, so transit and route rules that
 * will be wanted again in a moment must not be deleted now.  Suspects are
 * adopted as soon as they are wanted and deleted when the topology has
 * settled (ctl_switch_settle()).  Transient flows are left to expire. */
static void
ctl_switch_adopt_flows(struct ctl_switch *sw, struct ctl_ofconn *conn,
                       const struct ctl_rule *want, size_t n_want)
{
    struct ctl_controller *ctl = sw->peer->ctl;
    enum ofp_version version = ctl_ofconn_version(conn);
    struct ctl_reconcile_flows *rx = &sw->rx_flows;
    long *found = calloc(n_want + 1, sizeof *found);
    bool *keep = calloc(rx->n + 1, sizeof *keep);
    struct ctl_rule *installed = calloc(n_want + 1, sizeof *installed);
    size_t n_installed = 0, n_read = rx->n;

    ctl_reconcile_flows_clear(&sw->suspect);
    if (!found || !keep || !installed
        || ctl_reconcile_diff(want, n_want, version, rx->flows, rx->n,
                              found, keep)) {
        /* Out of memory: fall back to deleting every flow of ours. */
        VLOG_WARN("%s: cannot compare flows, replacing all of ours",
                  ctl_ofconn_name(conn));
        ctl_ofconn_send(conn, ctl_rules_encode_flush(version), NULL);
        free(installed);
        installed = NULL;
    } else {
        for (size_t i = 0; i < n_want; i++) {
            if (found[i] >= 0) {
                installed[n_installed++] = want[i];
            }
        }
        for (size_t j = 0; j < rx->n; j++) {
            keep[j] = !keep[j];
        }
        if (ctl_reconcile_flows_take(&sw->suspect, rx, keep)) {
            ctl_ofconn_send(conn, ctl_rules_encode_flush(version), NULL);
            n_installed = 0;
        }
        sw->settle_ms = uv_now(ctl->loop) + ctl->cfg.link_timeout_ms;
        VLOG_INFO("%s: read back %zu flows of ours: %zu kept, %zu not "
                  "wanted yet, %zu missing", ctl_ofconn_name(conn), n_read,
                  n_installed, sw->suspect.n, n_want - n_installed);
    }
    free(sw->installed);
    sw->installed = installed;
    sw->n_installed = n_installed;
    ctl_reconcile_flows_move(&sw->stats, rx);
    sw->stats_ms = uv_now(ctl->loop);
    free(found);
    free(keep);
}

/* Adopts the suspects of 'sw' (ctl_switch_adopt_flows()) that the rules
 * it should have now ('want', 'n_want') contain, so that the caller's diff
 * does not add them again; once the topology has settled, deletes the
 * rest.  Returns the number of flows deleted. */
static size_t
ctl_switch_settle(struct ctl_switch *sw, struct ctl_ofconn *conn,
                  const struct ctl_rule *want, size_t n_want)
{
    struct ctl_controller *ctl = sw->peer->ctl;
    enum ofp_version version = ctl_ofconn_version(conn);
    struct ctl_reconcile_flows *sus = &sw->suspect;
    long *found = calloc(n_want + 1, sizeof *found);
    bool *keep = calloc(sus->n + 1, sizeof *keep);
    struct ctl_rule *installed = realloc(sw->installed,
                                         (sw->n_installed + n_want + 1)
                                         * sizeof *installed);
    size_t adopted = 0, removed = 0;

    if (installed) {
        sw->installed = installed;
    }
    if (!found || !keep || !installed
        || ctl_reconcile_diff(want, n_want, version, sus->flows, sus->n,
                              found, keep)) {
        free(found);
        free(keep);
        return 0;
    }
    for (size_t i = 0; i < n_want; i++) {
        if (found[i] >= 0
            && !ctl_rule_in(&want[i], sw->installed, sw->n_installed)) {
            sw->installed[sw->n_installed++] = want[i];
            adopted++;
        }
    }
    bool settled = uv_now(ctl->loop) >= sw->settle_ms;
    for (size_t j = 0; j < sus->n; j++) {
        struct ofpbuf *msg;
        if (!keep[j] && settled
            && !ctl_reconcile_encode_delete(&sus->flows[j], version, &msg)) {
            ctl_ofconn_send(conn, msg, NULL);
            removed++;
        }
        keep[j] = keep[j] || settled;
    }
    struct ctl_reconcile_flows gone = { NULL, 0, 0 };
    if (!ctl_reconcile_flows_take(&gone, sus, keep)) {
        ctl_reconcile_flows_clear(&gone);
    }
    if (settled || adopted) {
        VLOG_INFO("%s: read-back flows: %zu adopted as wanted, %zu stale "
                  "deleted%s", ctl_ofconn_name(conn), adopted, removed,
                  settled ? " (topology settled)" : "");
    }
    free(found);
    free(keep);
    return removed;
}

/* Brings switch 'sw' from the rules it has to the rules it should have
 * (computed from 'view'): deletes what is no longer wanted, adds what is
 * new, then a barrier. */
static void
ctl_switch_sync(struct ctl_controller *ctl, struct ctl_switch *sw,
                const struct ctl_view *view, uint64_t change_ns)
{
    struct ctl_ofconn *conn = sw->peer ? sw->peer->conn : NULL;
    struct ctl_rule *want;
    size_t n_want, added = 0, removed = 0;

    if (!conn || !ctl_ofconn_is_ready(conn) || sw->reading) {
        return;
    }
    enum ofp_version version = ctl_ofconn_version(conn);
    struct ctl_object_instance *insts = NULL;
    uint16_t *objects = NULL;
    size_t n_insts = 0, n_objects = 0, group_ops = 0;
    if (sw->have_read) {
        group_ops += ctl_switch_adopt_groups(sw, conn);
    }
    if (sw->role == CTL_ROLE_OBJECT) {
        ctl_rr_probe(sw, conn);
        ctl_load_instances(ctl, &insts, &n_insts);
        objects = calloc(n_insts + 1, sizeof *objects);
        for (size_t i = 0; objects && i < n_insts; ) {
            size_t j = i;
            while (j < n_insts && insts[j].object_id == insts[i].object_id) {
                j++;
            }
            objects[n_objects++] = insts[i].object_id;
            if (sw->resolve == CTL_RESOLVE_GROUP) {
                /* Groups before the flows that use them. */
                group_ops += ctl_group_update(sw, conn, insts[i].object_id,
                                              &insts[i], j - i);
            }
            i = j;
        }
    } else if (sw->n_groups) {
        ctl_groups_flush(sw, conn);
    }
    struct ctl_rules_input in = {
        .topo = ctl->topo,
        .ss_ids = ctl->ss_ids,
        .n_ss_ids = ctl->n_ss_ids,
        .object_router = ctl_object_router(ctl),
        .router_mac = { 0x02, 0x5c, 0x00, 0x00, 0x00, ctl->cfg.ssid },
        .l2_learning = ctl->cfg.l2_learning,
        .hosts = view->hosts,
        .n_hosts = view->n_hosts,
        .blocks = view->blocks,
        .n_blocks = view->n_blocks,
        .resolve = sw->resolve,
        .objects = objects,
        .n_objects = n_objects,
    };
    int rc = ctl_rules_switch(&in, sw->dpid, sw->role, version, &want,
                              &n_want);
    if (rc) {
        VLOG_WARN("%s: rule generation failed: %s", ctl_ofconn_name(conn),
                  strerror(-rc));
        free(insts);
        free(objects);
        return;
    }
    if (sw->have_read) {
        sw->have_read = false;
        ctl_switch_adopt_flows(sw, conn, want, n_want);
    }
    if (sw->suspect.n) {
        removed += ctl_switch_settle(sw, conn, want, n_want);
    }
    struct ctl_rule_index want_ix, have_ix;
    ctl_rule_index_init(&want_ix, want, n_want);
    ctl_rule_index_init(&have_ix, sw->installed, sw->n_installed);
    for (size_t i = 0; i < sw->n_installed; i++) {
        struct ofpbuf *msg;
        if (!ctl_rule_index_has(&want_ix, &sw->installed[i])
            && !ctl_rule_encode_delete(&sw->installed[i], version, &msg)) {
            ctl_ofconn_send(conn, msg, NULL);
            removed++;
        }
    }
    size_t n_deferred = 0;
    for (size_t i = 0; i < n_want; i++) {
        struct ofpbuf *msg;
        if (ctl_rule_index_has(&have_ix, &want[i])) {
            continue;
        }
        if (sw->suspect.n
            && ctl_reconcile_find_same_match(&want[i], version,
                                             sw->suspect.flows,
                                             sw->suspect.n) >= 0) {
            /* It would overwrite a read-back flow that the settling
             * topology may still want as it is: not before it settles. */
            char buf[256];
            ctl_rule_format(&want[i], buf, sizeof buf);
            VLOG_INFO("%s: held back until the topology settles: %s",
                      ctl_ofconn_name(conn), buf);
            want[i].table = CTL_RULE_DEFERRED;
            n_deferred++;
            continue;
        }
        rc = ctl_rule_encode(&want[i], version, &msg);
        if (rc) {
            char buf[256];
            ctl_rule_format(&want[i], buf, sizeof buf);
            VLOG_WARN("%s: cannot encode %s: %s", ctl_ofconn_name(conn), buf,
                      strerror(-rc));
            continue;
        }
        ctl_ofconn_send(conn, msg, NULL);
        added++;
    }
    ctl_rule_index_destroy(&want_ix);
    ctl_rule_index_destroy(&have_ix);
    if (sw->resolve == CTL_RESOLVE_GROUP) {
        /* After the flows that used them. */
        group_ops += ctl_groups_prune(sw, conn, objects, n_objects);
    }
    free(insts);
    free(objects);
    if (n_deferred) {
        size_t k = 0;
        for (size_t i = 0; i < n_want; i++) {
            if (want[i].table != CTL_RULE_DEFERRED) {
                want[k++] = want[i];
            }
        }
        n_want = k;
    }
    free(sw->installed);
    sw->installed = want;
    sw->n_installed = n_want;
    if (added || removed) {
        VLOG_INFO("%s: rules synced: %zu added, %zu removed, %zu in place",
                  ctl_ofconn_name(conn), added, removed, n_want);
    }
    if (added || removed || group_ops || !sw->provisioned) {
        if (added || removed || group_ops) {
            sw->change_ns = change_ns;
        }
        if (ctl_ofconn_barrier(conn, ctl_provisioned, sw->peer)) {
            VLOG_WARN("%s: barrier failed", ctl_ofconn_name(conn));
        }
    }
}

static void
ctl_sync_all(uv_timer_t *timer)
{
    struct ctl_controller *ctl = timer->data;
    struct ctl_switch *sw;

    struct ctl_view view;
    uint64_t change_ns = ctl->change_ns;

    ctl->change_ns = 0;
    ctl_view_load(ctl, &view);
    ctl_walk_begin(ctl);
    /* Object routers first (group changes), then the others; then the
     * barriers of the held replies, behind every switch's changes. */
    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        if (sw->role == CTL_ROLE_OBJECT) {
            ctl_switch_sync(ctl, sw, &view, change_ns);
        }
    }
    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        if (sw->role != CTL_ROLE_OBJECT) {
            ctl_switch_sync(ctl, sw, &view, change_ns);
        }
    }
    ctl_held_attach(ctl);
    ctl_walk_end(ctl);
    ctl_view_free(&view);
}

/* Schedules a rule sync of every switch at the end of this loop iteration,
 * so that a burst of topology changes costs one sync. */
static void
ctl_schedule_sync(struct ctl_controller *ctl)
{
    if (!ctl->change_ns) {
        ctl->change_ns = uv_hrtime();
    }
    if (!ctl->stopping && !uv_is_active((uv_handle_t *) &ctl->sync_timer)) {
        uv_timer_start(&ctl->sync_timer, ctl_sync_all, 0, 0);
    }
}

/* The barrier behind the read-back of a (re)connected switch: every flow
 * stats and group description reply is in, so the switch is reconciled
 * (ctl_switch_sync() adopts what it read). */
static void
ctl_switch_read_done(struct ctl_ofconn *conn, int status, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_switch *sw = ctl_switch_find(peer->ctl, ctl_ofconn_dpid(conn));
    struct ctl_view view;

    if (status || !sw || sw->peer != peer || !sw->reading) {
        return;
    }
    sw->reading = false;
    sw->have_read = true;
    ctl_view_load(peer->ctl, &view);
    ctl_switch_sync(peer->ctl, sw, &view, 0);
    ctl_view_free(&view);
}

/* A (re)connected switch: what it holds is unknown, so it is read back
 * (our flows, and an object router's groups) and reconciled when the
 * barrier behind the requests comes back: identical rules and groups stay
 * untouched (no blackout, round-robin assignments survive), stale ones go,
 * missing ones are added.  An object router's round-robin probe goes
 * first, so that how it resolves is known when its groups are judged. */
static void
ctl_switch_provision(struct ctl_switch *sw)
{
    struct ctl_ofconn *conn = sw->peer->conn;
    enum ofp_version version = ctl_ofconn_version(conn);

    free(sw->installed);
    sw->installed = NULL;
    sw->n_installed = 0;
    ctl_switch_groups_clear(sw);
    ctl_reconcile_flows_clear(&sw->rx_flows);
    ctl_reconcile_groups_clear(&sw->rx_groups);
    ctl_reconcile_flows_clear(&sw->suspect);
    sw->resolve = CTL_RESOLVE_NONE;
    sw->rr_probing = false;
    sw->have_read = false;
    sw->stats_pending = false;
    if (sw->role == CTL_ROLE_OBJECT) {
        ctl_rr_probe(sw, conn);
    }
    ctl_ofconn_send(conn, ctl_reconcile_encode_flow_request(version), NULL);
    if (sw->role == CTL_ROLE_OBJECT && version >= OFP11_VERSION) {
        ctl_ofconn_send(conn, ctl_reconcile_encode_group_request(version),
                        NULL);
    }
    sw->reading = true;
    if (ctl_ofconn_barrier(conn, ctl_switch_read_done, sw->peer)) {
        VLOG_WARN("%s: barrier failed", ctl_ofconn_name(conn));
        sw->reading = false;
    }
}

/* The barrier behind a flow stats refresh: the counters are complete. */
static void
ctl_switch_stats_done(struct ctl_ofconn *conn, int status, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_switch *sw = ctl_switch_find(peer->ctl, ctl_ofconn_dpid(conn));

    if (status || !sw || sw->peer != peer || !sw->stats_pending) {
        return;
    }
    sw->stats_pending = false;
    ctl_reconcile_flows_move(&sw->stats, &sw->rx_flows);
    sw->stats_ms = uv_now(peer->ctl->loop);
}

/* Asks 'sw' for the counters of our flows (one refresh at a time, not
 * while the connect read-back runs). */
static void
ctl_switch_stats_refresh(struct ctl_switch *sw)
{
    struct ctl_ofconn *conn = sw->peer ? sw->peer->conn : NULL;

    if (!conn || !ctl_ofconn_is_ready(conn) || sw->reading
        || sw->have_read || sw->stats_pending) {
        return;
    }
    ctl_reconcile_flows_clear(&sw->rx_flows);
    ctl_ofconn_send(conn,
                    ctl_reconcile_encode_flow_request(ctl_ofconn_version(conn)),
                    NULL);
    sw->stats_pending = true;
    if (ctl_ofconn_barrier(conn, ctl_switch_stats_done, sw->peer)) {
        sw->stats_pending = false;
    }
}

static void
ctl_peer_ready(struct ctl_ofconn *conn, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_controller *ctl = peer->ctl;
    uint64_t dpid = ctl_ofconn_dpid(conn);
    struct ctl_switch *sw = ctl_switch_find(ctl, dpid);

    if (peer->connector) {
        peer->connector->backoff_ms = 1000;
    }
    if (sw) {
        struct ctl_peer *old = sw->peer;
        VLOG_INFO("%s: replaces the switch's previous connection %s",
                  ctl_ofconn_name(conn),
                  old ? ctl_ofconn_peer(old->conn) : "(none)");
        sw->peer = NULL;
        if (old) {
            ctl_ofconn_close(old->conn);
        }
    } else {
        sw = calloc(1, sizeof *sw);
        if (!sw) {
            ctl_ofconn_close(conn);
            return;
        }
        sw->dpid = dpid;
        hmap_insert(&ctl->switches, &sw->node, ctl_dpid_hash(dpid));
    }
    sw->peer = peer;
    sw->role = ctl_config_role(&ctl->cfg, dpid);
    if (sw->role == CTL_ROLE_NONE && ctl->db) {
        /* Not configured: keep the role set earlier (sfctl set-role). */
        struct db_switch old;
        if (!db_switch_get(ctl->db, dpid, &old)) {
            sw->role = ctl_role_from_db(old.role);
        }
    }
    sw->provisioned = false;
    sw->ready_ms = uv_now(ctl->loop);

    ctl_topo_switch_add(ctl->topo, dpid);
    for (size_t i = 0; i < ctl_ofconn_n_ports(conn); i++) {
        const struct ctl_ofconn_port *p = ctl_ofconn_port_at(conn, i);
        ctl_topo_port_set(ctl->topo, dpid, p->port_no, p->up);
    }
    VLOG_INFO("%s: switch up, role %s", ctl_ofconn_name(conn),
              ctl_role_name(sw->role));
    ctl_db_switch_up(ctl, sw, conn);
    ctl_switch_provision(sw);
    ctl_schedule_sync(ctl);
    ctl_status_write(ctl);
}

/* Argument of ctl_link_lost(). */
struct ctl_link_lost_ctx {
    struct ctl_controller *ctl;
    const char *why;
};

static void
ctl_link_lost(const struct ctl_topo_link *l, void *ctx_)
{
    const struct ctl_link_lost_ctx *ctx = ctx_;

    VLOG_INFO("link %016"PRIx64":%"PRIu32" -> %016"PRIx64":%"PRIu32
              " lost (%s)", l->src_dpid, l->src_port, l->dst_dpid,
              l->dst_port, ctx->why);
    ctl_db_link(ctx->ctl, l, false, ctx->why);
}

static void
ctl_peer_port_changed(struct ctl_ofconn *conn,
                      const struct ctl_ofconn_port *port,
                      enum ofp_port_reason reason, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_controller *ctl = peer->ctl;
    uint64_t dpid = ctl_ofconn_dpid(conn);
    struct ctl_switch *sw = ctl_switch_find(ctl, dpid);
    const struct ctl_topo_link *l;

    if (!sw || sw->peer != peer) {
        return;
    }
    VLOG_INFO("%s: port %"PRIu32" (%s) %s, %s", ctl_ofconn_name(conn),
              port->port_no, port->name,
              reason == OFPPR_ADD ? "added"
              : reason == OFPPR_DELETE ? "deleted" : "modified",
              port->up ? "up" : "down");
    l = ctl_topo_link_from(ctl->topo, dpid, port->port_no);
    if (l && (reason == OFPPR_DELETE || !port->up)) {
        struct ctl_link_lost_ctx ctx = { ctl, "port down" };
        ctl_link_lost(l, &ctx);
    }
    if (reason == OFPPR_DELETE) {
        ctl_topo_port_remove(ctl->topo, dpid, port->port_no);
        if (ctl->db) {
            ctl_db_check(ctl, db_port_delete(ctl->db, dpid, port->port_no),
                         "port delete");
        }
    } else {
        ctl_topo_port_set(ctl->topo, dpid, port->port_no, port->up);
        ctl_db_port(ctl, dpid, port);
    }
    char subject[48];
    snprintf(subject, sizeof subject, "%016"PRIx64":%"PRIu32, dpid,
             port->port_no);
    ctl_db_event(ctl, "port.status", subject, "%s %s, %s",
                 reason == OFPPR_ADD ? "added"
                 : reason == OFPPR_DELETE ? "deleted" : "modified",
                 port->name, port->up ? "up" : "down");
    ctl_schedule_sync(ctl);
    ctl_status_write(ctl);
}

static void ctl_packet_out(struct ctl_ofconn *, uint32_t port,
                           const void *frame, size_t len);

/* ---- held control replies --------------------------------------------- */

static uint32_t
ctl_held_hash(const uint8_t mac[6], uint64_t id)
{
    uint64_t m = 0;

    memcpy(&m, mac, 6);
    return ctl_dpid_hash(m ^ (id * 0x9e3779b97f4a7c15ULL));
}

static struct ctl_held *
ctl_held_find(const struct ctl_controller *ctl, const uint8_t mac[6],
              uint64_t id)
{
    struct ctl_held *h;

    HMAP_FOR_EACH_WITH_HASH (h, node, ctl_held_hash(mac, id), &ctl->held) {
        if (h->id == id && !memcmp(h->mac, mac, 6)) {
            return h;
        }
    }
    return NULL;
}

/* Sends control reply 'frame' ('len' bytes) out of 'port' of 'conn', or
 * when 'conn' is NULL of label router 'dpid' if it is still connected,
 * and logs the time since the request ('start_ns', uv_hrtime()). */
static void
ctl_reply_send(struct ctl_controller *ctl, struct ctl_ofconn *conn,
               uint64_t dpid, uint32_t port, const void *frame, size_t len,
               uint64_t start_ns, uint64_t id, bool held)
{
    if (!conn) {
        struct ctl_switch *sw = ctl_switch_find(ctl, dpid);
        conn = sw && sw->peer ? sw->peer->conn : NULL;
    }
    if (!conn || !ctl_ofconn_is_ready(conn)) {
        VLOG_INFO_RL(&ctl_rl, "%016"PRIx64": port %"PRIu32": reply to "
                     "request %"PRIu64" dropped: switch gone (the host "
                     "retries)", dpid, port, id);
        return;
    }
    ctl_packet_out(conn, port, frame, len);
    VLOG_DBG("%s: port %"PRIu32": reply to request %"PRIu64" sent %.0f us "
             "after the request%s", ctl_ofconn_name(conn), port, id,
             (uv_hrtime() - start_ns) / 1e3,
             held ? " (held until the switches' barriers)" : "");
}

/* Sends held reply 'h' (unless the controller is stopping) and frees it. */
static void
ctl_held_release(struct ctl_controller *ctl, struct ctl_held *h)
{
    if (!ctl->stopping) {
        ctl_reply_send(ctl, NULL, h->dpid, h->port, h->frame, h->len,
                       h->start_ns, h->id, true);
    }
    hmap_remove(&ctl->held, &h->node);
    free(h);
}

/* Barrier callback of a batch of held replies: a reply goes out when the
 * last barrier it waits for completed.  A barrier that failed (switch
 * gone) counts as completed: the change is in db/ and is installed when
 * the switch reconnects. */
static void
ctl_held_barrier_done(struct ctl_ofconn *conn, int status, void *aux)
{
    struct ctl_held_batch *b = aux;

    if (status && !b->ctl->stopping) {
        VLOG_INFO("%s: gone before the barrier: %zu held control replies "
                  "sent anyway", ctl_ofconn_name(conn), b->n);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!--b->held[i]->n_waits) {
            ctl_held_release(b->ctl, b->held[i]);
        }
    }
    free(b);
}

/* True when a reply held with 'wait' (enum ctl_held_wait) and 'wait_dpid'
 * waits for the barrier of switch 'sw': it is one of those switches and
 * in sync (ready, not reading back). */
static bool
ctl_held_waits_on(unsigned int wait, uint64_t wait_dpid,
                  const struct ctl_switch *sw)
{
    if (!sw->peer || !ctl_ofconn_is_ready(sw->peer->conn) || sw->reading) {
        return false;
    }
    return (wait & CTL_HELD_ALL)
           || ((wait & CTL_HELD_SWITCH) && sw->dpid == wait_dpid)
           || ((wait & CTL_HELD_GROUPS) && sw->role == CTL_ROLE_OBJECT
               && sw->resolve == CTL_RESOLVE_GROUP);
}

/* True when some switch would confirm a reply held with 'wait' and
 * 'wait_dpid' (otherwise it goes out at once). */
static bool
ctl_held_wanted(const struct ctl_controller *ctl, unsigned int wait,
                uint64_t wait_dpid)
{
    const struct ctl_switch *sw;

    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        if (ctl_held_waits_on(wait, wait_dpid, sw)) {
            return true;
        }
    }
    return false;
}

/* Called by the sync after every switch got its changes: sends each
 * switch that some reply on 'held_new' waits for one barrier carrying
 * those replies.  A reply no barrier could carry goes out now. */
static void
ctl_held_attach(struct ctl_controller *ctl)
{
    struct ctl_switch *sw;
    struct ctl_held *h;
    size_t n = ovs_list_size(&ctl->held_new);

    if (!n) {
        return;
    }
    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        struct ctl_held_batch *b = NULL;
        LIST_FOR_EACH (h, list_node, &ctl->held_new) {
            if (!ctl_held_waits_on(h->wait, h->wait_dpid, sw)) {
                continue;
            }
            if (!b) {
                b = malloc(sizeof *b + n * sizeof *b->held);
                if (!b) {
                    break;
                }
                b->ctl = ctl;
                b->n = 0;
            }
            b->held[b->n++] = h;
        }
        if (!b) {
            continue;
        }
        if (ctl_ofconn_barrier(sw->peer->conn, ctl_held_barrier_done, b)) {
            free(b);
            continue;
        }
        for (size_t i = 0; i < b->n; i++) {
            b->held[i]->n_waits++;
        }
    }
    LIST_FOR_EACH_POP (h, list_node, &ctl->held_new) {
        if (!h->n_waits) {
            ctl_held_release(ctl, h);
        }
    }
}

/* Holds control reply 'frame' ('len' bytes) for request 'id' of host
 * 'mac' (at 'port' of 'dpid') until the barriers that the next sync sends
 * to the switches 'wait' and 'wait_dpid' name (ctl_held_waits_on()).
 * Returns 0, or -ENOMEM (the caller sends it now). */
static int
ctl_held_add(struct ctl_controller *ctl, const uint8_t mac[6], uint64_t id,
             uint64_t dpid, uint32_t port, const void *frame, size_t len,
             uint64_t start_ns, unsigned int wait, uint64_t wait_dpid)
{
    struct ctl_held *h = malloc(sizeof *h + len);

    if (!h) {
        return -ENOMEM;
    }
    memcpy(h->mac, mac, 6);
    h->id = id;
    h->dpid = dpid;
    h->port = port;
    h->start_ns = start_ns;
    h->wait = wait;
    h->wait_dpid = wait_dpid;
    h->n_waits = 0;
    h->len = len;
    memcpy(h->frame, frame, len);
    hmap_insert(&ctl->held, &h->node, ctl_held_hash(mac, id));
    ovs_list_push_back(&ctl->held_new, &h->list_node);
    return 0;
}

/* If 'frame' (from 'in_port' of 'conn') is a SCAFFOLD control datagram,
 * handles it (control.h), answers with a packet-out on the same port and
 * returns 0; returns -ENOENT for any other frame. */
static int
ctl_handle_control(struct ctl_controller *ctl, struct ctl_ofconn *conn,
                   uint32_t in_port, const void *frame, size_t len)
{
    uint64_t start_ns = uv_hrtime();
    struct sfp_frame f;
    enum sfp_error e = sfp_frame_decode(frame, len, &f);

    if (e != SFP_OK) {
        if (len >= 14 && ((const uint8_t *) frame)[12] == 0x08
            && ((const uint8_t *) frame)[13] == 0x00) {
            VLOG_DBG_RL(&ctl_rl, "%s: port %"PRIu32": not a SCAFFOLD frame: "
                        "%s", ctl_ofconn_name(conn), in_port,
                        sfp_strerror(e));
        }
        return -ENOENT;
    }
    if (f.dst_obj != SFP_OBJ_CONTROL || !sfp_hdr_is_datagram(&f.hdr)) {
        return -ENOENT;
    }
    if (!ctl->db) {
        VLOG_WARN_RL(&ctl_rl, "%s: control request dropped: no state store",
                     ctl_ofconn_name(conn));
        return 0;
    }

    struct ctl_control_config ccfg = {
        .ss_ids = ctl->ss_ids,
        .n_ss_ids = ctl->n_ss_ids,
        .host_block = ctl->cfg.host_block,
        .router_mac = { 0x02, 0x5c, 0x00, 0x00, 0x00, ctl->cfg.ssid },
        .lease_seconds = ctl->cfg.lease_ms / 1000,
        .keepalive_seconds = ctl->cfg.lease_ms / 3000,
        .epoch = ctl->epoch,
    };
    struct ctl_control_origin from = {
        .dpid = ctl_ofconn_dpid(conn),
        .port_no = in_port,
    };
    struct ctl_control_result res;
    memcpy(from.mac, f.eth_src, 6);
    int rc = ctl_control_handle(ctl->db, &ccfg, &from, f.payload,
                                f.payload_len, ctl_wall_ms(), &res);
    if (rc) {
        VLOG_WARN_RL(&ctl_rl, "%s: port %"PRIu32": control request failed: "
                     "%s (%s)", ctl_ofconn_name(conn), in_port,
                     strerror(-rc), db_errmsg(ctl->db));
        return 0;
    }
    VLOG_INFO_RL(&ctl_rl, "%s: port %"PRIu32": host "
                 "%02x:%02x:%02x:%02x:%02x:%02x: %s", ctl_ofconn_name(conn),
                 in_port, f.eth_src[0], f.eth_src[1], f.eth_src[2],
                 f.eth_src[3], f.eth_src[4], f.eth_src[5], res.what);
    struct ctl_held *held = !res.instance_changed && !res.address_changed
                            && res.id
                            ? ctl_held_find(ctl, f.eth_src, res.id) : NULL;
    if (held) {
        /* A retry of a reply still held: the held reply answers it, from
         * where the host is now. */
        held->dpid = ctl_ofconn_dpid(conn);
        held->port = in_port;
        VLOG_DBG("%s: port %"PRIu32": retry of request %"PRIu64" while its "
                 "reply is held", ctl_ofconn_name(conn), in_port, res.id);
        free(res.reply);
        return 0;
    }

    struct sfp_frame out = {
        .src_flow = ((uint32_t) ctl->cfg.ssid << 24)
                    | ((uint32_t) SFP_HOST_CONTROLLER << 16),
        .dst_flow = res.reply_dst_flow,
        .src_obj = SFP_OBJ_CONTROL,
        .dst_obj = SFP_OBJ_CONTROL,
        .hdr = { .version = SFP_VERSION, .flags = SFP_F_DATA, .hlen = 5 },
        .payload = res.reply,
        .payload_len = res.reply_len,
    };
    memcpy(out.eth_dst, f.eth_src, 6);
    memcpy(out.eth_src, ccfg.router_mac, 6);
    /* Held until the rules behind the reply are in (docs/protocol.md
     * 5.5): a bind or unbind's group change on the object routers; a new
     * address's rules on the host's label router, or on every switch
     * when its hostID block is new (they all get the block's route). */
    unsigned int wait = 0;
    if (res.instance_changed) {
        wait |= CTL_HELD_GROUPS;
    }
    if (res.address_changed) {
        wait |= res.new_block ? CTL_HELD_ALL : CTL_HELD_SWITCH;
    }
    uint8_t buf[2048];
    size_t n = sfp_frame_encode(&out, buf, sizeof buf);
    if (!n || sfp_frame_check(&out) != SFP_OK) {
        VLOG_WARN_RL(&ctl_rl, "%s: cannot frame a %zu-byte control reply",
                     ctl_ofconn_name(conn), res.reply_len);
    } else if (!wait || !ctl_held_wanted(ctl, wait, from.dpid)
               || ctl_held_add(ctl, f.eth_src, res.id, from.dpid, in_port,
                               buf, n, start_ns, wait, from.dpid)) {
        ctl_reply_send(ctl, conn, ctl_ofconn_dpid(conn), in_port, buf, n,
                       start_ns, res.id, false);
    }
    free(res.reply);
    if (res.changed) {
        ctl_schedule_sync(ctl);
        if (ctl->rpc) {
            ctl_rpc_notify_event(ctl->rpc);
        }
    }
    return 0;
}

/* Fallback resolution on an object router without round-robin groups: if
 * 'frame' (from 'in_port' of 'conn') is an unresolved SCAFFOLD packet of
 * this domain, picks an instance of its objectID round robin and answers
 * with an exact 5-tuple flow plus a packet-out that resolve it (object.h),
 * and returns 0; -ENOENT for any other frame. */
static int
ctl_resolve_packet(struct ctl_controller *ctl, struct ctl_ofconn *conn,
                   uint32_t in_port, const void *frame, size_t len)
{
    struct sfp_frame f;

    if (sfp_frame_decode(frame, len, &f) != SFP_OK
        || !sfp_flowid_is_unresolved(f.dst_flow)
        || !ctl_serves(ctl, f.dst_flow >> 24)) {
        return -ENOENT;
    }
    struct ctl_object_instance *insts, *mine;
    size_t n_insts, n = 0;
    ctl_load_instances(ctl, &insts, &n_insts);
    for (mine = insts; mine && mine < insts + n_insts; mine++) {
        if (mine->object_id == f.dst_obj) {
            break;
        }
    }
    while (mine && mine + n < insts + n_insts
           && mine[n].object_id == f.dst_obj) {
        n++;
    }
    int i = ctl_object_rr_pick(mine, n, &ctl->rr_last[f.dst_obj]);
    if (i < 0) {
        VLOG_DBG_RL(&ctl_rl, "%s: port %"PRIu32": object %u has no live "
                    "instance: dropped", ctl_ofconn_name(conn), in_port,
                    f.dst_obj);
        free(insts);
        return 0;
    }
    uint32_t flow_id = mine[i].flow_id;
    free(insts);

    struct ctl_object_flow of = {
        .in_port = in_port,
        .nw_src = f.src_flow, .nw_dst = f.dst_flow,
        .tp_src = f.src_obj, .tp_dst = f.dst_obj,
    };
    struct ofpbuf *fm, *po;
    int rc = ctl_object_encode_resolved(ctl_ofconn_version(conn), &of,
                                        flow_id, frame, len, &fm, &po);
    if (rc) {
        VLOG_WARN_RL(&ctl_rl, "%s: cannot resolve object %u: %s",
                     ctl_ofconn_name(conn), f.dst_obj, strerror(-rc));
        return 0;
    }
    ctl_ofconn_send(conn, fm, NULL);
    ctl_ofconn_send(conn, po, NULL);
    VLOG_INFO_RL(&ctl_rl, "%s: port %"PRIu32": %u.%u.%u:%u -> object %u "
                 "resolved to %u.%u.%u (controller round robin)",
                 ctl_ofconn_name(conn), in_port, f.src_flow >> 24,
                 (f.src_flow >> 16) & 0xff, f.src_flow & 0xffff, f.src_obj,
                 f.dst_obj, flow_id >> 24, (flow_id >> 16) & 0xff,
                 flow_id & 0xffff);
    return 0;
}

/* --l2-learning: answers a packet-in of non-SCAFFOLD traffic on a label
 * router (l2.h). */
static void
ctl_l2_packet_in(struct ctl_switch *sw, struct ctl_ofconn *conn,
                 uint32_t in_port, uint32_t buffer_id, const void *frame,
                 size_t len)
{
    struct ofpbuf *fm, *po;

    if (!sw->l2) {
        sw->l2 = ctl_l2_create(CTL_L2_MAX_MACS);
        if (!sw->l2) {
            return;
        }
    }
    if (ctl_l2_answer(sw->l2, ctl_ofconn_version(conn), in_port, buffer_id,
                      frame, len, &fm, &po)) {
        VLOG_DBG_RL(&ctl_rl, "%s: runt packet-in (%zu bytes) ignored",
                    ctl_ofconn_name(conn), len);
        return;
    }
    if (fm) {
        ctl_ofconn_send(conn, fm, NULL);
    }
    if (po) {
        ctl_ofconn_send(conn, po, NULL);
    }
}

static void
ctl_handle_packet_in(struct ctl_peer *peer, const struct ofp_header *oh)
{
    struct ctl_controller *ctl = peer->ctl;
    struct ctl_ofconn *conn = peer->conn;
    struct ofputil_packet_in pin;
    struct ctl_switch *sw;
    struct ctl_probe probe;
    size_t total_len;
    uint32_t buffer_id;

    enum ofperr error = ofputil_decode_packet_in(oh, true, NULL, NULL, &pin,
                                                 &total_len, &buffer_id,
                                                 NULL);
    if (error) {
        VLOG_WARN_RL(&ctl_rl, "%s: bad packet-in: %s", ctl_ofconn_name(conn),
                     ofperr_get_name(error));
        return;
    }
    uint32_t in_port = (uint16_t) pin.flow_metadata.flow.in_port.ofp_port;
    if (!ctl_handle_control(ctl, conn, in_port, pin.packet, pin.packet_len)) {
        return;
    }
    sw = ctl_switch_find(ctl, ctl_ofconn_dpid(conn));
    if (sw && sw->role == CTL_ROLE_OBJECT
        && sw->resolve == CTL_RESOLVE_CONTROLLER && ctl->rr_last
        && !ctl_resolve_packet(ctl, conn, in_port, pin.packet,
                               pin.packet_len)) {
        return;
    }
    if (ctl_probe_decode(pin.packet, pin.packet_len, &probe)) {
        if (sw && ctl->cfg.l2_learning && sw->role != CTL_ROLE_OBJECT) {
            ctl_l2_packet_in(sw, conn, in_port, buffer_id, pin.packet,
                             pin.packet_len);
            return;
        }
        VLOG_DBG_RL(&ctl_rl, "%s: packet-in (%zu bytes) ignored",
                    ctl_ofconn_name(conn), pin.packet_len);
        return;
    }
    if (probe.instance != ctl->instance) {
        VLOG_WARN_RL(&ctl_rl, "%s: probe from another controller or forged "
                     "(instance %016"PRIx64") ignored",
                     ctl_ofconn_name(conn), probe.instance);
        return;
    }
    uint64_t dst = ctl_ofconn_dpid(conn);
    uint32_t dst_port = in_port;
    enum ctl_topo_change change;
    int rc = ctl_topo_link_seen(ctl->topo, probe.dpid, probe.port, dst,
                                dst_port, uv_now(ctl->loop), &change);
    if (rc) {
        VLOG_DBG_RL(&ctl_rl, "%s: probe from unknown switch %016"PRIx64,
                    ctl_ofconn_name(conn), probe.dpid);
        return;
    }
    if (change != CTL_TOPO_UNCHANGED) {
        VLOG_INFO("link %016"PRIx64":%"PRIu32" -> %016"PRIx64":%"PRIu32
                  " %s", probe.dpid, probe.port, dst, dst_port,
                  change == CTL_TOPO_ADDED ? "discovered" : "moved");
        ctl_db_link(ctl, ctl_topo_link_from(ctl->topo, probe.dpid,
                                            probe.port), true,
                    change == CTL_TOPO_ADDED ? NULL : "moved");
        ctl_schedule_sync(ctl);
        ctl_status_write(ctl);
    }
}

static void
ctl_peer_message(struct ctl_ofconn *conn, enum ofptype type,
                 const struct ofp_header *oh, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_switch *sw = ctl_switch_find(peer->ctl, ctl_ofconn_dpid(conn));

    if (!sw || sw->peer != peer) {
        return;
    }
    if (type == OFPTYPE_PACKET_IN) {
        ctl_handle_packet_in(peer, oh);
    } else if (type == OFPTYPE_FLOW_STATS_REPLY
               && (sw->reading || sw->stats_pending)) {
        int rc = ctl_reconcile_decode_flows(oh, &sw->rx_flows);
        if (rc) {
            VLOG_WARN_RL(&ctl_rl, "%s: flow stats reply: %s",
                         ctl_ofconn_name(conn), strerror(-rc));
        }
    } else if (type == OFPTYPE_GROUP_DESC_STATS_REPLY && sw->reading) {
        struct ctl_object_instance *insts;
        size_t n_insts;
        ctl_load_instances(peer->ctl, &insts, &n_insts);
        int rc = ctl_reconcile_decode_groups(oh, ctl_ofconn_version(conn),
                                             insts, n_insts,
                                             &sw->rx_groups);
        if (rc) {
            VLOG_WARN_RL(&ctl_rl, "%s: group description reply: %s",
                         ctl_ofconn_name(conn), strerror(-rc));
        }
        free(insts);
    }
}

/* An OFPT_ERROR (already logged by ofconn).  An object router that
 * refuses a group mod with OFPBPC_BAD_VALUE does not know
 * selection_method=round_robin (stock OVS): its groups go and the
 * controller resolves unresolved flows itself from then on. */
static void
ctl_peer_error(struct ctl_ofconn *conn, uint32_t xid, enum ofperr error,
               void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_controller *ctl = peer->ctl;
    struct ctl_switch *sw = ctl_switch_find(ctl, ctl_ofconn_dpid(conn));

    (void) xid;
    if (!sw || sw->peer != peer || sw->role != CTL_ROLE_OBJECT
        || error != OFPERR_OFPBPC_BAD_VALUE
        || sw->resolve == CTL_RESOLVE_CONTROLLER) {
        return;
    }
    VLOG_WARN("%s: object router refuses selection_method=round_robin "
              "(OFPBPC_BAD_VALUE: no ofproto-ext extension, stock OVS?): "
              "resolving unresolved flows in the controller",
              ctl_ofconn_name(conn));
    char subject[32];
    snprintf(subject, sizeof subject, "%016"PRIx64, sw->dpid);
    ctl_db_event(ctl, "switch.no_round_robin", subject,
                 "group mod refused with OFPBPC_BAD_VALUE; fallback to "
                 "controller resolution");
    sw->rr_probing = false;
    sw->resolve = CTL_RESOLVE_CONTROLLER;
    if (sw->n_groups) {
        ctl_groups_flush(sw, conn);
    }
    ctl_schedule_sync(ctl);
}

/* Walks over 'switches' that write to them: a write can close a
 * connection on the spot (ctl_ofconn fails it at once on a write error or
 * a backlog the switch does not read), and ctl_peer_closed() would then
 * free the switch under the walk's feet.  Inside a walk such a peer is
 * only marked; ctl_walk_end() forgets it (its ctl_ofconn lives until its
 * handles' close callbacks, after this callback of the loop). */
static void
ctl_walk_begin(struct ctl_controller *ctl)
{
    ctl->walking++;
}

static void ctl_peer_forget(struct ctl_peer *, int reason);

static void
ctl_walk_end(struct ctl_controller *ctl)
{
    struct ctl_peer *peer;

    if (--ctl->walking) {
        return;
    }
    LIST_FOR_EACH_SAFE (peer, node, &ctl->peers) {
        if (peer->closed) {
            ctl_peer_forget(peer, peer->closed_reason);
        }
    }
}

static void
ctl_peer_closed(struct ctl_ofconn *conn, int reason, void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_controller *ctl = peer->ctl;

    (void) conn;
    if (ctl->walking) {
        peer->closed = true;
        peer->closed_reason = reason;
        return;
    }
    ctl_peer_forget(peer, reason);
}

/* The connection of 'peer' closed ('reason'): its switch goes, and so
 * does 'peer'. */
static void
ctl_peer_forget(struct ctl_peer *peer, int reason)
{
    struct ctl_ofconn *conn = peer->conn;
    struct ctl_controller *ctl = peer->ctl;
    struct ctl_switch *sw = ctl_switch_find(ctl, ctl_ofconn_dpid(conn));

    if (sw && sw->peer == peer) {
        size_t before = ctl_topo_n_links(ctl->topo);
        VLOG_INFO("%s: switch down (%s)", ctl_ofconn_name(conn),
                  reason ? uv_strerror(reason) : "closed");
        if (ctl->db) {
            /* The links that touch the switch go with it. */
            struct ctl_topo_link *links = calloc(before + 1, sizeof *links);
            struct ctl_link_lost_ctx ctx = { ctl, "switch down" };
            size_t n = links ? ctl_topo_links(ctl->topo, links, before) : 0;
            for (size_t i = 0; i < n; i++) {
                if (links[i].src_dpid == sw->dpid
                    || links[i].dst_dpid == sw->dpid) {
                    ctl_db_link(ctl, &links[i], false, ctx.why);
                }
            }
            free(links);
            char subject[32];
            snprintf(subject, sizeof subject, "%016"PRIx64, sw->dpid);
            ctl_db_check(ctl, db_switch_set_connected(ctl->db, sw->dpid,
                                                      false, ctl_wall_ms()),
                         "switch disconnect");
            ctl_db_event(ctl, "switch.down", subject, "%s",
                         reason ? uv_strerror(reason) : "closed");
        }
        ctl_topo_switch_remove(ctl->topo, sw->dpid);
        if (before != ctl_topo_n_links(ctl->topo)) {
            VLOG_INFO("%s: %zu links removed with the switch",
                      ctl_ofconn_name(conn),
                      before - ctl_topo_n_links(ctl->topo));
        }
        hmap_remove(&ctl->switches, &sw->node);
        ctl_switch_free(sw);
        ctl_schedule_sync(ctl);
        ctl_status_write(ctl);
    }
    if (peer->connector) {
        peer->connector->peer = NULL;
        ctl_connector_retry(peer->connector);
    }
    ctl_peer_free(peer);
}

/* True when 'frame' ('len' bytes) may be SCAFFOLD control (IPv4, UDP,
 * destination port the control objectID) or a discovery probe: those
 * never take the L2 fast path. */
static bool
ctl_frame_is_special(const uint8_t *frame, size_t len)
{
    unsigned int type = (unsigned int) frame[12] << 8 | frame[13];

    if (type == CTL_PROBE_ETHERTYPE) {
        return true;
    }
    if (type != 0x0800) {
        return false;
    }
    if (len < 14 + 20) {
        return true;
    }
    size_t ihl = (frame[14] & 0xf) * 4;
    if (frame[14 + 9] != 17) {
        return false;
    }
    if (ihl < 20 || len < 14 + ihl + 4) {
        return true;
    }
    unsigned int dport = (unsigned int) frame[14 + ihl + 2] << 8
                         | frame[14 + ihl + 3];
    return dport == SFP_OBJ_CONTROL;
}

/* The L2 learning hot path (OpenFlow 1.0, --l2-learning): a buffered
 * packet-in for a known destination is answered from the switch's
 * flow-mod template into the read's output batch, without decoding it
 * through the generic path and without allocating.  Everything else
 * (other versions, control frames, probes, floods, object routers) goes
 * the ordinary way.  The packet-in's lengths are checked here: the
 * header's length is the message's (ofconn framed it). */
static bool
ctl_peer_packet_in(struct ctl_ofconn *conn, const struct ofp_header *oh,
                   void *aux)
{
    struct ctl_peer *peer = aux;
    struct ctl_controller *ctl = peer->ctl;
    size_t len = ntohs(oh->length);
    size_t hdr = sizeof *oh + offsetof(struct ofp10_packet_in, data);

    if (!ctl->cfg.l2_learning || oh->version != OFP10_VERSION
        || len < hdr + 14) {
        return false;
    }
    struct ctl_switch *sw = ctl_switch_find(ctl, ctl_ofconn_dpid(conn));
    if (!sw || sw->peer != peer || sw->role == CTL_ROLE_OBJECT) {
        return false;
    }
    const struct ofp10_packet_in *opi = (const void *) (oh + 1);
    const uint8_t *frame = (const uint8_t *) oh + hdr;
    size_t frame_len = len - hdr;
    if (ctl_frame_is_special(frame, frame_len)) {
        return false;
    }
    if (!sw->l2) {
        sw->l2 = ctl_l2_create(CTL_L2_MAX_MACS);
        if (!sw->l2) {
            return false;
        }
    }
    void *msg;
    size_t msg_len;
    if (ctl_l2_answer_fast(sw->l2, ntohs(opi->in_port),
                           ntohl(opi->buffer_id), frame, frame_len, &msg,
                           &msg_len)) {
        return false;
    }
    ctl_ofconn_send_raw(conn, msg, msg_len);
    return true;
}

static const struct ctl_ofconn_class ctl_peer_class = {
    .ready = ctl_peer_ready,
    .port_changed = ctl_peer_port_changed,
    .packet_in = ctl_peer_packet_in,
    .message = ctl_peer_message,
    .error = ctl_peer_error,
    .closed = ctl_peer_closed,
};

/* ---- discovery --------------------------------------------------------- */

/* Sends the 'len' bytes of 'frame' out of 'port' of 'conn'. */
static void
ctl_packet_out(struct ctl_ofconn *conn, uint32_t port, const void *frame,
               size_t len)
{
    uint64_t stub[64 / 8];
    struct ofpbuf ofpacts;

    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    ofpact_put_OUTPUT(&ofpacts)->port = OFP_PORT_C(port);

    struct ofputil_packet_out po = {
        .packet = frame,
        .packet_len = len,
        .buffer_id = UINT32_MAX,
        .ofpacts = ofpacts.data,
        .ofpacts_len = ofpacts.size,
    };
    match_init_catchall(&po.flow_metadata);
    match_set_in_port(&po.flow_metadata, OFPP_CONTROLLER);
    enum ofputil_protocol proto
        = ofputil_protocol_from_ofp_version(ctl_ofconn_version(conn));
    ctl_ofconn_send(conn, ofputil_encode_packet_out(&po, proto), NULL);
    ofpbuf_uninit(&ofpacts);
}

static void
ctl_send_probe(struct ctl_controller *ctl, struct ctl_ofconn *conn,
               const struct ctl_ofconn_port *port)
{
    struct ctl_probe probe = {
        .dpid = ctl_ofconn_dpid(conn),
        .port = port->port_no,
        .instance = ctl->instance,
    };
    uint8_t frame[CTL_PROBE_MAX_LEN];
    int len = ctl_probe_encode(&probe, port->hw_addr.ea, frame, sizeof frame);

    if (len > 0) {
        ctl_packet_out(conn, port->port_no, frame, len);
    }
}

static void
ctl_probe_tick(uv_timer_t *timer)
{
    struct ctl_controller *ctl = timer->data;
    struct ctl_switch *sw;

    ctl_walk_begin(ctl);
    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        struct ctl_ofconn *conn = sw->peer ? sw->peer->conn : NULL;
        if (!conn || !ctl_ofconn_is_ready(conn)) {
            continue;
        }
        for (size_t i = 0; i < ctl_ofconn_n_ports(conn); i++) {
            const struct ctl_ofconn_port *p = ctl_ofconn_port_at(conn, i);
            if (p->up && p->port_no < (uint16_t) OFPP_MAX) {
                ctl_send_probe(ctl, conn, p);
            }
        }
    }
    ctl_walk_end(ctl);
    struct ctl_link_lost_ctx ctx = { ctl, "probes timed out" };
    if (ctl_topo_expire(ctl->topo, uv_now(ctl->loop),
                        ctl->cfg.link_timeout_ms, ctl_link_lost, &ctx)) {
        ctl_schedule_sync(ctl);
        ctl_status_write(ctl);
    }
}

/* ---- leases ------------------------------------------------------------- */

/* Removes the hosts whose lease ran out (no keepalive in time), with
 * their instances; their rules and buckets go with the sync that
 * follows. */
static void
ctl_lease_tick(uv_timer_t *timer)
{
    struct ctl_controller *ctl = timer->data;
    struct db_host *hosts;
    size_t n;
    int64_t now = ctl_wall_ms();
    uint64_t loop_now = uv_now(ctl->loop);
    struct ctl_switch *sw;

    /* Counters of the rules, for the admin RPC: refreshed in the
     * background on the switches we program. */
    ctl_walk_begin(ctl);
    HMAP_FOR_EACH (sw, node, &ctl->switches) {
        if (sw->suspect.n && loop_now >= sw->settle_ms) {
            ctl_schedule_sync(ctl);
        }
        if (sw->role != CTL_ROLE_NONE
            && loop_now - sw->stats_ms >= CTL_STATS_INTERVAL_MS) {
            ctl_switch_stats_refresh(sw);
        }
    }
    ctl_walk_end(ctl);
    if (ctl->db) {
        /* Blocks without hosts go after a lease and a link timeout, so
         * that a host coming back (or a router reconnecting) finds its
         * block, and freeing one (which changes every switch) is rare. */
        size_t n_freed = 0;
        if (!ctl_db_check(ctl, db_block_expire(ctl->db, now,
                                               (int64_t) ctl->cfg.lease_ms
                                               + ctl->cfg.link_timeout_ms,
                                               &n_freed),
                          "block expire") && n_freed) {
            VLOG_INFO("%zu hostID blocks without hosts freed", n_freed);
            ctl_db_event(ctl, "block.free", "", "%zu blocks without hosts",
                         n_freed);
            ctl_schedule_sync(ctl);
        }
    }
    if (!ctl->db || ctl_db_check(ctl, db_host_list_expired(ctl->db, now,
                                                           &hosts, &n),
                                 "expired host list") || !n) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct db_host *h = &hosts[i];
        char subject[24];
        snprintf(subject, sizeof subject, "%02x:%02x:%02x:%02x:%02x:%02x",
                 h->mac[0], h->mac[1], h->mac[2], h->mac[3], h->mac[4],
                 h->mac[5]);
        if (ctl_db_check(ctl, db_host_delete(ctl->db, h->mac),
                         "host delete")) {
            continue;
        }
        VLOG_INFO("host %s (%u.%u) lease expired %"PRId64" ms ago: removed "
                  "with its instances", subject, h->ss_id, h->host_id,
                  now - h->lease_expiry);
        ctl_db_event(ctl, "host.expire", subject, "address %u.%u, lease "
                     "ran out", h->ss_id, h->host_id);
    }
    free(hosts);
    ctl_schedule_sync(ctl);
}

/* ---- status file ------------------------------------------------------- */

static const char *
ctl_version_name(enum ofp_version v)
{
    switch (v) {
    case OFP10_VERSION: return "OF1.0";
    case OFP11_VERSION: return "OF1.1";
    case OFP12_VERSION: return "OF1.2";
    case OFP13_VERSION: return "OF1.3";
    case OFP14_VERSION: return "OF1.4";
    case OFP15_VERSION: return "OF1.5";
    default: return "?";
    }
}

/* Rewrites the status file atomically (temporary file + rename). */
static void
ctl_status_write(struct ctl_controller *ctl)
{
    char tmp[sizeof ctl->status_path + 8];
    size_t n_sw = ctl_topo_n_switches(ctl->topo);
    size_t n_links = ctl_topo_n_links(ctl->topo);

    if (!ctl->status_path[0]) {
        return;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", ctl->status_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        VLOG_WARN_RL(&ctl_rl, "%s: %s", tmp, strerror(errno));
        return;
    }
    uint64_t *dpids = calloc(n_sw + 1, sizeof *dpids);
    struct ctl_topo_link *links = calloc(n_links + 1, sizeof *links);
    if (dpids && links) {
        ctl_topo_switches(ctl->topo, dpids, n_sw);
        ctl_topo_links(ctl->topo, links, n_links);
        fprintf(f, "pid %ld\nswitches %zu\n", (long) getpid(), n_sw);
        for (size_t i = 0; i < n_sw; i++) {
            const struct ctl_switch *sw = ctl_switch_find(ctl, dpids[i]);
            const struct ctl_ofconn *conn = sw && sw->peer ? sw->peer->conn
                                                           : NULL;
            fprintf(f, "switch %016"PRIx64" %s role=%s ports=%zu "
                    "provisioned=%s peer=%s\n", dpids[i],
                    conn ? ctl_version_name(ctl_ofconn_version(conn)) : "-",
                    ctl_role_name(sw ? sw->role : CTL_ROLE_NONE),
                    conn ? ctl_ofconn_n_ports(conn) : 0,
                    sw && sw->provisioned ? "yes" : "no",
                    conn ? ctl_ofconn_peer(conn) : "-");
        }
        fprintf(f, "links %zu\n", n_links);
        for (size_t i = 0; i < n_links; i++) {
            fprintf(f, "link %016"PRIx64":%"PRIu32" %016"PRIx64":%"PRIu32
                    "\n", links[i].src_dpid, links[i].src_port,
                    links[i].dst_dpid, links[i].dst_port);
        }
    }
    free(dpids);
    free(links);
    if (fclose(f) || rename(tmp, ctl->status_path)) {
        VLOG_WARN_RL(&ctl_rl, "%s: %s", ctl->status_path, strerror(errno));
    }
}

/* ---- admin RPC hooks (rpc.h) -------------------------------------------- */

static int
ctl_hook_set_role(void *aux, uint64_t dpid, enum db_role role)
{
    struct ctl_controller *ctl = aux;
    struct ctl_switch *sw = ctl_switch_find(ctl, dpid);
    enum ctl_role r = ctl_role_from_db(role);
    char subject[32];

    int rc = db_switch_set_role(ctl->db, dpid, role);
    if (rc) {
        return rc;
    }
    /* Also in the running configuration, so that a reconnect keeps it. */
    size_t i;
    for (i = 0; i < ctl->cfg.n_roles; i++) {
        if (ctl->cfg.roles[i].dpid == dpid) {
            break;
        }
    }
    if (i < CTL_CONFIG_MAX_ROLES) {
        ctl->cfg.roles[i].dpid = dpid;
        ctl->cfg.roles[i].role = r;
        if (i == ctl->cfg.n_roles) {
            ctl->cfg.n_roles++;
        }
    }
    if (sw) {
        sw->role = r;
    }
    snprintf(subject, sizeof subject, "%016"PRIx64, dpid);
    ctl_db_event(ctl, "switch.role", subject, "%s (admin)", ctl_role_name(r));
    VLOG_INFO("switch %s: role set to %s by the admin", subject,
              ctl_role_name(r));
    ctl_schedule_sync(ctl);
    ctl_status_write(ctl);
    return 0;
}

static int
ctl_hook_evict_host(void *aux, const uint8_t mac[DB_MAC_LEN])
{
    struct ctl_controller *ctl = aux;
    char subject[24];

    int rc = db_host_delete(ctl->db, mac);
    if (rc) {
        return rc;
    }
    snprintf(subject, sizeof subject, "%02x:%02x:%02x:%02x:%02x:%02x",
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    ctl_db_event(ctl, "host.evict", subject, "by the admin");
    VLOG_INFO("host %s evicted by the admin", subject);
    ctl_schedule_sync(ctl);
    return 0;
}

static int
ctl_hook_rules(void *aux, uint64_t dpid, struct ctl_rpc_rule **rules,
               size_t *n)
{
    struct ctl_controller *ctl = aux;
    struct ctl_switch *sw = ctl_switch_find(ctl, dpid);

    *rules = NULL;
    *n = 0;
    if (!sw) {
        return -ENOTCONN;
    }
    if (uv_now(ctl->loop) - sw->stats_ms >= CTL_STATS_FRESH_MS) {
        /* This answer has the last counters; the next one fresher. */
        ctl_switch_stats_refresh(sw);
    }
    if (!sw->n_installed) {
        return 0;
    }
    struct ctl_rpc_rule *out = calloc(sw->n_installed, sizeof *out);
    long *found = calloc(sw->n_installed, sizeof *found);
    bool *keep = calloc(sw->stats.n + 1, sizeof *keep);
    if (!out || !found || !keep) {
        free(out);
        free(found);
        free(keep);
        return -ENOMEM;
    }
    if (!sw->peer || ctl_reconcile_diff(sw->installed, sw->n_installed,
                                        ctl_ofconn_version(sw->peer->conn),
                                        sw->stats.flows, sw->stats.n,
                                        found, keep)) {
        memset(found, 0xff, sw->n_installed * sizeof *found);
    }
    for (size_t i = 0; i < sw->n_installed; i++) {
        const struct ctl_rule *r = &sw->installed[i];
        char match[256], actions[160];
        ctl_rule_format_parts(r, match, sizeof match, actions,
                              sizeof actions);
        out[i].table_id = r->table;
        out[i].priority = r->priority;
        out[i].cookie = r->cookie;
        out[i].match = strdup(match);
        out[i].actions = strdup(actions);
        if (found[i] >= 0) {
            const struct ctl_reconcile_flow *f = &sw->stats.flows[found[i]];
            out[i].n_packets = f->n_packets;
            out[i].n_bytes = f->n_bytes;
        }
    }
    free(found);
    free(keep);
    *rules = out;
    *n = sw->n_installed;
    return 0;
}

static int
ctl_hook_status(void *aux, struct ctl_rpc_status *st)
{
    struct ctl_controller *ctl = aux;

    snprintf(st->version, sizeof st->version, "scaffold-controller 0.1");
    st->epoch = ctl->epoch;
    st->ss_id = ctl->cfg.ssid;
    st->n_ss_ids = ctl->n_ss_ids;
    memcpy(st->ss_ids, ctl->ss_ids, ctl->n_ss_ids);
    st->host_block = ctl->cfg.host_block;
    st->started_ms = ctl->started_ms;
    return 0;
}

static int
ctl_hook_switch_info(void *aux, uint64_t dpid,
                     struct ctl_rpc_switch_info *info)
{
    struct ctl_controller *ctl = aux;
    struct ctl_switch *sw = ctl_switch_find(ctl, dpid);

    /* Known once the object router answered the probe group mod. */
    info->has_round_robin = sw && sw->resolve == CTL_RESOLVE_GROUP;
    return 0;
}

static const struct ctl_rpc_hooks ctl_rpc_hooks = {
    .set_role = ctl_hook_set_role,
    .evict_host = ctl_hook_evict_host,
    .rules = ctl_hook_rules,
    .status = ctl_hook_status,
    .switch_info = ctl_hook_switch_info,
};

/* ---- lifetime ---------------------------------------------------------- */

int
ctl_controller_create(uv_loop_t *loop, const struct ctl_config *cfg,
                      struct ctl_controller **ctlp)
{
    struct ctl_controller *ctl = calloc(1, sizeof *ctl);

    if (!ctl) {
        return -ENOMEM;
    }
    ctl->loop = loop;
    ctl->cfg = *cfg;
    ctl->n_ss_ids = ctl_config_ssids(&ctl->cfg, ctl->ss_ids,
                                     sizeof ctl->ss_ids);
    ovs_list_init(&ctl->peers);
    hmap_init(&ctl->switches);
    hmap_init(&ctl->held);
    ovs_list_init(&ctl->held_new);
    ctl->topo = ctl_topo_create();
    ctl->connectors = calloc(cfg->n_connect + 1, sizeof *ctl->connectors);
    if (!ctl->topo || !ctl->connectors) {
        ctl_topo_destroy(ctl->topo);
        free(ctl->connectors);
        hmap_destroy(&ctl->switches);
        free(ctl);
        return -ENOMEM;
    }
    if (getrandom(&ctl->instance, sizeof ctl->instance, 0)
        != sizeof ctl->instance) {
        ctl->instance = ((uint64_t) getpid() << 32) ^ uv_hrtime();
    }
    if (cfg->status_file[0]) {
        snprintf(ctl->status_path, sizeof ctl->status_path, "%s",
                 cfg->status_file);
    } else {
        snprintf(ctl->status_path, sizeof ctl->status_path, "%s/status",
                 cfg->state_dir);
    }
    snprintf(ctl->db_path, sizeof ctl->db_path, "%s/scaffold.db",
             cfg->state_dir);
    ctl->rr_last = calloc(UINT16_MAX + 1, sizeof *ctl->rr_last);
    *ctlp = ctl;
    return 0;
}

int
ctl_controller_start(struct ctl_controller *ctl)
{
    const struct ctl_config *cfg = &ctl->cfg;
    int rc;

    if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
        rc = -errno;
        VLOG_ERR("state directory %s: %s", cfg->state_dir, strerror(errno));
        return rc;
    }
    rc = ctl_db_open(ctl);
    if (rc) {
        return rc;
    }
    ctl->started_ms = ctl_wall_ms();
    rc = ctl_rpc_default_path(cfg->state_dir, ctl->rpc_path,
                              sizeof ctl->rpc_path);
    if (!rc) {
        struct ctl_rpc_config rcfg = {
            .unix_path = ctl->rpc_path,
            .tcp = cfg->admin_tcp[0] ? cfg->admin_tcp : NULL,
            .token = cfg->admin_token[0] ? cfg->admin_token : NULL,
            .db_path = ctl->db_path,
        };
        rc = ctl_rpc_server_create(ctl->loop, ctl->db, &rcfg, &ctl_rpc_hooks,
                                   ctl, &ctl->rpc);
    }
    if (!rc) {
        rc = ctl_rpc_server_start(ctl->rpc);
    }
    if (rc) {
        VLOG_ERR("admin RPC on %s: %s", ctl->rpc_path, strerror(-rc));
        return rc;
    }
    if (cfg->listen[0]) {
        struct sockaddr_storage ss;
        ctl_config_parse_target(cfg->listen, &ss);
        uv_tcp_init(ctl->loop, &ctl->server);
        ctl->server.data = ctl;
        ctl->listening = true;
        rc = uv_tcp_bind(&ctl->server, (struct sockaddr *) &ss, 0);
        if (!rc) {
            rc = uv_listen((uv_stream_t *) &ctl->server, 128, ctl_on_accept);
        }
        if (rc) {
            VLOG_ERR("listen on %s: %s", cfg->listen, uv_strerror(rc));
            return rc;
        }
        VLOG_INFO("listening on %s", cfg->listen);
    }
    for (size_t i = 0; i < cfg->n_connect; i++) {
        struct ctl_connector *c = &ctl->connectors[i];
        c->ctl = ctl;
        snprintf(c->target, sizeof c->target, "%s", cfg->connect[i]);
        ctl_config_parse_target(c->target, &c->ss);
        c->backoff_ms = 1000;
        uv_timer_init(ctl->loop, &c->retry);
        c->retry.data = c;
        ctl_connector_start(c);
    }
    uv_timer_init(ctl->loop, &ctl->sync_timer);
    ctl->sync_timer.data = ctl;
    uv_timer_init(ctl->loop, &ctl->probe_timer);
    ctl->probe_timer.data = ctl;
    uv_timer_start(&ctl->probe_timer, ctl_probe_tick, cfg->probe_interval_ms,
                   cfg->probe_interval_ms);
    uv_timer_init(ctl->loop, &ctl->lease_timer);
    ctl->lease_timer.data = ctl;
    uv_timer_start(&ctl->lease_timer, ctl_lease_tick, 1000, 1000);
    VLOG_INFO("controller started: ssid %u (%zu ssIDs served: %s), host "
              "block %u, instance %016"PRIx64", status %s", cfg->ssid,
              ctl->n_ss_ids, cfg->ssids_set ? cfg->ssids_text : "ssid",
              cfg->host_block, ctl->instance, ctl->status_path);
    ctl_status_write(ctl);
    return 0;
}

/* Closes every handle and connection.  uv_run() returns once libuv has
 * closed them. */
void
ctl_controller_stop(struct ctl_controller *ctl)
{
    struct ctl_peer *peer;

    if (ctl->stopping) {
        return;
    }
    ctl->stopping = true;
    if (ctl->rpc) {
        ctl_rpc_server_stop(ctl->rpc, NULL);
    }
    if (ctl->listening) {
        uv_close((uv_handle_t *) &ctl->server, NULL);
    }
    if (ctl->probe_timer.loop) {
        uv_close((uv_handle_t *) &ctl->probe_timer, NULL);
    }
    if (ctl->sync_timer.loop) {
        uv_close((uv_handle_t *) &ctl->sync_timer, NULL);
    }
    if (ctl->lease_timer.loop) {
        uv_close((uv_handle_t *) &ctl->lease_timer, NULL);
    }
    for (size_t i = 0; i < ctl->cfg.n_connect; i++) {
        if (ctl->connectors[i].ctl) {
            uv_close((uv_handle_t *) &ctl->connectors[i].retry, NULL);
        }
    }
    LIST_FOR_EACH_SAFE (peer, node, &ctl->peers) {
        ctl_ofconn_close(peer->conn);
    }
}

/* Frees 'ctl' after ctl_controller_stop() and uv_run().  Accepts NULL. */
void
ctl_controller_destroy(struct ctl_controller *ctl)
{
    struct ctl_switch *sw;

    if (!ctl) {
        return;
    }
    HMAP_FOR_EACH_POP (sw, node, &ctl->switches) {
        ctl_switch_free(sw);
    }
    hmap_destroy(&ctl->switches);
    struct ctl_held *h;
    HMAP_FOR_EACH_POP (h, node, &ctl->held) {
        free(h);
    }
    hmap_destroy(&ctl->held);
    ctl_topo_destroy(ctl->topo);
    ctl_rpc_server_destroy(ctl->rpc);
    db_close(ctl->db);
    free(ctl->connectors);
    free(ctl->rr_last);
    free(ctl);
}

const struct ctl_topo *
ctl_controller_topo(const struct ctl_controller *ctl)
{
    return ctl->topo;
}
