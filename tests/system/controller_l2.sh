#!/usr/bin/env bash
# scaffold-controller --l2-learning: ordinary (non-SCAFFOLD) traffic.
#
# 1. A label router (patched OVS, OpenFlow 1.3) with two plain IPv4
#    namespaces: without --l2-learning their ping is dropped (table-0
#    default); with it, ARP is flooded by packet-outs, the replies are
#    learnt, ping works and the bridge holds learnt flows
#    (cookie 0x5c06..., idle_timeout=60).
# 2. sf-ofload (bench/, OpenFlow 1.0 cbench-style load): 16 switches
#    complete the handshake and every packet-in is answered by one flow-mod
#    naming its buffer, without OpenFlow errors.  Figures are printed, not
#    checked.
. "$(dirname "$0")/lib.sh"
sf_isolate "$@"
sf_init controller_l2

CTL=${SF_CTL:-$SF_BIN/scaffold-controller}
OFLOAD=$SF_BIN/sf-ofload
PY=/usr/bin/python3
[ -x "$CTL" ] || sf_die "build/bin/scaffold-controller not built"

OVS=$SF_TMP/ovs
PORT=$((20000 + RANDOM % 20000))
BR=l2$SF_ID

sf_ovs_start "$OVS" 2>/dev/null || sf_die "start private OVS"
sf_br_add "$OVS" "$BR" secure || sf_die "add $BR"
sf_ovs_vsctl "$OVS" set bridge "$BR" other-config:datapath-id=0000000000000001 \
    protocols=OpenFlow13 || sf_die "datapath id"
declare -A NS
for h in 1 2; do
    NS[$h]=$(sf_netns "h$h") || sf_die "netns h$h"
    sf_veth "p$h$SF_ID" "e$h$SF_ID" || sf_die "veth h$h"
    ip link set "e$h$SF_ID" netns "${NS[$h]}" || sf_die "move e$h"
    ip netns exec "${NS[$h]}" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "${NS[$h]}" addr add "10.77.0.$h/24" dev "e$h$SF_ID"
    ip -n "${NS[$h]}" link set "e$h$SF_ID" up
    sf_port_add "$OVS" "$BR" "p$h$SF_ID" "$h" || sf_die "port $h"
done

# start_controller NAME [FLAGS...]
start_controller() {
    LOG=$SF_TMP/$1.log
    $SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" \
        --state-dir "$SF_TMP/$1" --ssid 1 "${@:2}" >"$LOG" 2>&1 &
    CPID=$!
    sf_on_exit "kill $CPID"
}
stop_controller() {
    kill -TERM "$CPID"
    wait "$CPID"
    check_eq "controller exits 0 ($1)" 0 "$?"
}
flows() { sf_ovs_ofctl "$OVS" -O OpenFlow13 dump-flows "$BR"; }
has_flow() { flows | grep -q -- "$1"; }
ping2() { ip netns exec "${NS[1]}" ping -c 1 -W 1 10.77.0.2 >/dev/null; }

start_controller plain
sf_ovs_vsctl "$OVS" set-controller "$BR" "tcp:127.0.0.1:$PORT" \
    -- set controller "$BR" max_backoff=1000 || sf_die "set-controller"
check "default: table 0 drops the rest" sf_wait 10 has_flow \
    "cookie=0x5c03000000000000,.*priority=0 actions=drop"
check "default: ping is dropped" eval '! ping2'
stop_controller plain

start_controller l2 --l2-learning
check "--l2-learning: table 0 sends the rest to the controller" \
    sf_wait 10 has_flow \
    "cookie=0x5c05000000000000,.*priority=0 actions=CONTROLLER:65535"
check "--l2-learning: ping works" sf_wait 5 ping2
check "learnt flow h1 -> h2 (idle_timeout=60, output:2)" has_flow \
    "cookie=0x5c06000000000000, .*idle_timeout=60, .*priority=1,in_port=1,dl_src=.*actions=output:2"
check "learnt flow h2 -> h1 (output:1)" has_flow \
    "cookie=0x5c06000000000000, .*priority=1,in_port=2,dl_src=.*actions=output:1"
check "100 more pings" eval \
    'ip netns exec "${NS[1]}" ping -q -c 100 -i 0.002 -W 1 10.77.0.2 >/dev/null'
stop_controller l2

if [ -x "$OFLOAD" ]; then
    PORT=$((PORT + 1))
    start_controller ofload --l2-learning --log-level warn
    sf_wait 5 eval 'ss -Hltn "sport = :$PORT" | grep -q .'
    "$OFLOAD" --controller "tcp:127.0.0.1:$PORT" --mode throughput \
        --switches 16 --duration 1 --loops 2 --warmup 0 --json \
        >"$SF_TMP/tp.json" 2>"$SF_TMP/tp.err"
    check_eq "sf-ofload throughput run exits 0" 0 $?
    get() { "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$SF_TMP/tp.json" "$1"; }
    check_eq "16 switches completed the handshake" 16 \
        "$(get 'r["handshakes_completed"]')"
    # The only flow-mods without a buffer are the controller's own base
    # rules (discovery, control, L2 default: 3 per switch), which follow
    # the connect-time read-back and so may arrive once load has begun.
    check_eq "every answer is a flow-mod naming the buffer" True \
        "$(get 'r["flow_mods_buffered"] > 0 and r["flow_mods"] - r["flow_mods_buffered"] <= 3 * 16')"
    check_eq "no OpenFlow errors" 0 "$(get 'r["errors"]')"
    sf_log "sf-ofload throughput, 16 switches: $(get 'round(r["responses_per_s"])') responses/s"
    stop_controller ofload

    # --busy-poll: the same answers from a loop that polls without sleeping
    # after each event; it must still stop on SIGTERM and sleep when idle.
    PORT=$((PORT + 1))
    start_controller busy --l2-learning --log-level info --busy-poll 200
    sf_wait 5 eval 'ss -Hltn "sport = :$PORT" | grep -q .'
    check "--busy-poll: logged" grep -q "busy polling 200 us" "$LOG"
    "$OFLOAD" --controller "tcp:127.0.0.1:$PORT" --mode latency \
        --switches 1 --duration 1 --loops 2 --warmup 0 --json \
        >"$SF_TMP/tp.json" 2>"$SF_TMP/tp.err"
    check_eq "--busy-poll: sf-ofload latency run exits 0" 0 $?
    # The controller's own base rules (3 flow-mods, no buffer) may cross
    # the first packet-in; every other answer names the outstanding buffer.
    check_eq "--busy-poll: answers, each naming the outstanding buffer" \
        True "$(get 'r["responses_per_s"] > 0 and r["mismatched"] <= r["flow_mods"] - r["flow_mods_buffered"] <= 3')"
    sf_log "sf-ofload latency, busy poll: $(get 'round(r["responses_per_s"])') responses/s"
    # Idle: the loop blocks in epoll again, so the controller's CPU time
    # stops growing (well under the 0.5 s of a spinning loop).
    t0=$(awk '{print $14 + $15}' "/proc/$CPID/stat")
    sleep 0.5
    t1=$(awk '{print $14 + $15}' "/proc/$CPID/stat")
    check "--busy-poll: idle controller sleeps (CPU ticks $t0 -> $t1)" \
        [ $((t1 - t0)) -lt 25 ]
    stop_controller busy
else
    sf_log "sf-ofload not built: load part skipped"
fi

sf_done
