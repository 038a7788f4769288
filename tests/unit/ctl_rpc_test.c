/*
 * Unit tests for controller/rpc.c: the admin RPC server on a real libuv
 * loop, answering from a real temporary sqlite store (db/), with a blocking
 * client on a thread talking through a real Unix (or TCP) socket.
 *
 * Each test: the main thread seeds a store, starts the server and runs the
 * loop; a client thread runs the test's script (CUnit assertions are made
 * only by that thread while the loop runs) and then wakes the loop with an
 * async handle that stops the server.  The main thread then checks the
 * hooks' call counts, that the stop callback ran once, and that the loop
 * closes with nothing left open (uv_loop_close() returns 0).
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "controller/rpc.h"
#include "db/db.h"
#include "proto/admin.pb-c.h"
#include "proto/framing.h"
#include "tests/unit/harness.h"

typedef Scaffold__Admin__Request Request;
typedef Scaffold__Admin__Response Response;

#define T0 1700000000000LL

static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac2[6] = { 2, 0, 0, 0, 0, 2 };

struct fx {
    char dir[64];               /* Temporary directory. */
    char db_path[128];          /* The store. */
    char sock_path[100];        /* The admin socket. */
    uv_loop_t loop;             /* The loop. */
    struct db *db;              /* Server's handle. */
    struct ctl_rpc_server *srv; /* Server under test. */
    uv_async_t done;            /* Client thread finished. */
    uv_async_t notify;          /* Client thread asks for a notify. */
    void (*script)(struct fx *);/* What the client thread does. */
    int tcp_port;               /* Bound TCP port, if any. */
    int n_stopped;              /* Stop callback calls. */
    int n_set_role;             /* Hook calls... */
    int n_evict;
    int n_rules;
    uint64_t role_dpid;         /* Last set_role arguments. */
    enum db_role role;
    uint8_t evicted[6];         /* Last evicted MAC. */
};

/* The running test's fixture, for the client thread's REQUIRE. */
static struct fx *cur_fx;

/* ---- hooks (run on the loop thread) ------------------------------------- */

static int
hook_set_role(void *aux, uint64_t dpid, enum db_role role)
{
    struct fx *fx = aux;

    fx->n_set_role++;
    fx->role_dpid = dpid;
    fx->role = role;
    return dpid == 2 ? -ENOTCONN : db_switch_set_role(fx->db, dpid, role);
}

static int
hook_evict(void *aux, const uint8_t mac[6])
{
    struct fx *fx = aux;

    fx->n_evict++;
    memcpy(fx->evicted, mac, 6);
    return 0;
}

static int
hook_rules(void *aux, uint64_t dpid, struct ctl_rpc_rule **rules, size_t *n)
{
    struct fx *fx = aux;

    fx->n_rules++;
    if (dpid != 1) {
        return -ENOTCONN;
    }
    *rules = calloc(1, sizeof **rules);
    (*rules)[0].priority = 7;
    (*rules)[0].cookie = 0x5c01;
    (*rules)[0].match = strdup("udp");
    (*rules)[0].actions = NULL;
    *n = 1;
    return 0;
}

static int
hook_status(void *aux, struct ctl_rpc_status *st)
{
    (void) aux;
    snprintf(st->version, sizeof st->version, "test");
    st->ss_id = 10;
    st->epoch = 5;
    st->ss_ids[0] = 10;
    st->ss_ids[1] = 12;
    st->n_ss_ids = 2;
    st->host_block = 16;
    return 0;
}

static const struct ctl_rpc_hooks hooks = {
    .set_role = hook_set_role,
    .evict_host = hook_evict,
    .rules = hook_rules,
    .status = hook_status,
};

/* ---- fixture ------------------------------------------------------------ */

static void
seed(struct db *db)
{
    struct db_switch s1 = { 1, "lr1", DB_ROLE_LABEL, 4, true, T0 };
    struct db_switch s2 = { 2, "or1", DB_ROLE_OBJECT, 6, false, T0 };
    struct db_port p = { 1, 1, "lr1-p1", {2, 0, 0, 0, 1, 1}, true };
    struct db_link l = { 1, 1, 2, 1, T0 };
    struct db_host h1 = { {2, 0, 0, 0, 0, 1}, 10, 1, 1, 3, T0, T0, 0, "h1" };
    struct db_host h2 = { {2, 0, 0, 0, 0, 2}, 10, 2, 1, 4, T0, T0, 0, "h2" };
    struct db_instance i1 = { 80, {2, 0, 0, 0, 0, 1}, 100, T0, 0, 0, 0 };
    struct db_instance i2 = { 80, {2, 0, 0, 0, 0, 2}, 200, T0, 0, 0, 0 };
    struct db_block b1 = { 10, 0, 16, 1, T0, 0, 0 };
    struct db_block b2 = { 12, 128, 128, 1, T0 + 1, T0 + 2, 0 };

    CU_ASSERT_EQUAL_FATAL(db_switch_upsert(db, &s1), 0);
    CU_ASSERT_EQUAL_FATAL(db_switch_upsert(db, &s2), 0);
    CU_ASSERT_EQUAL_FATAL(db_port_upsert(db, &p), 0);
    CU_ASSERT_EQUAL_FATAL(db_link_upsert(db, &l), 0);
    CU_ASSERT_EQUAL_FATAL(db_host_upsert(db, &h1), 0);
    CU_ASSERT_EQUAL_FATAL(db_host_upsert(db, &h2), 0);
    CU_ASSERT_EQUAL_FATAL(db_instance_add(db, &i1), 0);
    CU_ASSERT_EQUAL_FATAL(db_instance_add(db, &i2), 0);
    CU_ASSERT_EQUAL_FATAL(db_block_add(db, &b2), 0);
    CU_ASSERT_EQUAL_FATAL(db_block_add(db, &b1), 0);
    for (int i = 1; i <= 3; i++) {
        char subject[16];
        snprintf(subject, sizeof subject, "e%d", i);
        CU_ASSERT_EQUAL_FATAL(db_event_append(db, T0 + i, "test", subject,
                                              "x", NULL), 0);
    }
}

/* Sets up a seeded store and a started server.  'tcp' adds a TCP listener
 * on 127.0.0.1 (any port) with token "sekrit". */
static void
fx_init(struct fx *fx, bool tcp, bool with_hooks, size_t max_frame,
        unsigned int poll_ms)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "%s", sft_tmpdir());
    snprintf(fx->db_path, sizeof fx->db_path, "%s/s.db", fx->dir);
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_default_path(fx->dir, fx->sock_path,
                                               sizeof fx->sock_path), 0);
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(db_open(fx->db_path, &fx->db, &err), 0);
    seed(fx->db);
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&fx->loop), 0);

    struct ctl_rpc_config cfg = {
        .unix_path = fx->sock_path,
        .tcp = tcp ? "tcp:127.0.0.1:0" : NULL,
        .token = tcp ? "sekrit" : NULL,
        .db_path = fx->db_path,
        .max_frame = max_frame,
        .follow_poll_ms = poll_ms,
    };
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_create(&fx->loop, fx->db, &cfg,
                                                with_hooks ? &hooks : NULL,
                                                fx, &fx->srv), 0);
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_start(fx->srv), 0);
    fx->tcp_port = ctl_rpc_server_tcp_port(fx->srv);
    CU_ASSERT_EQUAL(tcp, fx->tcp_port > 0);
}

static void
on_stopped(struct ctl_rpc_server *srv, void *aux)
{
    struct fx *fx = aux;

    CU_ASSERT_PTR_EQUAL(srv, fx->srv);
    fx->n_stopped++;
}

static void
on_done(uv_async_t *a)
{
    struct fx *fx = a->data;

    ctl_rpc_server_stop(fx->srv, on_stopped);
    ctl_rpc_server_stop(fx->srv, on_stopped);   /* Second call: no-op. */
    uv_close((uv_handle_t *) &fx->done, NULL);
    uv_close((uv_handle_t *) &fx->notify, NULL);
}

static void
on_notify(uv_async_t *a)
{
    struct fx *fx = a->data;

    ctl_rpc_notify_event(fx->srv);
}

static void *
client_main(void *fx_)
{
    struct fx *fx = fx_;

    fx->script(fx);
    uv_async_send(&fx->done);
    return NULL;
}

/* Runs 'script' on a client thread while the loop serves; returns when the
 * server stopped and the loop has nothing left. */
static void
fx_run(struct fx *fx, void (*script)(struct fx *))
{
    pthread_t th;

    fx->script = script;
    cur_fx = fx;
    CU_ASSERT_EQUAL_FATAL(uv_async_init(&fx->loop, &fx->done, on_done), 0);
    CU_ASSERT_EQUAL_FATAL(uv_async_init(&fx->loop, &fx->notify, on_notify),
                          0);
    fx->done.data = fx->notify.data = fx;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, client_main, fx), 0);
    CU_ASSERT_EQUAL(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
    pthread_join(th, NULL);
}

/* Removes the store 'db_path' (with its WAL files) and 'dir'. */
static void
remove_store(const char *dir, const char *db_path)
{
    char path[160];

    snprintf(path, sizeof path, "%s-wal", db_path);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", db_path);
    unlink(path);
    unlink(db_path);
    rmdir(dir);
}

static void
fx_fini(struct fx *fx)
{
    struct stat st;

    CU_ASSERT_EQUAL(fx->n_stopped, 1);
    CU_ASSERT_EQUAL(ctl_rpc_server_n_clients(fx->srv), 0);
    ctl_rpc_server_destroy(fx->srv);
    CU_ASSERT_EQUAL(uv_loop_close(&fx->loop), 0);
    CU_ASSERT_NOT_EQUAL(stat(fx->sock_path, &st), 0);   /* Removed. */
    db_close(fx->db);
    remove_store(fx->dir, fx->db_path);
}

/* ---- blocking client (client thread) ------------------------------------ */

/* The client thread must not use CUnit's fatal assertions (they longjmp
 * into the main thread's stack).  REQUIRE records a failure and, if it
 * fails, ends the script: the loop is woken to stop the server. */

static void __attribute__((noreturn))
cl_bail(void)
{
    uv_async_send(&cur_fx->done);
    pthread_exit(NULL);
}

#define REQUIRE(COND)                                                   \
    do {                                                                \
        bool ok_ = (COND);                                              \
        CU_assertImplementation(ok_, __LINE__, #COND, __FILE__, "",     \
                                CU_FALSE);                              \
        if (!ok_) {                                                     \
            cl_bail();                                                  \
        }                                                               \
    } while (0)
#define REQUIRE_EQ(A, B) REQUIRE((A) == (B))
#define REQUIRE_PTR(P) REQUIRE((P) != NULL)

static int
cl_unix(const struct fx *fx)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct timeval tv = { 5, 0 };

    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", fx->sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE_EQ(connect(fd, (struct sockaddr *) &sun, sizeof sun),
                          0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int
cl_tcp(const struct fx *fx)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct timeval tv = { 5, 0 };

    sin.sin_port = htons((uint16_t) fx->tcp_port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE_EQ(connect(fd, (struct sockaddr *) &sin, sizeof sin),
                          0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void
cl_write(int fd, const void *data, size_t len)
{
    CU_ASSERT_EQUAL(write(fd, data, len), (ssize_t) len);
}

static void
cl_send(int fd, const Request *req)
{
    uint8_t *buf;
    size_t len;

    REQUIRE_EQ(sfp_framing_encode_alloc(&req->base, 0, &buf,
                                                   &len), 0);
    cl_write(fd, buf, len);
    free(buf);
}

static bool
cl_read_all(int fd, uint8_t *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0) {
            return false;
        }
        got += (size_t) n;
    }
    return true;
}

/* Reads one Response; NULL at end of stream (or timeout). */
static Response *
cl_recv(int fd)
{
    uint8_t prefix[4];

    if (!cl_read_all(fd, prefix, 4)) {
        return NULL;
    }
    uint32_t len = (uint32_t) prefix[0] << 24 | prefix[1] << 16
                   | prefix[2] << 8 | prefix[3];
    uint8_t *buf = malloc(len ? len : 1);
    Response *r = NULL;
    if (cl_read_all(fd, buf, len)) {
        r = scaffold__admin__response__unpack(NULL, len, buf);
        CU_ASSERT_PTR_NOT_NULL(r);
    }
    free(buf);
    return r;
}

/* True if the server closed 'fd' (read returns 0). */
static bool
cl_eof(int fd)
{
    uint8_t b;
    return read(fd, &b, 1) == 0;
}

static void
cl_free(Response *r)
{
    scaffold__admin__response__free_unpacked(r, NULL);
}

/* Sends 'req' (id 'id') and returns the Response, asserting its id. */
static Response *
cl_call(int fd, Request *req, uint64_t id)
{
    req->id = id;
    cl_send(fd, req);
    Response *r = cl_recv(fd);
    REQUIRE_PTR(r);
    CU_ASSERT_EQUAL(r->id, id);
    return r;
}

/* Expects an error Response with 'code'. */
static void
cl_expect_error(int fd, Request *req, uint64_t id, int code)
{
    Response *r = cl_call(fd, req, id);
    CU_ASSERT_EQUAL(r->result_case, SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR);
    if (r->result_case == SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR) {
        CU_ASSERT_EQUAL((int) r->error->code, code);
        CU_ASSERT_NOT_EQUAL(strlen(r->error->message), 0);
    }
    cl_free(r);
}

/* Request builders (the sub-messages are static: one client thread). */
static Request
rq_list_switches(void)
{
    static Scaffold__Admin__ListSwitches op
        = SCAFFOLD__ADMIN__LIST_SWITCHES__INIT;
    Request r = SCAFFOLD__ADMIN__REQUEST__INIT;
    r.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_SWITCHES;
    r.list_switches = &op;
    return r;
}

/* ---- tests -------------------------------------------------------------- */

static void
script_lists(struct fx *fx)
{
    int fd = cl_unix(fx);

    Request rq = rq_list_switches();
    Response *r = cl_call(fd, &rq, 11);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    REQUIRE_EQ(r->switches->n_switches, 2);
    CU_ASSERT_EQUAL(r->switches->switches[0]->dpid, 1);
    CU_ASSERT_STRING_EQUAL(r->switches->switches[0]->name, "lr1");
    CU_ASSERT_EQUAL(r->switches->switches[0]->role,
                    SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL);
    CU_ASSERT_EQUAL(r->switches->switches[0]->of_version, 4);
    CU_ASSERT_TRUE(r->switches->switches[0]->connected);
    CU_ASSERT_EQUAL(r->switches->switches[0]->n_ports, 1);
    CU_ASSERT_EQUAL(r->switches->switches[0]->last_seen_ms, T0);
    CU_ASSERT_EQUAL(r->switches->switches[1]->role,
                    SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT);
    CU_ASSERT_FALSE(r->switches->switches[1]->connected);
    cl_free(r);

    Scaffold__Admin__ListLinks ll = SCAFFOLD__ADMIN__LIST_LINKS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_LINKS;
    rq.list_links = &ll;
    r = cl_call(fd, &rq, 12);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_LINKS);
    REQUIRE_EQ(r->links->n_links, 1);
    CU_ASSERT_EQUAL(r->links->links[0]->src_dpid, 1);
    CU_ASSERT_EQUAL(r->links->links[0]->dst_dpid, 2);
    CU_ASSERT_EQUAL(r->links->links[0]->dst_port, 1);
    cl_free(r);

    Scaffold__Admin__ListHosts lh = SCAFFOLD__ADMIN__LIST_HOSTS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_HOSTS;
    rq.list_hosts = &lh;
    r = cl_call(fd, &rq, 13);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_HOSTS);
    REQUIRE_EQ(r->hosts->n_hosts, 2);
    CU_ASSERT_EQUAL(r->hosts->hosts[1]->mac.len, 6);
    CU_ASSERT_EQUAL(memcmp(r->hosts->hosts[1]->mac.data, mac2, 6), 0);
    CU_ASSERT_EQUAL(r->hosts->hosts[1]->host_id, 2);
    CU_ASSERT_EQUAL(r->hosts->hosts[1]->port_no, 4);
    CU_ASSERT_STRING_EQUAL(r->hosts->hosts[1]->name, "h2");
    cl_free(r);

    Scaffold__Admin__ListObjects lo = SCAFFOLD__ADMIN__LIST_OBJECTS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_OBJECTS;
    rq.list_objects = &lo;
    r = cl_call(fd, &rq, 14);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_OBJECTS);
    REQUIRE_EQ(r->objects->n_objects, 1);
    CU_ASSERT_EQUAL(r->objects->objects[0]->object_id, 80);
    CU_ASSERT_EQUAL(r->objects->objects[0]->n_instances, 2);
    cl_free(r);

    Scaffold__Admin__ListInstances li = SCAFFOLD__ADMIN__LIST_INSTANCES__INIT;
    li.object_id = 80;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_INSTANCES;
    rq.list_instances = &li;
    r = cl_call(fd, &rq, 15);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_INSTANCES);
    REQUIRE_EQ(r->instances->n_instances, 2);
    CU_ASSERT_EQUAL(r->instances->instances[0]->flow_id,
                    10u << 24 | 1u << 16 | 100u);
    CU_ASSERT_EQUAL(memcmp(r->instances->instances[0]->host_mac.data, mac1,
                           6), 0);
    cl_free(r);

    /* Events, paged by limit. */
    Scaffold__Admin__ListEvents le = SCAFFOLD__ADMIN__LIST_EVENTS__INIT;
    le.limit = 2;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_EVENTS;
    rq.list_events = &le;
    r = cl_call(fd, &rq, 16);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS);
    CU_ASSERT_FALSE(r->more);
    REQUIRE_EQ(r->events->n_events, 2);
    CU_ASSERT_EQUAL(r->events->events[0]->id, 1);
    CU_ASSERT_STRING_EQUAL(r->events->events[1]->subject, "e2");
    CU_ASSERT_EQUAL(r->events->last_id, 3);
    cl_free(r);
    le.since_id = 2;
    r = cl_call(fd, &rq, 17);
    REQUIRE_EQ(r->events->n_events, 1);
    CU_ASSERT_EQUAL(r->events->events[0]->id, 3);
    cl_free(r);

    /* Describe switch 1: its port and the link from it. */
    Scaffold__Admin__DescribeSwitch ds
        = SCAFFOLD__ADMIN__DESCRIBE_SWITCH__INIT;
    ds.dpid = 1;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_SWITCH;
    rq.describe_switch = &ds;
    r = cl_call(fd, &rq, 18);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCH_DETAIL);
    CU_ASSERT_EQUAL(r->switch_detail->sw->dpid, 1);
    REQUIRE_EQ(r->switch_detail->n_ports, 1);
    CU_ASSERT_STRING_EQUAL(r->switch_detail->ports[0]->name, "lr1-p1");
    CU_ASSERT_EQUAL(r->switch_detail->n_links, 1);
    cl_free(r);

    /* Describe host by address and by MAC. */
    Scaffold__Admin__DescribeHost dh = SCAFFOLD__ADMIN__DESCRIBE_HOST__INIT;
    dh.key_case = SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_FLOW_ID_PREFIX;
    dh.flow_id_prefix = 10u << 24 | 2u << 16;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_HOST;
    rq.describe_host = &dh;
    r = cl_call(fd, &rq, 19);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_HOST_DETAIL);
    CU_ASSERT_EQUAL(memcmp(r->host_detail->host->mac.data, mac2, 6), 0);
    REQUIRE_EQ(r->host_detail->n_instances, 1);
    CU_ASSERT_EQUAL(r->host_detail->instances[0]->flow_id & 0xffff, 200);
    cl_free(r);
    dh.key_case = SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_MAC;
    dh.mac.len = 6;
    dh.mac.data = (uint8_t *) mac1;
    r = cl_call(fd, &rq, 20);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_HOST_DETAIL);
    CU_ASSERT_EQUAL(r->host_detail->host->host_id, 1);
    cl_free(r);

    /* Status: db counts plus the hook's fields. */
    Scaffold__Admin__GetStatus gs = SCAFFOLD__ADMIN__GET_STATUS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_GET_STATUS;
    rq.get_status = &gs;
    r = cl_call(fd, &rq, 21);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_STATUS);
    CU_ASSERT_STRING_EQUAL(r->status->version, "test");
    CU_ASSERT_EQUAL(r->status->ss_id, 10);
    CU_ASSERT_EQUAL(r->status->epoch, 5);
    CU_ASSERT_EQUAL(r->status->n_switches, 2);
    CU_ASSERT_EQUAL(r->status->n_connected, 1);
    CU_ASSERT_EQUAL(r->status->n_hosts, 2);
    CU_ASSERT_EQUAL(r->status->n_objects, 1);
    CU_ASSERT_EQUAL(r->status->n_instances, 2);
    CU_ASSERT_STRING_EQUAL(r->status->db_path, fx->db_path);
    REQUIRE_EQ(r->status->n_ss_ids, 2);
    CU_ASSERT_EQUAL(r->status->ss_ids[0], 10);
    CU_ASSERT_EQUAL(r->status->ss_ids[1], 12);
    CU_ASSERT_EQUAL(r->status->host_block, 16);
    cl_free(r);

    /* Blocks, in (ssID, first) order, with host counts and prefixes. */
    Scaffold__Admin__ListBlocks lb = SCAFFOLD__ADMIN__LIST_BLOCKS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_BLOCKS;
    rq.list_blocks = &lb;
    r = cl_call(fd, &rq, 22);
    REQUIRE_EQ(r->result_case, SCAFFOLD__ADMIN__RESPONSE__RESULT_BLOCKS);
    REQUIRE_EQ(r->blocks->n_blocks, 2);
    const Scaffold__Admin__Block *b = r->blocks->blocks[0];
    CU_ASSERT_EQUAL(b->ss_id, 10);
    CU_ASSERT_EQUAL(b->first_host_id, 0);
    CU_ASSERT_EQUAL(b->size, 16);
    CU_ASSERT_STRING_EQUAL(b->prefix, "10.0.0.0/12");
    CU_ASSERT_EQUAL(b->dpid, 1);
    CU_ASSERT_EQUAL(b->n_hosts, 2);
    CU_ASSERT_EQUAL(b->allocated_ms, T0);
    CU_ASSERT_EQUAL(b->empty_since_ms, 0);
    b = r->blocks->blocks[1];
    CU_ASSERT_EQUAL(b->ss_id, 12);
    CU_ASSERT_EQUAL(b->first_host_id, 128);
    CU_ASSERT_EQUAL(b->size, 128);
    CU_ASSERT_STRING_EQUAL(b->prefix, "12.128.0.0/9");
    CU_ASSERT_EQUAL(b->n_hosts, 0);
    CU_ASSERT_EQUAL(b->allocated_ms, T0 + 1);
    CU_ASSERT_EQUAL(b->empty_since_ms, T0 + 2);
    cl_free(r);

    /* Pipelined: three requests in one write, three answers in order. */
    rq = rq_list_switches();
    uint8_t buf[256];
    size_t len = 0, one;
    for (uint64_t id = 100; id < 103; id++) {
        rq.id = id;
        CU_ASSERT_EQUAL(sfp_framing_encode(&rq.base, 0, buf + len,
                                           sizeof buf - len, &one), 0);
        len += one;
    }
    cl_write(fd, buf, len);
    for (uint64_t id = 100; id < 103; id++) {
        r = cl_recv(fd);
        REQUIRE_PTR(r);
        CU_ASSERT_EQUAL(r->id, id);
        CU_ASSERT_EQUAL(r->result_case,
                        SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
        cl_free(r);
    }
    close(fd);
}

static void
test_lists(void)
{
    struct fx fx;

    fx_init(&fx, false, true, 0, 0);
    fx_run(&fx, script_lists);
    fx_fini(&fx);
}

static void
script_errors(struct fx *fx)
{
    int fd = cl_unix(fx);
    Request rq;

    /* Each of these is answered and the connection stays usable. */
    Scaffold__Admin__DescribeSwitch ds
        = SCAFFOLD__ADMIN__DESCRIBE_SWITCH__INIT;
    ds.dpid = 99;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_SWITCH;
    rq.describe_switch = &ds;
    cl_expect_error(fd, &rq, 1,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND);

    Scaffold__Admin__ListInstances li = SCAFFOLD__ADMIN__LIST_INSTANCES__INIT;
    li.object_id = 0;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_INSTANCES;
    rq.list_instances = &li;
    cl_expect_error(fd, &rq, 2,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT);
    li.object_id = 70000;
    cl_expect_error(fd, &rq, 3,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT);
    li.object_id = 81;
    cl_expect_error(fd, &rq, 4,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND);

    Scaffold__Admin__SetRole sr = SCAFFOLD__ADMIN__SET_ROLE__INIT;
    sr.dpid = 1;
    sr.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_UNKNOWN;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_SET_ROLE;
    rq.set_role = &sr;
    cl_expect_error(fd, &rq, 5,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT);
    sr.dpid = 77;
    sr.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL;
    cl_expect_error(fd, &rq, 6,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND);
    /* The hook refuses switch 2 with -ENOTCONN. */
    sr.dpid = 2;
    cl_expect_error(fd, &rq, 7,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAVAILABLE);
    /* Accepted: the hook changes the db, which the next list shows. */
    sr.dpid = 1;
    sr.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT;
    Response *r = cl_call(fd, &rq, 8);
    CU_ASSERT_EQUAL(r->result_case, SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE);
    cl_free(r);
    rq = rq_list_switches();
    r = cl_call(fd, &rq, 9);
    CU_ASSERT_EQUAL(r->switches->switches[0]->role,
                    SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT);
    cl_free(r);

    Scaffold__Admin__EvictHost eh = SCAFFOLD__ADMIN__EVICT_HOST__INIT;
    uint8_t unknown[6] = { 2, 0, 0, 0, 0, 9 };
    eh.mac.len = 6;
    eh.mac.data = unknown;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_EVICT_HOST;
    rq.evict_host = &eh;
    cl_expect_error(fd, &rq, 10,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_NOT_FOUND);
    eh.mac.len = 5;
    cl_expect_error(fd, &rq, 11,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT);
    eh.mac.len = 6;
    eh.mac.data = (uint8_t *) mac2;
    r = cl_call(fd, &rq, 12);
    CU_ASSERT_EQUAL(r->result_case, SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE);
    cl_free(r);

    Scaffold__Admin__ListRules lr = SCAFFOLD__ADMIN__LIST_RULES__INIT;
    lr.dpid = 1;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_RULES;
    rq.list_rules = &lr;
    r = cl_call(fd, &rq, 13);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_RULES);
    REQUIRE_EQ(r->rules->n_rules, 1);
    CU_ASSERT_EQUAL(r->rules->rules[0]->priority, 7);
    CU_ASSERT_EQUAL(r->rules->rules[0]->cookie, 0x5c01);
    CU_ASSERT_STRING_EQUAL(r->rules->rules[0]->match, "udp");
    CU_ASSERT_STRING_EQUAL(r->rules->rules[0]->actions, "");
    cl_free(r);
    lr.dpid = 2;
    cl_expect_error(fd, &rq, 14,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAVAILABLE);

    /* Still serving on the same connection. */
    rq = rq_list_switches();
    r = cl_call(fd, &rq, 15);
    CU_ASSERT_EQUAL(r->result_case,
                    SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    cl_free(r);
    close(fd);
}

static void
test_errors(void)
{
    struct fx fx;

    fx_init(&fx, false, true, 0, 0);
    fx_run(&fx, script_errors);
    CU_ASSERT_EQUAL(fx.n_set_role, 2);     /* dpid 2 refused, dpid 1 ok. */
    CU_ASSERT_EQUAL(fx.role_dpid, 1);
    CU_ASSERT_EQUAL(fx.role, DB_ROLE_OBJECT);
    CU_ASSERT_EQUAL(fx.n_evict, 1);
    CU_ASSERT_EQUAL(memcmp(fx.evicted, mac2, 6), 0);
    CU_ASSERT_EQUAL(fx.n_rules, 2);
    fx_fini(&fx);
}

static void
script_no_hooks(struct fx *fx)
{
    int fd = cl_unix(fx);
    Request rq;

    Scaffold__Admin__SetRole sr = SCAFFOLD__ADMIN__SET_ROLE__INIT;
    sr.dpid = 1;
    sr.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_SET_ROLE;
    rq.set_role = &sr;
    cl_expect_error(fd, &rq, 1,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNSUPPORTED);
    Scaffold__Admin__ListRules lr = SCAFFOLD__ADMIN__LIST_RULES__INIT;
    lr.dpid = 1;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_RULES;
    rq.list_rules = &lr;
    cl_expect_error(fd, &rq, 2,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNSUPPORTED);
    Scaffold__Admin__GetStatus gs = SCAFFOLD__ADMIN__GET_STATUS__INIT;
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_GET_STATUS;
    rq.get_status = &gs;
    Response *r = cl_call(fd, &rq, 3);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_STATUS);
    CU_ASSERT_EQUAL(r->status->n_switches, 2);
    CU_ASSERT_EQUAL(r->status->n_ss_ids, 0);    /* No hook, no ssID. */
    CU_ASSERT_EQUAL(r->status->host_block, 0);
    cl_free(r);
    close(fd);
}

static void
test_no_hooks(void)
{
    struct fx fx;

    fx_init(&fx, false, false, 0, 0);
    fx_run(&fx, script_no_hooks);
    fx_fini(&fx);
}

/* Expects one error Response with 'code' and 'id', then end of stream. */
static void
expect_fatal(int fd, uint64_t id, int code)
{
    Response *r = cl_recv(fd);
    REQUIRE_PTR(r);
    CU_ASSERT_EQUAL(r->id, id);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR);
    CU_ASSERT_EQUAL((int) r->error->code, code);
    cl_free(r);
    CU_ASSERT_TRUE(cl_eof(fd));
}

static void
script_malformed(struct fx *fx)
{
    /* A bystander connected throughout. */
    int other = cl_unix(fx);
    Request rq;

    /* A frame that is not a Request: error id 0, closed. */
    int fd = cl_unix(fx);
    static const uint8_t garbage[] = { 0, 0, 0, 3, 0xff, 0xff, 0xff };
    cl_write(fd, garbage, sizeof garbage);
    expect_fatal(fd, 0, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    close(fd);

    /* A Request without an op: error with its id, closed. */
    fd = cl_unix(fx);
    rq = (Request) SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.id = 77;
    cl_send(fd, &rq);
    expect_fatal(fd, 77, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    close(fd);

    /* A Request whose op this server does not know (field 99, as a newer
     * client would send): error with its id, closed. */
    fd = cl_unix(fx);
    static const uint8_t unknown_op[] = { 0, 0, 0, 5, 0x08, 78, 0x9a, 0x06,
                                          0x00 };
    cl_write(fd, unknown_op, sizeof unknown_op);
    expect_fatal(fd, 78, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    close(fd);

    /* A length prefix above the maximum (1024 here): refused at once. */
    fd = cl_unix(fx);
    static const uint8_t big[] = { 0, 0, 0x10, 0 };
    cl_write(fd, big, sizeof big);
    expect_fatal(fd, 0, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    close(fd);

    /* Requests after a bad one in the same write are not answered. */
    fd = cl_unix(fx);
    uint8_t buf[64];
    size_t len;
    memcpy(buf, garbage, sizeof garbage);
    rq = rq_list_switches();
    CU_ASSERT_EQUAL(sfp_framing_encode(&rq.base, 0, buf + sizeof garbage,
                                       sizeof buf - sizeof garbage, &len), 0);
    cl_write(fd, buf, sizeof garbage + len);
    expect_fatal(fd, 0, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_BAD_REQUEST);
    close(fd);

    /* A client that hangs up inside a frame. */
    fd = cl_unix(fx);
    static const uint8_t partial[] = { 0, 0, 0, 9, 1, 2 };
    cl_write(fd, partial, sizeof partial);
    close(fd);

    /* The bystander is still served. */
    rq = rq_list_switches();
    Response *r = cl_call(other, &rq, 5);
    CU_ASSERT_EQUAL(r->result_case,
                    SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    cl_free(r);
    close(other);
}

static void
test_malformed(void)
{
    struct fx fx;

    fx_init(&fx, false, true, 1024, 0);
    fx_run(&fx, script_malformed);
    fx_fini(&fx);
}

static void
script_token(struct fx *fx)
{
    Request rq = rq_list_switches();

    /* Wrong token: UNAUTHORIZED with the request's id, then closed. */
    int fd = cl_tcp(fx);
    rq.auth_token = "sekriT";
    rq.id = 3;
    cl_send(fd, &rq);
    expect_fatal(fd, 3, SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED);
    close(fd);

    /* A prefix of the token, a longer one, none. */
    static char *bad[] = { "sekri", "sekrit!", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd = cl_tcp(fx);
        rq.auth_token = bad[i];
        cl_send(fd, &rq);
        expect_fatal(fd, 3,
                     SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED);
        close(fd);
    }

    /* The right token. */
    fd = cl_tcp(fx);
    rq.auth_token = "sekrit";
    Response *r = cl_call(fd, &rq, 4);
    CU_ASSERT_EQUAL(r->result_case,
                    SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    cl_free(r);
    close(fd);

    /* The Unix socket ignores the token. */
    fd = cl_unix(fx);
    rq.auth_token = "whatever";
    r = cl_call(fd, &rq, 5);
    CU_ASSERT_EQUAL(r->result_case,
                    SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    cl_free(r);
    close(fd);
}

static void
test_token(void)
{
    struct fx fx;

    fx_init(&fx, true, true, 0, 0);
    fx_run(&fx, script_token);
    fx_fini(&fx);
}

/* Appends an event through the client thread's own db handle. */
static void
append_event(struct fx *fx, const char *subject)
{
    struct db *db;
    char *err = NULL;

    REQUIRE_EQ(db_open(fx->db_path, &db, &err), 0);
    CU_ASSERT_EQUAL(db_event_append(db, T0 + 100, "test", subject, "new",
                                    NULL), 0);
    db_close(db);
}

static void
follow_script(struct fx *fx, bool by_notify)
{
    int fd = cl_unix(fx);

    Scaffold__Admin__ListEvents le = SCAFFOLD__ADMIN__LIST_EVENTS__INIT;
    le.follow = true;
    le.since_id = 1;
    Request rq = SCAFFOLD__ADMIN__REQUEST__INIT;
    rq.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_EVENTS;
    rq.list_events = &le;

    /* First the events already there (2 and 3), with 'more'. */
    Response *r = cl_call(fd, &rq, 40);
    REQUIRE_EQ(r->result_case,
                          SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS);
    CU_ASSERT_TRUE(r->more);
    REQUIRE_EQ(r->events->n_events, 2);
    CU_ASSERT_EQUAL(r->events->events[0]->id, 2);
    cl_free(r);

    /* Then each new one. */
    for (int i = 0; i < 2; i++) {
        append_event(fx, i ? "f2" : "f1");
        if (by_notify) {
            uv_async_send(&fx->notify);
        }
        r = cl_recv(fd);
        REQUIRE_PTR(r);
        CU_ASSERT_EQUAL(r->id, 40);
        CU_ASSERT_TRUE(r->more);
        REQUIRE_EQ(r->events->n_events, 1);
        CU_ASSERT_EQUAL(r->events->events[0]->id, 4 + (uint64_t) i);
        CU_ASSERT_STRING_EQUAL(r->events->events[0]->subject,
                               i ? "f2" : "f1");
        cl_free(r);
    }

    /* Other requests still work on a following connection. */
    rq = rq_list_switches();
    r = cl_call(fd, &rq, 41);
    CU_ASSERT_EQUAL(r->result_case,
                    SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES);
    cl_free(r);
    /* Left open: ctl_rpc_server_stop() must close it. */
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void
script_follow_notify(struct fx *fx)
{
    follow_script(fx, true);
}

static void
script_follow_poll(struct fx *fx)
{
    follow_script(fx, false);
}

static void
test_follow_notify(void)
{
    struct fx fx;

    /* A poll of a minute: only ctl_rpc_notify_event() can deliver. */
    fx_init(&fx, false, true, 0, 60000);
    fx_run(&fx, script_follow_notify);
    fx_fini(&fx);
}

static void
test_follow_poll(void)
{
    struct fx fx;

    fx_init(&fx, false, true, 0, 20);
    fx_run(&fx, script_follow_poll);
    fx_fini(&fx);
}

/* Several clients at once, each request interleaved with the others. */
static void
script_many(struct fx *fx)
{
    enum { N = 40 };
    int fds[N];

    for (int i = 0; i < N; i++) {
        fds[i] = cl_unix(fx);
    }
    Request rq = rq_list_switches();
    for (int i = 0; i < N; i++) {
        rq.id = (uint64_t) i + 1000;
        cl_send(fds[i], &rq);
    }
    for (int i = N - 1; i >= 0; i--) {
        Response *r = cl_recv(fds[i]);
        REQUIRE_PTR(r);
        CU_ASSERT_EQUAL(r->id, (uint64_t) i + 1000);
        cl_free(r);
    }
    /* Half of them stay open for ctl_rpc_server_stop() to close. */
    for (int i = 0; i < N; i += 2) {
        close(fds[i]);
    }
}

static void
test_many(void)
{
    struct fx fx;

    fx_init(&fx, false, true, 0, 0);
    fx_run(&fx, script_many);
    fx_fini(&fx);
}

static void
stopped_count(struct ctl_rpc_server *srv, void *aux)
{
    (void) srv;
    ++*(int *) aux;
}

/* The socket file: mode 0600, a stale one replaced, a live one kept. */
static void
test_socket_file(void)
{
    const char *dir = sft_tmpdir();
    char db_path[128], path[100];
    struct db *db;
    struct stat st;
    uv_loop_t loop;
    int n_stopped = 0;
    char *err = NULL;

    snprintf(db_path, sizeof db_path, "%s/s.db", dir);
    snprintf(path, sizeof path, "%s/admin.sock", dir);
    CU_ASSERT_EQUAL_FATAL(db_open(db_path, &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);

    /* A stale socket: bound, then its process "died". */
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);
    CU_ASSERT_EQUAL(stat(path, &st), 0);

    struct ctl_rpc_config cfg = { .unix_path = path };
    struct ctl_rpc_server *a, *b;
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_create(&loop, db, &cfg, NULL,
                                                &n_stopped, &a), 0);
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_start(a), 0);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

    /* A second server on the same path: refused, the first one's file
     * untouched. */
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_create(&loop, db, &cfg, NULL,
                                                &n_stopped, &b), 0);
    CU_ASSERT_EQUAL(ctl_rpc_server_start(b), -EADDRINUSE);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    ctl_rpc_server_stop(b, stopped_count);
    ctl_rpc_server_stop(a, stopped_count);
    CU_ASSERT_EQUAL(n_stopped, 0);          /* Only from the loop. */
    CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CU_ASSERT_EQUAL(n_stopped, 2);
    CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
    ctl_rpc_server_destroy(a);
    ctl_rpc_server_destroy(b);
    ctl_rpc_server_destroy(NULL);

    /* Not a socket: refused and left alone. */
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_create(&loop, db, &cfg, NULL,
                                                &n_stopped, &a), 0);
    CU_ASSERT_EQUAL(ctl_rpc_server_start(a), -EEXIST);
    ctl_rpc_server_stop(a, stopped_count);
    CU_ASSERT_EQUAL(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CU_ASSERT_EQUAL(n_stopped, 3);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    ctl_rpc_server_destroy(a);
    unlink(path);

    /* Never started: the callback runs at once. */
    CU_ASSERT_EQUAL_FATAL(ctl_rpc_server_create(&loop, db, &cfg, NULL,
                                                &n_stopped, &a), 0);
    ctl_rpc_server_stop(a, stopped_count);
    CU_ASSERT_EQUAL(n_stopped, 4);
    ctl_rpc_server_destroy(a);

    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    db_close(db);
    remove_store(dir, db_path);
}

static void
test_config(void)
{
    uv_loop_t loop;
    struct db *db;
    struct ctl_rpc_server *s = (void *) 1;
    char *err = NULL;
    char buf[128];
    const char *dir = sft_tmpdir();

    char buf2[128];
    snprintf(buf2, sizeof buf2, "%s/s.db", dir);
    CU_ASSERT_EQUAL_FATAL(db_open(buf2, &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);

    struct ctl_rpc_config cfg = { .unix_path = NULL };
    CU_ASSERT_EQUAL(ctl_rpc_server_create(&loop, db, &cfg, NULL, NULL, &s),
                    -EINVAL);
    CU_ASSERT_PTR_NULL(s);
    cfg.unix_path = "/tmp/x.sock";
    cfg.tcp = "tcp:127.0.0.1:1";
    CU_ASSERT_EQUAL(ctl_rpc_server_create(&loop, db, &cfg, NULL, NULL, &s),
                    -EINVAL);                   /* No token. */
    cfg.token = "t";
    static const char *bad[] = { "tcp:127.0.0.1", "udp:1.2.3.4:5",
                                 "tcp:1.2.3.4:70000", "tcp:[::1:5",
                                 "tcp:nohost:5", "tcp:1.2.3.4:" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.tcp = bad[i];
        CU_ASSERT_EQUAL(ctl_rpc_server_create(&loop, db, &cfg, NULL, NULL,
                                              &s), -EINVAL);
    }
    cfg.tcp = "tcp:[::1]:0";
    CU_ASSERT_EQUAL(ctl_rpc_server_create(&loop, db, &cfg, NULL, NULL, &s),
                    0);
    ctl_rpc_server_destroy(s);

    CU_ASSERT_EQUAL(ctl_rpc_default_path("/var/lib/scaffold", buf,
                                         sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/var/lib/scaffold/admin.sock");
    CU_ASSERT_EQUAL(ctl_rpc_default_path("/var/lib/scaffold", buf, 10),
                    -ENAMETOOLONG);
    char longdir[200];
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    CU_ASSERT_EQUAL(ctl_rpc_default_path(longdir, buf, sizeof buf),
                    -ENAMETOOLONG);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    db_close(db);
    remove_store(dir, buf2);
}

static CU_TestInfo rpc_tests[] = {
    {"config and default path", test_config},
    {"socket file: mode, stale, live", test_socket_file},
    {"lists, describe, status", test_lists},
    {"errors keep the connection", test_errors},
    {"no hooks: unsupported", test_no_hooks},
    {"malformed frames close only that client", test_malformed},
    {"tcp token", test_token},
    {"events follow by notify", test_follow_notify},
    {"events follow by poll", test_follow_poll},
    {"many clients", test_many},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_rpc", NULL, NULL, NULL, NULL, rpc_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_rpc", suites);
}
