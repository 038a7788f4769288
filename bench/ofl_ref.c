/*
 * sf-ofload-ref: a reference responder that calibrates sf-ofload.
 *
 * It is the fastest OpenFlow 1.0 "controller" this suite knows how to write
 * and exists only to find the load generator's own ceiling on a machine:
 * a figure sf-ofload reports near this responder's says more about the
 * machine and the load generator than about the controller.  It is not a
 * learning switch: every packet-in is answered with one flow-mod that
 * matches the packet's in_port, source and destination MACs exactly, sends
 * to port OFL_PORT_DST and names the packet-in's buffer id.  The flow-mod is
 * encoded once with libopenvswitch into a template and patched per answer;
 * every read is parsed completely and its answers leave in one write.
 *
 * Usage: sf-ofload-ref --listen tcp:127.0.0.1:PORT.  Runs until SIGINT or
 * SIGTERM.  Exit status 1 if it cannot listen, 2 for bad options.
 */
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bench/ofl_msg.h"
#include "openflow/openflow.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/util.h"
#include "bench/ofl_log.h"

VLOG_DEFINE_THIS_MODULE(ofload_ref);

#define OFLR_RX_CHUNK 65536

/* The flow-mod template and the offsets patched per answer. */
struct oflr_tmpl {
    struct ofpbuf *msg;
    size_t match_ofs;           /* struct ofp10_match. */
    size_t bid_ofs;             /* Buffer id. */
};

struct oflr_conn {
    uv_tcp_t tcp;               /* tcp.data == this. */
    uv_write_t write_req;
    bool writing;
    struct ofpbuf rx, tx, txing;
};

static uv_loop_t *oflr_loop;
static uv_tcp_t oflr_server;
static uv_signal_t oflr_signals[2];
static struct oflr_tmpl oflr_fm;

static void
oflr_tmpl_init(struct oflr_tmpl *t)
{
    struct ofpact_output output;
    struct match match;

    ofpact_init_OUTPUT(&output);
    output.port = (OVS_FORCE ofp_port_t) OFL_PORT_DST;
    match_init_catchall(&match);
    match_set_in_port(&match, (OVS_FORCE ofp_port_t) OFL_PORT_DATA);
    match_set_dl_src(&match, ofl_msg_src_mac(0, 0));
    match_set_dl_dst(&match, ofl_msg_dst_mac(0));

    struct ofputil_flow_mod fm = {
        .priority = 1,
        .table_id = 0xff,
        .command = OFPFC_ADD,
        .idle_timeout = 60,
        .buffer_id = 0,
        .out_port = OFPP_NONE,
        .out_group = OFPG_ANY,
        .ofpacts = &output.ofpact,
        .ofpacts_len = sizeof output,
    };
    minimatch_init(&fm.match, &match);
    t->msg = ofputil_encode_flow_mod(&fm, OFPUTIL_P_OF10_STD);
    minimatch_destroy(&fm.match);

    const uint8_t *base = t->msg->data;
    size_t body = (const uint8_t *) t->msg->msg - base;
    t->match_ofs = body + offsetof(struct ofp10_flow_mod, match);
    t->bid_ofs = body + offsetof(struct ofp10_flow_mod, buffer_id);
}

static void
oflr_close_cb(uv_handle_t *h)
{
    struct oflr_conn *c = h->data;
    ofpbuf_uninit(&c->rx);
    ofpbuf_uninit(&c->tx);
    ofpbuf_uninit(&c->txing);
    free(c);
}

static void
oflr_close(struct oflr_conn *c)
{
    if (!uv_is_closing((uv_handle_t *) &c->tcp)) {
        uv_close((uv_handle_t *) &c->tcp, oflr_close_cb);
    }
}

static void oflr_flush(struct oflr_conn *);

static void
oflr_write_cb(uv_write_t *req, int status)
{
    struct oflr_conn *c = req->data;
    c->writing = false;
    ofpbuf_clear(&c->txing);
    if (status) {
        oflr_close(c);
        return;
    }
    oflr_flush(c);
}

static void
oflr_flush(struct oflr_conn *c)
{
    if (c->writing || !c->tx.size
        || uv_is_closing((uv_handle_t *) &c->tcp)) {
        return;
    }
    struct ofpbuf tmp = c->txing;
    c->txing = c->tx;
    c->tx = tmp;
    uv_buf_t buf = uv_buf_init(c->txing.data, c->txing.size);
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *) &c->tcp, &buf, 1,
                 oflr_write_cb)) {
        oflr_close(c);
        return;
    }
    c->writing = true;
}

/* Appends the answer to packet-in 'oh' to 'c->tx'. */
static void
oflr_packet_in(struct oflr_conn *c, const struct ofp_header *oh)
{
    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
    enum ofpraw raw;

    if (ofpraw_pull(&raw, &b) || raw != OFPRAW_OFPT10_PACKET_IN) {
        return;
    }
    const struct ofp10_packet_in *opi = ofpbuf_try_pull(
        &b, offsetof(struct ofp10_packet_in, data));
    const struct ether_header *eh = ofpbuf_try_pull(&b, sizeof *eh);
    if (!opi || !eh) {
        return;
    }

    uint8_t *p = ofpbuf_put(&c->tx, oflr_fm.msg->data, oflr_fm.msg->size);
    struct ofp_header *fh = (struct ofp_header *) p;
    struct ofp10_match m;

    fh->xid = oh->xid;
    memcpy(&m, p + oflr_fm.match_ofs, sizeof m);
    m.in_port = opi->in_port;
    memcpy(m.dl_src.ea, eh->ether_shost, ETH_ALEN);
    memcpy(m.dl_dst.ea, eh->ether_dhost, ETH_ALEN);
    memcpy(p + oflr_fm.match_ofs, &m, sizeof m);
    memcpy(p + oflr_fm.bid_ofs, &opi->buffer_id, sizeof opi->buffer_id);
}

static void
oflr_dispatch(struct oflr_conn *c, const struct ofp_header *oh)
{
    enum ofptype type;

    if (ofptype_decode(&type, oh)) {
        return;
    }
    if (type == OFPTYPE_PACKET_IN) {
        oflr_packet_in(c, oh);
    } else if (type == OFPTYPE_ECHO_REQUEST) {
        struct ofpbuf *r = ofputil_encode_echo_reply(oh);
        ofpbuf_put(&c->tx, r->data, r->size);
        ofpbuf_delete(r);
    }
}

static void
oflr_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct oflr_conn *c = h->data;
    (void) suggested;
    ofpbuf_prealloc_tailroom(&c->rx, OFLR_RX_CHUNK);
    *buf = uv_buf_init(ofpbuf_tail(&c->rx), OFLR_RX_CHUNK);
}

static void
oflr_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct oflr_conn *c = s->data;
    (void) buf;
    if (nread < 0) {
        oflr_close(c);
        return;
    }
    c->rx.size += (size_t) nread;
    while (c->rx.size >= sizeof(struct ofp_header)) {
        const struct ofp_header *oh = c->rx.data;
        size_t len = ntohs(oh->length);
        if (len < sizeof *oh) {
            oflr_close(c);
            return;
        }
        if (c->rx.size < len) {
            break;
        }
        oflr_dispatch(c, oh);
        ofpbuf_pull(&c->rx, len);
    }
    if (!c->rx.size) {
        ofpbuf_clear(&c->rx);
    } else if (ofpbuf_headroom(&c->rx)) {
        memmove(c->rx.base, c->rx.data, c->rx.size);
        c->rx.data = c->rx.base;
    }
    oflr_flush(c);
}

static void
oflr_accept_cb(uv_stream_t *server, int status)
{
    if (status) {
        return;
    }
    struct oflr_conn *c = calloc(1, sizeof *c);
    if (!c) {
        return;
    }
    uv_tcp_init(oflr_loop, &c->tcp);
    c->tcp.data = c;
    ofpbuf_init(&c->rx, OFLR_RX_CHUNK);
    ofpbuf_init(&c->tx, OFLR_RX_CHUNK);
    ofpbuf_init(&c->txing, OFLR_RX_CHUNK);
    if (uv_accept(server, (uv_stream_t *) &c->tcp)) {
        oflr_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    ofl_msg_put_hello(&c->tx);
    struct ofpbuf *fr = ofpraw_alloc(OFPRAW_OFPT_FEATURES_REQUEST,
                                     OFP10_VERSION, 0);
    ofpbuf_put(&c->tx, fr->data, fr->size);
    ofpbuf_delete(fr);
    if (uv_read_start((uv_stream_t *) &c->tcp, oflr_alloc_cb, oflr_read_cb)) {
        oflr_close(c);
        return;
    }
    oflr_flush(c);
}

static void
oflr_walk_close(uv_handle_t *h, void *aux)
{
    (void) aux;
    if (uv_is_closing(h)) {
        return;
    }
    if (h->type == UV_TCP && h != (uv_handle_t *) &oflr_server) {
        oflr_close(h->data);
    } else {
        uv_close(h, NULL);
    }
}

static void
oflr_signal_cb(uv_signal_t *h, int signum)
{
    (void) signum;
    uv_walk(h->loop, oflr_walk_close, NULL);
}

int
main(int argc, char *argv[])
{
    struct sockaddr_in sin;
    char host[64];
    unsigned int port;

    ovs_set_program_name(argv[0], "sf-ofload-ref");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_WARN);
    if (argc != 3 || strcmp(argv[1], "--listen")
        || sscanf(argv[2], "tcp:%63[^:]:%u", host, &port) != 2
        || port > 65535 || uv_ip4_addr(host, (int) port, &sin)) {
        fprintf(stderr, "usage: sf-ofload-ref --listen tcp:IPv4:PORT\n");
        return 2;
    }

    oflr_tmpl_init(&oflr_fm);
    oflr_loop = uv_default_loop();
    uv_tcp_init(oflr_loop, &oflr_server);
    int rc = uv_tcp_bind(&oflr_server, (const struct sockaddr *) &sin, 0);
    if (!rc) {
        rc = uv_listen((uv_stream_t *) &oflr_server, 128, oflr_accept_cb);
    }
    if (rc) {
        fprintf(stderr, "sf-ofload-ref: cannot listen on %s: %s\n", argv[2],
                uv_strerror(rc));
        return 1;
    }
    uv_signal_init(oflr_loop, &oflr_signals[0]);
    uv_signal_start(&oflr_signals[0], oflr_signal_cb, SIGINT);
    uv_signal_init(oflr_loop, &oflr_signals[1]);
    uv_signal_start(&oflr_signals[1], oflr_signal_cb, SIGTERM);

    uv_run(oflr_loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(oflr_loop);
    ofpbuf_delete(oflr_fm.msg);
    return rc ? 1 : 0;
}
