#!/usr/bin/env bash
# scaffold-controller: object resolution on the object router (issue 4
# item 6), with round-robin select groups and with the controller fallback.
#
#   h1 (client)  -- s1:5      s1 (label, OF1.3) :2 --- :2 s2 (label, OF1.3)
#   h2 (2 inst.) -- s1:6      s1:1 --- s3:1   s2:1 --- s3:2   s3 = object
#   h3 (1 inst.) -- s2:5                                      router (OF1.5)
#
# Three hosts join in band (a Python agent sends JoinRequest/BindRequest/
# UnbindRequest as SCAFFOLD unbound datagrams), bind three instances of
# object 4242 (h2 sockIDs 10 and 11, h3 sockID 20), and h1 sends SYNs to
# the unresolved 1.0.0.0:4242, one new flow each, which a raw receiver on
# each instance host logs.
#
# Part 1, s3 on the patched ovs-vswitchd: dump-groups shows the group with
# selection_method=round_robin and 3 buckets, the SYNs take the instances
# in turn (3/3/3, period 3), an unbind removes exactly one bucket and the
# turn continues over the other two.  Resolved SYNs to h2 leave s3 by the
# port they came in on (the IN_PORT route).
#
# Part 2, s3 on Debian's stock ovs-vswitchd in a namespace of its own
# (a userspace datapath owns the "ovs-netdev" tap of its namespace), joined
# to s1 and s2 by the same veth pairs and to a fresh controller by a veth
# control link: the controller logs the missing extension, installs no
# group, sends unresolved SYNs to itself and resolves them round robin
# (packet-out + an idle_timeout=10 exact 5-tuple flow each).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_object

CTL=${SF_CTL:-$SF_BIN/scaffold-controller}
PY=/usr/bin/python3
[ -x "$CTL" ] || sf_die "build/bin/scaffold-controller not built"
[ -x /usr/sbin/ovs-vswitchd ] || sf_die "Debian's ovs-vswitchd missing"

OVS=$SF_TMP/ovs
SOVS=$SF_TMP/stock
PORT=$((20000 + RANDOM % 20000))
PPORT=$((PORT + 2))             # s3's way to the controller (ofdelay.py)
OBJ=4242
S1=o1$SF_ID
S2=o2$SF_ID
S3=o3$SF_ID
OF15="-O OpenFlow15"

# --- hosts -------------------------------------------------------------------
declare -A NS IF MAC
for h in 1 2 3; do
    NS[$h]=$(sf_netns "h$h") || sf_die "netns h$h"
    sf_veth "p$h$SF_ID" "e$h$SF_ID" || sf_die "veth h$h"
    ip link set "e$h$SF_ID" netns "${NS[$h]}" || sf_die "move e$h"
    ip netns exec "${NS[$h]}" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "${NS[$h]}" link set "e$h$SF_ID" up
    IF[$h]=e$h$SF_ID
    MAC[$h]=$(ip netns exec "${NS[$h]}" cat "/sys/class/net/e$h$SF_ID/address")
done
# h3's second interface, same MAC, behind s1 port 7: where h3 moves to.
sf_veth "q3$SF_ID" "f3$SF_ID" || sf_die "veth h3 second"
ip link set "f3$SF_ID" netns "${NS[3]}" || sf_die "move f3"
ip -n "${NS[3]}" link set "f3$SF_ID" address "${MAC[3]}"
ip -n "${NS[3]}" link set "f3$SF_ID" up

# --- switches: s1, s2 (and s3 in part 1) on the patched OVS --------------------
ctl_switches "private patched OVS"
sf_veth "a1$SF_ID" "a2$SF_ID" || sf_die "veth s1-s2"
sf_veth "b1$SF_ID" "b3$SF_ID" || sf_die "veth s1-s3"
sf_veth "c2$SF_ID" "c3$SF_ID" || sf_die "veth s2-s3"
sf_port_add "$OVS" "$S1" "a1$SF_ID" 2 || sf_die "port s1:2"
sf_port_add "$OVS" "$S2" "a2$SF_ID" 2 || sf_die "port s2:2"
sf_port_add "$OVS" "$S1" "b1$SF_ID" 1 || sf_die "port s1:1"
sf_port_add "$OVS" "$S3" "b3$SF_ID" 1 || sf_die "port s3:1"
sf_port_add "$OVS" "$S2" "c2$SF_ID" 1 || sf_die "port s2:1"
sf_port_add "$OVS" "$S3" "c3$SF_ID" 2 || sf_die "port s3:2"
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
sf_port_add "$OVS" "$S1" "p2$SF_ID" 6 || sf_die "port s1:6"
sf_port_add "$OVS" "$S2" "p3$SF_ID" 5 || sf_die "port s2:5"
sf_port_add "$OVS" "$S1" "q3$SF_ID" 7 || sf_die "port s1:7"

# --- helpers -------------------------------------------------------------------
# s3 reaches the controller through tests/system/lib/ofdelay.py (in part
# 1): while the file $HOLD exists, what the controller sends s3 (group mods,
# barrier requests) is held before it goes on, so that "is the bucket in s3
# when the bind reply arrives" does not depend on how fast the test looks: a
# controller that answered before s3 confirmed the group change is caught
# every time.
cat >"$SF_TMP/sf.py" <<'EOF'
import os, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.environ["SF_TOP"], "tests/system/lib"))
from sfwire import varint, field, rvarint, parse, csum

def ip4(s):
    return bytes(int(x) for x in s.split("."))

def frame(mac, src, dst, sport, dport, sfp, payload=b""):
    body = sfp + payload
    udp = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000,
                     64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\x5c\x00\x00\x00\x01" + mac + b"\x08\x00" + ip + udp

def control(ifname, mac, src, body):
    """Sends a control Envelope until a reply from ss.255.0 comes back
    (the first time twice in a row, a retransmission, when SF_DUP is set
    in the environment)."""
    env = field(1, 0, 1) + body
    sfp = bytes([1, 0x40, 5, 0]) + bytes(16)       # DATA, unbound
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.settimeout(0.2)
    for attempt in range(10):                      # retried, same id
        s.send(frame(mac, src, bytes(4), 1, 1, sfp, env))
        if attempt == 0 and os.environ.get("SF_DUP"):
            s.send(frame(mac, src, bytes(4), 1, 1, sfp, env))
        end = time.time() + 1
        while time.time() < end:
            try:
                f = s.recv(4096)
            except socket.timeout:
                continue
            if len(f) < 62 or f[12:14] != b"\x08\x00" or f[23] != 17:
                continue
            if f[34:38] != b"\x00\x01\x00\x01" or f[27] != 255:
                continue
            return parse(f[62:])
    return None

def main():
    cmd, ifname, mac_s = sys.argv[1], sys.argv[2], sys.argv[3]
    mac = bytes.fromhex(mac_s.replace(":", ""))
    if cmd == "join":
        rid = int(sys.argv[4])
        join = field(1, 0, rid) + field(2, 2, mac) + field(6, 2, b"t")
        e = control(ifname, mac, bytes(4), field(10, 2, join))
        if e and 11 in e:
            r = parse(e[11])
            print("%d.%d" % (r.get(2, 0), r.get(3, 0)))
            return 0
    elif cmd in ("bind", "unbind"):
        src, rid, obj, sock = (ip4(sys.argv[4]), int(sys.argv[5]),
                               int(sys.argv[6]), int(sys.argv[7]))
        rq = field(1, 0, rid) + field(2, 0, obj) + field(3, 0, sock)
        e = control(ifname, mac, src, field(12 if cmd == "bind" else 13,
                                            2, rq))
        if e and 16 in e:
            print("status", parse(e[16]).get(2, 0))
            return 0
        if e and 17 in e:
            print("error", parse(e[17]))
            return 1
    elif cmd == "syn":
        # syn IF MAC SRC_PREFIX DST OBJ FIRST N GAP: N SYNs, each a new flow
        # (sockID and source objectID FIRST+k), GAP seconds apart.
        pfx, dst, obj = sys.argv[4], ip4(sys.argv[5]), int(sys.argv[6])
        first, n, gap = int(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9])
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((ifname, 0))
        for k in range(n):
            sport = first + k
            src = ip4(pfx)[:2] + struct.pack("!H", sport)
            sfp = struct.pack("!BBBxIIQ", 1, 0x01, 5, 1000 + k, 0,
                              0x5c000000 + sport)
            s.send(frame(mac, src, dst, sport, obj, sfp))
            time.sleep(gap)
        return 0
    elif cmd == "recv":
        # recv IF MAC OBJ LOG READY: logs "SPORT DST" of every frame to OBJ.
        obj, log, ready = int(sys.argv[4]), sys.argv[5], sys.argv[6]
        # Every interface of the namespace (a moved host has two).
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        open(ready, "w").close()
        with open(log, "a", buffering=1) as out:
            while True:
                f = s.recv(4096)
                if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
                    continue
                sport, dport = struct.unpack("!HH", f[34:38])
                if dport == obj and f[0:6] == mac:
                    out.write("%d %s\n" % (sport, ".".join(
                        str(x) for x in f[30:34])))
    return 1

sys.exit(main())
EOF
sfpy() { local h=$1; shift; ip netns exec "${NS[$h]}" $PY "$SF_TMP/sf.py" \
    "$1" "${IF[$h]}" "${MAC[$h]}" "${@:2}"; }

for h in 2 3; do
    # exec: $! is the receiver itself, so that cleanup stops it first.
    (exec ip netns exec "${NS[$h]}" $PY "$SF_TMP/sf.py" recv "${IF[$h]}" \
        "${MAC[$h]}" "$OBJ" "$SF_TMP/r$h.log" "$SF_TMP/r$h.ready") &
    sf_on_exit "kill $!"
done
for h in 2 3; do
    sf_wait 10 test -e "$SF_TMP/r$h.ready" || sf_die "receiver h$h started"
done

# order FIRST N: the instance (destination flowID) each SYN FIRST..FIRST+N-1
# reached, in send order ("-" for one that did not arrive).
order() {
    local k out=()
    for ((k = $1; k < $1 + $2; k++)); do
        out+=("$(cat "$SF_TMP"/r[23].log | awk -v p="$k" \
            '$1 == p { print $2; exit }')")
        [ -n "${out[-1]}" ] || out[-1]=-
    done
    echo "${out[*]}"
}
# arrived FIRST N: all N SYNs logged.
arrived() { ! order "$1" "$2" | grep -q -- -; }
# round_robin M ORDER...: the instances repeat with period M, the first M
# all different.
round_robin() {
    local m=$1 i j
    shift
    local a=("$@")
    for ((i = 0; i < ${#a[@]}; i++)); do
        [ "${a[i]}" != - ] || return 1
        [ "${a[i]}" = "${a[i % m]}" ] || return 1
    done
    for ((i = 0; i < m; i++)); do
        for ((j = i + 1; j < m; j++)); do
            [ "${a[i]}" != "${a[j]}" ] || return 1
        done
    done
}

flows() { sf_ovs_ofctl "$1" -O "$3" --no-stats dump-flows "$2"; }
has_flow() { flows "$@" | grep -q -- "$4"; }
groups() { sf_ovs_ofctl "$1" $OF15 dump-groups "$2"; }
buckets() { groups "$@" | grep "group_id=$OBJ," | grep -o 'bucket_id:[0-9]*' \
    | wc -l; }
q() { sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" "$1"; }
# rr_of DPID: sfctl's has_round_robin of switch DPID (16 hex digits).
rr_of() {
    "$SF_BIN/sfctl" --state-dir "$STATE" --json switches | $PY -c '
import json, sys
print([s["has_round_robin"] for s in json.load(sys.stdin)
       if s["dpid"] == sys.argv[1]])' "$1"
}

# start_controller N [FLAGS...]: controller N (state dir N: fresh for a
# new N) on $PORT.
start_controller() {
    STATE=$SF_TMP/state$1
    LOG=$SF_TMP/controller$1.log
    $SF_CTL_WRAPPER "$CTL" --listen "tcp:0.0.0.0:$PORT" --state-dir "$STATE" \
        --ssid 1 --role 1=label --role 2=label --role 3=object \
        --probe-interval 200 --link-timeout 1000 "${@:2}" >>"$LOG" 2>&1 &
    CPID=$!
    sf_on_exit "kill $CPID"
}
stop_controller() {
    kill -TERM "$CPID"
    wait "$CPID"
    check_eq "controller $1 exits 0" 0 "$?"
}
status_has() { grep -q -- "$1" "$STATE/status"; }

# has_bucket FLOW: s3's group $OBJ has a bucket resolving to FLOW.
has_bucket() { groups "$OVS" "$S3" | grep "group_id=$OBJ," \
    | grep -q "actions=set_field:$1->ip_dst"; }

# join_and_bind: the three hosts join (1.1 and 1.2 from s1's block of 16
# hostIDs, 1.16 from s2's) and bind the three instances; request ids from
# $1.  The last bind is sent twice in a row (a retransmission while the
# first is in progress).  With $2 = groups (s3 resolves in round-robin
# groups, behind ofdelay.py, held while $HOLD exists), each bind reply must
# find its bucket already in s3: a reply means "rule installed"
# (docs/protocol.md 5.5), so dump-groups right after the reply, without
# waiting.
ADDR=(x 1.1 1.2 1.16)
join_and_bind() {
    local r base=$1 mode=${2:-}
    for h in 1 2 3; do
        r=$(sfpy "$h" join $((base + h)))
        check_eq "h$h joins as ${ADDR[h]}" "${ADDR[h]}" "$r"
    done
    r=$(sfpy 2 bind 1.2.0.0 $((base + 10)) "$OBJ" 10)
    check_eq "bind $OBJ on h2 sockID 10" "status 1" "$r"
    [ "$mode" != groups ] || check "at the bind reply (s3 link held), s3 \
already has the bucket of 1.2.0.10" has_bucket 1.2.0.10
    r=$(sfpy 3 bind 1.16.0.0 $((base + 11)) "$OBJ" 20)
    check_eq "bind $OBJ on h3 sockID 20" "status 1" "$r"
    [ "$mode" != groups ] || check "at the bind reply (s3 link held), s3 \
already has the bucket of 1.16.0.20" has_bucket 1.16.0.20
    r=$(SF_DUP=1 sfpy 2 bind 1.2.0.0 $((base + 12)) "$OBJ" 11)
    check_eq "bind $OBJ on h2 sockID 11 (sent twice)" "status 1" "$r"
    [ "$mode" != groups ] || check "at the reply to the twice-sent bind, s3 \
already has the bucket of 1.2.0.11" has_bucket 1.2.0.11
}

# ============================================================================
# Part 1: s3 on the patched OVS, round-robin groups
# ============================================================================
start_controller 1
HOLD=$SF_TMP/hold
$PY "$SF_TOP/tests/system/lib/ofdelay.py" "$PPORT" "$PORT" "$HOLD" 0.3 \
    >"$SF_TMP/ofdelay.log" 2>&1 &
sf_on_exit "kill $!"
for s in "$S1" "$S2" "$S3"; do
    p=$PORT
    [ "$s" != "$S3" ] || p=$PPORT
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$p" \
        -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
done
check "links discovered (3 links, both ways)" sf_wait 15 status_has "^links 6$"
check "controller: s3 has round-robin groups" sf_wait 5 grep -q \
    "0000000000000003.*selection_method=round_robin: resolving in select" \
    "$LOG"
touch "$HOLD"
join_and_bind 100 groups
rm -f "$HOLD"
check_eq "sfctl switches: s3 has round robin" "[True]" \
    "$(rr_of 0000000000000003)"
check_eq "sfctl switches: s1 has not" "[False]" "$(rr_of 0000000000000001)"

check_eq "s3: group $OBJ with 3 buckets (none twice)" 3 \
    "$(buckets "$OVS" "$S3")"
# From the third bind to its bucket confirmed in s3 (barrier reply).
t=$(grep -A10 "bind object $OBJ to 1.2.11" "$LOG" \
    | grep -m1 "0000000000000003.*rules in (barrier)" | grep -o '[0-9.]* ms')
sf_log "bind to bucket-in on s3: ${t:-not measured}"
g=$(groups "$OVS" "$S3" | grep "group_id=$OBJ,")
sf_log "s3 group: $g"
check "s3: group is select with selection_method=round_robin" \
    grep -q "group_id=$OBJ,type=select,selection_method=round_robin," <<< "$g"
for f in 1.2.0.10 1.2.0.11 1.16.0.20; do
    check "s3: a bucket resolves to $f" grep -q \
        "actions=set_field:$f->ip_dst,resubmit(,1)" <<< "$g"
done
check "s3: unresolved udp to $OBJ goes to the group" has_flow "$OVS" "$S3" \
    OpenFlow15 "priority=45000,udp,nw_dst=1.0.0.0/16,tp_dst=$OBJ actions=group:$OBJ"
check "s3: back out of the ingress port toward s1's block (h2, IN_PORT)" \
    has_flow "$OVS" "$S3" OpenFlow15 \
    "priority=39001,ip,in_port=1,nw_dst=1.0.0.0/12 actions=IN_PORT"
check "s3: toward s2's block (h3) by port 2" has_flow "$OVS" "$S3" \
    OpenFlow15 "table=1, priority=39000,ip,nw_dst=1.16.0.0/12 actions=output:2"
check "s3: unresolved 1.0/16 without an instance dropped, not routed" \
    has_flow "$OVS" "$S3" OpenFlow15 \
    "table=1, priority=40000,ip,nw_dst=1.0.0.0/16 actions=drop"
check "s1: unresolved toward s3" has_flow "$OVS" "$S1" OpenFlow13 \
    "nw_dst=1.0.0.0/16 actions=output:1"
for br in "$S1" "$S2"; do
    sf_log "$br (label router) rules:"
    flows "$OVS" "$br" OpenFlow13 | sed 's/^ *cookie=/# /'
done
sf_log "s3 (object router) rules:"
flows "$OVS" "$S3" OpenFlow15 | sed 's/^ *cookie=/# /'

sfpy 1 syn 1.1.0.0 1.0.0.0 "$OBJ" 5000 9 0.1
check "9 SYNs reach the instances" sf_wait 5 arrived 5000 9
o=$(order 5000 9)
sf_log "patched: SYN k -> instance: $o"
check "round robin over the 3 instances (period 3, 3 each)" round_robin 3 $o

# Unbind h2 sockID 11: exactly its bucket goes.
bid=$(groups "$OVS" "$S3" | grep -o 'bucket_id:[0-9]*,actions=set_field:1.2.0.11' \
    | sed 's/bucket_id:\([0-9]*\),.*/\1/')
before=$(groups "$OVS" "$S3" | grep -o 'bucket_id:[0-9]*' | sort)
touch "$HOLD"
r=$(sfpy 2 unbind 1.2.0.0 113 "$OBJ" 11)
rm -f "$HOLD"
check_eq "unbind h2 sockID 11" "status 1" "$r"
check "at the unbind reply (s3 link held), s3 no longer has the bucket of \
1.2.0.11" eval '! has_bucket 1.2.0.11'
check "s3: 2 buckets left" sf_wait 5 \
    eval '[ "$(buckets "$OVS" "$S3")" -eq 2 ]'
after=$(groups "$OVS" "$S3" | grep -o 'bucket_id:[0-9]*' | sort)
check_eq "exactly bucket $bid removed, the others kept" \
    "$(grep -v "^bucket_id:$bid\$" <<< "$before" | tr '\n' ' ')" \
    "$(tr '\n' ' ' <<< "$after")"
check "controller logged remove-buckets" grep -q \
    "group $OBJ: 2 buckets (0 inserted, 1 removed)" "$LOG"
sfpy 1 syn 1.1.0.0 1.0.0.0 "$OBJ" 5100 6 0.1
check "6 more SYNs arrive" sf_wait 5 arrived 5100 6
o=$(order 5100 6)
sf_log "patched after unbind: $o"
check "round robin over the 2 left" round_robin 2 $o
check "no SYN to the unbound instance" eval '! grep -q "1.2.0.11" <<< "$o"'

# h3 moves to s1 port 7: new hostID from s1's block, its instance's bucket
# is replaced (remove + insert, new bucket id), h2's bucket stays; s3's
# flows do not change.
S3_BEFORE=$(flows "$OVS" "$S3" OpenFlow15 | sort)
r=$(ip netns exec "${NS[3]}" $PY "$SF_TMP/sf.py" join "f3$SF_ID" "${MAC[3]}" 150)
check_eq "h3 re-joins from s1:7 as 1.3 (a move)" 1.3 "$r"
check "s3: h3's instance now at 1.3.0.20" sf_wait 5 eval \
    'groups "$OVS" "$S3" | grep -q "bucket_id:4,actions=set_field:1.3.0.20->ip_dst"'
check_eq "s3: no flow changed by the move (only buckets)" \
    "$S3_BEFORE" "$(flows "$OVS" "$S3" OpenFlow15 | sort)"
check "s3: h2's bucket 1 kept, 2 buckets" eval \
    'groups "$OVS" "$S3" | grep -q "bucket=bucket_id:1,actions=set_field:1.2.0.10->ip_dst" && [ "$(buckets "$OVS" "$S3")" -eq 2 ]'
check "controller logged 1 inserted, 1 removed" grep -q \
    "group $OBJ: 2 buckets (1 inserted, 1 removed)" "$LOG"
ip netns exec "${NS[3]}" $PY "$SF_TMP/sf.py" syn "f3$SF_ID" "${MAC[3]}" \
    1.3.0.0 1.0.0.0 "$OBJ" 5200 4 0.1 || true
check "4 SYNs from the moved h3 arrive" sf_wait 5 arrived 5200 4
o=$(order 5200 4)
sf_log "after the move: $o"
check "round robin over 1.2.0.10 and 1.3.0.20" eval \
    'round_robin 2 $o && grep -q 1.3.0.20 <<< "$o" && grep -q 1.2.0.10 <<< "$o"'
# The admin evicts h3: its bucket goes.
"$SF_BIN/sfctl" --state-dir "$STATE" evict "${MAC[3]}" >/dev/null
check "sfctl evict h3" test $? -eq 0
check "s3: 1 bucket left (h2's)" sf_wait 5 \
    eval '[ "$(buckets "$OVS" "$S3")" -eq 1 ]'
# kill -9 and restart with the same state: the group comes back from the
# store alone, one bucket, no duplicate rule.
kill -9 "$CPID"
wait "$CPID" 2>/dev/null
groups "$OVS" "$S3" >/dev/null
start_controller 1
check "after kill -9 + restart: group $OBJ back with h2's bucket only" \
    sf_wait 15 eval '[ "$(buckets "$OVS" "$S3")" -eq 1 ] && groups "$OVS" "$S3" | grep -q "set_field:1.2.0.10->ip_dst"'
check_eq "after restart: one object rule on s3" 1 \
    "$(flows "$OVS" "$S3" OpenFlow15 | grep -c "tp_dst=$OBJ actions=group:$OBJ")"
check_eq "after restart: s3 rules without duplicates" "" \
    "$(flows "$OVS" "$S3" OpenFlow15 | grep cookie=0x5c | sort | uniq -d)"
check "controller resolved nothing itself" eval \
    '! grep -q "controller round robin" "$LOG"'
stop_controller 1

# ============================================================================
# Part 2: s3 on Debian's stock ovs-vswitchd, controller fallback
# ============================================================================
sf_ovs_vsctl "$OVS" del-br "$S3" || sf_die "del-br s3"
NSOR=$(sf_netns or) || sf_die "netns or"
ip link set "b3$SF_ID" netns "$NSOR" && ip link set "c3$SF_ID" netns "$NSOR" \
    || sf_die "move s3's links"
ip -n "$NSOR" link set "b3$SF_ID" up
ip -n "$NSOR" link set "c3$SF_ID" up
# The control link: the controller listens on 0.0.0.0 in this namespace.
sf_veth "k0$SF_ID" "k1$SF_ID" || sf_die "veth control"
ip link set "k1$SF_ID" netns "$NSOR" || sf_die "move k1"
ip addr add 10.254.0.1/30 dev "k0$SF_ID"
ip -n "$NSOR" addr add 10.254.0.2/30 dev "k1$SF_ID"
ip -n "$NSOR" link set "k1$SF_ID" up
ip netns exec "$NSOR" env SF_CLEANUP_FILE="$SF_CLEANUP_FILE" \
    bash -c '. "$1"; sf_ovs_start "$2" stock' _ \
    "$SF_TOP/tests/system/lib.sh" "$SOVS" 2>"$SF_TMP/stock-start.log" \
    || sf_die "start stock OVS: $(cat "$SF_TMP/stock-start.log")"
sf_br_add "$SOVS" "$S3" secure || sf_die "add stock s3"
sf_ovs_vsctl "$SOVS" set bridge "$S3" \
    other-config:datapath-id=0000000000000003 protocols=OpenFlow15 \
    || sf_die "stock s3 dpid"
sf_port_add "$SOVS" "$S3" "b3$SF_ID" 1 || sf_die "stock port s3:1"
sf_port_add "$SOVS" "$S3" "c3$SF_ID" 2 || sf_die "stock port s3:2"
: >"$SF_TMP/r2.log"
: >"$SF_TMP/r3.log"

start_controller 2
for s in "$S1" "$S2"; do
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
        || sf_die "set-controller"
done
sf_ovs_vsctl "$SOVS" set-controller "$S3" "tcp:10.254.0.1:$PORT" \
    -- set controller "$S3" max_backoff=1000 || sf_die "set-controller s3"
check "links discovered across the two vswitchds" sf_wait 15 status_has \
    "^links 6$"
check "controller logs s3's missing extension" sf_wait 5 grep -q \
    "0000000000000003.*refuses selection_method=round_robin" "$LOG"
grep -E "WARN.*0000000000000003" "$LOG" | sed 's/^/# controller: /'
check "db: switch.no_round_robin event" sf_wait 2 eval \
    '[ "$(q "select count(*) from events where kind = '"'switch.no_round_robin'"'")" = 1 ]'
join_and_bind 200
check_eq "sfctl switches: stock s3 has no round robin" "[False]" \
    "$(rr_of 0000000000000003)"

check "stock s3: unresolved udp to $OBJ goes to the controller" sf_wait 5 \
    has_flow "$SOVS" "$S3" OpenFlow15 \
    "priority=45000,udp,nw_dst=1.0.0.0/16,tp_dst=$OBJ actions=CONTROLLER:65535"
check_eq "stock s3: no group" "" "$(groups "$SOVS" "$S3" | grep group_id)"

sfpy 1 syn 1.1.0.0 1.0.0.0 "$OBJ" 6000 9 0.1
check "9 SYNs reach the instances" sf_wait 5 arrived 6000 9
o=$(order 6000 9)
sf_log "stock (fallback): SYN k -> instance: $o"
check "round robin over the 3 instances (period 3, 3 each)" round_robin 3 $o
check_eq "controller resolved 9 SYNs" 9 \
    "$(grep -c "resolved to .*(controller round robin)" "$LOG")"
n=$(flows "$SOVS" "$S3" OpenFlow15 | grep -c "idle_timeout=10,.*priority=45001,udp")
check_eq "stock s3: 9 exact 5-tuple flows (idle_timeout=10)" 9 "$n"
flows "$SOVS" "$S3" OpenFlow15 | grep -m1 "priority=45001" | sed 's/^/# /'
# A repeated SYN of a resolved flow stays in the switch.
sfpy 1 syn 1.1.0.0 1.0.0.0 "$OBJ" 6000 1 0
first=$(order 6000 1)
check_eq "the repeated SYN reaches the same instance again" 2 \
    "$(sf_wait 3 eval '[ "$(grep -c "^6000 $first\$" "$SF_TMP"/r[23].log \
        | awk -F: "{s += \$NF} END {print s}")" -ge 2 ]' && echo 2)"
check_eq "its repeat is not sent to the controller" 9 \
    "$(grep -c "resolved to .*(controller round robin)" "$LOG")"

r=$(sfpy 2 unbind 1.2.0.0 213 "$OBJ" 11)
check_eq "unbind h2 sockID 11" "status 1" "$r"
sleep 0.3
sfpy 1 syn 1.1.0.0 1.0.0.0 "$OBJ" 6100 6 0.1
check "6 more SYNs arrive" sf_wait 5 arrived 6100 6
o=$(order 6100 6)
sf_log "stock after unbind: $o"
check "round robin over the 2 left" round_robin 2 $o
check "no SYN to the unbound instance" eval '! grep -q "1.2.0.11" <<< "$o"'
EPOCH2=$(q "select value from meta where key = 'controller_epoch'")
stop_controller 2

# ============================================================================
# Part 3: leases and the controller epoch
# ============================================================================
# A fresh state dir gets a new epoch; a restart with its state keeps it.
# Hosts that send no keepalive lose their address, rules and instances
# when the lease (3 s here) runs out.
start_controller 3 --lease 3000
check "links discovered" sf_wait 15 status_has "^links 6$"
EPOCH3=$(q "select value from meta where key = 'controller_epoch'")
check "a fresh state gets a new, larger epoch ($EPOCH2 -> $EPOCH3)" \
    test "$EPOCH3" -gt "$EPOCH2"
stop_controller 3
start_controller 3 --lease 3000
check "links discovered after the restart" sf_wait 15 status_has "^links 6$"
check "a restart with its state keeps the epoch" grep -q \
    "controller epoch $EPOCH3 (state kept)" "$LOG"
join_and_bind 300
check "stock s3: object $OBJ resolved in the controller" sf_wait 5 \
    has_flow "$SOVS" "$S3" OpenFlow15 "tp_dst=$OBJ actions=CONTROLLER"
check "s1: route to h3 (s2's block)" has_flow "$OVS" "$S1" OpenFlow13 \
    "nw_dst=1.16.0.0/12"
check "leases run out: 3 host.expire events" sf_wait 8 eval \
    '[ "$(q "select count(*) from events where kind = '"'host.expire'"'")" = 3 ]'
check_eq "db: no host, no instance left" "0 0" \
    "$(q "select (select count(*) from hosts), (select count(*) from instances)" \
       | tr '|' ' ')"
# s2's block, without hosts now, is freed a lease plus a link timeout
# (4 s here) after it emptied, and its route with it.
check "s1: route to s2's emptied block gone" sf_wait 12 eval \
    '! has_flow "$OVS" "$S1" OpenFlow13 "nw_dst=1.16.0.0/12"'
check_eq "db: every block freed" 0 "$(q "select count(*) from blocks")"
check "stock s3: object $OBJ's rule gone" sf_wait 5 eval \
    '! has_flow "$SOVS" "$S3" OpenFlow15 "tp_dst=$OBJ actions=CONTROLLER"'
check "controller logged the expiries" grep -q "lease expired .*removed with its instances" "$LOG"
stop_controller 3

sf_done
