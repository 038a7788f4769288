/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's glue between the pure stack and its I/O (see agent.h):
 * stack callbacks (output: address the frame and queue it on the
 * interface; random: getrandom), the one libuv timer that serves every
 * connection deadline, signals, the static object table, the status text
 * and the log.
 */
#include "hostagent/agent.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void agent_output(const struct sfp_frame *, void *aux);
static uint64_t agent_random(void *aux);
static int agent_resolve(struct ha_agent *, const struct sfp_frame *);
static void agent_timer_cb(uv_timer_t *);
static void agent_trim_cb(uv_timer_t *);
static void agent_signal_cb(uv_signal_t *, int signum);
static void status_line(const struct ha_conn *, void *aux);
static void agent_join_output(const struct sfp_frame *, const uint8_t eth[6],
                              void *aux);
static void agent_joined(uint32_t prefix, const uint8_t gw_mac[6],
                         bool moved, void *aux);
static void agent_bound(uint16_t obj, uint16_t sock, bool bind, int error,
                        void *aux);
static void agent_event(struct ha_conn *, enum ha_conn_event,
                        const void *data, size_t len, void *aux);

struct status_buf {
    char *buf;
    size_t size, len;
};

static void sb_printf(struct status_buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int
ha_agent_init(struct ha_agent *a, uv_loop_t *loop)
{
    memset(a, 0, sizeof *a);
    a->loop = loop;
    a->net.fd = -1;
    a->net.cfg_block_kib = HA_RX_DEFAULT_KIB;
    a->net.cfg_blocks = HA_RX_RING_BLOCKS;
    a->net.cfg_tov_ms = HA_RX_RING_TOV_MS;
    a->ipc_fd = -1;
    a->nl_fd = -1;
    strcpy(a->ipc_name, "scaffold-hostagent");
    a->stack_ops.output = agent_output;
    a->stack_ops.event = agent_event;
    a->stack_ops.random = agent_random;
    a->join_ops.output = agent_join_output;
    a->join_ops.joined = agent_joined;
    a->join_ops.random = agent_random;
    a->join_ops.bound = agent_bound;
    a->ip_id = (uint16_t) agent_random(a);
    return 0;
}

int
ha_agent_start(struct ha_agent *a)
{
    int error;

    /* Every handle ha_agent_stop() closes is initialised first, so that
     * a start that fails half-way can be stopped (uv_close on a handle
     * never initialised aborts). */
    uv_timer_init(a->loop, &a->timer);
    a->timer.data = a;
    uv_timer_init(a->loop, &a->trim_timer);
    a->trim_timer.data = a;
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    a->stack = ha_stack_create(&a->stack_ops, a, a->prefix);
    if (!a->stack) {
        return -ENOMEM;
    }
    error = ha_netio_open(a);
    if (error) {
        ha_log(a, HA_LOG_ERR, "%s: cannot open raw socket: %s", a->ifname,
               strerror(-error));
        return error;
    }
    error = ha_ipc_open(a);
    if (error) {
        ha_log(a, HA_LOG_ERR, "ipc: cannot listen on @%s: %s", a->ipc_name,
               strerror(-error));
        return error;
    }
    error = ha_link_open(a);
    if (error) {
        ha_log(a, HA_LOG_ERR, "rtnetlink: %s", strerror(-error));
        return error;
    }
    if (a->controller_mode) {
        ha_join_init(&a->join, &a->join_ops, a, a->if_mac, a->hostname,
                     ha_agent_now(a));
        if (a->link_up) {
            ha_join_start(&a->join, ha_agent_now(a));
        }
    }
    uv_signal_start(&a->sigint, agent_signal_cb, SIGINT);
    uv_signal_start(&a->sigterm, agent_signal_cb, SIGTERM);
    {
        char p[SFP_FLOWID_STRLEN];
        ha_log(a, HA_LOG_INFO, "started on %s, prefix %s, "
               "gateway %02x:%02x:%02x:%02x:%02x:%02x, %d static objects%s",
               a->ifname, sfp_flowid_format(a->prefix, p), a->gw_mac[0],
               a->gw_mac[1], a->gw_mac[2], a->gw_mac[3], a->gw_mac[4],
               a->gw_mac[5], a->n_statics,
               a->controller_mode ? ", joining the controller" : "");
    ha_agent_after(a);
    }
    return 0;
}

/* Closes every socket (RST to open peers), then every handle. */
void
ha_agent_stop(struct ha_agent *a)
{
    if (a->stopping) {
        return;
    }
    if (a->controller_mode) {
        ha_join_leave(&a->join, false);
    }
    a->stopping = true;
    ha_link_close(a);
    ha_ipc_close(a);
    ha_netio_flush(a);
    ha_netio_close(a);
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *) &a->timer, NULL);
    uv_timer_stop(&a->trim_timer);
    uv_close((uv_handle_t *) &a->trim_timer, NULL);
    uv_close((uv_handle_t *) &a->sigint, NULL);
    uv_close((uv_handle_t *) &a->sigterm, NULL);
}

void
ha_agent_destroy(struct ha_agent *a)
{
    ha_stack_destroy(a->stack);
    a->stack = NULL;
    free(a->net.tx_buf);
    free(a->net.tx_len);
    free(a->net.rx_buf);
    free(a->ipc_buf);
}

uint64_t
ha_agent_now(const struct ha_agent *a)
{
    (void) a;
    return uv_hrtime() / 1000;
}

void
ha_agent_set_address(struct ha_agent *a, uint32_t prefix,
                     const uint8_t gw_mac[6])
{
    memcpy(a->gw_mac, gw_mac, 6);
    a->prefix = prefix & 0xffff0000u;
    if (a->stack) {
        /* Every socket whose flowID changes tells its application
         * (HA_CEV_LOCAL_MOVED: SF_IPC_LOCAL). */
        ha_stack_set_prefix(a->stack, a->prefix, ha_agent_now(a));
        ha_stack_set_link(a->stack, a->link_up, ha_agent_now(a));
        ha_agent_after(a);
    }
}

void
ha_agent_listening(struct ha_agent *a, const struct ha_conn *c)
{
    int error;

    if (!a->controller_mode) {
        return;
    }
    error = ha_join_bind(&a->join, c->local_obj,
                         sfp_flowid_sock(c->local_flow), ha_agent_now(a));
    if (error) {
        ha_log(a, HA_LOG_WARN, "bind object %u sock %u: %s", c->local_obj,
               sfp_flowid_sock(c->local_flow), strerror(-error));
    }
}

void
ha_agent_after(struct ha_agent *a)
{
    uint64_t d, now;

    if (a->stopping) {
        return;
    }
    ha_ipc_flush(a);
    ha_netio_flush(a);
    d = ha_stack_next_deadline(a->stack);
    if (a->controller_mode && ha_join_deadline(&a->join) < d) {
        d = ha_join_deadline(&a->join);
    }
    if (d == UINT64_MAX) {
        uv_timer_stop(&a->timer);
        return;
    }
    now = ha_agent_now(a);
    uv_timer_start(&a->timer, agent_timer_cb,
                   d > now ? (d - now + 999) / 1000 : 0, 0);
}

size_t
ha_agent_status(struct ha_agent *a, char *buf, size_t size)
{
    struct status_buf sb = { buf, size, 0 };
    const struct ha_stack_stats *ss = ha_stack_stats(a->stack);
    char p[SFP_FLOWID_STRLEN];
    uint64_t bad = 0;
    int i;

    for (i = 0; i < SFP_N_ERRORS; i++) {
        bad += a->stats.rx_bad[i];
    }
    if (size) {
        buf[0] = '\0';
    }
    sb_printf(&sb, "agent iface=%s prefix=%s mode=%s link=%s sockets=%zu "
              "clients=%d\n", a->ifname, sfp_flowid_format(a->prefix, p),
              a->controller_mode ? "controller" : "static",
              a->link_up ? "up" : "down", ha_stack_count(a->stack),
              ha_ipc_n_clients(a));
    if (a->controller_mode) {
        const struct ha_join_stats *js = &a->join.stats;

        sb_printf(&sb, "join state=%s epoch=%llu tx=%llu replies=%llu "
                  "errors=%llu bad=%llu joins=%llu moves=%llu\n"
                  "binds bound=%d pending=%d tx_bind=%llu tx_unbind=%llu "
                  "ok=%llu failed=%llu unsupported=%llu\n",
                  ha_join_state_name(a->join.state),
                  (unsigned long long) a->join.epoch,
                  (unsigned long long) js->tx_requests,
                  (unsigned long long) js->rx_replies,
                  (unsigned long long) js->rx_errors,
                  (unsigned long long) js->rx_bad,
                  (unsigned long long) js->joins,
                  (unsigned long long) js->moves,
                  ha_join_n_bound(&a->join), ha_join_n_pending(&a->join),
                  (unsigned long long) js->tx_binds,
                  (unsigned long long) js->tx_unbinds,
                  (unsigned long long) js->bind_ok,
                  (unsigned long long) js->bind_failed,
                  (unsigned long long) js->bind_unsupported);
    }
    sb_printf(&sb, "frames rx=%llu rx_bad=%llu rx_not_mine=%llu "
              "rx_unknown=%llu rx_no_listener=%llu rx_dropped=%llu "
              "tx=%llu tx_rst=%llu tx_errors=%llu\n",
              (unsigned long long) a->stats.rx_frames,
              (unsigned long long) bad,
              (unsigned long long) ss->rx_not_mine,
              (unsigned long long) ss->rx_unknown,
              (unsigned long long) ss->rx_no_listener,
              (unsigned long long) ss->rx_dropped,
              (unsigned long long) a->stats.tx_frames,
              (unsigned long long) ss->tx_rst,
              (unsigned long long) a->stats.tx_errors);
    {
        char line[128];

        ha_netio_status(a, line, sizeof line);
        sb_printf(&sb, "%s rx_blocks=%llu rx_kernel_drops=%llu "
                  "tx_queued=%u tx_queue_drops=%llu tx_waits=%llu\n", line,
                  (unsigned long long) a->stats.rx_blocks,
                  (unsigned long long) a->stats.rx_kernel_drops,
                  a->net.tx_count,
                  (unsigned long long) a->stats.tx_queue_drops,
                  (unsigned long long) a->stats.tx_waits);
    }
    for (i = 1; i < SFP_N_ERRORS; i++) {
        if (a->stats.rx_bad[i]) {
            sb_printf(&sb, "frames bad %s=%llu\n", sfp_error_name(i),
                      (unsigned long long) a->stats.rx_bad[i]);
        }
    }
    sb_printf(&sb, "ipc clients_total=%llu bad=%llu refused=%llu "
              "rx_dropped=%llu tx_errors=%llu tx_too_big=%llu "
              "rx_batches=%llu rx_batched=%llu\n",
              (unsigned long long) a->stats.ipc_clients,
              (unsigned long long) a->stats.ipc_bad,
              (unsigned long long) a->stats.ipc_refused,
              (unsigned long long) a->stats.ipc_rx_dropped,
              (unsigned long long) a->stats.ipc_tx_errors,
              (unsigned long long) a->stats.tx_too_big,
              (unsigned long long) a->stats.ipc_rx_batches,
              (unsigned long long) a->stats.ipc_rx_batched);
    ha_stack_foreach(a->stack, status_line, &sb);
    return sb.len;
}

void
ha_log(const struct ha_agent *a, int level, const char *fmt, ...)
{
    static const char *const names[] = { "err", "warn", "info", "dbg" };
    static time_t rl_sec;
    static int rl_count;
    struct timespec ts;
    struct tm tm;
    char when[32];
    va_list args;

    if (level > HA_LOG_INFO + (a ? a->verbose : 0)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Peer-triggered lines (warn and below) are rate-limited: 20/s. */
    if (level >= HA_LOG_WARN) {
        if (ts.tv_sec != rl_sec) {
            rl_sec = ts.tv_sec;
            rl_count = 0;
        }
        if (++rl_count > 20) {
            return;
        }
    }
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld hostagent %s: ", when, ts.tv_nsec / 1000000,
            names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}

/* ---- static functions ------------------------------------------------ */

static void
agent_output(const struct sfp_frame *f, void *aux)
{
    struct ha_agent *a = aux;
    struct sfp_frame g = *f;
    int i;

    if (sfp_flowid_is_unresolved(g.dst_flow)) {
        /* Static stand-in for the object router.  Without an entry the
         * frame leaves unresolved: a peer agent on the same link (or a
         * real object router) resolves it by objectID. */
        i = agent_resolve(a, &g);
        if (i >= 0) {
            g.dst_flow = a->statics[i].flow;
        }
    }
    memcpy(g.eth_src, a->if_mac, 6);
    memcpy(g.eth_dst, a->gw_mac, 6);
    g.ip_id = a->ip_id++;
    if (a->verbose > 1) {
        char line[160];
        ha_log(a, HA_LOG_DBG, "tx %s", sfp_frame_format(&g, line,
                                                          sizeof line));
    }
    ha_netio_send(a, &g);
}

/* Picks the static entry for the unresolved frame 'f', or -1.  Several
 * entries for one objectID are instances served round robin, one pick per
 * new SYN; a retransmitted SYN/RSYN (same nonce, flags and seq) goes where
 * the first went; a new RSYN of a known connection (failover) goes to the
 * instance after the one it had. */
static int
agent_resolve(struct ha_agent *a, const struct sfp_frame *f)
{
    int match[HA_MAX_STATIC], n = 0, i, k;
    struct ha_static_pick *p = NULL;
    uint8_t flags = f->hdr.flags;

    for (i = 0; i < a->n_statics; i++) {
        if (a->statics[i].obj == f->dst_obj) {
            match[n++] = i;
        }
    }
    if (!n) {
        return -1;
    }
    if (!f->hdr.nonce || (flags != SFP_F_SYN && flags != SFP_F_RSYN)) {
        return match[a->static_rr++ % (unsigned int) n];
    }
    for (k = 0; k < HA_STATIC_PICKS; k++) {
        if (a->picks[k].nonce == f->hdr.nonce) {
            p = &a->picks[k];
            break;
        }
    }
    if (p && p->flags == flags && p->seq == f->hdr.seq) {
        return p->idx;                          /* Retransmission. */
    }
    if (p && flags == SFP_F_RSYN) {
        for (k = 0; k < n && match[k] != p->idx; k++) {
            continue;
        }
        i = match[(k + 1) % n];                 /* The next instance. */
    } else {
        i = match[a->static_rr++ % (unsigned int) n];
    }
    if (!p) {
        p = &a->picks[a->next_pick++ % HA_STATIC_PICKS];
    }
    p->nonce = f->hdr.nonce;
    p->flags = flags;
    p->seq = f->hdr.seq;
    p->idx = i;
    return i;
}

static void
agent_join_output(const struct sfp_frame *f, const uint8_t eth[6], void *aux)
{
    struct ha_agent *a = aux;
    struct sfp_frame g = *f;

    memcpy(g.eth_src, a->if_mac, 6);
    memcpy(g.eth_dst, eth, 6);
    g.ip_id = a->ip_id++;
    ha_netio_send(a, &g);
}

static void
agent_joined(uint32_t prefix, const uint8_t gw_mac[6], bool moved, void *aux)
{
    struct ha_agent *a = aux;
    char p[SFP_FLOWID_STRLEN];

    ha_log(a, HA_LOG_INFO, "joined: prefix %s%s", sfp_flowid_format(prefix, p),
           moved ? " (moved: resyncing connections)" : "");
    ha_agent_set_address(a, prefix, gw_mac);
}

/* The controller answered a bind or unbind.  A controller that does not
 * handle bind yet (UNSUPPORTED) is logged once per agent: the host keeps
 * serving its listeners to peers that reach it directly. */
static void
agent_bound(uint16_t obj, uint16_t sock, bool bind, int error, void *aux)
{
    struct ha_agent *a = aux;
    char p[SFP_FLOWID_STRLEN];

    sfp_flowid_format(a->prefix | sock, p);
    if (!error) {
        ha_log(a, HA_LOG_DBG, "%s object %u at %s: done",
               bind ? "bind" : "unbind", obj, p);
    } else if (error == -EOPNOTSUPP) {
        if (!a->bind_unsupported_logged) {
            a->bind_unsupported_logged = true;
            ha_log(a, HA_LOG_WARN, "controller does not support bind "
                   "(object %u at %s): serving without it", obj, p);
        }
    } else {
        ha_log(a, HA_LOG_WARN, "%s object %u at %s: refused: %s",
               bind ? "bind" : "unbind", obj, p, strerror(-error));
    }
    ha_ipc_bound_update(a);
}

/* Stack events: a listener's death unbinds it, then everything goes to
 * the IPC side. */
static void
agent_event(struct ha_conn *c, enum ha_conn_event ev, const void *data,
            size_t len, void *aux)
{
    struct ha_agent *a = aux;

    bool listener_dead = ev == HA_CEV_DEAD && c->state == HA_CONN_LISTEN
                         && a->controller_mode && !a->stopping;

    if (listener_dead) {
        (void) ha_join_unbind(&a->join, c->local_obj,
                              sfp_flowid_sock(c->local_flow),
                              ha_agent_now(a));
    }
    ha_ipc_event(c, ev, data, len, aux);
    if (listener_dead) {
        ha_ipc_bound_update(a);     /* Its BOUND questions: -ENOENT. */
    }
    if (ev == HA_CEV_DEAD && !a->stopping
        && !uv_is_active((uv_handle_t *) &a->trim_timer)) {
        /* Sockets were freed: once the burst is over, give the heap's
         * free pages back (connections come and go in an order that
         * leaves the heap's top in use, so it never shrinks by itself:
         * measured 400 KiB resident for 46 KiB in use after 300
         * connections). */
        uv_timer_start(&a->trim_timer, agent_trim_cb, HA_TRIM_DELAY_MS, 0);
    }
}

static uint64_t
agent_random(void *aux)
{
    uint64_t v = 0;

    (void) aux;
    while (getrandom(&v, sizeof v, 0) != sizeof v) {
        continue;
    }
    return v;
}

static void
agent_timer_cb(uv_timer_t *t)
{
    struct ha_agent *a = t->data;

    ha_stack_tick(a->stack, ha_agent_now(a));
    if (a->controller_mode) {
        ha_join_tick(&a->join, ha_agent_now(a));
    }
    ha_agent_after(a);
}

static void
agent_trim_cb(uv_timer_t *t)
{
    (void) t;
    (void) malloc_trim(0);
}

static void
agent_signal_cb(uv_signal_t *s, int signum)
{
    struct ha_agent *a = s->data;

    ha_log(a, HA_LOG_INFO, "signal %d: stopping", signum);
    ha_agent_stop(a);
}

static void
status_line(const struct ha_conn *c, void *aux)
{
    struct status_buf *sb = aux;
    char l[SFP_FLOWID_STRLEN], r[SFP_FLOWID_STRLEN];
    pid_t pid = ha_ipc_owner_pid(c);
    uint64_t drops = 0;
    int i;

    for (i = 0; i < HA_DROP_N; i++) {
        drops += c->stats.drops[i];
    }
    sb_printf(sb, "sock %u %s state=%s local=%s:%u remote=%s:%u "
              "nonce=%016llx pid=%ld tx=%llu/%llu rx=%llu/%llu rexmit=%llu "
              "resyncs=%llu bad_nonce=%llu bad_source=%llu drops=%llu "
              "held=%llu replayed=%llu tx_dropped=%llu srtt_us=%u%s\n",
              sfp_flowid_sock(c->local_flow),
              ha_stack_kind(c) == HA_SOCK_DGRAM ? "dgram" : "stream",
              ha_conn_state_name(c->state),
              sfp_flowid_format(c->local_flow, l), c->local_obj,
              sfp_flowid_format(c->remote_flow, r), c->remote_obj,
              (unsigned long long) c->nonce, (long) pid,
              (unsigned long long) c->stats.tx_packets,
              (unsigned long long) c->stats.tx_bytes,
              (unsigned long long) c->stats.rx_packets,
              (unsigned long long) c->stats.rx_bytes,
              (unsigned long long) c->stats.retransmits,
              (unsigned long long) c->stats.resyncs,
              (unsigned long long) c->stats.drops[HA_DROP_BAD_NONCE],
              (unsigned long long) c->stats.drops[HA_DROP_BAD_SOURCE],
              (unsigned long long) drops,
              (unsigned long long) c->stats.tx_held,
              (unsigned long long) c->stats.tx_replayed,
              (unsigned long long) c->stats.tx_dropped, c->srtt_us,
              c->resumed ? " resumed" : "");
}

static void
sb_printf(struct status_buf *sb, const char *fmt, ...)
{
    va_list args;
    int n;

    if (sb->len + 1 >= sb->size) {
        return;
    }
    va_start(args, fmt);
    n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, args);
    va_end(args);
    if (n > 0) {
        sb->len += (size_t) n;
        if (sb->len >= sb->size) {
            sb->len = sb->size - 1;
        }
    }
}
