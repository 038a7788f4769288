#!/usr/bin/env bash
# hostagent_rtt: round-trip latency through two scaffold-hostagents on a
# bare veth pair (no OVS), against kernel UDP on the same pair.
#
# sf-iperf --rtt sends HA_RTT_COUNT (default 2000) datagrams of 18 bytes
# one at a time and the server echoes each; reported as "# " lines with
# the commands: bound flow, unbound datagrams, kernel UDP.  Asserted only
# what must hold on any machine: every mode answers, and the agents'
# receive path adds no batching delay (the median SCAFFOLD round trip is
# under 0.5 ms; a receive ring waiting for its block timeout would show
# 1 ms or more per hop).
#   HA_AGENT_ARGS  extra options for both agents (e.g. --rx-ring 256);
#   HA_IPERF       another sf-iperf binary.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_rtt

AGENT=$SF_BIN/scaffold-hostagent
IPERF=${HA_IPERF:-$SF_BIN/sf-iperf}
COUNT=${HA_RTT_COUNT:-2000}
[ -x "$AGENT" ] && [ -x "$IPERF" ] || sf_die "build first: $AGENT, $IPERF"

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
statusA() { inA "$AGENT" --status; }
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
sf_wait 5 statusA >/dev/null || sf_die "agent A did not start"
sf_wait 5 statusB >/dev/null || sf_die "agent B did not start"
statusB | grep '^netio' | sed 's/^/# B: /'
start_in pidS "$nsB" "$SF_TMP/server.log" "$IPERF" -s -o 5001
start_in pidU "$nsB" "$SF_TMP/userver.log" "$IPERF" -s --udp 5001
sleep 0.3

median() { sed -n 's/.*median \([0-9.]*\),.*/\1/p' "$1"; }
for mode in bound dgram udp; do
    case $mode in
    bound) args=(-c 5001) ;;
    dgram) args=(-c 5001 --dgram) ;;
    udp) args=(--udp 192.0.2.2:5001) ;;
    esac
    echo "# sf-iperf ${args[*]} --rtt -l 18 -n $COUNT ${HA_AGENT_ARGS:-}"
    inA "$IPERF" "${args[@]}" --rtt -l 18 -n "$COUNT" \
        >"$SF_TMP/rtt-$mode.log" 2>&1
    sed 's/^/# /' "$SF_TMP/rtt-$mode.log"
    check "$mode: round trips answered" \
        grep -q "rtt $mode.* $COUNT samples" "$SF_TMP/rtt-$mode.log"
done
under_half_ms() { awk -v m="$(median "$SF_TMP/rtt-$1.log")" \
    'BEGIN { exit !(m != "" && m < 500) }'; }
check "bound flow: median round trip under 0.5 ms" under_half_ms bound
check "agents still running" kill -0 "$pidA" "$pidB"
sf_done
