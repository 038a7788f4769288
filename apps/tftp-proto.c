/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tftp-proto: TFTP packet codec and RTO estimator for sf-tftp.  No I/O,
 * no clocks: decoders read a read-only buffer, encoders write the
 * caller's, times are passed in.
 */
#include "apps/tftp-proto.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *take_str(const uint8_t **p, const uint8_t *end);
static int parse_u64(const char *, uint64_t max, uint64_t *);
static int decode_opts(const uint8_t *p, const uint8_t *end,
                       struct tftp_opts *);
static size_t put_opt(uint8_t *buf, size_t size, size_t off,
                      const char *name, uint64_t value);

int
tftp_decode(const void *buf_, size_t len, struct tftp_pkt *pkt)
{
    const uint8_t *buf = buf_, *p, *end = buf + len;
    const char *s;
    size_t n;

    if (len < 2) {
        return -EBADMSG;
    }
    memset(pkt, 0, sizeof *pkt);
    pkt->op = (uint16_t) (buf[0] << 8 | buf[1]);
    p = buf + 2;
    switch (pkt->op) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        s = take_str(&p, end);
        if (!s || !*s || strlen(s) > TFTP_NAME_MAX) {
            return -EBADMSG;
        }
        strcpy(pkt->file, s);
        s = take_str(&p, end);
        if (!s || !*s || strlen(s) >= sizeof pkt->mode) {
            return -EBADMSG;
        }
        for (n = 0; s[n]; n++) {
            pkt->mode[n] = (char) tolower((unsigned char) s[n]);
        }
        return decode_opts(p, end, &pkt->opts);
    case TFTP_OACK:
        return decode_opts(p, end, &pkt->opts);
    case TFTP_DATA:
    case TFTP_ACK:
        if (len < 4 || (pkt->op == TFTP_ACK && len != 4)) {
            return -EBADMSG;
        }
        pkt->block = (uint16_t) (buf[2] << 8 | buf[3]);
        pkt->data = buf + 4;
        pkt->len = len - 4;
        return 0;
    case TFTP_ERROR:
        if (len < 5) {
            return -EBADMSG;
        }
        pkt->code = (uint16_t) (buf[2] << 8 | buf[3]);
        p = buf + 4;
        s = take_str(&p, end);
        if (!s) {
            return -EBADMSG;
        }
        snprintf(pkt->msg, sizeof pkt->msg, "%s", s);
        return 0;
    default:
        return -EBADMSG;
    }
}

size_t
tftp_encode_rrq(void *buf_, size_t size, const char *file, const char *mode,
                const struct tftp_opts *o)
{
    uint8_t *buf = buf_;
    size_t fl = strlen(file), ml = strlen(mode), off;

    if (!fl || fl > TFTP_NAME_MAX || size < 2 + fl + 1 + ml + 1) {
        return 0;
    }
    buf[0] = 0;
    buf[1] = TFTP_RRQ;
    memcpy(buf + 2, file, fl + 1);
    memcpy(buf + 3 + fl, mode, ml + 1);
    off = 4 + fl + ml;
    if (o && o->has_blksize) {
        off = put_opt(buf, size, off, "blksize", o->blksize);
    }
    if (off && o && o->has_tsize) {
        off = put_opt(buf, size, off, "tsize", o->tsize);
    }
    if (off && o && o->has_resume) {
        off = put_opt(buf, size, off, "resume", o->resume);
    }
    return off;
}

size_t
tftp_encode_oack(void *buf_, size_t size, const struct tftp_opts *o)
{
    uint8_t *buf = buf_;
    size_t off = 2;

    if (size < 2) {
        return 0;
    }
    buf[0] = 0;
    buf[1] = TFTP_OACK;
    if (o->has_blksize) {
        off = put_opt(buf, size, off, "blksize", o->blksize);
    }
    if (off && o->has_tsize) {
        off = put_opt(buf, size, off, "tsize", o->tsize);
    }
    if (off && o->has_resume) {
        off = put_opt(buf, size, off, "resume", o->resume);
    }
    return off;
}

size_t
tftp_encode_data_hdr(void *buf_, size_t size, uint16_t block)
{
    uint8_t *buf = buf_;

    if (size < 4) {
        return 0;
    }
    buf[0] = 0;
    buf[1] = TFTP_DATA;
    buf[2] = (uint8_t) (block >> 8);
    buf[3] = (uint8_t) block;
    return 4;
}

size_t
tftp_encode_ack(void *buf_, size_t size, uint16_t block)
{
    uint8_t *buf = buf_;

    if (size < 4) {
        return 0;
    }
    buf[0] = 0;
    buf[1] = TFTP_ACK;
    buf[2] = (uint8_t) (block >> 8);
    buf[3] = (uint8_t) block;
    return 4;
}

size_t
tftp_encode_error(void *buf_, size_t size, uint16_t code, const char *msg)
{
    uint8_t *buf = buf_;
    size_t ml = strnlen(msg, TFTP_MSG_MAX);

    if (size < 4 + ml + 1) {
        return 0;
    }
    buf[0] = 0;
    buf[1] = TFTP_ERROR;
    buf[2] = (uint8_t) (code >> 8);
    buf[3] = (uint8_t) code;
    memcpy(buf + 4, msg, ml);
    buf[4 + ml] = 0;
    return 5 + ml;
}

const char *
tftp_op_name(int op)
{
    static const char *const names[] = {
        "?", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK",
    };

    return op > 0 && op <= TFTP_OACK ? names[op] : "?";
}

void
tftp_rto_init(struct tftp_rto *r, uint64_t initial_ns, uint64_t min_ns,
              uint64_t max_ns)
{
    memset(r, 0, sizeof *r);
    r->min_ns = min_ns;
    r->max_ns = max_ns;
    r->rto_ns = initial_ns < min_ns ? min_ns
                : initial_ns > max_ns ? max_ns : initial_ns;
}

void
tftp_rto_sample(struct tftp_rto *r, uint64_t rtt_ns)
{
    double rtt = (double) rtt_ns, rto;

    if (!r->have_sample) {
        r->srtt_ns = rtt;
        r->rttvar_ns = rtt / 2;
        r->have_sample = true;
    } else {
        double d = r->srtt_ns > rtt ? r->srtt_ns - rtt : rtt - r->srtt_ns;
        r->rttvar_ns = 0.75 * r->rttvar_ns + 0.25 * d;
        r->srtt_ns = 0.875 * r->srtt_ns + 0.125 * rtt;
    }
    rto = r->srtt_ns + 4 * r->rttvar_ns;
    if (rto < (double) r->min_ns) {
        rto = (double) r->min_ns;
    }
    if (rto > (double) r->max_ns) {
        rto = (double) r->max_ns;
    }
    r->rto_ns = (uint64_t) rto;
    r->backoff = 0;
}

uint64_t
tftp_rto_get(const struct tftp_rto *r)
{
    uint64_t rto = r->rto_ns;
    unsigned int i;

    for (i = 0; i < r->backoff && rto < r->max_ns; i++) {
        rto *= 2;
    }
    return rto > r->max_ns ? r->max_ns : rto;
}

void
tftp_rto_backoff(struct tftp_rto *r)
{
    if (r->backoff < 32) {
        r->backoff++;
    }
}

void
tftp_rto_reset_backoff(struct tftp_rto *r)
{
    r->backoff = 0;
}

/* ---- static functions ------------------------------------------------ */

/* The NUL-terminated string at '*p' (advancing past it), or NULL when no
 * NUL comes before 'end'. */
static const char *
take_str(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p, *nul;

    if (s >= end) {
        return NULL;
    }
    nul = memchr(s, 0, (size_t) (end - s));
    if (!nul) {
        return NULL;
    }
    *p = nul + 1;
    return (const char *) s;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    char *end;

    if (!isdigit((unsigned char) *s)) {
        return -EINVAL;
    }
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno || *end || *v > max) {
        return -EINVAL;
    }
    return 0;
}

static int
decode_opts(const uint8_t *p, const uint8_t *end, struct tftp_opts *o)
{
    while (p < end) {
        const char *name = take_str(&p, end);
        const char *value = name ? take_str(&p, end) : NULL;
        uint64_t v;

        if (!name || !value || !*name) {
            return -EBADMSG;
        }
        if (!strcasecmp(name, "blksize")) {
            if (parse_u64(value, TFTP_MAX_BLKSIZE, &v)
                || v < TFTP_MIN_BLKSIZE) {
                return -EBADMSG;
            }
            o->has_blksize = true;
            o->blksize = (unsigned int) v;
        } else if (!strcasecmp(name, "tsize")) {
            if (parse_u64(value, UINT64_MAX, &v)) {
                return -EBADMSG;
            }
            o->has_tsize = true;
            o->tsize = v;
        } else if (!strcasecmp(name, "resume")) {
            if (parse_u64(value, UINT64_MAX, &v) || v < 1) {
                return -EBADMSG;
            }
            o->has_resume = true;
            o->resume = v;
        }
    }
    return 0;
}

/* Appends "name\0value\0" at 'off'.  Returns the new length, or 0 if it
 * does not fit. */
static size_t
put_opt(uint8_t *buf, size_t size, size_t off, const char *name,
        uint64_t value)
{
    char v[24];
    size_t nl = strlen(name), vl;

    if (!off) {
        return 0;
    }
    vl = (size_t) snprintf(v, sizeof v, "%" PRIu64, value);
    if (off + nl + 1 + vl + 1 > size) {
        return 0;
    }
    memcpy(buf + off, name, nl + 1);
    memcpy(buf + off + nl + 1, v, vl + 1);
    return off + nl + 1 + vl + 1;
}
