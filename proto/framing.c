/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Length-prefixed framing of protobuf messages on a byte stream.
 *
 * The decoder is a two-state machine kept in struct sfp_framer: first it
 * collects the 4 prefix bytes (in 'prefix', however the stream splits them),
 * then the payload.  When a payload arrives whole inside one feed and
 * nothing is buffered, the frame handed back points straight into the
 * caller's input and no byte is copied; otherwise the payload is gathered in
 * 'buf', a buffer the framer owns, grown on demand to the largest frame seen
 * (never beyond the framer's maximum, which is checked against the prefix
 * before any payload is accepted, so a peer cannot make the framer allocate
 * more than that).  The buffer is freed by sfp_framer_destroy().
 *
 * Protocol errors are sticky: after a bad prefix the stream has no frame
 * boundary left to trust, so the framer refuses everything until reset.
 */
#include "proto/framing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t effective_max(size_t max_frame);
static uint32_t get_be32(const uint8_t p[SFP_FRAMING_PREFIX_LEN]);
static int grow_buf(struct sfp_framer *f, size_t size);

int
sfp_framer_init(struct sfp_framer *f, size_t max_frame)
{
    if (!f || max_frame > SFP_FRAMING_LIMIT) {
        return -EINVAL;
    }
    memset(f, 0, sizeof *f);
    f->max_frame = effective_max(max_frame);
    return 0;
}

void
sfp_framer_destroy(struct sfp_framer *f)
{
    if (!f) {
        return;
    }
    free(f->buf);
    f->buf = NULL;
    f->buf_size = 0;
    sfp_framer_reset(f);
}

void
sfp_framer_reset(struct sfp_framer *f)
{
    if (!f) {
        return;
    }
    f->prefix_len = 0;
    f->frame_len = 0;
    f->buf_len = 0;
    f->error = 0;
}

int
sfp_framer_feed(struct sfp_framer *f, const void *data, size_t len,
                size_t *used, const uint8_t **frame, size_t *frame_len)
{
    if (used) {
        *used = 0;
    }
    if (frame) {
        *frame = NULL;
    }
    if (frame_len) {
        *frame_len = 0;
    }
    if (!f || !used || !frame || !frame_len || (!data && len)) {
        return -EINVAL;
    }
    if (f->error) {
        return f->error;
    }

    const uint8_t *in = data;
    size_t n = 0;

    /* Length prefix, possibly split across calls. */
    while (f->prefix_len < SFP_FRAMING_PREFIX_LEN && n < len) {
        f->prefix[f->prefix_len++] = in[n++];
    }
    if (f->prefix_len < SFP_FRAMING_PREFIX_LEN) {
        *used = n;
        return SFP_FRAMING_MORE;
    }
    f->frame_len = get_be32(f->prefix);
    if (f->frame_len > f->max_frame) {
        f->error = SFP_FRAMING_TOO_BIG;
        *used = n;
        return SFP_FRAMING_TOO_BIG;
    }

    size_t need = f->frame_len - f->buf_len;
    size_t avail = len - n;

    /* Whole payload in this input and nothing buffered: no copy. */
    if (!f->buf_len && avail >= need) {
        /* A zero-length frame still gets a non-NULL pointer ('data' may be
         * NULL when 'len' is 0). */
        *frame = need ? in + n : f->prefix;
        *frame_len = need;
        n += need;
        f->prefix_len = 0;
        *used = n;
        return SFP_FRAMING_FRAME;
    }
    if (!avail) {
        *used = n;
        return SFP_FRAMING_MORE;
    }

    int error = grow_buf(f, f->frame_len);
    if (error) {
        *used = n;
        return error;
    }
    size_t take = avail < need ? avail : need;
    memcpy(f->buf + f->buf_len, in + n, take);
    f->buf_len += take;
    n += take;
    *used = n;
    if (f->buf_len < f->frame_len) {
        return SFP_FRAMING_MORE;
    }
    *frame = f->buf;
    *frame_len = f->frame_len;
    f->prefix_len = 0;
    f->buf_len = 0;
    return SFP_FRAMING_FRAME;
}

int
sfp_framer_end(const struct sfp_framer *f)
{
    if (!f) {
        return -EINVAL;
    }
    if (f->error) {
        return f->error;
    }
    return f->prefix_len ? SFP_FRAMING_TRUNCATED : SFP_FRAMING_MORE;
}

size_t
sfp_framer_pending(const struct sfp_framer *f)
{
    return f ? f->prefix_len + f->buf_len : 0;
}

const char *
sfp_framing_strerror(int status)
{
    switch (status) {
    case SFP_FRAMING_MORE:
        return "no complete frame yet";
    case SFP_FRAMING_FRAME:
        return "complete frame";
    case SFP_FRAMING_TOO_BIG:
        return "frame length exceeds the maximum";
    case SFP_FRAMING_TRUNCATED:
        return "stream ended inside a frame";
    default:
        return status < 0 ? strerror(-status) : "unknown framing status";
    }
}

void
sfp_framing_put_prefix(uint8_t out[SFP_FRAMING_PREFIX_LEN], uint32_t len)
{
    out[0] = (uint8_t) (len >> 24);
    out[1] = (uint8_t) (len >> 16);
    out[2] = (uint8_t) (len >> 8);
    out[3] = (uint8_t) len;
}

size_t
sfp_framing_size(const ProtobufCMessage *msg)
{
    return SFP_FRAMING_PREFIX_LEN + protobuf_c_message_get_packed_size(msg);
}

int
sfp_framing_encode(const ProtobufCMessage *msg, size_t max_frame,
                   uint8_t *buf, size_t size, size_t *out_len)
{
    if (out_len) {
        *out_len = 0;
    }
    if (!msg || !out_len || (!buf && size)) {
        return -EINVAL;
    }
    size_t packed = protobuf_c_message_get_packed_size(msg);
    if (packed > effective_max(max_frame)) {
        return -EMSGSIZE;
    }
    if (size < SFP_FRAMING_PREFIX_LEN || size - SFP_FRAMING_PREFIX_LEN
                                         < packed) {
        return -ENOBUFS;
    }
    sfp_framing_put_prefix(buf, (uint32_t) packed);
    size_t written = protobuf_c_message_pack(msg,
                                             buf + SFP_FRAMING_PREFIX_LEN);
    if (written != packed) {
        return -EIO;
    }
    *out_len = SFP_FRAMING_PREFIX_LEN + packed;
    return 0;
}

int
sfp_framing_encode_alloc(const ProtobufCMessage *msg, size_t max_frame,
                         uint8_t **out, size_t *out_len)
{
    if (out) {
        *out = NULL;
    }
    if (out_len) {
        *out_len = 0;
    }
    if (!msg || !out || !out_len) {
        return -EINVAL;
    }
    size_t packed = protobuf_c_message_get_packed_size(msg);
    if (packed > effective_max(max_frame)) {
        return -EMSGSIZE;
    }
    size_t size = SFP_FRAMING_PREFIX_LEN + packed;
    uint8_t *buf = malloc(size);
    if (!buf) {
        return -ENOMEM;
    }
    int error = sfp_framing_encode(msg, max_frame, buf, size, out_len);
    if (error) {
        free(buf);
        return error;
    }
    *out = buf;
    return 0;
}

/* Returns the maximum payload length that 'max_frame' stands for. */
static size_t
effective_max(size_t max_frame)
{
    if (!max_frame) {
        return SFP_FRAMING_DEFAULT_MAX;
    }
    return max_frame > SFP_FRAMING_LIMIT ? SFP_FRAMING_LIMIT : max_frame;
}

static uint32_t
get_be32(const uint8_t p[SFP_FRAMING_PREFIX_LEN])
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

/* Makes 'f->buf' hold at least 'size' bytes, keeping its contents.
 * Returns 0 or -ENOMEM. */
static int
grow_buf(struct sfp_framer *f, size_t size)
{
    if (f->buf_size >= size) {
        return 0;
    }
    uint8_t *buf = realloc(f->buf, size);
    if (!buf) {
        return -ENOMEM;
    }
    f->buf = buf;
    f->buf_size = size;
    return 0;
}
