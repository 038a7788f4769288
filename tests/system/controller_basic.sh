#!/usr/bin/env bash
# scaffold-controller against a private patched OVS: three userspace
# bridges in a line (s1 OpenFlow 1.3 only, s2 1.0/1.3/1.5, s3 1.0 only)
# joined by veth pairs, all pointed at the controller on a unique port, and
# a fourth (s4, alone) listening passively, which the controller reaches
# with --connect.
#
# Checks: the four switches connect and get the negotiated version, the
# base rules land (cookies 0x5c...), the four directed links are discovered,
# a port going down removes its link, fake switches sending garbage are
# closed while the real ones stay connected, a peer that completes hello
# and then goes silent is dropped after the dead-peer timeout while the real
# switches (which answer echo requests) stay, and SIGTERM stops the
# controller cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_basic

ctl_vars c
S4=c4$SF_ID         # passive: the controller connects to it (--connect)
PPORT=$((PORT + 1))

sf_ovs_start "$OVS" || sf_die "start private OVS"
sf_br_add "$OVS" "$S1" secure || sf_die "add $S1"
sf_br_add "$OVS" "$S2" secure || sf_die "add $S2"
sf_br_add "$OVS" "$S3" secure || sf_die "add $S3"
sf_ovs_vsctl "$OVS" set bridge "$S1" other-config:datapath-id=0000000000000001 \
    protocols=OpenFlow13 \
    -- set bridge "$S2" other-config:datapath-id=0000000000000002 \
    protocols=OpenFlow10,OpenFlow13,OpenFlow15 \
    -- set bridge "$S3" other-config:datapath-id=0000000000000003 \
    protocols=OpenFlow10 || sf_die "set datapath ids"

sf_br_add "$OVS" "$S4" secure || sf_die "add $S4"
sf_ovs_vsctl "$OVS" set bridge "$S4" other-config:datapath-id=0000000000000004 \
    protocols=OpenFlow13 -- set-controller "$S4" "ptcp:$PPORT:127.0.0.1" \
    || sf_die "passive controller on $S4"

ctl_chain

# SF_CTL_WRAPPER="valgrind --leak-check=full --error-exitcode=3" runs it
# under a checker (same process, so $! and signals still work).
$SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" --state-dir "$STATE" \
    --connect "tcp:127.0.0.1:$PPORT" \
    --echo-interval 300 --dead-timeout 1500 \
    --probe-interval 200 --link-timeout 1000 >"$LOG" 2>&1 &
CPID=$!
sf_on_exit "kill $CPID"

for s in "$S1" "$S2" "$S3"; do
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
        -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
done

connected() {
    [ "$(sf_ovs_vsctl "$OVS" get controller "$1" is_connected)" = true ]
}
status_has() { grep -q -- "$1" "$STATE/status"; }

for s in "$S1" "$S2" "$S3"; do
    check "$s connects" sf_wait 10 connected "$s"
done
check "status lists s1 at OpenFlow 1.3" \
    sf_wait 5 status_has "switch 0000000000000001 OF1.3 .*provisioned=yes"
check "status lists s2 at OpenFlow 1.5" \
    sf_wait 5 status_has "switch 0000000000000002 OF1.5 .*provisioned=yes"
check "status lists s3 at OpenFlow 1.0" \
    sf_wait 5 status_has "switch 0000000000000003 OF1.0 .*provisioned=yes"
check "active connection (--connect) to passive s4" \
    sf_wait 10 status_has "switch 0000000000000004 OF1.3 .*provisioned=yes peer=127.0.0.1:$PPORT"

flows=$(sf_ovs_ofctl "$OVS" -O OpenFlow13 dump-flows "$S1")
check "s1 has the discovery rule" \
    grep -q "cookie=0x5c01000000000000.*dl_type=0x88cc.*CONTROLLER:65535" \
    <<<"$flows"
check "s1 has the control objectID rule" \
    grep -q "cookie=0x5c02000000000000.*udp.*tp_dst=1 .*CONTROLLER" \
    <<<"$flows"
check "s1 has the counted default drop" \
    grep -q "cookie=0x5c03000000000000.*priority=0 actions=drop" <<<"$flows"

for l in "0000000000000001:1 0000000000000002:1" \
         "0000000000000002:1 0000000000000001:1" \
         "0000000000000002:2 0000000000000003:1" \
         "0000000000000003:1 0000000000000002:2"; do
    check "link $l discovered" sf_wait 10 status_has "link $l"
done
check_eq "exactly four links" 4 "$(sed -n 's/^links //p' "$STATE/status")"

# Transit rules follow the discovered links (1.3+ switches only).
has_flow() {   # has_flow BRIDGE VERSION REGEX
    sf_ovs_ofctl "$OVS" -O "$2" dump-flows "$1" | grep -q -- "$3"
}
check "s1 transit rule for port 1" sf_wait 5 has_flow "$S1" OpenFlow13 \
    "cookie=0x5c04000000000001, .*in_port=1 actions=goto_table:1"
check "s2 transit rule for port 2" sf_wait 5 has_flow "$S2" OpenFlow15 \
    "cookie=0x5c04000000000002, .*in_port=2 actions=goto_table:1"
check "s2 counted drop in table 1" has_flow "$S2" OpenFlow15 \
    "cookie=0x5c03000000000001, .*table=1, .*priority=0 actions=drop"
check_eq "s3 (OpenFlow 1.0) has only the three base rules" 3 \
    "$(sf_ovs_ofctl "$OVS" -O OpenFlow10 dump-flows "$S3" | grep -c cookie=)"

# The same state in the sqlite store (db/).
q() { sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" "$1"; }
check_eq "db: four switches connected" 4 \
    "$(q 'select count(*) from switches where connected = 1')"
check_eq "db: s2 recorded at OpenFlow 1.5 (0x06)" 6 \
    "$(q 'select of_version from switches where dpid = 2')"
check_eq "db: four links" 4 "$(q 'select count(*) from links')"
check_eq "db: s2 has its two ports" 2 \
    "$(q 'select count(*) from ports where dpid = 2 and up = 1')"
check_eq "db: four switch.up events" 4 \
    "$(q "select count(*) from events where kind = 'switch.up'")"

# A port going down takes its links away (port-status + probe timeout).
ip link set "b3$SF_ID" down
no_link() { ! status_has "link $1"; }
check "s2:2 -> s3:1 lost when the veth goes down" \
    sf_wait 10 no_link "0000000000000002:2 0000000000000003:1"
check "s3:1 -> s2:2 lost when the veth goes down" \
    sf_wait 10 no_link "0000000000000003:1 0000000000000002:2"
check_eq "db: link.down events for both directions" 2 \
    "$(q "select count(*) from events where kind = 'link.down'")"
check_eq "db: two links left" 2 "$(q 'select count(*) from links')"
ip link set "b3$SF_ID" up
no_flow() { ! has_flow "$@"; }
check "s2 transit rule for port 2 removed with the link" \
    sf_wait 5 no_flow "$S2" OpenFlow15 "in_port=2 actions=goto_table:1"
check "s2 transit rule for port 1 kept" has_flow "$S2" OpenFlow15 \
    "in_port=1 actions=goto_table:1"
check "s2:2 -> s3:1 back when the veth comes up" \
    sf_wait 10 status_has "link 0000000000000002:2 0000000000000003:1"
check "s2 transit rule for port 2 back with the link" \
    sf_wait 5 has_flow "$S2" OpenFlow15 "in_port=2 actions=goto_table:1"

# Fake switches that send garbage: each must be closed by the controller.
fake() {   # fake NAME HEX_BYTES: prints "closed" when the controller hangs up
    $PY - "$PORT" "$2" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes.fromhex(sys.argv[2]))
end = time.time() + 5
try:
    while time.time() < end:
        if not s.recv(4096):
            print("closed")
            break
    else:
        print("open")
except ConnectionResetError:
    print("closed")
except socket.timeout:
    print("open")
EOF
}
HELLO13=0400000800000001
check_eq "HTTP request instead of OpenFlow is closed" closed \
    "$(fake http "$(printf 'GET / HTTP/1.0\r\n\r\n' | od -An -tx1 | tr -d ' \n')")"
check_eq "length below 8 is closed" closed "$(fake short 0400000400000001)"
check_eq "undecodable message after hello is closed" closed \
    "$(fake undecodable "${HELLO13}04ee000800000002")"
check_eq "version change after hello is closed" closed \
    "$(fake version "${HELLO13}0102000800000002")"
check "controller logs the protocol errors" \
    grep -q "protocol error, closing: bad OpenFlow version 0x47" "$LOG"
check "controller still running after garbage" kill -0 "$CPID"
for s in "$S1" "$S2" "$S3"; do
    check "$s still connected after garbage" connected "$s"
done

# A peer that says hello and then goes silent: dropped after the dead-peer
# timeout (1.5 s), having been sent a features request and echo requests.
silent=$($PY - "$PORT" <<'EOF'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(bytes.fromhex("0400000800000001"))
t0 = time.time()
buf = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        buf += d
except (ConnectionResetError, socket.timeout):
    pass
types = []
while len(buf) >= 8:
    ver, typ, length, xid = struct.unpack("!BBHI", buf[:8])
    types.append(typ)
    buf = buf[length:]
print("%.1f %s" % (time.time() - t0, ",".join(map(str, types))))
EOF
)
sf_log "silent peer: closed after ${silent% *} s, message types ${silent#* }"
secs=${silent% *}
check "silent peer closed after the dead timeout (1.5 s <= ${secs} s < 5 s)" \
    awk -v t="$secs" 'BEGIN { exit !(t >= 1.4 && t < 5) }'
check "silent peer got hello, features request and an echo request" \
    grep -q "^0,5,.*2" <<<"${silent#* }"
check "controller logs the dead peer" grep -q "dead peer\|no handshake" "$LOG"
for s in "$S1" "$S2" "$S3"; do
    check "$s still connected (answers echo requests)" connected "$s"
done
check_eq "no real switch reconnected" 4 "$(grep -c 'switch up' "$LOG")"

# Reconnect handling: a connection claiming s3's datapath id replaces the
# real one; the real s3 then reconnects and replaces the impostor.
impostor=$($PY - "$PORT" <<'EOF'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(bytes.fromhex("0100000800000001"))          # OF1.0 hello
buf = b""
def read_msg():
    global buf
    while len(buf) < 8 or len(buf) < struct.unpack("!H", buf[2:4])[0]:
        d = s.recv(4096)
        if not d:
            return None
        buf += d
    n = struct.unpack("!H", buf[2:4])[0]
    m, buf = buf[:n], buf[n:]
    return m
got = []
while True:
    try:
        m = read_msg()
    except (ConnectionResetError, socket.timeout):
        m = None
    if m is None:
        break
    ver, typ, n, xid = struct.unpack("!BBHI", m[:8])
    got.append(typ)
    if typ == 5:     # features request -> reply as dpid 3, no ports
        s.sendall(struct.pack("!BBHIQIB3xII", 1, 6, 32, xid, 3, 0, 1, 0, 0))
    elif typ == 18:  # barrier request -> reply
        s.sendall(struct.pack("!BBHI", 1, 19, 8, xid))
    elif typ == 2:   # echo request -> reply
        s.sendall(struct.pack("!BBHI", 1, 3, 8, xid) + m[8:])
print("closed", 14 in got, 18 in got)
EOF
)
sf_log "impostor: $impostor"
check_eq "impostor got flow-mods and a barrier, then was replaced" \
    "closed True True" "$impostor"
check "controller logged the replacement" \
    grep -q "dpid 0000000000000003 .*replaces the switch's previous" "$LOG"
check "real s3 connected again" sf_wait 10 connected "$S3"
check "status shows s3 provisioned again" \
    sf_wait 5 status_has "switch 0000000000000003 OF1.0 .*provisioned=yes"

kill -TERM "$CPID"
wait "$CPID"
rc=$?
check_eq "controller exits 0 on SIGTERM" 0 "$rc"
check "event loop closed clean" grep -q "|stopped" "$LOG"
check "no leftover handles" bash -c "! grep -q 'loop not empty' '$LOG'"
check_eq "db: no switch connected after stop" 0 \
    "$(q 'select count(*) from switches where connected = 1')"
check_eq "db: no links after stop" 0 "$(q 'select count(*) from links')"

if [ "$SF_FAIL" -gt 0 ]; then
    sed 's/^/# controller: /' "$LOG" | tail -60
fi
sf_done
