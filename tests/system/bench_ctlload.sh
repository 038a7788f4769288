#!/usr/bin/env bash
# sf-ctlload (bench/ctlload.c): many emulated hosts join, bind and leave
# through the real control plane (issue 8 item 4, joins/s and binds/s).
#
#   ns (sf-ctlload) -- s1:5   s1 (label) :1 --- :1 s2 (label) :2 --- :1 s3
#                                                              (object router)
#
# Checks what the figures rest on, never their speed: every request of
# every phase is answered, the controller holds exactly the hosts that
# joined (retransmitted requests with a 1 ms timeout make no duplicates),
# the object router's groups carry one bucket per bind, a leave withdraws
# the hosts and their buckets, and bad options are refused by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/ctl.sh"
sf_isolate "$@"
sf_init bench_ctlload

LOAD=$SF_BIN/sf-ctlload
SFCTL=$SF_BIN/sfctl
[ -x "$LOAD" ] && [ -x "$SFCTL" ] || sf_die "build sf-ctlload and sfctl first (make)"
ctl_vars k
ctl_switches
ctl_chain
NS=$(sf_netns ld) || sf_die "netns"
sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth"
ip link set "e1$SF_ID" netns "$NS" && ip -n "$NS" link set "e1$SF_ID" up \
    || sf_die "move e1"
sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
ctl_start

load() { ip netns exec "$NS" "$LOAD" -i "e1$SF_ID" "$@"; }
sfc() { "$SFCTL" --state-dir "$STATE" "$@"; }
# jget FILE PHASE KEY: a number from sf-ctlload's JSON.
jget() {
    $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$@"
}
hosts_count() { sfc --json hosts | grep -o '"mac"' | wc -l; }
# buckets: bucket count over the object router's groups.
buckets() {
    sf_ovs_ofctl "$OVS" -O OpenFlow15 dump-groups "$S3" | grep -o 'bucket_id:' | wc -l
}
groups() {
    sf_ovs_ofctl "$OVS" -O OpenFlow15 dump-groups "$S3" | grep -c 'group_id='
}

# --- options -------------------------------------------------------------------
out=$("$LOAD" 2>&1); rc=$?
check_eq "no interface: exit 2" 2 "$rc"
check "no interface: the error names -i" grep -q -- '-i IFACE' <<<"$out"
out=$("$LOAD" -i lo --window 0 2>&1); rc=$?
check_eq "window 0: exit 2" 2 "$rc"
check "window 0: the error names --window" grep -q -- "--window: bad value '0'" <<<"$out"
out=$("$LOAD" -i lo --hosts 65535 --binds 1000 --retries 0 --timeout 1 2>&1); rc=$?
check_eq "more requests than ids: exit 2" 2 "$rc"
check "more requests than ids: the error names --binds" grep -q -- "--binds 1000" <<<"$out"
out=$("$LOAD" -i "nosuch$SF_ID" 2>&1); rc=$?
check_eq "unknown interface: exit 1" 1 "$rc"
check "unknown interface: the error names it" grep -q "nosuch$SF_ID" <<<"$out"

# --- 40 hosts join and bind twice each, over 4 objects; they stay ----------
load --hosts 40 --binds 2 --objects 4 --no-leave --json >"$SF_TMP/a.json" \
    2>"$SF_TMP/a.err"
check_eq "run A: exit 0" 0 $?
sf_log "$(tr -d '\n' <"$SF_TMP/a.json")"
check_eq "run A: 40 joins answered" 40 "$(jget "$SF_TMP/a.json" join answered)"
check_eq "run A: no join errors" 0 "$(jget "$SF_TMP/a.json" join errors)"
check_eq "run A: 80 binds answered" 80 "$(jget "$SF_TMP/a.json" bind answered)"
check "run A: a join rate is printed" \
    $PY -c 'import json,sys; assert json.load(open(sys.argv[1]))["join"]["per_second"] > 0' "$SF_TMP/a.json"
check_eq "controller holds the 40 hosts" 40 "$(hosts_count)"
check "object router: 4 groups" sf_wait 5 eval '[ "$(groups)" -eq 4 ]'
check "object router: 80 buckets (one per bind)" sf_wait 5 eval '[ "$(buckets)" -eq 80 ]'

# --- retransmissions (1 ms timeout) make no duplicate hosts or buckets ------
load --hosts 20 --binds 1 --objects 4 --timeout 1 --retries 200 --no-leave \
    --json >"$SF_TMP/b.json" 2>"$SF_TMP/b.err"
check_eq "run B (1 ms timeout): exit 0" 0 $?
sf_log "$(tr -d '\n' <"$SF_TMP/b.json")"
check_eq "run B: 20 joins answered" 20 "$(jget "$SF_TMP/b.json" join answered)"
check_eq "controller holds 60 hosts, not more" 60 "$(hosts_count)"
check "object router: 100 buckets, not more" sf_wait 5 eval '[ "$(buckets)" -eq 100 ]'

# --- 10 more hosts join, bind and leave ----------------------------------------
load --hosts 10 --binds 3 --objects 2 >"$SF_TMP/c.txt" 2>&1
check_eq "run C (with leave): exit 0" 0 $?
sf_log "$(cat "$SF_TMP/c.txt")"
check "run C: the leave line reports 10 answered" \
    grep -q '^leave 10 requests: 10 answered, 0 errors' "$SF_TMP/c.txt"
check_eq "controller back to 60 hosts" 60 "$(hosts_count)"
check "object router back to 100 buckets" sf_wait 5 eval '[ "$(buckets)" -eq 100 ]'
check "controller still serving" sfc status

sf_done
