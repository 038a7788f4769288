#!/usr/bin/env bash
# System test of the Mininet performance experiments (issue #6):
# mininet/throughput.py and mininet/latency.py with --quick on the demo
# topology (h1 -> label router A -> B -> h2), controller mode.
#
#   - both --help work;
#   - throughput.py --quick: exit 0; throughput.csv has a SCAFFOLD row with
#     a receive rate for every input rate, and the kernel UDP rows too
#     (unless the script said it skipped kernel UDP: then it must say so);
#     a non-empty PNG; summary.json written;
#   - latency.py --quick: exit 0; rtt.csv has SCAFFOLD and kernel UDP
#     round trips at 18 bytes, and (with sf-callbench built) at the largest
#     payload each stack takes at MTU 1500; calls.csv has connect_sf,
#     bind_sf, send_sf, listen_sf, close_sf FIN and SEND_FAIL rows; a
#     non-empty PNG;
#   - Ctrl-C (SIGINT) in the middle of throughput.py's sweep: exit 130, its
#     run directory and every process of the run gone.
# No speed thresholds: the data path is userspace OVS on a shared machine;
# the figures are printed as comments.
#
#   bash tests/system/mininet_perf.sh
#   SF_TESTS=mininet_perf tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init mnperf

PY=/usr/bin/python3
MN=$SF_TOP/mininet
[ -x "$SF_OVS_BLD/vswitchd/ovs-vswitchd" ] || {
    echo "# $SF_OVS_BLD/vswitchd/ovs-vswitchd missing: make deps"
    exit 77
}
"$PY" -c 'import mininet.net, matplotlib' 2>/dev/null || {
    echo "# Debian's python3 lacks mininet or matplotlib: make deps"
    exit 77
}
for b in scaffold-controller scaffold-hostagent sf-iperf; do
    [ -x "$SF_BIN/$b" ] || { echo "# $SF_BIN/$b not built: make"; exit 77; }
done

is_png() {    # non-empty, PNG signature
    [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = \
        "89504e470d0a1a0a" ]
}

# csv_count FILE EXPR: rows of a CSV for which the Python expression EXPR
# (over the row dict r) is true.
csv_count() {
    "$PY" -c 'import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if eval(sys.argv[2])))' "$1" "$2"
}

run_script() {   # run_script NAME OUTDIR: output as comments
    local name=$1 out=$2 rc
    timeout --kill-after=5 60 "$PY" "$MN/$name.py" --quick --out "$out" \
        >"$out.log" 2>&1
    rc=$?
    sed 's/^/# /' "$out.log"
    return $rc
}

for s in throughput latency; do
    check "$s.py --help" sh -c "'$PY' '$MN/$s.py' --help | grep -q -- '--quick'"
done

# ---- throughput ------------------------------------------------------------
T=$SF_TMP/throughput
run_script throughput "$T"
check_eq "throughput.py --quick: exit status" 0 $?
nrates=$(csv_count "$T/throughput.csv" "r['stack'] == 'scaffold'")
check "throughput.csv: SCAFFOLD rows ($nrates)" test "$nrates" -ge 3
check_eq "throughput.csv: every SCAFFOLD row has a send and receive rate" \
    "$nrates" "$(csv_count "$T/throughput.csv" "r['stack'] == 'scaffold' and r['send_mbit_s'] != '' and r['recv_mbit_s'] != ''")"
if grep -q 'SKIPPING kernel UDP' "$T.log"; then
    sf_log "kernel UDP skipped by throughput.py (said so): no UDP rows expected"
    check_eq "throughput.csv: no kernel UDP rows when skipped" 0 \
        "$(csv_count "$T/throughput.csv" "r['stack'] == 'udp'")"
else
    check_eq "throughput.csv: a kernel UDP row with receive rate per input rate" \
        "$nrates" "$(csv_count "$T/throughput.csv" "r['stack'] == 'udp' and r['recv_mbit_s'] != ''")"
fi
check "throughput.csv: loss and jitter columns filled" \
    test "$(csv_count "$T/throughput.csv" "r['loss_pct'] != '' and r['jitter_ms'] != ''")" -ge "$nrates"
check "throughput.png is a non-empty PNG" is_png "$T/throughput.png"
check "throughput summary.json written" test -s "$T/summary.json"

# ---- latency ---------------------------------------------------------------
L=$SF_TMP/latency
run_script latency "$L"
check_eq "latency.py --quick: exit status" 0 $?
check_eq "rtt.csv: SCAFFOLD and kernel UDP RTT at 18 B (sf-iperf)" 2 \
    "$(csv_count "$L/rtt.csv" "r['tool'] == 'sf-iperf' and r['len'] == '18' and r['mean_us'] != ''")"
if [ -x "$SF_BIN/sf-callbench" ]; then
    check_eq "rtt.csv: SCAFFOLD RTT at 18 and 1452 B (sf-callbench)" 2 \
        "$(csv_count "$L/rtt.csv" "r['tool'] == 'sf-callbench' and r['stack'] == 'scaffold' and r['mean_us'] != ''")"
    check_eq "rtt.csv: kernel UDP RTT at 18, 1452, 1472 B (sf-callbench)" 3 \
        "$(csv_count "$L/rtt.csv" "r['tool'] == 'sf-callbench' and r['stack'] == 'udp' and r['mean_us'] != ''")"
    check_eq "calls.csv: connect_sf bind_sf send_sf listen_sf close_sf FIN/SEND_FAIL" 6 \
        "$(csv_count "$L/calls.csv" "r['call'] in ('connect_sf','bind_sf','send_sf','listen_sf','close_sf_fin','close_sf_fail') and r['mean_us'] != '' and r['stddev_us'] != ''")"
else
    sf_log "sf-callbench not built: only sf-iperf RTTs (latency.py says which calls are not measured)"
    check "latency.py names what it did not measure" grep -q 'NOT measured' "$L.log"
fi
check "latency.png is a non-empty PNG" is_png "$L/latency.png"

# ---- Ctrl-C mid-sweep --------------------------------------------------------
I=$SF_TMP/interrupted
"$PY" "$MN/throughput.py" --quick --rates 10,10,10,10,10 --out "$I" >"$I.log" 2>&1 &
pid=$!
sf_on_exit "kill -9 $pid"
sf_wait 30 grep -q '^# scaffold input' "$I.log"
kill -INT "$pid"
wait "$pid"
check_eq "throughput.py interrupted by SIGINT mid-sweep: exit 130" 130 $?
rundir=$(sed -n 's/^# run directory \([^ ]*\).*/\1/p' "$I.log")
check "interrupted: its run directory ($rundir) removed" \
    sh -c "[ -n '$rundir' ] && [ ! -e '$rundir' ]"
left=
for p in /proc/[0-9]*; do
    if [ -n "$rundir" ] && grep -qs "$rundir" "$p/cmdline" "$p/environ"; then
        left="$left ${p#/proc/}"
    fi
done
check_eq "interrupted: no process of the run left" "" "$left"
check_eq "no interface left in the test's namespace" "lo" \
    "$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"

sf_done
