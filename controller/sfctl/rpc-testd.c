/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl-rpc-testd: the admin RPC server (controller/rpc.h) alone, for tests.
 *
 *   ctl-rpc-testd --db FILE --socket PATH [--tcp tcp:ADDR:PORT --token T]
 *                 [--poll-ms N] [-v]
 *       Serves FILE until SIGTERM/SIGINT.  Prints "ready" (and, with --tcp,
 *       "tcp-port N" first) on stdout once listening.  The hooks print one
 *       line per call on stdout ("hook set_role DPID ROLE", "hook evict MAC",
 *       "hook rules DPID") and act on the db: set_role changes the role,
 *       evict deletes the host.  Canned errors: a switch that is not
 *       connected answers set_role and rules with -ENOTCONN (UNAVAILABLE);
 *       a host named "sticky" cannot be evicted (-EBUSY).  Rules: two fixed
 *       rules for every connected switch.  Status: primary ssID 10, served
 *       ssIDs 10, 11, 12 and 20, hostID blocks of 16.
 *   ctl-rpc-testd --db FILE --seed
 *       Fills FILE with a fixed small network (through db/) and exits.
 *   ctl-rpc-testd --db FILE --event KIND SUBJECT DETAIL
 *       Appends one event to FILE and exits.
 *
 * Until the controller serves the RPC itself, this is what sfctl's system
 * test talks to.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/rpc.h"
#include "db/db.h"
#include "openvswitch/util.h"
#include "openvswitch/vlog.h"

/* The fixed clock of the seeded data: 2023-11-14 22:13:20 UTC. */
#define T0 1700000000000LL

struct testd {
    uv_loop_t loop;             /* The loop. */
    struct db *db;              /* The served file. */
    struct ctl_rpc_server *server; /* The server. */
    uv_signal_t sigterm, sigint; /* Stop signals. */
};

static int
hook_set_role(void *aux, uint64_t dpid, enum db_role role)
{
    struct testd *t = aux;
    struct db_switch sw;

    printf("hook set_role %016"PRIx64" %s\n", dpid, db_role_name(role));
    fflush(stdout);
    int rc = db_switch_get(t->db, dpid, &sw);
    if (rc) {
        return rc;
    }
    if (!sw.connected) {
        return -ENOTCONN;
    }
    return db_switch_set_role(t->db, dpid, role);
}

static int
hook_evict(void *aux, const uint8_t mac[DB_MAC_LEN])
{
    struct testd *t = aux;
    struct db_host h;

    printf("hook evict %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1],
           mac[2], mac[3], mac[4], mac[5]);
    fflush(stdout);
    int rc = db_host_get(t->db, mac, &h);
    if (rc) {
        return rc;
    }
    if (!strcmp(h.name, "sticky")) {
        return -EBUSY;
    }
    return db_host_delete(t->db, mac);
}

static int
hook_rules(void *aux, uint64_t dpid, struct ctl_rpc_rule **rules, size_t *n)
{
    struct testd *t = aux;
    struct db_switch sw;

    printf("hook rules %016"PRIx64"\n", dpid);
    fflush(stdout);
    int rc = db_switch_get(t->db, dpid, &sw);
    if (rc) {
        return rc;
    }
    if (!sw.connected) {
        return -ENOTCONN;
    }
    struct ctl_rpc_rule *r = calloc(2, sizeof *r);
    if (!r) {
        return -ENOMEM;
    }
    r[0] = (struct ctl_rpc_rule) {
        .table_id = 0, .priority = 100, .cookie = 0x5c00000000000001ULL,
        .match = strdup("udp,tp_dst=1"), .actions = strdup("CONTROLLER:65535"),
        .n_packets = 7, .n_bytes = 700,
    };
    r[1] = (struct ctl_rpc_rule) {
        .table_id = 1, .priority = 0, .cookie = 0x5c00000000000002ULL,
        .match = strdup(""), .actions = strdup("drop"),
    };
    *rules = r;
    *n = 2;
    return 0;
}

static int
hook_status(void *aux, struct ctl_rpc_status *st)
{
    static const uint8_t served[] = { 10, 11, 12, 20 };

    (void) aux;
    snprintf(st->version, sizeof st->version, "ctl-rpc-testd 0.1");
    st->epoch = 42;
    st->ss_id = 10;
    st->started_ms = T0;
    memcpy(st->ss_ids, served, sizeof served);
    st->n_ss_ids = sizeof served;
    st->host_block = 16;
    return 0;
}

static int
hook_switch_info(void *aux, uint64_t dpid, struct ctl_rpc_switch_info *info)
{
    struct testd *t = aux;
    struct db_switch sw;

    if (!db_switch_get(t->db, dpid, &sw) && sw.role == DB_ROLE_OBJECT) {
        info->has_round_robin = true;
    }
    return 0;
}

static int
check(struct db *db, int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "ctl-rpc-testd: %s: %s\n", what, db_errmsg(db));
    }
    return rc;
}

/* The fixed network: 2 label routers, 1 object router, 1 disconnected
 * switch, 4 links, 4 hosts (one "sticky"), 6 hostID blocks of sizes 1 to
 * 256 in served ssIDs 10-12 (with and without hosts, one empty since a
 * time), 3 objects (one without instances), 3 instances, 3 events. */
static int
seed(struct db *db)
{
    static const struct db_switch switches[] = {
        { 1, "lr1", DB_ROLE_LABEL, 4, true, T0 + 1000 },
        { 2, "lr2", DB_ROLE_LABEL, 4, true, T0 + 2000 },
        { 3, "or1", DB_ROLE_OBJECT, 6, true, T0 + 3000 },
        { 0xfedcba9876543210ULL, "old", DB_ROLE_UNKNOWN, 0, false, 0 },
    };
    static const struct db_link links[] = {
        { 1, 1, 2, 1, T0 + 10 }, { 2, 1, 1, 1, T0 + 11 },
        { 1, 2, 3, 1, T0 + 12 }, { 3, 1, 1, 2, T0 + 13 },
    };
    static const struct db_host hosts[] = {
        { {2, 0, 0, 0, 0, 1}, 10, 1, 1, 3, T0 + 60000, T0 + 100, 0, "h1" },
        { {2, 0, 0, 0, 0, 2}, 10, 2, 2, 3, T0 + 60000, T0 + 200, 0, "h2" },
        { {2, 0, 0, 0, 0, 3}, 10, 3, 2, 4, T0 + 60000, T0 + 300, T0 + 900,
          "h3" },
        { {2, 0, 0, 0, 0, 4}, 10, 4, 1, 4, T0 + 60000, T0 + 400, 0,
          "sticky" },
    };
    static const struct db_block blocks[] = {
        { 10, 0, 2, 1, T0 + 100, 0, 0 },
        { 10, 2, 2, 2, T0 + 200, 0, 0 },
        { 10, 4, 4, 1, T0 + 400, 0, 0 },
        { 10, 16, 16, 2, T0 + 800, T0 + 5000, 0 },
        { 11, 5, 1, 2, T0 + 900, 0, 0 },
        { 12, 0, 256, 1, T0 + 1000, T0 + 6000, 0 },
    };
    static const struct db_object objects[] = {
        { 80, "web", T0, 0 }, { 53, "dns", T0, 0 }, { 99, "idle", T0, 0 },
    };
    static const struct db_instance instances[] = {
        { 80, {2, 0, 0, 0, 0, 1}, 100, T0 + 500, 0, 0, 0 },
        { 80, {2, 0, 0, 0, 0, 2}, 200, T0 + 600, 0, 0, 0 },
        { 53, {2, 0, 0, 0, 0, 3}, 7, T0 + 700, 0, 0, 0 },
    };
    int rc = check(db, db_begin(db), "begin");
    for (size_t i = 0; !rc && i < sizeof switches / sizeof *switches; i++) {
        rc = check(db, db_switch_upsert(db, &switches[i]), "switch");
        for (uint32_t p = 1; !rc && p <= 4 && switches[i].connected; p++) {
            struct db_port port = { switches[i].dpid, p, "", {0}, p != 4 };
            snprintf(port.name, sizeof port.name, "%s-p%"PRIu32,
                     switches[i].name, p);
            port.mac[0] = 2;
            port.mac[4] = (uint8_t) switches[i].dpid;
            port.mac[5] = (uint8_t) p;
            rc = check(db, db_port_upsert(db, &port), "port");
        }
    }
    for (size_t i = 0; !rc && i < sizeof links / sizeof *links; i++) {
        rc = check(db, db_link_upsert(db, &links[i]), "link");
    }
    for (size_t i = 0; !rc && i < sizeof hosts / sizeof *hosts; i++) {
        rc = check(db, db_host_upsert(db, &hosts[i]), "host");
    }
    for (size_t i = 0; !rc && i < sizeof blocks / sizeof *blocks; i++) {
        rc = check(db, db_block_add(db, &blocks[i]), "block");
    }
    for (size_t i = 0; !rc && i < sizeof objects / sizeof *objects; i++) {
        rc = check(db, db_object_upsert(db, &objects[i]), "object");
    }
    for (size_t i = 0; !rc && i < sizeof instances / sizeof *instances;
         i++) {
        rc = check(db, db_instance_add(db, &instances[i]), "instance");
    }
    if (!rc) {
        rc = check(db, db_event_append(db, T0, "controller.start", "",
                                       "seeded", NULL), "event");
    }
    if (!rc) {
        rc = check(db, db_event_append(db, T0 + 1, "switch.up",
                                       "0000000000000001", "OF1.3", NULL),
                   "event");
    }
    if (!rc) {
        rc = check(db, db_event_append(db, T0 + 2, "host.join",
                                       "02:00:00:00:00:01", "10.1", NULL),
                   "event");
    }
    if (rc) {
        db_rollback(db);
        return rc;
    }
    return check(db, db_commit(db), "commit");
}

static void
on_stopped(struct ctl_rpc_server *server, void *aux)
{
    struct testd *t = aux;

    (void) server;
    uv_close((uv_handle_t *) &t->sigterm, NULL);
    uv_close((uv_handle_t *) &t->sigint, NULL);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
    struct testd *t = sig->data;

    (void) signum;
    ctl_rpc_server_stop(t->server, on_stopped);
}

static void
usage(void)
{
    printf("usage: ctl-rpc-testd --db FILE --socket PATH "
           "[--tcp tcp:ADDR:PORT --token T] [--poll-ms N] [-v]\n"
           "       ctl-rpc-testd --db FILE --seed\n"
           "       ctl-rpc-testd --db FILE --event KIND SUBJECT DETAIL\n");
}

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"socket", required_argument, NULL, 's'},
        {"tcp", required_argument, NULL, 't'},
        {"token", required_argument, NULL, 'k'},
        {"poll-ms", required_argument, NULL, 'p'},
        {"seed", no_argument, NULL, 'S'},
        {"event", no_argument, NULL, 'E'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ctl_rpc_config cfg = { 0 };
    const char *db_path = NULL;
    bool do_seed = false, do_event = false, verbose = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            db_path = optarg;
            break;
        case 's':
            cfg.unix_path = optarg;
            break;
        case 't':
            cfg.tcp = optarg;
            break;
        case 'k':
            cfg.token = optarg;
            break;
        case 'p':
            cfg.follow_poll_ms = (unsigned int) atoi(optarg);
            break;
        case 'S':
            do_seed = true;
            break;
        case 'E':
            do_event = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (!db_path || (do_event && argc - optind != 3)
        || (!do_seed && !do_event && (!cfg.unix_path || optind != argc))) {
        usage();
        return 2;
    }

    ovs_set_program_name(argv[0], "0.1");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_FILE, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, verbose ? VLL_DBG : VLL_WARN);

    struct testd t;
    char *err = NULL;
    memset(&t, 0, sizeof t);
    if (db_open(db_path, &t.db, &err)) {
        fprintf(stderr, "ctl-rpc-testd: %s: %s\n", db_path,
                err ? err : "cannot open");
        free(err);
        return 1;
    }
    if (do_seed || do_event) {
        int rc = do_seed ? seed(t.db)
                 : check(t.db, db_event_append(t.db, time(NULL) * 1000LL,
                                               argv[optind],
                                               argv[optind + 1],
                                               argv[optind + 2], NULL),
                         "event");
        db_close(t.db);
        return rc ? 1 : 0;
    }

    static const struct ctl_rpc_hooks hooks = {
        .set_role = hook_set_role,
        .evict_host = hook_evict,
        .rules = hook_rules,
        .status = hook_status,
        .switch_info = hook_switch_info,
    };
    cfg.db_path = db_path;
    uv_loop_init(&t.loop);
    int rc = ctl_rpc_server_create(&t.loop, t.db, &cfg, &hooks, &t,
                                   &t.server);
    if (rc) {
        fprintf(stderr, "ctl-rpc-testd: bad configuration: %s\n",
                strerror(-rc));
        db_close(t.db);
        return 2;
    }
    uv_signal_init(&t.loop, &t.sigterm);
    uv_signal_init(&t.loop, &t.sigint);
    t.sigterm.data = t.sigint.data = &t;
    uv_signal_start(&t.sigterm, on_signal, SIGTERM);
    uv_signal_start(&t.sigint, on_signal, SIGINT);

    rc = ctl_rpc_server_start(t.server);
    if (rc) {
        fprintf(stderr, "ctl-rpc-testd: cannot serve: %s\n",
                rc < 0 ? strerror(-rc) : "?");
        ctl_rpc_server_stop(t.server, on_stopped);
    } else {
        if (cfg.tcp) {
            printf("tcp-port %d\n", ctl_rpc_server_tcp_port(t.server));
        }
        printf("ready\n");
        fflush(stdout);
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    ctl_rpc_server_destroy(t.server);
    int close_rc = uv_loop_close(&t.loop);
    db_close(t.db);
    if (close_rc) {
        fprintf(stderr, "ctl-rpc-testd: loop not closed: %s\n",
                uv_strerror(close_rc));
        return 1;
    }
    return rc ? 1 : 0;
}
