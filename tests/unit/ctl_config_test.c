/*
 * Unit tests for controller/config.c: ini file and command-line parsing,
 * with the exact error lines (file name, line number, key) they produce.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "controller/config.h"
#include "tests/unit/harness.h"

static struct ctl_config cfg;
static char err[512];

static int
load(const char *text)
{
    ctl_config_init(&cfg);
    err[0] = '\0';
    return ctl_config_load_string(&cfg, text, "t.ini", err, sizeof err);
}

static int
args(int argc, char *argv[])
{
    ctl_config_init(&cfg);
    err[0] = '\0';
    return ctl_config_parse_args(&cfg, argc, argv, err, sizeof err);
}

static void
test_defaults(void)
{
    ctl_config_init(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "tcp:0.0.0.0:6653");
    CU_ASSERT_EQUAL(cfg.ssid, 1);
    CU_ASSERT_EQUAL(cfg.n_connect, 0);
    CU_ASSERT_EQUAL(cfg.log_level, CTL_LOG_INFO);
    CU_ASSERT_EQUAL(cfg.lease_ms, 60000);
    CU_ASSERT_FALSE(cfg.l2_learning);
    CU_ASSERT_EQUAL(ctl_config_check(&cfg, err, sizeof err), 0);
}

static void
test_file_ok(void)
{
    CU_ASSERT_EQUAL(load("; comment\n"
                         "[controller]\n"
                         "listen = tcp:127.0.0.1:7000\n"
                         "connect = tcp:10.0.0.1:6653\n"
                         "connect = tcp:[::1]:6654\n"
                         "state_dir = /tmp/x\n"
                         "ssid = 7\n"
                         "log_level = dbg\n"
                         "[timers]\n"
                         "echo_interval = 200\n"
                         "dead_timeout = 900\n"
                         "[roles]\n"
                         "00000000000000a1 = object\n"
                         "0x2 = label\n"), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_STRING_EQUAL(cfg.listen, "tcp:127.0.0.1:7000");
    CU_ASSERT_EQUAL(cfg.n_connect, 2);
    CU_ASSERT_STRING_EQUAL(cfg.connect[1], "tcp:[::1]:6654");
    CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/tmp/x");
    CU_ASSERT_EQUAL(cfg.ssid, 7);
    CU_ASSERT_EQUAL(cfg.log_level, CTL_LOG_DBG);
    CU_ASSERT_EQUAL(cfg.echo_interval_ms, 200);
    CU_ASSERT_EQUAL(cfg.dead_timeout_ms, 900);
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 0xa1), CTL_ROLE_OBJECT);
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 2), CTL_ROLE_LABEL);
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 3), CTL_ROLE_NONE);
}

static void
test_file_bad_key(void)
{
    CU_ASSERT_EQUAL(load("[controller]\nssid = 3\n\nlisten_port = 5\n"),
                    -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:4: unknown key 'listen_port' in "
                           "section [controller]");
}

static void
test_file_bad_section(void)
{
    CU_ASSERT_EQUAL(load("[controler]\nssid = 3\n"), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:2: unknown section [controler] "
                           "(expected controller, timers or roles)");
}

static void
test_file_bad_values(void)
{
    CU_ASSERT_EQUAL(load("[controller]\nssid = 0\n"), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:2: ssid: bad value '0' "
                           "(expected 1..254)");
    CU_ASSERT_EQUAL(load("[controller]\nssid = 12x\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: ssid: bad value '12x'"));
    CU_ASSERT_EQUAL(load("[controller]\n\nlisten = 1.2.3.4:99\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:3: listen: bad address "
                                  "'1.2.3.4:99'"));
    CU_ASSERT_EQUAL(load("[controller]\nlisten = tcp:1.2.3.4:70000\n"),
                    -EINVAL);
    CU_ASSERT_EQUAL(load("[controller]\nlisten = tcp:host.example:1\n"),
                    -EINVAL);
    CU_ASSERT_EQUAL(load("[controller]\nlog_level = loud\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: log_level: unknown level "
                                  "'loud'"));
    CU_ASSERT_EQUAL(load("[timers]\necho_interval = -5\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: echo_interval: bad value"));
    CU_ASSERT_EQUAL(load("[roles]\nzz = label\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: role: bad datapath id "
                                  "'zz'"));
    CU_ASSERT_EQUAL(load("[roles]\n1 = router\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: role: bad role 'router'"));
    CU_ASSERT_EQUAL(load("[roles]\n12345678901234567 = label\n"), -EINVAL);
    CU_ASSERT_EQUAL(load("[controller]\nl2_learning = maybe\n"), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:2: l2_learning: expected yes or no, "
                           "got 'maybe'");
    CU_ASSERT_EQUAL(load("[timers]\nlease = 2999\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:2: lease: bad value '2999'"));
    CU_ASSERT_EQUAL(load("[controller]\nl2_learning = yes\n"
                         "[timers]\nlease = 3000\n"), 0);
    CU_ASSERT_TRUE(cfg.l2_learning);
    CU_ASSERT_EQUAL(cfg.lease_ms, 3000);
    CU_ASSERT_EQUAL(cfg.busy_poll_us, 0);
    CU_ASSERT_EQUAL(load("[controller]\nbusy_poll = 250\n"), 0);
    CU_ASSERT_EQUAL(cfg.busy_poll_us, 250);
    CU_ASSERT_EQUAL(load("[controller]\nbusy_poll = 100001\n"), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:2: busy_poll: bad value '100001' "
                           "(microseconds, 0..100000)");
}

static void
test_file_syntax(void)
{
    CU_ASSERT_EQUAL(load("[controller]\nssid 3\n"), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:2: syntax error");
}

static void
test_file_first_error_wins(void)
{
    CU_ASSERT_EQUAL(load("[controller]\nssid = 1\nbad = 1\nworse = 2\n"),
                    -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "t.ini:3: unknown key 'bad' in section "
                           "[controller]");
}

static void
test_file_missing(void)
{
    ctl_config_init(&cfg);
    CU_ASSERT_EQUAL(ctl_config_load_file(&cfg, "/nonexistent/ctl.ini", err,
                                         sizeof err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/ctl.ini: "));
}

static void
test_args_ok(void)
{
    char *argv[] = {
        "ctl", "--listen", "tcp:127.0.0.1:6000", "--connect",
        "tcp:10.1.1.1:6653", "--ssid", "9", "--role", "1=label",
        "--role", "a=object", "--log-level", "warn", "--dead-timeout",
        "20000", NULL,
    };
    CU_ASSERT_EQUAL(args(15, argv), 0);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "tcp:127.0.0.1:6000");
    CU_ASSERT_EQUAL(cfg.n_connect, 1);
    CU_ASSERT_EQUAL(cfg.ssid, 9);
    CU_ASSERT_EQUAL(cfg.n_roles, 2);
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 0xa), CTL_ROLE_OBJECT);
    CU_ASSERT_EQUAL(cfg.log_level, CTL_LOG_WARN);
    CU_ASSERT_EQUAL(cfg.dead_timeout_ms, 20000);

    char *a2[] = { "ctl", "--l2-learning", "--lease", "9000", "--busy-poll",
                   "100", NULL };
    CU_ASSERT_EQUAL(args(6, a2), 0);
    CU_ASSERT_TRUE(cfg.l2_learning);
    CU_ASSERT_EQUAL(cfg.lease_ms, 9000);
    CU_ASSERT_EQUAL(cfg.busy_poll_us, 100);
}

static void
test_args_errors(void)
{
    char *a1[] = { "ctl", "--ssid", "255", NULL };
    CU_ASSERT_EQUAL(args(3, a1), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "ssid: bad value '255' (expected 1..254)");

    char *a1b[] = { "ctl", "--busy-poll", "-5", NULL };
    CU_ASSERT_EQUAL(args(3, a1b), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "--busy-poll: bad value '-5' "
                           "(microseconds, 0..100000)");

    char *a2[] = { "ctl", "--frobnicate", NULL };
    CU_ASSERT_EQUAL(args(2, a2), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "unknown option '--frobnicate' "
                           "(try --help)");

    char *a3[] = { "ctl", "--ssid", NULL };
    CU_ASSERT_EQUAL(args(2, a3), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "option '--ssid' needs an argument");

    char *a4[] = { "ctl", "--role", "1:label", NULL };
    CU_ASSERT_EQUAL(args(3, a4), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected DPID=label|object"));

    char *a5[] = { "ctl", "stray", NULL };
    CU_ASSERT_EQUAL(args(2, a5), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "unexpected argument 'stray' (try --help)");

    char *a6[] = { "ctl", "--echo-interval", "5000", "--dead-timeout",
                   "4000", NULL };
    CU_ASSERT_EQUAL(args(5, a6), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "must be longer than echo_interval"));
}

static void
test_args_override_file(void)
{
    const char *dir = sft_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/c.ini", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("[controller]\nssid = 4\nconnect = tcp:10.0.0.1:1\n"
          "connect = tcp:10.0.0.2:1\n[roles]\n1 = label\n2 = label\n", f);
    fclose(f);

    /* Flags before and after --config both win over the file. */
    char *argv[] = { "ctl", "--ssid", "5", "--config", path, "--role",
                     "2=object", "--connect", "tcp:10.0.0.9:1", NULL };
    CU_ASSERT_EQUAL(args(9, argv), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(cfg.ssid, 5);
    CU_ASSERT_EQUAL(cfg.n_connect, 1);
    CU_ASSERT_STRING_EQUAL(cfg.connect[0], "tcp:10.0.0.9:1");
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 1), CTL_ROLE_LABEL);
    CU_ASSERT_EQUAL(ctl_config_role(&cfg, 2), CTL_ROLE_OBJECT);
    CU_ASSERT_STRING_EQUAL(cfg.config_file, path);

    /* A bad file stops the command line with the file's line. */
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("[timers]\n\nprobe_interval = fast\n", f);
    fclose(f);
    char *argv2[] = { "ctl", "--config", path, NULL };
    CU_ASSERT_EQUAL(args(3, argv2), -EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s:3: probe_interval: bad value 'fast' "
             "(milliseconds, 50..3600000)", path);
    CU_ASSERT_STRING_EQUAL(err, want);
    remove(path);
    remove(dir);
}

static void
test_parse_target(void)
{
    struct sockaddr_storage ss;

    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:127.0.0.1:6653", &ss), 0);
    CU_ASSERT_EQUAL(ss.ss_family, AF_INET);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *) &ss)->sin_port), 6653);
    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:[fe80::1]:1", &ss), 0);
    CU_ASSERT_EQUAL(ss.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:::1:1", NULL), -EINVAL);
    CU_ASSERT_EQUAL(ctl_config_parse_target("udp:1.2.3.4:1", NULL), -EINVAL);
    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:1.2.3.4:", NULL), -EINVAL);
    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:1.2.3.4:-1", NULL),
                    -EINVAL);
    CU_ASSERT_EQUAL(ctl_config_parse_target("tcp:[::1:1", NULL), -EINVAL);
}

static void
test_admin(void)
{
    CU_ASSERT_EQUAL(load("[controller]\nadmin_tcp = tcp:127.0.0.1:6640\n"
                         "admin_token = s3cret\n"), 0);
    CU_ASSERT_STRING_EQUAL(cfg.admin_tcp, "tcp:127.0.0.1:6640");
    CU_ASSERT_STRING_EQUAL(cfg.admin_token, "s3cret");
    CU_ASSERT_EQUAL(ctl_config_check(&cfg, err, sizeof err), 0);

    char *a1[] = { "ctl", "--admin-tcp", "tcp:127.0.0.1:1", NULL };
    CU_ASSERT_EQUAL(args(3, a1), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "admin_tcp (tcp:127.0.0.1:1) needs "
                           "admin_token");
    char *a2[] = { "ctl", "--admin-tcp", "127.0.0.1:1", NULL };
    CU_ASSERT_EQUAL(args(3, a2), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--admin-tcp: bad address"));
    char *a3[] = { "ctl", "--admin-tcp", "tcp:127.0.0.1:1", "--admin-token",
                   "t", NULL };
    CU_ASSERT_EQUAL(args(5, a3), 0);
}

static void
test_ssids_and_blocks(void)
{
    uint8_t list[255];

    /* Default: just --ssid; blocks of 16. */
    char *a0[] = { "ctl", "--ssid", "9", NULL };
    CU_ASSERT_EQUAL(args(3, a0), 0);
    CU_ASSERT_EQUAL(cfg.host_block, 16);
    CU_ASSERT_EQUAL(ctl_config_ssids(&cfg, list, sizeof list), 1);
    CU_ASSERT_EQUAL(list[0], 9);
    CU_ASSERT_TRUE(ctl_config_serves(&cfg, 9));
    CU_ASSERT_FALSE(ctl_config_serves(&cfg, 1));

    /* A list: the primary ssID defaults to its lowest. */
    char *a1[] = { "ctl", "--ssids", "3,5-7,12", "--host-block", "128",
                   NULL };
    CU_ASSERT_EQUAL_FATAL(args(5, a1), 0);
    CU_ASSERT_EQUAL(cfg.ssid, 3);
    CU_ASSERT_EQUAL(cfg.host_block, 128);
    CU_ASSERT_EQUAL_FATAL(ctl_config_ssids(&cfg, list, sizeof list), 5);
    CU_ASSERT_EQUAL(list[1], 5);
    CU_ASSERT_EQUAL(list[3], 7);
    CU_ASSERT_EQUAL(list[4], 12);
    CU_ASSERT_FALSE(ctl_config_serves(&cfg, 4));
    char *a2[] = { "ctl", "--ssids", "1-8", "--ssid", "4", NULL };
    CU_ASSERT_EQUAL(args(5, a2), 0);
    CU_ASSERT_EQUAL(cfg.ssid, 4);

    /* Errors name the value. */
    char *b1[] = { "ctl", "--ssids", "1-8", "--ssid", "9", NULL };
    CU_ASSERT_EQUAL(args(5, b1), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "ssid 9 is not among ssids '1-8'");
    char *b2[] = { "ctl", "--ssids", "1,x", NULL };
    CU_ASSERT_EQUAL(args(3, b2), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad item 'x' in '1,x'"));
    char *b3[] = { "ctl", "--ssids", "8-3", NULL };
    CU_ASSERT_EQUAL(args(3, b3), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reversed range '8-3' in '8-3'"));
    char *b4[] = { "ctl", "--ssids", "1-255", NULL };
    CU_ASSERT_EQUAL(args(3, b4), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad item '1-255'"));
    char *b5[] = { "ctl", "--ssids", "1,,2", NULL };
    CU_ASSERT_EQUAL(args(3, b5), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty item"));
    char *b6[] = { "ctl", "--host-block", "24", NULL };
    CU_ASSERT_EQUAL(args(3, b6), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "--host-block: bad value '24' (expected a "
                           "power of two, 1..256)");

    /* The file too, with the line. */
    CU_ASSERT_EQUAL(load("[controller]\nssids = 2-3\nhost_block = 64\n"),
                    0);
    CU_ASSERT_EQUAL(cfg.ssid, 2);
    CU_ASSERT_EQUAL(cfg.host_block, 64);
    CU_ASSERT_EQUAL(load("[controller]\n\nssids = 0-3\n"), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.ini:3: ssids: bad item '0-3'"));
}

static CU_TestInfo config_tests[] = {
    {"defaults", test_defaults},
    {"ssid lists and host blocks", test_ssids_and_blocks},
    {"file ok", test_file_ok},
    {"file bad key names the line", test_file_bad_key},
    {"file bad section", test_file_bad_section},
    {"file bad values", test_file_bad_values},
    {"file syntax error", test_file_syntax},
    {"file first error wins", test_file_first_error_wins},
    {"file missing", test_file_missing},
    {"args ok", test_args_ok},
    {"args errors", test_args_errors},
    {"args override file", test_args_override_file},
    {"parse target", test_parse_target},
    {"admin TCP and token", test_admin},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_config", NULL, NULL, NULL, NULL, config_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ctl_config", suites);
}
