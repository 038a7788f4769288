#!/usr/bin/env bash
# hostagent_filter: the agent's packet socket sees SCAFFOLD frames only.
#
# Two agents in static mode on a bare veth pair that also carries kernel
# UDP (IPv4 addresses on both ends).  2000 kernel UDP datagrams from A to
# B (to a port nobody listens on, and to one a socket reads) must not reach
# agent B at all: its frame counter does not move by them and rx_bad stays
# 0 (before the BPF filter checked the SCAFFOLD version byte, each was
# parsed and counted as a bad SCAFFOLD version).  A bound flow keeps
# working alongside.  (Kernel UDP whose first payload byte is 1 still
# passes the filter and is counted by the codec: the filter checks only
# the fixed-offset fields docs/protocol.md names.)
. "$(dirname "$0")/lib.sh"
sf_init hostagent_filter

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
N=2000
[ -x "$AGENT" ] && [ -x "$SFCAT" ] || sf_die "build first: $AGENT, $SFCAT"
command -v python3 >/dev/null || sf_die "python3 needed"

sf_netns a >/dev/null || sf_die "netns a"
sf_netns b >/dev/null || sf_die "netns b"
nsA=sf$SF_ID-a nsB=sf$SF_ID-b
ifA=sf${SF_ID}a ifB=sf${SF_ID}b
sf_veth "$ifA" "$ifB" || sf_die "veth"
ip link set "$ifA" netns "$nsA" && ip link set "$ifB" netns "$nsB" \
    || sf_die "move veth"
ip -n "$nsA" link set "$ifA" up
ip -n "$nsB" link set "$ifB" up
ip -n "$nsA" addr add 192.0.2.1/24 dev "$ifA"
ip -n "$nsB" addr add 192.0.2.2/24 dev "$ifB"
macA=$(ip netns exec "$nsA" cat "/sys/class/net/$ifA/address")
macB=$(ip netns exec "$nsB" cat "/sys/class/net/$ifB/address")
inA() { nsenter --net="/run/netns/$nsA" "$@"; }
inB() { nsenter --net="/run/netns/$nsB" "$@"; }
statusB() { inB "$AGENT" --status; }
start_in() {   # start_in VAR NS LOG CMD...
    local var=$1 ns=$2 log=$3 pid
    shift 3
    nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
    pid=$!
    sf_on_exit "kill -9 $pid"
    printf -v "$var" '%s' "$pid"
}
start_in pidA "$nsA" "$SF_TMP/agentA.log" "$AGENT" \
    --iface "$ifA" --flowid-prefix 10.1 --gateway-mac "$macB"
start_in pidB "$nsB" "$SF_TMP/agentB.log" "$AGENT" \
    --iface "$ifB" --flowid-prefix 10.2 --gateway-mac "$macA"
sf_wait 5 statusB >/dev/null || sf_die "agent B did not start"
start_in pidS "$nsB" "$SF_TMP/server.log" "$SFCAT" --listen --echo 80
sf_wait 5 grep -q '^listening 10.2.' "$SF_TMP/server.log" \
    || sf_die "server did not listen"
# A kernel UDP socket on B that reads (so that not every datagram turns
# into an ICMP error).
start_in pidU "$nsB" "$SF_TMP/udp.log" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 9000))
while True:
    s.recv(2048)
'

frames() { statusB | sed -n 's/^frames rx=\([0-9]*\) .*/\1/p'; }
rx_bad() { statusB | sed -n 's/^frames .* rx_bad=\([0-9]*\) .*/\1/p'; }
f0=$(frames)
inA python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range('"$N"'):
    # Any first payload byte but 1 (the SCAFFOLD version).
    s.sendto(bytes([(i * 7) % 256 or 2]).replace(b"\x01", b"\x02")
             + b"x" * 99, ("192.0.2.2", 9000 + i % 2))
' || sf_die "kernel UDP sender"
sleep 0.5
f1=$(frames)
echo "# agent B frames read during $N kernel UDP datagrams: $((f1 - f0))"
echo "# agent B rx_bad: $(rx_bad)"
check "kernel UDP does not reach the agent (< 100 frames read)" \
    test $((f1 - f0)) -lt 100
check_eq "rx_bad stays 0" 0 "$(rx_bad)"
echo hello | inA "$SFCAT" 80 >"$SF_TMP/echo.log" 2>&1
check "a bound flow still works" \
    grep -qx "recv: echo:hello" "$SF_TMP/echo.log"
check "agents still running" kill -0 "$pidA" "$pidB"
sf_done
