#!/usr/bin/env bash
# hostagent_rxbench: receive-path throughput of scaffold-hostagent on a bare
# veth pair (no OVS), two agents in static mode, sfcat's blast mode.
#
# Host A blasts HA_BENCH_COUNT (default 200000) datagrams of 1400 bytes on
# one bound flow to objectID 80 on host B.  Reported, as "# " lines: frames
# the interface of B received (ip -s link), frames B's agent read, datagrams
# B's application got, and the sender's rate.  Asserted only what does not
# depend on the machine's speed: the flow worked, every frame the agent read
# is accounted for, and the agent survived the load.
#   HA_AGENT=path  benchmark another agent binary (e.g. an older build);
#   HA_AGENT_ARGS  extra options for both agents (e.g. --rx-ring 1024:4:1).
. "$(dirname "$0")/lib.sh"
sf_init hostagent_rxbench

AGENT=${HA_AGENT:-$SF_BIN/scaffold-hostagent}
SFCAT=$SF_BIN/sfcat
COUNT=${HA_BENCH_COUNT:-200000}
[ -x "$AGENT" ] && [ -x "$SFCAT" ] || sf_die "build first: $AGENT, $SFCAT"

sf_netns a >/dev/null || sf_die "netns a"
sf_netns b >/dev/null || sf_die "netns b"
nsA=sf$SF_ID-a nsB=sf$SF_ID-b
ifA=sf${SF_ID}a ifB=sf${SF_ID}b
sf_veth "$ifA" "$ifB" || sf_die "veth"
ip link set "$ifA" netns "$nsA" && ip link set "$ifB" netns "$nsB" \
    || sf_die "move veth"
ip -n "$nsA" link set "$ifA" up
ip -n "$nsB" link set "$ifB" up
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
    --iface "$ifA" --flowid-prefix 10.1 --gateway-mac "$macB" \
    ${HA_AGENT_ARGS:-}
start_in pidB "$nsB" "$SF_TMP/agentB.log" "$AGENT" \
    --iface "$ifB" --flowid-prefix 10.2 --gateway-mac "$macA" \
    ${HA_AGENT_ARGS:-}
sf_wait 5 statusB >/dev/null || sf_die "agent B did not start"
start_in pidS "$nsB" "$SF_TMP/server.log" "$SFCAT" --listen 80
sf_wait 5 grep -q '^listening 10.2.' "$SF_TMP/server.log" \
    || sf_die "server did not listen"

rx_if() { ip -n "$nsB" -s link show "$ifB" | awk '/RX:/{getline; print $2}'; }
now_ns() { date +%s%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rx0=$(rx_if)
c0=$(cpu_ticks "$pidB")
t0=$(now_ns)
inA "$SFCAT" 80 --count "$COUNT" --size 1400 --wait-ms 0 \
    >"$SF_TMP/client.log" 2>&1
# End to end: until the application saw the end of the flow (10 ms poll).
for _ in $(seq 1000); do
    grep -q '^total ' "$SF_TMP/server.log" && break
    sleep 0.01
done
t1=$(now_ns)
rx1=$(rx_if)
c1=$(cpu_ticks "$pidB")
got=$(awk '/^total /{print $2}' "$SF_TMP/server.log")
agent_rx=$(statusB | sed -n 's/^frames rx=\([0-9]*\) .*/\1/p')
echo "# sender: $(cat "$SF_TMP/client.log")"
ms=$(( (t1 - t0) / 1000000 ))
echo "# end to end: ${got:-0} datagrams in $ms ms:" \
     "$(( ${got:-0} / (ms > 0 ? ms : 1) )) kpps delivered"
hz=$(getconf CLK_TCK)
cpu_ms=$(( (c1 - c0) * 1000 / hz ))
echo "# agent B CPU: $cpu_ms ms for ${agent_rx:-0} frames:" \
     "$(( cpu_ms * 1000000 / (${agent_rx:-0} > 0 ? agent_rx : 1) )) ns/frame"
echo "# interface B received $((rx1 - rx0)) frames; agent B read $agent_rx;" \
     "application got ${got:-0} of $COUNT datagrams"
statusB | grep -E '^(frames|netio|ipc)' | sed 's/^/# B: /'
check "datagrams delivered over the flow" test "${got:-0}" -gt 0
check "agent B still running" kill -0 "$pidB"
check "every frame the agent read came through the interface" \
    test "${agent_rx:-0}" -le "$((rx1 - rx0))"
sf_done
