#!/usr/bin/env bash
# scaffold-controller with the real scaffold-hostagent (interop).
#
# Same topology as controller_join.sh, but the hosts run the suite's
# scaffold-hostagent in controller mode: each joins in band, gets its
# prefix, and the label routers get the prefix rules.  (Keepalives are
# every 20 s, beyond this test's span.)
#
# s1 (label, OpenFlow 1.3) - s2 (label, 1.3) - s3 (object router, 1.5);
# h1 behind s1 port 5, h2 behind s2 port 6 (h1's second interface on s2
# port 7 is set up as in controller_join.sh but not used here).
. "$(dirname "$0")/lib.sh"
sf_isolate "$@"
sf_init controller_hostagent

CTL=${SF_CTL:-$SF_BIN/scaffold-controller}
PY=/usr/bin/python3
[ -x "$CTL" ] || sf_die "build/bin/scaffold-controller not built"

OVS=$SF_TMP/ovs
STATE=$SF_TMP/state
LOG=$SF_TMP/controller.log
PORT=$((20000 + RANDOM % 20000))
S1=j1$SF_ID
S2=j2$SF_ID
S3=j3$SF_ID

sf_ovs_start "$OVS" || sf_die "start private OVS"
for br in "$S1" "$S2" "$S3"; do
    sf_br_add "$OVS" "$br" secure || sf_die "add $br"
done
sf_ovs_vsctl "$OVS" set bridge "$S1" other-config:datapath-id=0000000000000001 \
    protocols=OpenFlow13 \
    -- set bridge "$S2" other-config:datapath-id=0000000000000002 \
    protocols=OpenFlow13 \
    -- set bridge "$S3" other-config:datapath-id=0000000000000003 \
    protocols=OpenFlow15 || sf_die "set datapath ids"
sf_veth "a1$SF_ID" "a2$SF_ID" || sf_die "veth a"
sf_veth "b2$SF_ID" "b3$SF_ID" || sf_die "veth b"
sf_port_add "$OVS" "$S1" "a1$SF_ID" 1 || sf_die "port s1:1"
sf_port_add "$OVS" "$S2" "a2$SF_ID" 1 || sf_die "port s2:1"
sf_port_add "$OVS" "$S2" "b2$SF_ID" 2 || sf_die "port s2:2"
sf_port_add "$OVS" "$S3" "b3$SF_ID" 1 || sf_die "port s3:1"

NS1=$(sf_netns h1) || sf_die "netns h1"
NS2=$(sf_netns h2) || sf_die "netns h2"
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth h1"
sf_veth "q1$SF_ID" "f1$SF_ID" || sf_die "veth h1 second"
sf_veth "p2$SF_ID" "e2$SF_ID" || sf_die "veth h2"
ip link set "e1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "e1$SF_ID" up
ip link set "f1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "f1$SF_ID" up
ip link set "e2$SF_ID" netns "$NS2" && ip -n "$NS2" link set "e2$SF_ID" up
MAC1=$(ip netns exec "$NS1" cat "/sys/class/net/e1$SF_ID/address")
MAC2=$(ip netns exec "$NS2" cat "/sys/class/net/e2$SF_ID/address")
# h1's second interface carries the same MAC: the same host, moved.
ip -n "$NS1" link set "f1$SF_ID" address "$MAC1"
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
sf_port_add "$OVS" "$S2" "p2$SF_ID" 6 || sf_die "port s2:6"
sf_port_add "$OVS" "$S2" "q1$SF_ID" 7 || sf_die "port s2:7"

APORT=$((PORT + 1))
$SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" --state-dir "$STATE" \
    --ssid 1 --role 1=label --role 2=label --role 3=object \
    --admin-tcp "tcp:127.0.0.1:$APORT" --admin-token "tok$SF_ID" \
    --probe-interval 200 --link-timeout 1000 >"$LOG" 2>&1 &
CPID=$!
sf_on_exit "kill $CPID"
for s in "$S1" "$S2" "$S3"; do
    sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
        -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
done
status_has() { grep -q -- "$1" "$STATE/status"; }
check "links discovered" sf_wait 15 status_has "^links 4$"


AGENT=$SF_BIN/scaffold-hostagent
[ -x "$AGENT" ] || sf_die "scaffold-hostagent not built"
"$AGENT" --help >/dev/null 2>&1
ip netns exec "$NS1" "$AGENT" --iface "e1$SF_ID" -v >"$SF_TMP/agent1.log" 2>&1 &
A1=$!
sf_on_exit "kill $A1"
st() { nsenter --net="/run/netns/$1" "$AGENT" --status; }
joined() { st "$1" | grep -q "prefix=$2.0 mode=controller"; }
check "h1 agent joined as 1.1" sf_wait 10 joined "$NS1" 1.1
ip netns exec "$NS2" "$AGENT" --iface "e2$SF_ID" -v >"$SF_TMP/agent2.log" 2>&1 &
A2=$!
sf_on_exit "kill $A2"
check "h2 agent joined as 1.2" sf_wait 10 joined "$NS2" 1.2
st "$NS1" | sed 's/^/# h1 status: /'
flows() { sf_ovs_ofctl "$OVS" -O OpenFlow13 --no-stats dump-flows "$1"; }
has_flow() { flows "$1" | grep -q -- "$2"; }
check "s1 routes 1.2/16 toward s2" sf_wait 5 has_flow "$S1" \
    "nw_dst=1.2.0.0/16 actions=output:1"
check "s1 last hop to h1 (1.1/16, port 5)" has_flow "$S1" \
    "nw_dst=1.1.0.0/16 actions=set_field:02:5c:00:00:00:01->eth_src,set_field:$MAC1->eth_dst,output:5"
# The epoch is the controller's, kept in its store (new with a fresh one).
EPOCH=$(sqlite3 -cmd ".timeout 2000" "$STATE/scaffold.db" \
    "select value from meta where key = 'controller_epoch'")
check "h1 agent in state JOINED with the controller's epoch ($EPOCH)" \
    eval 'st "$NS1" | grep -q "join state=JOINED epoch=$EPOCH\b"'
kill -TERM "$CPID"
wait "$CPID"
check_eq "controller exits 0" 0 "$?"
sf_done
