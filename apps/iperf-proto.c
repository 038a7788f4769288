/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iperf-proto: encode/decode of sf-iperf datagrams, the receiver's loss,
 * jitter and reordering accounting, and the sender's token bucket.  No
 * sockets, no clocks: every time is passed in, so the unit tests drive it
 * with fixed numbers.
 *
 * Loss is counted against sequence numbers: within a run, every sequence
 * below the highest one seen is expected; a datagram below it that was not
 * seen yet is out of order (late), one seen already is a duplicate (a
 * bitmap of the sequences remembers which).  The total uses the client's
 * own count of datagrams sent (from its FIN), so losses at the tail count
 * too.
 */
#include "apps/iperf-proto.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bound on the duplicate bitmap: 2^28 sequences (32 MB). */
#define IPF_SEEN_MAX_BITS (1ULL << 28)

static void put16(uint8_t *, uint16_t);
static void put32(uint8_t *, uint32_t);
static void put64(uint8_t *, uint64_t);
static uint16_t get16(const uint8_t *);
static uint32_t get32(const uint8_t *);
static uint64_t get64(const uint8_t *);
static bool rx_mark_seen(struct ipf_rx *, uint64_t seq);

int
ipf_decode(const void *buf_, size_t len, struct ipf_msg *m)
{
    const uint8_t *buf = buf_;
    const uint8_t *b = buf + IPF_HDR_LEN;
    struct ipf_stats *st = &m->stats;

    if (len < IPF_HDR_LEN || get32(buf) != IPF_MAGIC
        || buf[4] != IPF_VERSION) {
        return -EBADMSG;
    }
    memset(m, 0, sizeof *m);
    m->type = buf[5];
    m->interval_ms = get16(buf + 6);
    m->session = get32(buf + 8);
    switch (m->type) {
    case IPF_DATA:
        if (len < IPF_DATA_LEN) {
            return -EBADMSG;
        }
        m->seq = get64(b);
        m->ts_ns = get64(b + 8);
        return 0;
    case IPF_FIN:
        if (len < IPF_FIN_LEN) {
            return -EBADMSG;
        }
        m->sent_packets = get64(b);
        m->sent_bytes = get64(b + 8);
        m->duration_ns = get64(b + 16);
        return 0;
    case IPF_INTERVAL:
    case IPF_REPORT:
        if (len < IPF_STATS_LEN) {
            return -EBADMSG;
        }
        st->index = get32(b);
        /* b + 4: reserved. */
        st->start_ns = get64(b + 8);
        st->end_ns = get64(b + 16);
        st->packets = get64(b + 24);
        st->bytes = get64(b + 32);
        st->expected = get64(b + 40);
        st->lost = get64(b + 48);
        st->ooo = get64(b + 56);
        st->dups = get64(b + 64);
        st->jitter_ns = get64(b + 72);
        return 0;
    default:
        return -EBADMSG;
    }
}

size_t
ipf_encode(void *buf_, size_t size, const struct ipf_msg *m)
{
    uint8_t *buf = buf_;
    uint8_t *b = buf + IPF_HDR_LEN;
    const struct ipf_stats *st = &m->stats;
    size_t len;

    switch (m->type) {
    case IPF_DATA:
        len = IPF_DATA_LEN;
        break;
    case IPF_FIN:
        len = IPF_FIN_LEN;
        break;
    case IPF_INTERVAL:
    case IPF_REPORT:
        len = IPF_STATS_LEN;
        break;
    default:
        return 0;
    }
    if (size < len) {
        return 0;
    }
    put32(buf, IPF_MAGIC);
    buf[4] = IPF_VERSION;
    buf[5] = m->type;
    put16(buf + 6, m->interval_ms);
    put32(buf + 8, m->session);
    switch (m->type) {
    case IPF_DATA:
        put64(b, m->seq);
        put64(b + 8, m->ts_ns);
        break;
    case IPF_FIN:
        put64(b, m->sent_packets);
        put64(b + 8, m->sent_bytes);
        put64(b + 16, m->duration_ns);
        break;
    default:
        put32(b, st->index);
        put32(b + 4, 0);
        put64(b + 8, st->start_ns);
        put64(b + 16, st->end_ns);
        put64(b + 24, st->packets);
        put64(b + 32, st->bytes);
        put64(b + 40, st->expected);
        put64(b + 48, st->lost);
        put64(b + 56, st->ooo);
        put64(b + 64, st->dups);
        put64(b + 72, st->jitter_ns);
        break;
    }
    return len;
}

void
ipf_set_data(void *buf_, uint64_t seq, uint64_t ts_ns)
{
    uint8_t *buf = buf_;

    put64(buf + IPF_HDR_LEN, seq);
    put64(buf + IPF_HDR_LEN + 8, ts_ns);
}

void
ipf_rx_init(struct ipf_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

void
ipf_rx_destroy(struct ipf_rx *rx)
{
    if (rx) {
        free(rx->seen);
        rx->seen = NULL;
        rx->seen_bits = 0;
    }
}

void
ipf_rx_packet(struct ipf_rx *rx, uint64_t seq, uint64_t send_ns,
              uint64_t recv_ns, size_t len)
{
    int64_t transit = (int64_t) (recv_ns - send_ns);

    if (!rx_mark_seen(rx, seq)) {
        rx->dups++;
        return;
    }
    rx->packets++;
    rx->bytes += len;
    if (seq >= rx->next_seq) {
        rx->next_seq = seq + 1;
    } else {
        rx->ooo++;
    }
    /* RFC 3550 6.4.1: J += (|D(i-1,i)| - J) / 16. */
    if (rx->have_transit) {
        double d = fabs((double) (transit - rx->last_transit));
        rx->jitter_ns += (d - rx->jitter_ns) / 16.0;
    }
    rx->last_transit = transit;
    rx->have_transit = true;
}

void
ipf_rx_interval(struct ipf_rx *rx, struct ipf_stats *st)
{
    st->packets = rx->packets - rx->i_packets;
    st->bytes = rx->bytes - rx->i_bytes;
    st->ooo = rx->ooo - rx->i_ooo;
    st->dups = rx->dups - rx->i_dups;
    st->expected = rx->next_seq - rx->i_next_seq;
    st->lost = st->expected > st->packets ? st->expected - st->packets : 0;
    st->jitter_ns = (uint64_t) llround(rx->jitter_ns);
    rx->i_packets = rx->packets;
    rx->i_bytes = rx->bytes;
    rx->i_ooo = rx->ooo;
    rx->i_dups = rx->dups;
    rx->i_next_seq = rx->next_seq;
}

void
ipf_rx_total(const struct ipf_rx *rx, uint64_t sent, struct ipf_stats *st)
{
    st->packets = rx->packets;
    st->bytes = rx->bytes;
    st->ooo = rx->ooo;
    st->dups = rx->dups;
    st->expected = sent > rx->next_seq ? sent : rx->next_seq;
    st->lost = st->expected > st->packets ? st->expected - st->packets : 0;
    st->jitter_ns = (uint64_t) llround(rx->jitter_ns);
}

void
ipf_bucket_init(struct ipf_bucket *b, double rate, double burst,
                uint64_t now_ns)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = 0;
    b->last_ns = now_ns;
}

unsigned int
ipf_bucket_take(struct ipf_bucket *b, uint64_t now_ns, size_t len,
                unsigned int max)
{
    unsigned int n;

    if (b->rate <= 0) {
        return max;
    }
    if (now_ns > b->last_ns) {
        b->tokens += (double) (now_ns - b->last_ns) * b->rate / 1e9;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
        b->last_ns = now_ns;
    }
    if (b->tokens < (double) len) {
        return 0;
    }
    n = (unsigned int) (b->tokens / (double) len);
    if (n > max) {
        n = max;
    }
    b->tokens -= (double) n * (double) len;
    return n;
}

uint64_t
ipf_bucket_wait_ns(const struct ipf_bucket *b, size_t len)
{
    if (b->rate <= 0 || b->tokens >= (double) len) {
        return 0;
    }
    return (uint64_t) (((double) len - b->tokens) * 1e9 / b->rate) + 1;
}

int
ipf_parse_rate(const char *s, double *bps)
{
    char *end;
    double v;

    if (!s || !*s) {
        return -EINVAL;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v)) {
        return -EINVAL;
    }
    switch (*end) {
    case 'k':
    case 'K':
        v *= 1e3;
        end++;
        break;
    case 'm':
    case 'M':
        v *= 1e6;
        end++;
        break;
    case 'g':
    case 'G':
        v *= 1e9;
        end++;
        break;
    default:
        break;
    }
    if (*end) {
        return -EINVAL;
    }
    *bps = v;
    return 0;
}

/* ---- static functions ------------------------------------------------ */

/* Marks 'seq' received.  Returns false if it had been already. */
static bool
rx_mark_seen(struct ipf_rx *rx, uint64_t seq)
{
    if (seq >= rx->seen_bits && !rx->seen_full) {
        uint64_t bits = rx->seen_bits ? rx->seen_bits : 1 << 16;
        uint8_t *p;

        while (bits <= seq && bits < IPF_SEEN_MAX_BITS) {
            bits *= 2;
        }
        if (bits <= seq) {
            rx->seen_full = true;
        } else {
            p = realloc(rx->seen, bits / 8);
            if (!p) {
                rx->seen_full = true;
            } else {
                memset(p + rx->seen_bits / 8, 0,
                       (bits - rx->seen_bits) / 8);
                rx->seen = p;
                rx->seen_bits = bits;
            }
        }
    }
    if (seq >= rx->seen_bits) {
        return true;            /* Beyond the bitmap: no duplicate check. */
    }
    if (rx->seen[seq / 8] & (1u << (seq % 8))) {
        return false;
    }
    rx->seen[seq / 8] |= (uint8_t) (1u << (seq % 8));
    return true;
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t) (v >> 16));
    put16(p + 2, (uint16_t) v);
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t) (v >> 32));
    put32(p + 4, (uint32_t) v);
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t) get16(p) << 16 | get16(p + 2);
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t) get32(p) << 32 | get32(p + 4);
}
