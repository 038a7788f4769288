#!/usr/bin/env bash
# System test of the scripted Mininet experiments (issue #6): the failover
# and mobility scenarios (mininet/failover.py, mininet/mobility.py) with
# --quick (a ~4 s download each) on the demo topology, with the controller
# and agents in controller mode.
#
#   - both --help work;
#   - failover.py --quick --resolve static (h1's agent resolves objectID 69
#     round robin, h3 then h2): exit 0, the client's file checksum verified,
#     two sheds, each outage followed by resumed transfer (from the CSVs),
#     instance 2 took over and shed back, a PNG written;
#   - mobility.py --quick: exit 0, checksum verified, a new hostID after
#     the move, the outage followed by resumed transfer, a PNG written;
#   - failover.py --quick with network resolution (the object router's
#     round-robin group): exit 0, i.e. its own checks passed (checksum,
#     instance 2 took over after the first shed, instance 1 after the
#     second; the RSYN after a FAIL comes from a fresh sockID, so the
#     sticky group treats it as a new flow);
#   - Ctrl-C (SIGINT) in the middle of failover.py: exit 130, its run
#     directory and every process of the run gone.
# The scripts' own ok/not ok lines appear here as "# ..." comments.
#
#   bash tests/system/mininet_scenarios.sh
#   SF_TESTS=mininet_scen tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init mnscen

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
for b in scaffold-controller scaffold-hostagent sf-tftp sfctl; do
    [ -x "$SF_BIN/$b" ] || { echo "# $SF_BIN/$b not built: make"; exit 77; }
done

is_png() {    # non-empty, PNG signature
    [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = \
        "89504e470d0a1a0a" ]
}

# json_get FILE KEY: a top-level value of summary.json.
json_get() {
    "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,(list,dict,bool)) or v is None else v)' "$1" "$2"
}

# outages_resumed DIR: for every row of outages.csv, samples.csv has more
# bytes after the outage's end than at its start; prints "N/M".
outages_resumed() {
    "$PY" - "$1" <<'EOF'
import csv, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + '/outages.csv')))
samples = [(float(r['t_s']), int(r['bytes']))
           for r in csv.DictReader(open(d + '/samples.csv'))]
ok = 0
for r in rows:
    end, b0 = float(r['end_s']), int(r['bytes_at_start'])
    after = [b for t, b in samples if t >= end]
    if after and max(after) > b0:
        ok += 1
    print('# outage %s: %s ms (%s), %d bytes at its start, %d at the end'
          % (r['n'], r['outage_ms'], r['cause'], b0, after[-1] if after
             else -1), file=sys.stderr)
print('%d/%d' % (ok, len(rows)))
EOF
}

run_scenario() {   # run_scenario NAME OUTDIR ARGS...: output as comments
    local name=$1 out=$2 rc
    shift 2
    timeout --kill-after=5 90 "$PY" "$MN/$name.py" --quick --out "$out" \
        "$@" >"$out.log" 2>&1
    rc=$?
    sed 's/^/# /' "$out.log"
    return $rc
}

for s in failover mobility; do
    check "$s.py --help" sh -c "'$PY' '$MN/$s.py' --help | grep -q -- '--quick'"
done

# ---- failover, static resolution ------------------------------------------
F=$SF_TMP/failover
run_scenario failover "$F" --resolve static
check_eq "failover.py --quick --resolve static: exit status" 0 $?
check_eq "failover: file checksum verified" true "$(json_get "$F/summary.json" sha256_ok)"
n=$(json_get "$F/summary.json" outages | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
check_eq "failover: two outages (two sheds)" 2 "$n"
check_eq "failover: each outage followed by resumed transfer (CSV)" \
    2/2 "$(outages_resumed "$F")"
check "failover: instance 2 (h2) resumed the download and shed it back" \
    sh -c "grep -q '^accepted .* resumed$' '$F/logs/server2-h2.log' && grep -q '^shedding ' '$F/logs/server2-h2.log'"
check "failover: instance 1 (h3) finished it" \
    grep -q '^sent file.bin' "$F/logs/server1-h3.log"
check "failover: samples.csv and throughput.csv have data" \
    sh -c "[ \$(wc -l <'$F/samples.csv') -gt 100 ] && [ \$(wc -l <'$F/throughput.csv') -gt 10 ]"
check "failover: failover.png is a non-empty PNG" is_png "$F/failover.png"
sf_log "failover outages (ms): $(json_get "$F/summary.json" outages | "$PY" -c 'import json,sys; print(" ".join(str(o["outage_ms"]) for o in json.load(sys.stdin)))')"

# ---- mobility ------------------------------------------------------------------
M=$SF_TMP/mobility
run_scenario mobility "$M"
check_eq "mobility.py --quick: exit status" 0 $?
check_eq "mobility: file checksum verified" true "$(json_get "$M/summary.json" sha256_ok)"
old=$(json_get "$M/summary.json" old_prefix)
new=$(json_get "$M/summary.json" new_prefix)
check "mobility: h1 got a new hostID ($old -> $new)" \
    sh -c "[ -n '$new' ] && [ '$new' != None ] && [ '$new' != '$old' ]"
check_eq "mobility: the outage followed by resumed transfer (CSV)" \
    1/1 "$(outages_resumed "$M")"
check "mobility: mobility.png is a non-empty PNG" is_png "$M/mobility.png"
sf_log "mobility: link-up to data $(json_get "$M/summary.json" link_up_to_data_ms) ms"

# ---- failover, network resolution (reported) -----------------------------
N=$SF_TMP/failover-net
run_scenario failover "$N" --resolve network >"$SF_TMP/net.txt"
rc=$?
cat "$SF_TMP/net.txt"
check_eq "failover.py --quick --resolve network: exit status" 0 $rc

# ---- Ctrl-C mid-run --------------------------------------------------------
I=$SF_TMP/interrupted
"$PY" "$MN/failover.py" --quick --resolve static --out "$I" >"$I.log" 2>&1 &
pid=$!
sf_on_exit "kill -9 $pid"
sf_wait 30 grep -q '^# resolution' "$I.log"
sleep 1
kill -INT "$pid"
wait "$pid"
check_eq "failover.py interrupted by SIGINT mid-download: exit 130" 130 $?
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
