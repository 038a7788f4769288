/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tftp-proto: TFTP packets (RFC 1350, options RFC 2347/2348/2349) and the
 * adaptive retransmission timeout sf-tftp uses (RFC 6298 estimator), kept
 * apart from the sockets so that they can be unit tested.
 *
 * Packets (network byte order):
 *
 *   RRQ/WRQ  u16 op | file NUL | mode NUL | (option NUL value NUL)*
 *   DATA     u16 3 | u16 block | 0..blksize bytes
 *   ACK      u16 4 | u16 block
 *   ERROR    u16 5 | u16 code | message NUL
 *   OACK     u16 6 | (option NUL value NUL)*
 *
 * Options understood: "blksize" (RFC 2348, 8..65464), "tsize" (RFC 2349)
 * and sf-tftp's own "resume": the absolute number of the next block the
 * client wants (1 = from the start).  A client re-requests with it when a
 * new server instance does not know its transfer (after a failover) or
 * after reconnecting; the server confirms it in its OACK.
 *
 * Block numbers on the wire are the low 16 bits of the absolute block
 * number (rollover to 0 after 65535, as common implementations do).
 */
#ifndef APPS_TFTP_PROTO_H
#define APPS_TFTP_PROTO_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TFTP_DEFAULT_BLKSIZE 512
#define TFTP_MIN_BLKSIZE     8
#define TFTP_MAX_BLKSIZE     65464
#define TFTP_NAME_MAX        255
#define TFTP_MSG_MAX         255

enum tftp_op {
    TFTP_RRQ = 1,
    TFTP_WRQ,
    TFTP_DATA,
    TFTP_ACK,
    TFTP_ERROR,
    TFTP_OACK,
};

/* RFC 1350 error codes (RFC 2347 adds 8). */
enum tftp_err {
    TFTP_EUNDEF = 0,
    TFTP_ENOTFOUND,
    TFTP_EACCESS,
    TFTP_ENOSPACE,
    TFTP_EBADOP,
    TFTP_EBADID,
    TFTP_EEXISTS,
    TFTP_ENOUSER,
    TFTP_EOPTNEG,
};

struct tftp_opts {
    bool has_blksize;
    unsigned int blksize;
    bool has_tsize;
    uint64_t tsize;
    bool has_resume;
    uint64_t resume;            /* Next absolute block wanted (>= 1). */
};

/* A decoded packet: 'data' points into the caller's buffer. */
struct tftp_pkt {
    uint16_t op;                /* enum tftp_op. */
    char file[TFTP_NAME_MAX + 1];       /* RRQ, WRQ. */
    char mode[16];                      /* RRQ, WRQ (lower case). */
    struct tftp_opts opts;              /* RRQ, WRQ, OACK. */
    uint16_t block;                     /* DATA, ACK. */
    const uint8_t *data;                /* DATA. */
    size_t len;                         /* DATA. */
    uint16_t code;                      /* ERROR. */
    char msg[TFTP_MSG_MAX + 1];         /* ERROR. */
};

/* Decodes 'len' bytes at 'buf'.  Returns 0, or -EBADMSG for a malformed
 * packet (unknown opcode, missing NUL, bad option value, too short).
 * Unknown options are ignored, as RFC 2347 asks. */
int tftp_decode(const void *buf, size_t len, struct tftp_pkt *);

/* Encoders: each writes into 'buf' ('size' bytes) and returns the length,
 * or 0 if it does not fit.  tftp_encode_rrq() writes the options that are
 * set in 'opts' (may be NULL); tftp_encode_data() only the 4-byte header
 * (the caller puts the data after it). */
size_t tftp_encode_rrq(void *buf, size_t size, const char *file,
                       const char *mode, const struct tftp_opts *opts);
size_t tftp_encode_oack(void *buf, size_t size, const struct tftp_opts *);
size_t tftp_encode_data_hdr(void *buf, size_t size, uint16_t block);
size_t tftp_encode_ack(void *buf, size_t size, uint16_t block);
size_t tftp_encode_error(void *buf, size_t size, uint16_t code,
                         const char *msg);

/* "RRQ", ..., "?" */
const char *tftp_op_name(int op);

/* Retransmission timeout (RFC 6298): SRTT/RTTVAR from samples of packets
 * that were not retransmitted (Karn), RTO = SRTT + 4 RTTVAR within
 * [min, max], doubled per retransmission up to max. */
struct tftp_rto {
    bool have_sample;
    double srtt_ns;
    double rttvar_ns;
    uint64_t rto_ns;            /* Base, without backoff. */
    uint64_t min_ns, max_ns;
    unsigned int backoff;       /* Retransmissions of the current packet. */
};

void tftp_rto_init(struct tftp_rto *, uint64_t initial_ns, uint64_t min_ns,
                   uint64_t max_ns);
/* A round-trip sample: updates SRTT/RTTVAR/RTO and clears the backoff. */
void tftp_rto_sample(struct tftp_rto *, uint64_t rtt_ns);
/* The timeout for the current packet, backoff included. */
uint64_t tftp_rto_get(const struct tftp_rto *);
/* One more retransmission of the current packet. */
void tftp_rto_backoff(struct tftp_rto *);
/* A new packet goes out: no backoff. */
void tftp_rto_reset_backoff(struct tftp_rto *);

#endif /* APPS_TFTP_PROTO_H */
