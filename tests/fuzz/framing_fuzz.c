/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for proto/framing.c and the protobuf-c decoders of
 * proto/control.proto and proto/admin.proto.
 *
 * The first two input bytes choose the framer's maximum frame size and seed
 * the chunking; the rest is the byte stream.  It is fed through a framer in
 * pseudo-random chunk sizes (1 byte up to the whole rest), and every frame
 * that comes out is decoded as a control Envelope, an admin Request and an
 * admin Response, each freed again.  A decoded message is re-encoded with
 * the framing helper and must frame back to the same length.  At the end
 * the framer must report a clean end or a truncated frame, and a protocol
 * error must be sticky.
 */
#include "proto/framing.h"

#include <stdlib.h>
#include <string.h>

#include "proto/admin.pb-c.h"
#include "proto/control.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reencode(const ProtobufCMessage *msg)
{
    uint8_t *out;
    size_t len;

    if (!sfp_framing_encode_alloc(msg, SFP_FRAMING_LIMIT, &out, &len)) {
        if (len != sfp_framing_size(msg)) {
            abort();
        }
        free(out);
    }
}

static void
decode_frame(const uint8_t *frame, size_t len)
{
    Scaffold__Control__Envelope *env =
        scaffold__control__envelope__unpack(NULL, len, frame);
    if (env) {
        check_reencode(&env->base);
        scaffold__control__envelope__free_unpacked(env, NULL);
    }

    Scaffold__Admin__Request *req =
        scaffold__admin__request__unpack(NULL, len, frame);
    if (req) {
        check_reencode(&req->base);
        scaffold__admin__request__free_unpacked(req, NULL);
    }

    Scaffold__Admin__Response *resp =
        scaffold__admin__response__unpack(NULL, len, frame);
    if (resp) {
        check_reencode(&resp->base);
        scaffold__admin__response__free_unpacked(resp, NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }

    /* Maximum frame size: 0 (the default) or 1..1024 bytes, so that the
     * TOO_BIG path is reached often. */
    size_t max = data[0] < 16 ? 0 : (size_t) data[0] * 4;
    uint32_t rnd = data[1] * 2654435761u + 1;
    data += 2;
    size -= 2;

    struct sfp_framer f;
    if (sfp_framer_init(&f, max)) {
        abort();
    }

    size_t off = 0;
    int status = SFP_FRAMING_MORE;
    while (off < size && status <= SFP_FRAMING_FRAME) {
        rnd = rnd * 1103515245u + 12345u;
        size_t left = size - off;
        size_t chunk = 1 + (rnd >> 16) % left;
        const uint8_t *p = data + off;

        while (chunk) {
            const uint8_t *frame;
            size_t used, flen;

            status = sfp_framer_feed(&f, p, chunk, &used, &frame, &flen);
            if (used > chunk) {
                abort();
            }
            p += used;
            chunk -= used;
            off += used;
            if (status == SFP_FRAMING_FRAME) {
                if (flen > f.max_frame) {
                    abort();
                }
                decode_frame(frame, flen);
            } else if (status == SFP_FRAMING_MORE) {
                if (chunk) {
                    abort();
                }
            } else {
                break;
            }
        }
    }

    int end = sfp_framer_end(&f);
    if (status == SFP_FRAMING_TOO_BIG) {
        const uint8_t *frame;
        size_t used, flen;
        if (end != SFP_FRAMING_TOO_BIG
            || sfp_framer_feed(&f, data, size, &used, &frame, &flen)
               != SFP_FRAMING_TOO_BIG) {
            abort();
        }
    } else if (end != SFP_FRAMING_MORE && end != SFP_FRAMING_TRUNCATED) {
        abort();
    } else if ((end == SFP_FRAMING_TRUNCATED) != !!sfp_framer_pending(&f)) {
        abort();
    }
    sfp_framer_destroy(&f);
    return 0;
}
