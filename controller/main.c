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
#include <stdio.h>
#include <string.h>

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

    uv_run(loop, UV_RUN_DEFAULT);
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
