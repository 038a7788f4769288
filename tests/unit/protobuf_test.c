/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the protobuf schemas proto/control.proto and
 * proto/admin.proto as compiled by protoc-c: every message type is packed,
 * unpacked and compared field by field (and re-packed to the same bytes),
 * and malformed encodings (truncations, bad wire types, overlong varints,
 * lengths past the end) are rejected by the decoder.
 */
#include "proto/admin.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.pb-c.h"
#include "tests/unit/harness.h"

static uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x0a };
static uint8_t mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0xfe };

static int
mac_eq(ProtobufCBinaryData d, const uint8_t mac[6])
{
    return d.len == 6 && !memcmp(d.data, mac, 6);
}

static ProtobufCBinaryData
mac_bytes(uint8_t mac[6])
{
    ProtobufCBinaryData d = { 6, mac };
    return d;
}

/* Packs 'msg', unpacks it with its own descriptor, checks that re-packing
 * the result gives the same bytes, and returns the unpacked message (free
 * with protobuf_c_message_free_unpacked()). */
static ProtobufCMessage *
roundtrip(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL(protobuf_c_message_pack(msg, buf), len);

    ProtobufCMessage *out = protobuf_c_message_unpack(msg->descriptor, NULL,
                                                      len, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(protobuf_c_message_get_packed_size(out), len);
    uint8_t *again = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(protobuf_c_message_pack(out, again), len);
    CU_ASSERT_EQUAL(memcmp(buf, again, len), 0);
    free(again);
    free(buf);
    return out;
}

/* ---- control.proto ------------------------------------------------------ */

static Scaffold__Control__Envelope *
control_roundtrip(Scaffold__Control__Envelope *env)
{
    env->version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    Scaffold__Control__Envelope *out =
        (Scaffold__Control__Envelope *) roundtrip(&env->base);
    CU_ASSERT_EQUAL(out->version, env->version);
    CU_ASSERT_EQUAL(out->body_case, env->body_case);
    return out;
}

static void
test_join_request(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest m = SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;
    Scaffold__Control__HostAddress req =
        SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;
    Scaffold__Control__HostAddress prev =
        SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;

    req.ss_id = 10;
    req.host_id = 254;
    prev.ss_id = 10;
    prev.host_id = 3;
    m.id = UINT64_C(0xfedcba9876543210);
    m.mac = mac_bytes(mac_a);
    m.requested = &req;
    m.previous = &prev;
    m.agent_version = "scafd 0.1";
    m.name = "h1";
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
    env.join = &m;

    Scaffold__Control__Envelope *o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->join->id, m.id);
    CU_ASSERT(mac_eq(o->join->mac, mac_a));
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->join->requested);
    CU_ASSERT_EQUAL(o->join->requested->ss_id, 10);
    CU_ASSERT_EQUAL(o->join->requested->host_id, 254);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->join->previous);
    CU_ASSERT_EQUAL(o->join->previous->host_id, 3);
    CU_ASSERT_STRING_EQUAL(o->join->agent_version, "scafd 0.1");
    CU_ASSERT_STRING_EQUAL(o->join->name, "h1");
    scaffold__control__envelope__free_unpacked(o, NULL);

    /* A first join has no addresses: they stay absent. */
    m.requested = NULL;
    m.previous = NULL;
    o = control_roundtrip(&env);
    CU_ASSERT_PTR_NULL(o->join->requested);
    CU_ASSERT_PTR_NULL(o->join->previous);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static void
test_join_reply(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinReply m = SCAFFOLD__CONTROL__JOIN_REPLY__INIT;

    m.id = 42;
    m.ss_id = 10;
    m.host_id = 7;
    m.flow_id_prefix = 0x0a070000u;
    m.flow_id_prefix_len = 16;
    m.gateway_mac = mac_bytes(mac_b);
    m.lease_seconds = 300;
    m.keepalive_seconds = 30;
    m.controller_epoch = UINT64_C(1700000000123);
    m.moved = 1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN_REPLY;
    env.join_reply = &m;

    Scaffold__Control__Envelope *o = control_roundtrip(&env);
    Scaffold__Control__JoinReply *r = o->join_reply;
    CU_ASSERT_EQUAL(r->id, 42);
    CU_ASSERT_EQUAL(r->ss_id, 10);
    CU_ASSERT_EQUAL(r->host_id, 7);
    CU_ASSERT_EQUAL(r->flow_id_prefix, 0x0a070000u);
    CU_ASSERT_EQUAL(r->flow_id_prefix_len, 16);
    CU_ASSERT(mac_eq(r->gateway_mac, mac_b));
    CU_ASSERT_EQUAL(r->lease_seconds, 300);
    CU_ASSERT_EQUAL(r->keepalive_seconds, 30);
    CU_ASSERT_EQUAL(r->controller_epoch, UINT64_C(1700000000123));
    CU_ASSERT_EQUAL(r->moved, 1);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static void
test_bind_unbind(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__BindRequest b = SCAFFOLD__CONTROL__BIND_REQUEST__INIT;
    Scaffold__Control__UnbindRequest u =
        SCAFFOLD__CONTROL__UNBIND_REQUEST__INIT;

    b.id = 1;
    b.object_id = 65535;
    b.sock_id = 65535;
    b.flags = SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_LISTEN
              | SCAFFOLD__CONTROL__BIND_FLAG__BIND_FLAG_REPLACE;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_BIND;
    env.bind = &b;
    Scaffold__Control__Envelope *o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->bind->id, 1);
    CU_ASSERT_EQUAL(o->bind->object_id, 65535);
    CU_ASSERT_EQUAL(o->bind->sock_id, 65535);
    CU_ASSERT_EQUAL(o->bind->flags, 3);
    scaffold__control__envelope__free_unpacked(o, NULL);

    u.id = 2;
    u.object_id = 80;
    u.sock_id = 9;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND;
    env.unbind = &u;
    o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->unbind->id, 2);
    CU_ASSERT_EQUAL(o->unbind->object_id, 80);
    CU_ASSERT_EQUAL(o->unbind->sock_id, 9);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static void
test_leave_keepalive(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__LeaveRequest l = SCAFFOLD__CONTROL__LEAVE_REQUEST__INIT;
    Scaffold__Control__Keepalive k = SCAFFOLD__CONTROL__KEEPALIVE__INIT;
    Scaffold__Control__HostAddress a = SCAFFOLD__CONTROL__HOST_ADDRESS__INIT;

    l.id = 3;
    l.reason = SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_LINK_DOWN;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_LEAVE;
    env.leave = &l;
    Scaffold__Control__Envelope *o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->leave->id, 3);
    CU_ASSERT_EQUAL(o->leave->reason,
                    SCAFFOLD__CONTROL__LEAVE_REASON__LEAVE_REASON_LINK_DOWN);
    scaffold__control__envelope__free_unpacked(o, NULL);

    a.ss_id = 1;
    a.host_id = 2;
    k.id = 4;
    k.address = &a;
    k.controller_epoch = 99;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_KEEPALIVE;
    env.keepalive = &k;
    o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->keepalive->id, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->keepalive->address);
    CU_ASSERT_EQUAL(o->keepalive->address->ss_id, 1);
    CU_ASSERT_EQUAL(o->keepalive->address->host_id, 2);
    CU_ASSERT_EQUAL(o->keepalive->controller_epoch, 99);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static void
test_reply_error(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__Reply r = SCAFFOLD__CONTROL__REPLY__INIT;
    Scaffold__Control__Error e = SCAFFOLD__CONTROL__ERROR__INIT;

    r.id = 5;
    r.status = SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE;
    r.lease_seconds = 120;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_REPLY;
    env.reply = &r;
    Scaffold__Control__Envelope *o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->reply->id, 5);
    CU_ASSERT_EQUAL(o->reply->status,
                    SCAFFOLD__CONTROL__STATUS__STATUS_ALREADY_DONE);
    CU_ASSERT_EQUAL(o->reply->lease_seconds, 120);
    scaffold__control__envelope__free_unpacked(o, NULL);

    e.id = 6;
    e.code = SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NO_ADDRESS;
    e.message = "no free hostID in ssID 10";
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_ERROR;
    env.error = &e;
    o = control_roundtrip(&env);
    CU_ASSERT_EQUAL(o->error->id, 6);
    CU_ASSERT_EQUAL(o->error->code,
                    SCAFFOLD__CONTROL__ERROR_CODE__ERROR_CODE_NO_ADDRESS);
    CU_ASSERT_STRING_EQUAL(o->error->message, "no free hostID in ssID 10");
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static void
test_empty_envelope(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;

    /* An envelope without a body packs to nothing and decodes to
     * NOT_SET, which receivers must answer with ERROR_CODE_UNSUPPORTED. */
    CU_ASSERT_EQUAL(protobuf_c_message_get_packed_size(&env.base), 0);
    Scaffold__Control__Envelope *o =
        scaffold__control__envelope__unpack(NULL, 0, (const uint8_t *) "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY__NOT_SET);
    CU_ASSERT_EQUAL(o->version, 0);     /* PROTOCOL_VERSION_UNSPECIFIED */
    scaffold__control__envelope__free_unpacked(o, NULL);
}

/* ---- admin.proto -------------------------------------------------------- */

static Scaffold__Admin__Request *
request_roundtrip(Scaffold__Admin__Request *req)
{
    req->id = 1000 + (uint64_t) req->op_case;
    req->auth_token = "s3cret";
    Scaffold__Admin__Request *out =
        (Scaffold__Admin__Request *) roundtrip(&req->base);
    CU_ASSERT_EQUAL(out->id, req->id);
    CU_ASSERT_STRING_EQUAL(out->auth_token, "s3cret");
    CU_ASSERT_EQUAL(out->op_case, req->op_case);
    return out;
}

static void
test_admin_requests(void)
{
    Scaffold__Admin__Request req = SCAFFOLD__ADMIN__REQUEST__INIT;
    Scaffold__Admin__Request *o;

    /* The argument-less list requests. */
    Scaffold__Admin__ListSwitches ls = SCAFFOLD__ADMIN__LIST_SWITCHES__INIT;
    Scaffold__Admin__ListLinks ll = SCAFFOLD__ADMIN__LIST_LINKS__INIT;
    Scaffold__Admin__ListHosts lh = SCAFFOLD__ADMIN__LIST_HOSTS__INIT;
    Scaffold__Admin__ListObjects lo = SCAFFOLD__ADMIN__LIST_OBJECTS__INIT;
    Scaffold__Admin__GetStatus gs = SCAFFOLD__ADMIN__GET_STATUS__INIT;
    struct {
        Scaffold__Admin__Request__OpCase op;
        void *msg;
    } simple[] = {
        { SCAFFOLD__ADMIN__REQUEST__OP_LIST_SWITCHES, &ls },
        { SCAFFOLD__ADMIN__REQUEST__OP_LIST_LINKS, &ll },
        { SCAFFOLD__ADMIN__REQUEST__OP_LIST_HOSTS, &lh },
        { SCAFFOLD__ADMIN__REQUEST__OP_LIST_OBJECTS, &lo },
        { SCAFFOLD__ADMIN__REQUEST__OP_GET_STATUS, &gs },
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        req.op_case = simple[i].op;
        /* All union members are pointers: any of them sets the op. */
        req.list_switches = simple[i].msg;
        o = request_roundtrip(&req);
        CU_ASSERT_PTR_NOT_NULL(o->list_switches);
        scaffold__admin__request__free_unpacked(o, NULL);
    }

    Scaffold__Admin__ListInstances li = SCAFFOLD__ADMIN__LIST_INSTANCES__INIT;
    li.object_id = 8080;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_INSTANCES;
    req.list_instances = &li;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->list_instances->object_id, 8080);
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__ListRules lr = SCAFFOLD__ADMIN__LIST_RULES__INIT;
    lr.dpid = UINT64_C(0x0000aabbccddeeff);
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_RULES;
    req.list_rules = &lr;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->list_rules->dpid, UINT64_C(0x0000aabbccddeeff));
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__ListEvents le = SCAFFOLD__ADMIN__LIST_EVENTS__INIT;
    le.since_id = 12345;
    le.limit = 50;
    le.follow = 1;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_LIST_EVENTS;
    req.list_events = &le;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->list_events->since_id, 12345);
    CU_ASSERT_EQUAL(o->list_events->limit, 50);
    CU_ASSERT_EQUAL(o->list_events->follow, 1);
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__DescribeSwitch ds =
        SCAFFOLD__ADMIN__DESCRIBE_SWITCH__INIT;
    ds.dpid = 3;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_SWITCH;
    req.describe_switch = &ds;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->describe_switch->dpid, 3);
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__DescribeHost dh = SCAFFOLD__ADMIN__DESCRIBE_HOST__INIT;
    dh.key_case = SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_MAC;
    dh.mac = mac_bytes(mac_a);
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_DESCRIBE_HOST;
    req.describe_host = &dh;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->describe_host->key_case,
                    SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_MAC);
    CU_ASSERT(mac_eq(o->describe_host->mac, mac_a));
    scaffold__admin__request__free_unpacked(o, NULL);
    dh.key_case = SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_FLOW_ID_PREFIX;
    dh.flow_id_prefix = 0x0a030000u;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->describe_host->key_case,
                    SCAFFOLD__ADMIN__DESCRIBE_HOST__KEY_FLOW_ID_PREFIX);
    CU_ASSERT_EQUAL(o->describe_host->flow_id_prefix, 0x0a030000u);
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__SetRole sr = SCAFFOLD__ADMIN__SET_ROLE__INIT;
    sr.dpid = 9;
    sr.role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT;
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_SET_ROLE;
    req.set_role = &sr;
    o = request_roundtrip(&req);
    CU_ASSERT_EQUAL(o->set_role->dpid, 9);
    CU_ASSERT_EQUAL(o->set_role->role,
                    SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_OBJECT);
    scaffold__admin__request__free_unpacked(o, NULL);

    Scaffold__Admin__EvictHost eh = SCAFFOLD__ADMIN__EVICT_HOST__INIT;
    eh.mac = mac_bytes(mac_b);
    req.op_case = SCAFFOLD__ADMIN__REQUEST__OP_EVICT_HOST;
    req.evict_host = &eh;
    o = request_roundtrip(&req);
    CU_ASSERT(mac_eq(o->evict_host->mac, mac_b));
    scaffold__admin__request__free_unpacked(o, NULL);
}

static Scaffold__Admin__Response *
response_roundtrip(Scaffold__Admin__Response *resp)
{
    resp->id = 2000 + (uint64_t) resp->result_case;
    Scaffold__Admin__Response *out =
        (Scaffold__Admin__Response *) roundtrip(&resp->base);
    CU_ASSERT_EQUAL(out->id, resp->id);
    CU_ASSERT_EQUAL(out->more, resp->more);
    CU_ASSERT_EQUAL(out->result_case, resp->result_case);
    return out;
}

static void
fill_switch(Scaffold__Admin__Switch *s, uint64_t dpid)
{
    scaffold__admin__switch__init(s);
    s->dpid = dpid;
    s->name = "lr1";
    s->role = SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL;
    s->of_version = 4;
    s->connected = 1;
    s->last_seen_ms = INT64_C(1763900000000);
    s->n_ports = 3;
    s->has_round_robin = 1;
}

static void
check_switch(const Scaffold__Admin__Switch *s, uint64_t dpid)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->dpid, dpid);
    CU_ASSERT_STRING_EQUAL(s->name, "lr1");
    CU_ASSERT_EQUAL(s->role, SCAFFOLD__ADMIN__SWITCH_ROLE__SWITCH_ROLE_LABEL);
    CU_ASSERT_EQUAL(s->of_version, 4);
    CU_ASSERT_EQUAL(s->connected, 1);
    CU_ASSERT_EQUAL(s->last_seen_ms, INT64_C(1763900000000));
    CU_ASSERT_EQUAL(s->n_ports, 3);
    CU_ASSERT_EQUAL(s->has_round_robin, 1);
}

static void
fill_link(Scaffold__Admin__Link *l)
{
    scaffold__admin__link__init(l);
    l->src_dpid = 1;
    l->src_port = 2;
    l->dst_dpid = 3;
    l->dst_port = 4;
    l->last_probe_ms = -1;
}

static void
check_link(const Scaffold__Admin__Link *l)
{
    CU_ASSERT_EQUAL(l->src_dpid, 1);
    CU_ASSERT_EQUAL(l->src_port, 2);
    CU_ASSERT_EQUAL(l->dst_dpid, 3);
    CU_ASSERT_EQUAL(l->dst_port, 4);
    CU_ASSERT_EQUAL(l->last_probe_ms, -1);
}

static void
fill_host(Scaffold__Admin__Host *h)
{
    scaffold__admin__host__init(h);
    h->mac = mac_bytes(mac_a);
    h->ss_id = 10;
    h->host_id = 5;
    h->dpid = 2;
    h->port_no = 7;
    h->lease_expiry_ms = 300000;
    h->joined_ms = 1000;
    h->moved_ms = 2000;
    h->name = "h1";
}

static void
check_host(const Scaffold__Admin__Host *h)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT(mac_eq(h->mac, mac_a));
    CU_ASSERT_EQUAL(h->ss_id, 10);
    CU_ASSERT_EQUAL(h->host_id, 5);
    CU_ASSERT_EQUAL(h->dpid, 2);
    CU_ASSERT_EQUAL(h->port_no, 7);
    CU_ASSERT_EQUAL(h->lease_expiry_ms, 300000);
    CU_ASSERT_EQUAL(h->joined_ms, 1000);
    CU_ASSERT_EQUAL(h->moved_ms, 2000);
    CU_ASSERT_STRING_EQUAL(h->name, "h1");
}

static void
fill_instance(Scaffold__Admin__Instance *i)
{
    scaffold__admin__instance__init(i);
    i->object_id = 8080;
    i->flow_id = 0x0a050009u;
    i->host_mac = mac_bytes(mac_a);
    i->bound_ms = 4242;
}

static void
check_instance(const Scaffold__Admin__Instance *i)
{
    CU_ASSERT_EQUAL(i->object_id, 8080);
    CU_ASSERT_EQUAL(i->flow_id, 0x0a050009u);
    CU_ASSERT(mac_eq(i->host_mac, mac_a));
    CU_ASSERT_EQUAL(i->bound_ms, 4242);
}

static void
test_admin_lists(void)
{
    Scaffold__Admin__Response resp = SCAFFOLD__ADMIN__RESPONSE__INIT;
    Scaffold__Admin__Response *o;

    Scaffold__Admin__Switch sw[2], *swp[2] = { &sw[0], &sw[1] };
    fill_switch(&sw[0], 1);
    fill_switch(&sw[1], UINT64_MAX);
    Scaffold__Admin__SwitchList sl = SCAFFOLD__ADMIN__SWITCH_LIST__INIT;
    sl.n_switches = 2;
    sl.switches = swp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCHES;
    resp.switches = &sl;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->switches->n_switches, 2);
    check_switch(o->switches->switches[0], 1);
    check_switch(o->switches->switches[1], UINT64_MAX);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Link lk, *lkp = &lk;
    fill_link(&lk);
    Scaffold__Admin__LinkList ll = SCAFFOLD__ADMIN__LINK_LIST__INIT;
    ll.n_links = 1;
    ll.links = &lkp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_LINKS;
    resp.links = &ll;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->links->n_links, 1);
    check_link(o->links->links[0]);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Host h, *hp = &h;
    fill_host(&h);
    Scaffold__Admin__HostList hl = SCAFFOLD__ADMIN__HOST_LIST__INIT;
    hl.n_hosts = 1;
    hl.hosts = &hp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_HOSTS;
    resp.hosts = &hl;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->hosts->n_hosts, 1);
    check_host(o->hosts->hosts[0]);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Object ob = SCAFFOLD__ADMIN__OBJECT__INIT, *obp = &ob;
    ob.object_id = 8080;
    ob.n_instances = 2;
    ob.name = "web";
    Scaffold__Admin__ObjectList ol = SCAFFOLD__ADMIN__OBJECT_LIST__INIT;
    ol.n_objects = 1;
    ol.objects = &obp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_OBJECTS;
    resp.objects = &ol;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->objects->n_objects, 1);
    CU_ASSERT_EQUAL(o->objects->objects[0]->object_id, 8080);
    CU_ASSERT_EQUAL(o->objects->objects[0]->n_instances, 2);
    CU_ASSERT_STRING_EQUAL(o->objects->objects[0]->name, "web");
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Instance in, *inp = &in;
    fill_instance(&in);
    Scaffold__Admin__InstanceList il = SCAFFOLD__ADMIN__INSTANCE_LIST__INIT;
    il.n_instances = 1;
    il.instances = &inp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_INSTANCES;
    resp.instances = &il;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->instances->n_instances, 1);
    check_instance(o->instances->instances[0]);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Rule ru = SCAFFOLD__ADMIN__RULE__INIT, *rup = &ru;
    ru.table_id = 0;
    ru.priority = 100;
    ru.cookie = UINT64_C(0x5caf);
    ru.match = "udp,nw_dst=10.5.0.0/16";
    ru.actions = "output:3";
    ru.n_packets = 17;
    ru.n_bytes = 1700;
    Scaffold__Admin__RuleList rl = SCAFFOLD__ADMIN__RULE_LIST__INIT;
    rl.n_rules = 1;
    rl.rules = &rup;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_RULES;
    resp.rules = &rl;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL_FATAL(o->rules->n_rules, 1);
    CU_ASSERT_EQUAL(o->rules->rules[0]->priority, 100);
    CU_ASSERT_EQUAL(o->rules->rules[0]->cookie, 0x5caf);
    CU_ASSERT_STRING_EQUAL(o->rules->rules[0]->match,
                           "udp,nw_dst=10.5.0.0/16");
    CU_ASSERT_STRING_EQUAL(o->rules->rules[0]->actions, "output:3");
    CU_ASSERT_EQUAL(o->rules->rules[0]->n_packets, 17);
    CU_ASSERT_EQUAL(o->rules->rules[0]->n_bytes, 1700);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Event ev[3], *evp[3];
    for (int i = 0; i < 3; i++) {
        scaffold__admin__event__init(&ev[i]);
        ev[i].id = (uint64_t) i + 10;
        ev[i].time_ms = i * 1000;
        ev[i].kind = "host.join";
        ev[i].subject = "02:00:00:00:01:0a";
        ev[i].detail = "";
        evp[i] = &ev[i];
    }
    Scaffold__Admin__EventList el = SCAFFOLD__ADMIN__EVENT_LIST__INIT;
    el.n_events = 3;
    el.events = evp;
    el.last_id = 12;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_EVENTS;
    resp.events = &el;
    resp.more = 1;
    o = response_roundtrip(&resp);
    resp.more = 0;
    CU_ASSERT_EQUAL_FATAL(o->events->n_events, 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(o->events->events[i]->id, (uint64_t) i + 10);
        CU_ASSERT_EQUAL(o->events->events[i]->time_ms, i * 1000);
        CU_ASSERT_STRING_EQUAL(o->events->events[i]->kind, "host.join");
        CU_ASSERT_STRING_EQUAL(o->events->events[i]->subject,
                               "02:00:00:00:01:0a");
        CU_ASSERT_STRING_EQUAL(o->events->events[i]->detail, "");
    }
    CU_ASSERT_EQUAL(o->events->last_id, 12);
    scaffold__admin__response__free_unpacked(o, NULL);
}

static void
test_admin_details(void)
{
    Scaffold__Admin__Response resp = SCAFFOLD__ADMIN__RESPONSE__INIT;
    Scaffold__Admin__Response *o;

    Scaffold__Admin__Switch sw;
    fill_switch(&sw, 77);
    Scaffold__Admin__Port pt = SCAFFOLD__ADMIN__PORT__INIT, *ptp = &pt;
    pt.port_no = 0xfffffffeu;
    pt.name = "lr1-eth1";
    pt.mac = mac_bytes(mac_b);
    pt.up = 1;
    Scaffold__Admin__Link lk, *lkp = &lk;
    fill_link(&lk);
    Scaffold__Admin__SwitchDetail sd = SCAFFOLD__ADMIN__SWITCH_DETAIL__INIT;
    sd.sw = &sw;
    sd.n_ports = 1;
    sd.ports = &ptp;
    sd.n_links = 1;
    sd.links = &lkp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_SWITCH_DETAIL;
    resp.switch_detail = &sd;
    o = response_roundtrip(&resp);
    check_switch(o->switch_detail->sw, 77);
    CU_ASSERT_EQUAL_FATAL(o->switch_detail->n_ports, 1);
    CU_ASSERT_EQUAL(o->switch_detail->ports[0]->port_no, 0xfffffffeu);
    CU_ASSERT_STRING_EQUAL(o->switch_detail->ports[0]->name, "lr1-eth1");
    CU_ASSERT(mac_eq(o->switch_detail->ports[0]->mac, mac_b));
    CU_ASSERT_EQUAL(o->switch_detail->ports[0]->up, 1);
    CU_ASSERT_EQUAL_FATAL(o->switch_detail->n_links, 1);
    check_link(o->switch_detail->links[0]);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Host h;
    fill_host(&h);
    Scaffold__Admin__Instance in, *inp = &in;
    fill_instance(&in);
    Scaffold__Admin__HostDetail hd = SCAFFOLD__ADMIN__HOST_DETAIL__INIT;
    hd.host = &h;
    hd.n_instances = 1;
    hd.instances = &inp;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_HOST_DETAIL;
    resp.host_detail = &hd;
    o = response_roundtrip(&resp);
    check_host(o->host_detail->host);
    CU_ASSERT_EQUAL_FATAL(o->host_detail->n_instances, 1);
    check_instance(o->host_detail->instances[0]);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Done dn = SCAFFOLD__ADMIN__DONE__INIT;
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_DONE;
    resp.done = &dn;
    o = response_roundtrip(&resp);
    CU_ASSERT_PTR_NOT_NULL(o->done);
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Status st = SCAFFOLD__ADMIN__STATUS__INIT;
    st.version = "0.1";
    st.epoch = 5;
    st.ss_id = 10;
    st.started_ms = 123;
    st.n_switches = 4;
    st.n_connected = 3;
    st.n_hosts = 6;
    st.n_objects = 2;
    st.n_instances = 3;
    st.db_path = "/var/lib/scaffold/state.db";
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_STATUS;
    resp.status = &st;
    o = response_roundtrip(&resp);
    CU_ASSERT_STRING_EQUAL(o->status->version, "0.1");
    CU_ASSERT_EQUAL(o->status->epoch, 5);
    CU_ASSERT_EQUAL(o->status->ss_id, 10);
    CU_ASSERT_EQUAL(o->status->started_ms, 123);
    CU_ASSERT_EQUAL(o->status->n_switches, 4);
    CU_ASSERT_EQUAL(o->status->n_connected, 3);
    CU_ASSERT_EQUAL(o->status->n_hosts, 6);
    CU_ASSERT_EQUAL(o->status->n_objects, 2);
    CU_ASSERT_EQUAL(o->status->n_instances, 3);
    CU_ASSERT_STRING_EQUAL(o->status->db_path, "/var/lib/scaffold/state.db");
    scaffold__admin__response__free_unpacked(o, NULL);

    Scaffold__Admin__Error er = SCAFFOLD__ADMIN__ERROR__INIT;
    er.code = SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED;
    er.message = "bad token";
    resp.result_case = SCAFFOLD__ADMIN__RESPONSE__RESULT_ERROR;
    resp.error = &er;
    o = response_roundtrip(&resp);
    CU_ASSERT_EQUAL(o->error->code,
                    SCAFFOLD__ADMIN__ERROR_CODE__ERROR_CODE_UNAUTHORIZED);
    CU_ASSERT_STRING_EQUAL(o->error->message, "bad token");
    scaffold__admin__response__free_unpacked(o, NULL);
}

/* ---- malformed input ---------------------------------------------------- */

struct vector {
    const char *what;
    size_t len;
    const uint8_t *bytes;
};

#define V(WHAT, ...)                                                       \
    { WHAT, sizeof((const uint8_t[]) { __VA_ARGS__ }),                     \
      (const uint8_t[]) { __VA_ARGS__ } }

static const struct vector bad_control[] = {
    V("varint field without its value", 0x08),
    V("overlong varint (11 bytes)", 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
    V("length past the end", 0x52, 0x05, 0x08),
    V("length without its bytes", 0x52),
    V("field number 0", 0x00, 0x00),
    V("wrong wire type for a message field (varint)", 0x50, 0x01),
    V("wrong wire type for an enum field (length)", 0x0a, 0x01, 0x01),
    V("nested: mac length past the end", 0x52, 0x04, 0x12, 0x06, 0x02,
      0x00),
    V("nested: truncated varint inside a body", 0x62, 0x02, 0x08, 0x80),
    V("end-group wire type without a start", 0x0c),
    V("reserved wire type 6", 0x0e, 0x00),
    V("reserved wire type 7", 0x0f, 0x00),
    V("fixed64 field cut short", 0x79, 0x01, 0x02),
    V("tag varint cut short", 0x80),
};

static void
test_malformed_control(void)
{
    for (size_t i = 0; i < sizeof bad_control / sizeof bad_control[0]; i++) {
        const struct vector *v = &bad_control[i];
        Scaffold__Control__Envelope *o =
            scaffold__control__envelope__unpack(NULL, v->len, v->bytes);
        if (o) {
            fprintf(stderr, "accepted: %s\n", v->what);
            scaffold__control__envelope__free_unpacked(o, NULL);
        }
        CU_ASSERT_PTR_NULL(o);
    }
}

static void
test_malformed_admin(void)
{
    for (size_t i = 0; i < sizeof bad_control / sizeof bad_control[0]; i++) {
        const struct vector *v = &bad_control[i];
        Scaffold__Admin__Request *o =
            scaffold__admin__request__unpack(NULL, v->len, v->bytes);
        if (o) {
            fprintf(stderr, "admin accepted: %s\n", v->what);
            scaffold__admin__request__free_unpacked(o, NULL);
        }
        CU_ASSERT_PTR_NULL(o);
    }
}

/* Every truncation of a packed JoinRequest envelope that does not end on a
 * field boundary is rejected. */
static void
test_truncations(void)
{
    Scaffold__Control__Envelope env = SCAFFOLD__CONTROL__ENVELOPE__INIT;
    Scaffold__Control__JoinRequest m = SCAFFOLD__CONTROL__JOIN_REQUEST__INIT;

    m.id = UINT64_C(0x123456789);
    m.mac = mac_bytes(mac_a);
    m.name = "host-with-a-name";
    env.version = SCAFFOLD__CONTROL__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
    env.body_case = SCAFFOLD__CONTROL__ENVELOPE__BODY_JOIN;
    env.join = &m;

    uint8_t buf[128];
    size_t len = scaffold__control__envelope__pack(&env, buf);
    CU_ASSERT_FATAL(len > 4 && len < sizeof buf);
    /* buf = 08 01 (version) 52 NN (join, NN bytes) ... : every cut after
     * the 2-byte version field and before the end lands inside the join
     * body. */
    CU_ASSERT_EQUAL(buf[2], 0x52);
    for (size_t cut = 3; cut < len; cut++) {
        Scaffold__Control__Envelope *o =
            scaffold__control__envelope__unpack(NULL, cut, buf);
        CU_ASSERT_PTR_NULL(o);
        if (o) {
            scaffold__control__envelope__free_unpacked(o, NULL);
        }
    }
    Scaffold__Control__Envelope *o =
        scaffold__control__envelope__unpack(NULL, len, buf);
    CU_ASSERT_PTR_NOT_NULL(o);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

/* Fields this version does not know are skipped, not fatal (forward
 * compatibility); an envelope whose only body is unknown therefore decodes
 * with no body set, which receivers reject as ERROR_CODE_UNSUPPORTED. */
static void
test_unknown_fields(void)
{
    const uint8_t unknown_body[] = {
        0x08, 0x01,                     /* version 1 */
        0xa2, 0x06, 0x02, 0x08, 0x05,   /* field 100, length 2 */
    };
    Scaffold__Control__Envelope *o =
        scaffold__control__envelope__unpack(NULL, sizeof unknown_body,
                                            unknown_body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY__NOT_SET);
    CU_ASSERT_EQUAL(o->base.n_unknown_fields, 1);
    scaffold__control__envelope__free_unpacked(o, NULL);

    /* A body of the wrong message type under a known tag is a nested
     * decode: here field 2 of JoinRequest (mac, bytes) arrives as a
     * varint, which is rejected. */
    const uint8_t wrong_nested[] = { 0x52, 0x02, 0x10, 0x01 };
    o = scaffold__control__envelope__unpack(NULL, sizeof wrong_nested,
                                            wrong_nested);
    CU_ASSERT_PTR_NULL(o);
    if (o) {
        scaffold__control__envelope__free_unpacked(o, NULL);
    }

    /* Two bodies on the wire: the last one wins (protobuf oneof rule). */
    const uint8_t two_bodies[] = {
        0x62, 0x02, 0x08, 0x07,         /* bind { id: 7 } */
        0x6a, 0x02, 0x08, 0x09,         /* unbind { id: 9 } */
    };
    o = scaffold__control__envelope__unpack(NULL, sizeof two_bodies,
                                            two_bodies);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(o->body_case, SCAFFOLD__CONTROL__ENVELOPE__BODY_UNBIND);
    CU_ASSERT_EQUAL(o->unbind->id, 9);
    scaffold__control__envelope__free_unpacked(o, NULL);
}

static CU_TestInfo control_tests[] = {
    { "JoinRequest", test_join_request },
    { "JoinReply", test_join_reply },
    { "BindRequest and UnbindRequest", test_bind_unbind },
    { "LeaveRequest and Keepalive", test_leave_keepalive },
    { "Reply and Error", test_reply_error },
    { "empty envelope", test_empty_envelope },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo admin_tests[] = {
    { "every Request op", test_admin_requests },
    { "list responses", test_admin_lists },
    { "detail, done, status, error responses", test_admin_details },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo malformed_tests[] = {
    { "malformed control envelopes", test_malformed_control },
    { "malformed admin requests", test_malformed_admin },
    { "truncated envelopes", test_truncations },
    { "unknown fields and oneof rules", test_unknown_fields },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "control", NULL, NULL, NULL, NULL, control_tests },
    { "admin", NULL, NULL, NULL, NULL, admin_tests },
    { "malformed", NULL, NULL, NULL, NULL, malformed_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("protobuf", suites);
}
