/*
 * Unit tests for controller/controller.c around switch teardown: the whole
 * controller on a private libuv loop, a plain socket playing a label
 * router (OpenFlow 1.3 byte vectors; it answers barriers, echoes and
 * multipart requests).  A switch whose connection fails while the
 * controller writes its rules (a write error or a backlog the switch does
 * not read: ctl_ofconn closes it on the spot) must not be used after the
 * controller forgot it.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "controller/config.h"
#include "controller/controller.h"
#include "db/db.h"
#include "openvswitch/vlog.h"
#include "proto/control.pb-c.h"
#include "proto/sfp.h"
#include "tests/unit/harness.h"

static uv_loop_t loop;
static struct ctl_controller *ctl;
static int sock = -1;                /* The fake label router, dpid 1. */
static uint8_t rx[1 << 16];
static size_t rx_len;
static int n_barriers;               /* Barrier requests answered. */

static void
put_msg(const uint8_t *msg, size_t len)
{
    CU_ASSERT_EQUAL(write(sock, msg, len), (ssize_t) len);
}

/* Answers one message of the controller. */
static void
answer(const uint8_t *m)
{
    uint8_t out[256];
    size_t len = (size_t) (m[2] << 8 | m[3]);

    memcpy(out, m, 8);          /* Version, type, length, xid. */
    switch (m[1]) {
    case 2:                     /* Echo request. */
        memcpy(out, m, len < sizeof out ? len : sizeof out);
        out[1] = 3;
        put_msg(out, len < sizeof out ? len : sizeof out);
        break;
    case 5: {                   /* Features request: dpid 1. */
        static const uint8_t f[24] = {
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0xfe, 0, 0, 0,
            0, 0, 0, 0x4f, 0, 0, 0, 0,
        };
        out[1] = 6;
        out[2] = 0;
        out[3] = 32;
        memcpy(out + 8, f, sizeof f);
        put_msg(out, 32);
        break;
    }
    case 18:                    /* Multipart request. */
        out[1] = 19;
        memset(out + 8, 0, 8);
        out[8] = m[8];
        out[9] = m[9];
        if (m[9] == 13) {       /* Port desc: port 1 "p1", up. */
            static const uint8_t p[64] = {
                0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0,
                'p', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 4,
            };
            memcpy(out + 16, p, sizeof p);
            out[2] = 0;
            out[3] = 80;
            put_msg(out, 80);
        } else {                /* Anything else: empty. */
            out[2] = 0;
            out[3] = 16;
            put_msg(out, 16);
        }
        break;
    case 20:                    /* Barrier request. */
        out[1] = 21;
        out[2] = 0;
        out[3] = 8;
        put_msg(out, 8);
        n_barriers++;
        break;
    default:
        break;
    }
}

/* Runs the loop once and answers what the controller sent. */
static void
step(void)
{
    uv_run(&loop, UV_RUN_NOWAIT);
    for (;;) {
        ssize_t r = recv(sock, rx + rx_len, sizeof rx - rx_len,
                         MSG_DONTWAIT);
        if (r <= 0) {
            break;
        }
        rx_len += (size_t) r;
    }
    while (rx_len >= 8) {
        size_t len = (size_t) (rx[2] << 8 | rx[3]);
        if (len < 8 || len > rx_len) {
            break;
        }
        answer(rx);
        memmove(rx, rx + len, rx_len - len);
        rx_len -= len;
    }
}

/* Sends an OpenFlow 1.3 packet-in from port 1 carrying a JoinRequest of
 * host 02:00:00:00:00:99. */
static void
send_join(void)
{
    static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x99 };
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest join =
        SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;
    uint8_t payload[256], frame[512], pin[600];
    struct sfp_frame f;

    join.id = 1;
    join.mac.data = (uint8_t *) mac;
    join.mac.len = 6;
    join.name = (char *) "h99";
    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
    env.join = &join;
    size_t n = scaffold__control__envelope__pack(&env, payload);

    memset(&f, 0, sizeof f);
    memset(f.eth_dst, 0xff, 6);
    memcpy(f.eth_src, mac, 6);
    f.dst_flow = sfp_flowid_unresolved(1);
    f.src_obj = SFP_OBJ_CONTROL;
    f.dst_obj = SFP_OBJ_CONTROL;
    f.hdr.version = SFP_VERSION;
    f.hdr.flags = SFP_F_DATA;
    f.hdr.hlen = SFP_HDR_WORDS;
    f.payload = payload;
    f.payload_len = n;
    size_t flen = sfp_frame_encode(&f, frame, sizeof frame);
    CU_ASSERT_FATAL(flen > 0);

    static const uint8_t head[42] = {
        4, 10, 0, 0, 0, 0, 0x77, 0x77,         /* Header, xid. */
        0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,    /* No buffer, length. */
        0, 0, 0, 0, 0, 0, 0, 0,                /* Cookie. */
        0, 1, 0, 12, 0x80, 0, 0, 4,            /* OXM match: in_port */
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0,          /* 1, pad, pad. */
    };
    memcpy(pin, head, sizeof head);
    /* Reason and table id stay 0 (bytes 14, 15 above). */
    pin[12] = (uint8_t) (flen >> 8);
    pin[13] = (uint8_t) flen;
    memcpy(pin + sizeof head, frame, flen);
    size_t len = sizeof head + flen;
    pin[2] = (uint8_t) (len >> 8);
    pin[3] = (uint8_t) len;
    put_msg(pin, len);
}

/* The switch's connection resets (it crashed) after the controller took
 * in a join but before the sync that installs the host's rules: the sync's
 * first write fails, the connection closes and the switch is forgotten in
 * the middle of that sync, which must not touch the switch afterwards. */
static void
test_switch_gone_during_sync(void)
{
    static const uint8_t hello[8] = { 4, 0, 0, 8, 0, 0, 0, 1 };
    struct ctl_config cfg;
    struct sockaddr_in sin;
    char listen[64], err[256], state[512], path[600];
    int port = 0;

    snprintf(state, sizeof state, "%s", sft_tmpdir());

    CU_ASSERT_FATAL(uv_loop_init(&loop) == 0);
    for (int i = 0; i < 50 && !port; i++) {
        port = 20000 + (int) ((getpid() * 7 + i * 131) % 30000);
        snprintf(listen, sizeof listen, "tcp:127.0.0.1:%d", port);
        char *argv[] = {
            (char *) "ctl", (char *) "--listen", listen,
            (char *) "--state-dir", state,
            (char *) "--role", (char *) "1=label",
            (char *) "--log-level", (char *) "off", NULL,
        };
        ctl_config_init(&cfg);
        CU_ASSERT_FATAL(ctl_config_parse_args(&cfg, 9, argv, err,
                                              sizeof err) == 0);
        CU_ASSERT_FATAL(ctl_controller_create(&loop, &cfg, &ctl) == 0);
        if (ctl_controller_start(ctl)) {
            ctl_controller_stop(ctl);
            uv_run(&loop, UV_RUN_DEFAULT);
            ctl_controller_destroy(ctl);
            ctl = NULL;
            port = 0;
        }
    }
    CU_ASSERT_FATAL(port != 0);

    sock = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(sock >= 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(connect(sock, (struct sockaddr *) &sin, sizeof sin)
                    == 0);
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    put_msg(hello, sizeof hello);

    /* Handshake, read-back and the first rules: two barriers. */
    for (int i = 0; i < 100000 && n_barriers < 2; i++) {
        step();
    }
    CU_ASSERT_FATAL(n_barriers >= 2);

    send_join();
    uv_run(&loop, UV_RUN_NOWAIT);       /* Takes the join in. */

    struct linger lg = { 1, 0 };
    setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(sock);                        /* RST. */
    sock = -1;
    uv_run(&loop, UV_RUN_NOWAIT);       /* The sync. */
    uv_run(&loop, UV_RUN_NOWAIT);

    ctl_controller_stop(ctl);
    uv_run(&loop, UV_RUN_DEFAULT);
    ctl_controller_destroy(ctl);
    ctl = NULL;
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);

    /* The join was taken in before the reset (so the sync had the host's
     * rules to write). */
    static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 0x99 };
    struct db_host host;
    struct db *db;
    snprintf(path, sizeof path, "%s/scaffold.db", state);
    CU_ASSERT_FATAL(db_open(path, &db, NULL) == 0);
    CU_ASSERT_EQUAL(db_host_get(db, mac, &host), 0);
    db_close(db);
}

static CU_TestInfo teardown_tests[] = {
    { "switch gone in the middle of a sync", test_switch_gone_during_sync },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "teardown", NULL, NULL, NULL, NULL, teardown_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    ovs_set_program_name("ctl_teardown_test", "0");
    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
    return sft_run("ctl_teardown", suites);
}
