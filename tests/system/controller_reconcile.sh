#!/bin/bash
# Reconciliation without a blackout: after kill -9 + restart of the
# controller, and after a switch reconnects, the controller reads each
# switch back (flow stats by cookie, group descriptions) and sends only the
# difference.  Checked on a private patched OVS with two OpenFlow 1.3 label
# routers and an OpenFlow 1.5 object router holding a round-robin group:
#   - no flow and no group that was already right is deleted and re-added
#     (the switch's flow 'duration' and the group's 'duration' keep
#     growing, the group's bucket ids stay),
#   - a stale flow of ours and a stale group are removed, a foreign flow is
#     kept, a deleted wanted flow is added back, no duplicates,
#   - sfctl rules shows the switch's packet counters.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_reconcile

ctl_vars q
SFCTL=$SF_BIN/sfctl
ctl_switches
sf_veth "a1$SF_ID" "a2$SF_ID" || sf_die "veth a"
sf_veth "b2$SF_ID" "b3$SF_ID" || sf_die "veth b"
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth h1"
sf_veth "p2$SF_ID" "e2$SF_ID" || sf_die "veth h2"
sf_port_add "$OVS" "$S1" "a1$SF_ID" 1 || sf_die "port s1:1"
sf_port_add "$OVS" "$S2" "a2$SF_ID" 1 || sf_die "port s2:1"
sf_port_add "$OVS" "$S2" "b2$SF_ID" 2 || sf_die "port s2:2"
sf_port_add "$OVS" "$S3" "b3$SF_ID" 1 || sf_die "port s3:1"
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
sf_port_add "$OVS" "$S2" "p2$SF_ID" 6 || sf_die "port s2:6"
MAC1=02:00:00:00:00:a1
MAC2=02:00:00:00:00:a2

start_controller() {   # start_controller LOG
    $SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" \
        --state-dir "$STATE" --ssid 1 --role 3=object --role 1=label \
        --role 2=label --probe-interval 200 --link-timeout 1000 \
        >"$1" 2>&1 &
    CPID=$!
    sf_on_exit "kill $CPID"
}
kill_controller() {
    kill -9 "$CPID"
    wait "$CPID" 2>/dev/null
}
connected() {
    [ "$(sf_ovs_vsctl "$OVS" get controller "$1" is_connected)" = true ]
}
status_has() { grep -q -- "$1" "$STATE/status"; }
provisioned() { [ "$(grep -c 'provisioned=yes' "$STATE/status")" = 3 ]; }
ofver() { [ "$1" = "$S3" ] && echo OpenFlow15 || echo OpenFlow13; }
# flows BRIDGE: our flows, one per line, "KEY<TAB>DURATION" where KEY is
# the flow without its statistics.
flows() {
    sf_ovs_ofctl "$OVS" -O "$(ofver "$1")" dump-flows "$1" | "$PY" -c '
import re, sys
for line in sys.stdin:
    if "cookie=0x5c" not in line:
        continue
    d = re.search(r"duration=([0-9.]+)s", line).group(1)
    key = re.sub(r" *(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,",
                 "", line.strip())
    print("%s\t%s" % (key, d))' | sort
}
group_duration() {   # group_duration GROUP_ID
    sf_ovs_ofctl "$OVS" -O OpenFlow15 dump-group-stats "$S3" "group_id=$1" |
        sed -n 's/.*group_id='"$1"',duration=\([0-9.]*\)s.*/\1/p'
}
groups() {
    sf_ovs_ofctl "$OVS" -O OpenFlow15 dump-groups "$S3" | grep group_id
}
# not_reset BEFORE AFTER [SKIP]: every flow of BEFORE that is still in
# AFTER (but those containing SKIP) has a duration at least as large: it
# was not deleted and re-added.
not_reset() {
    "$PY" - "$1" "$2" "${3:-}" <<'EOF'
import sys
def load(p):
    return dict(l.rstrip("\n").split("\t") for l in open(p) if l.strip())
a, b = load(sys.argv[1]), load(sys.argv[2])
common = [k for k in a if k in b and not (sys.argv[3] and sys.argv[3] in k)]
bad = [k for k in common if float(b[k]) + 0.001 < float(a[k])]
for k in bad:
    print("# reset: %s (%s s -> %s s)" % (k, a[k], b[k]))
print("# %d flows compared, %d reset" % (len(common), len(bad)))
sys.exit(1 if bad or not common else 0)
EOF
}

# --- first run: the switches get their base rules --------------------------
start_controller "$SF_TMP/ctl1.log"
for s in "$S1" "$S2" "$S3"; do
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
        -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
done
for s in "$S1" "$S2" "$S3"; do
    check "$s connects" sf_wait 10 connected "$s"
done
check "links discovered" sf_wait 10 status_has "^links 4$"
check "all three provisioned" sf_wait 10 provisioned
kill_controller

# Two hosts and one object with an instance on each, written to the store.
sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" "
    insert into hosts (mac, ss_id, host_id, dpid, port_no) values
        (x'$(tr -d : <<<"$MAC1")', 1, 1, 1, 5),
        (x'$(tr -d : <<<"$MAC2")', 1, 2, 2, 6);
    insert into objects (object_id) values (100);
    insert into instances (host_mac, sock_id, object_id) values
        (x'$(tr -d : <<<"$MAC1")', 7, 100),
        (x'$(tr -d : <<<"$MAC2")', 9, 100);" || sf_die "insert hosts"

# --- second run: the missing host rules and the group are added -------------
start_controller "$SF_TMP/ctl2.log"
for s in "$S1" "$S2" "$S3"; do
    check "$s reconnects to the second controller" sf_wait 15 connected "$s"
done
check "second run: all three provisioned" sf_wait 10 provisioned
check "group 100 installed with two buckets" sf_wait 10 eval \
    'groups | grep -q "group_id=100,type=select,selection_method=round_robin,bucket=bucket_id:1,.*bucket=bucket_id:2,"'
check "s1 routes h2's prefix" sf_wait 10 eval \
    'flows "$S1" | grep -q "nw_dst=1.2.0.0/16 actions=output:1"'
sleep 2
for s in "$S1" "$S2" "$S3"; do
    flows "$s" >"$SF_TMP/before.$s"
done
GROUPS_BEFORE=$(groups)
GDUR_BEFORE=$(group_duration 100)
check "group 100 has a duration" test -n "$GDUR_BEFORE"

# --- kill -9, the switches drift while no controller runs -------------------
kill_controller
ok "second controller killed with SIGKILL"
sf_ovs_ofctl "$OVS" -O OpenFlow13 add-flow "$S1" \
    "cookie=0x5c10000000000163,table=1,priority=40000,ip,nw_dst=1.99.0.0/16,actions=output:1"
sf_ovs_ofctl "$OVS" -O OpenFlow13 add-flow "$S1" \
    "cookie=0x1234,table=3,priority=7,actions=drop"
sf_ovs_ofctl "$OVS" -O OpenFlow13 --strict del-flows "$S2" \
    "table=1,priority=40000,ip,nw_dst=1.2.0.0/16"
sf_ovs_ofctl "$OVS" -O OpenFlow15 add-group "$S3" \
    "group_id=200,type=select,selection_method=round_robin,bucket=bucket_id=1,actions=set_field:1.1.0.7->ip_dst,resubmit(,1)"
check "drift: stale group 200 present" eval 'groups | grep -q group_id=200'

# --- third run: only the difference is sent ---------------------------------
start_controller "$SF_TMP/ctl3.log"
LOG=$SF_TMP/ctl3.log
for s in "$S1" "$S2" "$S3"; do
    check "$s reconnects to the third controller" sf_wait 15 connected "$s"
done
check "third run: all three provisioned" sf_wait 10 provisioned
check "s2: deleted last-hop rule to h2 added back" sf_wait 10 eval \
    'flows "$S2" | grep -q "nw_dst=1.2.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC2->eth_dst,output:6"'
check "s1: stale rule removed" sf_wait 10 eval \
    '! flows "$S1" | grep -q 1.99.0.0'
check "s3: stale group 200 removed" sf_wait 10 eval '! groups | grep -q group_id=200'
for s in "$S1" "$S2" "$S3"; do
    flows "$s" >"$SF_TMP/after.$s"
    # s2's last hop to h2 was deleted by hand: it is the one re-added.
    skip=; [ "$s" = "$S2" ] && skip=$MAC2
    check "$s: no flow deleted and re-added (but the missing one)" \
        not_reset "$SF_TMP/before.$s" "$SF_TMP/after.$s" "$skip"
    check_eq "$s: same rule set as before the drift" \
        "$(cut -f1 "$SF_TMP/before.$s")" "$(cut -f1 "$SF_TMP/after.$s")"
done
check "s1: foreign rule kept" eval \
    'sf_ovs_ofctl "$OVS" -O OpenFlow13 dump-flows "$S1" | grep -q "cookie=0x1234, .*table=3"'
check_eq "s3: group 100 unchanged (same buckets and ids)" \
    "$GROUPS_BEFORE" "$(groups)"
GDUR_AFTER=$(group_duration 100)
check "s3: group 100 not re-added (duration $GDUR_BEFORE s -> $GDUR_AFTER s)" \
    "$PY" -c "import sys; sys.exit(not float('$GDUR_AFTER') >= float('$GDUR_BEFORE'))"
grep -E "read back|read-back|held back|rules synced|group" "$LOG" | sed 's/^/# /'
check "log: s1 stale flow deleted once the topology settled" \
    grep -q "dpid 0000000000000001.*read-back flows: [0-9]* adopted as wanted, 1 stale deleted (topology settled)" "$LOG"
check "log: s2 read back with one flow missing" \
    grep -q "dpid 0000000000000002.*read back [0-9]* flows of ours: [0-9]* kept, [0-9]* not wanted yet, [1-9][0-9]* missing" "$LOG"
check "log: s3 read back both groups" \
    grep -q "dpid 0000000000000003.*read back 2 groups" "$LOG"
check "log: s3 stale group 200 deleted" \
    grep -q "dpid 0000000000000003.*group 200 deleted" "$LOG"
check "log: no group mod for group 100" bash -c \
    "! grep -q 'group 100: ' '$LOG'"

# --- a switch reconnects: nothing changes -----------------------------------
sleep 1
flows "$S3" >"$SF_TMP/before2.$S3"
GDUR_BEFORE=$(group_duration 100)
# Point it elsewhere and back: the connection drops while the bridge
# keeps a controller (without one, OVS itself flushes the flows).
sf_ovs_vsctl "$OVS" set-controller "$S3" "tcp:127.0.0.1:$((PORT + 1))" ||
    sf_die "set-controller elsewhere"
sf_wait 5 eval '! status_has "switch 0000000000000003"'
sf_ovs_vsctl "$OVS" set-controller "$S3" "tcp:127.0.0.1:$PORT" \
    -- set controller "$S3" max_backoff=1000 || sf_die "set-controller"
check "s3 reconnects" sf_wait 10 connected "$S3"
check "s3 provisioned again" sf_wait 10 provisioned
flows "$S3" >"$SF_TMP/after2.$S3"
check "s3 reconnect: no flow deleted and re-added" \
    not_reset "$SF_TMP/before2.$S3" "$SF_TMP/after2.$S3"
GDUR_AFTER=$(group_duration 100)
check "s3 reconnect: group 100 kept ($GDUR_BEFORE s -> $GDUR_AFTER s)" \
    "$PY" -c "import sys; sys.exit(not float('$GDUR_AFTER') >= float('$GDUR_BEFORE'))"

# --- counters through the admin RPC -----------------------------------------
if [ -x "$SFCTL" ]; then
    # Three frames from h1's port that hit s1's anti-spoofing drop.
    "$PY" - "e1$SF_ID" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for _ in range(3):
    s.send(b"\xff" * 6 + bytes.fromhex("0200000000a1") + b"\x88\xb5"
           + b"\0" * 50)
EOF
    SOCK=$STATE/admin.sock
    rules_json() { "$SFCTL" --socket "$SOCK" --json rules 1; }
    dropped() {
        rules_json | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
rules = r["rules"] if isinstance(r, dict) else r
n = sum(x.get("n_packets", 0) for x in rules
        if x.get("priority") == 49000)
sys.exit(0 if n >= 3 else 1)'
    }
    check "sfctl rules: anti-spoofing drop counted the 3 frames" \
        sf_wait 15 dropped
fi

kill "$CPID"
wait "$CPID" 2>/dev/null
sf_done
