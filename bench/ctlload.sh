#!/usr/bin/env bash
# Control-plane rates (issue 8 item 4): joins/s, binds/s and leaves/s
# through the real control plane, measured by sf-ctlload (bench/ctlload.c)
# on the tests' small network: a private patched OVS with s1, s2 (label
# routers, OpenFlow 1.3) and s3 (object router, 1.5), s1:1-s2:1, s2:2-s3:1,
# the real scaffold-controller, and a namespace on s1 port 5 where
# sf-ctlload plays many hosts at once.
#
#   bench/ctlload.sh [--out DIR] [--rounds N] [-- SF-CTLLOAD-OPTIONS...]
#
# Each round starts a fresh controller (empty state) and runs sf-ctlload
# once with the given options (default: --hosts 200 --binds 4 --objects 20
# --window 32) plus --json; DIR/round-N.json keeps each result, the
# controller's log is kept beside it.  Prints one line per phase and round.
# Needs root (namespaces, OVS).  Exit status: sf-ctlload's of the last round
# (0 when every request was answered), 2 for bad options.
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
TOP=$(cd "$(dirname "$0")/.." && pwd)
argv=("$@")
out=
rounds=1
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "ctlload.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $rounds in ''|*[!0-9]*|0) echo "ctlload.sh: --rounds: bad value '$rounds'" >&2; exit 2 ;; esac
[ $# -gt 0 ] || set -- --hosts 200 --binds 4 --objects 20 --window 32
if [ -z "${SF_BENCH_OUT:-}" ]; then
    out=${out:-$TOP/bench/out/ctlload-$(date +%Y%m%d-%H%M%S)}
    mkdir -p "$out" || exit 2
    SF_BENCH_OUT=$(cd "$out" && pwd)
    export SF_BENCH_OUT
fi

. "$TOP/tests/system/lib.sh"
. "$TOP/tests/system/lib/ctl.sh"
sf_isolate "${argv[@]}"
sf_init ctlload
LOAD=$SF_BIN/sf-ctlload
[ -x "$LOAD" ] || sf_die "build sf-ctlload first (make)"
ctl_vars c
ctl_switches
ctl_chain
NS=$(sf_netns cl) || sf_die "netns"
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth"
ip link set "e1$SF_ID" netns "$NS" && ip -n "$NS" link set "e1$SF_ID" up \
    || sf_die "move e1"
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"

rc=0
for r in $(seq 1 "$rounds"); do
    rm -rf "$STATE"
    ctl_start >/dev/null
    ip netns exec "$NS" "$LOAD" -i "e1$SF_ID" "$@" --json \
        >"$SF_BENCH_OUT/round-$r.json" 2>"$SF_BENCH_OUT/round-$r.err"
    rc=$?
    /usr/bin/python3 - "$SF_BENCH_OUT/round-$r.json" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for ph in ('join', 'bind', 'leave'):
    if ph in d:
        p = d[ph]
        print('round %s %-5s %5d/%-5d answered, %d errors, %d retrans in '
              '%.3f s = %7.0f/s; latency median %.0f us, p99 %.0f us'
              % (sys.argv[2], ph, p['answered'], p['requests'], p['errors'],
                 p['retransmissions'], p['seconds'], p['per_second'],
                 p['latency_us']['median'], p['latency_us']['p99']))
PY
    kill "$CPID" 2>/dev/null
    wait "$CPID" 2>/dev/null
    cp "$LOG" "$SF_BENCH_OUT/controller-$r.log"
done
exit $rc
