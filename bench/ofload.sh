#!/usr/bin/env bash
# Controller benchmark (issue 8, item 4): cbench-style load from sf-ofload
# against Debian's ovs-testcontroller and, if given, a second controller, in
# the same run and on the same machine.
#
#   bench/ofload.sh [--out DIR] [--controller-cmd 'CMD ... {port} ...']
#                   [--name NAME] [--switches N] [--latency-switches N]
#                   [--duration S] [--loops N] [--warmup N] [--macs N]
#                   [--cpus split|same|none] [--ref] [--rounds N]
#
# Each controller is started fresh for each mode on its own free loopback
# port ({port} in --controller-cmd is replaced by it) and stopped by PID.
# Throughput mode uses --switches (16) emulated switches, latency mode
# --latency-switches (1).  --cpus places the processes with taskset: split
# (default) runs the controller on CPU 1 and sf-ofload on CPU 0, same puts
# both on CPU 0, none leaves it to the scheduler.  Placement matters: on a
# 2-CPU VM the latency figure moves several times between same and split,
# and unpinned runs jump between the two.  --ref adds a run against
# sf-ofload-ref, a trivial template responder: its figure is the ceiling of
# what sf-ofload can measure on this machine.  --rounds N (1) repeats the
# whole sequence N times, controllers interleaved, and ratios are taken
# between per-controller medians, so that a burst of load from something
# else on a shared machine hits one round rather than one controller.
#
# Prints one line per run and the ratio of the second controller to
# ovs-testcontroller per mode; writes DIR/ofload.csv, the JSON and stderr of
# every run and every controller's log.  Exit status: 0 when every run
# produced a figure, 1 otherwise, 2 for bad options.
#
# Example (the SCAFFOLD controller, once its L2 mode lands):
#   bench/ofload.sh --ref --rounds 3 --name scaffold --controller-cmd \
#     "build/bin/scaffold-controller --listen tcp:127.0.0.1:{port} \
#      --state-dir /tmp/ofl-state --log-level warn"
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ofload=${SF_OFLOAD:-$top/build/bin/sf-ofload}
py=/usr/bin/python3
out=$top/build/bench/ofload
ctl_cmd=
ctl_name=candidate
switches=16
lat_switches=1
duration=1
loops=10
warmup=1
macs=1000
cpus=split
ref=
rounds=1

usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --controller-cmd) ctl_cmd=$2; shift 2 ;;
    --name) ctl_name=$2; shift 2 ;;
    --switches) switches=$2; shift 2 ;;
    --latency-switches) lat_switches=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --loops) loops=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --macs) macs=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --ref) ref=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "ofload.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done

[ -x "$ofload" ] || { echo "ofload.sh: $ofload missing (make)" >&2; exit 1; }
command -v ovs-testcontroller >/dev/null || {
    echo "ofload.sh: ovs-testcontroller missing" \
         "(apt-get install openvswitch-testcontroller)" >&2
    exit 1
}
case $cpus in
split)
    if [ "$(nproc)" -lt 2 ]; then
        echo "ofload.sh: one CPU, --cpus split not possible; using none" >&2
        cpus=none
    fi
    ;;
same|none) ;;
*) echo "ofload.sh: --cpus split, same or none" >&2; exit 2 ;;
esac
case $cpus in
split) ctl_pin="taskset -c 1"; gen_pin="taskset -c 0" ;;
same) ctl_pin="taskset -c 0"; gen_pin="taskset -c 0" ;;
none) ctl_pin=""; gen_pin="" ;;
esac
mkdir -p "$out" || exit 1
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/sf-ofload-XXXXXX")
ctl_pid=

cleanup() {
    stop_controller
    rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# start_controller NAME PORT CMD: starts CMD in the background, logs to
# $out/NAME.log, waits up to 5 s for PORT to listen.
start_controller() {
    local name=$1 port=$2 cmd=$3 i
    bash -c "exec $ctl_pin $cmd" >> "$out/$name.log" 2>&1 &
    ctl_pid=$!
    for i in $(seq 100); do
        listening "$port" && return 0
        kill -0 "$ctl_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "ofload.sh: $name did not listen on 127.0.0.1:$port" \
         "(see $out/$name.log)" >&2
    stop_controller
    return 1
}

stop_controller() {
    [ -n "$ctl_pid" ] || return 0
    kill "$ctl_pid" 2>/dev/null
    local i
    for i in $(seq 40); do
        kill -0 "$ctl_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$ctl_pid" 2>/dev/null
    wait "$ctl_pid" 2>/dev/null
    ctl_pid=
}

csv=$out/ofload.csv
fields=round,controller,mode,switches,responses_per_s,min,max,stddev
fields=$fields,flow_mods,packet_outs,packet_ins,rtt_us,handshakes,loops
echo "$fields,duration_s,cpus" > "$csv"
status=0

# run_one ROUND NAME MODE N CMD-TEMPLATE
run_one() {
    local round=$1 name=$2 mode=$3 n=$4 tmpl=$5 port json log
    port=$(free_port) || return 1
    if ! start_controller "$name" "$port" "${tmpl//\{port\}/$port}"; then
        status=1
        return 1
    fi
    json=$out/$name-$mode-$round.json
    log=$out/$name-$mode-$round.log
    $gen_pin "$ofload" --controller "tcp:127.0.0.1:$port" --mode "$mode" \
        --switches "$n" --duration "$duration" --loops "$loops" \
        --warmup "$warmup" --macs "$macs" --json > "$json" 2> "$log"
    local rc=$?
    stop_controller
    if [ $rc -ne 0 ]; then
        echo "ofload.sh: $name $mode: sf-ofload failed: $(tail -1 "$log")" >&2
        status=1
        return 1
    fi
    "$py" - "$json" "$round" "$name" "$cpus" >> "$csv" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(",".join(str(x) for x in [
    sys.argv[2], sys.argv[3], r["mode"], r["switches"],
    round(r["responses_per_s"]),
    round(r["min"]), round(r["max"]), round(r["stddev"]), r["flow_mods"],
    r["packet_outs"], r["packet_ins"], round(r.get("rtt_us", 0), 1),
    r["handshakes_completed"], r["loops"], r["duration_s"], sys.argv[4]]))
EOF
}

tc_cmd="ovs-testcontroller ptcp:{port}:127.0.0.1 -vconsole:off -vfile:info \
--log-file=$out/ovs-testcontroller-file.log --unixctl=$run_dir/tc-{port}.ctl"
names=(ovs-testcontroller)
cmds=("$tc_cmd")
if [ -n "$ctl_cmd" ]; then
    names+=("$ctl_name")
    cmds+=("$ctl_cmd")
fi
if [ -n "$ref" ]; then
    names+=(sf-ofload-ref)
    cmds+=("$top/build/bin/sf-ofload-ref --listen tcp:127.0.0.1:{port}")
fi
: > "$out/ovs-testcontroller.log"
for round in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        run_one "$round" "${names[$i]}" throughput "$switches" "${cmds[$i]}"
        run_one "$round" "${names[$i]}" latency "$lat_switches" "${cmds[$i]}"
    done
done

"$py" - "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    extra = " rtt_us=%s" % r["rtt_us"] if r["mode"] == "latency" else ""
    print("round %s %-20s %-10s switches=%-3s responses/s=%-9s min=%s "
          "max=%s stddev=%s flow_mods=%s packet_outs=%s%s" % (
              r["round"], r["controller"], r["mode"], r["switches"],
              r["responses_per_s"], r["min"], r["max"], r["stddev"],
              r["flow_mods"], r["packet_outs"], extra))
med = {}
for r in rows:
    med.setdefault((r["controller"], r["mode"]), []).append(
        float(r["responses_per_s"]))
med = {k: statistics.median(v) for k, v in med.items()}
for (ctl, mode), v in med.items():
    print("MEDIAN %s %s responses_per_s=%.0f" % (ctl, mode, v))
    if not v:
        print("WARNING %s %s: no answers to packet-ins (handshake done, but "
              "no flow-mods or packet-outs came back)" % (ctl, mode))
for (ctl, mode), v in med.items():
    base = med.get(("ovs-testcontroller", mode))
    if ctl != "ovs-testcontroller" and base:
        print("RATIO %s/ovs-testcontroller %s = %.2f" % (ctl, mode, v / base))
EOF
echo "CSV: $csv"
exit $status
