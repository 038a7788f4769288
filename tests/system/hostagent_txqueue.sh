#!/usr/bin/env bash
# hostagent_txqueue: the agent's transmit queue when the kernel pushes back.
#
# Two agents in static mode on a veth pair; host A's interface has a tbf
# qdisc (100 Mb/s, 8 MB queue) so that frames wait in the qdisc, charged to
# the agent's AF_PACKET socket, until its send buffer is full and sendmmsg
# says EAGAIN.  A blast of 10000 datagrams of 1400 bytes (14 MB, about
# 1.2 s at that rate) from A to B must then:
#   - make the agent wait for writability (status tx_waits > 0) instead of
#     sleeping in a loop;
#   - pause the application's IPC (backpressure), so that nothing is
#     dropped from the agent's queue (tx_queue_drops=0) and every datagram
#     arrives;
#   - leave both agents running and a connection that still answers.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_txqueue

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
COUNT=10000
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
tc -n "$nsA" qdisc add dev "$ifA" root tbf rate 100mbit burst 32kb \
    limit 8mb || sf_die "tbf qdisc"
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
    --iface "$ifA" --flowid-prefix 10.1 --gateway-mac "$macB"
start_in pidB "$nsB" "$SF_TMP/agentB.log" "$AGENT" \
    --iface "$ifB" --flowid-prefix 10.2 --gateway-mac "$macA"
sf_wait 5 statusA >/dev/null || sf_die "agent A did not start"
sf_wait 5 statusB >/dev/null || sf_die "agent B did not start"
start_in pidS "$nsB" "$SF_TMP/server.log" "$SFCAT" --listen --echo 80
sf_wait 5 grep -q '^listening 10.2.' "$SF_TMP/server.log" \
    || sf_die "server did not listen"
start_in pidS2 "$nsB" "$SF_TMP/sink.log" "$SFCAT" --listen 81
sf_wait 5 grep -q '^listening 10.2.' "$SF_TMP/sink.log" \
    || sf_die "sink did not listen"

inA "$SFCAT" 81 --count "$COUNT" --size 1400 --wait-ms 0 \
    >"$SF_TMP/client.log" 2>&1
sf_wait 30 grep -q '^total ' "$SF_TMP/sink.log"
got=$(awk '/^total /{print $2}' "$SF_TMP/sink.log")
echo "# sender: $(cat "$SF_TMP/client.log")"
statusA | grep -E '^netio' | sed 's/^/# A: /'
waits() { statusA | grep -Eq '^netio .* tx_waits=[1-9]'; }
check "sendmmsg said EAGAIN: the agent waited for writability" waits
netio_has() { statusA | grep -q "^netio .* $1 "; }
check "no frame dropped from the transmit queue (backpressure)" \
    netio_has tx_queue_drops=0
check "all $COUNT datagrams arrived" test "${got:-0}" -eq "$COUNT"
check "queue drained" sf_wait 5 netio_has tx_queued=0
check "agents still running" kill -0 "$pidA" "$pidB"
echo hello | inA "$SFCAT" 80 >"$SF_TMP/echo.log" 2>&1
check "a new connection still works" \
    grep -qx "recv: echo:hello" "$SF_TMP/echo.log"
sf_done
