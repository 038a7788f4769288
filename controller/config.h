/*
 * SCAFFOLD controller: configuration.
 *
 * The controller is configured from an optional ini file (libinih) and from
 * command-line flags (getopt_long); flags override the file.  Everything is
 * validated while it is parsed and every error is one line naming its
 * source ("FILE:LINE: ..." or "--flag: ...").
 *
 * Config file layout (every section and key optional):
 *
 *     [controller]
 *     listen = tcp:0.0.0.0:6653        ; passive OpenFlow listener
 *     connect = tcp:10.0.0.1:6653      ; active connection, repeatable
 *     state_dir = /var/lib/scaffold    ; sqlite + status file live here
 *     ssid = 1                         ; domain, 1..254 (the primary ssID:
 *                                      ; source of the controller's
 *                                      ; replies, gateway MAC)
 *     ssids = 1-8                      ; ssIDs served, 1..254, as a list of
 *                                      ; N and N-M (default: just ssid;
 *                                      ; ssid defaults to the lowest)
 *     host_block = 16                  ; hostIDs per label-router block,
 *                                      ; a power of two 1..256
 *     log_level = info                 ; off emer err warn info dbg
 *     status_file = /path              ; default STATE_DIR/status
 *     admin_tcp = tcp:127.0.0.1:6640   ; admin RPC over TCP (off by default;
 *     admin_token = secret             ; the Unix socket STATE_DIR/admin.sock
 *                                      ; is always served)
 *     l2_learning = no                 ; yes: non-SCAFFOLD traffic that
 *                                      ; reaches table 0's default is
 *                                      ; switched by MAC learning
 *     busy_poll = 0                    ; microseconds to keep polling
 *                                      ; without sleeping after the last
 *                                      ; event (0: off; costs a CPU)
 *
 *     [timers]                         ; all in milliseconds
 *     echo_interval = 5000             ; idle time before an echo request
 *     dead_timeout = 15000             ; silence before a switch is dropped
 *     probe_interval = 1000            ; LLDP-style discovery period
 *     link_timeout = 3500              ; link lost when no probe seen
 *     lease = 60000                    ; host lease (keepalive = lease / 3)
 *
 *     [roles]
 *     0000000000000001 = label         ; datapath id (hex) = label|object
 *
 * The structure is plain data with fixed-size storage: copy it freely,
 * nothing to free.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_CONFIG_MAX_CONNECT 64
#define CTL_CONFIG_MAX_ROLES 256
#define CTL_CONFIG_TARGET_LEN 80
#define CTL_CONFIG_PATH_LEN 256

/* Positive return of ctl_config_parse_args(): --help or --version was
 * printed, exit 0. */
#define CTL_CONFIG_EXIT 1

enum ctl_role {
    CTL_ROLE_NONE = 0,          /* Not configured: treated as label router. */
    CTL_ROLE_LABEL,             /* Label router: stock OVS, OpenFlow 1.3. */
    CTL_ROLE_OBJECT,            /* Object router: select groups. */
};

/* One "--role DPID=label|object". */
struct ctl_config_role {
    uint64_t dpid;              /* Datapath id. */
    enum ctl_role role;         /* Its role. */
};

/* Log levels, mirroring OVS vlog's names. */
enum ctl_log_level {
    CTL_LOG_OFF,
    CTL_LOG_EMER,
    CTL_LOG_ERR,
    CTL_LOG_WARN,
    CTL_LOG_INFO,
    CTL_LOG_DBG,
};

struct ctl_config {
    char listen[CTL_CONFIG_TARGET_LEN];   /* "tcp:ADDR:PORT" or "" for none. */
    char connect[CTL_CONFIG_MAX_CONNECT][CTL_CONFIG_TARGET_LEN];
    size_t n_connect;                     /* Entries used in 'connect'. */
    char state_dir[CTL_CONFIG_PATH_LEN];  /* Directory for state files. */
    char status_file[CTL_CONFIG_PATH_LEN];/* "" means STATE_DIR/status. */
    char config_file[CTL_CONFIG_PATH_LEN];/* File loaded, "" if none. */
    char admin_tcp[CTL_CONFIG_TARGET_LEN];/* Admin RPC TCP, "" for none. */
    char admin_token[128];                /* Its shared token. */
    unsigned int ssid;                    /* Domain id, 1..254: the
                                           * primary ssID. */
    bool ssid_set;                        /* 'ssid' given explicitly. */
    uint8_t ssids[32];                    /* Served ssIDs (bit N = ssID N)
                                           * when 'ssids_set'; otherwise
                                           * just 'ssid'. */
    bool ssids_set;                       /* 'ssids' given. */
    char ssids_text[64];                  /* As given, for messages. */
    unsigned int host_block;              /* HostIDs per block, a power of
                                           * two 1..256. */
    enum ctl_log_level log_level;         /* Console log level. */
    struct ctl_config_role roles[CTL_CONFIG_MAX_ROLES];
    size_t n_roles;                       /* Entries used in 'roles'. */
    unsigned int echo_interval_ms;        /* Idle time before echo request. */
    unsigned int dead_timeout_ms;         /* Silence before disconnect. */
    unsigned int probe_interval_ms;       /* Discovery probe period. */
    unsigned int link_timeout_ms;         /* Link expiry without probes. */
    bool l2_learning;                     /* L2 learning switch for
                                           * non-SCAFFOLD traffic. */
    unsigned int busy_poll_us;            /* Poll without sleeping this
                                           * long after the last event
                                           * (0: block in epoll at once). */
    unsigned int lease_ms;                /* Host lease after a join or
                                           * keepalive (whole seconds on
                                           * the wire). */
};

void ctl_config_init(struct ctl_config *);
int ctl_config_load_file(struct ctl_config *, const char *path,
                         char *err, size_t err_len);
int ctl_config_load_string(struct ctl_config *, const char *text,
                           const char *name, char *err, size_t err_len);
int ctl_config_parse_args(struct ctl_config *, int argc, char *argv[],
                          char *err, size_t err_len);
int ctl_config_check(const struct ctl_config *, char *err, size_t err_len);

bool ctl_config_serves(const struct ctl_config *, unsigned int ss_id);
size_t ctl_config_ssids(const struct ctl_config *, uint8_t *out, size_t max);
int ctl_config_parse_ssids(const char *text, uint8_t set[32], char *err,
                           size_t err_len);

enum ctl_role ctl_config_role(const struct ctl_config *, uint64_t dpid);
const char *ctl_role_name(enum ctl_role);
const char *ctl_log_level_name(enum ctl_log_level);

/* Target parsing ("tcp:ADDR:PORT", ADDR IPv4 or [IPv6]).  Fills 'ss' (a
 * struct sockaddr_storage) when not NULL.  Returns 0 or -EINVAL. */
struct sockaddr_storage;
int ctl_config_parse_target(const char *target, struct sockaddr_storage *ss);

void ctl_config_usage(const char *program_name);

#endif /* controller/config.h */
