/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for proto/framing.[ch]: the incremental length-prefix decoder
 * (zero-length frames, exactly the maximum, one byte over it, prefixes and
 * payloads split at every byte, several frames in one feed, truncation at
 * end of stream) and the encoder helpers.
 */
#include "proto/framing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.pb-c.h"
#include "tests/unit/harness.h"

/* Builds a frame of 'len' payload bytes (byte i = i * 7 + seed) into 'out'
 * and returns its total length. */
static size_t
make_frame(uint8_t *out, size_t len, uint8_t seed)
{
    sfp_framing_put_prefix(out, (uint32_t) len);
    for (size_t i = 0; i < len; i++) {
        out[SFP_FRAMING_PREFIX_LEN + i] = (uint8_t) (i * 7 + seed);
    }
    return SFP_FRAMING_PREFIX_LEN + len;
}

static int
payload_ok(const uint8_t *frame, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        if (frame[i] != (uint8_t) (i * 7 + seed)) {
            return 0;
        }
    }
    return 1;
}

static void
test_prefix(void)
{
    uint8_t p[4];

    sfp_framing_put_prefix(p, 0x01020304u);
    CU_ASSERT_EQUAL(p[0], 1);
    CU_ASSERT_EQUAL(p[1], 2);
    CU_ASSERT_EQUAL(p[2], 3);
    CU_ASSERT_EQUAL(p[3], 4);
}

static void
test_init_args(void)
{
    struct sfp_framer f;

    CU_ASSERT_EQUAL(sfp_framer_init(&f, 0), 0);
    CU_ASSERT_EQUAL(f.max_frame, SFP_FRAMING_DEFAULT_MAX);
    sfp_framer_destroy(&f);
    CU_ASSERT_EQUAL(sfp_framer_init(&f, SFP_FRAMING_LIMIT), 0);
    sfp_framer_destroy(&f);
    CU_ASSERT_EQUAL(sfp_framer_init(&f, SFP_FRAMING_LIMIT + 1), -EINVAL);
    CU_ASSERT_EQUAL(sfp_framer_init(NULL, 0), -EINVAL);
    sfp_framer_destroy(NULL);

    const uint8_t *frame;
    size_t used, flen;
    CU_ASSERT_EQUAL(sfp_framer_init(&f, 16), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, NULL, 1, &used, &frame, &flen),
                    -EINVAL);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, "x", 1, NULL, &frame, &flen),
                    -EINVAL);
    CU_ASSERT_EQUAL(sfp_framer_feed(NULL, "x", 1, &used, &frame, &flen),
                    -EINVAL);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, NULL, 0, &used, &frame, &flen),
                    SFP_FRAMING_MORE);
    CU_ASSERT_EQUAL(sfp_framer_end(NULL), -EINVAL);
    sfp_framer_destroy(&f);
}

static void
test_zero_length(void)
{
    struct sfp_framer f;
    const uint8_t in[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    const uint8_t *frame;
    size_t used, flen;

    CU_ASSERT_EQUAL(sfp_framer_init(&f, 16), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, sizeof in, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, 4);
    CU_ASSERT_EQUAL(flen, 0);
    CU_ASSERT_PTR_NOT_NULL(frame);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + 4, 4, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, 4);
    CU_ASSERT_EQUAL(flen, 0);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);

    /* Byte by byte: the frame appears with the 4th byte, and a NULL input
     * of length 0 afterwards yields nothing more. */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, 1, &used, &frame, &flen),
                        SFP_FRAMING_MORE);
        CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_TRUNCATED);
    }
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, 1, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(flen, 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, NULL, 0, &used, &frame, &flen),
                    SFP_FRAMING_MORE);
    CU_ASSERT_PTR_NULL(frame);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    sfp_framer_destroy(&f);
}

/* Feeds 'in' in one go and then in pieces of 'step' bytes; both must give
 * exactly one frame of 'len' bytes with seed 'seed'. */
static void
check_one_frame(size_t max, const uint8_t *in, size_t in_len, size_t len,
                uint8_t seed, size_t step)
{
    struct sfp_framer f;
    const uint8_t *frame;
    size_t used, flen;

    CU_ASSERT_EQUAL_FATAL(sfp_framer_init(&f, max), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, in_len, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, in_len);
    CU_ASSERT_EQUAL(flen, len);
    /* Delivered whole: no copy, the frame points into the input. */
    CU_ASSERT_PTR_EQUAL(frame, in + SFP_FRAMING_PREFIX_LEN);
    CU_ASSERT(payload_ok(frame, flen, seed));
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);

    size_t off = 0;
    int frames = 0;
    while (off < in_len) {
        size_t n = in_len - off < step ? in_len - off : step;
        int r = sfp_framer_feed(&f, in + off, n, &used, &frame, &flen);
        CU_ASSERT(r == SFP_FRAMING_FRAME || r == SFP_FRAMING_MORE);
        if (r == SFP_FRAMING_FRAME) {
            frames++;
            CU_ASSERT_EQUAL(flen, len);
            CU_ASSERT(payload_ok(frame, flen, seed));
            CU_ASSERT_EQUAL(off + used, in_len);
        } else {
            CU_ASSERT_EQUAL(used, n);
            CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_TRUNCATED);
            CU_ASSERT_EQUAL(sfp_framer_pending(&f), off + n);
        }
        off += used;
    }
    CU_ASSERT_EQUAL(frames, 1);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    CU_ASSERT_EQUAL(sfp_framer_pending(&f), 0);
    sfp_framer_destroy(&f);
}

static void
test_exactly_max(void)
{
    uint8_t small[4 + 16];
    size_t n = make_frame(small, 16, 3);

    check_one_frame(16, small, n, 16, 3, 1);
    check_one_frame(16, small, n, 16, 3, 5);

    size_t max = SFP_FRAMING_DEFAULT_MAX;
    uint8_t *big = malloc(SFP_FRAMING_PREFIX_LEN + max);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    n = make_frame(big, max, 11);
    check_one_frame(0, big, n, max, 11, 4093);
    free(big);
}

static void
test_max_plus_one(void)
{
    struct sfp_framer f;
    uint8_t in[4 + 17];
    const uint8_t *frame;
    size_t used, flen;
    size_t n = make_frame(in, 17, 0);

    /* All at once: refused after the prefix, nothing else consumed. */
    CU_ASSERT_EQUAL(sfp_framer_init(&f, 16), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, n, &used, &frame, &flen),
                    SFP_FRAMING_TOO_BIG);
    CU_ASSERT_EQUAL(used, 4);
    CU_ASSERT_PTR_NULL(frame);
    /* Sticky. */
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + 4, n - 4, &used, &frame,
                                    &flen),
                    SFP_FRAMING_TOO_BIG);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_TOO_BIG);
    /* Reset clears it; the maximum stays. */
    sfp_framer_reset(&f);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    CU_ASSERT_EQUAL(f.max_frame, 16);

    /* Byte by byte: refused as soon as the 4th prefix byte arrives, with
     * no payload buffered (nor allocated). */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + i, 1, &used, &frame, &flen),
                        SFP_FRAMING_MORE);
    }
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + 3, 1, &used, &frame, &flen),
                    SFP_FRAMING_TOO_BIG);
    CU_ASSERT_EQUAL(used, 1);
    CU_ASSERT_PTR_NULL(f.buf);
    sfp_framer_destroy(&f);

    /* A prefix of 0xffffffff with the default maximum. */
    const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
    CU_ASSERT_EQUAL(sfp_framer_init(&f, 0), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, huge, sizeof huge, &used, &frame,
                                    &flen),
                    SFP_FRAMING_TOO_BIG);
    sfp_framer_destroy(&f);

    /* TOO_BIG, TRUNCATED and errno values all have distinct texts. */
    CU_ASSERT(strcmp(sfp_framing_strerror(SFP_FRAMING_TOO_BIG),
                     sfp_framing_strerror(SFP_FRAMING_TRUNCATED)) != 0);
    CU_ASSERT(strcmp(sfp_framing_strerror(-ENOMEM),
                     sfp_framing_strerror(SFP_FRAMING_TOO_BIG)) != 0);
}

static void
test_prefix_split_byte_by_byte(void)
{
    uint8_t in[4 + 300];
    size_t n = make_frame(in, 300, 5);

    check_one_frame(1000, in, n, 300, 5, 1);
    check_one_frame(1000, in, n, 300, 5, 2);
    check_one_frame(1000, in, n, 300, 5, 3);
    check_one_frame(1000, in, n, 300, 5, 7);
}

static void
test_two_frames_one_feed(void)
{
    struct sfp_framer f;
    uint8_t in[4 + 10 + 4 + 20 + 4 + 0 + 2];
    const uint8_t *frame;
    size_t used, flen;
    size_t n = make_frame(in, 10, 1);

    n += make_frame(in + n, 20, 2);
    n += make_frame(in + n, 0, 0);
    in[n++] = 0;                /* Start of a 4th frame's prefix. */
    in[n++] = 0;

    CU_ASSERT_EQUAL(sfp_framer_init(&f, 64), 0);
    size_t off = 0;
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, n, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, 14);
    CU_ASSERT_EQUAL(flen, 10);
    CU_ASSERT(payload_ok(frame, flen, 1));
    off += used;
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + off, n - off, &used, &frame,
                                    &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, 24);
    CU_ASSERT_EQUAL(flen, 20);
    CU_ASSERT(payload_ok(frame, flen, 2));
    off += used;
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + off, n - off, &used, &frame,
                                    &flen),
                    SFP_FRAMING_FRAME);
    CU_ASSERT_EQUAL(used, 4);
    CU_ASSERT_EQUAL(flen, 0);
    off += used;
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + off, n - off, &used, &frame,
                                    &flen),
                    SFP_FRAMING_MORE);
    CU_ASSERT_EQUAL(used, 2);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_TRUNCATED);
    sfp_framer_destroy(&f);
}

static void
test_truncated(void)
{
    struct sfp_framer f;
    uint8_t in[4 + 8];
    const uint8_t *frame;
    size_t used, flen;
    size_t n = make_frame(in, 8, 9);

    CU_ASSERT_EQUAL(sfp_framer_init(&f, 64), 0);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    /* Every proper prefix of the frame is truncated at end of stream. */
    for (size_t cut = 1; cut < n; cut++) {
        sfp_framer_reset(&f);
        CU_ASSERT_EQUAL(sfp_framer_feed(&f, in, cut, &used, &frame, &flen),
                        SFP_FRAMING_MORE);
        CU_ASSERT_EQUAL(used, cut);
        CU_ASSERT_EQUAL(sfp_framer_pending(&f), cut);
        CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_TRUNCATED);
        /* The rest completes it. */
        CU_ASSERT_EQUAL(sfp_framer_feed(&f, in + cut, n - cut, &used,
                                        &frame, &flen),
                        SFP_FRAMING_FRAME);
        CU_ASSERT_EQUAL(flen, 8);
        CU_ASSERT(payload_ok(frame, flen, 9));
        CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    }
    sfp_framer_destroy(&f);
}

/* Many frames of assorted sizes, fed in pseudo-random chunks. */
static void
test_stream_random_chunks(void)
{
    enum { N_FRAMES = 200, MAX = 700 };
    uint8_t *in = malloc(N_FRAMES * (4 + MAX));
    size_t lens[N_FRAMES];
    size_t n = 0;
    uint32_t rnd = 12345;

    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    for (int i = 0; i < N_FRAMES; i++) {
        rnd = rnd * 1103515245u + 12345u;
        lens[i] = (rnd >> 8) % (MAX + 1);
        n += make_frame(in + n, lens[i], (uint8_t) i);
    }

    struct sfp_framer f;
    CU_ASSERT_EQUAL(sfp_framer_init(&f, MAX), 0);
    size_t off = 0;
    int got = 0;
    while (off < n) {
        rnd = rnd * 1103515245u + 12345u;
        size_t chunk = 1 + (rnd >> 8) % 1500;
        size_t end = off + chunk < n ? off + chunk : n;
        while (off < end) {
            const uint8_t *frame;
            size_t used, flen;
            int r = sfp_framer_feed(&f, in + off, end - off, &used, &frame,
                                    &flen);
            off += used;
            if (r == SFP_FRAMING_MORE) {
                CU_ASSERT_EQUAL(off, end);
                break;
            }
            CU_ASSERT_EQUAL_FATAL(r, SFP_FRAMING_FRAME);
            CU_ASSERT_FATAL(got < N_FRAMES);
            CU_ASSERT_EQUAL(flen, lens[got]);
            CU_ASSERT(payload_ok(frame, flen, (uint8_t) got));
            got++;
        }
    }
    CU_ASSERT_EQUAL(got, N_FRAMES);
    CU_ASSERT_EQUAL(sfp_framer_end(&f), SFP_FRAMING_MORE);
    sfp_framer_destroy(&f);
    free(in);
}

static void
test_encode(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__BindRequest bind =
        SCAFFOLD__CONTROL__BIND_REQUEST__INIT;
    uint8_t buf[64];
    size_t len;

    bind.id = 77;
    bind.object_id = 8080;
    bind.sock_id = 3;
    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
    env.bind = &bind;

    size_t packed = protobuf_c_message_get_packed_size(&env.base);
    CU_ASSERT_EQUAL(sfp_framing_size(&env.base), packed + 4);
    CU_ASSERT_EQUAL(sfp_framing_encode(&env.base, 0, buf, sizeof buf, &len),
                    0);
    CU_ASSERT_EQUAL(len, packed + 4);
    CU_ASSERT_EQUAL(buf[0], 0);
    CU_ASSERT_EQUAL(buf[3], packed);

    /* Too small a buffer, too small a maximum. */
    CU_ASSERT_EQUAL(sfp_framing_encode(&env.base, 0, buf, packed + 3, &len),
                    -ENOBUFS);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(sfp_framing_encode(&env.base, 0, buf, 2, &len),
                    -ENOBUFS);
    CU_ASSERT_EQUAL(sfp_framing_encode(&env.base, packed - 1, buf,
                                       sizeof buf, &len),
                    -EMSGSIZE);
    CU_ASSERT_EQUAL(sfp_framing_encode(&env.base, packed, buf, sizeof buf,
                                       &len),
                    0);

    uint8_t *out;
    CU_ASSERT_EQUAL(sfp_framing_encode_alloc(&env.base, packed - 1, &out,
                                             &len),
                    -EMSGSIZE);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(sfp_framing_encode_alloc(&env.base, 0, &out, &len), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(len, packed + 4);
    CU_ASSERT_EQUAL(memcmp(out, buf, len), 0);

    /* And back through the framer. */
    struct sfp_framer f;
    const uint8_t *frame;
    size_t used, flen;
    CU_ASSERT_EQUAL(sfp_framer_init(&f, 0), 0);
    CU_ASSERT_EQUAL(sfp_framer_feed(&f, out, len, &used, &frame, &flen),
                    SFP_FRAMING_FRAME);
    Scaffold__Control__Envelope *e =
        scaffold__control__envelope__unpack(NULL, flen, frame);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND);
    CU_ASSERT_EQUAL(e->bind->id, 77);
    CU_ASSERT_EQUAL(e->bind->object_id, 8080);
    CU_ASSERT_EQUAL(e->bind->sock_id, 3);
    scaffold__control__envelope__free_unpacked(e, NULL);
    sfp_framer_destroy(&f);
    free(out);

    /* An empty message frames as a bare zero prefix. */
    Scaffold__Control__Envelope empty = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    CU_ASSERT_EQUAL(sfp_framing_encode(&empty.base, 0, buf, 4, &len), 0);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(buf[0] | buf[1] | buf[2] | buf[3], 0);
}

static CU_TestInfo framer_tests[] = {
    { "prefix byte order", test_prefix },
    { "init and argument checks", test_init_args },
    { "zero-length frame", test_zero_length },
    { "frame of exactly the maximum", test_exactly_max },
    { "frame of maximum + 1", test_max_plus_one },
    { "prefix split byte by byte", test_prefix_split_byte_by_byte },
    { "two frames in one feed", test_two_frames_one_feed },
    { "truncated at end of stream", test_truncated },
    { "stream in random chunks", test_stream_random_chunks },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo encode_tests[] = {
    { "encode into buffer and malloc", test_encode },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "framer", NULL, NULL, NULL, NULL, framer_tests },
    { "encode", NULL, NULL, NULL, NULL, encode_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("framing", suites);
}
