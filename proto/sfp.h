/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sfp: the SCAFFOLD wire format codec.
 *
 * A SCAFFOLD v0.1 frame is Ethernet II + IPv4 (protocol 17, no options) +
 * UDP + the SCAFFOLD header + payload.  The IPv4 source and destination
 * addresses carry the source and destination flowIDs, the UDP ports carry
 * the objectIDs.  docs/protocol.md is the specification; this module is its
 * one implementation.
 *
 * Three verbs around one version-independent struct (struct sfp_frame):
 *
 *   - sfp_frame_decode() checks every byte of a received frame and fills a
 *     struct sfp_frame that points into the caller's buffer (a read-only
 *     view: nothing is copied or allocated).  Every malformed input has its
 *     own enum sfp_error; sfp_strerror() names the offending field.
 *
 *   - sfp_frame_encode() writes a complete frame with correct IPv4 and UDP
 *     checksums.  sfp_frame_encode_headers() is the data-path variant: the
 *     payload is already in place in the output buffer and only the
 *     headers are written around it.
 *
 *   - sfp_frame_format() and friends render one line for logs.
 *
 * Protocol errors (enum sfp_error) never share a number space with errno:
 * the flowID/objectID parsers, which are not protocol decoders, return 0 or
 * -EINVAL.
 *
 * Nothing here allocates, locks or keeps state: every function is safe to
 * call from any thread and cheap enough for the per-packet path.
 */
#ifndef SFP_H
#define SFP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Addressing --------------------------------------------------------
 *
 * flowID (32 bits) = ssID (8) . hostID (8) . sockID (16), carried in an
 * IPv4 address.  Numerically a flowID IS the IPv4 address in host byte
 * order: ss.host.sock is the dotted quad ss.host.(sock >> 8).(sock & 255),
 * e.g. 10.3.517 is 10.3.2.5.  The text form is always the three-field one.
 *
 * objectID (16 bits) is carried in a UDP port. */

#define SFP_SS_RESERVED0        0     /* "no domain yet": unjoined hosts. */
#define SFP_SS_RESERVED255      255   /* Reserved, never assigned. */
#define SFP_HOST_UNRESOLVED     0     /* dst ss.0.0: resolve the objectID. */
#define SFP_HOST_CONTROLLER     255   /* ss.255.0 is the domain controller. */
#define SFP_SOCK_AGENT          0     /* A host's agent control socket. */

#define SFP_OBJ_INVALID         0     /* Never valid on the wire. */
#define SFP_OBJ_CONTROL         1     /* Control objectID (the controller). */
#define SFP_OBJ_SYSTEM_MIN      2     /* System objectIDs 2..1023. */
#define SFP_OBJ_SYSTEM_MAX      1023
#define SFP_OBJ_APP_MIN         1024  /* Applications 1024..65535. */

/* Bytes needed by sfp_flowid_format(): "255.255.65535" plus the NUL. */
#define SFP_FLOWID_STRLEN       14

static inline uint32_t
sfp_flowid_make(uint8_t ss, uint8_t host, uint16_t sock)
{
    return ((uint32_t) ss << 24) | ((uint32_t) host << 16) | sock;
}

static inline uint8_t
sfp_flowid_ss(uint32_t flowid)
{
    return (uint8_t) (flowid >> 24);
}

static inline uint8_t
sfp_flowid_host(uint32_t flowid)
{
    return (uint8_t) (flowid >> 16);
}

static inline uint16_t
sfp_flowid_sock(uint32_t flowid)
{
    return (uint16_t) flowid;
}

/* A flowID and an IPv4 address (host byte order) are the same number; this
 * only documents the intent at call sites.  Use htonl() for the wire. */
static inline uint32_t
sfp_flowid_to_ipv4(uint32_t flowid)
{
    return flowid;
}

static inline uint32_t
sfp_flowid_from_ipv4(uint32_t ipv4)
{
    return ipv4;
}

/* True if 'flowid' is an unresolved destination (hostID 0): the network
 * resolves the destination objectID inside domain ss. */
static inline bool
sfp_flowid_is_unresolved(uint32_t flowid)
{
    return sfp_flowid_host(flowid) == SFP_HOST_UNRESOLVED;
}

/* The unresolved destination flowID ss.0.0 of domain 'ss'. */
static inline uint32_t
sfp_flowid_unresolved(uint8_t ss)
{
    return sfp_flowid_make(ss, SFP_HOST_UNRESOLVED, 0);
}

/* True if 'obj' may appear on the wire (anything but 0). */
static inline bool
sfp_objectid_is_valid(uint16_t obj)
{
    return obj != SFP_OBJ_INVALID;
}

/* True for the control objectID and the system range 1..1023. */
static inline bool
sfp_objectid_is_system(uint16_t obj)
{
    return obj != SFP_OBJ_INVALID && obj <= SFP_OBJ_SYSTEM_MAX;
}

/* Parses "ss.host.sock" (three decimal fields, 0..255, 0..255, 0..65535, no
 * sign, no spaces, no leading zeros except a lone "0", nothing after) into
 * '*flowid'.  Returns 0, or -EINVAL leaving '*flowid' untouched. */
int sfp_flowid_parse(const char *s, uint32_t *flowid);

/* Writes "ss.host.sock" and its NUL into 'buf'; returns 'buf'. */
char *sfp_flowid_format(uint32_t flowid, char buf[SFP_FLOWID_STRLEN]);

/* Parses a decimal objectID 0..65535 (same syntax rules as a flowID field)
 * into '*obj'.  0 parses: whether it is acceptable is the caller's call
 * (see sfp_objectid_is_valid()).  Returns 0, or -EINVAL leaving '*obj'
 * untouched. */
int sfp_objectid_parse(const char *s, uint16_t *obj);

/* ---- Protocol errors ---------------------------------------------------
 *
 * One code per malformed case, in the order sfp_frame_decode() checks
 * them.  Never mixed with errno values. */
enum sfp_error {
    SFP_OK = 0,
    SFP_E_SHORT_FRAME,      /* Shorter than Ethernet + IPv4 headers. */
    SFP_E_ETHERTYPE,        /* EtherType not IPv4 (VLAN tags included). */
    SFP_E_IP_VERSION,       /* IPv4 version field not 4. */
    SFP_E_IP_IHL,           /* IHL below 5 words. */
    SFP_E_IP_OPTIONS,       /* IHL above 5 words: options not allowed. */
    SFP_E_IP_CSUM,          /* IPv4 header checksum wrong. */
    SFP_E_IP_TOTLEN,        /* Total length below IPv4 + UDP headers. */
    SFP_E_IP_TRUNCATED,     /* Total length beyond the end of the frame. */
    SFP_E_TRAILING,         /* Bytes after the datagram beyond padding. */
    SFP_E_IP_FRAGMENT,      /* MF set or fragment offset not zero. */
    SFP_E_IP_FLAGS,         /* Reserved IPv4 flag bit set. */
    SFP_E_IP_TTL,           /* TTL zero. */
    SFP_E_IP_PROTO,         /* Protocol not UDP (17). */
    SFP_E_UDP_LEN,          /* UDP length not IPv4 total length - 20. */
    SFP_E_UDP_CSUM_ABSENT,  /* UDP checksum zero (absent). */
    SFP_E_UDP_CSUM,         /* UDP checksum wrong. */
    SFP_E_SRC_OBJECTID,     /* Source objectID 0. */
    SFP_E_DST_OBJECTID,     /* Destination objectID 0. */
    SFP_E_HDR_SHORT,        /* UDP payload shorter than 20 bytes. */
    SFP_E_VERSION,          /* SCAFFOLD version not 1. */
    SFP_E_HDR_LEN,          /* SCAFFOLD header length below 5 words. */
    SFP_E_HDR_TRUNCATED,    /* SCAFFOLD header longer than the datagram. */
    SFP_E_RESERVED,         /* Byte 3 of the SCAFFOLD header not zero. */
    SFP_E_FLAGS_RESERVED,   /* Flag bit 0x80 set. */
    SFP_E_FLAGS,            /* Illegal flag combination (or none). */
    SFP_E_NONCE,            /* Zero nonce on a connection packet. */
    SFP_E_HDR_PADDING,      /* Non-zero byte after the 20-byte base. */
    SFP_E_PAYLOAD,          /* Payload on a packet without DATA. */
    SFP_E_UNRESOLVED,       /* Unresolved destination not allowed here. */
    SFP_N_ERRORS            /* Number of codes, not an error. */
};

/* Returns a static one-line message naming the field, e.g. "ipv4.ihl:
 * header length below 5 words".  Never NULL, even for unknown codes. */
const char *sfp_strerror(enum sfp_error);

/* Returns a static identifier for the code, e.g. "SFP_E_IP_IHL" (for logs
 * and counters).  Never NULL. */
const char *sfp_error_name(enum sfp_error);

/* ---- The SCAFFOLD header -------------------------------------------- */

#define SFP_VERSION             1
#define SFP_HDR_LEN             20    /* Base header, bytes. */
#define SFP_HDR_WORDS           5     /* Base header, 32-bit words. */

#define SFP_F_SYN               0x01
#define SFP_F_ACK               0x02
#define SFP_F_FIN               0x04
#define SFP_F_RST               0x08
#define SFP_F_FAIL              0x10
#define SFP_F_RSYN              0x20
#define SFP_F_DATA              0x40
#define SFP_F_RESERVED          0x80  /* Must be zero. */

/* Bytes needed by sfp_flags_format(). */
#define SFP_FLAGS_STRLEN        40

/* The SCAFFOLD header in host byte order. */
struct sfp_hdr {
    uint8_t version;            /* SFP_VERSION. */
    uint8_t flags;              /* SFP_F_*. */
    uint8_t hlen;               /* Length in 32-bit words, >= 5.  The
                                 * encoders treat 0 as 5. */
    uint32_t seq;               /* Sequence number. */
    uint32_t ack;               /* Acknowledgement number. */
    uint64_t nonce;             /* Connection nonce, 0 = unbound datagram. */
};

/* True if 'flags' is one of the legal combinations of docs/protocol.md:
 * SYN, SYN|ACK, ACK, DATA, DATA|ACK, FIN, FIN|ACK, RST, FAIL, RSYN,
 * RSYN|ACK. */
bool sfp_flags_valid(uint8_t flags);

/* True for an unbound datagram: DATA alone with nonce 0. */
static inline bool
sfp_hdr_is_datagram(const struct sfp_hdr *h)
{
    return h->flags == SFP_F_DATA && h->nonce == 0;
}

/* Checks the fields of 'h' that do not depend on the bytes around it
 * (version, hlen, flags, nonce).  Returns SFP_OK or the error the decoder
 * would report for the same header. */
enum sfp_error sfp_hdr_check(const struct sfp_hdr *h);

/* Decodes the SCAFFOLD header at 'buf' ('len' readable bytes: the UDP
 * payload) into '*h', including its zero padding up to hlen words.  The
 * buffer stays the caller's; nothing points into it afterwards. */
enum sfp_error sfp_hdr_decode(const void *buf, size_t len, struct sfp_hdr *h);

/* Encodes '*h' (hlen 0 taken as 5, padding written as zeros) into 'buf'.
 * Returns the bytes written (hlen * 4), or 0 if 'size' is too small or hlen
 * is 1..4.  Does not validate flags: see sfp_hdr_check(). */
size_t sfp_hdr_encode(const struct sfp_hdr *h, void *buf, size_t size);

/* ---- Whole frames ----------------------------------------------------- */

#define SFP_ETH_LEN             14
#define SFP_IPV4_LEN            20
#define SFP_UDP_LEN             8
#define SFP_ETH_MIN_FRAME       60    /* Without FCS: shorter gets padded. */
#define SFP_DEFAULT_TTL         64
/* Headers of a frame with a 20-byte SCAFFOLD header. */
#define SFP_FRAME_HDR_LEN       (SFP_ETH_LEN + SFP_IPV4_LEN + SFP_UDP_LEN \
                                 + SFP_HDR_LEN)
/* Largest payload with a 20-byte SCAFFOLD header (IPv4 total length limit);
 * the link MTU is usually the tighter bound. */
#define SFP_MAX_PAYLOAD         (65535 - SFP_IPV4_LEN - SFP_UDP_LEN \
                                 - SFP_HDR_LEN)

/* A decoded (or to-be-encoded) SCAFFOLD frame, host byte order. */
struct sfp_frame {
    uint8_t eth_dst[6];         /* Ethernet destination. */
    uint8_t eth_src[6];         /* Ethernet source. */
    uint32_t src_flow;          /* Source flowID (IPv4 source). */
    uint32_t dst_flow;          /* Destination flowID (IPv4 destination). */
    uint16_t src_obj;           /* Source objectID (UDP source port). */
    uint16_t dst_obj;           /* Destination objectID (UDP dest port). */
    uint8_t ip_tos;             /* IPv4 TOS (DSCP + ECN). */
    uint8_t ip_ttl;             /* IPv4 TTL; encoders take 0 as 64. */
    uint16_t ip_id;             /* IPv4 identification. */
    struct sfp_hdr hdr;         /* The SCAFFOLD header. */
    const uint8_t *payload;     /* After decode: points INTO the decoded
                                 * buffer (valid as long as it is).  For
                                 * encode: the caller's payload bytes. */
    size_t payload_len;         /* Payload bytes. */
};

/* Decodes and verifies the frame in 'buf' ('len' bytes, Ethernet header
 * first, no FCS).  Verifies both checksums (a UDP checksum of 0 is
 * rejected), every length, the flags, the nonce rule, the payload rule and
 * the unresolved-destination rule; see docs/protocol.md.  On SFP_OK, '*f'
 * is filled and f->payload points into 'buf', which stays the caller's
 * (keep it alive while using f->payload).  On error '*f' is unspecified. */
enum sfp_error sfp_frame_decode(const void *buf, size_t len,
                                struct sfp_frame *f);

/* Checks the frame-level rules that sfp_frame_decode() enforces on top of
 * the header and the byte layout (objectIDs, header, payload and
 * unresolved-destination rules), for senders that want to validate before
 * encoding.  Returns SFP_OK or the decoder's error for the same frame. */
enum sfp_error sfp_frame_check(const struct sfp_frame *f);

/* Bytes of headers (Ethernet through SCAFFOLD, hlen 0 taken as 5) that
 * precede the payload of 'f'. */
size_t sfp_frame_hdr_size(const struct sfp_frame *f);

/* Encodes 'f' into 'buf': all headers, then f->payload_len bytes copied from
 * f->payload (which may overlap 'buf'; it may also already sit exactly at
 * buf + sfp_frame_hdr_size(f), then nothing is copied).  Sets IPv4 DF, TTL
 * (0 -> 64) and both checksums.  Returns the frame length, or 0 if it does
 * not fit in 'size', payload_len exceeds the IPv4 limit or hdr.hlen is 1..4
 * (nothing is written then).  Does not pad to
 * 60 bytes (a minimal SCAFFOLD frame is 62) and does not validate: see
 * sfp_frame_check().  'buf' stays the caller's. */
size_t sfp_frame_encode(const struct sfp_frame *f, void *buf, size_t size);

/* Data-path variant of sfp_frame_encode(): the f->payload_len payload bytes
 * are ALREADY at buf + sfp_frame_hdr_size(f) (f->payload is ignored); only
 * the headers are written in front and the UDP checksum is computed over
 * the payload in place.  Returns the frame length (headers + payload), or 0
 * (nothing written) in the same cases as sfp_frame_encode(). */
size_t sfp_frame_encode_headers(const struct sfp_frame *f, void *buf,
                                size_t size);

/* Writes one line (always NUL-terminated if size > 0, truncated to fit)
 * such as "10.3.517:80 > 10.0.0:1200 SYN|ACK seq=1 ack=0
 * nonce=0x0000000000000001 len=0" into 'buf'.  Returns 'buf'. */
char *sfp_frame_format(const struct sfp_frame *f, char *buf, size_t size);

/* Writes the flags as "SYN|ACK", "none" for 0, unknown bits as hex
 * ("DATA|0x80").  Returns 'buf'. */
char *sfp_flags_format(uint8_t flags, char *buf, size_t size);

/* ---- Internet checksums ------------------------------------------------
 *
 * All checksum values are in host byte order: store them with htons(),
 * compare them with ntohs() of the wire field. */

/* The IPv4 header checksum of 'len' bytes at 'hdr' (the checksum field
 * included as it is: over a correct header the result is 0, so a header
 * is valid iff sfp_ipv4_csum() returns 0). */
uint16_t sfp_ipv4_csum(const void *hdr, size_t len);

/* Running one's-complement sum for checksums spread over several buffers.
 * Start with 0; every chunk but the last must have an even length.
 * sfp_csum_finish() folds and complements it into a checksum. */
uint64_t sfp_csum_add(uint64_t acc, const void *data, size_t len);
uint16_t sfp_csum_finish(uint64_t acc);

/* The UDP checksum of the datagram at 'udp' ('len' bytes: header with its
 * checksum field zeroed, then payload) between flowIDs 'src' and 'dst',
 * pseudo-header included.  Never returns 0 (0 is sent as 0xffff). */
uint16_t sfp_udp_csum(uint32_t src, uint32_t dst, const void *udp,
                      size_t len);

/* Incremental update (RFC 1624) of checksum 'csum' when a 16-bit (resp.
 * 32-bit, e.g. a flowID) field at an even offset changes from 'old' to
 * 'new_'.  For a UDP checksum, a result of 0 must be sent as 0xffff (and a
 * 'csum' of 0 means "absent": do not update it). */
uint16_t sfp_csum_update16(uint16_t csum, uint16_t old, uint16_t new_);
uint16_t sfp_csum_update32(uint16_t csum, uint32_t old, uint32_t new_);

#endif /* SFP_H */
