/*
 * Unit tests for bench/ofl_msg.c, the OpenFlow 1.0 messages of sf-ofload's
 * emulated switches: packet-in templates checked byte for byte and decoded
 * back with libopenvswitch, answers to a controller's set-up requests, and
 * the classification of flow-mods and packet-outs from fixed byte vectors.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <string.h>

#include "bench/ofl_msg.h"
#include "openflow/openflow.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/util.h"
#include "openvswitch/vlog.h"
#include "tests/unit/harness.h"

/* 'port' as a number (libopenvswitch's own converter is internal). */
static uint16_t
port_u16(ofp_port_t port)
{
    return (OVS_FORCE uint16_t) port;
}

/* Decodes the single message in 'out' and returns its type. */
static enum ofptype
only_type(const struct ofpbuf *out)
{
    const struct ofp_header *oh = out->data;
    enum ofptype type = 0;

    CU_ASSERT_FATAL(out->size >= sizeof *oh);
    CU_ASSERT_EQUAL(ntohs(oh->length), out->size);
    CU_ASSERT_EQUAL(ofptype_decode(&type, oh), 0);
    return type;
}

static void
test_pin_bytes(void)
{
    struct ofl_pin pin;
    struct ofpbuf out;
    struct eth_addr src = ofl_msg_src_mac(3, 0x010203);
    struct eth_addr dst = ofl_msg_dst_mac(3);

    ofl_pin_init(&pin, OFL_PORT_DATA, ofl_msg_src_mac(3, 0), dst, false);
    ofpbuf_init(&out, 0);
    ofl_pin_put(&pin, &out, 7, 42, src);

    /* Header, buffer id, total_len, in_port, reason, pad, then the frame's
     * destination and source MACs and the IPv4 ethertype. */
    static const uint8_t expected[] = {
        0x01, 0x0a, 0x00, 0x52, 0x00, 0x00, 0x00, 0x07,
        0x00, 0x00, 0x00, 0x2a, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00,
        0x0a, 0x00, 0x00, 0x00, 0x00, 0x03,
        0x02, 0x00, 0x03, 0x01, 0x02, 0x03,
        0x08, 0x00,
    };
    CU_ASSERT_EQUAL_FATAL(out.size, 18 + OFL_FRAME_LEN);
    CU_ASSERT_EQUAL(memcmp(out.data, expected, sizeof expected), 0);

    ofpbuf_uninit(&out);
    ofl_pin_destroy(&pin);
    ofl_pin_destroy(NULL);
}

static void
test_pin_decodes(void)
{
    struct ofl_pin pin;
    struct ofpbuf out;
    struct eth_addr dst = ofl_msg_dst_mac(9);

    ofl_pin_init(&pin, OFL_PORT_DATA, ofl_msg_src_mac(9, 0), dst, false);
    ofpbuf_init(&out, 0);
    /* Two messages back to back, as one write carries them. */
    ofl_pin_put(&pin, &out, 1, 100, ofl_msg_src_mac(9, 1));
    ofl_pin_put(&pin, &out, 2, 101, ofl_msg_src_mac(9, 2));

    const uint8_t *p = out.data;
    for (int i = 0; i < 2; i++) {
        const struct ofp_header *oh = (const void *) p;
        struct ofputil_packet_in pi;
        size_t total_len;
        uint32_t buffer_id;

        CU_ASSERT_EQUAL(ofputil_decode_packet_in(oh, false, NULL, NULL, &pi,
                                                 &total_len, &buffer_id,
                                                 NULL), 0);
        CU_ASSERT_EQUAL(ntohl(oh->xid), (uint32_t) i + 1);
        CU_ASSERT_EQUAL(buffer_id, 100u + i);
        CU_ASSERT_EQUAL(total_len, OFL_FRAME_LEN);
        CU_ASSERT_EQUAL(pi.packet_len, OFL_FRAME_LEN);
        CU_ASSERT_EQUAL(pi.reason, OFPR_NO_MATCH);
        CU_ASSERT_EQUAL(port_u16(pi.flow_metadata.flow.in_port.ofp_port),
                        OFL_PORT_DATA);
        struct eth_addr want = ofl_msg_src_mac(9, (uint32_t) i + 1);
        CU_ASSERT_EQUAL(memcmp(pi.packet, dst.ea, 6), 0);
        CU_ASSERT_EQUAL(memcmp((uint8_t *) pi.packet + 6, want.ea, 6), 0);
        p += ntohs(oh->length);
    }
    CU_ASSERT_EQUAL(p, (const uint8_t *) out.data + out.size);

    ofpbuf_uninit(&out);
    ofl_pin_destroy(&pin);
}

static void
test_learn_pin(void)
{
    struct ofl_pin pin;
    struct ofpbuf out;
    struct eth_addr dst = ofl_msg_dst_mac(5);

    ofl_pin_init(&pin, OFL_PORT_DST, dst, dst, true);
    ofpbuf_init(&out, 0);
    ofl_pin_put(&pin, &out, 1, UINT32_MAX, dst);

    struct ofputil_packet_in pi;
    uint32_t buffer_id;
    CU_ASSERT_EQUAL_FATAL(ofputil_decode_packet_in(out.data, false, NULL,
                                                   NULL, &pi, NULL,
                                                   &buffer_id, NULL), 0);
    const uint8_t *f = pi.packet;
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    CU_ASSERT_EQUAL(buffer_id, UINT32_MAX);
    CU_ASSERT_EQUAL(memcmp(f, bcast, 6), 0);
    CU_ASSERT_EQUAL(memcmp(f + 6, dst.ea, 6), 0);
    CU_ASSERT_EQUAL(f[12], 0x08);
    CU_ASSERT_EQUAL(f[13], 0x06);       /* ARP */
    CU_ASSERT_EQUAL(port_u16(pi.flow_metadata.flow.in_port.ofp_port),
                    OFL_PORT_DST);

    ofpbuf_uninit(&out);
    ofl_pin_destroy(&pin);
}

static void
test_macs(void)
{
    struct eth_addr a = ofl_msg_src_mac(0x0102, 0xabcdef);
    struct eth_addr d = ofl_msg_dst_mac(0x0102);
    static const uint8_t want_a[6] = { 0x02, 0x01, 0x02, 0xab, 0xcd, 0xef };
    static const uint8_t want_d[6] = { 0x0a, 0x00, 0x00, 0x00, 0x01, 0x02 };

    CU_ASSERT_EQUAL(memcmp(a.ea, want_a, 6), 0);
    CU_ASSERT_EQUAL(memcmp(d.ea, want_d, 6), 0);
    /* Unicast: a learning switch learns only unicast sources. */
    CU_ASSERT_EQUAL(a.ea[0] & 1, 0);
    CU_ASSERT_EQUAL(d.ea[0] & 1, 0);
}

static void
test_answer_features(void)
{
    static const uint8_t req[] = { 0x01, 0x05, 0x00, 0x08,
                                   0x00, 0x00, 0x00, 0x33 };
    const struct ofp_header *oh = (const void *) req;
    struct ofpbuf out;
    uint16_t miss = 128;
    enum ofptype type;

    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, oh), 0);
    CU_ASSERT_EQUAL(type, OFPTYPE_FEATURES_REQUEST);
    ofpbuf_init(&out, 0);
    CU_ASSERT_EQUAL(ofl_msg_answer(oh, type, 3, &miss, &out), 0);
    CU_ASSERT_EQUAL(only_type(&out), OFPTYPE_FEATURES_REPLY);
    CU_ASSERT_EQUAL(((const struct ofp_header *) out.data)->xid, oh->xid);

    struct ofpbuf b = ofpbuf_const_initializer(out.data, out.size);
    struct ofputil_switch_features f;
    CU_ASSERT_EQUAL_FATAL(ofputil_pull_switch_features(&b, &f), 0);
    CU_ASSERT_EQUAL(f.datapath_id, 3);
    struct ofputil_phy_port pp;
    int n = 0;
    while (!ofputil_pull_phy_port(OFP10_VERSION, &b, &pp)) {
        n++;
        CU_ASSERT_EQUAL(port_u16(pp.port_no), n);
    }
    CU_ASSERT_EQUAL(n, OFL_N_PORTS);
    ofpbuf_uninit(&out);
}

static void
test_answer_setup(void)
{
    /* set-config miss_send_len 0x200, then get-config, echo, barrier. */
    static const uint8_t set[] = { 0x01, 0x09, 0x00, 0x0c, 0, 0, 0, 1,
                                   0x00, 0x00, 0x02, 0x00 };
    static const uint8_t get[] = { 0x01, 0x07, 0x00, 0x08, 0, 0, 0, 2 };
    static const uint8_t echo[] = { 0x01, 0x02, 0x00, 0x0a, 0, 0, 0, 3,
                                    0xbe, 0xef };
    static const uint8_t barrier[] = { 0x01, 0x12, 0x00, 0x08, 0, 0, 0, 4 };
    struct ofpbuf out;
    uint16_t miss = 128;
    enum ofptype type;

    ofpbuf_init(&out, 0);
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) set), 0);
    CU_ASSERT_EQUAL(ofl_msg_answer((const void *) set, type, 1, &miss, &out),
                    0);
    CU_ASSERT_EQUAL(out.size, 0);
    CU_ASSERT_EQUAL(miss, 0x200);

    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) get), 0);
    CU_ASSERT_EQUAL(ofl_msg_answer((const void *) get, type, 1, &miss, &out),
                    0);
    CU_ASSERT_EQUAL(only_type(&out), OFPTYPE_GET_CONFIG_REPLY);
    struct ofputil_switch_config config;
    ofputil_decode_get_config_reply(out.data, &config);
    CU_ASSERT_EQUAL(config.miss_send_len, 0x200);
    ofpbuf_clear(&out);

    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) echo), 0);
    CU_ASSERT_EQUAL(ofl_msg_answer((const void *) echo, type, 1, &miss,
                                   &out), 0);
    static const uint8_t echo_reply[] = { 0x01, 0x03, 0x00, 0x0a, 0, 0, 0, 3,
                                          0xbe, 0xef };
    CU_ASSERT_EQUAL_FATAL(out.size, sizeof echo_reply);
    CU_ASSERT_EQUAL(memcmp(out.data, echo_reply, sizeof echo_reply), 0);
    ofpbuf_clear(&out);

    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) barrier), 0);
    CU_ASSERT_EQUAL(ofl_msg_answer((const void *) barrier, type, 1, &miss,
                                   &out), 0);
    static const uint8_t barrier_reply[] = { 0x01, 0x13, 0x00, 0x08,
                                             0, 0, 0, 4 };
    CU_ASSERT_EQUAL_FATAL(out.size, sizeof barrier_reply);
    CU_ASSERT_EQUAL(memcmp(out.data, barrier_reply, sizeof barrier_reply), 0);
    ofpbuf_uninit(&out);
}

static void
test_answer_refused(void)
{
    /* OF1.0 table stats request: not offered, answered with an error. */
    static const uint8_t req[] = { 0x01, 0x10, 0x00, 0x0c, 0, 0, 0, 9,
                                   0x00, 0x03, 0x00, 0x00 };
    struct ofpbuf out;
    uint16_t miss = 128;
    enum ofptype type;

    ofpbuf_init(&out, 0);
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) req), 0);
    CU_ASSERT_EQUAL(ofl_msg_answer((const void *) req, type, 1, &miss, &out),
                    OFPERR_OFPBRC_BAD_STAT);
    CU_ASSERT_EQUAL(only_type(&out), OFPTYPE_ERROR);
    CU_ASSERT_EQUAL(((const struct ofp_header *) out.data)->xid, htonl(9));
    ofpbuf_uninit(&out);
}

/* An OpenFlow 1.0 flow-mod with 'command' and buffer id 42, no actions. */
static void
make_flow_mod(uint8_t *v, uint16_t command)
{
    memset(v, 0, 72);
    v[0] = 0x01;
    v[1] = 0x0e;
    v[3] = 72;
    v[7] = 5;
    /* match: 40 bytes of zeros (wildcards 0), cookie: 8 bytes. */
    v[56] = (uint8_t) (command >> 8);
    v[57] = (uint8_t) command;
    v[62] = 0x80;               /* priority 0x8000 */
    v[67] = 42;                 /* buffer id */
    v[68] = 0xff;               /* out_port OFPP_NONE */
    v[69] = 0xff;
}

static void
test_classify(void)
{
    uint8_t fm[72];
    uint32_t bid;
    enum ofptype type;

    make_flow_mod(fm, OFPFC_ADD);
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) fm), 0);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) fm, type, &bid),
                    OFL_RESP_FLOW_ADD);
    CU_ASSERT_EQUAL(bid, 42);

    make_flow_mod(fm, OFPFC_MODIFY_STRICT);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) fm, type, &bid),
                    OFL_RESP_FLOW_ADD);

    make_flow_mod(fm, OFPFC_DELETE);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) fm, type, &bid),
                    OFL_RESP_FLOW_OTHER);

    static const uint8_t po[] = { 0x01, 0x0d, 0x00, 0x10, 0, 0, 0, 6,
                                  0x00, 0x00, 0x00, 0x2b, 0x00, 0x01,
                                  0x00, 0x00 };
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) po), 0);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) po, type, &bid),
                    OFL_RESP_PACKET_OUT);
    CU_ASSERT_EQUAL(bid, 43);

    /* No buffer, from OFPP_NONE: the controller's own (a probe). */
    static const uint8_t probe[] = { 0x01, 0x0d, 0x00, 0x10, 0, 0, 0, 7,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0x00, 0x00 };
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) probe), 0);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) probe, type, &bid),
                    OFL_RESP_PACKET_OUT_OTHER);
    CU_ASSERT_EQUAL(bid, UINT32_MAX);

    static const uint8_t echo[] = { 0x01, 0x02, 0x00, 0x08, 0, 0, 0, 3 };
    CU_ASSERT_EQUAL_FATAL(ofptype_decode(&type, (const void *) echo), 0);
    CU_ASSERT_EQUAL(ofl_msg_classify((const void *) echo, type, &bid),
                    OFL_RESP_NONE);
    CU_ASSERT_EQUAL(bid, UINT32_MAX);
}

static void
test_malformed(void)
{
    /* A flow-mod cut short and a packet-out whose actions overrun it: the
     * codec refuses both before they are classified. */
    uint8_t fm[72];
    make_flow_mod(fm, OFPFC_ADD);
    fm[3] = 40;
    enum ofptype type;
    CU_ASSERT_NOT_EQUAL(ofptype_decode(&type, (const void *) fm), 0);

    static const uint8_t po[] = { 0x01, 0x0d, 0x00, 0x0c, 0, 0, 0, 6,
                                  0x00, 0x00, 0x00, 0x2b };
    CU_ASSERT_NOT_EQUAL(ofptype_decode(&type, (const void *) po), 0);
}

static CU_TestInfo pin_tests[] = {
    { "packet-in template bytes", test_pin_bytes },
    { "packet-ins decode back", test_pin_decodes },
    { "destination announcement", test_learn_pin },
    { "MAC numbering", test_macs },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo answer_tests[] = {
    { "features reply", test_answer_features },
    { "set-up requests", test_answer_setup },
    { "refused request", test_answer_refused },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo classify_tests[] = {
    { "flow-mods and packet-outs", test_classify },
    { "malformed responses", test_malformed },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "packet-in", NULL, NULL, NULL, NULL, pin_tests },
    { "answer", NULL, NULL, NULL, NULL, answer_tests },
    { "classify", NULL, NULL, NULL, NULL, classify_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    ovs_set_program_name("bench_ofl_msg_test", "test");
    vlog_set_levels(NULL, VLF_SYSLOG, VLL_OFF);
    vlog_set_levels(NULL, VLF_CONSOLE, VLL_OFF);
    return sft_run("bench_ofl_msg", suites);
}
