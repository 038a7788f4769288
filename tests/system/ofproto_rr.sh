#!/usr/bin/env bash
# System test of selection_method=round_robin for OpenFlow select groups
# (ofproto-ext/, issue #3), on a private patched ovs-vswitchd with the
# userspace datapath, and the same group mod against Debian's stock
# ovs-vswitchd.
#
#   sender ns --- port 1 [ bridge ] port 2 --- receiver ns a  (bucket 1)
#                                   port 3 --- receiver ns b  (bucket 2)
#                                   port 4 --- receiver ns c  (bucket 3)
#                                   port 5 --- receiver ns d  (inserted)
#
# The sender writes raw Ethernet/IPv4/UDP frames (AF_PACKET) from 10.9.0.1 to
# 10.9.0.100, one UDP source port per flow; the bridge sends UDP port 5000 to
# group 1 and port 5001 to group 2.  Each receiver logs "dport sport length"
# for every frame it gets (AF_PACKET), so the test knows where every flow
# went.  The bridge is fail_mode=secure with only the test's own flows, and
# the namespaces have IPv6 disabled, so no ARP or ND traffic gets in the way.
#
#   bash tests/system/ofproto_rr.sh
#   SF_TESTS=ofproto_rr tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init rr

PY=/usr/bin/python3
OF15="-O OpenFlow15"
[ -x "$SF_OVS_BLD/vswitchd/ovs-vswitchd" ] || {
    echo "# $SF_OVS_BLD/vswitchd/ovs-vswitchd missing: run scripts/build-ovs.sh"
    exit 77
}

# --- helpers written to the temp dir -------------------------------------

cat > "$SF_TMP/recv.py" <<'EOF'
# recv.py IFACE LOG READY: logs "dport sport length" for every IPv4/UDP
# frame received on IFACE, one line each, flushed at once.
import socket, struct, sys
iface, log, ready = sys.argv[1:4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((iface, 0))
open(ready, "w").close()
with open(log, "a", buffering=1) as out:
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 42:
            continue
        if frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0f) * 4
        sport, dport = struct.unpack("!HH", frame[14 + ihl:18 + ihl])
        out.write("%d %d %d\n" % (dport, sport, len(frame)))
EOF

cat > "$SF_TMP/send.py" <<'EOF'
# send.py IFACE DPORT SPORT... : one 106-byte UDP frame per source port,
# 10.9.0.1 -> 10.9.0.100.
import socket, struct, sys

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

iface, dport = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
payload = b"r" * 64
for sport in map(int, sys.argv[3:]):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                     17, 0, socket.inet_aton("10.9.0.1"),
                     socket.inet_aton("10.9.0.100"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000064" "020000000001" "0800")
    s.send(eth + ip + udp)
EOF

# --- topology --------------------------------------------------------------

ovs=$SF_TMP/ovs
br=rr$SF_ID
RECV=(a b c d)
declare -A NS IF

ns_setup() {   # ns_setup NAME: namespace + veth (host side rr$SF_ID$NAME)
    local name=$1 ns host peer
    ns=$(sf_netns "$name") || return 1
    host=rr$SF_ID$name
    peer=rr$SF_ID${name}p
    sf_veth "$host" "$peer" || return 1
    ip link set "$peer" netns "$ns" || return 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "$ns" link set "$peer" up || return 1
    NS[$name]=$ns
    IF[$name]=$peer
}

for n in s "${RECV[@]}"; do
    ns_setup "$n" || sf_die "namespace and veth for $n"
done

sf_ovs_start "$ovs" || sf_die "patched ovs-vswitchd started"
sf_br_add "$ovs" "$br" secure || sf_die "bridge $br added"
port=1
for n in s "${RECV[@]}"; do
    sf_port_add "$ovs" "$br" "rr$SF_ID$n" "$port" || sf_die "port $n added"
    port=$((port + 1))
done

ofctl() { sf_ovs_ofctl "$ovs" "$@"; }
appctl() { sf_ovs_appctl "$ovs" "$@"; }

for n in "${RECV[@]}"; do
    : > "$SF_TMP/$n.log"
    ip netns exec "${NS[$n]}" "$PY" "$SF_TMP/recv.py" "${IF[$n]}" \
        "$SF_TMP/$n.log" "$SF_TMP/$n.ready" &
    sf_on_exit "kill $!"
done
for n in "${RECV[@]}"; do
    sf_wait 10 test -e "$SF_TMP/$n.ready" || sf_die "receiver $n started"
done

# --- helpers ---------------------------------------------------------------

# send DPORT SPORT...
send() {
    ip netns exec "${NS[s]}" "$PY" "$SF_TMP/send.py" "${IF[s]}" "$@"
}

# total: number of frames all receivers have logged.
total() {
    local n sum=0
    for n in "${RECV[@]}"; do
        sum=$((sum + $(wc -l < "$SF_TMP/$n.log")))
    done
    echo "$sum"
}

# mark: remembers each log's current length; later reads see only new lines.
declare -A MARK
mark() {
    local n
    for n in "${RECV[@]}"; do
        MARK[$n]=$(wc -l < "$SF_TMP/$n.log")
    done
}

# since N: the lines receiver N logged since the last mark.
since() {
    tail -n +"$((MARK[$1] + 1))" "$SF_TMP/$1.log"
}

# send_wait DPORT SPORT...: sends one frame per port and waits until the
# receivers have logged that many more frames.
send_wait() {
    local want
    want=$(($(total) + $# - 1))
    send "$@"
    sf_wait 10 test "$(total)" -ge "$want"
}

# where DPORT: "SPORT RECEIVER" for each frame since the last mark, sorted.
where() {
    local n
    for n in "${RECV[@]}"; do
        since "$n" | awk -v d="$1" -v r="$n" '$1 == d { print $2, r }'
    done | sort -n
}

# counts DPORT: frames per receiver since the last mark, "a/b/c/d".
counts() {
    local n out=""
    for n in "${RECV[@]}"; do
        out+=$(since "$n" | awk -v d="$1" '$1 == d' | wc -l)/
    done
    echo "${out%/}"
}

# round DPORT SPORT...: mark, send, wait; sets WHERE to where each flow
# went (not a subshell: the marks must stay for counts).
round() {
    mark
    WHERE=
    send_wait "$@" || return 1
    WHERE=$(where "$1")
}

# bucket_stats GROUP: "packets bytes" of each bucket, one line per bucket.
bucket_stats() {
    ofctl $OF15 dump-group-stats "$br" "group_id=$1" \
        | grep -o 'bucket[0-9]*:packet_count=[0-9]*,byte_count=[0-9]*' \
        | sed 's/.*packet_count=\([0-9]*\),byte_count=\([0-9]*\)/\1 \2/'
}

# recv_stats DPORT RECEIVER...: "packets bytes" since the last mark, one
# line per receiver, in the order given (the group's bucket order).
recv_stats() {
    local d=$1 n
    shift
    for n in "$@"; do
        since "$n" | awk -v d="$d" '$1 == d { p++; b += $3 }
                                   END { print p + 0, b + 0 }'
    done
}

stats_match() {   # stats_match GROUP DPORT RECEIVER...
    local g=$1
    shift
    [ "$(bucket_stats "$g")" = "$(recv_stats "$@")" ]
}

# trace_rr DPORT SPORT: the round_robin line of ofproto/trace.
trace_rr() {
    appctl ofproto/trace "$br" "in_port=1,dl_type=0x0800,nw_proto=17,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:64,nw_src=10.9.0.1,nw_dst=10.9.0.100,nw_ttl=64,udp_src=$2,udp_dst=$1" \
        | grep -o 'round_robin: .*'
}

# --- group 1: distribution and stickiness ----------------------------------

ofctl $OF15 add-group "$br" "group_id=1,type=select,selection_method=round_robin,bucket=bucket_id:1,weight:1,actions=output:2,bucket=bucket_id:2,weight:1,actions=output:3,bucket=bucket_id:3,weight:1,actions=output:4"
check "add-group with selection_method=round_robin accepted (OF1.5)" test $? -eq 0
desc=$(ofctl $OF15 dump-groups "$br" group_id=1)
check "dump-groups shows selection_method=round_robin" \
    grep -q 'type=select,selection_method=round_robin,bucket=bucket_id:1' <<< "$desc"
ofctl $OF15 add-flow "$br" "priority=10,in_port=1,udp,nw_dst=10.9.0.100,tp_dst=5000,actions=group:1" ||
    sf_die "flow to group 1 installed"

ports=$(seq 10000 10029)
mark
send_wait 5000 $ports || sf_die "30 new flows arrived"
first=$(where 5000)
check_eq "30 new flows spread exactly 10/10/10 over 3 buckets" \
    "10/10/10/0" "$(counts 5000)"
check_eq "every flow arrived once" "$ports" "$(cut -d' ' -f1 <<< "$first")"
sf_log "distribution: $(counts 5000) (receivers a/b/c/d)"

round 5000 $ports
check_eq "resending every flow keeps it on its bucket" "$first" "$WHERE"

# What ofproto/trace says about a flow matches where its packets went.
r=$(awk '$1 == 10007 { print $2 }' <<< "$first")
declare -A BUCKET_OF=([a]=1 [b]=2 [c]=3 [d]=4)
check_eq "ofproto/trace reports the flow's own bucket" \
    "round_robin: flow stays on bucket ${BUCKET_OF[$r]}" \
    "$(trace_rr 5000 10007)"
round 5000 $ports
check_eq "ofproto/trace moves nothing" "$first" "$WHERE"

ofctl $OF15 add-flow "$br" "priority=20,in_port=1,udp,tp_dst=9999,actions=drop"
appctl revalidator/wait >/dev/null
round 5000 $ports
check_eq "an unrelated add-flow (and its revalidation) moves no flow" \
    "$first" "$WHERE"

appctl revalidator/purge >/dev/null
round 5000 $ports
check_eq "revalidator/purge (datapath flows gone) moves no flow" \
    "$first" "$WHERE"

# Group stats: everything since the group was added (5 rounds of 30).
MARK=([a]=0 [b]=0 [c]=0 [d]=0)
if sf_wait 10 stats_match 1 5000 a b c; then
    ok "group stats per bucket match what the receivers counted"
else
    not_ok "group stats per bucket match what the receivers counted" \
        "(stats '$(bucket_stats 1 | tr '\n' ' ')'," \
        "receivers '$(recv_stats 5000 a b c | tr '\n' ' ')')"
fi
sf_log "bucket stats: $(bucket_stats 1 | tr '\n' ' ')"

# --- remove-buckets moves only the removed bucket's flows --------------------

ofctl $OF15 remove-buckets "$br" group_id=1,command_bucket_id=2
check "remove-buckets accepted" test $? -eq 0
appctl revalidator/wait >/dev/null
round 5000 $ports
after=$WHERE
moved_ok=yes
while read -r sp r0 && read -r sp1 r1 <&3; do
    if [ "$r0" = b ]; then
        [ "$r1" = a ] || [ "$r1" = c ] || moved_ok="no ($sp: b -> $r1)"
    elif [ "$r1" != "$r0" ]; then
        moved_ok="no ($sp: $r0 -> $r1)"
    fi
done <<< "$first" 3<<< "$after"
check_eq "remove-buckets moves only the removed bucket's flows" yes "$moved_ok"
check_eq "the removed bucket's 10 flows split 5/5 over the rest" \
    "15/0/15/0" "$(counts 5000)"
round 5000 $ports
check_eq "and they stay there" "$after" "$WHERE"

# --- insert-buckets moves nobody; new flows rotate over all ------------------

ofctl $OF15 insert-buckets "$br" "group_id=1,command_bucket_id=last,bucket=bucket_id:4,weight:1,actions=output:5"
check "insert-buckets accepted" test $? -eq 0
desc=$(ofctl $OF15 dump-groups "$br" group_id=1)
check "dump-groups after the mods still shows round_robin" \
    grep -q 'selection_method=round_robin,bucket=bucket_id:1,.*bucket=bucket_id:3,.*bucket=bucket_id:4,' <<< "$desc"
appctl revalidator/wait >/dev/null
appctl revalidator/purge >/dev/null
round 5000 $ports
check_eq "insert-buckets moves no flow" "$after" "$WHERE"

newports=$(seq 11000 11029)
mark
send_wait 5000 $newports || sf_die "30 more new flows arrived"
check_eq "30 new flows rotate over all 3 buckets, the inserted one too" \
    "10/0/10/10" "$(counts 5000)"
sf_log "distribution after remove+insert: $(counts 5000) (a/b/c/d)"
newfirst=$(where 5000)
round 5000 $ports $newports
check_eq "old and new flows all stay put" \
    "$(sort -n <<< "$after"$'\n'"$newfirst")" "$WHERE"

# insert-buckets and remove-buckets keep the other buckets' counters (a full
# mod-group restarts them, as in stock OVS): compare with everything since
# the group was added.
MARK=([a]=0 [b]=0 [c]=0 [d]=0)
if sf_wait 10 stats_match 1 5000 a c d; then
    ok "group stats after remove+insert match the receivers (buckets 1 3 4)"
else
    not_ok "group stats after remove+insert match the receivers" \
        "(stats '$(bucket_stats 1 | tr '\n' ' ')'," \
        "receivers '$(recv_stats 5000 a c d | tr '\n' ' ')')"
fi

# --- group 2: idle assignments expire ---------------------------------------

idle=2
ofctl $OF15 add-group "$br" "group_id=2,type=select,selection_method=round_robin,selection_method_param=$idle,bucket=bucket_id:1,weight:1,actions=output:2,bucket=bucket_id:2,weight:1,actions=output:3,bucket=bucket_id:3,weight:1,actions=output:4"
check "add-group with selection_method_param=$idle accepted" test $? -eq 0
check "dump-groups shows selection_method_param=$idle" \
    grep -q "selection_method=round_robin,selection_method_param=$idle," \
    <<< "$(ofctl $OF15 dump-groups "$br" group_id=2)"
ofctl $OF15 add-flow "$br" "priority=10,in_port=1,udp,nw_dst=10.9.0.100,tp_dst=5001,actions=group:2" ||
    sf_die "flow to group 2 installed"

eports="20000 20001 20002"
round 5001 $eports
e1=$WHERE
check_eq "3 new flows on group 2 take one bucket each" "1/1/1/0" \
    "$(counts 5001)"
sent=$(date +%s%N)
check "an active assignment is reported by ofproto/trace" \
    grep -q "flow stays on" <<< "$(trace_rr 5001 20000)"

# ofproto/trace does not refresh an assignment, so it can watch it expire.
all_expired() {
    local p
    for p in $eports; do
        trace_rr 5001 "$p" | grep -q "new flow would get" || return 1
    done
}
if sf_wait $((idle + 8)) all_expired; then
    ms=$(( ($(date +%s%N) - sent) / 1000000 ))
    sf_log "assignments expired after ${ms} ms (selection_method_param=$idle)"
    check "idle assignments expire after selection_method_param s, not before" \
        test "$ms" -ge $((idle * 1000 - 500)) -a "$ms" -le $((idle * 1000 + 3000))
else
    not_ok "idle assignments expire after selection_method_param s"
fi

# The datapath flows outlive the assignments (10 s idle): remove them, give
# one new flow the next turn, then the expired flows come back as new flows
# and each takes the following turn, so every one of them moves.
appctl revalidator/purge >/dev/null
round 5001 20099
round 5001 $eports
e2=$WHERE
moved=0
while read -r sp r0 && read -r sp1 r1 <&3; do
    [ "$r0" != "$r1" ] && moved=$((moved + 1))
done <<< "$e1" 3<<< "$e2"
check_eq "expired flows are assigned anew, in turn" 3 "$moved"
check_eq "the new assignments are 1/1/1 again" "1/1/1/0" "$(counts 5001)"

# --- OpenFlow 1.0 with the Nicira group mod extension ------------------------

g3="group_id=3,type=select,selection_method=round_robin,bucket=bucket_id:1,weight:1,actions=output:2"
ofctl -O OpenFlow10 add-group "$br" "$g3"
check "add-group with round_robin accepted over OpenFlow 1.0 (Nicira)" \
    test $? -eq 0
check "dump-groups over OpenFlow 1.0 shows round_robin" \
    grep -q "group_id=3,type=select,selection_method=round_robin," \
    <<< "$(ofctl -O OpenFlow10 dump-groups "$br" group_id=3)"

# --- Debian's stock ovs-vswitchd refuses the method --------------------------

# A userspace datapath owns a tap device named ovs-netdev in its network
# namespace: one such ovs-vswitchd per namespace, so stop ours first.
sf_ovs_stop "$ovs"
sovs=$SF_TMP/stock
sbr=rs$SF_ID
if sf_ovs_start "$sovs" stock && sf_br_add "$sovs" "$sbr" secure; then
    out=$(sf_ovs_ofctl "$sovs" $OF15 add-group "$sbr" "group_id=1,type=select,selection_method=round_robin,bucket=bucket_id:1,weight:1,actions=drop" 2>&1)
    rc=$?
    check "stock ovs-vswitchd rejects the round_robin group mod" \
        test "$rc" -ne 0
    check "the error is OFPBPC_BAD_VALUE" grep -q OFPBPC_BAD_VALUE <<< "$out"
    out=$(sf_ovs_ofctl "$sovs" -O OpenFlow10 add-group "$sbr" "$g3" 2>&1)
    rc=$?
    check "stock ovs-vswitchd rejects it over OpenFlow 1.0 (Nicira) too" \
        test "$rc" -ne 0
    check "again with OFPBPC_BAD_VALUE" grep -q OFPBPC_BAD_VALUE <<< "$out"
    sf_ovs_ofctl "$sovs" $OF15 add-group "$sbr" "group_id=1,type=select,selection_method=hash,bucket=bucket_id:1,weight:1,actions=drop"
    check "stock ovs-vswitchd accepts the same group with selection_method=hash" \
        test $? -eq 0
else
    not_ok "stock ovs-vswitchd started"
fi

sf_done
