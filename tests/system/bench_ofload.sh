#!/usr/bin/env bash
# sf-ofload (bench/ofload.c) against Debian's ovs-testcontroller on loopback,
# in a network namespace of its own: short runs in both modes, the JSON and
# text reports, an unreachable controller, bad options, and the harness
# (bench/ofload.sh).  No timing thresholds: speed is a figure, not a check.
. "$(dirname "$0")/lib.sh"
sf_isolate "$@"
sf_init bench_ofload

OFLOAD=$SF_BIN/sf-ofload
PY=/usr/bin/python3
[ -x "$OFLOAD" ] || sf_die "sf-ofload built ($OFLOAD)"
command -v ovs-testcontroller >/dev/null ||
    sf_die "ovs-testcontroller installed (package openvswitch-testcontroller)"

free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

listening() { ss -Hltn "sport = :$1" | grep -q .; }

# start_tc: a fresh ovs-testcontroller on a free port; sets TC_PORT.
start_tc() {
    TC_PORT=$(free_port)
    ovs-testcontroller "ptcp:$TC_PORT:127.0.0.1" -vconsole:off \
        --unixctl="$SF_TMP/tc-$TC_PORT.ctl" \
        > "$SF_TMP/tc-$TC_PORT.log" 2>&1 &
    local pid=$!
    sf_on_exit "kill $pid"
    sf_wait 5 listening "$TC_PORT" ||
        sf_die "ovs-testcontroller listens on 127.0.0.1:$TC_PORT"
}

json_ok() { "$PY" -m json.tool "$1" > /dev/null; }

# json_get FILE EXPR: evaluates EXPR with the parsed JSON as r.
json_get() {
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- throughput mode, 16 switches, 2 s --------------------------------------
start_tc
"$OFLOAD" --controller "tcp:127.0.0.1:$TC_PORT" --mode throughput \
    --switches 16 --duration 1 --loops 2 --warmup 0 --json \
    > "$SF_TMP/tp.json" 2> "$SF_TMP/tp.err"
check_eq "throughput run exits 0" 0 $?
check "throughput JSON parses" json_ok "$SF_TMP/tp.json"
check_eq "every switch completed the handshake" 16 \
    "$(json_get "$SF_TMP/tp.json" 'r["handshakes_completed"]')"
check_eq "throughput: responses > 0" True \
    "$(json_get "$SF_TMP/tp.json" 'r["responses_per_s"] > 0')"
check_eq "throughput: every switch got responses" True \
    "$(json_get "$SF_TMP/tp.json" \
        '(len(r["per_switch_responses_per_s"]) == 16 and
          min(r["per_switch_responses_per_s"]) > 0)')"
check_eq "throughput: flow-mods carry the buffer id" True \
    "$(json_get "$SF_TMP/tp.json" \
        '(r["flow_mods"] > 0 and
          r["flow_mods_buffered"] == r["flow_mods"])')"
check_eq "throughput: no OpenFlow errors" 0 \
    "$(json_get "$SF_TMP/tp.json" 'r["errors"]')"
check_eq "throughput: two loop lines on stderr" 2 \
    "$(grep -c '^loop ' "$SF_TMP/tp.err")"

# ---- latency mode, 2 switches, 2 s ------------------------------------------
start_tc
"$OFLOAD" --controller "tcp:127.0.0.1:$TC_PORT" --mode latency \
    --switches 2 --duration 1 --loops 2 --warmup 0 --json \
    > "$SF_TMP/lat.json" 2> "$SF_TMP/lat.err"
check_eq "latency run exits 0" 0 $?
check "latency JSON parses" json_ok "$SF_TMP/lat.json"
check_eq "latency: both switches completed the handshake" 2 \
    "$(json_get "$SF_TMP/lat.json" 'r["handshakes_completed"]')"
check_eq "latency: responses > 0" True \
    "$(json_get "$SF_TMP/lat.json" 'r["responses_per_s"] > 0')"
check_eq "latency: every answer names the outstanding buffer" 0 \
    "$(json_get "$SF_TMP/lat.json" 'r["mismatched"]')"
check_eq "latency: round trip measured" True \
    "$(json_get "$SF_TMP/lat.json" 'r["rtt_us"] > 0')"

# ---- text report ------------------------------------------------------------
start_tc
"$OFLOAD" --controller "tcp:127.0.0.1:$TC_PORT" --switches 16 \
    --duration 0.3 --loops 1 --warmup 0 > "$SF_TMP/text.out" 2>&1
check_eq "text run exits 0" 0 $?
check "text report has the RESULT line" grep -Eq \
    '^RESULT mode=throughput switches=16 responses_per_s=[0-9]+ min=[0-9]+ '\
'max=[0-9]+ stddev=[0-9]+' \
    "$SF_TMP/text.out"

# ---- reference responder (the load generator's ceiling) ---------------------
REF_PORT=$(free_port)
"$SF_BIN/sf-ofload-ref" --listen "tcp:127.0.0.1:$REF_PORT" \
    > "$SF_TMP/ref.log" 2>&1 &
ref_pid=$!
sf_on_exit "kill $ref_pid"
sf_wait 5 listening "$REF_PORT" || sf_die "sf-ofload-ref listens"
"$OFLOAD" --controller "tcp:127.0.0.1:$REF_PORT" --switches 16 \
    --duration 0.5 --loops 1 --warmup 0 --json > "$SF_TMP/ref.json" 2>/dev/null
check_eq "reference responder run exits 0" 0 $?
check_eq "reference responder: every answer names a buffer" True \
    "$(json_get "$SF_TMP/ref.json" \
        '(r["responses"] > 0 and r["handshakes_completed"] == 16 and
          r["flow_mods_buffered"] == r["flow_mods"] == r["responses"])')"
kill "$ref_pid"
wait "$ref_pid" 2>/dev/null
check_eq "sf-ofload-ref stops cleanly on SIGTERM" 0 $?

# ---- errors -----------------------------------------------------------------
dead=$(free_port)
"$OFLOAD" --controller "tcp:127.0.0.1:$dead" --switches 16 --loops 1 \
    > "$SF_TMP/dead.out" 2> "$SF_TMP/dead.err"
check_eq "unreachable controller: exit 1" 1 $?
check_eq "unreachable controller: one line on stderr" 1 \
    "$(wc -l < "$SF_TMP/dead.err")"
check "unreachable controller: the line names the controller" grep -q \
    "tcp:127.0.0.1:$dead" "$SF_TMP/dead.err"
check_eq "unreachable controller: nothing on stdout" 0 \
    "$(wc -c < "$SF_TMP/dead.out")"
"$OFLOAD" --mode nonsense > /dev/null 2>&1
check_eq "bad option: exit 2" 2 $?
"$OFLOAD" --help | grep -q -- --controller
check_eq "--help lists --controller" 0 $?

# ---- harness ----------------------------------------------------------------
"$SF_TOP/bench/ofload.sh" --out "$SF_TMP/harness" --duration 0.3 --loops 1 \
    --warmup 0 > "$SF_TMP/harness.out" 2>&1
check_eq "harness exits 0" 0 $?
check_eq "harness CSV: header and one row per mode" 3 \
    "$(wc -l < "$SF_TMP/harness/ofload.csv")"
check "harness prints both modes" grep -q \
    'ovs-testcontroller *latency' "$SF_TMP/harness.out"

sf_done
