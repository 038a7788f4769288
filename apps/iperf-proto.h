/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iperf-proto: sf-iperf's datagram format and its receive-side accounting
 * (loss, RFC 3550 jitter, out-of-order, duplicates), kept apart from the
 * sockets so that it can be unit tested.
 *
 * Every sf-iperf datagram starts with a 12-byte header, network byte
 * order:
 *
 *   u32 magic "SFIP" | u8 version (1) | u8 type | u16 interval_ms |
 *   u32 session
 *
 *   DATA      u64 seq | u64 send time (ns, CLOCK_REALTIME) | padding
 *   FIN       u64 datagrams sent | u64 bytes sent | u64 send duration ns
 *   INTERVAL  stats (see struct ipf_stats), server -> client
 *   REPORT    stats, the final one, server -> client (answer to FIN)
 *
 * 'session' is chosen at random by the client: it names one run on the
 * server (several runs may share a source address).  'interval_ms' is the
 * client's reporting interval, which the server adopts for the session.
 */
#ifndef APPS_IPERF_PROTO_H
#define APPS_IPERF_PROTO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPF_MAGIC       0x53464950u     /* "SFIP" */
#define IPF_VERSION     1
#define IPF_HDR_LEN     12
#define IPF_DATA_LEN    (IPF_HDR_LEN + 16)      /* Smallest DATA. */
#define IPF_FIN_LEN     (IPF_HDR_LEN + 24)
#define IPF_STATS_LEN   (IPF_HDR_LEN + 80)
#define IPF_MAX_MSG     65507

enum ipf_type {
    IPF_DATA = 1,
    IPF_FIN,
    IPF_INTERVAL,
    IPF_REPORT,
};

/* Receive-side statistics of one interval or of a whole run. */
struct ipf_stats {
    uint32_t index;             /* Interval number from 0; UINT32_MAX for
                                 * the total. */
    uint64_t start_ns;          /* Interval bounds, from the session's
                                 * first datagram. */
    uint64_t end_ns;
    uint64_t packets;           /* Distinct datagrams received. */
    uint64_t bytes;             /* Their payload bytes. */
    uint64_t expected;          /* Datagrams sent in the span (total: the
                                 * client's count when known). */
    uint64_t lost;              /* expected - packets, never negative. */
    uint64_t ooo;               /* Arrived after a higher sequence. */
    uint64_t dups;              /* Duplicates (not counted in packets). */
    uint64_t jitter_ns;         /* RFC 3550 interarrival jitter, at the
                                 * end of the span. */
};

/* A decoded message (host byte order). */
struct ipf_msg {
    uint8_t type;               /* enum ipf_type. */
    uint16_t interval_ms;
    uint32_t session;
    uint64_t seq;               /* DATA. */
    uint64_t ts_ns;             /* DATA. */
    uint64_t sent_packets;      /* FIN. */
    uint64_t sent_bytes;        /* FIN. */
    uint64_t duration_ns;       /* FIN. */
    struct ipf_stats stats;     /* INTERVAL, REPORT. */
};

/* Decodes 'len' bytes at 'buf' into '*m'.  Returns 0, or -EBADMSG when the
 * datagram is not a valid sf-iperf message (wrong magic, version or type,
 * too short). */
int ipf_decode(const void *buf, size_t len, struct ipf_msg *m);

/* Encodes the header and the body of 'm' into 'buf' ('size' bytes) and
 * returns the length written: IPF_DATA_LEN for DATA (the caller pads the
 * datagram to its payload size), IPF_FIN_LEN, IPF_STATS_LEN; 0 when 'size'
 * is too small. */
size_t ipf_encode(void *buf, size_t size, const struct ipf_msg *m);

/* Rewrites only the seq and timestamp of a DATA datagram encoded before. */
void ipf_set_data(void *buf, uint64_t seq, uint64_t ts_ns);

/* Receive-side accounting of one session. */
struct ipf_rx {
    uint64_t next_seq;          /* Highest sequence seen + 1. */
    uint64_t packets, bytes, ooo, dups;
    double jitter_ns;
    bool have_transit;
    int64_t last_transit;       /* Arrival minus send time, ns. */
    uint8_t *seen;              /* Bitmap of sequences received. */
    uint64_t seen_bits;         /* Its size in bits (0: none yet). */
    bool seen_full;             /* Gave up growing it (memory bound). */
    /* Counters at the start of the current interval. */
    uint64_t i_next_seq, i_packets, i_bytes, i_ooo, i_dups;
};

void ipf_rx_init(struct ipf_rx *);
/* Frees what 'rx' holds; NULL is fine. */
void ipf_rx_destroy(struct ipf_rx *);

/* Accounts DATA datagram 'seq' of 'len' payload bytes sent at 'send_ns'
 * (sender's clock) and received at 'recv_ns' (ours). */
void ipf_rx_packet(struct ipf_rx *, uint64_t seq, uint64_t send_ns,
                   uint64_t recv_ns, size_t len);

/* Fills '*st' with the counters since the last call (or the start), then
 * starts a new interval.  Bounds and index are the caller's. */
void ipf_rx_interval(struct ipf_rx *, struct ipf_stats *st);

/* Fills '*st' with the totals.  'sent' is the number of datagrams the
 * client sent (from its FIN), or 0 when unknown (then the highest sequence
 * seen decides what was expected). */
void ipf_rx_total(const struct ipf_rx *, uint64_t sent,
                  struct ipf_stats *st);

/* Token bucket for pacing: 'rate' bytes per second, at most 'burst' bytes
 * of credit. */
struct ipf_bucket {
    double rate;                /* Bytes per second; 0: unlimited. */
    double burst;               /* Cap on 'tokens'. */
    double tokens;              /* Bytes that may be sent now. */
    uint64_t last_ns;           /* Time of the last refill. */
};

void ipf_bucket_init(struct ipf_bucket *, double rate, double burst,
                     uint64_t now_ns);
/* Refills at 'now_ns' and returns how many datagrams of 'len' bytes may be
 * sent now (at most 'max'), taking their tokens. */
unsigned int ipf_bucket_take(struct ipf_bucket *, uint64_t now_ns,
                             size_t len, unsigned int max);
/* Nanoseconds until one datagram of 'len' bytes may be sent (0: now). */
uint64_t ipf_bucket_wait_ns(const struct ipf_bucket *, size_t len);

/* Parses a rate like "100M", "1.5G", "64k", "0" (bits per second, k/M/G
 * decimal) into '*bps'.  Returns 0 or -EINVAL. */
int ipf_parse_rate(const char *, double *bps);

#endif /* APPS_IPERF_PROTO_H */
