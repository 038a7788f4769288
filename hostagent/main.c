/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scaffold-hostagent: command line, the --status client, and the libuv
 * loop.  Everything else is in agent.c and its neighbours.
 */
#include <errno.h>
#include <ctype.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostagent/agent.h"
#include "libsf/ipc.h"

#define HA_VERSION "0.1"

static void usage(FILE *, const char *prog);
static int parse_mac(const char *, uint8_t mac[6]);
static int parse_prefix(const char *, uint32_t *);
static int parse_static(struct ha_agent *, const char *);
static int run_status(const char *ipc_name);
static int ipc_connect(const char *ipc_name);
static int run_move(const char *ipc_name, uint32_t prefix);

int
main(int argc, char *argv[])
{
    static const struct option opts[] = {
        { "iface", required_argument, NULL, 'i' },
        { "flowid-prefix", required_argument, NULL, 'p' },
        { "gateway-mac", required_argument, NULL, 'g' },
        { "static-object", required_argument, NULL, 's' },
        { "ipc-name", required_argument, NULL, 'n' },
        { "status", no_argument, NULL, 'S' },
        { "move", required_argument, NULL, 'M' },
        { "rx-ring", required_argument, NULL, 'R' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    static struct ha_agent agent;
    struct ha_agent *a = &agent;
    bool status = false, have_prefix = false, have_gw = false;
    bool move = false;
    uint32_t move_to = 0;
    int c, error;

    /* Fixed malloc thresholds (setting them turns glibc's dynamic ones
     * off): otherwise the first large buffer freed (a --status answer,
     * 1 MiB) raises the mmap threshold to its size and the trim threshold
     * to twice that, and from then on every status answer and freed
     * connection leaves resident pages in a heap that is never given
     * back.  Buffers of 128 KiB and more are mapped and unmapped; free
     * space above 128 KiB at the heap's top is returned. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    ha_agent_init(a, uv_default_loop());
    while ((c = getopt_long(argc, argv, "i:p:g:s:n:R:vhV", opts,
                            NULL)) != -1) {
        switch (c) {
        case 'i':
            if (!*optarg || strlen(optarg) >= sizeof a->ifname) {
                fprintf(stderr, "%s: --iface '%s': expected an interface "
                        "name of 1..%zu characters\n", argv[0], optarg,
                        sizeof a->ifname - 1);
                return 2;
            }
            strcpy(a->ifname, optarg);
            break;
        case 'p':
            if (parse_prefix(optarg, &a->prefix)) {
                fprintf(stderr, "%s: --flowid-prefix %s: expected SS.HOST "
                        "(e.g. 10.1), SS 1..254, HOST 1..254\n", argv[0],
                        optarg);
                return 2;
            }
            have_prefix = true;
            break;
        case 'g':
            if (parse_mac(optarg, a->gw_mac)) {
                fprintf(stderr, "%s: --gateway-mac %s: expected "
                        "xx:xx:xx:xx:xx:xx\n", argv[0], optarg);
                return 2;
            }
            have_gw = true;
            break;
        case 's':
            if (parse_static(a, optarg)) {
                fprintf(stderr, "%s: --static-object %s: expected "
                        "OBJ=SS.HOST.SOCK (objectID 1..65535; SOCK 0 means "
                        "the host's listener for OBJ), at most %d\n",
                        argv[0], optarg, HA_MAX_STATIC);
                return 2;
            }
            break;
        case 'n':
            if (!*optarg || strlen(optarg) >= sizeof a->ipc_name) {
                fprintf(stderr, "%s: --ipc-name '%s': expected 1..%zu "
                        "characters\n", argv[0], optarg,
                        sizeof a->ipc_name - 1);
                return 2;
            }
            strcpy(a->ipc_name, optarg);
            break;
        case 'S':
            status = true;
            break;
        case 'M':
            if (parse_prefix(optarg, &move_to)) {
                fprintf(stderr, "%s: --move %s: expected SS.HOST\n", argv[0],
                        optarg);
                return 2;
            }
            move = true;
            break;
        case 'R':
            if (ha_netio_config(a, optarg)) {
                fprintf(stderr, "%s: --rx-ring %s: expected KIB[:BLOCKS"
                        "[:TOV_MS]], KIB a multiple of the page size in "
                        "KiB (0: no ring), BLOCKS 2..4096, at most 256 MiB "
                        "in all, TOV_MS 1..1000\n", argv[0], optarg);
                return 2;
            }
            break;
        case 'v':
            a->verbose++;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return 0;
        case 'V':
            printf("scaffold-hostagent %s\n", HA_VERSION);
            return 0;
        default:
            /* getopt_long named the option and what is wrong with it. */
            fprintf(stderr, "%s: see --help\n", argv[0]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'; see --help\n",
                argv[0], argv[optind]);
        return 2;
    }
    if (status && move) {
        fprintf(stderr, "%s: --status and --move are exclusive; see "
                "--help\n", argv[0]);
        return 2;
    }
    if (status) {
        return run_status(a->ipc_name);
    }
    if (move) {
        return run_move(a->ipc_name, move_to);
    }
    if (!a->ifname[0]) {
        fprintf(stderr, "%s: --iface is required; see --help\n", argv[0]);
        return 2;
    }
    if (have_prefix != have_gw) {
        fprintf(stderr, "%s: static mode needs both --flowid-prefix and "
                "--gateway-mac (neither: join the controller); see --help\n",
                argv[0]);
        return 2;
    }
    if (!if_nametoindex(a->ifname)) {
        fprintf(stderr, "%s: --iface %s: no such interface in this network "
                "namespace\n", argv[0], a->ifname);
        return 2;
    }
    a->controller_mode = !have_prefix;
    if (gethostname(a->hostname, sizeof a->hostname - 1)) {
        strcpy(a->hostname, "?");
    }
    error = ha_agent_start(a);
    if (error) {
        ha_agent_stop(a);
        uv_run(a->loop, UV_RUN_DEFAULT);
        ha_agent_destroy(a);
        return 1;
    }
    uv_run(a->loop, UV_RUN_DEFAULT);
    error = uv_loop_close(a->loop);
    if (error) {
        ha_log(a, HA_LOG_WARN, "loop closed with handles open: %s",
               uv_strerror(error));
    }
    ha_agent_destroy(a);
    return 0;
}

static void
usage(FILE *f, const char *prog)
{
    fprintf(f,
"Usage: %s --iface IF [--flowid-prefix SS.HOST --gateway-mac MAC]\n"
"          [--static-object OBJ=FLOWID]... [--ipc-name NAME]\n"
"          [--rx-ring KIB[:BLOCKS[:TOV_MS]]] [-v]...\n"
"       %s --status [--ipc-name NAME]\n"
"       %s --move SS.HOST [--ipc-name NAME]\n"
"       %s --help | --version\n"
"\n"
"The SCAFFOLD host stack: raw frames on IF, the connection state machine,\n"
"and the socket service for libsf applications (abstract Unix socket\n"
"@scaffold-hostagent, private to the network namespace).\n"
"\n"
"Without --flowid-prefix and --gateway-mac the agent joins the domain\n"
"controller in band (objectID 1), keeps its lease alive and joins again\n"
"when the link comes back (a move if its hostID changes).  With them it\n"
"runs in static addressing mode, without a controller:\n"
"  -i, --iface IF               interface carrying SCAFFOLD frames\n"
"  -p, --flowid-prefix SS.HOST  this host's flowID prefix, e.g. 10.1\n"
"                               (SS and HOST 1..254)\n"
"  -g, --gateway-mac MAC        Ethernet destination of every frame (the\n"
"                               label router, or the peer on a direct link)\n"
"  -s, --static-object OBJ=FLOWID\n"
"                               resolve objectID OBJ to FLOWID\n"
"                               (SS.HOST.SOCK; SOCK 0: whatever listens on\n"
"                               OBJ there) in place of the object router;\n"
"                               repeat for several instances (round robin;\n"
"                               a resync goes to the next one).  Unresolved\n"
"                               packets without an entry are sent as they\n"
"                               are (a peer agent resolves them locally)\n"
"  -n, --ipc-name NAME          abstract socket name (default\n"
"                               scaffold-hostagent; libsf reads\n"
"                               $SCAFFOLD_AGENT)\n"
"  -R, --rx-ring KIB[:BLOCKS[:TOV_MS]]\n"
"                               receive ring (TPACKET_V3): BLOCKS blocks of\n"
"                               KIB KiB, each handed over when full or\n"
"                               TOV_MS after its first frame (e.g.\n"
"                               256:16:1, 4 MiB); 0 (the default):\n"
"                               recvmmsg batches, no ring.  The ring wakes\n"
"                               the agent only when a block is handed over:\n"
"                               up to TOV_MS of latency per frame at low\n"
"                               rates\n"
"  -v, --verbose                more logging (twice: every frame)\n"
"\n"
"  --status                     ask the running agent for its sockets and\n"
"                               counters, print them, exit\n"
"  --move SS.HOST               tell the running agent that this host now\n"
"                               has prefix SS.HOST (what a re-join with a\n"
"                               new hostID does): every connection resyncs\n"
"                               with RSYN from its new flowID\n"
"  -h, --help                   this text\n"
"  -V, --version                version\n"
"\n"
"Exit status: 0, 1 (could not start or reach the agent), 2 (bad command\n"
"line: the message names the option).\n", prog, prog, prog, prog);
}

/* Exactly xx:xx:xx:xx:xx:xx, hex digits (no sign, no space). */
static int
parse_mac(const char *s, uint8_t mac[6])
{
    uint8_t b[6];
    int i;

    if (strlen(s) != 17) {
        return -EINVAL;
    }
    for (i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        char hex[3] = { p[0], p[1], '\0' };

        if (!isxdigit((unsigned char) p[0])
            || !isxdigit((unsigned char) p[1])
            || (i < 5 && p[2] != ':')) {
            return -EINVAL;
        }
        b[i] = (uint8_t) strtoul(hex, NULL, 16);
    }
    memcpy(mac, b, 6);
    return 0;
}

static int
parse_prefix(const char *s, uint32_t *prefix)
{
    char buf[32];
    uint32_t flow;

    if (strlen(s) > 10) {
        return -EINVAL;
    }
    snprintf(buf, sizeof buf, "%s.0", s);
    if (sfp_flowid_parse(buf, &flow)
        || sfp_flowid_ss(flow) == SFP_SS_RESERVED0
        || sfp_flowid_ss(flow) == SFP_SS_RESERVED255
        || sfp_flowid_host(flow) == SFP_HOST_UNRESOLVED
        || sfp_flowid_host(flow) == SFP_HOST_CONTROLLER) {
        return -EINVAL;
    }
    *prefix = flow;
    return 0;
}

static int
parse_static(struct ha_agent *a, const char *s)
{
    const char *eq = strchr(s, '=');
    char obj[8];
    uint16_t o;
    uint32_t flow;

    if (!eq || eq - s >= (long) sizeof obj || a->n_statics >= HA_MAX_STATIC) {
        return -EINVAL;
    }
    memcpy(obj, s, (size_t) (eq - s));
    obj[eq - s] = '\0';
    if (sfp_objectid_parse(obj, &o) || !sfp_objectid_is_valid(o)
        || sfp_flowid_parse(eq + 1, &flow)
        || sfp_flowid_is_unresolved(flow)) {
        return -EINVAL;
    }
    a->statics[a->n_statics].obj = o;
    a->statics[a->n_statics].flow = flow;
    a->n_statics++;
    return 0;
}

/* Connects to the running agent; returns the descriptor or -1 (said). */
static int
ipc_connect(const char *ipc_name)
{
    struct sockaddr_un sun;
    size_t n = strlen(ipc_name);
    struct timeval tv = { 5, 0 };
    int fd;

    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket");
        return -1;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path + 1, ipc_name, n);
    if (connect(fd, (struct sockaddr *) &sun,
                (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + n))
        < 0) {
        fprintf(stderr, "scaffold-hostagent: no agent at @%s in this network "
                "namespace: %s\n", ipc_name, strerror(errno));
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int
run_move(const char *ipc_name, uint32_t prefix)
{
    struct sf_ipc_addr addr = { prefix, 0 };
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_ipc_msg m;
    size_t n;
    ssize_t r;
    int fd = ipc_connect(ipc_name);

    if (fd < 0) {
        return 1;
    }
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_MOVE, 0, &addr, 1);
    if (send(fd, buf, n, MSG_NOSIGNAL) < 0
        || (r = recv(fd, buf, sizeof buf, 0)) <= 0
        || sf_ipc_decode(buf, (size_t) r, &m) || m.type != SF_IPC_REPLY) {
        fprintf(stderr, "scaffold-hostagent: no answer to --move\n");
        close(fd);
        return 1;
    }
    close(fd);
    if (m.arg < 0) {
        fprintf(stderr, "scaffold-hostagent: --move refused: %s\n",
                strerror(-m.arg));
        return 1;
    }
    return 0;
}

static int
run_status(const char *ipc_name)
{
    uint8_t hdr[SF_IPC_HDR_LEN];
    static uint8_t buf[SF_IPC_MAX_MSG];
    int fd = ipc_connect(ipc_name);

    if (fd < 0) {
        return 1;
    }
    sf_ipc_encode(hdr, sizeof hdr, SF_IPC_STATUS, 0, NULL, 0);
    if (send(fd, hdr, sizeof hdr, MSG_NOSIGNAL) < 0) {
        perror("send");
        close(fd);
        return 1;
    }
    for (;;) {
        struct sf_ipc_msg m;
        ssize_t r = recv(fd, buf, sizeof buf, 0);

        if (r <= 0 || sf_ipc_decode(buf, (size_t) r, &m)
            || m.type != SF_IPC_TEXT) {
            fprintf(stderr, "scaffold-hostagent: bad or no status answer\n");
            close(fd);
            return 1;
        }
        fwrite(m.body, 1, m.body_len, stdout);
        if (m.arg == 1) {
            break;
        }
    }
    close(fd);
    return 0;
}
