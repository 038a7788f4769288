/*
 * Unit tests for controller/ofconn.c on a private libuv loop: a plain
 * socket plays the switch with fixed OpenFlow 1.3 byte vectors.  Covers
 * the handshake with messages split into single bytes, several messages in
 * one write, echo both ways, barriers, port-status, garbage and the
 * dead-peer timeout.  Every test counts callbacks and ends with the loop
 * closing clean.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "controller/ofconn.h"
#include "openvswitch/vlog.h"
#include "tests/unit/harness.h"

static uv_loop_t loop;
static uv_tcp_t server;
static int sock = -1;                /* The fake switch. */
static struct ctl_ofconn *conn;

/* Callback counters. */
static int n_ready, n_port, n_message, n_error, n_closed, n_barrier;
static int closed_reason, barrier_status;
static struct ctl_ofconn_port last_port;
static struct ctl_ofconn_timers timers = { 5000, 15000 };

static void
on_ready(struct ctl_ofconn *c, void *aux)
{
    (void) c;
    (void) aux;
    n_ready++;
}

static void
on_port(struct ctl_ofconn *c, const struct ctl_ofconn_port *p,
        enum ofp_port_reason reason, void *aux)
{
    (void) c;
    (void) reason;
    (void) aux;
    last_port = *p;
    n_port++;
}

static void
on_message(struct ctl_ofconn *c, enum ofptype type,
           const struct ofp_header *oh, void *aux)
{
    (void) c;
    (void) type;
    (void) oh;
    (void) aux;
    n_message++;
}

static void
on_error(struct ctl_ofconn *c, uint32_t xid, enum ofperr error, void *aux)
{
    (void) c;
    (void) xid;
    (void) error;
    (void) aux;
    n_error++;
}

static void
on_closed(struct ctl_ofconn *c, int reason, void *aux)
{
    (void) c;
    (void) aux;
    closed_reason = reason;
    conn = NULL;
    n_closed++;
}

static const struct ctl_ofconn_class test_class = {
    .ready = on_ready,
    .port_changed = on_port,
    .message = on_message,
    .error = on_error,
    .closed = on_closed,
};

static void
on_barrier(struct ctl_ofconn *c, int status, void *aux)
{
    (void) c;
    (void) aux;
    barrier_status = status;
    n_barrier++;
}

static void
on_accept(uv_stream_t *s, int status)
{
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(ctl_ofconn_accept(s, &test_class, &timers, NULL, &conn),
                    0);
}

/* Runs the loop until '*flag' is non-zero or 'ms' pass. */
static void
pump(const int *flag, int ms)
{
    uint64_t end = uv_hrtime() + (uint64_t) ms * 1000000;

    while ((!flag || !*flag) && uv_hrtime() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void
send_hex(const char *hex, bool bytewise)
{
    uint8_t buf[512];
    size_t n = 0;

    for (; hex[0] && hex[1]; hex += 2) {
        while (*hex == ' ') {
            hex++;
        }
        unsigned int b;
        sscanf(hex, "%2x", &b);
        buf[n++] = b;
    }
    if (!bytewise) {
        CU_ASSERT_EQUAL(write(sock, buf, n), (ssize_t) n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(write(sock, &buf[i], 1), 1);
        pump(NULL, 2);
    }
}

/* Reads one OpenFlow message from the fake switch (after pumping the loop
 * so that the controller side writes).  Returns its type, or -1. */
static int
recv_msg(uint8_t *out, size_t size)
{
    uint8_t hdr[8];
    size_t got = 0;
    uint64_t end = uv_hrtime() + 2000ull * 1000000;

    while (got < 8 && uv_hrtime() < end) {
        pump(NULL, 2);
        ssize_t r = recv(sock, hdr + got, 8 - got, MSG_DONTWAIT);
        if (r > 0) {
            got += r;
        } else if (r == 0) {
            return -1;
        }
    }
    if (got < 8) {
        return -1;
    }
    size_t len = (hdr[2] << 8) | hdr[3];
    memcpy(out, hdr, 8);
    while (got < len && got < size && uv_hrtime() < end) {
        pump(NULL, 2);
        ssize_t r = recv(sock, out + got, len - got, MSG_DONTWAIT);
        if (r > 0) {
            got += r;
        } else if (r == 0) {
            return -1;
        }
    }
    return out[1];
}

static void
setup(void)
{
    struct sockaddr_in sin;
    int len = sizeof sin;

    n_ready = n_port = n_message = n_error = n_closed = n_barrier = 0;
    closed_reason = barrier_status = 1;
    conn = NULL;
    CU_ASSERT_FATAL(uv_loop_init(&loop) == 0);
    uv_tcp_init(&loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &sin);
    CU_ASSERT_FATAL(uv_tcp_bind(&server, (struct sockaddr *) &sin, 0) == 0);
    CU_ASSERT_FATAL(uv_listen((uv_stream_t *) &server, 8, on_accept) == 0);
    uv_tcp_getsockname(&server, (struct sockaddr *) &sin, &len);

    sock = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(connect(sock, (struct sockaddr *) &sin, sizeof sin)
                    == 0);
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
    pump(NULL, 20);
    CU_ASSERT_PTR_NOT_NULL(conn);
}

static void
teardown(void)
{
    if (conn) {
        ctl_ofconn_close(conn);
    }
    if (sock >= 0) {
        close(sock);
        sock = -1;
    }
    uv_close((uv_handle_t *) &server, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
    timers = (struct ctl_ofconn_timers) { 5000, 15000 };
}

#define HELLO13 "04 00 00 08 00 00 00 01"
/* Features reply, dpid 00000000000000ab. */
#define FEATURES13(XID) "04 06 00 20 " XID " 00 00 00 00 00 00 00 ab " \
    "00 00 01 00 fe 00 00 00 00 00 00 4f 00 00 00 00"
/* Port-desc reply with port 1 "p1", MAC 02:00:00:00:00:01, up. */
#define PORT13(NO, CONFIG, STATE) NO " 00 00 00 00 02 00 00 00 00 01 00 00 " \
    "70 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 " CONFIG " " STATE \
    " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 " \
    "00 00 00 00 00 00 00 00"
#define PORT_DESC13(XID) "04 13 00 50 " XID " 00 0d 00 00 00 00 00 00 " \
    PORT13("00 00 00 01", "00 00 00 00", "00 00 00 04")

static void
xid_hex(const uint8_t *msg, char out[12])
{
    snprintf(out, 12, "%02x %02x %02x %02x", msg[4], msg[5], msg[6], msg[7]);
}

/* Drives a full OpenFlow 1.3 handshake; 'bytewise' splits every message
 * into single-byte writes. */
static void
handshake(bool bytewise)
{
    uint8_t msg[512];
    char xid[12], hex[512];

    send_hex(HELLO13, bytewise);
    CU_ASSERT_EQUAL_FATAL(recv_msg(msg, sizeof msg), 0);   /* hello */
    CU_ASSERT_EQUAL(msg[0], 6);             /* Our highest version. */
    CU_ASSERT_EQUAL_FATAL(recv_msg(msg, sizeof msg), 5);   /* features */
    CU_ASSERT_EQUAL(msg[0], 4);             /* Negotiated 1.3. */
    xid_hex(msg, xid);
    snprintf(hex, sizeof hex, FEATURES13("%s"), xid);
    send_hex(hex, bytewise);
    CU_ASSERT_EQUAL_FATAL(recv_msg(msg, sizeof msg), 18);  /* multipart */
    CU_ASSERT_EQUAL(msg[9], 13);            /* port desc */
    xid_hex(msg, xid);
    snprintf(hex, sizeof hex, PORT_DESC13("%s"), xid);
    send_hex(hex, bytewise);
    pump(&n_ready, 500);
    CU_ASSERT_EQUAL_FATAL(n_ready, 1);
    CU_ASSERT_TRUE(ctl_ofconn_is_ready(conn));
    CU_ASSERT_EQUAL(ctl_ofconn_version(conn), OFP13_VERSION);
    CU_ASSERT_EQUAL(ctl_ofconn_dpid(conn), 0xab);
    CU_ASSERT_EQUAL_FATAL(ctl_ofconn_n_ports(conn), 1);
    const struct ctl_ofconn_port *p = ctl_ofconn_port(conn, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->name, "p1");
    CU_ASSERT_TRUE(p->up);
    CU_ASSERT_EQUAL(p->hw_addr.ea[5], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctl_ofconn_name(conn),
                                  "dpid 00000000000000ab"));
}

static void
test_negotiate(void)
{
    enum ofp_version v;

    CU_ASSERT_EQUAL(ctl_ofconn_negotiate(CTL_OFCONN_VERSIONS, 0x7e, &v), 0);
    CU_ASSERT_EQUAL(v, OFP15_VERSION);
    CU_ASSERT_EQUAL(ctl_ofconn_negotiate(CTL_OFCONN_VERSIONS, 0x1e, &v), 0);
    CU_ASSERT_EQUAL(v, OFP13_VERSION);
    CU_ASSERT_EQUAL(ctl_ofconn_negotiate(CTL_OFCONN_VERSIONS, 0x02, &v), 0);
    CU_ASSERT_EQUAL(v, OFP10_VERSION);
    CU_ASSERT_EQUAL(ctl_ofconn_negotiate(CTL_OFCONN_VERSIONS, 0x0c, &v),
                    -EPROTO);
}

static void
test_handshake_bytewise(void)
{
    handshake(true);
    CU_ASSERT_EQUAL(n_closed, 0);
}

static void
test_echo_barrier_port_status(void)
{
    uint8_t msg[512];
    char hex[512], xid[12];

    handshake(false);
    /* Echo request from the switch, port-status and a get-config reply
     * in one write: all three handled in order. */
    send_hex("04 02 00 0c 00 00 00 77 de ad be ef "
             "04 0c 00 50 00 00 00 00 02 00 00 00 00 00 00 00 "
             PORT13("00 00 00 01", "00 00 00 01", "00 00 00 01")
             " 04 08 00 0c 00 00 00 78 00 00 ff ff", false);
    CU_ASSERT_EQUAL_FATAL(recv_msg(msg, sizeof msg), 3);   /* echo reply */
    CU_ASSERT_EQUAL(msg[7], 0x77);
    CU_ASSERT_EQUAL(memcmp(msg + 8, "\xde\xad\xbe\xef", 4), 0);
    pump(&n_message, 500);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
    CU_ASSERT_EQUAL(n_port, 1);
    CU_ASSERT_EQUAL(last_port.port_no, 1);
    CU_ASSERT_FALSE(last_port.up);
    CU_ASSERT_FALSE(ctl_ofconn_port(conn, 1)->up);
    CU_ASSERT_EQUAL(n_message, 1);          /* The get-config reply. */

    CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
    CU_ASSERT_EQUAL(ctl_ofconn_barrier(conn, on_barrier, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(recv_msg(msg, sizeof msg), 20);  /* barrier */
    xid_hex(msg, xid);
    snprintf(hex, sizeof hex, "04 15 00 08 %s", xid);
    send_hex(hex, false);
    pump(&n_barrier, 500);
    CU_ASSERT_EQUAL(n_barrier, 1);
    CU_ASSERT_EQUAL(barrier_status, 0);

    /* An error reply is decoded and reported, the connection stays. */
    send_hex("04 01 00 0c 00 00 00 09 00 01 00 06", false);
    pump(&n_error, 500);
    CU_ASSERT_EQUAL(n_error, 1);
    CU_ASSERT_EQUAL(n_closed, 0);
}

static void
test_garbage_fails_barrier(void)
{
    handshake(false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
    CU_ASSERT_EQUAL(ctl_ofconn_barrier(conn, on_barrier, NULL), 0);
    send_hex("04 00 00 04 00 00 00 01", false);    /* length 4 */
    pump(&n_closed, 500);
    CU_ASSERT_EQUAL(n_closed, 1);
    CU_ASSERT_EQUAL(closed_reason, -EPROTO);
    CU_ASSERT_EQUAL(n_barrier, 1);
    CU_ASSERT_EQUAL(barrier_status, -ECONNRESET);
}

static void
test_bad_first_message(void)
{
    send_hex("04 05 00 08 00 00 00 01", false);    /* not a hello */
    pump(&n_closed, 500);
    CU_ASSERT_EQUAL(n_closed, 1);
    CU_ASSERT_EQUAL(closed_reason, -EPROTO);
    CU_ASSERT_EQUAL(n_ready, 0);
}

static void
test_no_common_version(void)
{
    uint8_t msg[512];

    /* Hello offering only OpenFlow 1.1 (bitmap element 0x04). */
    send_hex("02 00 00 10 00 00 00 01 00 01 00 08 00 00 00 04", false);
    CU_ASSERT_EQUAL(recv_msg(msg, sizeof msg), 0);      /* our hello */
    CU_ASSERT_EQUAL(recv_msg(msg, sizeof msg), 1);      /* error */
    CU_ASSERT_EQUAL(msg[9], 0);                         /* HELLO_FAILED */
    pump(&n_closed, 500);
    CU_ASSERT_EQUAL(n_closed, 1);
    CU_ASSERT_EQUAL(closed_reason, -EPROTO);
}

static void
test_dead_peer(void)
{
    uint8_t msg[512];

    /* Recreate the connection with short timers. */
    ctl_ofconn_close(conn);
    close(sock);
    n_closed = 0;
    timers = (struct ctl_ofconn_timers) { 60, 300 };
    struct sockaddr_in sin;
    int len = sizeof sin;
    uv_tcp_getsockname(&server, (struct sockaddr *) &sin, &len);
    sock = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(connect(sock, (struct sockaddr *) &sin, sizeof sin)
                    == 0);
    pump(NULL, 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conn);

    handshake(false);
    uint64_t t0 = uv_hrtime();
    /* Silence: the connection sends an echo request, then gives up. */
    CU_ASSERT_EQUAL(recv_msg(msg, sizeof msg), 2);
    pump(&n_closed, 2000);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    CU_ASSERT_EQUAL(n_closed, 1);
    CU_ASSERT_EQUAL(closed_reason, -ETIMEDOUT);
    CU_ASSERT_TRUE(ms >= 250 && ms < 1500);
}

static CU_TestInfo ofconn_tests[] = {
    {"version negotiation", test_negotiate},
    {"handshake, one byte per write", test_handshake_bytewise},
    {"echo, port-status, barrier, error", test_echo_barrier_port_status},
    {"garbage closes and fails the barrier", test_garbage_fails_barrier},
    {"first message not a hello", test_bad_first_message},
    {"no common version", test_no_common_version},
    {"dead peer", test_dead_peer},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ctl_ofconn", NULL, NULL, setup, teardown, ofconn_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    ovs_set_program_name("ctl_ofconn_test", "0");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);
    return sft_run("ctl_ofconn", suites);
}
