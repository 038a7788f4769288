/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Length-prefixed framing of protobuf messages on a byte stream.
 *
 * A frame is a 4-byte big-endian payload length followed by that many bytes
 * of packed protobuf.  The admin RPC (proto/admin.proto) uses it on its Unix
 * and TCP sockets; anything else that carries protobuf over a stream should
 * too.
 *
 * Decoding: struct sfp_framer is caller-allocated.  Feed it bytes as they
 * arrive with sfp_framer_feed(); each call hands back at most one complete
 * frame and says how many input bytes it used, so the caller loops until the
 * input is used up.  A length prefix above the framer's maximum is refused
 * as soon as its 4th byte arrives (SFP_FRAMING_TOO_BIG), before any payload
 * is buffered.  At end of stream, sfp_framer_end() reports a partial frame
 * (SFP_FRAMING_TRUNCATED).
 *
 * Errors: protocol errors (the peer sent something bad) are the positive
 * values of enum sfp_framing_status; local failures (bad argument, out of
 * memory, buffer too small) are negative errno values.  The two never
 * share a number.
 *
 * Encoding: sfp_framing_encode() writes prefix + packed message into a
 * caller buffer; sfp_framing_encode_alloc() into a malloc'ed one.
 */
#ifndef SFP_FRAMING_H
#define SFP_FRAMING_H 1

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of length prefix in front of every frame. */
#define SFP_FRAMING_PREFIX_LEN 4

/* Maximum payload length used when sfp_framer_init() is given 0. */
#define SFP_FRAMING_DEFAULT_MAX (1024u * 1024u)

/* Largest maximum payload length a framer accepts (so that prefix plus
 * payload always fits a uint32_t and an int-sized count). */
#define SFP_FRAMING_LIMIT (256u * 1024u * 1024u)

/* Results of sfp_framer_feed() and sfp_framer_end().  Values above
 * SFP_FRAMING_FRAME are protocol errors; once the framer returned one it
 * keeps returning it until sfp_framer_reset(). */
enum sfp_framing_status {
    SFP_FRAMING_MORE = 0,       /* Input used up; no complete frame yet
                                 * (from sfp_framer_end(): clean end). */
    SFP_FRAMING_FRAME = 1,      /* One complete frame is available. */
    SFP_FRAMING_TOO_BIG = 2,    /* Length prefix exceeds the maximum. */
    SFP_FRAMING_TRUNCATED = 3,  /* Stream ended inside a frame. */
};

/* Incremental decoder state.  Caller-allocated; treat the members as
 * private. */
struct sfp_framer {
    size_t max_frame;           /* Largest payload accepted. */
    uint8_t prefix[SFP_FRAMING_PREFIX_LEN]; /* Prefix bytes so far. */
    size_t prefix_len;          /* Valid bytes in 'prefix'. */
    size_t frame_len;           /* Payload length of the current frame,
                                 * valid once prefix_len is 4. */
    uint8_t *buf;               /* Payload bytes of a frame that arrived in
                                 * pieces (malloc'ed, owned). */
    size_t buf_len;             /* Valid bytes in 'buf'. */
    size_t buf_size;            /* Allocated size of 'buf'. */
    int error;                  /* Sticky protocol error, or 0. */
};

/* Initialises 'f' to accept payloads of at most 'max_frame' bytes (0 means
 * SFP_FRAMING_DEFAULT_MAX).  Returns 0, or -EINVAL if 'max_frame' exceeds
 * SFP_FRAMING_LIMIT.  Allocates nothing; pair with sfp_framer_destroy(). */
int sfp_framer_init(struct sfp_framer *f, size_t max_frame);

/* Frees the memory 'f' holds.  'f' may be NULL.  'f' may be initialised
 * again afterwards. */
void sfp_framer_destroy(struct sfp_framer *f);

/* Drops any partial frame and any sticky error, keeping the maximum. */
void sfp_framer_reset(struct sfp_framer *f);

/* Consumes bytes from 'data' (of 'len' bytes) until one frame is complete
 * or the input is used up, and stores in '*used' how many bytes it took.
 *
 * Returns:
 *   SFP_FRAMING_FRAME: '*frame' and '*frame_len' describe the payload.
 *     '*frame' points either into 'data' or into memory owned by 'f'; it
 *     stays valid until the next call on 'f' (and, in the first case, as
 *     long as 'data' does).  Call again with the rest of the input.
 *   SFP_FRAMING_MORE: all of 'data' was used ('*used' == 'len') and is
 *     buffered; '*frame' is NULL.
 *   SFP_FRAMING_TOO_BIG: a length prefix above the maximum arrived; '*used'
 *     counts the prefix bytes consumed.  The stream cannot be resynchronised:
 *     close it.
 *   -ENOMEM: the payload buffer could not be grown; nothing more was
 *     consumed past '*used' and the call may be retried.
 *   -EINVAL: a NULL argument (with 'len' > 0 for 'data').
 * 'frame' and 'frame_len' may not be NULL; 'used' may not be NULL. */
int sfp_framer_feed(struct sfp_framer *f, const void *data, size_t len,
                    size_t *used, const uint8_t **frame, size_t *frame_len);

/* Tells 'f' that the stream ended.  Returns SFP_FRAMING_MORE (0) if it ended
 * on a frame boundary, SFP_FRAMING_TRUNCATED if a partial prefix or payload
 * is pending, or the sticky error if one was reported earlier. */
int sfp_framer_end(const struct sfp_framer *f);

/* Returns the number of bytes of the current partial frame (prefix
 * included) that 'f' holds. */
size_t sfp_framer_pending(const struct sfp_framer *f);

/* Returns a static string describing 'status', a value returned by a
 * sfp_framer_* or sfp_framing_* function (negative errno included). */
const char *sfp_framing_strerror(int status);

/* Writes the 4-byte big-endian prefix for a 'len'-byte payload to 'out'. */
void sfp_framing_put_prefix(uint8_t out[SFP_FRAMING_PREFIX_LEN],
                            uint32_t len);

/* Returns the size of 'msg' once framed (prefix + packed size). */
size_t sfp_framing_size(const ProtobufCMessage *msg);

/* Frames 'msg' into 'buf' ('size' bytes, owned by the caller) and stores the
 * number of bytes written in '*out_len'.  Returns 0, -EMSGSIZE if the packed
 * message exceeds 'max_frame' (0 means SFP_FRAMING_DEFAULT_MAX), or -ENOBUFS
 * if 'buf' is too small (nothing useful is written then). */
int sfp_framing_encode(const ProtobufCMessage *msg, size_t max_frame,
                       uint8_t *buf, size_t size, size_t *out_len);

/* Like sfp_framing_encode() but into a new buffer: on success '*out' is
 * malloc'ed and owned by the caller, who frees it with free().  Returns 0,
 * -EMSGSIZE or -ENOMEM; '*out' is NULL on failure. */
int sfp_framing_encode_alloc(const ProtobufCMessage *msg, size_t max_frame,
                             uint8_t **out, size_t *out_len);

#endif /* SFP_FRAMING_H */
