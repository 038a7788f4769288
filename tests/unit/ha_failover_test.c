/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for failover through an object router with sticky round-robin
 * select groups (ofproto-ext: a 5-tuple keeps its bucket, a new 5-tuple
 * takes the next one): hostagent/conn.c and hostagent/stack.c.
 *
 *   - the RSYN after FAIL leaves from a NEW sockID (a new 5-tuple), so the
 *     round robin gives it the next instance; the old sockID is released;
 *   - a stack that shed a connection answers its RSYN with FAIL when the
 *     RSYN comes back to it, and the client retries from yet another
 *     sockID (bounded: then ECONNRESET);
 *   - an RSYN that lands on a stack with no listener (a dead or unbound
 *     instance still in the group) is answered with RST, which refuses it
 *     the same way: retry from another sockID, bounded;
 *   - every new sockID is reported to the application (LOCAL_MOVED, so
 *     that getsockname_sf follows);
 *   - a later failover that comes back to an instance which shed the
 *     connection earlier (it lived on elsewhere meanwhile) is accepted;
 *   - the nonce rules hold throughout.
 *
 * Like ha_conn_test.c: stacks A = 10.1 (the client), B = 10.2, C = 10.3
 * (and D = 10.5, an instance whose application is gone: no listener)
 * exchange frames over a scripted wire (every frame checked, encoded and
 * decoded again); unresolved destinations go through the object router's
 * stand-in below; the clock is fake.
 */
#include "hostagent/stack.h"
#include "hostagent/conn.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/sfp.h"
#include "tests/unit/harness.h"

#define OBJ 80
#define MAX_FRAMES 256
#define MAX_EVENTS 256
#define MAX_TX 512

struct wire_frame {
    uint8_t buf[2048];
    size_t len;
};

struct host {
    const char *name;
    struct ha_stack *st;
    int owner_tag;
};

struct event {
    struct host *h;
    struct ha_conn *c;
    enum ha_conn_event ev;
};

static struct wire_frame wire[MAX_FRAMES];
static size_t wire_head, wire_tail;
static struct event events[MAX_EVENTS];
static size_t n_events;
static uint64_t now;
static uint64_t rnd;
static struct host A = { "A", NULL, 0 };
static struct host B = { "B", NULL, 0 };
static struct host C = { "C", NULL, 0 };
static struct host D = { "D", NULL, 0 };
/* Every frame transmitted, in order (payloads not kept). */
static struct sfp_frame txlog[MAX_TX];
static size_t n_tx;
/* Drop hook: returns true to lose the frame. */
static bool (*drop_hook)(const struct sfp_frame *);

/* ---- the object router's stand-in ---------------------------------------
 * Sticky round robin: a 5-tuple (flowIDs are the IPv4 addresses,
 * objectIDs the UDP ports) seen before keeps its instance; a new one takes
 * the next instance in 'rr'.  'script', when set, overrides it for RSYNs:
 * the n-th RSYN of a new 5-tuple goes to script[n]. */
struct tuple {
    uint32_t src, dst;
    uint16_t sport, dport;
    struct host *h;
};
static struct tuple tuples[64];
static size_t n_tuples;
static struct host *rr[4];
static size_t n_rr, rr_next;
static struct host *script[16];
static size_t n_script, script_next;

static struct host *
resolve(const struct sfp_frame *f)
{
    struct tuple *t;
    size_t i;

    for (i = 0; i < n_tuples; i++) {
        t = &tuples[i];
        if (t->src == f->src_flow && t->dst == f->dst_flow
            && t->sport == f->src_obj && t->dport == f->dst_obj) {
            return t->h;                        /* Sticky. */
        }
    }
    CU_ASSERT_FATAL(n_tuples < sizeof tuples / sizeof tuples[0]);
    t = &tuples[n_tuples++];
    t->src = f->src_flow;
    t->dst = f->dst_flow;
    t->sport = f->src_obj;
    t->dport = f->dst_obj;
    if (f->hdr.flags == SFP_F_RSYN && script_next < n_script) {
        t->h = script[script_next++];
    } else {
        CU_ASSERT_FATAL(n_rr > 0);
        t->h = rr[rr_next++ % n_rr];
    }
    return t->h;
}

static void
t_output(const struct sfp_frame *f, void *aux)
{
    struct wire_frame *w;
    struct sfp_frame g = *f;

    (void) aux;
    CU_ASSERT_EQUAL(sfp_frame_check(f), SFP_OK);
    CU_ASSERT_FATAL(n_tx < MAX_TX);
    txlog[n_tx] = *f;
    txlog[n_tx++].payload = NULL;
    CU_ASSERT_FATAL(wire_tail - wire_head < MAX_FRAMES);
    w = &wire[wire_tail++ % MAX_FRAMES];
    memset(g.eth_dst, 0x02, 6);
    memset(g.eth_src, 0x02, 6);
    w->len = sfp_frame_encode(&g, w->buf, sizeof w->buf);
    CU_ASSERT(w->len > 0);
}

static void
t_event(struct ha_conn *c, enum ha_conn_event ev, const void *data,
        size_t len, void *aux)
{
    struct event *e;

    (void) data;
    (void) len;
    CU_ASSERT_FATAL(n_events < MAX_EVENTS);
    e = &events[n_events++];
    e->h = aux;
    e->c = c;
    e->ev = ev;
}

static uint64_t
t_random(void *aux)
{
    (void) aux;
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    return rnd;
}

static const struct ha_stack_ops t_ops = { t_output, t_event, t_random };

static struct host *
host_of(const struct sfp_frame *f)
{
    if (sfp_flowid_is_unresolved(f->dst_flow)) {
        return resolve(f);
    }
    switch (sfp_flowid_host(f->dst_flow)) {
    case 1: case 4: return &A;          /* 10.4: A after it moved. */
    case 2: return &B;
    case 3: return &C;
    case 5: return &D;
    default: return NULL;
    }
}

static int
run(int max)
{
    int n = 0;

    while (wire_head != wire_tail && n < max) {
        struct wire_frame *w = &wire[wire_head++ % MAX_FRAMES];
        struct sfp_frame f;
        struct host *h;

        CU_ASSERT_EQUAL_FATAL(sfp_frame_decode(w->buf, w->len, &f), SFP_OK);
        n++;
        if (drop_hook && drop_hook(&f)) {
            continue;
        }
        h = host_of(&f);
        if (h && h->st) {
            ha_stack_input(h->st, &f, now);
        }
    }
    return n;
}

static size_t
count_events(struct host *h, enum ha_conn_event ev)
{
    size_t i, n = 0;

    for (i = 0; i < n_events; i++) {
        if (events[i].h == h && events[i].ev == ev) {
            n++;
        }
    }
    return n;
}

static struct event *
find_event(struct host *h, enum ha_conn_event ev)
{
    size_t i;

    for (i = n_events; i-- > 0;) {
        if (events[i].h == h && events[i].ev == ev) {
            return &events[i];
        }
    }
    return NULL;
}

/* Frames with 'flags' transmitted since index 'from': how many, and
 * '*out' (if not NULL) gets the n-th (0-based) of them. */
static size_t
tx_find(size_t from, uint8_t flags, size_t nth, struct sfp_frame *out)
{
    size_t i, n = 0;

    for (i = from; i < n_tx; i++) {
        if (txlog[i].hdr.flags == flags) {
            if (n == nth && out) {
                *out = txlog[i];
            }
            n++;
        }
    }
    return n;
}

static void
setup(void)
{
    wire_head = wire_tail = 0;
    n_events = 0;
    n_tx = 0;
    drop_hook = NULL;
    n_tuples = 0;
    n_rr = rr_next = 0;
    n_script = script_next = 0;
    now = 1000000;
    rnd = 7;
    A.st = ha_stack_create(&t_ops, &A, sfp_flowid_make(10, 1, 0));
    B.st = ha_stack_create(&t_ops, &B, sfp_flowid_make(10, 2, 0));
    C.st = ha_stack_create(&t_ops, &C, sfp_flowid_make(10, 3, 0));
    D.st = ha_stack_create(&t_ops, &D, sfp_flowid_make(10, 5, 0));
    CU_ASSERT_FATAL(A.st && B.st && C.st && D.st);
}

static void
teardown(void)
{
    ha_stack_destroy(A.st);
    ha_stack_destroy(B.st);
    ha_stack_destroy(C.st);
    ha_stack_destroy(D.st);
    A.st = B.st = C.st = D.st = NULL;
}

static struct ha_conn *
listen_on(struct host *h)
{
    struct ha_conn *l;

    CU_ASSERT_EQUAL_FATAL(ha_stack_socket(h->st, HA_SOCK_STREAM, 0,
                                          &h->owner_tag, &l), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_bind(h->st, l, OBJ), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_listen(h->st, l, 8), 0);
    return l;
}

/* Instances B then C (round robin in that order), both listening; the
 * client on A connects: B gets it.  Returns the client, '*bp' B's side. */
static struct ha_conn *
connect_two_instances(struct ha_conn **bp)
{
    struct ha_conn *c;
    struct event *e;

    rr[0] = &B;
    rr[1] = &C;
    n_rr = 2;
    listen_on(&B);
    listen_on(&C);
    CU_ASSERT_EQUAL_FATAL(ha_stack_socket(A.st, HA_SOCK_STREAM, 0,
                                          &A.owner_tag, &c), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_connect(A.st, c, 0, OBJ, now), 0);
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    e = find_event(&B, HA_CEV_ACCEPTED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    e->c->owner = &B.owner_tag;
    *bp = e->c;
    return c;
}

static void
send_str(struct host *h, struct ha_conn *c, const char *s)
{
    CU_ASSERT_EQUAL(ha_stack_send(h->st, c, 0, 0, s, strlen(s), now), 0);
}

/* The connection 'h' accepted last (resumed), owned from now on. */
static struct ha_conn *
accepted(struct host *h)
{
    struct event *e = find_event(h, HA_CEV_ACCEPTED);

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    e->c->owner = &h->owner_tag;
    return e->c;
}

/* ---- tests ----------------------------------------------------------- */

/* The RSYN after FAIL comes from a new sockID: the sticky round robin gives
 * it the next instance.  The old sockID no longer finds the connection. */
static void
test_rsyn_from_new_sockid(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc;
    uint32_t old = c->local_flow, b_flow = b->local_flow;
    uint64_t nonce = c->nonce;
    struct sfp_frame rsyn, f;
    size_t mark;

    send_str(&A, c, "one");
    run(100);
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    CU_ASSERT_EQUAL(b->state, HA_CONN_FAILED);
    run(100);               /* FAIL, RSYN (-> C), RSYN|ACK, ACK */

    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, &rsyn), 1);
    CU_ASSERT(sfp_flowid_is_unresolved(rsyn.dst_flow));
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(rsyn.src_flow), sfp_flowid_sock(old));
    CU_ASSERT_EQUAL(sfp_flowid_host(rsyn.src_flow), 1);
    CU_ASSERT_EQUAL(rsyn.src_obj, c->local_obj);        /* Same objectID. */
    CU_ASSERT_EQUAL(rsyn.hdr.nonce, nonce);             /* Same nonce. */
    CU_ASSERT_EQUAL(c->local_flow, rsyn.src_flow);
    CU_ASSERT_EQUAL(c->nonce, nonce);

    /* C resumed it; B made no second connection. */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&C, HA_CEV_ACCEPTED), 1);
    cc = accepted(&C);
    CU_ASSERT_TRUE(cc->resumed);
    CU_ASSERT_EQUAL(cc->nonce, nonce);
    CU_ASSERT_EQUAL(cc->remote_flow, c->local_flow);
    CU_ASSERT_EQUAL(c->remote_flow, cc->local_flow);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_MOVED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 1);   /* One socket, not two. */
    /* The application is told its new local address (getsockname_sf). */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_LOCAL_MOVED), 1);
    if (find_event(&A, HA_CEV_LOCAL_MOVED)) {
        CU_ASSERT_PTR_EQUAL(find_event(&A, HA_CEV_LOCAL_MOVED)->c, c);
    }
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 0);

    /* Data both ways; the client's receive point follows C's sequence
     * space (no bogus gap). */
    send_str(&A, c, "two");
    send_str(&C, cc, "from C");
    run(100);
    CU_ASSERT_EQUAL(cc->stats.rx_packets, 1);
    CU_ASSERT_EQUAL(c->stats.rx_gaps, 0);
    CU_ASSERT_EQUAL(c->rcv_nxt, cc->snd_nxt);

    /* The old sockID no longer matches: a packet to it (right nonce, from
     * the old instance) is a packet for an unknown flow... */
    memset(&f, 0, sizeof f);
    f.src_flow = b_flow;
    f.dst_flow = old;
    f.src_obj = OBJ;
    f.dst_obj = c->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.nonce = nonce;
    f.payload = (const uint8_t *) "old";
    f.payload_len = 3;
    mark = n_tx;
    CU_ASSERT(ha_stack_input(A.st, &f, now) > 0);
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_RST, 0, NULL), 1);
    /* ...except that a FAIL to it (B answering data still in flight) is
     * not answered at all. */
    f.hdr.flags = SFP_F_FAIL;
    f.payload_len = 0;
    mark = n_tx;
    CU_ASSERT(ha_stack_input(A.st, &f, now) > 0);
    CU_ASSERT_EQUAL(n_tx, mark);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->stats.rx_packets, 1);
    wire_head = wire_tail;

    /* A new socket may take the old sockID again. */
    {
        struct ha_conn *n;

        CU_ASSERT_EQUAL(ha_stack_socket(A.st, HA_SOCK_STREAM,
                                        sfp_flowid_sock(old), NULL, &n), 0);
    }
}

/* In-flight data that B answers with FAIL after the resync started are
 * duplicates: they neither restart the resync nor count as refusals. */
static void
test_duplicate_fail_ignored(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);
    size_t mark;

    ha_stack_close(B.st, b, true, now);
    /* Three datagrams cross the FAIL. */
    send_str(&A, c, "x1");
    send_str(&A, c, "x2");
    send_str(&A, c, "x3");
    mark = n_tx;
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_RSYN, 0, NULL), 1);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 0);
    CU_ASSERT_EQUAL(count_events(&C, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
}

/* The RSYN lands back on the instance that shed the connection (other
 * flows took the round robin's turn): B answers FAIL, the client retries
 * from a third sockID and C, the third stack, resumes it. */
static void
test_rsyn_back_to_shedder_refused(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc;
    uint32_t s0 = c->local_flow, b_flow = b->local_flow;
    struct sfp_frame r1, r2, fail;
    size_t mark, nb;

    script[0] = &B;
    script[1] = &C;
    n_script = 2;
    nb = ha_stack_count(B.st);
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    run(100);

    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, NULL), 2);
    tx_find(mark, SFP_F_RSYN, 0, &r1);
    tx_find(mark, SFP_F_RSYN, 1, &r2);
    /* Three different sockIDs: the original, each RSYN's own. */
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(r1.src_flow), sfp_flowid_sock(s0));
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(r2.src_flow), sfp_flowid_sock(s0));
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(r2.src_flow),
                        sfp_flowid_sock(r1.src_flow));
    CU_ASSERT_EQUAL(r1.hdr.nonce, c->nonce);
    CU_ASSERT_EQUAL(r2.hdr.nonce, c->nonce);
    CU_ASSERT(sfp_flowid_is_unresolved(r2.dst_flow));
    CU_ASSERT_EQUAL(r2.hdr.ack, r1.hdr.ack);    /* Same receive point. */

    /* B's answer to the first RSYN: FAIL from the flowID the connection
     * had on B, with the RSYN's nonce, acknowledging the RSYN. */
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 1);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_FAIL, 1, &fail), 2);
    CU_ASSERT_EQUAL(fail.src_flow, b_flow);
    CU_ASSERT_EQUAL(fail.dst_flow, r1.src_flow);
    CU_ASSERT_EQUAL(fail.src_obj, OBJ);
    CU_ASSERT_EQUAL(fail.hdr.nonce, c->nonce);
    CU_ASSERT_EQUAL(fail.hdr.ack, r1.hdr.seq + 1);
    /* B took no new connection. */
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), nb);

    /* C has it. */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->local_flow, r2.src_flow);
    cc = accepted(&C);
    CU_ASSERT_TRUE(cc->resumed);
    CU_ASSERT_EQUAL(c->remote_flow, cc->local_flow);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 1);
    send_str(&A, c, "to C");
    send_str(&C, cc, "from C");
    run(100);
    CU_ASSERT_EQUAL(cc->stats.rx_packets, 1);
    CU_ASSERT_EQUAL(c->stats.rx_packets, 1);
}

/* What the client's application sends while its RSYN is refused and
 * retried is held across the refusals and goes, after the ACK that
 * completes the resync, to the instance that resumed the connection:
 * never to the shedder. */
static void
test_held_across_refusals(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc;
    struct sfp_frame f, ack;
    size_t mark, i, n_ack = 0, n_data = 0;

    script[0] = &B;
    script[1] = &C;
    n_script = 2;
    send_str(&A, c, "req");
    run(100);
    CU_ASSERT_EQUAL(b->stats.rx_packets, 1);
    memset(&ack, 0, sizeof ack);
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    run(1);                     /* FAIL -> A: first RSYN on the wire. */
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    send_str(&A, c, "h1");
    send_str(&A, c, "h22");
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_DATA, 0, NULL), 0);
    run(100);                   /* Refused by B, resumed by C. */
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 1);
    cc = accepted(&C);
    CU_ASSERT_EQUAL(c->remote_flow, cc->local_flow);
    /* The final ACK, then both datagrams, to C. */
    for (i = mark; i < n_tx; i++) {
        f = txlog[i];
        if (f.src_flow != c->local_flow) {
            continue;
        }
        if (f.hdr.flags == SFP_F_ACK) {
            ack = f;
            n_ack++;
        } else if (f.hdr.flags == SFP_F_DATA) {
            CU_ASSERT_EQUAL(n_ack, 1);
            CU_ASSERT_EQUAL(f.dst_flow, cc->local_flow);
            CU_ASSERT_EQUAL(f.hdr.seq, ack.hdr.seq + (n_data ? 2 : 0));
            n_data++;
        }
    }
    CU_ASSERT_EQUAL(n_ack, 1);
    CU_ASSERT_EQUAL(n_data, 2);
    CU_ASSERT_EQUAL(cc->stats.rx_packets, 2);
    CU_ASSERT_EQUAL(cc->stats.rx_bytes, 5);
    CU_ASSERT_EQUAL(cc->stats.rx_gaps, 0);
    CU_ASSERT_EQUAL(b->stats.rx_packets, 1);
    CU_ASSERT_EQUAL(c->stats.tx_held, 2);
    CU_ASSERT_EQUAL(c->stats.tx_dropped, 0);
    /* "req" was served (B's FAIL acknowledged it): not replayed. */
    CU_ASSERT_EQUAL(c->stats.tx_replayed, 0);
}

/* A lost refusal: the client's RSYN retransmission (same sockID, so the
 * same instance) is refused again; then it moves on. */
static bool
drop_first_refusal(const struct sfp_frame *f)
{
    static int seen;

    if (!f) {
        seen = 0;
        return false;
    }
    /* The 1st FAIL is B's shed, the 2nd its refusal of the RSYN. */
    return f->hdr.flags == SFP_F_FAIL && seen++ == 1;
}

static void
test_refusal_lost(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);

    script[0] = &B;
    script[1] = &C;
    n_script = 2;
    drop_first_refusal(NULL);
    drop_hook = drop_first_refusal;
    ha_stack_close(B.st, b, true, now);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 1);
    now += c->rto_us;
    ha_stack_tick(A.st, now);           /* Retransmitted RSYN -> B again. */
    run(100);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 2);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&C, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
}

/* Every RSYN goes back to B: after HA_RSYN_MAX_REFUSALS retries the
 * application gets a reset (ECONNRESET), not an endless loop. */
static void
test_refusals_bounded(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);
    size_t i, mark;

    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);

    for (i = 0; i < sizeof script / sizeof script[0]; i++) {
        script[i] = &B;
    }
    n_script = sizeof script / sizeof script[0];
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    run(200);
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_RSYN, 0, NULL),
                    HA_RSYN_MAX_REFUSALS + 1);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn,
                    HA_RSYN_MAX_REFUSALS + 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_DEAD), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);   /* Every sockID freed. */
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&C, HA_CEV_ACCEPTED), 0);
}

/* B sheds, C resumes; later C sheds and the round robin goes back to B:
 * the connection lived on elsewhere meanwhile, so B accepts it (the
 * failover experiment: instance 2 sheds, instance 1 finishes). */
static void
test_second_failover_back_to_first(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc, *bb;
    int i;

    for (i = 0; i < 5; i++) {           /* Some sequence space. */
        send_str(&B, b, "block of data");
        send_str(&A, c, "ack");
    }
    run(100);
    ha_stack_close(B.st, b, true, now);
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    cc = accepted(&C);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->remote_flow), 3);
    send_str(&C, cc, "from C");
    run(100);

    now += 1000000;                     /* Well within HA_SHED_US. */
    ha_stack_close(C.st, cc, true, now);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->remote_flow), 2);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 0);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 2);
    bb = accepted(&B);
    CU_ASSERT_TRUE(bb->resumed);
    CU_ASSERT_EQUAL(bb->nonce, c->nonce);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_MOVED), 2);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    send_str(&B, bb, "B again");
    run(100);
    CU_ASSERT_EQUAL(c->stats.rx_gaps, 0);
}

/* The nonce rules: a FAIL with another nonce neither fails nor restarts a
 * resync; a FAIL that does not acknowledge our RSYN is a duplicate; the
 * shed table refuses only its own nonce; entries expire. */
static void
test_nonce_rules(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);
    struct sfp_frame f, rsyn;
    uint32_t flow;
    size_t mark;

    rr[0] = &C;                         /* Nobody answers the RSYN... */
    rr[1] = &C;
    ha_stack_destroy(C.st);
    C.st = NULL;
    ha_stack_close(B.st, b, true, now);
    mark = n_tx;
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, &rsyn), 1);
    flow = c->local_flow;

    memset(&f, 0, sizeof f);
    f.src_flow = c->remote_flow;        /* B, the shedding instance. */
    f.dst_flow = c->local_flow;
    f.src_obj = OBJ;
    f.dst_obj = c->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.flags = SFP_F_FAIL;
    f.hdr.ack = rsyn.hdr.seq + 1;
    f.hdr.nonce = c->nonce ^ 0x10;
    /* ...a FAIL with a wrong nonce is dropped... */
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), HA_DROP_BAD_NONCE + 1);
    CU_ASSERT_EQUAL(c->local_flow, flow);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 0);
    /* ...the right nonce not acknowledging the RSYN: a duplicate... */
    f.hdr.nonce = c->nonce;
    f.hdr.ack = rsyn.hdr.seq;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), 0);
    CU_ASSERT_EQUAL(c->local_flow, flow);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    /* ...and the refusal itself moves the client to another sockID with
     * a new RSYN, same nonce. */
    f.hdr.ack = rsyn.hdr.seq + 1;
    mark = n_tx;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), 0);
    CU_ASSERT_NOT_EQUAL(c->local_flow, flow);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 1);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, &rsyn), 1);
    CU_ASSERT_EQUAL(rsyn.src_flow, c->local_flow);
    CU_ASSERT_EQUAL(rsyn.hdr.nonce, c->nonce);
    wire_head = wire_tail;

    /* B's shed table: an RSYN with another nonce is not refused (B's
     * listener resumes it); one with B's nonce is, until HA_SHED_US. */
    rsyn.hdr.nonce = c->nonce + 1;
    rsyn.dst_flow = sfp_flowid_unresolved(10);
    CU_ASSERT_EQUAL(ha_stack_input(B.st, &rsyn, now), 0);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 0);
    CU_ASSERT_EQUAL(txlog[n_tx - 1].hdr.flags, SFP_F_RSYN | SFP_F_ACK);
    rsyn.hdr.nonce = c->nonce;
    rsyn.src_flow = sfp_flowid_make(10, 1, 60001);
    CU_ASSERT_EQUAL(ha_stack_input(B.st, &rsyn, now), 0);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 1);
    CU_ASSERT_EQUAL(txlog[n_tx - 1].hdr.flags, SFP_F_FAIL);
    now += HA_SHED_US + 1;
    ha_stack_tick(B.st, now);
    rsyn.src_flow = sfp_flowid_make(10, 1, 60002);
    CU_ASSERT_EQUAL(ha_stack_input(B.st, &rsyn, now), 0);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_shed_rsyn, 1);
    CU_ASSERT_EQUAL(txlog[n_tx - 1].hdr.flags, SFP_F_RSYN | SFP_F_ACK);
    wire_head = wire_tail;
}

/* The client moves while B sheds it (B's FAIL lost): its RSYN to B's
 * flowID is answered with FAIL by the failed connection, and the client
 * fails over to C instead of retransmitting to B until it times out. */
static bool
drop_fail(const struct sfp_frame *f)
{
    static int seen;

    if (!f) {
        seen = 0;
        return false;
    }
    return f->hdr.flags == SFP_F_FAIL && seen++ == 0;
}

static void
test_move_while_shed(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc;

    rr_next = 1;                        /* Next new 5-tuple: C. */
    drop_fail(NULL);
    drop_hook = drop_fail;
    ha_stack_close(B.st, b, true, now);
    run(100);                           /* The proactive FAIL is lost. */
    ha_stack_set_prefix(A.st, sfp_flowid_make(10, 4, 0), now);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->local_flow), 4);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->remote_flow), 3);
    cc = accepted(&C);
    CU_ASSERT_TRUE(cc->resumed);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
}

/* The RSYN's bucket is an instance whose application is gone (D: no
 * listener for OBJ, not yet unbound): D's stack answers RST from its host
 * flowID, acknowledging the RSYN.  That RST refuses the RSYN like a FAIL:
 * the client retries from another sockID (a new 5-tuple: the next bucket)
 * and C resumes the connection, instead of retransmitting into D until it
 * times out. */
static void
test_rsyn_to_dead_instance_refused(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b), *cc;
    uint32_t s0 = c->local_flow;
    struct sfp_frame r1, r2, rst;
    size_t mark;

    script[0] = &D;
    script[1] = &C;
    n_script = 2;
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    run(100);

    CU_ASSERT_EQUAL(ha_stack_stats(D.st)->rx_no_listener, 1);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RST, 0, &rst), 1);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, NULL), 2);
    tx_find(mark, SFP_F_RSYN, 0, &r1);
    tx_find(mark, SFP_F_RSYN, 1, &r2);
    CU_ASSERT_EQUAL(rst.src_flow, sfp_flowid_make(10, 5, 0));
    CU_ASSERT_EQUAL(rst.dst_flow, r1.src_flow);
    CU_ASSERT_EQUAL(rst.hdr.ack, r1.hdr.seq + 1);
    CU_ASSERT_EQUAL(rst.hdr.nonce, c->nonce);
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(r1.src_flow), sfp_flowid_sock(s0));
    CU_ASSERT_NOT_EQUAL(sfp_flowid_sock(r2.src_flow),
                        sfp_flowid_sock(r1.src_flow));
    CU_ASSERT(sfp_flowid_is_unresolved(r2.dst_flow));
    CU_ASSERT_EQUAL(r2.hdr.nonce, c->nonce);
    CU_ASSERT_EQUAL(r2.hdr.ack, r1.hdr.ack);

    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->local_flow, r2.src_flow);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->remote_flow), 3);
    cc = accepted(&C);
    CU_ASSERT_TRUE(cc->resumed);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_TIMEDOUT), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_LOCAL_MOVED), 2);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 1);
    CU_ASSERT_EQUAL(ha_stack_count(D.st), 0);   /* D made nothing. */
    send_str(&A, c, "to C");
    send_str(&C, cc, "from C");
    run(100);
    CU_ASSERT_EQUAL(cc->stats.rx_packets, 1);
    CU_ASSERT_EQUAL(c->stats.rx_packets, 1);
}

/* Every bucket is dead: the RST refusals are bounded like FAIL refusals
 * (ECONNRESET after HA_RSYN_MAX_REFUSALS retries), well before the RSYN
 * retransmissions would have timed out. */
static void
test_dead_refusals_bounded(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);
    uint64_t t0 = now;
    size_t i, mark;

    for (i = 0; i < sizeof script / sizeof script[0]; i++) {
        script[i] = &D;
    }
    n_script = sizeof script / sizeof script[0];
    mark = n_tx;
    ha_stack_close(B.st, b, true, now);
    run(200);
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_RSYN, 0, NULL),
                    HA_RSYN_MAX_REFUSALS + 1);
    CU_ASSERT_EQUAL(tx_find(mark, SFP_F_RST, 0, NULL),
                    HA_RSYN_MAX_REFUSALS + 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_TIMEDOUT), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_DEAD), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
    CU_ASSERT_EQUAL(now, t0);                   /* No timer needed. */
    (void) c;
}

/* The RST rules while a failover RSYN is pending: a RST that does not
 * acknowledge the RSYN is dropped; the failed instance's RST is ignored;
 * one with another nonce is dropped; the right one is a refusal. */
static void
test_rst_refusal_rules(void)
{
    struct ha_conn *b, *c = connect_two_instances(&b);
    struct sfp_frame f, rsyn;
    uint32_t flow;
    size_t mark;

    rr[0] = &C;                         /* Nobody answers the RSYN. */
    rr[1] = &C;
    ha_stack_destroy(C.st);
    C.st = NULL;
    ha_stack_close(B.st, b, true, now);
    mark = n_tx;
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, &rsyn), 1);
    flow = c->local_flow;

    memset(&f, 0, sizeof f);
    f.src_flow = sfp_flowid_make(10, 5, 0);
    f.dst_flow = c->local_flow;
    f.src_obj = OBJ;
    f.dst_obj = c->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.flags = SFP_F_RST;
    f.hdr.nonce = c->nonce ^ 0x20;
    f.hdr.ack = rsyn.hdr.seq + 1;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), HA_DROP_BAD_NONCE + 1);
    f.hdr.nonce = c->nonce;
    f.hdr.ack = rsyn.hdr.seq;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), HA_DROP_BAD_ACK + 1);
    f.src_flow = c->remote_flow;        /* B, the failed instance. */
    f.hdr.ack = rsyn.hdr.seq + 1;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), HA_DROP_STATE + 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(c->local_flow, flow);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 0);

    f.src_flow = sfp_flowid_make(10, 5, 0);
    mark = n_tx;
    CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now), 0);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_NOT_EQUAL(c->local_flow, flow);
    CU_ASSERT_EQUAL(c->rsyn_refusals, 1);
    CU_ASSERT_EQUAL_FATAL(tx_find(mark, SFP_F_RSYN, 0, &rsyn), 1);
    CU_ASSERT_EQUAL(rsyn.src_flow, c->local_flow);
    CU_ASSERT(sfp_flowid_is_unresolved(rsyn.dst_flow));
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    wire_head = wire_tail;
}

static CU_TestInfo failover_tests[] = {
    { "RSYN after FAIL from a new sockID", test_rsyn_from_new_sockid },
    { "duplicate FAILs do not restart the resync",
      test_duplicate_fail_ignored },
    { "RSYN back to the shedder: FAIL, retry, third stack",
      test_rsyn_back_to_shedder_refused },
    { "held datagrams across refusals go to the new instance",
      test_held_across_refusals },
    { "lost refusal: retransmission refused again", test_refusal_lost },
    { "refusals bounded: ECONNRESET", test_refusals_bounded },
    { "second failover back to the first instance",
      test_second_failover_back_to_first },
    { "nonce rules and shed table expiry", test_nonce_rules },
    { "move while shed", test_move_while_shed },
    { "RSYN to a dead instance: RST, retry, third stack",
      test_rsyn_to_dead_instance_refused },
    { "RST refusals bounded: ECONNRESET", test_dead_refusals_bounded },
    { "RST rules during a failover RSYN", test_rst_refusal_rules },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "failover", NULL, NULL, setup, teardown, failover_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ha_failover", suites);
}
