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
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init controller_hostagent

ctl_vars j
ctl_switches
ctl_chain
ctl_hosts_moving
ctl_start


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
check "h2 agent joined as 1.16 (s2's block of 16)" sf_wait 10 joined "$NS2" 1.16
st "$NS1" | sed 's/^/# h1 status: /'
flows() { sf_ovs_ofctl "$OVS" -O OpenFlow13 --no-stats dump-flows "$1"; }
has_flow() { flows "$1" | grep -q -- "$2"; }
check "s1 routes s2's block 1.16/12 toward s2" sf_wait 5 has_flow "$S1" \
    "nw_dst=1.16.0.0/12 actions=output:1"
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

# Part 2: a controller serving two ssIDs, 4 and 5, with blocks of 256
# hostIDs (a whole ssID per router): fresh state, agents restarted.  The
# switches reconnect by themselves (max_backoff 1 s).
kill "$A1" "$A2"
wait "$A1" "$A2" 2>/dev/null
STATE2=$SF_TMP/state2
"$CTL" --listen "tcp:127.0.0.1:$PORT" --state-dir "$STATE2" \
    --ssids 4-5 --host-block 256 --role 1=label --role 2=label \
    --role 3=object --probe-interval 200 --link-timeout 1000 \
    >"$SF_TMP/controller2.log" 2>&1 &
CPID=$!
sf_on_exit "kill $CPID"
check "ssIDs 4-5: links discovered" sf_wait 15 \
    grep -q "^links 4$" "$STATE2/status"
ip netns exec "$NS1" "$AGENT" --iface "e1$SF_ID" -v >"$SF_TMP/agent1b.log" 2>&1 &
A1=$!
sf_on_exit "kill $A1"
check "h1 joined as 4.1 (s1 got ssID 4)" sf_wait 10 joined "$NS1" 4.1
ip netns exec "$NS2" "$AGENT" --iface "e2$SF_ID" -v >"$SF_TMP/agent2b.log" 2>&1 &
A2=$!
sf_on_exit "kill $A2"
check "h2 joined as 5.1 (s2 got ssID 5)" sf_wait 10 joined "$NS2" 5.1
check "s1 routes ssID 5 (s2's block) with one /8 toward s2" sf_wait 5 \
    has_flow "$S1" "priority=39000,ip,nw_dst=5.0.0.0/8 actions=output:1"
check "s1: unresolved of both ssIDs toward the object router" eval \
    'has_flow "$S1" "priority=40000,ip,nw_dst=4.0.0.0/16 actions=output:1" &&
     has_flow "$S1" "priority=40000,ip,nw_dst=5.0.0.0/16 actions=output:1"'
check "s1: last hop to h1 from the primary ssID's gateway MAC" has_flow "$S1" \
    "nw_dst=4.1.0.0/16 actions=set_field:02:5c:00:00:00:04->eth_src,set_field:$MAC1->eth_dst,output:5"
check "s2 routes ssID 4 toward s1, unresolved toward s3" eval \
    'has_flow "$S2" "nw_dst=4.0.0.0/8 actions=output:1" &&
     has_flow "$S2" "priority=40000,ip,nw_dst=4.0.0.0/16 actions=output:2"'
kill -TERM "$CPID"
wait "$CPID"
check_eq "controller (ssIDs 4-5) exits 0" 0 "$?"
sf_done
