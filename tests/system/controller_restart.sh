#!/usr/bin/env bash
# scaffold-controller: kill -9, restart from the sqlite state, label rules.
#
# s1 (label, OpenFlow 1.3) - s2 (label, 1.3) - s3 (object router, 1.5) on
# veth pairs; host h1 behind s1 port 5 and h2 behind s2 port 6, each in its
# own namespace.  The first controller discovers the links and is killed
# with SIGKILL; two joined hosts are then written into its database (the
# join handler does not exist yet) together with a stale rule carrying a
# SCAFFOLD cookie and a foreign rule.  The restarted controller must
# install exactly the expected rule set on every switch (prefix routes,
# anti-spoofing, unresolved toward the object router), remove the stale
# rule, keep the foreign one, and the data path must carry a SCAFFOLD frame
# from h1 to h2 (Ethernet rewritten on the last hop) while dropping a
# forged source.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_restart

ctl_vars r
ctl_switches
ctl_chain

# Hosts: veth pairs with one end in a namespace.
NS1=$(sf_netns h1) || sf_die "netns h1"
NS2=$(sf_netns h2) || sf_die "netns h2"
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth h1"
sf_veth "p2$SF_ID" "e2$SF_ID" || sf_die "veth h2"
ip link set "e1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "e1$SF_ID" up
ip link set "e2$SF_ID" netns "$NS2" && ip -n "$NS2" link set "e2$SF_ID" up
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
sf_port_add "$OVS" "$S2" "p2$SF_ID" 6 || sf_die "port s2:6"
MAC1=$(ip netns exec "$NS1" cat "/sys/class/net/e1$SF_ID/address")
MAC2=$(ip netns exec "$NS2" cat "/sys/class/net/e2$SF_ID/address")

start_controller() {   # start_controller LOG
    $SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" \
        --state-dir "$STATE" --ssid 1 --role 3=object \
        --role 0000000000000001=label --role 2=label \
        --probe-interval 200 --link-timeout 1000 >"$1" 2>&1 &
    CPID=$!
    sf_on_exit "kill $CPID"
}

connected() {
    [ "$(sf_ovs_vsctl "$OVS" get controller "$1" is_connected)" = true ]
}
status_has() { grep -q -- "$1" "$STATE/status"; }
flows() {   # flows BRIDGE VERSION: our flows, without statistics
    sf_ovs_ofctl "$OVS" -O "$2" --no-stats dump-flows "$1"
}

start_controller "$SF_TMP/ctl1.log"
for s in "$S1" "$S2" "$S3"; do
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
        -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
done
for s in "$S1" "$S2" "$S3"; do
    check "$s connects" sf_wait 10 connected "$s"
done
check "links discovered" sf_wait 10 status_has "^links 4$"
check "object router role applied" \
    sf_wait 5 status_has "switch 0000000000000003 OF1.5 role=object"

kill -9 "$CPID"
wait "$CPID" 2>/dev/null
ok "first controller killed with SIGKILL"

# What the join handler will write: two hosts of ssID 1.
sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" \
    "insert into hosts (mac, ss_id, host_id, dpid, port_no) values
     (x'$(tr -d : <<<"$MAC1")', 1, 1, 1, 5),
     (x'$(tr -d : <<<"$MAC2")', 1, 2, 2, 6);" || sf_die "insert hosts"
# And a hostID block of s2 (16 hostIDs from 1.16) with a host in it: the
# restarted controller routes the block, not the host, on s1.
sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" \
    "insert into blocks (ss_id, first_host, size, dpid) values (1, 16, 16, 2);
     insert into hosts (mac, ss_id, host_id, dpid, port_no) values
     (x'02000000aa17', 1, 17, 2, 8);" || sf_die "insert block"
# A stale SCAFFOLD rule and somebody else's rule.
sf_ovs_ofctl "$OVS" -O OpenFlow13 add-flow "$S1" \
    "cookie=0x5c10000000000163,table=1,priority=40000,ip,nw_dst=1.99.0.0/16,actions=output:1"
sf_ovs_ofctl "$OVS" -O OpenFlow13 add-flow "$S1" \
    "cookie=0x1234,table=3,priority=7,actions=drop"

start_controller "$SF_TMP/ctl2.log"
LOG=$SF_TMP/ctl2.log
for s in "$S1" "$S2" "$S3"; do
    check "$s reconnects" sf_wait 15 connected "$s"
done
check "links rediscovered" sf_wait 10 status_has "^links 4$"
provisioned() {
    [ "$(grep -c 'provisioned=yes' "$STATE/status")" = 3 ]
}
check "all three provisioned" sf_wait 10 provisioned
# Rules follow the links: wait for s1's route toward s2's host.
check "s1 routes h2's prefix toward s2" sf_wait 10 eval \
    'flows "$S1" OpenFlow13 | grep -q "cookie=0x5c10000000000102, table=1, priority=40000,ip,nw_dst=1.2.0.0/16 actions=output:1"'

# Stale rules go once the topology has settled (link timeout): until then
# a rule not wanted yet may be a route that discovery is about to bring
# back.
check "s1: stale SCAFFOLD rule removed once the topology settled" \
    sf_wait 10 eval '! flows "$S1" OpenFlow13 | grep -q 1.99.0.0'
f1=$(flows "$S1" OpenFlow13)
f2=$(flows "$S2" OpenFlow13)
f3=$(flows "$S3" OpenFlow15)
check "s1: last hop to h1 rewrites Ethernet and outputs to port 5" \
    grep -q "cookie=0x5c10000000000101, table=1, priority=40000,ip,nw_dst=1.1.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC1->eth_dst,output:5" <<<"$f1"
check "s1: s2's block 1.16/12 from the store routed toward s2" \
    grep -q "cookie=0x5c130000000c0110, table=1, priority=39000,ip,nw_dst=1.16.0.0/12 actions=output:1" <<<"$f1"
check "s1: no /16 of the host in that block" eval '! grep -q "nw_dst=1.17.0.0/16" <<<"$f1"'
check "s2: last hop to the host in its block (port 8)" \
    grep -q "nw_dst=1.17.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:02:00:00:00:aa:17->eth_dst,output:8" <<<"$f2"
check "s1: anti-spoofing allows h1's prefix on port 5" \
    grep -q "cookie=0x5c11000000000101, priority=50000,ip,in_port=5,nw_src=1.1.0.0/16 actions=goto_table:1" <<<"$f1"
check "s1: anti-spoofing drops the rest of port 5" \
    grep -q "cookie=0x5c11000000000101, priority=49000,in_port=5 actions=drop" <<<"$f1"
check "s1: unresolved toward the object router (via s2)" \
    grep -q "cookie=0x5c12000000000001, table=1, priority=40000,ip,nw_dst=1.0.0.0/16 actions=output:1" <<<"$f1"
check "s2: unresolved toward the object router (port 2)" \
    grep -q "cookie=0x5c12000000000001, table=1, .*nw_dst=1.0.0.0/16 actions=output:2" <<<"$f2"
check "s2: last hop to h2" \
    grep -q "nw_dst=1.2.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC2->eth_dst,output:6" <<<"$f2"
check "s1: stale SCAFFOLD rule removed" bash -c "! grep -q 1.99.0.0 <<<'$f1'"
check "s1: foreign rule kept" grep -q "cookie=0x1234, table=3" <<<"$f1"
check_eq "s1: exactly 11 SCAFFOLD rules (no duplicates; 1 block route)" 11 \
    "$(grep -c 'cookie=0x5c' <<<"$f1")"
check_eq "s2: exactly 14 SCAFFOLD rules (3 of the host in its block)" 14 \
    "$(grep -c 'cookie=0x5c' <<<"$f2")"
# The object router: 4 base rules, 1 transit, and per host outside a
# block and per block a route plus its IN_PORT twin (no instances bound:
# no groups).
check_eq "s3 (object router): 4 base + 1 transit + 3x2 routes" 11 \
    "$(grep -c 'cookie=0x5c' <<<"$f3")"

# Data path: a SCAFFOLD-addressed UDP frame from h1 (1.1.0.5) to h2's
# prefix (1.2.0.7) arrives at h2 with h2's MAC as destination; the same
# frame with a forged source (1.3.0.5) does not.
cat >"$SF_TMP/frames.py" <<'EOF'
import socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def frame(src_mac, src_ip, dst_ip, tag):
    payload = b"SCAFFOLD-TEST-" + tag
    udp = struct.pack("!HHHH", 40000, 40001, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17,
                     0, socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    gw = bytes.fromhex("025c00000001")
    return gw + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00" + ip + udp

mode, ifname = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
if mode == "send":
    mac, src, dst, tag = sys.argv[3:7]
    for _ in range(5):
        s.send(frame(mac, src, dst, tag.encode()))
        time.sleep(0.05)
else:
    open(sys.argv[4], "w").close()      # bound: the sender may start
    s.settimeout(0.2)
    end = time.time() + float(sys.argv[3])
    seen = set()
    while time.time() < end:
        try:
            f = s.recv(2048)
        except socket.timeout:
            continue
        i = f.find(b"SCAFFOLD-TEST-")
        if i >= 0:
            seen.add("%s %s" % (f[0:6].hex(":"), f[i + 14:i + 20].decode()))
    print(" ".join(sorted(seen)))
EOF
ip netns exec "$NS2" $PY "$SF_TMP/frames.py" recv "e2$SF_ID" 3 \
    "$SF_TMP/recv.ready" >"$SF_TMP/recv.txt" &
RPID=$!
sf_wait 5 test -f "$SF_TMP/recv.ready" || sf_die "receiver did not start"
ip netns exec "$NS1" $PY "$SF_TMP/frames.py" send "e1$SF_ID" "$MAC1" \
    1.1.0.5 1.2.0.7 good
ip netns exec "$NS1" $PY "$SF_TMP/frames.py" send "e1$SF_ID" "$MAC1" \
    1.3.0.5 1.2.0.7 forged
wait "$RPID"
got=$(cat "$SF_TMP/recv.txt")
sf_log "h2 received: $got"
check_eq "h2 receives the good frame, Ethernet rewritten, not the forged" \
    "$MAC2 good" "$got"
check "s1 counted the forged frames in anti-spoofing drop" eval \
    'sf_ovs_ofctl "$OVS" -O OpenFlow13 dump-flows "$S1" | grep "priority=49000,in_port=5" | grep -qv "n_packets=0,"'

kill -TERM "$CPID"
wait "$CPID"
check_eq "controller exits 0" 0 "$?"
if [ "$SF_FAIL" -gt 0 ]; then
    sed 's/^/# controller: /' "$LOG" | tail -40
fi
sf_done
