/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libsf <-> hostagent message codec; the format is specified in ipc.h.
 * The decoder validates everything up front so that consumers (the agent's
 * request handlers, libsf's receive path) never re-check lengths.
 */
#include "libsf/ipc.h"

#include <errno.h>
#include <string.h>

static void put_addr(uint8_t *p, const struct sf_ipc_addr *);
static int get_addr(const uint8_t *p, struct sf_ipc_addr *);
static uint16_t get16(const uint8_t *p);
static uint32_t get32(const uint8_t *p);
static void put16(uint8_t *p, uint16_t);
static void put32(uint8_t *p, uint32_t);

int
sf_ipc_decode(const void *buf, size_t len, struct sf_ipc_msg *m)
{
    const uint8_t *p = buf;
    size_t body;
    int i;

    if (len < SF_IPC_HDR_LEN || len > SF_IPC_MAX_MSG
        || p[0] != SF_IPC_VERSION || p[1] == 0 || p[1] >= SF_IPC_N_TYPES) {
        return -EBADMSG;
    }
    memset(m, 0, sizeof *m);
    m->type = p[1];
    m->count = get16(p + 2);
    m->arg = (int32_t) get32(p + 4);
    m->body = p + SF_IPC_HDR_LEN;
    m->body_len = body = len - SF_IPC_HDR_LEN;
    if (m->type != SF_IPC_DATA && m->count) {
        return -EBADMSG;
    }

    switch (m->type) {
    case SF_IPC_OPEN:
        if (body || (m->arg != SF_IPC_SOCK_STREAM
                     && m->arg != SF_IPC_SOCK_DGRAM)) {
            return -EBADMSG;
        }
        return 0;
    case SF_IPC_LISTEN:
        return body || m->arg < 0 ? -EBADMSG : 0;
    case SF_IPC_CLOSE:
        return body || (m->arg & ~SF_IPC_CLOSE_FAIL) ? -EBADMSG : 0;
    case SF_IPC_BATCH:
        return body || m->arg < 1 || m->arg > SF_IPC_BATCH_MAX ? -EBADMSG : 0;
    case SF_IPC_STATUS:
    case SF_IPC_CLOSED:
        return body ? -EBADMSG : 0;
    case SF_IPC_BIND:
    case SF_IPC_CONNECT:
    case SF_IPC_PEER:
    case SF_IPC_MOVE:
    case SF_IPC_LOCAL:
    case SF_IPC_BOUND:
        if (body != SF_IPC_ADDR_LEN
            || (m->arg && !(m->type == SF_IPC_BOUND && m->arg == 1))) {
            return -EBADMSG;
        }
        m->n_addrs = 1;
        return get_addr(m->body, &m->addr[0]);
    case SF_IPC_REPLY:
    case SF_IPC_ACCEPT:
        if (body % SF_IPC_ADDR_LEN || body > 2 * SF_IPC_ADDR_LEN
            || (m->type == SF_IPC_ACCEPT
                && (body != 2 * SF_IPC_ADDR_LEN
                    || (m->arg & ~SF_IPC_ACCEPT_RESUMED)))
            || (m->type == SF_IPC_REPLY && m->arg > 0
                && (!body || m->arg > SF_IPC_MAX_PAYLOAD))) {
            return -EBADMSG;
        }
        m->n_addrs = (int) (body / SF_IPC_ADDR_LEN);
        for (i = 0; i < m->n_addrs; i++) {
            if (get_addr(m->body + i * SF_IPC_ADDR_LEN, &m->addr[i])) {
                return -EBADMSG;
            }
        }
        return 0;
    case SF_IPC_TEXT:
        return m->arg != 0 && m->arg != 1 ? -EBADMSG : 0;
    case SF_IPC_DATA: {
        const uint8_t *q = m->body, *end = m->body + body;
        unsigned int n;

        if (!m->count || m->arg) {
            return -EBADMSG;
        }
        for (n = 0; n < m->count; n++) {
            uint32_t rlen;
            struct sf_ipc_addr a;
            size_t pad;

            if ((size_t) (end - q) < SF_IPC_REC_LEN) {
                return -EBADMSG;
            }
            rlen = get32(q);
            if (rlen > SF_IPC_MAX_PAYLOAD || get32(q + 4)
                || get_addr(q + 8, &a)) {
                return -EBADMSG;
            }
            q += SF_IPC_REC_LEN;
            if ((size_t) (end - q) < rlen) {
                return -EBADMSG;
            }
            q += rlen;
            pad = (4 - (rlen & 3)) & 3;
            if (n + 1 < m->count) {
                size_t k;
                if ((size_t) (end - q) < pad) {
                    return -EBADMSG;
                }
                for (k = 0; k < pad; k++) {
                    if (q[k]) {
                        return -EBADMSG;
                    }
                }
                q += pad;
            }
        }
        return q == end ? 0 : -EBADMSG;
    }
    default:
        return -EBADMSG;
    }
}

void
sf_ipc_iter_init(struct sf_ipc_iter *it, const struct sf_ipc_msg *m)
{
    it->p = m->body;
    it->end = m->body + m->body_len;
    it->left = m->type == SF_IPC_DATA ? m->count : 0;
}

bool
sf_ipc_iter_next(struct sf_ipc_iter *it, struct sf_ipc_rec *r)
{
    if (!it->left) {
        return false;
    }
    r->len = get32(it->p);
    get_addr(it->p + 8, &r->addr);
    r->data = it->p + SF_IPC_REC_LEN;
    it->p = r->data + r->len;
    if (--it->left) {
        it->p += (4 - (r->len & 3)) & 3;
    }
    return true;
}

size_t
sf_ipc_encode(void *buf, size_t size, enum sf_ipc_type type, int32_t arg,
              const struct sf_ipc_addr *addrs, int n_addrs)
{
    uint8_t *p = buf;
    size_t len = SF_IPC_HDR_LEN + (size_t) n_addrs * SF_IPC_ADDR_LEN;
    int i;

    if (n_addrs < 0 || n_addrs > 2 || size < len) {
        return 0;
    }
    p[0] = SF_IPC_VERSION;
    p[1] = (uint8_t) type;
    put16(p + 2, 0);
    put32(p + 4, (uint32_t) arg);
    for (i = 0; i < n_addrs; i++) {
        put_addr(p + SF_IPC_HDR_LEN + i * SF_IPC_ADDR_LEN, &addrs[i]);
    }
    return len;
}

void
sf_ipc_encode_data_hdr(void *buf, const struct sf_ipc_addr *a,
                       size_t payload_len)
{
    static const struct sf_ipc_addr zero;
    uint8_t *p = buf;

    p[0] = SF_IPC_VERSION;
    p[1] = SF_IPC_DATA;
    put16(p + 2, 1);
    put32(p + 4, 0);
    put32(p + 8, (uint32_t) payload_len);
    put32(p + 12, 0);
    put_addr(p + 16, a ? a : &zero);
}

void
sf_ipc_encode_data_msg_hdr(void *buf, unsigned int count)
{
    uint8_t *p = buf;

    p[0] = SF_IPC_VERSION;
    p[1] = SF_IPC_DATA;
    put16(p + 2, (uint16_t) count);
    put32(p + 4, 0);
}

void
sf_ipc_encode_rec_hdr(void *rec, const struct sf_ipc_addr *a,
                      size_t payload_len)
{
    static const struct sf_ipc_addr zero;
    uint8_t *p = rec;

    put32(p, (uint32_t) payload_len);
    put32(p + 4, 0);
    put_addr(p + 8, a ? a : &zero);
}

int
sf_ipc_append_data(void *buf, size_t size, size_t *lenp,
                   const struct sf_ipc_addr *a, const void *data, size_t len)
{
    static const struct sf_ipc_addr zero;
    uint8_t *p = buf;
    size_t off = *lenp, pad = 0, need;

    if (len > SF_IPC_MAX_PAYLOAD) {
        return -EMSGSIZE;
    }
    if (off) {
        uint16_t count = get16(p + 2);
        /* Pad the previous record (the message so far ends with it). */
        pad = (4 - (off & 3)) & 3;
        need = off + pad + SF_IPC_REC_LEN + len;
        if (need > size || need > SF_IPC_MAX_MSG || count == UINT16_MAX) {
            return -EMSGSIZE;
        }
        memset(p + off, 0, pad);
        off += pad;
        put16(p + 2, count + 1);
    } else {
        need = SF_IPC_DATA_OFF + len;
        if (need > size) {
            return -EMSGSIZE;
        }
        p[0] = SF_IPC_VERSION;
        p[1] = SF_IPC_DATA;
        put16(p + 2, 1);
        put32(p + 4, 0);
        off = SF_IPC_HDR_LEN;
    }
    put32(p + off, (uint32_t) len);
    put32(p + off + 4, 0);
    put_addr(p + off + 8, a ? a : &zero);
    memcpy(p + off + SF_IPC_REC_LEN, data, len);
    *lenp = off + SF_IPC_REC_LEN + len;
    return 0;
}

const char *
sf_ipc_type_name(int type)
{
    static const char *const names[SF_IPC_N_TYPES] = {
        [SF_IPC_OPEN] = "OPEN", [SF_IPC_BIND] = "BIND",
        [SF_IPC_LISTEN] = "LISTEN", [SF_IPC_CONNECT] = "CONNECT",
        [SF_IPC_CLOSE] = "CLOSE", [SF_IPC_STATUS] = "STATUS",
        [SF_IPC_DATA] = "DATA", [SF_IPC_REPLY] = "REPLY",
        [SF_IPC_ACCEPT] = "ACCEPT", [SF_IPC_PEER] = "PEER",
        [SF_IPC_CLOSED] = "CLOSED", [SF_IPC_TEXT] = "TEXT",
        [SF_IPC_MOVE] = "MOVE", [SF_IPC_LOCAL] = "LOCAL",
        [SF_IPC_BATCH] = "BATCH", [SF_IPC_BOUND] = "BOUND",
    };
    return type > 0 && type < SF_IPC_N_TYPES ? names[type] : "?";
}

/* ---- static functions ------------------------------------------------ */

static void
put_addr(uint8_t *p, const struct sf_ipc_addr *a)
{
    put32(p, a->flowid);
    put16(p + 4, a->objectid);
    put16(p + 6, 0);
}

static int
get_addr(const uint8_t *p, struct sf_ipc_addr *a)
{
    a->flowid = get32(p);
    a->objectid = get16(p + 4);
    return get16(p + 6) ? -EBADMSG : 0;
}

/* Host byte order, unaligned-safe. */
static uint16_t
get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t
get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void
put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static void
put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}
