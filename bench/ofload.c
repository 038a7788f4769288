/*
 * sf-ofload: a cbench-style OpenFlow 1.0 controller benchmark.
 *
 * It emulates N switches, one TCP connection each, against one controller
 * and counts the controller's answers to packet-ins.
 *
 * Workload (as cbench's learning-switch workload).  After the handshake
 * (hello, features request/reply and whatever set-up requests the
 * controller makes) each switch announces one destination MAC with a
 * gratuitous ARP packet-in on port OFL_PORT_DST, then sends an echo request
 * and waits for its reply: a controller answers in order, so by then it has
 * learned the MAC.  Data packet-ins then arrive on port OFL_PORT_DATA with
 * that destination and a source MAC cycling through --macs addresses; each
 * carries a buffer id, so a learning controller answers each with one
 * flow-mod that names the buffer.  Flow-mods ADD/MODIFY_STRICT and
 * packet-outs count as responses, as in cbench, except that packet-outs of
 * the controller's own (no buffer id, not from the data port: discovery
 * probes) are counted apart (cbench leaves out LLDP packet-outs).
 *
 * Modes.  throughput: every switch keeps its socket full (one batch of
 * --batch bytes of packet-ins in flight in libuv at all times, plus whatever
 * the kernel buffers).  latency: one packet-in outstanding per switch; the
 * next one goes out when the answer carrying its buffer id comes back, so
 * responses per second per switch is 1 / round-trip time.
 *
 * Measurement.  Load starts when every switch has finished the handshake.
 * A timer ends a loop every --duration seconds; the first --warmup loops are
 * discarded.  Each loop prints one line with the total rate and every
 * switch's rate; the summary gives mean, min, max and standard deviation of
 * the total over the measured loops.
 *
 * Data structures and lifetimes.  One struct ofl_bench owns everything: the
 * libuv loop, the timer and an array of struct ofl_switch.  A switch owns
 * its uv_tcp_t, a receive buffer that accumulates stream bytes until whole
 * messages are in, a transmit buffer being filled and one being written
 * (swapped when a write completes), and its packet-in templates.  Every read
 * parses all complete messages and the answers go out in one write.  At the
 * end every handle is closed and the loop run until it has nothing open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bench/ofl_msg.h"
#include "openflow/openflow.h"
#include "openvswitch/json.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/util.h"
#include "bench/ofl_log.h"

VLOG_DEFINE_THIS_MODULE(ofload);

/* Controller-triggered problems: at most 5 lines per second. */
static struct vlog_rate_limit ofl_rl = VLOG_RATE_LIMIT_INIT(5, 20);

#define OFL_RX_CHUNK 65536      /* Read buffer tailroom per read. */
#define OFL_MAX_SWITCHES 65535
#define OFL_SYNC_XID 0x5f000001u /* Echo xid that ends the learn phase. */

enum ofl_mode {
    OFL_THROUGHPUT,
    OFL_LATENCY,
};

enum ofl_state {
    OFL_CONNECTING,             /* TCP connect in progress. */
    OFL_HANDSHAKE,              /* Waiting for hello and features request. */
    OFL_LEARN,                  /* Announced the destination, waiting for the
                                 * sync echo reply. */
    OFL_READY,                  /* Handshake done, may send load. */
};

struct ofl_config {
    struct sockaddr_in controller; /* Controller address. */
    char controller_name[64];   /* "tcp:IP:PORT" as given. */
    enum ofl_mode mode;
    int n_switches;
    double duration;            /* Seconds per loop. */
    int loops;                  /* Measured loops. */
    int warmup;                 /* Loops discarded first. */
    uint32_t macs;              /* Distinct source MACs per switch. */
    size_t batch;               /* Throughput mode: bytes per write. */
    double connect_timeout;     /* Seconds for every handshake. */
    bool json;                  /* JSON summary on stdout. */
    bool quiet;                 /* No per-loop lines. */
};

struct ofl_bench;

struct ofl_switch {
    uv_tcp_t tcp;               /* tcp.data == this. */
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct ofl_bench *bench;    /* Owner. */
    uint16_t id;                /* 1-based; also the datapath id. */
    enum ofl_state state;
    bool open;                  /* tcp initialised, not closed yet. */
    bool writing;               /* 'txing' is being written. */
    bool got_hello;
    bool got_features_request;
    uint16_t miss_len;          /* From set-config. */

    struct ofpbuf rx;           /* Received bytes not yet parsed. */
    struct ofpbuf tx;           /* Messages queued for the next write. */
    struct ofpbuf txing;        /* Messages being written. */

    struct ofl_pin data_pin;    /* Template: data packet-in. */
    struct ofl_pin learn_pin;   /* Template: destination announcement. */
    uint32_t next_xid;
    uint32_t next_bid;          /* Next buffer id. */
    uint32_t mac_idx;           /* Next source MAC number. */

    /* Latency mode: the one outstanding packet-in. */
    bool outstanding;
    uint32_t out_bid;
    uint64_t out_sent_ns;

    /* Counters since the start of the load. */
    uint64_t sent;              /* Data packet-ins sent. */
    uint64_t responses;         /* Flow-mod ADD + packet-out after READY. */
    uint64_t flow_mods;         /* Flow-mod ADD/MODIFY_STRICT after READY. */
    uint64_t flow_mods_buffered; /* ... of which carried a buffer id. */
    uint64_t packet_outs;       /* Packet-outs after READY. */
    uint64_t other_flow_mods;   /* Flow-mods with other commands. */
    uint64_t other_packet_outs; /* Packet-outs not answering packet-ins. */
    uint64_t errors;            /* OFPT_ERROR received. */
    uint64_t unanswered;        /* Requests we answered with an error. */
    uint64_t mismatched;        /* Latency mode: wrong buffer id. */
    uint64_t lost;              /* Latency mode: given up after a loop. */
    uint64_t lat_sum_ns;        /* Latency mode: sum of round trips. */
    uint64_t lat_n;

    uint64_t loop_base;         /* 'responses' at the start of this loop. */
};

struct ofl_loop_result {
    double seconds;             /* Actual length. */
    double total;               /* Responses per second, all switches. */
    double *per_switch;         /* Responses per second, each switch. */
};

struct ofl_bench {
    struct ofl_config cfg;
    uv_loop_t loop;
    uv_timer_t timer;           /* Handshake timeout, then loop ticks. */
    uv_signal_t sigint;
    struct ofl_switch *switches;
    int n_ready;
    bool loading;               /* Load started. */
    int loop_no;                /* Loops finished. */
    uint64_t loop_start_ns;
    struct ofl_loop_result *results; /* loops + warmup entries. */
    int exit_code;
    bool failed;                /* ofl_fail() already ran. */
};

static void ofl_fail(struct ofl_bench *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ofl_stop(struct ofl_bench *);
static void ofl_flush(struct ofl_switch *);
static void ofl_fill(struct ofl_switch *);

static void
ofl_usage(void)
{
    printf("\
sf-ofload: cbench-style OpenFlow 1.0 controller benchmark.\n\
usage: sf-ofload [OPTIONS]\n\
  -c, --controller tcp:IP:PORT\n\
                          controller to load (default tcp:127.0.0.1:6653)\n\
  -m, --mode MODE         throughput (default) or latency\n\
  -s, --switches N        emulated switches, one connection each (16)\n\
  -d, --duration SEC      length of one loop in seconds (1)\n\
  -l, --loops N           measured loops (10)\n\
  -w, --warmup N          loops run first and discarded (1)\n\
  -M, --macs N            distinct source MACs per switch (1000); keep it\n\
                          below the controller's MAC table size\n\
                          (ovs-testcontroller: 2048) or the destination is\n\
                          evicted and answers turn into floods\n\
  -b, --batch BYTES       throughput mode: bytes of packet-ins per write\n\
                          (65536)\n\
  -t, --connect-timeout SEC\n\
                          time for every switch to finish the handshake (5)\n\
  -j, --json              print the summary as one JSON object on stdout\n\
                          (loop lines go to stderr)\n\
  -q, --quiet             no per-loop lines\n\
  -h, --help              this help\n\
Responses are flow-mods (ADD or MODIFY_STRICT) and packet-outs that answer\n\
packet-ins (they name a buffer or come from the data port), as cbench\n\
counts them.  Exit status: 0 after a run, 1 if the controller cannot be\n\
reached, refuses OpenFlow 1.0 or drops a switch, 2 for bad options.\n");
}

/* calloc() that exits on failure (allocation happens only at start-up). */
static void *
ofl_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "sf-ofload: out of memory\n");
        exit(1);
    }
    return p;
}

static uint64_t
ofl_now_ns(void)
{
    return uv_hrtime();
}

/* Stops the run with exit code 1 and one line on stderr (only the first
 * failure is reported). */
static void
ofl_fail(struct ofl_bench *b, const char *fmt, ...)
{
    if (b->failed) {
        return;
    }
    b->failed = true;
    b->exit_code = 1;

    va_list args;
    va_start(args, fmt);
    fputs("sf-ofload: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    ofl_stop(b);
}

/* ---- sending ----------------------------------------------------------- */

static void
ofl_write_cb(uv_write_t *req, int status)
{
    struct ofl_switch *sw = req->data;

    sw->writing = false;
    ofpbuf_clear(&sw->txing);
    if (status == UV_ECANCELED || !sw->open) {
        return;
    }
    if (status) {
        ofl_fail(sw->bench, "switch %u: write to %s failed: %s", sw->id,
                 sw->bench->cfg.controller_name, uv_strerror(status));
        return;
    }
    ofl_fill(sw);
    ofl_flush(sw);
}

/* Starts writing 'tx' unless a write is in flight (then 'tx' goes out when
 * that one completes). */
static void
ofl_flush(struct ofl_switch *sw)
{
    if (sw->writing || !sw->tx.size || !sw->open) {
        return;
    }
    struct ofpbuf tmp = sw->txing;
    sw->txing = sw->tx;
    sw->tx = tmp;

    uv_buf_t buf = uv_buf_init(sw->txing.data, sw->txing.size);
    sw->write_req.data = sw;
    int rc = uv_write(&sw->write_req, (uv_stream_t *) &sw->tcp, &buf, 1,
                      ofl_write_cb);
    if (rc) {
        ofl_fail(sw->bench, "switch %u: write to %s failed: %s", sw->id,
                 sw->bench->cfg.controller_name, uv_strerror(rc));
        return;
    }
    sw->writing = true;
}

/* Queues one data packet-in. */
static void
ofl_put_data(struct ofl_switch *sw)
{
    uint32_t bid = sw->next_bid++;
    if (sw->next_bid >= 0x7fffffff) {
        sw->next_bid = 1;
    }
    struct eth_addr src = ofl_msg_src_mac(sw->id, sw->mac_idx);
    if (++sw->mac_idx >= sw->bench->cfg.macs) {
        sw->mac_idx = 0;
    }
    ofl_pin_put(&sw->data_pin, &sw->tx, sw->next_xid++, bid, src);
    sw->sent++;
    if (sw->bench->cfg.mode == OFL_LATENCY) {
        sw->outstanding = true;
        sw->out_bid = bid;
        sw->out_sent_ns = ofl_now_ns();
    }
}

/* Tops up the load: throughput mode fills 'tx' to a batch whenever no write
 * is in flight; latency mode keeps one packet-in outstanding. */
static void
ofl_fill(struct ofl_switch *sw)
{
    struct ofl_bench *b = sw->bench;

    if (!b->loading || sw->state != OFL_READY || b->failed) {
        return;
    }
    if (b->cfg.mode == OFL_THROUGHPUT) {
        if (sw->writing) {
            return;
        }
        size_t one = sw->data_pin.msg->size;
        while (sw->tx.size + one <= b->cfg.batch) {
            ofl_put_data(sw);
        }
    } else if (!sw->outstanding) {
        ofl_put_data(sw);
    }
}

/* ---- receiving --------------------------------------------------------- */

static void
ofl_count_response(struct ofl_switch *sw, enum ofl_resp resp,
                   uint32_t buffer_id)
{
    if (sw->state != OFL_READY) {
        return;
    }
    if (resp == OFL_RESP_FLOW_OTHER) {
        sw->other_flow_mods++;
        return;
    }
    if (resp == OFL_RESP_PACKET_OUT_OTHER) {
        sw->other_packet_outs++;
        return;
    }
    if (resp == OFL_RESP_FLOW_ADD) {
        sw->flow_mods++;
        if (buffer_id != UINT32_MAX) {
            sw->flow_mods_buffered++;
        }
    } else {
        sw->packet_outs++;
    }
    sw->responses++;

    if (sw->bench->cfg.mode == OFL_LATENCY && sw->outstanding) {
        if (buffer_id != sw->out_bid) {
            sw->mismatched++;
        }
        sw->lat_sum_ns += ofl_now_ns() - sw->out_sent_ns;
        sw->lat_n++;
        sw->outstanding = false;
    }
}

/* The controller's hello and features request have both arrived: announce
 * the destination MAC and sync on an echo. */
static void
ofl_start_learn(struct ofl_switch *sw)
{
    ofl_pin_put(&sw->learn_pin, &sw->tx, sw->next_xid++, UINT32_MAX,
                ofl_msg_dst_mac(sw->id));
    ofl_msg_put_echo_request(&sw->tx, OFL_SYNC_XID);
    sw->state = OFL_LEARN;
}

static void ofl_all_ready(struct ofl_bench *);

static void
ofl_dispatch(struct ofl_switch *sw, const struct ofp_header *oh)
{
    enum ofptype type;
    enum ofperr error = ofptype_decode(&type, oh);

    if (error) {
        VLOG_WARN_RL(&ofl_rl, "switch %u: undecodable message from %s: %s",
                     sw->id, sw->bench->cfg.controller_name,
                     ofperr_to_string(error));
        struct ofpbuf *reply = ofperr_encode_reply(error, oh);
        ofpbuf_put(&sw->tx, reply->data, reply->size);
        ofpbuf_delete(reply);
        sw->unanswered++;
        return;
    }

    uint32_t buffer_id;
    enum ofl_resp resp = ofl_msg_classify(oh, type, &buffer_id);
    if (resp != OFL_RESP_NONE) {
        ofl_count_response(sw, resp, buffer_id);
        return;
    }

    switch (type) {
    case OFPTYPE_HELLO: {
        uint32_t versions = 0;
        ofputil_decode_hello(oh, &versions);
        if (!(versions & (1u << OFP10_VERSION))) {
            ofl_fail(sw->bench, "switch %u: %s does not offer OpenFlow 1.0",
                     sw->id, sw->bench->cfg.controller_name);
            return;
        }
        sw->got_hello = true;
        break;
    }
    case OFPTYPE_ECHO_REPLY:
        if (sw->state == OFL_LEARN && oh->xid == htonl(OFL_SYNC_XID)) {
            sw->state = OFL_READY;
            sw->bench->n_ready++;
            if (sw->bench->n_ready == sw->bench->cfg.n_switches) {
                ofl_all_ready(sw->bench);
            }
        }
        return;
    case OFPTYPE_ERROR:
        sw->errors++;
        if (!VLOG_DROP_WARN(&ofl_rl)) {
            char *s = ofp_to_string(oh, ntohs(oh->length), NULL, NULL, 1);
            VLOG_WARN("switch %u: error from %s: %s", sw->id,
                      sw->bench->cfg.controller_name, s);
            free(s);
        }
        return;
    case OFPTYPE_FEATURES_REQUEST:
        sw->got_features_request = true;
        break;
    default:
        break;
    }

    if (ofl_msg_answer(oh, type, sw->id, &sw->miss_len, &sw->tx)) {
        sw->unanswered++;
        VLOG_DBG_RL(&ofl_rl, "switch %u: answered %s with an error", sw->id,
                    ofptype_get_name(type));
    }
    if (sw->state == OFL_HANDSHAKE && sw->got_hello
        && sw->got_features_request) {
        ofl_start_learn(sw);
    }
}

static void
ofl_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct ofl_switch *sw = handle->data;

    (void) suggested;
    ofpbuf_prealloc_tailroom(&sw->rx, OFL_RX_CHUNK);
    *buf = uv_buf_init(ofpbuf_tail(&sw->rx), OFL_RX_CHUNK);
}

static void
ofl_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ofl_switch *sw = stream->data;
    struct ofl_bench *b = sw->bench;

    (void) buf;
    if (nread < 0) {
        if (nread == UV_EOF) {
            ofl_fail(b, "switch %u: %s closed the connection", sw->id,
                     b->cfg.controller_name);
        } else {
            ofl_fail(b, "switch %u: read from %s failed: %s", sw->id,
                     b->cfg.controller_name, uv_strerror((int) nread));
        }
        return;
    }
    sw->rx.size += (size_t) nread;

    /* Parse every complete message this read delivered. */
    while (sw->rx.size >= sizeof(struct ofp_header) && !b->failed) {
        const struct ofp_header *oh = sw->rx.data;
        size_t len = ntohs(oh->length);
        if (len < sizeof *oh) {
            ofl_fail(b, "switch %u: %s sent a message of length %zu", sw->id,
                     b->cfg.controller_name, len);
            return;
        }
        if (sw->rx.size < len) {
            break;
        }
        ofl_dispatch(sw, oh);
        ofpbuf_pull(&sw->rx, len);
    }
    if (b->failed) {
        return;
    }
    /* Keep the unparsed tail at the start of the buffer. */
    if (!sw->rx.size) {
        ofpbuf_clear(&sw->rx);
    } else if (ofpbuf_headroom(&sw->rx)) {
        memmove(sw->rx.base, sw->rx.data, sw->rx.size);
        sw->rx.data = sw->rx.base;
    }
    ofl_fill(sw);
    ofl_flush(sw);
}

static void
ofl_connect_cb(uv_connect_t *req, int status)
{
    struct ofl_switch *sw = req->data;
    struct ofl_bench *b = sw->bench;

    if (status == UV_ECANCELED || b->failed) {
        return;
    }
    if (status) {
        ofl_fail(b, "cannot connect to %s: %s", b->cfg.controller_name,
                 uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&sw->tcp, 1);
    sw->state = OFL_HANDSHAKE;
    int rc = uv_read_start((uv_stream_t *) &sw->tcp, ofl_alloc_cb,
                           ofl_read_cb);
    if (rc) {
        ofl_fail(b, "switch %u: cannot read from %s: %s", sw->id,
                 b->cfg.controller_name, uv_strerror(rc));
        return;
    }
    ofl_msg_put_hello(&sw->tx);
    ofl_flush(sw);
}

/* ---- measurement ------------------------------------------------------- */

static void
ofl_tick(uv_timer_t *timer)
{
    struct ofl_bench *b = timer->data;
    uint64_t now = ofl_now_ns();
    double secs = (double) (now - b->loop_start_ns) / 1e9;
    struct ofl_loop_result *r = &b->results[b->loop_no];
    uint64_t total = 0;

    r->seconds = secs;
    for (int i = 0; i < b->cfg.n_switches; i++) {
        struct ofl_switch *sw = &b->switches[i];
        uint64_t n = sw->responses - sw->loop_base;
        sw->loop_base = sw->responses;
        r->per_switch[i] = (double) n / secs;
        total += n;
    }
    r->total = (double) total / secs;
    b->loop_start_ns = now;

    /* Announce each destination again, so that a controller's MAC table
     * does not age it out in a long run.  In latency mode, a packet-in
     * unanswered for a whole loop is given up (counted as lost) and
     * replaced, so that one dropped answer cannot stall a switch. */
    for (int i = 0; i < b->cfg.n_switches; i++) {
        struct ofl_switch *sw = &b->switches[i];
        ofl_pin_put(&sw->learn_pin, &sw->tx, sw->next_xid++, UINT32_MAX,
                    ofl_msg_dst_mac(sw->id));
        if (sw->outstanding
            && now - sw->out_sent_ns >= (uint64_t) (b->cfg.duration * 1e9)) {
            sw->outstanding = false;
            sw->lost++;
            ofl_fill(sw);
        }
        ofl_flush(sw);
    }

    if (!b->cfg.quiet) {
        FILE *f = b->cfg.json ? stderr : stdout;
        bool warm = b->loop_no < b->cfg.warmup;
        fprintf(f, "%s %d/%d %.3f s total=%.0f responses/s per-switch:",
                warm ? "warmup" : "loop",
                warm ? b->loop_no + 1 : b->loop_no - b->cfg.warmup + 1,
                warm ? b->cfg.warmup : b->cfg.loops, secs, r->total);
        for (int i = 0; i < b->cfg.n_switches; i++) {
            fprintf(f, " %.0f", r->per_switch[i]);
        }
        fputc('\n', f);
        fflush(f);
    }

    if (++b->loop_no >= b->cfg.loops + b->cfg.warmup) {
        ofl_stop(b);
    }
}

static void
ofl_handshake_timeout(uv_timer_t *timer)
{
    struct ofl_bench *b = timer->data;
    ofl_fail(b, "only %d of %d switches completed the handshake with %s "
             "within %.1f s", b->n_ready, b->cfg.n_switches,
             b->cfg.controller_name, b->cfg.connect_timeout);
}

static void
ofl_all_ready(struct ofl_bench *b)
{
    uint64_t ms = (uint64_t) (b->cfg.duration * 1000.0 + 0.5);

    uv_timer_stop(&b->timer);
    b->loading = true;
    b->loop_start_ns = ofl_now_ns();
    for (int i = 0; i < b->cfg.n_switches; i++) {
        struct ofl_switch *sw = &b->switches[i];
        ofl_fill(sw);
        ofl_flush(sw);
    }
    uv_timer_start(&b->timer, ofl_tick, ms ? ms : 1, ms ? ms : 1);
}

/* Closes every handle; uv_run() then returns. */
static void
ofl_stop(struct ofl_bench *b)
{
    if (!uv_is_closing((uv_handle_t *) &b->timer)) {
        uv_close((uv_handle_t *) &b->timer, NULL);
    }
    if (!uv_is_closing((uv_handle_t *) &b->sigint)) {
        uv_close((uv_handle_t *) &b->sigint, NULL);
    }
    for (int i = 0; i < b->cfg.n_switches; i++) {
        struct ofl_switch *sw = &b->switches[i];
        if (sw->open) {
            sw->open = false;
            uv_close((uv_handle_t *) &sw->tcp, NULL);
        }
    }
}

static void
ofl_sigint(uv_signal_t *handle, int signum)
{
    struct ofl_bench *b = handle->data;
    (void) signum;
    ofl_fail(b, "interrupted");
}

/* ---- report ------------------------------------------------------------ */

struct ofl_summary {
    double mean, min, max, stddev;
    uint64_t responses, flow_mods, flow_mods_buffered, packet_outs;
    uint64_t other_flow_mods, other_packet_outs, errors, unanswered;
    uint64_t mismatched, lost, sent;
    double latency_us;          /* Latency mode: mean round trip. */
};

static void
ofl_summarize(const struct ofl_bench *b, struct ofl_summary *s)
{
    int n = b->cfg.loops;
    const struct ofl_loop_result *r = &b->results[b->cfg.warmup];
    uint64_t lat_sum = 0, lat_n = 0;

    memset(s, 0, sizeof *s);
    s->min = n ? r[0].total : 0;
    s->max = s->min;
    for (int i = 0; i < n; i++) {
        s->mean += r[i].total;
        s->min = r[i].total < s->min ? r[i].total : s->min;
        s->max = r[i].total > s->max ? r[i].total : s->max;
    }
    s->mean = n ? s->mean / n : 0;
    for (int i = 0; i < n; i++) {
        s->stddev += (r[i].total - s->mean) * (r[i].total - s->mean);
    }
    s->stddev = n ? sqrt(s->stddev / n) : 0;

    for (int i = 0; i < b->cfg.n_switches; i++) {
        const struct ofl_switch *sw = &b->switches[i];
        s->responses += sw->responses;
        s->flow_mods += sw->flow_mods;
        s->flow_mods_buffered += sw->flow_mods_buffered;
        s->packet_outs += sw->packet_outs;
        s->other_flow_mods += sw->other_flow_mods;
        s->other_packet_outs += sw->other_packet_outs;
        s->errors += sw->errors;
        s->unanswered += sw->unanswered;
        s->mismatched += sw->mismatched;
        s->lost += sw->lost;
        s->sent += sw->sent;
        lat_sum += sw->lat_sum_ns;
        lat_n += sw->lat_n;
    }
    s->latency_us = lat_n ? (double) lat_sum / (double) lat_n / 1e3 : 0;
}

static const char *
ofl_mode_name(enum ofl_mode mode)
{
    return mode == OFL_THROUGHPUT ? "throughput" : "latency";
}

static void
ofl_report_text(const struct ofl_bench *b, const struct ofl_summary *s)
{
    printf("RESULT mode=%s switches=%d responses_per_s=%.0f min=%.0f "
           "max=%.0f stddev=%.0f loops=%d duration_s=%.3f flow_mods=%"PRIu64
           " flow_mods_buffered=%"PRIu64" packet_outs=%"PRIu64
           " packet_ins=%"PRIu64" errors=%"PRIu64,
           ofl_mode_name(b->cfg.mode), b->cfg.n_switches, s->mean, s->min,
           s->max, s->stddev, b->cfg.loops, b->cfg.duration, s->flow_mods,
           s->flow_mods_buffered, s->packet_outs, s->sent, s->errors);
    if (b->cfg.mode == OFL_LATENCY) {
        printf(" rtt_us=%.1f mismatched=%"PRIu64" lost=%"PRIu64,
               s->latency_us, s->mismatched, s->lost);
    }
    putchar('\n');
}

static void
ofl_report_json(const struct ofl_bench *b, const struct ofl_summary *s)
{
    struct json *o = json_object_create();
    struct json *loops = json_array_create_empty();
    struct json *per_switch = json_array_create_empty();

    json_object_put_string(o, "tool", "sf-ofload");
    json_object_put_string(o, "mode", ofl_mode_name(b->cfg.mode));
    json_object_put_string(o, "controller", b->cfg.controller_name);
    json_object_put(o, "switches", json_integer_create(b->cfg.n_switches));
    json_object_put(o, "handshakes_completed",
                    json_integer_create(b->n_ready));
    json_object_put(o, "duration_s", json_real_create(b->cfg.duration));
    json_object_put(o, "loops", json_integer_create(b->cfg.loops));
    json_object_put(o, "warmup", json_integer_create(b->cfg.warmup));
    json_object_put(o, "macs", json_integer_create(b->cfg.macs));
    json_object_put(o, "responses_per_s", json_real_create(s->mean));
    json_object_put(o, "min", json_real_create(s->min));
    json_object_put(o, "max", json_real_create(s->max));
    json_object_put(o, "stddev", json_real_create(s->stddev));
    json_object_put(o, "responses", json_integer_create(s->responses));
    json_object_put(o, "flow_mods", json_integer_create(s->flow_mods));
    json_object_put(o, "flow_mods_buffered",
                    json_integer_create(s->flow_mods_buffered));
    json_object_put(o, "packet_outs", json_integer_create(s->packet_outs));
    json_object_put(o, "other_flow_mods",
                    json_integer_create(s->other_flow_mods));
    json_object_put(o, "other_packet_outs",
                    json_integer_create(s->other_packet_outs));
    json_object_put(o, "packet_ins", json_integer_create(s->sent));
    json_object_put(o, "errors", json_integer_create(s->errors));
    json_object_put(o, "requests_refused",
                    json_integer_create(s->unanswered));
    if (b->cfg.mode == OFL_LATENCY) {
        json_object_put(o, "rtt_us", json_real_create(s->latency_us));
        json_object_put(o, "mismatched", json_integer_create(s->mismatched));
        json_object_put(o, "lost", json_integer_create(s->lost));
    }

    for (int i = 0; i < b->cfg.n_switches; i++) {
        double sum = 0;
        for (int l = b->cfg.warmup; l < b->cfg.warmup + b->cfg.loops; l++) {
            sum += b->results[l].per_switch[i];
        }
        json_array_add(per_switch,
                       json_real_create(b->cfg.loops ? sum / b->cfg.loops
                                                     : 0));
    }
    json_object_put(o, "per_switch_responses_per_s", per_switch);

    for (int l = 0; l < b->cfg.warmup + b->cfg.loops; l++) {
        struct json *lo = json_object_create();
        json_object_put(lo, "warmup", json_boolean_create(l < b->cfg.warmup));
        json_object_put(lo, "seconds",
                        json_real_create(b->results[l].seconds));
        json_object_put(lo, "responses_per_s",
                        json_real_create(b->results[l].total));
        json_array_add(loops, lo);
    }
    json_object_put(o, "loop_results", loops);

    char *text = json_to_string(o, JSSF_SORT);
    puts(text);
    free(text);
    json_destroy(o);
}

/* ---- set-up ------------------------------------------------------------ */

static int
ofl_parse_controller(const char *s, struct ofl_config *cfg)
{
    char host[64];
    unsigned int port;
    char extra;

    if (strncmp(s, "tcp:", 4) || strlen(s) >= sizeof cfg->controller_name) {
        return -EINVAL;
    }
    const char *colon = strrchr(s + 4, ':');
    if (!colon || (size_t) (colon - (s + 4)) >= sizeof host) {
        return -EINVAL;
    }
    memcpy(host, s + 4, (size_t) (colon - (s + 4)));
    host[colon - (s + 4)] = '\0';
    if (sscanf(colon + 1, "%u%c", &port, &extra) != 1 || !port
        || port > 65535) {
        return -EINVAL;
    }
    if (uv_ip4_addr(host, (int) port, &cfg->controller)) {
        return -EINVAL;
    }
    snprintf(cfg->controller_name, sizeof cfg->controller_name, "%s", s);
    return 0;
}

static bool
ofl_parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses the command line into 'cfg'.  Returns 0, 1 after --help, or -1
 * after printing an error. */
static int
ofl_parse_args(int argc, char *argv[], struct ofl_config *cfg)
{
    static const struct option options[] = {
        { "controller", required_argument, NULL, 'c' },
        { "mode", required_argument, NULL, 'm' },
        { "switches", required_argument, NULL, 's' },
        { "duration", required_argument, NULL, 'd' },
        { "loops", required_argument, NULL, 'l' },
        { "warmup", required_argument, NULL, 'w' },
        { "macs", required_argument, NULL, 'M' },
        { "batch", required_argument, NULL, 'b' },
        { "connect-timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    double v;
    int c;

    memset(cfg, 0, sizeof *cfg);
    cfg->mode = OFL_THROUGHPUT;
    cfg->n_switches = 16;
    cfg->duration = 1.0;
    cfg->loops = 10;
    cfg->warmup = 1;
    cfg->macs = 1000;
    cfg->batch = 65536;
    cfg->connect_timeout = 5.0;
    ofl_parse_controller("tcp:127.0.0.1:6653", cfg);

    while ((c = getopt_long(argc, argv, "c:m:s:d:l:w:M:b:t:jqh", options,
                            NULL)) != -1) {
        switch (c) {
        case 'c':
            if (ofl_parse_controller(optarg, cfg)) {
                fprintf(stderr, "sf-ofload: bad --controller '%s' (want "
                        "tcp:IPv4:PORT)\n", optarg);
                return -1;
            }
            break;
        case 'm':
            if (!strcmp(optarg, "throughput")) {
                cfg->mode = OFL_THROUGHPUT;
            } else if (!strcmp(optarg, "latency")) {
                cfg->mode = OFL_LATENCY;
            } else {
                fprintf(stderr, "sf-ofload: bad --mode '%s' (throughput or "
                        "latency)\n", optarg);
                return -1;
            }
            break;
        case 's':
        case 'l':
        case 'w':
        case 'M':
        case 'b':
            if (!ofl_parse_num(optarg, c == 'w' ? 0 : 1,
                               c == 'M' ? (1 << 24)
                               : c == 'b' ? (1 << 26) : OFL_MAX_SWITCHES, &v)
                || v != (double) (long) v) {
                fprintf(stderr, "sf-ofload: bad number '%s' for -%c\n",
                        optarg, c);
                return -1;
            }
            if (c == 's') {
                cfg->n_switches = (int) v;
            } else if (c == 'l') {
                cfg->loops = (int) v;
            } else if (c == 'w') {
                cfg->warmup = (int) v;
            } else if (c == 'M') {
                cfg->macs = (uint32_t) v;
            } else {
                cfg->batch = (size_t) v;
            }
            break;
        case 'd':
        case 't':
            if (!ofl_parse_num(optarg, 0.001, 86400, &v)) {
                fprintf(stderr, "sf-ofload: bad number of seconds '%s'\n",
                        optarg);
                return -1;
            }
            *(c == 'd' ? &cfg->duration : &cfg->connect_timeout) = v;
            break;
        case 'j':
            cfg->json = true;
            break;
        case 'q':
            cfg->quiet = true;
            break;
        case 'h':
            ofl_usage();
            return 1;
        default:
            fprintf(stderr, "sf-ofload: try --help\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sf-ofload: unexpected argument '%s'\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

static int
ofl_switch_start(struct ofl_bench *b, struct ofl_switch *sw, uint16_t id)
{
    sw->bench = b;
    sw->id = id;
    sw->state = OFL_CONNECTING;
    sw->miss_len = 128;
    sw->next_xid = 1;
    sw->next_bid = 1;
    ofpbuf_init(&sw->rx, OFL_RX_CHUNK);
    ofpbuf_init(&sw->tx, b->cfg.batch + 4096);
    ofpbuf_init(&sw->txing, b->cfg.batch + 4096);
    ofl_pin_init(&sw->data_pin, OFL_PORT_DATA, ofl_msg_src_mac(id, 0),
                 ofl_msg_dst_mac(id), false);
    ofl_pin_init(&sw->learn_pin, OFL_PORT_DST, ofl_msg_dst_mac(id),
                 ofl_msg_dst_mac(id), true);

    int rc = uv_tcp_init(&b->loop, &sw->tcp);
    if (rc) {
        return rc;
    }
    sw->open = true;
    sw->tcp.data = sw;
    sw->connect_req.data = sw;
    return uv_tcp_connect(&sw->connect_req, &sw->tcp,
                          (const struct sockaddr *) &b->cfg.controller,
                          ofl_connect_cb);
}

static void
ofl_bench_destroy(struct ofl_bench *b)
{
    for (int i = 0; i < b->cfg.n_switches; i++) {
        struct ofl_switch *sw = &b->switches[i];
        ofpbuf_uninit(&sw->rx);
        ofpbuf_uninit(&sw->tx);
        ofpbuf_uninit(&sw->txing);
        ofl_pin_destroy(&sw->data_pin);
        ofl_pin_destroy(&sw->learn_pin);
    }
    for (int l = 0; l < b->cfg.loops + b->cfg.warmup; l++) {
        free(b->results[l].per_switch);
    }
    free(b->results);
    free(b->switches);
}

int
main(int argc, char *argv[])
{
    struct ofl_bench b;

    ovs_set_program_name(argv[0], "sf-ofload");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_WARN);

    memset(&b, 0, sizeof b);
    int rc = ofl_parse_args(argc, argv, &b.cfg);
    if (rc) {
        return rc > 0 ? 0 : 2;
    }

    int n = b.cfg.n_switches;
    int n_loops = b.cfg.loops + b.cfg.warmup;
    b.switches = ofl_calloc((size_t) n, sizeof *b.switches);
    b.results = ofl_calloc((size_t) n_loops, sizeof *b.results);
    for (int l = 0; l < n_loops; l++) {
        b.results[l].per_switch = ofl_calloc((size_t) n, sizeof(double));
    }

    uv_loop_init(&b.loop);
    uv_timer_init(&b.loop, &b.timer);
    b.timer.data = &b;
    uv_signal_init(&b.loop, &b.sigint);
    b.sigint.data = &b;
    uv_signal_start(&b.sigint, ofl_sigint, SIGINT);
    uv_unref((uv_handle_t *) &b.sigint);

    for (int i = 0; i < n && !b.failed; i++) {
        rc = ofl_switch_start(&b, &b.switches[i], (uint16_t) (i + 1));
        if (rc) {
            ofl_fail(&b, "cannot connect to %s: %s", b.cfg.controller_name,
                     uv_strerror(rc));
        }
    }
    if (!b.failed) {
        uint64_t ms = (uint64_t) (b.cfg.connect_timeout * 1000.0 + 0.5);
        uv_timer_start(&b.timer, ofl_handshake_timeout, ms, 0);
    }
    uv_run(&b.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&b.loop)) {
        VLOG_WARN("event loop closed with handles still open");
    }

    if (!b.failed) {
        struct ofl_summary s;
        ofl_summarize(&b, &s);
        if (b.cfg.json) {
            ofl_report_json(&b, &s);
        } else {
            ofl_report_text(&b, &s);
        }
    }
    ofl_bench_destroy(&b);
    return b.exit_code;
}
