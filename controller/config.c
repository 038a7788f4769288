/*
 * SCAFFOLD controller: configuration from an ini file and the command line.
 *
 * Two sources fill one struct ctl_config: the ini file named by --config
 * (parsed with libinih) and then the remaining command-line flags, so that
 * a flag always wins over the file.  Repeatable list options (--connect)
 * given on the command line replace the file's list; --role entries replace
 * the file's entry for the same datapath id and add the others.
 *
 * Each value is validated as soon as it is read.  libinih reports only the
 * line number of the first failure, so the handler keeps the first message
 * and ctl_config_load_*() formats "NAME:LINE: message".
 */
#include "controller/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <ini.h>

/* State of one ini parse: the first error message wins. */
struct ctl_ini_ctx {
    struct ctl_config *cfg;     /* Being filled. */
    char msg[256];              /* First error, "" if none. */
};

static const char *ctl_level_names[] = {
    [CTL_LOG_OFF] = "off", [CTL_LOG_EMER] = "emer", [CTL_LOG_ERR] = "err",
    [CTL_LOG_WARN] = "warn", [CTL_LOG_INFO] = "info", [CTL_LOG_DBG] = "dbg",
};

static int ctl_set_key(struct ctl_config *, const char *section,
                       const char *key, const char *value,
                       char *err, size_t err_len);
static int ctl_add_role(struct ctl_config *, const char *dpid,
                        const char *role, char *err, size_t err_len);

void
ctl_config_init(struct ctl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "tcp:0.0.0.0:6653");
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "/var/lib/scaffold");
    cfg->ssid = 1;
    cfg->host_block = 16;
    cfg->log_level = CTL_LOG_INFO;
    cfg->echo_interval_ms = 5000;
    cfg->dead_timeout_ms = 15000;
    cfg->probe_interval_ms = 1000;
    cfg->link_timeout_ms = 3500;
    cfg->lease_ms = 60000;
}

static int
ctl_ini_handler(void *ctx_, const char *section, const char *name,
                const char *value)
{
    struct ctl_ini_ctx *ctx = ctx_;
    char msg[sizeof ctx->msg];

    if (!name) {
        /* Section header alone (libinih >= 42 with INI_CALL_HANDLER_ON_NEW_
         * SECTION); the section name is checked with its first key. */
        return 1;
    }
    if (ctl_set_key(ctx->cfg, section, name, value, msg, sizeof msg)) {
        if (!ctx->msg[0]) {
            snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
        }
        return 0;
    }
    return 1;
}

static int
ctl_ini_result(struct ctl_ini_ctx *ctx, int rc, const char *name,
               char *err, size_t err_len)
{
    if (rc == 0) {
        return 0;
    }
    if (rc < 0) {
        snprintf(err, err_len, "%s: cannot read config file", name);
        return -ENOENT;
    }
    snprintf(err, err_len, "%s:%d: %s", name, rc,
             ctx->msg[0] ? ctx->msg : "syntax error");
    return -EINVAL;
}

/* Loads the ini file 'path' into 'cfg'.  Returns 0, -ENOENT when the file
 * cannot be opened or -EINVAL with "PATH:LINE: message" in 'err'. */
int
ctl_config_load_file(struct ctl_config *cfg, const char *path,
                     char *err, size_t err_len)
{
    struct ctl_ini_ctx ctx = { .cfg = cfg };
    FILE *f = fopen(path, "r");

    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    int rc = ini_parse_file(f, ctl_ini_handler, &ctx);
    fclose(f);
    if (!rc) {
        snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);
    }
    return ctl_ini_result(&ctx, rc, path, err, err_len);
}

/* Same as ctl_config_load_file() for text in memory; 'name' names it in
 * error messages. */
int
ctl_config_load_string(struct ctl_config *cfg, const char *text,
                       const char *name, char *err, size_t err_len)
{
    struct ctl_ini_ctx ctx = { .cfg = cfg };

    return ctl_ini_result(&ctx, ini_parse_string(text, ctl_ini_handler, &ctx),
                          name, err, err_len);
}

static int
ctl_parse_uint(const char *s, unsigned long min, unsigned long max,
               unsigned long *out)
{
    char *end;

    if (!s || !*s || *s == '-' || *s == '+') {
        return -EINVAL;
    }
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int
ctl_parse_dpid(const char *s, uint64_t *dpid)
{
    char *end;

    if (!s || !*s || strlen(s) > 18) {
        return -EINVAL;
    }
    if (!strncasecmp(s, "0x", 2)) {
        s += 2;
    }
    if (!*s || *s == '-' || *s == '+') {
        return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (errno || *end) {
        return -EINVAL;
    }
    *dpid = v;
    return 0;
}

/* "tcp:1.2.3.4:6653" or "tcp:[::1]:6653". */
int
ctl_config_parse_target(const char *target, struct sockaddr_storage *ss)
{
    char host[64];
    const char *port;
    unsigned long portno;

    if (strncmp(target, "tcp:", 4)) {
        return -EINVAL;
    }
    target += 4;
    if (*target == '[') {
        const char *close = strchr(target, ']');
        if (!close || close[1] != ':'
            || close - target - 1 >= (int) sizeof host) {
            return -EINVAL;
        }
        memcpy(host, target + 1, close - target - 1);
        host[close - target - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(target, ':');
        if (!colon || colon - target >= (int) sizeof host
            || memchr(target, ':', colon - target)) {
            return -EINVAL;
        }
        memcpy(host, target, colon - target);
        host[colon - target] = '\0';
        port = colon + 1;
    }
    if (ctl_parse_uint(port, 0, 65535, &portno)) {
        return -EINVAL;
    }

    struct sockaddr_storage tmp;
    memset(&tmp, 0, sizeof tmp);
    struct sockaddr_in *sin = (struct sockaddr_in *) &tmp;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &tmp;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(portno);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(portno);
    } else {
        return -EINVAL;
    }
    if (ss) {
        *ss = tmp;
    }
    return 0;
}

static int
ctl_set_string(char *dst, size_t size, const char *value, const char *what,
               char *err, size_t err_len)
{
    if (!*value) {
        snprintf(err, err_len, "%s: empty value", what);
        return -EINVAL;
    }
    if (strlen(value) >= size) {
        snprintf(err, err_len, "%s: value too long (max %zu)", what,
                 size - 1);
        return -EINVAL;
    }
    snprintf(dst, size, "%s", value);
    return 0;
}

static int
ctl_set_target(char *dst, const char *value, const char *what,
               char *err, size_t err_len)
{
    if (ctl_config_parse_target(value, NULL)) {
        snprintf(err, err_len, "%s: bad address '%s' (expected "
                 "tcp:IP:PORT or tcp:[IPv6]:PORT)", what, value);
        return -EINVAL;
    }
    return ctl_set_string(dst, CTL_CONFIG_TARGET_LEN, value, what,
                          err, err_len);
}

static int
ctl_set_level(struct ctl_config *cfg, const char *value, char *err,
              size_t err_len)
{
    for (size_t i = 0; i < sizeof ctl_level_names / sizeof *ctl_level_names;
         i++) {
        if (!strcasecmp(value, ctl_level_names[i])) {
            cfg->log_level = i;
            return 0;
        }
    }
    if (!strcasecmp(value, "debug")) {
        cfg->log_level = CTL_LOG_DBG;
        return 0;
    }
    snprintf(err, err_len, "log_level: unknown level '%s' (expected off, "
             "emer, err, warn, info or dbg)", value);
    return -EINVAL;
}

static int
ctl_set_ms(unsigned int *dst, const char *value, unsigned long min,
           const char *what, char *err, size_t err_len)
{
    unsigned long v;

    if (ctl_parse_uint(value, min, 3600 * 1000, &v)) {
        snprintf(err, err_len, "%s: bad value '%s' (milliseconds, %lu.."
                 "3600000)", what, value, min);
        return -EINVAL;
    }
    *dst = v;
    return 0;
}

static int
ctl_set_busy_poll(struct ctl_config *cfg, const char *value, const char *what,
                  char *err, size_t err_len)
{
    unsigned long v;

    if (ctl_parse_uint(value, 0, 100000, &v)) {
        snprintf(err, err_len, "%s: bad value '%s' (microseconds, 0..100000)",
                 what, value);
        return -EINVAL;
    }
    cfg->busy_poll_us = (unsigned int) v;
    return 0;
}

static int
ctl_set_ssid(struct ctl_config *cfg, const char *value, char *err,
             size_t err_len)
{
    unsigned long v;

    if (ctl_parse_uint(value, 1, 254, &v)) {
        snprintf(err, err_len, "ssid: bad value '%s' (expected 1..254)",
                 value);
        return -EINVAL;
    }
    cfg->ssid = v;
    cfg->ssid_set = true;
    return 0;
}

/* Parses an ssID list ("1-8", "1,3,5-8": ssIDs 1..254, N or N-M items,
 * comma-separated, no spaces) into the bitmap 'set' (bit N = ssID N).
 * Returns 0, or -EINVAL with a message naming the value and the bad item
 * in 'err'. */
int
ctl_config_parse_ssids(const char *text, uint8_t set[32], char *err,
                       size_t err_len)
{
    char buf[256];
    char *save = NULL;

    memset(set, 0, 32);
    if (!text || !*text || strlen(text) >= sizeof buf) {
        snprintf(err, err_len, "ssids: bad list '%s' (expected ssIDs "
                 "1..254 as N or N-M, comma-separated, e.g. 1-8 or "
                 "1,3,5-8)", text ? text : "");
        return -EINVAL;
    }
    snprintf(buf, sizeof buf, "%s", text);
    if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")) {
        snprintf(err, err_len, "ssids: bad list '%s': empty item", text);
        return -EINVAL;
    }
    for (char *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(item, '-');
        unsigned long lo, hi;
        if (dash) {
            *dash = '\0';
        }
        if (ctl_parse_uint(item, 1, 254, &lo)
            || (dash && ctl_parse_uint(dash + 1, 1, 254, &hi))) {
            if (dash) {
                *dash = '-';
            }
            snprintf(err, err_len, "ssids: bad item '%s' in '%s' (expected "
                     "ssIDs 1..254 as N or N-M)", item, text);
            return -EINVAL;
        }
        if (!dash) {
            hi = lo;
        } else if (hi < lo) {
            snprintf(err, err_len, "ssids: reversed range '%lu-%lu' in "
                     "'%s'", lo, hi, text);
            return -EINVAL;
        }
        for (unsigned long ss = lo; ss <= hi; ss++) {
            set[ss / 8] |= 1u << (ss % 8);
        }
    }
    return 0;
}

static int
ctl_set_ssids(struct ctl_config *cfg, const char *value, const char *what,
              char *err, size_t err_len)
{
    int rc = ctl_config_parse_ssids(value, cfg->ssids, err, err_len);

    if (!rc && strlen(value) >= sizeof cfg->ssids_text) {
        snprintf(err, err_len, "%s: value too long (max %zu)", what,
                 sizeof cfg->ssids_text - 1);
        rc = -EINVAL;
    }
    if (rc) {
        memset(cfg->ssids, 0, sizeof cfg->ssids);
        return rc;
    }
    snprintf(cfg->ssids_text, sizeof cfg->ssids_text, "%s", value);
    cfg->ssids_set = true;
    if (!cfg->ssid_set) {
        /* The primary ssID defaults to the lowest one served. */
        for (unsigned int ss = 1; ss < 255; ss++) {
            if (cfg->ssids[ss / 8] & (1u << (ss % 8))) {
                cfg->ssid = ss;
                break;
            }
        }
    }
    return 0;
}

static int
ctl_set_host_block(struct ctl_config *cfg, const char *value,
                   const char *what, char *err, size_t err_len)
{
    unsigned long v;

    if (ctl_parse_uint(value, 1, 256, &v) || (v & (v - 1))) {
        snprintf(err, err_len, "%s: bad value '%s' (expected a power of two, "
                 "1..256)", what, value);
        return -EINVAL;
    }
    cfg->host_block = v;
    return 0;
}

static int
ctl_add_connect(struct ctl_config *cfg, const char *value, char *err,
                size_t err_len)
{
    if (cfg->n_connect >= CTL_CONFIG_MAX_CONNECT) {
        snprintf(err, err_len, "connect: too many targets (max %d)",
                 CTL_CONFIG_MAX_CONNECT);
        return -EINVAL;
    }
    int rc = ctl_set_target(cfg->connect[cfg->n_connect], value, "connect",
                            err, err_len);
    if (!rc) {
        cfg->n_connect++;
    }
    return rc;
}

/* Sets one key of the config file.  Returns 0 or -EINVAL with a message
 * (without file or line) in 'err'. */
static int
ctl_set_key(struct ctl_config *cfg, const char *section, const char *key,
            const char *value, char *err, size_t err_len)
{
    if (!strcmp(section, "controller")) {
        if (!strcmp(key, "listen")) {
            return ctl_set_target(cfg->listen, value, key, err, err_len);
        } else if (!strcmp(key, "connect")) {
            return ctl_add_connect(cfg, value, err, err_len);
        } else if (!strcmp(key, "state_dir")) {
            return ctl_set_string(cfg->state_dir, sizeof cfg->state_dir,
                                  value, key, err, err_len);
        } else if (!strcmp(key, "status_file")) {
            return ctl_set_string(cfg->status_file, sizeof cfg->status_file,
                                  value, key, err, err_len);
        } else if (!strcmp(key, "ssid")) {
            return ctl_set_ssid(cfg, value, err, err_len);
        } else if (!strcmp(key, "ssids")) {
            return ctl_set_ssids(cfg, value, key, err, err_len);
        } else if (!strcmp(key, "host_block")) {
            return ctl_set_host_block(cfg, value, key, err, err_len);
        } else if (!strcmp(key, "l2_learning")) {
            if (!strcmp(value, "yes") || !strcmp(value, "true")) {
                cfg->l2_learning = true;
            } else if (!strcmp(value, "no") || !strcmp(value, "false")) {
                cfg->l2_learning = false;
            } else {
                snprintf(err, err_len, "l2_learning: expected yes or no, "
                         "got '%s'", value);
                return -EINVAL;
            }
            return 0;
        } else if (!strcmp(key, "busy_poll")) {
            return ctl_set_busy_poll(cfg, value, key, err, err_len);
        } else if (!strcmp(key, "log_level")) {
            return ctl_set_level(cfg, value, err, err_len);
        } else if (!strcmp(key, "admin_tcp")) {
            return ctl_set_target(cfg->admin_tcp, value, key, err, err_len);
        } else if (!strcmp(key, "admin_token")) {
            return ctl_set_string(cfg->admin_token, sizeof cfg->admin_token,
                                  value, key, err, err_len);
        }
    } else if (!strcmp(section, "timers")) {
        if (!strcmp(key, "echo_interval")) {
            return ctl_set_ms(&cfg->echo_interval_ms, value, 100, key,
                              err, err_len);
        } else if (!strcmp(key, "dead_timeout")) {
            return ctl_set_ms(&cfg->dead_timeout_ms, value, 100, key,
                              err, err_len);
        } else if (!strcmp(key, "probe_interval")) {
            return ctl_set_ms(&cfg->probe_interval_ms, value, 50, key,
                              err, err_len);
        } else if (!strcmp(key, "link_timeout")) {
            return ctl_set_ms(&cfg->link_timeout_ms, value, 100, key,
                              err, err_len);
        } else if (!strcmp(key, "lease")) {
            return ctl_set_ms(&cfg->lease_ms, value, 3000, key, err,
                              err_len);
        }
    } else if (!strcmp(section, "roles")) {
        return ctl_add_role(cfg, key, value, err, err_len);
    } else {
        snprintf(err, err_len, "unknown section [%s] (expected controller, "
                 "timers or roles)", section);
        return -EINVAL;
    }
    snprintf(err, err_len, "unknown key '%s' in section [%s]", key, section);
    return -EINVAL;
}

static int
ctl_add_role(struct ctl_config *cfg, const char *dpid_s, const char *role_s,
             char *err, size_t err_len)
{
    uint64_t dpid;
    enum ctl_role role;

    if (ctl_parse_dpid(dpid_s, &dpid)) {
        snprintf(err, err_len, "role: bad datapath id '%s' (expected up to "
                 "16 hex digits)", dpid_s);
        return -EINVAL;
    }
    if (!strcmp(role_s, "label")) {
        role = CTL_ROLE_LABEL;
    } else if (!strcmp(role_s, "object")) {
        role = CTL_ROLE_OBJECT;
    } else {
        snprintf(err, err_len, "role: bad role '%s' for %016"PRIx64
                 " (expected label or object)", role_s, dpid);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_roles; i++) {
        if (cfg->roles[i].dpid == dpid) {
            cfg->roles[i].role = role;
            return 0;
        }
    }
    if (cfg->n_roles >= CTL_CONFIG_MAX_ROLES) {
        snprintf(err, err_len, "role: too many roles (max %d)",
                 CTL_CONFIG_MAX_ROLES);
        return -EINVAL;
    }
    cfg->roles[cfg->n_roles].dpid = dpid;
    cfg->roles[cfg->n_roles].role = role;
    cfg->n_roles++;
    return 0;
}

enum {
    CTL_OPT_LISTEN = UCHAR_MAX + 1,
    CTL_OPT_CONNECT,
    CTL_OPT_STATE_DIR,
    CTL_OPT_STATUS_FILE,
    CTL_OPT_SSID,
    CTL_OPT_SSIDS,
    CTL_OPT_HOST_BLOCK,
    CTL_OPT_ROLE,
    CTL_OPT_LOG_LEVEL,
    CTL_OPT_CONFIG,
    CTL_OPT_ECHO,
    CTL_OPT_DEAD,
    CTL_OPT_PROBE,
    CTL_OPT_LINK,
    CTL_OPT_LEASE,
    CTL_OPT_L2,
    CTL_OPT_BUSY_POLL,
    CTL_OPT_ADMIN_TCP,
    CTL_OPT_ADMIN_TOKEN,
    CTL_OPT_HELP,
};

static const struct option ctl_long_options[] = {
    {"listen", required_argument, NULL, CTL_OPT_LISTEN},
    {"connect", required_argument, NULL, CTL_OPT_CONNECT},
    {"state-dir", required_argument, NULL, CTL_OPT_STATE_DIR},
    {"status-file", required_argument, NULL, CTL_OPT_STATUS_FILE},
    {"ssid", required_argument, NULL, CTL_OPT_SSID},
    {"ssids", required_argument, NULL, CTL_OPT_SSIDS},
    {"host-block", required_argument, NULL, CTL_OPT_HOST_BLOCK},
    {"role", required_argument, NULL, CTL_OPT_ROLE},
    {"log-level", required_argument, NULL, CTL_OPT_LOG_LEVEL},
    {"config", required_argument, NULL, CTL_OPT_CONFIG},
    {"echo-interval", required_argument, NULL, CTL_OPT_ECHO},
    {"dead-timeout", required_argument, NULL, CTL_OPT_DEAD},
    {"probe-interval", required_argument, NULL, CTL_OPT_PROBE},
    {"link-timeout", required_argument, NULL, CTL_OPT_LINK},
    {"lease", required_argument, NULL, CTL_OPT_LEASE},
    {"l2-learning", no_argument, NULL, CTL_OPT_L2},
    {"busy-poll", required_argument, NULL, CTL_OPT_BUSY_POLL},
    {"admin-tcp", required_argument, NULL, CTL_OPT_ADMIN_TCP},
    {"admin-token", required_argument, NULL, CTL_OPT_ADMIN_TOKEN},
    {"help", no_argument, NULL, CTL_OPT_HELP},
    {NULL, 0, NULL, 0},
};

void
ctl_config_usage(const char *program_name)
{
    printf("%s: SCAFFOLD OpenFlow controller\n"
           "usage: %s [OPTIONS]\n"
           "  --config FILE          ini config file (flags override it)\n"
           "  --listen tcp:IP:PORT   passive OpenFlow listener "
           "(default tcp:0.0.0.0:6653)\n"
           "  --connect tcp:IP:PORT  active connection to a switch "
           "(repeatable)\n"
           "  --state-dir DIR        state directory "
           "(default /var/lib/scaffold)\n"
           "  --status-file FILE     status snapshot "
           "(default STATE_DIR/status)\n"
           "  --ssid N               primary domain id, 1..254 "
           "(default 1, or the\n"
           "                         lowest of --ssids)\n"
           "  --ssids LIST           ssIDs served, e.g. 1-8 or 1,3,5-8 "
           "(default: --ssid)\n"
           "  --host-block B         hostIDs per label-router block, a "
           "power of two\n"
           "                         1..256 (default 16)\n"
           "  --role DPID=ROLE       label|object, DPID in hex "
           "(repeatable)\n"
           "  --log-level LEVEL      off|emer|err|warn|info|dbg "
           "(default info)\n"
           "  --echo-interval MS     idle time before echo request "
           "(default 5000)\n"
           "  --dead-timeout MS      silence before disconnect "
           "(default 15000)\n"
           "  --probe-interval MS    discovery probe period "
           "(default 1000)\n"
           "  --link-timeout MS      link expiry without probes "
           "(default 3500)\n"
           "  --lease MS             host lease, keepalive a third of it "
           "(default 60000)\n"
           "  --l2-learning          switch non-SCAFFOLD traffic by MAC "
           "learning (off)\n"
           "  --busy-poll USEC       keep polling without sleeping USEC "
           "after the last\n"
           "                         event (0 = off; up to a whole CPU "
           "under load)\n"
           "  --admin-tcp tcp:IP:PORT  admin RPC over TCP as well as "
           "STATE_DIR/admin.sock\n"
           "  --admin-token TOKEN    shared token, required with "
           "--admin-tcp\n"
           "  --help                 this text\n",
           program_name, program_name);
}

static int
ctl_apply_option(struct ctl_config *cfg, int opt, const char *arg,
                 bool *connect_reset, char *err, size_t err_len)
{
    char msg[256];
    int rc = 0;

    switch (opt) {
    case CTL_OPT_LISTEN:
        rc = ctl_set_target(cfg->listen, arg, "--listen", msg, sizeof msg);
        break;
    case CTL_OPT_CONNECT:
        if (!*connect_reset) {
            cfg->n_connect = 0;
            *connect_reset = true;
        }
        rc = ctl_add_connect(cfg, arg, msg, sizeof msg);
        break;
    case CTL_OPT_STATE_DIR:
        rc = ctl_set_string(cfg->state_dir, sizeof cfg->state_dir, arg,
                            "--state-dir", msg, sizeof msg);
        break;
    case CTL_OPT_STATUS_FILE:
        rc = ctl_set_string(cfg->status_file, sizeof cfg->status_file, arg,
                            "--status-file", msg, sizeof msg);
        break;
    case CTL_OPT_SSID:
        rc = ctl_set_ssid(cfg, arg, msg, sizeof msg);
        break;
    case CTL_OPT_SSIDS:
        rc = ctl_set_ssids(cfg, arg, "--ssids", msg, sizeof msg);
        break;
    case CTL_OPT_HOST_BLOCK:
        rc = ctl_set_host_block(cfg, arg, "--host-block", msg, sizeof msg);
        break;
    case CTL_OPT_ROLE: {
        char buf[64];
        const char *eq = strchr(arg, '=');
        if (!eq || (size_t) (eq - arg) >= sizeof buf) {
            snprintf(msg, sizeof msg, "role: expected DPID=label|object, "
                     "got '%s'", arg);
            rc = -EINVAL;
            break;
        }
        memcpy(buf, arg, eq - arg);
        buf[eq - arg] = '\0';
        rc = ctl_add_role(cfg, buf, eq + 1, msg, sizeof msg);
        break;
    }
    case CTL_OPT_LOG_LEVEL:
        rc = ctl_set_level(cfg, arg, msg, sizeof msg);
        break;
    case CTL_OPT_ECHO:
        rc = ctl_set_ms(&cfg->echo_interval_ms, arg, 100, "--echo-interval",
                        msg, sizeof msg);
        break;
    case CTL_OPT_DEAD:
        rc = ctl_set_ms(&cfg->dead_timeout_ms, arg, 100, "--dead-timeout",
                        msg, sizeof msg);
        break;
    case CTL_OPT_PROBE:
        rc = ctl_set_ms(&cfg->probe_interval_ms, arg, 50, "--probe-interval",
                        msg, sizeof msg);
        break;
    case CTL_OPT_LINK:
        rc = ctl_set_ms(&cfg->link_timeout_ms, arg, 100, "--link-timeout",
                        msg, sizeof msg);
        break;
    case CTL_OPT_L2:
        cfg->l2_learning = true;
        break;
    case CTL_OPT_BUSY_POLL:
        rc = ctl_set_busy_poll(cfg, arg, "--busy-poll", msg, sizeof msg);
        break;
    case CTL_OPT_LEASE:
        rc = ctl_set_ms(&cfg->lease_ms, arg, 3000, "--lease", msg,
                        sizeof msg);
        break;
    case CTL_OPT_ADMIN_TCP:
        rc = ctl_set_target(cfg->admin_tcp, arg, "--admin-tcp", msg,
                            sizeof msg);
        break;
    case CTL_OPT_ADMIN_TOKEN:
        rc = ctl_set_string(cfg->admin_token, sizeof cfg->admin_token, arg,
                            "--admin-token", msg, sizeof msg);
        break;
    default:
        break;
    }
    if (rc) {
        snprintf(err, err_len, "%s", msg);
    }
    return rc;
}

/* Parses the command line into 'cfg' (which holds defaults or earlier
 * settings).  --config FILE is loaded first wherever it appears, then the
 * other flags are applied on top.  Returns 0, CTL_CONFIG_EXIT after printing
 * --help, or a negative errno with one line in 'err'. */
int
ctl_config_parse_args(struct ctl_config *cfg, int argc, char *argv[],
                      char *err, size_t err_len)
{
    const char *config = NULL;
    bool connect_reset = false;
    int opt;

    /* Pass 1: --help, --config and syntax errors. */
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":", ctl_long_options,
                              NULL)) != -1) {
        if (opt == CTL_OPT_HELP) {
            ctl_config_usage(argv[0]);
            return CTL_CONFIG_EXIT;
        } else if (opt == CTL_OPT_CONFIG) {
            config = optarg;
        } else if (opt == ':') {
            snprintf(err, err_len, "option '%s' needs an argument",
                     argv[optind - 1]);
            return -EINVAL;
        } else if (opt == '?') {
            snprintf(err, err_len, "unknown option '%s' (try --help)",
                     argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, err_len, "unexpected argument '%s' (try --help)",
                 argv[optind]);
        return -EINVAL;
    }
    if (config) {
        int rc = ctl_config_load_file(cfg, config, err, err_len);
        if (rc) {
            return rc;
        }
    }

    /* Pass 2: everything else, over the file's settings. */
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":", ctl_long_options,
                              NULL)) != -1) {
        int rc = ctl_apply_option(cfg, opt, optarg, &connect_reset,
                                  err, err_len);
        if (rc) {
            return rc;
        }
    }
    return ctl_config_check(cfg, err, err_len);
}

/* Cross-field checks after all sources were applied. */
int
ctl_config_check(const struct ctl_config *cfg, char *err, size_t err_len)
{
    if (!cfg->listen[0] && !cfg->n_connect) {
        snprintf(err, err_len, "nothing to do: no listen address and no "
                 "connect target");
        return -EINVAL;
    }
    if (cfg->dead_timeout_ms <= cfg->echo_interval_ms) {
        snprintf(err, err_len, "dead_timeout (%u ms) must be longer than "
                 "echo_interval (%u ms)", cfg->dead_timeout_ms,
                 cfg->echo_interval_ms);
        return -EINVAL;
    }
    if (cfg->admin_tcp[0] && !cfg->admin_token[0]) {
        snprintf(err, err_len, "admin_tcp (%s) needs admin_token",
                 cfg->admin_tcp);
        return -EINVAL;
    }
    if (cfg->link_timeout_ms <= cfg->probe_interval_ms) {
        snprintf(err, err_len, "link_timeout (%u ms) must be longer than "
                 "probe_interval (%u ms)", cfg->link_timeout_ms,
                 cfg->probe_interval_ms);
        return -EINVAL;
    }
    if (cfg->ssids_set && !ctl_config_serves(cfg, cfg->ssid)) {
        snprintf(err, err_len, "ssid %u is not among ssids '%s'", cfg->ssid,
                 cfg->ssids_text);
        return -EINVAL;
    }
    return 0;
}

/* True when the controller serves ssID 'ss_id'. */
bool
ctl_config_serves(const struct ctl_config *cfg, unsigned int ss_id)
{
    if (!cfg->ssids_set) {
        return ss_id == cfg->ssid;
    }
    return ss_id < 255 && (cfg->ssids[ss_id / 8] & (1u << (ss_id % 8)));
}

/* Stores the served ssIDs in ascending order in 'out' (room for 'max';
 * 255 is always enough) and returns their number. */
size_t
ctl_config_ssids(const struct ctl_config *cfg, uint8_t *out, size_t max)
{
    size_t n = 0;

    for (unsigned int ss = 1; ss < 256 && n < max; ss++) {
        if (ctl_config_serves(cfg, ss)) {
            out[n++] = ss;
        }
    }
    return n;
}

enum ctl_role
ctl_config_role(const struct ctl_config *cfg, uint64_t dpid)
{
    for (size_t i = 0; i < cfg->n_roles; i++) {
        if (cfg->roles[i].dpid == dpid) {
            return cfg->roles[i].role;
        }
    }
    return CTL_ROLE_NONE;
}

const char *
ctl_role_name(enum ctl_role role)
{
    switch (role) {
    case CTL_ROLE_LABEL:
        return "label";
    case CTL_ROLE_OBJECT:
        return "object";
    case CTL_ROLE_NONE:
    default:
        return "none";
    }
}

const char *
ctl_log_level_name(enum ctl_log_level level)
{
    return level <= CTL_LOG_DBG ? ctl_level_names[level] : "?";
}
