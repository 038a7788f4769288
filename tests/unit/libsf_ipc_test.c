/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the libsf <-> hostagent IPC codec (libsf/ipc.[ch]): fixed
 * byte vectors for each message kind, round trips, and malformed messages
 * (every one must be refused with -EBADMSG, none may be read past its end:
 * each is decoded from an exactly-sized heap copy so that valgrind or ASan
 * would catch an over-read).
 */
#include "libsf/ipc.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/harness.h"

static int
decode_copy(const void *buf, size_t len, struct sf_ipc_msg *m)
{
    void *copy = malloc(len ? len : 1);
    int r;

    memcpy(copy, buf, len);
    r = sf_ipc_decode(copy, len, m);
    free(copy);
    return r;
}

static void
test_encode_decode_control(void)
{
    uint8_t buf[SF_IPC_CTL_MAX];
    struct sf_ipc_addr a[2] = { { 0x0a010400, 80 }, { 0x0a020401, 1025 } };
    struct sf_ipc_msg m;
    size_t n;

    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BIND, 0, a, 1);
    CU_ASSERT_EQUAL(n, 16);
    CU_ASSERT_EQUAL(buf[0], SF_IPC_VERSION);
    CU_ASSERT_EQUAL(buf[1], SF_IPC_BIND);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.type, SF_IPC_BIND);
    CU_ASSERT_EQUAL(m.n_addrs, 1);
    CU_ASSERT_EQUAL(m.addr[0].flowid, 0x0a010400);
    CU_ASSERT_EQUAL(m.addr[0].objectid, 80);

    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_REPLY, -ECONNREFUSED, a, 2);
    CU_ASSERT_EQUAL(n, SF_IPC_CTL_MAX);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, -ECONNREFUSED);
    CU_ASSERT_EQUAL(m.n_addrs, 2);
    CU_ASSERT_EQUAL(m.addr[1].objectid, 1025);

    /* BATCH: 1..SF_IPC_BATCH_MAX records, no body. */
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BATCH, 8, NULL, 0);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.type, SF_IPC_BATCH);
    CU_ASSERT_EQUAL(m.arg, 8);
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BATCH, 0, NULL, 0);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), -EBADMSG);
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BATCH, SF_IPC_BATCH_MAX + 1,
                      NULL, 0);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), -EBADMSG);
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BATCH, 8, a, 1);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), -EBADMSG);
    CU_ASSERT_STRING_EQUAL(sf_ipc_type_name(SF_IPC_BATCH), "BATCH");

    /* BOUND: a listener's address; arg 1 (wait) or 0 (now). */
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BOUND, 1, a, 1);
    CU_ASSERT_EQUAL(n, 16);
    CU_ASSERT_EQUAL(buf[1], 16);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.type, SF_IPC_BOUND);
    CU_ASSERT_EQUAL(m.arg, 1);
    CU_ASSERT_EQUAL(m.addr[0].objectid, 80);
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_BOUND, 0, a, 1);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, 0);
    CU_ASSERT_STRING_EQUAL(sf_ipc_type_name(SF_IPC_BOUND), "BOUND");
    /* ...answered with the address and 1 (confirmed). */
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_REPLY, 1, a, 1);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, 1);

    /* OPEN's / CONNECT's REPLY: arg = the largest payload. */
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_REPLY, 1452, a, 1);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, 1452);
    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_REPLY, SF_IPC_MAX_PAYLOAD + 1,
                      a, 1);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), -EBADMSG);

    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_ACCEPT, SF_IPC_ACCEPT_RESUMED,
                      a, 2);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, SF_IPC_ACCEPT_RESUMED);

    n = sf_ipc_encode(buf, sizeof buf, SF_IPC_OPEN, SF_IPC_SOCK_DGRAM, NULL,
                      0);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(sf_ipc_decode(buf, n, &m), 0);
    CU_ASSERT_EQUAL(m.arg, SF_IPC_SOCK_DGRAM);

    /* Too small a buffer, too many addresses. */
    CU_ASSERT_EQUAL(sf_ipc_encode(buf, 8, SF_IPC_BIND, 0, a, 1), 0);
    CU_ASSERT_EQUAL(sf_ipc_encode(buf, sizeof buf, SF_IPC_REPLY, 0, a, 3), 0);
    CU_ASSERT_STRING_EQUAL(sf_ipc_type_name(SF_IPC_CONNECT), "CONNECT");
    CU_ASSERT_STRING_EQUAL(sf_ipc_type_name(99), "?");
}

static void
test_fixed_vector(void)
{
    /* DATA, 2 records (little-endian host): "abc" to 10.1.1024:80, then
     * "hello" with a zero address; the first padded to 4 bytes. */
    static const uint8_t vec[] = {
        1, 7, 2, 0, 0, 0, 0, 0,
        3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x04, 0x01, 0x0a, 80, 0, 0, 0,
        'a', 'b', 'c', 0,
        5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        'h', 'e', 'l', 'l', 'o',
    };
    struct sf_ipc_msg m;
    struct sf_ipc_iter it;
    struct sf_ipc_rec r;
    uint8_t buf[128];
    size_t len = 0;
    struct sf_ipc_addr a = { 0x0a010400, 80 };
    uint16_t one = 1;

    if (*(uint8_t *) &one != 1) {
        return;                 /* The vector is little-endian. */
    }
    CU_ASSERT_EQUAL_FATAL(decode_copy(vec, sizeof vec, &m), 0);
    /* Iterate over a buffer that stays alive ('m' points into it). */
    CU_ASSERT_EQUAL_FATAL(sf_ipc_decode(vec, sizeof vec, &m), 0);
    CU_ASSERT_EQUAL(m.count, 2);
    sf_ipc_iter_init(&it, &m);
    CU_ASSERT_TRUE(sf_ipc_iter_next(&it, &r));
    CU_ASSERT_EQUAL(r.len, 3);
    CU_ASSERT_EQUAL(r.addr.flowid, 0x0a010400);
    CU_ASSERT_EQUAL(r.addr.objectid, 80);
    CU_ASSERT_NSTRING_EQUAL(r.data, "abc", 3);
    CU_ASSERT_TRUE(sf_ipc_iter_next(&it, &r));
    CU_ASSERT_EQUAL(r.len, 5);
    CU_ASSERT_NSTRING_EQUAL(r.data, "hello", 5);
    CU_ASSERT_FALSE(sf_ipc_iter_next(&it, &r));

    /* The builder produces exactly the vector. */
    CU_ASSERT_EQUAL(sf_ipc_append_data(buf, sizeof buf, &len, &a, "abc", 3),
                    0);
    CU_ASSERT_EQUAL(sf_ipc_append_data(buf, sizeof buf, &len, NULL, "hello",
                                       5), 0);
    CU_ASSERT_EQUAL(len, sizeof vec);
    CU_ASSERT_EQUAL(memcmp(buf, vec, sizeof vec), 0);
    /* And refuses to overflow. */
    CU_ASSERT_EQUAL(sf_ipc_append_data(buf, sizeof vec + 10, &len, NULL,
                                       "0123456789", 10), -EMSGSIZE);
    CU_ASSERT_EQUAL(len, sizeof vec);

    /* The one-record header used by send_sf/recv_sf. */
    sf_ipc_encode_data_hdr(buf, &a, 3);
    memcpy(buf + SF_IPC_DATA_OFF, "abc", 3);
    CU_ASSERT_EQUAL(memcmp(buf + 4, vec + 4, 16 + 4 + 3), 0);
    CU_ASSERT_EQUAL(buf[2], 1);
    CU_ASSERT_EQUAL(decode_copy(buf, SF_IPC_DATA_OFF + 3, &m), 0);
    CU_ASSERT_EQUAL(m.count, 1);
}

static void
test_malformed(void)
{
    struct {
        const char *what;
        uint8_t b[48];
        size_t len;
    } bad[] = {
        { "empty", { 0 }, 0 },
        { "short header", { 1, 1, 0, 0 }, 4 },
        { "version 2", { 2, SF_IPC_OPEN, 0, 0, 1, 0, 0, 0 }, 8 },
        { "type 0", { 1, 0, 0, 0, 0, 0, 0, 0 }, 8 },
        { "unknown type", { 1, 99, 0, 0, 0, 0, 0, 0 }, 8 },
        { "OPEN bad kind", { 1, SF_IPC_OPEN, 0, 0, 3, 0, 0, 0 }, 8 },
        { "OPEN with body", { 1, SF_IPC_OPEN, 0, 0, 1, 0, 0, 0, 9 }, 9 },
        { "OPEN with count", { 1, SF_IPC_OPEN, 1, 0, 1, 0, 0, 0 }, 8 },
        { "BIND no address", { 1, SF_IPC_BIND, 0, 0, 0, 0, 0, 0 }, 8 },
        { "BIND short address",
          { 1, SF_IPC_BIND, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 80, 0 }, 14 },
        { "BIND reserved set",
          { 1, SF_IPC_BIND, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 80, 0, 1, 0 }, 16 },
        { "LISTEN negative", { 1, SF_IPC_LISTEN, 0, 0, 0xff, 0xff, 0xff,
                               0xff }, 8 },
        { "CLOSE unknown flag", { 1, SF_IPC_CLOSE, 0, 0, 2, 0, 0, 0 }, 8 },
        { "REPLY positive", { 1, SF_IPC_REPLY, 0, 0, 5, 0, 0, 0 }, 8 },
        { "REPLY 12-byte body", { 1, SF_IPC_REPLY, 0, 0, 0, 0, 0, 0 }, 20 },
        { "ACCEPT one address",
          { 1, SF_IPC_ACCEPT, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 80 }, 16 },
        { "DATA count 0", { 1, SF_IPC_DATA, 0, 0, 0, 0, 0, 0 }, 8 },
        { "DATA no record", { 1, SF_IPC_DATA, 1, 0, 0, 0, 0, 0 }, 8 },
        { "DATA record past end",
          { 1, SF_IPC_DATA, 1, 0, 0, 0, 0, 0, 9, 0, 0, 0 }, 24 + 4 },
        { "DATA huge record length",
          { 1, SF_IPC_DATA, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 40 },
        { "DATA record reserved",
          { 1, SF_IPC_DATA, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 24 },
        { "DATA trailing bytes",
          { 1, SF_IPC_DATA, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, 24 + 2 },
        { "DATA count beyond records",
          { 1, SF_IPC_DATA, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, 24 + 1 },
        { "DATA nonzero padding",
          { 1, SF_IPC_DATA, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 'x', 7, 7, 7 }, 48 },
        { "DATA with arg", { 1, SF_IPC_DATA, 1, 0, 1, 0, 0, 0 }, 24 },
        { "TEXT arg 2", { 1, SF_IPC_TEXT, 0, 0, 2, 0, 0, 0, 'a' }, 9 },
        { "CLOSED with body", { 1, SF_IPC_CLOSED, 0, 0, 0, 0, 0, 0, 0 }, 9 },
        { "BOUND no address", { 1, SF_IPC_BOUND, 0, 0, 1, 0, 0, 0 }, 8 },
        { "BOUND arg 2",
          { 1, SF_IPC_BOUND, 0, 0, 2, 0, 0, 0, 1, 2, 3, 4, 80, 0 }, 16 },
        { "BOUND arg -1",
          { 1, SF_IPC_BOUND, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 80,
            0 }, 16 },
    };
    struct sf_ipc_msg m;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = decode_copy(bad[i].b, bad[i].len, &m);
        if (r != -EBADMSG) {
            fprintf(stderr, "accepted: %s\n", bad[i].what);
        }
        CU_ASSERT_EQUAL(r, -EBADMSG);
    }
    /* Oversized. */
    {
        size_t n = SF_IPC_MAX_MSG + 1;
        uint8_t *big = calloc(1, n);
        big[0] = 1;
        big[1] = SF_IPC_TEXT;
        CU_ASSERT_EQUAL(sf_ipc_decode(big, n, &m), -EBADMSG);
        free(big);
    }
}

static void
test_truncations(void)
{
    uint8_t buf[256];
    size_t len = 0, cut;
    struct sf_ipc_msg m;
    struct sf_ipc_addr a = { 7, 8 };

    sf_ipc_append_data(buf, sizeof buf, &len, &a, "first", 5);
    sf_ipc_append_data(buf, sizeof buf, &len, &a, "second!", 7);
    sf_ipc_append_data(buf, sizeof buf, &len, NULL, "", 0);
    CU_ASSERT_EQUAL_FATAL(decode_copy(buf, len, &m), 0);
    CU_ASSERT_EQUAL(m.count, 3);
    /* Every strict prefix of a valid message is refused. */
    for (cut = 0; cut < len; cut++) {
        CU_ASSERT_EQUAL(decode_copy(buf, cut, &m), -EBADMSG);
    }
}

static CU_TestInfo ipc_tests[] = {
    { "encode/decode control messages", test_encode_decode_control },
    { "fixed DATA vector", test_fixed_vector },
    { "malformed messages refused", test_malformed },
    { "truncated messages refused", test_truncations },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "ipc", NULL, NULL, NULL, NULL, ipc_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("libsf_ipc", suites);
}
