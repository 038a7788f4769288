#!/usr/bin/env bash
# hostagent_ovs: bound flows through real label routers (userspace OVS)
# with the real scaffold-controller, agents in controller mode.
#
# s1 (label, OpenFlow 1.3) - s2 (label, 1.3) - s3 (object router, 1.5);
# h1 behind s1 port 5, h2 behind s2 port 6 (the controller_hostagent.sh
# topology).  Both agents join in band; the controller installs prefix
# routes and anti-spoofing rules.  h2's agent binds its listener with the
# controller (BindRequest; the controller records the instance), but the
# object router may not have a group for objectID 80 yet: h1 resolves it
# with a static entry (80=1.16.0: "whatever listens on 80 on host 1.16",
# the first hostID of s2's block of 16: docs/protocol.md section 2),
# and its SYN travels resolved through both label routers; everything
# after the handshake is ordinary resolved traffic.
#
#   - connect, data both ways with content checked, orderly close;
#   - an unpaced 1400-byte blast through the two label routers: what
#     arrives is reported (a figure, not a pass criterion: sf-iperf will
#     pace and measure properly).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init hostagent_ovs

ctl_vars j
ctl_switches
ctl_chain

sf_netns h1 >/dev/null || sf_die "netns h1"
sf_netns h2 >/dev/null || sf_die "netns h2"
NS1=sf$SF_ID-h1 NS2=sf$SF_ID-h2
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth h1"
sf_veth "p2$SF_ID" "e2$SF_ID" || sf_die "veth h2"
ip link set "e1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "e1$SF_ID" up
ip link set "e2$SF_ID" netns "$NS2" && ip -n "$NS2" link set "e2$SF_ID" up
MAC1=$(ip netns exec "$NS1" cat "/sys/class/net/e1$SF_ID/address")
MAC2=$(ip netns exec "$NS2" cat "/sys/class/net/e2$SF_ID/address")
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
sf_port_add "$OVS" "$S2" "p2$SF_ID" 6 || sf_die "port s2:6"

ctl_start


AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
[ -x "$AGENT" ] && [ -x "$SFCAT" ] || sf_die "build first: $AGENT, $SFCAT"
ip netns exec "$NS1" "$AGENT" --iface "e1$SF_ID" --static-object 80=1.16.0 \
    >"$SF_TMP/agent1.log" 2>&1 &
A1=$!
sf_on_exit "kill $A1"
st() { nsenter --net="/run/netns/$1" "$AGENT" --status; }
joined() { st "$1" | grep -q "prefix=$2.0 mode=controller"; }
# One after the other: the two JoinRequests reach the controller through
# different switches, in no fixed order: the first switch gets the block
# of hostIDs 0..15, the second 16..31.
check "h1 joined as 1.1" sf_wait 10 joined "$NS1" 1.1
ip netns exec "$NS2" "$AGENT" --iface "e2$SF_ID" >"$SF_TMP/agent2.log" 2>&1 &
A2=$!
sf_on_exit "kill $A2"
check "h2 joined as 1.16" sf_wait 10 joined "$NS2" 1.16
flows() { sf_ovs_ofctl "$OVS" -O OpenFlow13 --no-stats dump-flows "$1"; }
has_flow() { flows "$1" | grep -q -- "$2"; }
check "s1 routes s2's block 1.16/12 toward s2" sf_wait 5 has_flow "$S1" \
    "nw_dst=1.16.0.0/12 actions=output:1"

nsenter --net="/run/netns/$NS2" "$SFCAT" --listen --echo 80 \
    >"$SF_TMP/server.log" 2>&1 &
SP=$!
sf_on_exit "kill $SP"
sf_wait 5 grep -q '^listening 1.16.' "$SF_TMP/server.log" \
    || sf_die "server: $(cat "$SF_TMP/server.log")"
binds() { st "$NS2" | grep -q "^binds bound=$1 pending=0 "; }
check "h2's listener bound with the controller (status bound=1)" \
    sf_wait 5 binds 1
big=$(head -c 1050 /dev/urandom | base64 -w0 | head -c 1400)
printf 'hello\nworld\n%s\n' "$big" >"$SF_TMP/in"
nsenter --net="/run/netns/$NS1" "$SFCAT" 80 <"$SF_TMP/in" \
    >"$SF_TMP/client.log" 2>&1
check "h1 connected to objectID 80 on h2 through s1 and s2" \
    grep -q '^connected 1.1.[0-9]*:[0-9]* > 1.16.[0-9]*:80$' "$SF_TMP/client.log"
check "data both ways, content intact (1400 bytes included)" \
    sh -c "grep -qx 'recv: echo:hello' '$SF_TMP/client.log' && grep -qx 'recv: echo:$big' '$SF_TMP/client.log' && grep -qx 'recv 0: world' '$SF_TMP/server.log'"
check "all 3 answered" grep -qx 'sent 3 received 3' "$SF_TMP/client.log"
check "orderly close seen by the server" \
    sf_wait 5 grep -q '^closed 0$' "$SF_TMP/server.log"

# Throughput through the two label routers (the userspace datapath is the
# bottleneck: ENVIRONMENT.md measured 55-62 kpps for kernel UDP here).
kill "$SP"
check "listener closed: unbound with the controller (bound=0)" \
    sf_wait 5 binds 0
nsenter --net="/run/netns/$NS2" "$SFCAT" --listen 80 \
    >"$SF_TMP/sink.log" 2>&1 &
SP2=$!
sf_on_exit "kill $SP2"
sf_wait 5 grep -q '^listening' "$SF_TMP/sink.log" || sf_die "sink"
N=${HA_BLAST:-100000}
nsenter --net="/run/netns/$NS1" "$SFCAT" 80 --count "$N" --size 1400 \
    >"$SF_TMP/blast.log" 2>&1
sf_wait 10 grep -q '^total' "$SF_TMP/sink.log"
got=$(sed -n 's/^total \([0-9]*\) datagrams.*/\1/p' "$SF_TMP/sink.log")
sf_log "blast: $(cat "$SF_TMP/blast.log")"
sf_log "blast: $got of $N datagrams of 1400 B arrived"
check "the blast went through (unpaced: loss expected past ~60 kpps)" \
    test "${got:-0}" -gt 0
sf_done
