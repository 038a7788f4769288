#!/usr/bin/env bash
# scaffold-controller: in-band join and move (proto/control.proto).
#
# s1 (label, OpenFlow 1.3) - s2 (label, 1.3) - s3 (object router, 1.5).
# Host h1 sits behind s1 port 5 and has a second interface, with the same
# MAC, behind s2 port 7; host h2 sits behind s2 port 6.  A small Python
# agent sends JoinRequests as SCAFFOLD unbound datagrams to objectID 1 and
# reads the JoinReply the controller sends back as a packet-out.
#
# Checks: both hosts get hostIDs, a retried request gets the same answer,
# each label router gets the prefix and anti-spoofing rules, a frame from h1
# reaches h2, and a join of h1 from s2 is a move: new hostID, the old
# prefix's rules gone from every switch, the new ones in, host.move logged.
#
# A JoinReply that gave a new address means "you can send from it"
# (docs/protocol.md 5.5): s1 and s2 reach the controller through
# ofdelay.py, a relay that, while a flag file exists, holds what the
# controller sends (flow mods, barriers) but lets packet-outs (the reply)
# through at once, as a switch may reorder messages between barriers.  At
# each such reply the host's anti-spoofing rule (and, for a new block, the
# other label router's route to it) is already there: dump-flows right
# after the reply, without waiting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_join

ctl_vars j
ctl_switches
ctl_chain
ctl_hosts_moving

# The controller as ctl_start starts it, s1 and s2 behind a relay each
# (held while $HOLD1, $HOLD2 exist), s3 direct.
APORT=$((PORT + 1))
HOLD1=$SF_TMP/hold1
HOLD2=$SF_TMP/hold2
for i in 1 2; do
    hold=HOLD$i
    $PY "$SF_TOP/tests/system/lib/ofdelay.py" $((PORT + 1 + i)) "$PORT" "${!hold}" 0.5 \
        >"$SF_TMP/ofdelay$i.log" 2>&1 &
    sf_on_exit "kill $!"
done
$SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" --state-dir "$STATE" \
    --ssid 1 --role 1=label --role 2=label --role 3=object \
    --admin-tcp "tcp:127.0.0.1:$APORT" --admin-token "tok$SF_ID" \
    --probe-interval 200 --link-timeout 1000 >"$LOG" 2>&1 &
CPID=$!
sf_on_exit "kill $CPID"
for s in "$S1:$((PORT + 2))" "$S2:$((PORT + 3))" "$S3:$PORT"; do
    sf_ovs_vsctl "$OVS" set-controller "${s%%:*}" "tcp:127.0.0.1:${s##*:}" \
        -- set controller "${s%%:*}" max_backoff=1000 || sf_die "set-controller"
done
status_has() { grep -q -- "$1" "$STATE/status"; }
check "links discovered" sf_wait 15 status_has "^links 4$"

# The agent: JoinRequest out, JoinReply back, both hand-encoded protobuf.
cat >"$SF_TMP/agent.py" <<'EOF'
import os, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.environ["SF_TOP"], "tests/system/lib"))
from sfwire import varint, field, rvarint, parse, csum

def frame(mac, payload):
    sfp = bytes([1, 0x40, 5, 0]) + bytes(16)          # DATA, unbound
    body = sfp + payload
    udp = struct.pack("!HHHH", 1, 1, 8 + len(body), 0) + body
    src = dst = bytes(4)                               # 0.0.0 before join
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000,
                     64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp

ifname, mac_s, req_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
mac = bytes.fromhex(mac_s.replace(":", ""))
join = field(1, 0, req_id) + field(2, 2, mac) + field(6, 2, b"agent")
env = field(1, 0, 1) + field(10, 2, join)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.settimeout(0.2)
for attempt in range(10):                              # retried, same id
    s.send(frame(mac, env))
    end = time.time() + 1
    while time.time() < end:
        try:
            f = s.recv(4096)
        except socket.timeout:
            continue
        if len(f) < 62 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        if f[34:38] != b"\x00\x01\x00\x01" or f[26] == 0 or f[27] != 255:
            continue                                   # not from ss.255.0
        e = parse(f[62:])
        if 11 in e:
            r = parse(e[11])
            dst = ".".join(str(x) for x in f[30:34])
            print(r.get(2, 0), r.get(3, 0), r.get(10, 0), dst,
                  f[0:6].hex(":"), f[6:12].hex(":"))
            sys.exit(0)
        if 17 in e:
            print("error", parse(e[17]))
            sys.exit(1)
print("timeout")
sys.exit(1)
EOF
agent() { ip netns exec "$1" $PY "$SF_TMP/agent.py" "${@:2}"; }
flows() { sf_ovs_ofctl "$OVS" -O OpenFlow13 --no-stats dump-flows "$1"; }
has_flow() { flows "$1" | grep -q -- "$2"; }
no_flow() { ! has_flow "$@"; }

touch "$HOLD1" "$HOLD2"
r=$(agent "$NS1" "e1$SF_ID" "$MAC1" 101)
check "at h1's JoinReply (s1, s2 held), s1 has h1's anti-spoofing rule" \
    has_flow "$S1" "priority=50000,ip,in_port=5,nw_src=1.1.0.0/16 actions=goto_table:1"
check "at h1's JoinReply (new block), s2 routes s1's block 1.0/12" \
    has_flow "$S2" "priority=39000,ip,nw_dst=1.0.0.0/12 actions=output:1"
sf_log "h1 join: $r"
check_eq "h1 joins as 1.1 (reply to 1.1.0.0 from the gateway MAC)" \
    "1 1 0 1.1.0.0 $MAC1 02:5c:00:00:00:01" "$r"
r=$(agent "$NS2" "e2$SF_ID" "$MAC2" 201)
check "at h2's JoinReply (s1, s2 held), s2 has h2's anti-spoofing rule" \
    has_flow "$S2" "priority=50000,ip,in_port=6,nw_src=1.16.0.0/16 actions=goto_table:1"
check "at h2's JoinReply (new block), s1 routes s2's block 1.16/12" \
    has_flow "$S1" "priority=39000,ip,nw_dst=1.16.0.0/12 actions=output:1"
rm -f "$HOLD1" "$HOLD2"
# HostIDs come from per-router blocks of 16 (docs/protocol.md): s1 got
# 1.0/12 with h1's join, s2 gets 1.16/12 with h2's.
check_eq "h2 joins as 1.16 (s2's block)" \
    "1 16 0 1.16.0.0 $MAC2 02:5c:00:00:00:01" "$r"
r=$(agent "$NS1" "e1$SF_ID" "$MAC1" 101)
check_eq "a retried join gets the same answer" \
    "1 1 0 1.1.0.0 $MAC1 02:5c:00:00:00:01" "$r"
q() { sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" "$1"; }
check_eq "db: two host.join events" 2 \
    "$(q "select count(*) from events where kind = 'host.join'")"
check_eq "db: blocks 1.0/16 hostIDs at s1, 1.16 at s2" "1|0|16|1 1|16|16|2" \
    "$(q "select ss_id, first_host, size, dpid from blocks order by 1, 2" | tr '\n' ' ' | sed 's/ $//')"

check "s1: last hop to h1 (1.1/16 -> port 5)" sf_wait 5 has_flow "$S1" \
    "nw_dst=1.1.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC1->eth_dst,output:5"
check "s1: anti-spoofing for h1 on port 5" sf_wait 5 has_flow "$S1" \
    "priority=50000,ip,in_port=5,nw_src=1.1.0.0/16 actions=goto_table:1"
check "s2: s1's block (h1) toward s1, one /12" sf_wait 5 has_flow "$S2" \
    "priority=39000,ip,nw_dst=1.0.0.0/12 actions=output:1"
check "s2: no /16 of h1 (its block routes it)" no_flow "$S2" \
    "nw_dst=1.1.0.0/16"
check "s2: unresolved 1.0/16 above the block route" has_flow "$S2" \
    "priority=40000,ip,nw_dst=1.0.0.0/16 actions=output:2"
check "s2: last hop to h2 (port 6)" sf_wait 5 has_flow "$S2" \
    "nw_dst=1.16.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC2->eth_dst,output:6"

# The controller logs, per switch, the time from a change to the barrier
# reply that confirms its rules (the issue's "join to rules-in").
rules_in=$(grep -A5 'join 1.1 (new)' "$LOG" | grep -o 'rules in (barrier) [0-9.]* ms after' | sed 's/[^0-9.]//g' | tr '\n' ' ')
sf_log "h1 join to rules-in per switch (ms): $rules_in"
check "join to rules-in measured" test -n "$rules_in"

# h1 re-joins from s2 port 7: a move.
S1_BEFORE=$(flows "$S1" | sort)
touch "$HOLD2"
r=$(agent "$NS1" "f1$SF_ID" "$MAC1" 102)
check "at h1's JoinReply after the move (s2 held), s2 has its \
anti-spoofing rule on port 7" has_flow "$S2" \
    "priority=50000,ip,in_port=7,nw_src=1.17.0.0/16 actions=goto_table:1"
rm -f "$HOLD2"
sf_log "h1 move: $r"
check_eq "h1 moved: new hostID 17 from s2's block, moved flag set" \
    "1 17 1 1.17.0.0 $MAC1 02:5c:00:00:00:01" "$r"
check "s1: old prefix 1.1/16 removed" sf_wait 5 no_flow "$S1" "1.1.0.0/16"
check "s2: last hop to h1 on port 7" sf_wait 5 has_flow "$S2" \
    "nw_dst=1.17.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC1->eth_dst,output:7"
check "s2: anti-spoofing for h1 on port 7" has_flow "$S2" \
    "priority=50000,ip,in_port=7,nw_src=1.17.0.0/16 actions=goto_table:1"
check "s1: h1's new address routed by s2's block 1.16/12" has_flow "$S1" \
    "priority=39000,ip,nw_dst=1.16.0.0/12 actions=output:1"
# The move touched s1 (h1's three rules gone) and nothing else there.
S1_AFTER=$(flows "$S1" | sort)
check_eq "s1: exactly h1's three rules removed, none added" "3 0" \
    "$(comm -23 <(echo "$S1_BEFORE") <(echo "$S1_AFTER") | wc -l) $(comm -13 <(echo "$S1_BEFORE") <(echo "$S1_AFTER") | wc -l)"
check "s1: no anti-spoofing left on port 5" no_flow "$S1" "in_port=5"
check_eq "db: one host.move event" 1 \
    "$(q "select count(*) from events where kind = 'host.move'")"
check_eq "db: h1 is 1.17 at s2 port 7" "17|2|7" \
    "$(q "select host_id, dpid, port_no from hosts where hex(mac) = upper('$(tr -d : <<<"$MAC1")')")"

# The admin RPC (controller/rpc.c) served by the daemon, read with sfctl.
SFCTL=$SF_BIN/sfctl
if [ -x "$SFCTL" ]; then
    sfc() { "$SFCTL" --state-dir "$STATE" "$@"; }
    check "admin socket is mode 0600" \
        test "$(stat -c %a "$STATE/admin.sock")" = 600
    check "sfctl hosts lists h1 as 1.17" eval 'sfc hosts | grep -qi "$MAC1.*1\.17"'
    check "sfctl switches lists three switches" \
        eval '[ "$(sfc --json switches | grep -o "\"dpid\"" | wc -l)" -eq 3 ]'
    check "sfctl rules 2 shows the last hop to h1" \
        eval 'sfc rules 2 | grep -q "nw_dst=1.17.0.0/16.*output:7"'
    check "sfctl status answers" eval 'sfc status | grep -qi "scaffold-controller 0.1"'
    check "sfctl status lists the served ssIDs and the block size" eval \
        'sfc status | grep -q "^ssIDs: *1$" && sfc status | grep -q "^hostID block: *16$"'
    # h1 moved to s2 (1.17, in s2's block 1.16/12); s1's block 1.0/12 is empty.
    check "sfctl blocks: s2 holds 1.16.0.0/12 with 2 hosts" eval \
        'sfc blocks | grep -Eq "^1 +16 +16 +1\.16\.0\.0/12 +0000000000000002 +2 "'
    check "sfctl --json blocks: every block of ssID 1, size 16" \
        $PY -c 'import json, sys
b = json.loads(sys.stdin.read())
assert b and all(x["ss_id"] == 1 and x["size"] == 16 for x in b), b' \
        < <(sfc --json blocks)
    check "sfctl over TCP with the token" eval \
        '"$SFCTL" --connect "tcp:127.0.0.1:$APORT" --token "tok$SF_ID" status >/dev/null'
    check "sfctl over TCP with a wrong token fails" eval \
        '! "$SFCTL" --connect "tcp:127.0.0.1:$APORT" --token wrong status >/dev/null 2>&1'
    check "sfctl evict h2" eval 'sfc evict "$MAC2" >/dev/null'
    check "s2: h2's prefix removed after evict" sf_wait 5 no_flow "$S2" \
        "1.16.0.0/16"
    check "sfctl set-role 1 object" eval 'sfc set-role 1 object >/dev/null'
    # An object router routes resolved packets back out of their ingress
    # port (IN_PORT rules, per block) and sends no unresolved traffic
    # anywhere.
    check "s1 (now an object router) gets the IN_PORT route to s2's block" \
        sf_wait 5 has_flow "$S1" \
        "priority=39001,ip,in_port=1,nw_dst=1.16.0.0/12 actions=IN_PORT"
    check "s1 (now an object router) loses its unresolved route" \
        sf_wait 5 no_flow "$S1" "nw_dst=1.0.0.0/16"
else
    not_ok "sfctl not built"
fi

kill -TERM "$CPID"
wait "$CPID"
check_eq "controller exits 0" 0 "$?"
if [ "$SF_FAIL" -gt 0 ]; then
    sed 's/^/# controller: /' "$LOG" | tail -40
fi
sf_done
