/*
 * scaffold-controller: the SCAFFOLD domain controller daemon.
 *
 * Parses the configuration (config.h), sets up OVS logging to the console,
 * runs one ctl_controller on the default libuv loop until SIGINT or SIGTERM,
 * then closes every handle and checks that the loop closed clean.
 *
 * Exit status: 0 after a clean stop, 1 when the controller cannot start
 * (listen address in use, state directory), 2 for bad arguments.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <uv.h>

#include "controller/config.h"
#include "controller/controller.h"
#include "openvswitch/util.h"
#include "controller/log.h"

VLOG_DEFINE_THIS_MODULE(ctl_main);

/* SIGINT and SIGTERM watchers. */
static uv_signal_t ctl_signals[2];

static void
ctl_close_signals(void)
{
    for (size_t i = 0; i < 2; i++) {
        uv_handle_t *h = (uv_handle_t *) &ctl_signals[i];
        if (h->loop && !uv_is_closing(h)) {
            uv_close(h, NULL);
        }
    }
}

static void
ctl_on_signal(uv_signal_t *sig, int signum)
{
    struct ctl_controller *ctl = sig->data;

    VLOG_INFO("signal %d (%s), stopping", signum, strsignal(signum));
    ctl_controller_stop(ctl);
    ctl_close_signals();
}

/* Runs 'loop' until it has nothing left to do, like uv_run(UV_RUN_DEFAULT),
 * but keeps polling without sleeping for up to 'busy_us' microseconds after
 * the last time an event was ready before it blocks in epoll again.  A peer
 * that answers within that window (a switch in a request/response exchange)
 * then finds the controller running on its CPU: no wake-up of a halted
 * CPU, no scheduler latency.  The price is up to a whole CPU while the load
 * lasts; idle, the loop sleeps as usual after 'busy_us'.  'busy_us' 0:
 * plain uv_run(). */
static void
ctl_run(uv_loop_t *loop, unsigned int busy_us)
{
    if (!busy_us) {
        uv_run(loop, UV_RUN_DEFAULT);
        return;
    }

    uint64_t window_ns = (uint64_t) busy_us * 1000;
    uint64_t last = uv_hrtime();
    int backend = uv_backend_fd(loop);

    for (;;) {
        struct epoll_event ev;

        /* A peek: libuv's epoll set is level-triggered, so readiness seen
         * here is still reported to uv_run()'s own epoll_wait(). */
        if (epoll_wait(backend, &ev, 1, 0) > 0) {
            last = uv_hrtime();
        } else if (uv_hrtime() - last > window_ns) {
            if (!uv_run(loop, UV_RUN_ONCE)) {
                return;
            }
            last = uv_hrtime();
            continue;
        }
        if (!uv_run(loop, UV_RUN_NOWAIT)) {
            return;
        }
    }
}

static void
ctl_setup_logging(enum ctl_log_level level)
{
    static const enum vlog_level map[] = {
        [CTL_LOG_OFF] = VLL_OFF, [CTL_LOG_EMER] = VLL_EMER,
        [CTL_LOG_ERR] = VLL_ERR, [CTL_LOG_WARN] = VLL_WARN,
        [CTL_LOG_INFO] = VLL_INFO, [CTL_LOG_DBG] = VLL_DBG,
    };

    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_FILE, VLL_OFF);
    /* libopenvswitch's own modules stay at warnings; ours follow
     * --log-level. */
    vlog_set_levels(NULL, VLF_CONSOLE, level < CTL_LOG_WARN ? map[level]
                                                             : VLL_WARN);
    static const char *const ours[] = {
        "ctl_main", "ctl_controller", "ctl_ofconn", "rpc",
    };
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        struct vlog_module *m = vlog_module_from_name(ours[i]);
        if (m) {
            vlog_set_levels(m, VLF_CONSOLE, map[level]);
        }
    }
    vlog_set_pattern(VLF_CONSOLE, "%D{%H:%M:%S.###}|%c|%p|%m");
}

int
main(int argc, char *argv[])
{
    struct ctl_config cfg;
    struct ctl_controller *ctl;
    char err[512];

    ovs_set_program_name(argv[0], "0.1");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    ctl_config_init(&cfg);
    int rc = ctl_config_parse_args(&cfg, argc, argv, err, sizeof err);
    if (rc == CTL_CONFIG_EXIT) {
        return 0;
    } else if (rc) {
        fprintf(stderr, "scaffold-controller: %s\n", err);
        return 2;
    }
    ctl_setup_logging(cfg.log_level);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    if (ctl_controller_create(loop, &cfg, &ctl)) {
        fprintf(stderr, "scaffold-controller: out of memory\n");
        return 1;
    }
    rc = ctl_controller_start(ctl);
    if (rc) {
        fprintf(stderr, "scaffold-controller: cannot start: %s\n",
                uv_strerror(rc));
        ctl_controller_stop(ctl);
        uv_run(loop, UV_RUN_DEFAULT);
        ctl_controller_destroy(ctl);
        uv_loop_close(loop);
        return 1;
    }
    static const int signums[2] = { SIGINT, SIGTERM };
    for (size_t i = 0; i < 2; i++) {
        uv_signal_init(loop, &ctl_signals[i]);
        ctl_signals[i].data = ctl;
        uv_signal_start(&ctl_signals[i], ctl_on_signal, signums[i]);
    }

    if (cfg.busy_poll_us) {
        VLOG_INFO("busy polling %u us after each event", cfg.busy_poll_us);
    }
    ctl_run(loop, cfg.busy_poll_us);
    ctl_close_signals();
    uv_run(loop, UV_RUN_DEFAULT);
    ctl_controller_destroy(ctl);
    rc = uv_loop_close(loop);
    if (rc) {
        VLOG_WARN("event loop not empty at exit: %s", uv_strerror(rc));
    }
    VLOG_INFO("stopped");
    return 0;
}
