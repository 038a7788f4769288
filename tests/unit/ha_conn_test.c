/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the hostagent connection state machine (hostagent/conn.c)
 * and the per-host socket demultiplexer (hostagent/stack.c).
 *
 * Up to three stacks (hosts A = 10.1, B = 10.2, C = 10.3) exchange frames
 * over a scripted wire: every frame a stack outputs is checked with
 * sfp_frame_check(), encoded with the proto codec, queued, and decoded again
 * on delivery, so every packet the state machine emits is a legal frame.
 * Unresolved destinations (ss.0.0) go to the stack 'resolve_to' (the object
 * router's stand-in).  A drop hook loses chosen frames; the clock is fake
 * (microseconds, moved by hand).
 */
#include "hostagent/stack.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sfp.h"
#include "tests/unit/harness.h"

#define OBJ 80
#define MAX_FRAMES 256
#define MAX_EVENTS 256

struct wire_frame {
    uint8_t buf[2048];
    size_t len;
};

struct host {
    const char *name;
    struct ha_stack *st;
    int owner_tag;              /* conn->owner points here. */
};

struct event {
    struct host *h;
    struct ha_conn *c;
    enum ha_conn_event ev;
    char data[64];
    size_t len;
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
static struct host *resolve_to;
/* Drop hook: returns true to lose the frame. */
static bool (*drop_hook)(const struct sfp_frame *);
static int n_dropped;
/* Last frame each host transmitted. */
static struct sfp_frame last_tx;

static void
t_output(const struct sfp_frame *f, void *aux)
{
    struct wire_frame *w;
    struct sfp_frame g = *f;

    (void) aux;
    CU_ASSERT_EQUAL(sfp_frame_check(f), SFP_OK);
    last_tx = *f;
    last_tx.payload = NULL;
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

    CU_ASSERT_FATAL(n_events < MAX_EVENTS);
    e = &events[n_events++];
    e->h = aux;
    e->c = c;
    e->ev = ev;
    e->len = len < sizeof e->data ? len : sizeof e->data;
    if (len) {
        memcpy(e->data, data, e->len);
    }
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
host_of(uint32_t flow)
{
    if (sfp_flowid_is_unresolved(flow)) {
        return resolve_to;
    }
    switch (sfp_flowid_host(flow)) {
    case 1: return &A;
    case 2: return &B;
    case 3: return &C;
    default: return NULL;
    }
}

/* Delivers queued frames (and whatever they trigger) until the wire is
 * quiet or 'max' frames went.  Returns the number delivered. */
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
            n_dropped++;
            continue;
        }
        h = host_of(f.dst_flow);
        if (h && h->st) {
            ha_stack_input(h->st, &f, now);
        }
    }
    return n;
}

static void
wire_clear(void)
{
    wire_head = wire_tail = 0;
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

/* Advances the clock to each host's next deadline up to 'until', ticking. */
static void
advance(uint64_t until)
{
    for (;;) {
        uint64_t d = UINT64_MAX, x;
        struct host *hs[] = { &A, &B, &C };
        size_t i;

        for (i = 0; i < 3; i++) {
            if (hs[i]->st) {
                x = ha_stack_next_deadline(hs[i]->st);
                d = x < d ? x : d;
            }
        }
        if (d > until) {
            now = until;
            return;
        }
        now = d > now ? d : now;
        for (i = 0; i < 3; i++) {
            if (hs[i]->st) {
                ha_stack_tick(hs[i]->st, now);
            }
        }
        run(1000);
    }
}

static void
setup(void)
{
    wire_clear();
    n_events = 0;
    n_dropped = 0;
    drop_hook = NULL;
    now = 1000000;
    rnd = 42;
    A.st = ha_stack_create(&t_ops, &A, sfp_flowid_make(10, 1, 0));
    B.st = ha_stack_create(&t_ops, &B, sfp_flowid_make(10, 2, 0));
    C.st = ha_stack_create(&t_ops, &C, sfp_flowid_make(10, 3, 0));
    resolve_to = &B;
    CU_ASSERT_FATAL(A.st && B.st && C.st);
}

static void
teardown(void)
{
    ha_stack_destroy(A.st);
    ha_stack_destroy(B.st);
    ha_stack_destroy(C.st);
    A.st = B.st = C.st = NULL;
}

/* A listener for OBJ on host 'h'. */
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

/* A connected pair: client on A, listener on B; returns the client and
 * sets '*childp' to B's side. */
static struct ha_conn *
connect_ab(struct ha_conn **childp)
{
    struct ha_conn *c;
    struct event *e;

    listen_on(&B);
    CU_ASSERT_EQUAL_FATAL(ha_stack_socket(A.st, HA_SOCK_STREAM, 0,
                                          &A.owner_tag, &c), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_connect(A.st, c, 0, OBJ, now), 0);
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    e = find_event(&B, HA_CEV_ACCEPTED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    e->c->owner = &B.owner_tag;
    *childp = e->c;
    return c;
}

static void
send_str(struct host *h, struct ha_conn *c, const char *s)
{
    CU_ASSERT_EQUAL(ha_stack_send(h->st, c, 0, 0, s, strlen(s), now), 0);
}

static bool
got_data(struct host *h, const char *s)
{
    struct event *e = find_event(h, HA_CEV_DATA);

    return e && e->len == strlen(s) && !memcmp(e->data, s, e->len);
}

/* Whether the DATA events of 'h' since event 'from' carry exactly the
 * 'n' strings 'want', in that order. */
static bool
data_in_order(struct host *h, size_t from, const char *const *want, size_t n)
{
    size_t i, k = 0;

    for (i = from; i < n_events; i++) {
        if (events[i].h != h || events[i].ev != HA_CEV_DATA) {
            continue;
        }
        if (k == n || events[i].len != strlen(want[k])
            || memcmp(events[i].data, want[k], events[i].len)) {
            return false;
        }
        k++;
    }
    return k == n;
}

/* Index of the first event 'ev' of 'h' from 'from' on, or SIZE_MAX. */
static size_t
event_index(struct host *h, enum ha_conn_event ev, size_t from)
{
    size_t i;

    for (i = from; i < n_events; i++) {
        if (events[i].h == h && events[i].ev == ev) {
            return i;
        }
    }
    return SIZE_MAX;
}

static bool drop_all(const struct sfp_frame *);

/* ---- tests ----------------------------------------------------------- */

static void
test_handshake(void)
{
    struct ha_conn *c, *b;
    uint32_t syn_dst;

    listen_on(&B);
    CU_ASSERT_EQUAL(ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag,
                                    &c), 0);
    CU_ASSERT_EQUAL(ha_stack_connect(A.st, c, 0, OBJ, now), 0);
    CU_ASSERT_EQUAL(c->state, HA_CONN_SYN_SENT);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_SYN);
    syn_dst = last_tx.dst_flow;
    CU_ASSERT(sfp_flowid_is_unresolved(syn_dst));
    CU_ASSERT_EQUAL(sfp_flowid_ss(syn_dst), 10);
    CU_ASSERT_NOT_EQUAL(last_tx.hdr.nonce, 0);
    /* Sending before the handshake completes is refused. */
    CU_ASSERT_EQUAL(ha_stack_send(A.st, c, 0, 0, "x", 1, now), -ENOTCONN);

    now += 500;
    CU_ASSERT_EQUAL(run(100), 3);       /* SYN, SYN|ACK, ACK */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_CONNECTED), 1);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    b = find_event(&B, HA_CEV_ACCEPTED)->c;
    CU_ASSERT_PTR_EQUAL(ha_stack_listener(b), find_event(&B,
                        HA_CEV_ACCEPTED)->c == b ? ha_stack_listener(b)
                                                 : NULL);
    CU_ASSERT_PTR_NOT_NULL(ha_stack_listener(b));
    CU_ASSERT_FALSE(b->resumed);
    CU_ASSERT_EQUAL(b->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->remote_flow, b->local_flow);
    CU_ASSERT_EQUAL(b->remote_flow, c->local_flow);
    CU_ASSERT_EQUAL(sfp_flowid_host(b->local_flow), 2);
    CU_ASSERT_EQUAL(b->nonce, c->nonce);
    CU_ASSERT_EQUAL(b->local_obj, OBJ);
    /* RTT sample of the SYN (500 us): RFC 6298 first measurement. */
    CU_ASSERT_EQUAL(c->srtt_us, 500);
    CU_ASSERT_EQUAL(c->rttvar_us, 250);
    CU_ASSERT_EQUAL(c->rto_us, HA_RTO_MIN_US);
    CU_ASSERT_EQUAL(ha_conn_deadline(c), UINT64_MAX);
    CU_ASSERT_EQUAL(ha_conn_deadline(b), UINT64_MAX);

    /* Data both ways, content checked; seq counts payload bytes. */
    b->owner = &B.owner_tag;
    {
        uint32_t s0 = c->snd_nxt;

        send_str(&A, c, "hello B");
        CU_ASSERT_EQUAL(last_tx.hdr.seq, s0);
        CU_ASSERT_EQUAL(c->snd_nxt, s0 + 7);
    }
    send_str(&B, b, "hello A");
    run(100);
    CU_ASSERT(got_data(&B, "hello B"));
    CU_ASSERT(got_data(&A, "hello A"));
    CU_ASSERT_EQUAL(c->stats.tx_packets, 1);
    CU_ASSERT_EQUAL(c->stats.rx_packets, 1);
    CU_ASSERT_EQUAL(b->stats.rx_bytes, 7);
    CU_ASSERT_EQUAL(c->stats.rx_gaps, 0);

    /* Orderly close from A; B sees the peer close, then closes too. */
    ha_stack_close(A.st, c, false, now);
    CU_ASSERT_EQUAL(c->state, HA_CONN_FIN_WAIT);
    run(100);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_PEER_CLOSED), 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_TIME_WAIT);
    ha_stack_close(B.st, b, false, now);
    run(100);
    CU_ASSERT_EQUAL(b->state, HA_CONN_TIME_WAIT);
    advance(now + HA_LINGER_US + 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 1);   /* The listener. */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_DEAD), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(wire_head, wire_tail);
}

static void
test_simultaneous_close(void)
{
    struct ha_conn *b, *c = connect_ab(&b);

    ha_stack_close(A.st, c, false, now);
    ha_stack_close(B.st, b, false, now);
    CU_ASSERT_EQUAL(c->state, HA_CONN_FIN_WAIT);
    CU_ASSERT_EQUAL(b->state, HA_CONN_FIN_WAIT);
    run(100);           /* FIN, FIN cross; FIN|ACK, FIN|ACK cross. */
    CU_ASSERT_EQUAL(c->state, HA_CONN_TIME_WAIT);
    CU_ASSERT_EQUAL(b->state, HA_CONN_TIME_WAIT);
    /* Neither application is told anything: both had closed. */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_CLOSED), 0);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_PEER_CLOSED), 0);
    CU_ASSERT_EQUAL(c->stats.retransmits + b->stats.retransmits, 0);
    advance(now + HA_LINGER_US + 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 1);
}

static bool
drop_first_synack(const struct sfp_frame *f)
{
    static int seen;

    if (!f) {
        seen = 0;
        return false;
    }
    return f->hdr.flags == (SFP_F_SYN | SFP_F_ACK) && seen++ == 0;
}

static void
test_lost_synack(void)
{
    struct ha_conn *c;

    drop_first_synack(NULL);
    drop_hook = drop_first_synack;
    listen_on(&B);
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    ha_stack_connect(A.st, c, 0, OBJ, now);
    run(100);
    CU_ASSERT_EQUAL(n_dropped, 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_SYN_SENT);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 2);   /* Listener + half-open. */
    CU_ASSERT_EQUAL(ha_conn_deadline(c), now + HA_RTO_INIT_US);

    /* Nothing happens before the timeout... */
    advance(now + HA_RTO_INIT_US - 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_SYN_SENT);
    /* ...then the SYN is sent again, B recognises it (same nonce) and
     * repeats its SYN|ACK instead of opening a second connection. */
    advance(now + 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->stats.retransmits, 1);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 2);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_CONNECTED), 1);
    /* Karn: no RTT sample from a retransmitted SYN. */
    CU_ASSERT_EQUAL(c->srtt_us, 0);
}

static void
test_duplicate_syn(void)
{
    struct ha_conn *c;
    struct wire_frame dup;

    listen_on(&B);
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    ha_stack_connect(A.st, c, 0, OBJ, now);
    /* The network duplicates the SYN. */
    dup = wire[wire_head % MAX_FRAMES];
    wire[wire_tail++ % MAX_FRAMES] = dup;
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 2);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_CONNECTED), 1);
    /* A late copy after the connection is open changes nothing either. */
    wire[wire_tail++ % MAX_FRAMES] = dup;
    run(100);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 2);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_ACCEPTED), 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
}

static void
test_rst_unknown_flow(void)
{
    struct sfp_frame f;
    struct ha_conn *b, *c;

    /* A packet for a sockID nobody holds is answered with RST carrying
     * its nonce. */
    memset(&f, 0, sizeof f);
    f.src_flow = sfp_flowid_make(10, 1, 2000);
    f.dst_flow = sfp_flowid_make(10, 2, 3000);
    f.src_obj = 2000;
    f.dst_obj = OBJ;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.hlen = 5;
    f.hdr.seq = 7;
    f.hdr.nonce = 0x1122334455667788ull;
    CU_ASSERT(ha_stack_input(B.st, &f, now) > 0);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RST);
    CU_ASSERT_EQUAL(last_tx.hdr.nonce, f.hdr.nonce);
    CU_ASSERT_EQUAL(last_tx.dst_flow, f.src_flow);
    CU_ASSERT_EQUAL(last_tx.src_flow, f.dst_flow);
    CU_ASSERT_EQUAL(last_tx.hdr.ack, 8);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->tx_rst, 1);
    wire_clear();
    /* A RST is never answered with a RST. */
    f.hdr.flags = SFP_F_RST;
    ha_stack_input(B.st, &f, now);
    CU_ASSERT_EQUAL(wire_head, wire_tail);
    /* A SYN for an objectID nobody serves: RST too. */
    f.hdr.flags = SFP_F_SYN;
    f.dst_flow = sfp_flowid_unresolved(10);
    f.dst_obj = 999;
    ha_stack_input(B.st, &f, now);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RST);
    CU_ASSERT_EQUAL(ha_stack_stats(B.st)->rx_no_listener, 1);
    wire_clear();

    /* B loses its state (e.g. the agent restarted): A's next packet is
     * answered with RST and A's application sees a reset. */
    c = connect_ab(&b);
    ha_stack_destroy(B.st);
    B.st = ha_stack_create(&t_ops, &B, sfp_flowid_make(10, 2, 0));
    send_str(&A, c, "anyone?");
    run(100);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
}

static void
test_fail_then_rsyn(void)
{
    struct ha_conn *b, *c, *cc;
    struct event *e;
    uint32_t b_flow;

    c = connect_ab(&b);
    b_flow = b->local_flow;
    listen_on(&C);
    send_str(&A, c, "one");
    run(100);
    CU_ASSERT(got_data(&B, "one"));

    /* B's application closes with SF_SEND_FAIL; the object router now
     * resolves the objectID to C. */
    resolve_to = &C;
    ha_stack_close(B.st, b, true, now);
    CU_ASSERT_EQUAL(b->state, HA_CONN_FAILED);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_FAIL);
    now += 300;
    run(100);                   /* FAIL, RSYN, RSYN|ACK, ACK */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_MOVED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    e = find_event(&C, HA_CEV_ACCEPTED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    cc = e->c;
    CU_ASSERT_TRUE(cc->resumed);
    CU_ASSERT_EQUAL(cc->nonce, c->nonce);
    CU_ASSERT_EQUAL(c->remote_flow, cc->local_flow);
    CU_ASSERT_NOT_EQUAL(c->remote_flow, b_flow);
    CU_ASSERT_EQUAL(sfp_flowid_host(cc->local_flow), 3);
    CU_ASSERT_EQUAL(c->stats.resyncs, 1);

    /* The client's socket keeps working, now with C. */
    cc->owner = &C.owner_tag;
    send_str(&A, c, "two");
    send_str(&C, cc, "from C");
    run(100);
    CU_ASSERT(got_data(&C, "two"));
    CU_ASSERT(got_data(&A, "from C"));
    CU_ASSERT_EQUAL(cc->stats.rx_gaps, 0);

    /* The failed instance lingers, then goes. */
    advance(now + HA_FAIL_LINGER_US + 1);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
}

static void
test_fail_survives_listener_close(void)
{
    struct ha_conn *l, *b, *c;
    struct event *e;

    /* The server application closes its connection with SF_SEND_FAIL,
     * then its listener, then exits: the failed connection must linger
     * (answering FAIL), and a RST from the old instance must not stop the
     * client's resync. */
    l = listen_on(&B);
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    ha_stack_connect(A.st, c, 0, OBJ, now);
    run(100);
    e = find_event(&B, HA_CEV_ACCEPTED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    b = e->c;
    b->owner = &B.owner_tag;
    listen_on(&C);
    resolve_to = &C;
    ha_stack_close(B.st, b, true, now);
    ha_stack_close(B.st, l, false, now);
    CU_ASSERT_EQUAL(b->state, HA_CONN_FAILED);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 1);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(sfp_flowid_host(c->remote_flow), 3);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
}

static void
test_rst_from_failed_instance_ignored(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    uint32_t b_flow = b->local_flow;

    /* B's state vanishes right after its FAIL; the client's resync goes
     * to C, which does not answer yet.  B's RST (for data in flight) must
     * not kill the resync. */
    resolve_to = &C;            /* The RSYN stays on the wire. */
    ha_stack_close(B.st, b, true, now);
    run(1);                     /* FAIL -> A, A sends RSYN (lost). */
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    ha_stack_destroy(B.st);
    B.st = ha_stack_create(&t_ops, &B, sfp_flowid_make(10, 2, 0));
    {
        struct sfp_frame f;

        memset(&f, 0, sizeof f);
        f.src_flow = b_flow;
        f.dst_flow = c->local_flow;
        f.src_obj = OBJ;
        f.dst_obj = c->local_obj;
        f.hdr.version = SFP_VERSION;
        f.hdr.flags = SFP_F_RST;
        f.hdr.hlen = 5;
        f.hdr.nonce = c->nonce;
        CU_ASSERT(ha_stack_input(A.st, &f, now) > 0);
    }
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
}

static void
test_fail_answers_next_packet(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    struct event *e;

    listen_on(&C);
    resolve_to = &C;
    /* The proactive FAIL is lost; the client's next packet gets one. */
    ha_stack_close(B.st, b, true, now);
    wire_clear();
    send_str(&A, c, "lost?");
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    e = find_event(&C, HA_CEV_ACCEPTED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_TRUE(e->c->resumed);
}

static void
test_rsyn_after_move(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    uint32_t old = c->local_flow;

    /* A moves: its hostID changes from 1 to 3 (C's stack is not used). */
    ha_stack_destroy(C.st);
    C.st = NULL;
    ha_stack_set_prefix(A.st, sfp_flowid_make(10, 3, 0), now);
    /* Deliveries to 10.3 must reach A now. */
    C.st = A.st;
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    CU_ASSERT_EQUAL(last_tx.dst_flow, b->local_flow);
    CU_ASSERT_EQUAL(sfp_flowid_sock(c->local_flow), sfp_flowid_sock(old));
    CU_ASSERT_EQUAL(sfp_flowid_host(c->local_flow), 3);
    /* Data sent during the resync is held, then sent after the ACK. */
    CU_ASSERT_EQUAL(ha_stack_send(A.st, c, 0, 0, "x", 1, now), 0);
    CU_ASSERT_EQUAL(c->stats.tx_held, 1);
    run(100);
    CU_ASSERT(got_data(&B, "x"));
    CU_ASSERT_EQUAL(c->n_held, 0);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(b->remote_flow, c->local_flow);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_PEER_MOVED), 1);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_MOVED), 0);
    send_str(&B, b, "after move");
    send_str(&A, c, "me too");
    run(100);
    CU_ASSERT(got_data(&A, "after move"));
    CU_ASSERT(got_data(&B, "me too"));
    CU_ASSERT_EQUAL(b->stats.rx_gaps, 0);
    C.st = NULL;
}

static void
test_send_fail_immediate(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    size_t before;

    send_str(&A, c, "req");
    run(100);
    /* close_sf(SF_SEND_FAIL): the FAIL leaves at once, before the client
     * sends anything else: seq = B's next, ack = B's receive point, the
     * connection's nonce, from B's flowID to A's. */
    before = wire_tail;
    ha_stack_close(B.st, b, true, now);
    CU_ASSERT_EQUAL(wire_tail, before + 1);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_FAIL);
    CU_ASSERT_EQUAL(last_tx.src_flow, b->local_flow);
    CU_ASSERT_EQUAL(last_tx.dst_flow, c->local_flow);
    CU_ASSERT_EQUAL(last_tx.hdr.seq, b->snd_nxt);
    CU_ASSERT_EQUAL(last_tx.hdr.ack, c->snd_nxt);
    CU_ASSERT_EQUAL(last_tx.hdr.nonce, c->nonce);
    /* The client starts its resync on that FAIL alone. */
    resolve_to = &C;
    run(1);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
}

static void
test_held_during_failover(void)
{
    static const char *const want[] = { "r1", "r2" };
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from, acc;
    struct sfp_frame rsynack;

    listen_on(&C);
    resolve_to = &C;
    send_str(&A, c, "served");
    run(100);
    ha_stack_close(B.st, b, true, now);
    run(1);                     /* FAIL -> A: its RSYN on the wire. */
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    /* The application's next requests go nowhere yet: held. */
    from = n_events;
    send_str(&A, c, "r1");
    send_str(&A, c, "r2");
    CU_ASSERT_EQUAL(c->stats.tx_held, 2);
    CU_ASSERT_EQUAL(c->n_held, 2);
    CU_ASSERT_EQUAL(c->stats.tx_dropped, 0);
    run(1);                     /* RSYN -> C: C answers RSYN|ACK. */
    rsynack = last_tx;
    CU_ASSERT_EQUAL(rsynack.hdr.flags, SFP_F_RSYN | SFP_F_ACK);
    run(1);                     /* A: ACK, then r1, r2 right behind it. */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->n_held, 0);
    CU_ASSERT_EQUAL(wire_tail - wire_head, 3);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_DATA);
    CU_ASSERT_EQUAL(last_tx.dst_flow, rsynack.src_flow);
    run(100);
    /* The new instance accepts the resumed connection, then gets both
     * requests in order; the served one is not sent again. */
    acc = event_index(&C, HA_CEV_ACCEPTED, from);
    CU_ASSERT_NOT_EQUAL_FATAL(acc, SIZE_MAX);
    CU_ASSERT(acc < event_index(&C, HA_CEV_DATA, from));
    CU_ASSERT(data_in_order(&C, from, want, 2));
    CU_ASSERT_EQUAL(c->stats.tx_replayed, 0);
    CU_ASSERT_EQUAL(find_event(&C, HA_CEV_ACCEPTED)->c->stats.rx_gaps, 0);
}

static void
test_held_bounded(void)
{
    static const char *const want[] = { "m2", "m3", "m4", "m5" };
    struct ha_conn *b, *c = connect_ab(&b);
    char msg[8];
    size_t from;
    int i;

    CU_ASSERT_EQUAL_FATAL(HA_TXQ_MAX, 4);
    listen_on(&C);
    resolve_to = &C;
    ha_stack_close(B.st, b, true, now);
    run(1);                     /* FAIL -> A: RSYN on the wire. */
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    from = n_events;
    for (i = 0; i < HA_TXQ_MAX + 2; i++) {
        snprintf(msg, sizeof msg, "m%d", i);
        send_str(&A, c, msg);
    }
    /* The oldest two went, counted. */
    CU_ASSERT_EQUAL(c->n_held, HA_TXQ_MAX);
    CU_ASSERT_EQUAL(c->stats.tx_held, HA_TXQ_MAX + 2);
    CU_ASSERT_EQUAL(c->stats.tx_dropped, 2);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT(data_in_order(&C, from, want, 4));
    CU_ASSERT_EQUAL(c->stats.tx_dropped, 2);
}

/* A connection on its own (no stack), counting its memory. */
static int n_allocs, n_frees, n_out;

static void
x_output(struct ha_conn *c, const struct sfp_frame *f, void *aux)
{
    (void) c;
    (void) aux;
    last_tx = *f;
    last_tx.payload = NULL;
    n_out++;
}

static void
x_event(struct ha_conn *c, enum ha_conn_event ev, const void *data,
        size_t len, void *aux)
{
    (void) c;
    (void) data;
    (void) len;
    (void) aux;
    (void) ev;
}

static void *
x_alloc(size_t size, void *aux)
{
    (void) aux;
    n_allocs++;
    return malloc(size);
}

static void
x_free(void *p, void *aux)
{
    (void) aux;
    n_frees++;
    free(p);
}

static void
test_held_dropped_on_abort(void)
{
    static const struct ha_conn_ops ops = {
        .output = x_output, .event = x_event,
        .alloc = x_alloc, .free = x_free,
    };
    uint32_t a_flow = sfp_flowid_make(10, 1, 1500);
    uint32_t b_flow = sfp_flowid_make(10, 2, 1024);
    struct sfp_frame f;
    struct ha_conn x;

    n_allocs = n_frees = n_out = 0;
    ha_conn_init(&x, &ops, NULL, a_flow, 1500, now);
    CU_ASSERT_EQUAL(ha_conn_connect(&x, sfp_flowid_make(10, 0, 0), OBJ,
                                    0x1234, 100, now), 0);
    memset(&f, 0, sizeof f);
    f.src_flow = b_flow;
    f.dst_flow = a_flow;
    f.src_obj = OBJ;
    f.dst_obj = 1500;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_SYN | SFP_F_ACK;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.hdr.seq = 900;
    f.hdr.ack = 101;
    f.hdr.nonce = 0x1234;
    CU_ASSERT_EQUAL(ha_conn_input(&x, &f, now), 0);
    CU_ASSERT_EQUAL_FATAL(x.state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(ha_conn_send(&x, "d0", 2, now), 0);
    CU_ASSERT_PTR_NOT_NULL(x.tx_last);
    /* Small datagrams reuse the kept copy's buffer. */
    CU_ASSERT_EQUAL(ha_conn_send(&x, "d1", 2, now), 0);
    CU_ASSERT_EQUAL(n_allocs, 1);
    /* A move: RSYN_SENT; two datagrams held, then the application gives
     * up.  What it held is dropped, counted, and every buffer is given
     * back. */
    ha_conn_move(&x, sfp_flowid_make(10, 4, 1500), now);
    CU_ASSERT_EQUAL_FATAL(x.state, HA_CONN_RSYN_SENT);
    n_out = 0;
    CU_ASSERT_EQUAL(ha_conn_send(&x, "a", 1, now), 0);
    CU_ASSERT_EQUAL(ha_conn_send(&x, "b", 1, now), 0);
    CU_ASSERT_EQUAL(n_out, 0);
    CU_ASSERT_EQUAL(x.n_held, 2);
    CU_ASSERT_EQUAL(n_allocs, 3);
    ha_conn_abort(&x, now);
    CU_ASSERT_EQUAL(x.state, HA_CONN_CLOSED);
    CU_ASSERT_EQUAL(x.n_held, 0);
    CU_ASSERT_EQUAL(x.stats.tx_dropped, 2);
    CU_ASSERT_PTR_NULL(x.tx_last);
    CU_ASSERT_EQUAL(n_frees, n_allocs);
}

static void
test_no_storage_drops(void)
{
    static const struct ha_conn_ops ops = { .output = x_output,
                                            .event = x_event };
    struct ha_conn x;

    /* Without alloc/free a connection holds nothing: as before, a send
     * during a resync is dropped and counted (-EAGAIN). */
    ha_conn_init(&x, &ops, NULL, sfp_flowid_make(10, 1, 1500), 1500, now);
    x.state = HA_CONN_RSYN_SENT;
    CU_ASSERT_EQUAL(ha_conn_send(&x, "a", 1, now), -EAGAIN);
    CU_ASSERT_EQUAL(x.stats.tx_dropped, 1);
    CU_ASSERT_EQUAL(x.n_held, 0);
}

static void
test_fail_replays_unserved(void)
{
    static const char *const want[] = { "lost?", "next" };
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from;

    listen_on(&C);
    resolve_to = &C;
    /* The proactive FAIL is lost; the client's datagram reaches the
     * failed instance, which answers FAIL ack = its seq + 1: the new
     * instance gets that datagram after the resync, then "next". */
    ha_stack_close(B.st, b, true, now);
    wire_clear();
    from = n_events;
    send_str(&A, c, "lost?");
    run(2);                     /* DATA -> B, FAIL -> A. */
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(c->stats.tx_replayed, 1);
    send_str(&A, c, "next");
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT(data_in_order(&C, from, want, 2));
}

static void
test_fail_replays_unanswered(void)
{
    static const char *const want[] = { "req2" };
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from;

    listen_on(&C);
    resolve_to = &C;
    send_str(&A, c, "req1");
    run(100);
    send_str(&B, b, "resp1");
    run(100);
    /* "req2" reaches B's stack, but B's application sheds before it
     * answers: B's FAIL acknowledges only up to "req1" (its receive point
     * when it last sent), so A replays "req2" to the new instance. */
    send_str(&A, c, "req2");
    run(100);
    CU_ASSERT_EQUAL(b->stats.rx_packets, 2);
    from = n_events;
    ha_stack_close(B.st, b, true, now);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_FAIL);
    CU_ASSERT_EQUAL(last_tx.hdr.ack, c->snd_nxt - 4);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->stats.tx_replayed, 1);
    CU_ASSERT(data_in_order(&C, from, want, 1));
}

static void
test_fail_no_replay_when_served(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from;

    listen_on(&C);
    resolve_to = &C;
    send_str(&A, c, "served");
    run(100);
    CU_ASSERT(got_data(&B, "served"));
    /* B's FAIL acknowledges "served": nothing to replay. */
    from = n_events;
    ha_stack_close(B.st, b, true, now);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->stats.tx_replayed, 0);
    CU_ASSERT_EQUAL(event_index(&C, HA_CEV_DATA, from), SIZE_MAX);
}

static bool
drop_to_host1(const struct sfp_frame *f)
{
    return sfp_flowid_host(f->dst_flow) == 1;
}

static void
test_move_with_link_outage(void)
{
    static const char *const to_a[] = { "b2" };
    static const char *const to_b[] = { "a2", "a3" };
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from, before;

    send_str(&B, b, "b1");
    send_str(&A, c, "a1");
    run(100);
    /* A's cable is pulled: its stack hears of it, B does not. */
    ha_stack_set_link(A.st, false, now);
    CU_ASSERT_TRUE(c->link_down);
    from = n_events;
    before = wire_tail;
    send_str(&A, c, "a2");      /* Held, not sent into a dead link. */
    send_str(&A, c, "a3");
    CU_ASSERT_EQUAL(wire_tail, before);
    CU_ASSERT_EQUAL(c->stats.tx_held, 2);
    drop_hook = drop_to_host1;  /* B's next datagram goes to A's old */
    send_str(&B, b, "b2");      /* address: lost. */
    run(100);
    drop_hook = NULL;
    /* A re-joins elsewhere (hostID 3); its RSYN leaves at once, B
     * answers and replays "b2" (the RSYN's ack shows A never got it);
     * A's held datagrams follow its ACK. */
    ha_stack_destroy(C.st);
    C.st = NULL;
    ha_stack_set_prefix(A.st, sfp_flowid_make(10, 3, 0), now);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    CU_ASSERT_FALSE(c->link_down);
    CU_ASSERT(c->rto_us < HA_RTO_MIN_US);       /* Early retry armed. */
    before = wire_tail;
    ha_stack_set_link(A.st, true, now);
    CU_ASSERT_EQUAL(wire_tail, before);         /* No second RSYN. */
    C.st = A.st;
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->rto_us, HA_RTO_MIN_US);  /* The answer restores it. */
    CU_ASSERT_EQUAL(b->stats.tx_replayed, 1);
    CU_ASSERT(data_in_order(&A, from, to_a, 1));
    CU_ASSERT(data_in_order(&B, from, to_b, 2));
    CU_ASSERT_EQUAL(c->stats.rx_gaps, 0);
    CU_ASSERT_EQUAL(b->stats.rx_gaps, 0);
    C.st = NULL;
}

static void
test_relink_same_address(void)
{
    static const char *const to_a[] = { "b2" };
    static const char *const to_b[] = { "a2" };
    struct ha_conn *b, *c = connect_ab(&b);
    size_t from;
    uint32_t flow = c->local_flow;

    send_str(&B, b, "b1");
    run(100);
    ha_stack_set_link(A.st, false, now);
    from = n_events;
    send_str(&A, c, "a2");
    drop_hook = drop_to_host1;
    send_str(&B, b, "b2");
    run(100);
    drop_hook = NULL;
    /* The link comes back, same address (static mode, or the same
     * hostID from the controller): the connection resyncs anyway, from
     * the same flowID, and both sides get what the outage lost. */
    ha_stack_set_link(A.st, true, now);
    CU_ASSERT_EQUAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    CU_ASSERT_EQUAL(last_tx.src_flow, flow);
    CU_ASSERT_EQUAL(last_tx.dst_flow, b->local_flow);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT(data_in_order(&A, from, to_a, 1));
    CU_ASSERT(data_in_order(&B, from, to_b, 1));
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_PEER_MOVED), 0);
    CU_ASSERT_EQUAL(b->stats.tx_replayed, 1);
    /* Nothing was lost: a repeated link up changes nothing. */
    ha_stack_set_link(A.st, true, now);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
}

static void
test_relink_half_closed(void)
{
    struct ha_conn *b, *c = connect_ab(&b);

    /* B is done and closes; A's application has read the end but not
     * closed yet when A's link goes down and comes back. */
    ha_stack_close(B.st, b, false, now);
    run(100);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_CLOSED), 1);
    ha_stack_set_link(A.st, false, now);
    ha_stack_set_link(A.st, true, now);
    /* Nothing to resync with (B answers nothing but its own end): no
     * RSYN, and no reset or time-out for a connection that ended. */
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_NOT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    run(100);
    advance(now + 30 * HA_LINGER_US);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_TIMEDOUT), 0);
    CU_ASSERT_EQUAL_FATAL(count_events(&A, HA_CEV_DEAD), 0);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    ha_stack_close(A.st, c, false, now);
    run(100);
}

static void
test_link_up_resends_at_once(void)
{
    struct ha_conn *b, *c;
    uint64_t t;

    /* A SYN backs off while the link is down... */
    listen_on(&B);
    ha_stack_set_link(A.st, false, now);
    drop_hook = drop_all;
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    CU_ASSERT_TRUE(c->link_down);       /* Opened while down. */
    ha_stack_connect(A.st, c, 0, OBJ, now);
    advance(now + HA_RTO_INIT_US * 7);  /* Three retransmissions. */
    CU_ASSERT_EQUAL(c->stats.retransmits, 3);
    CU_ASSERT_EQUAL(c->rto_us, HA_RTO_INIT_US * 8);
    /* ...and leaves at once, backoff forgotten, when it comes back. */
    drop_hook = NULL;
    t = now + 1000;
    now = t;
    ha_stack_set_link(A.st, true, now);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_SYN);
    CU_ASSERT_EQUAL(c->rto_us, HA_RTO_INIT_US);
    CU_ASSERT_EQUAL(ha_conn_deadline(c), t + HA_RTO_INIT_US);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    (void) b;
}

static void
test_move_resets_rsyn_backoff(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    uint64_t start;
    uint32_t est;

    /* A's failover RSYN is unanswered for a while (backed off)... */
    c->srtt_us = 2000;
    c->rttvar_us = 500;
    est = 2000 + 4 * 500 < HA_RTO_MIN_US ? HA_RTO_MIN_US : 4000;
    resolve_to = NULL;
    ha_stack_close(B.st, b, true, now);
    run(1);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_RSYN_SENT);
    CU_ASSERT_EQUAL(c->rto_us, est);
    advance(now + est * 7);
    CU_ASSERT(c->rto_us > est);
    /* ...then A moves: the RSYN leaves from the new flowID at once, the
     * backoff forgotten; its timeout starts from the RTT estimate
     * without the 10 ms floor (SRTT + 4 RTTVAR = 4 ms: the new router's
     * rules may lag the address) and doubles from there. */
    ha_stack_set_prefix(A.st, sfp_flowid_make(10, 4, 0), now);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    CU_ASSERT_EQUAL(sfp_flowid_host(last_tx.src_flow), 4);
    CU_ASSERT_EQUAL(c->rto_us, 4000);
    CU_ASSERT_EQUAL(ha_conn_deadline(c), now + 4000);
    start = c->stats.retransmits;
    advance(now + 4000);
    CU_ASSERT_EQUAL(c->stats.retransmits, start + 1);
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RSYN);
    CU_ASSERT_EQUAL(ha_conn_deadline(c), now + 8000);
}

static void
test_bad_nonce_ignored(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    struct sfp_frame f;
    uint8_t bad_flags[] = { SFP_F_RST, SFP_F_FAIL, SFP_F_RSYN, SFP_F_FIN,
                            SFP_F_DATA, SFP_F_SYN | SFP_F_ACK };
    size_t i;

    memset(&f, 0, sizeof f);
    f.src_flow = sfp_flowid_make(10, 3, 666);   /* Attacker's flowID. */
    f.dst_flow = c->local_flow;
    f.src_obj = OBJ;
    f.dst_obj = c->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.seq = c->rcv_nxt;
    f.hdr.nonce = c->nonce ^ 1;
    f.payload = (const uint8_t *) "evil";
    for (i = 0; i < sizeof bad_flags; i++) {
        f.hdr.flags = bad_flags[i];
        f.payload_len = bad_flags[i] == SFP_F_DATA ? 4 : 0;
        CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now),
                        HA_DROP_BAD_NONCE + 1);
    }
    CU_ASSERT_EQUAL(c->stats.drops[HA_DROP_BAD_NONCE], sizeof bad_flags);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->remote_flow, b->local_flow);     /* Not hijacked. */
    CU_ASSERT_EQUAL(wire_head, wire_tail);              /* No answer. */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_DATA), 0);

    /* The right nonce with a wrong acknowledgement is refused too. */
    f.hdr.nonce = c->nonce;
    f.hdr.flags = SFP_F_RSYN | SFP_F_ACK;
    f.hdr.ack = 12345;
    CU_ASSERT(ha_stack_input(A.st, &f, now) > 0);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);

    send_str(&A, c, "still here");
    run(100);
    CU_ASSERT(got_data(&B, "still here"));
}

/* Sends to A's connection 'c' a packet with the RIGHT nonce from another
 * source (host C, sockID 'sock') and returns ha_stack_input's result. */
static int
forge_right_nonce(struct ha_conn *c, uint32_t src, uint8_t flags,
                  uint32_t ack)
{
    struct sfp_frame f;

    memset(&f, 0, sizeof f);
    f.src_flow = src;
    f.dst_flow = c->local_flow;
    f.src_obj = c->remote_obj;
    f.dst_obj = c->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.flags = flags;
    f.hdr.seq = c->rcv_nxt;
    f.hdr.ack = ack;
    f.hdr.nonce = c->nonce;
    f.payload = (const uint8_t *) "evil";
    f.payload_len = flags & SFP_F_DATA ? 4 : 0;
    return ha_stack_input(A.st, &f, now);
}

static void
test_right_nonce_wrong_source_ignored(void)
{
    struct ha_conn *b, *c = connect_ab(&b);
    uint8_t flags[] = { SFP_F_RST, SFP_F_FAIL, SFP_F_DATA, SFP_F_ACK,
                        SFP_F_FIN, SFP_F_FIN | SFP_F_ACK,
                        SFP_F_RSYN | SFP_F_ACK, SFP_F_SYN | SFP_F_ACK };
    uint32_t srcs[] = { sfp_flowid_make(10, 3, 0),
                        sfp_flowid_make(10, 3, 666),
                        /* B's host, another sockID. */
                        sfp_flowid_make(10, 2, 4242) };
    size_t i, j;

    for (j = 0; j < sizeof srcs / sizeof srcs[0]; j++) {
        for (i = 0; i < sizeof flags; i++) {
            CU_ASSERT_EQUAL(forge_right_nonce(c, srcs[j], flags[i],
                                              c->snd_nxt),
                            HA_DROP_BAD_SOURCE + 1);
        }
    }
    CU_ASSERT_EQUAL(c->stats.drops[HA_DROP_BAD_SOURCE],
                    sizeof flags * (sizeof srcs / sizeof srcs[0]));
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(c->remote_flow, b->local_flow);
    CU_ASSERT_EQUAL(wire_head, wire_tail);              /* No answer. */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_DATA), 0);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_PEER_CLOSED), 0);

    /* The right source with the wrong objectID is refused too. */
    {
        struct sfp_frame f;

        memset(&f, 0, sizeof f);
        f.src_flow = b->local_flow;
        f.dst_flow = c->local_flow;
        f.src_obj = OBJ + 1;
        f.dst_obj = c->local_obj;
        f.hdr.version = SFP_VERSION;
        f.hdr.hlen = 5;
        f.hdr.flags = SFP_F_RST;
        f.hdr.nonce = c->nonce;
        CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now),
                        HA_DROP_BAD_SOURCE + 1);
    }
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);

    /* The real peer still talks, and its RST still counts. */
    send_str(&B, b, "still here");
    run(100);
    CU_ASSERT(got_data(&A, "still here"));
    ha_stack_abort(B.st, b, now);
    run(100);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
}

/* The passive side: a forged FAIL or RST with the right nonce from a
 * stranger must not fail or reset B's connection either. */
static void
test_right_nonce_wrong_source_passive(void)
{
    struct ha_conn *b;
    struct sfp_frame f;

    connect_ab(&b);
    memset(&f, 0, sizeof f);
    f.src_flow = sfp_flowid_make(10, 3, 7);
    f.dst_flow = b->local_flow;
    f.src_obj = b->remote_obj;
    f.dst_obj = b->local_obj;
    f.hdr.version = SFP_VERSION;
    f.hdr.hlen = 5;
    f.hdr.nonce = b->nonce;
    f.hdr.flags = SFP_F_RST;
    CU_ASSERT_EQUAL(ha_stack_input(B.st, &f, now), HA_DROP_BAD_SOURCE + 1);
    f.hdr.flags = SFP_F_FAIL;
    CU_ASSERT_EQUAL(ha_stack_input(B.st, &f, now), HA_DROP_BAD_SOURCE + 1);
    CU_ASSERT_EQUAL(b->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_RESET), 0);
}

/* Static mode without a --static-object entry: the SYN to ss.0.0 reaches
 * every agent on the link.  B (listener) answers SYN|ACK, C (none) RST
 * with the right nonce; the RST arriving after the SYN|ACK fixed the
 * remote must not reset the connection B accepted. */
static void
test_unresolved_syn_rst_from_other_agent(void)
{
    struct ha_conn *c, *b;
    struct sfp_frame syn;

    listen_on(&B);
    CU_ASSERT_EQUAL_FATAL(ha_stack_socket(A.st, HA_SOCK_STREAM, 0,
                                          &A.owner_tag, &c), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_connect(A.st, c, 0, OBJ, now), 0);
    syn = last_tx;
    CU_ASSERT(sfp_flowid_is_unresolved(syn.dst_flow));
    run(100);
    CU_ASSERT_EQUAL_FATAL(c->state, HA_CONN_ESTABLISHED);
    b = find_event(&B, HA_CEV_ACCEPTED)->c;
    b->owner = &B.owner_tag;
    /* C hears the same SYN and answers RST (no listener). */
    (void) ha_stack_input(C.st, &syn, now);    /* Counted, answered. */
    CU_ASSERT_EQUAL(last_tx.hdr.flags, SFP_F_RST);
    CU_ASSERT_EQUAL(last_tx.hdr.nonce, c->nonce);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_ESTABLISHED);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 0);
    CU_ASSERT_EQUAL(c->stats.drops[HA_DROP_BAD_SOURCE], 1);
    send_str(&A, c, "alive");
    run(100);
    CU_ASSERT(got_data(&B, "alive"));

    /* A second SYN|ACK from another instance (C listening too) with the
     * right nonce changes nothing either. */
    {
        struct sfp_frame f = syn;

        f.src_flow = sfp_flowid_make(10, 3, 1500);
        f.dst_flow = c->local_flow;
        f.src_obj = OBJ;
        f.dst_obj = c->local_obj;
        f.hdr.flags = SFP_F_SYN | SFP_F_ACK;
        f.hdr.ack = syn.hdr.seq + 1;
        CU_ASSERT_EQUAL(ha_stack_input(A.st, &f, now),
                        HA_DROP_BAD_SOURCE + 1);
        CU_ASSERT_EQUAL(c->remote_flow, b->local_flow);
    }
}

/* Before any SYN|ACK, an RST with the right nonce still refuses the
 * connection (no instance serves the objectID). */
static void
test_unresolved_syn_refused(void)
{
    struct ha_conn *c;

    resolve_to = &C;                    /* No listener there. */
    CU_ASSERT_EQUAL_FATAL(ha_stack_socket(A.st, HA_SOCK_STREAM, 0,
                                          &A.owner_tag, &c), 0);
    CU_ASSERT_EQUAL_FATAL(ha_stack_connect(A.st, c, 0, OBJ, now), 0);
    run(100);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
}

/* Failover with no other instance: the RSYN to ss.0.0 meets a host
 * without a listener, whose RST (right nonce, a new source) ends the
 * resync at once, like a refused SYN; once an instance answered, a RST
 * from elsewhere is ignored. */
static void
test_failover_rsyn_refused(void)
{
    struct ha_conn *b;

    connect_ab(&b);
    resolve_to = &C;                    /* No listener on C. */
    ha_stack_close(B.st, b, true, now);
    run(100);                           /* FAIL, RSYN, RST from C */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
}

static bool
drop_lost(const struct sfp_frame *f)
{
    return f->payload_len == 4 && !memcmp(f->payload, "lost", 4);
}

static void
test_data_loss_counted(void)
{
    struct ha_conn *b, *c = connect_ab(&b);

    drop_hook = drop_lost;
    send_str(&A, c, "one");
    send_str(&A, c, "lost");
    send_str(&A, c, "three");
    run(100);
    /* Datagrams are delivered as they come; the 4 lost bytes show. */
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_DATA), 2);
    CU_ASSERT(got_data(&B, "three"));
    CU_ASSERT_EQUAL(b->stats.rx_gaps, 4);
    CU_ASSERT_EQUAL(b->rcv_nxt, c->snd_nxt);
}

static bool
drop_all(const struct sfp_frame *f)
{
    (void) f;
    return true;
}

static void
test_retransmission_backoff(void)
{
    struct ha_conn *c;
    uint64_t start = now, expect = HA_RTO_INIT_US, t;
    int i;

    drop_hook = drop_all;
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    ha_stack_connect(A.st, c, 0, OBJ, now);
    t = start;
    for (i = 1; i <= HA_MAX_RETRIES; i++) {
        t += expect;
        CU_ASSERT_EQUAL(ha_conn_deadline(c), t);
        advance(t);
        CU_ASSERT_EQUAL(c->stats.retransmits, (uint64_t) i);
        expect = expect * 2 > HA_RTO_MAX_US ? HA_RTO_MAX_US : expect * 2;
    }
    CU_ASSERT_EQUAL(c->rto_us, HA_RTO_MAX_US);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_TIMEDOUT), 0);
    advance(t + expect);
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_TIMEDOUT), 1);
    CU_ASSERT_EQUAL(ha_stack_count(A.st), 0);
    CU_ASSERT_EQUAL(n_dropped, HA_MAX_RETRIES + 1);
}

static void
test_rtt_estimate(void)
{
    struct ha_conn *b, *c = connect_ab(&b);

    /* Fresh measurement series on an established connection: FIN after
     * 40 ms.  SRTT/RTTVAR update per RFC 6298 and bounds hold. */
    c->srtt_us = 20000;
    c->rttvar_us = 4000;
    ha_stack_close(A.st, c, false, now);
    now += 40000;
    run(100);
    /* RTTVAR = 3/4*4000 + 1/4*20000 = 8000; SRTT = 7/8*20000 + 40000/8 =
     * 22500; RTO = 22500 + 4*8000 = 54500. */
    CU_ASSERT_EQUAL(c->rttvar_us, 8000);
    CU_ASSERT_EQUAL(c->srtt_us, 22500);
    CU_ASSERT_EQUAL(c->rto_us, 54500);
}

static bool
drop_first_fin(const struct sfp_frame *f)
{
    static int seen;

    if (!f) {
        seen = 0;
        return false;
    }
    return f->hdr.flags == SFP_F_FIN && seen++ == 0;
}

static void
test_lost_fin(void)
{
    struct ha_conn *b, *c = connect_ab(&b);

    drop_first_fin(NULL);
    drop_hook = drop_first_fin;
    ha_stack_close(A.st, c, false, now);
    run(100);
    CU_ASSERT_EQUAL(c->state, HA_CONN_FIN_WAIT);
    advance(now + c->rto_us);
    CU_ASSERT_EQUAL(c->state, HA_CONN_TIME_WAIT);
    CU_ASSERT_EQUAL(count_events(&B, HA_CEV_PEER_CLOSED), 1);
    CU_ASSERT_EQUAL(c->stats.retransmits, 1);
}

static void
test_datagrams(void)
{
    struct ha_conn *a, *b;
    struct event *e;

    CU_ASSERT_EQUAL(ha_stack_socket(B.st, HA_SOCK_DGRAM, 0, &B.owner_tag,
                                    &b), 0);
    CU_ASSERT_EQUAL(ha_stack_bind(B.st, b, 99), 0);
    CU_ASSERT_EQUAL(ha_stack_socket(A.st, HA_SOCK_DGRAM, 0, &A.owner_tag,
                                    &a), 0);
    CU_ASSERT_EQUAL(ha_stack_send(A.st, a, 0, 99, "ping", 4, now), 0);
    CU_ASSERT_EQUAL(last_tx.hdr.nonce, 0);
    run(100);
    e = find_event(&B, HA_CEV_DATA);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->len, 4);
    CU_ASSERT_EQUAL(b->remote_flow, a->local_flow);
    CU_ASSERT_EQUAL(b->remote_obj, a->local_obj);
    /* Reply to the source, resolved this time. */
    CU_ASSERT_EQUAL(ha_stack_send(B.st, b, b->remote_flow, b->remote_obj,
                                  "pong", 4, now), 0);
    run(100);
    CU_ASSERT(got_data(&A, "pong"));
    /* No destination objectID. */
    CU_ASSERT_EQUAL(ha_stack_send(A.st, a, 0, 0, "x", 1, now),
                    -EDESTADDRREQ);
    /* A second datagram socket cannot take the same objectID. */
    {
        struct ha_conn *d;
        CU_ASSERT_EQUAL(ha_stack_socket(B.st, HA_SOCK_DGRAM, 0, NULL, &d),
                        0);
        CU_ASSERT_EQUAL(ha_stack_bind(B.st, d, 99), -EADDRINUSE);
    }
}

static void
test_listener_close_aborts_half_open(void)
{
    struct ha_conn *l, *c;

    drop_hook = drop_first_synack;
    drop_first_synack(NULL);
    l = listen_on(&B);
    ha_stack_socket(A.st, HA_SOCK_STREAM, 0, &A.owner_tag, &c);
    ha_stack_connect(A.st, c, 0, OBJ, now);
    run(100);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 2);
    ha_stack_close(B.st, l, false, now);
    CU_ASSERT_EQUAL(ha_stack_count(B.st), 0);
    run(100);           /* The half-open child's RST reaches A. */
    CU_ASSERT_EQUAL(count_events(&A, HA_CEV_RESET), 1);
    /* Address reuse: a new listener may take the objectID. */
    listen_on(&B);
}

static CU_TestInfo conn_tests[] = {
    { "handshake, data, close", test_handshake },
    { "simultaneous close", test_simultaneous_close },
    { "lost SYN-ACK retransmitted", test_lost_synack },
    { "duplicate SYN", test_duplicate_syn },
    { "RST for unknown flow", test_rst_unknown_flow },
    { "FAIL then RSYN to a new instance", test_fail_then_rsyn },
    { "FAIL answers the next packet", test_fail_answers_next_packet },
    { "FAIL survives the listener's close",
      test_fail_survives_listener_close },
    { "RST from the failed instance ignored during resync",
      test_rst_from_failed_instance_ignored },
    { "RSYN after move", test_rsyn_after_move },
    { "SF_SEND_FAIL close sends FAIL at once", test_send_fail_immediate },
    { "datagrams held during failover, sent after the ACK",
      test_held_during_failover },
    { "held datagrams bounded, oldest dropped and counted",
      test_held_bounded },
    { "held datagrams dropped on abort, memory given back",
      test_held_dropped_on_abort },
    { "no storage: datagrams dropped during a resync",
      test_no_storage_drops },
    { "FAIL in answer to a datagram: it goes to the new instance",
      test_fail_replays_unserved },
    { "FAIL after the shedder's last answer: the rest is replayed",
      test_fail_replays_unanswered },
    { "FAIL acknowledging the last datagram: no replay",
      test_fail_no_replay_when_served },
    { "move with a link outage: held and replayed datagrams",
      test_move_with_link_outage },
    { "link back with the same address: resync and replay",
      test_relink_same_address },
    { "link back, peer already closed: no resync",
      test_relink_half_closed },
    { "link up: pending SYN at once, backoff reset",
      test_link_up_resends_at_once },
    { "move: RSYN at once, backoff reset, early first retry",
      test_move_resets_rsyn_backoff },
    { "bad nonce ignored", test_bad_nonce_ignored },
    { "right nonce from another source ignored",
      test_right_nonce_wrong_source_ignored },
    { "right nonce from another source ignored (passive)",
      test_right_nonce_wrong_source_passive },
    { "RST from another agent after SYN|ACK ignored",
      test_unresolved_syn_rst_from_other_agent },
    { "RST before SYN|ACK refuses", test_unresolved_syn_refused },
    { "failover RSYN refused by a host without listener",
      test_failover_rsyn_refused },
    { "data loss counted in bytes", test_data_loss_counted },
    { "retransmission backoff", test_retransmission_backoff },
    { "RTT estimate (RFC 6298)", test_rtt_estimate },
    { "lost FIN", test_lost_fin },
    { "unbound datagrams", test_datagrams },
    { "listener close aborts half-open",
      test_listener_close_aborts_half_open },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "conn", NULL, NULL, setup, teardown, conn_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ha_conn", suites);
}
