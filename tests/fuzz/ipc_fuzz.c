/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the libsf <-> hostagent IPC codec (libsf/ipc.[ch]):
 * the decoder the agent runs on every message an application sends, and
 * libsf on every message the agent sends back.
 *
 * When sf_ipc_decode() accepts the input:
 *   - the view it returns lies inside the input (body, every DATA record);
 *   - DATA: the iterator yields exactly 'count' records, and building the
 *     message again with sf_ipc_append_data() gives the input byte for
 *     byte (one-record messages also through sf_ipc_encode_data_hdr());
 *   - every other type but TEXT: sf_ipc_encode() of the decoded type, arg
 *     and addresses gives the input byte for byte;
 *   - sf_ipc_type_name() names the type.
 * Any mismatch abort()s.
 *
 * Each input is tried as it is and with the version byte forced to
 * SF_IPC_VERSION and the type byte folded into 1..SF_IPC_N_TYPES-1, so that
 * the per-type checks are reached even without a seed corpus.  The input
 * is copied into a heap buffer of exactly its size so that
 * AddressSanitizer catches a read one byte past the end.
 *
 * The Makefile links fuzz targets with the proto sources only; the codec
 * is one self-contained file, so it is compiled in here.
 */
#include "libsf/ipc.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "ipc_fuzz: %s\n", what);
        abort();
    }
}

static void
check_inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    check(p >= buf && p <= buf + len && n <= (size_t) (buf + len - p),
          "view outside the input");
}

static void
check_data(const struct sf_ipc_msg *m, const uint8_t *buf, size_t len)
{
    struct sf_ipc_iter it;
    struct sf_ipc_rec r;
    uint8_t *out = malloc(len);
    size_t out_len = 0;
    unsigned int n = 0;

    check(out != NULL, "malloc");
    sf_ipc_iter_init(&it, m);
    while (sf_ipc_iter_next(&it, &r)) {
        check_inside(r.data, r.len, buf, len);
        check(r.len <= SF_IPC_MAX_PAYLOAD, "record too long");
        check(sf_ipc_append_data(out, len, &out_len, &r.addr, r.data,
                                 r.len) == 0, "append_data refused");
        n++;
    }
    check(n == m->count, "record count");
    check(out_len == len && !memcmp(out, buf, len), "DATA re-encoding");
    if (n == 1) {
        sf_ipc_iter_init(&it, m);
        sf_ipc_iter_next(&it, &r);
        sf_ipc_encode_data_hdr(out, &r.addr, r.len);
        check(!memcmp(out, buf, SF_IPC_DATA_OFF), "DATA header");
    }
    free(out);
}

static void
one(const uint8_t *buf, size_t len)
{
    struct sf_ipc_msg m;
    uint8_t out[SF_IPC_CTL_MAX];
    size_t n;

    if (sf_ipc_decode(buf, len, &m)) {
        return;
    }
    check(m.type > 0 && m.type < SF_IPC_N_TYPES, "type");
    check(strcmp(sf_ipc_type_name(m.type), "?") != 0, "type name");
    check(m.n_addrs >= 0 && m.n_addrs <= 2, "n_addrs");
    check_inside(m.body, m.body_len, buf, len);
    check(m.body_len == len - SF_IPC_HDR_LEN, "body length");
    switch (m.type) {
    case SF_IPC_DATA:
        check_data(&m, buf, len);
        break;
    case SF_IPC_TEXT:
        check(m.arg == 0 || m.arg == 1, "TEXT arg");
        break;
    default:
        check(len <= SF_IPC_CTL_MAX, "control message too long");
        n = sf_ipc_encode(out, sizeof out, m.type, m.arg, m.addr,
                          m.n_addrs);
        check(n == len && !memcmp(out, buf, len), "re-encoding");
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf;

    if (size > SF_IPC_MAX_MSG + 16) {
        return 0;
    }
    buf = malloc(size ? size : 1);
    if (!buf) {
        return 0;
    }
    memcpy(buf, data, size);
    one(buf, size);
    if (size >= 2) {
        buf[0] = SF_IPC_VERSION;
        buf[1] = (uint8_t) (1 + buf[1] % (SF_IPC_N_TYPES - 1));
        one(buf, size);
    }
    free(buf);
    return 0;
}
