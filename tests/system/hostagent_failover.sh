#!/usr/bin/env bash
# hostagent_failover: SF_SEND_FAIL moves a connection to another instance.
#
# Hosts A (client), B and C (two instances of objectID 80) on one Linux
# bridge (in a namespace of its own), agents in static mode: A resolves
# objectID 80 with two static entries (10.2.0 and 10.3.0: "whatever
# listens on 80 there"), round robin, a resync going to the next instance;
# A's gateway MAC is broadcast so both B and C hear it (each drops what is
# not addressed to its prefix).
#
#   - A connects to objectID 80 and lands on B; data both ways;
#   - B's server closes with SF_SEND_FAIL (SIGTERM with --fail-on-term);
#   - A's stack receives FAIL, sends RSYN to the objectID, which resolves
#     to C; C's server accepts a *resumed* connection;
#   - A's descriptor keeps working (no error, data flows with C) and
#     getpeername_sf reports C;
#   - the RSYN left from a new sockID of A (a new 5-tuple for the object
#     router), and getsockname_sf reports that new local flowID.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_failover

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
[ -x "$AGENT" ] && [ -x "$SFCAT" ] || sf_die "build first: $AGENT, $SFCAT"

for h in a b c s; do
    sf_netns "$h" >/dev/null || sf_die "netns $h"
done
nsA=sf$SF_ID-a nsB=sf$SF_ID-b nsC=sf$SF_ID-c nsS=sf$SF_ID-s
ip -n "$nsS" link add br0 type bridge || sf_die "bridge"
ip -n "$nsS" link set br0 up
declare -A mac
for h in a b c; do
    sf_veth "sf${SF_ID}$h" "sf${SF_ID}s$h" || sf_die "veth $h"
    ns=sf$SF_ID-$h
    ip link set "sf${SF_ID}$h" netns "$ns"
    ip link set "sf${SF_ID}s$h" netns "$nsS"
    ip -n "$ns" link set "sf${SF_ID}$h" up
    ip -n "$nsS" link set "sf${SF_ID}s$h" master br0 up
    mac[$h]=$(ip -n "$ns" -br link show "sf${SF_ID}$h" | awk '{print $3}')
done

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
status() { in_ns "sf$SF_ID-$1" "$AGENT" --status; }
start_in() {   # start_in VAR NS LOG CMD...: background, PID in VAR
    local var=$1 ns=$2 log=$3 pid
    shift 3
    nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
    pid=$!
    sf_on_exit "kill -9 $pid"
    printf -v "$var" '%s' "$pid"
}

# HA_VALGRIND=1 runs the agents under valgrind and fails on any error or
# leak it reports.
wrap=()
if [ -n "${HA_VALGRIND:-}" ]; then
    AGENT=$SF_BIN/scaffold-hostagent-dyn   # valgrind needs malloc's symbols
    wrap=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
          --error-exitcode=99 "--log-file=$SF_TMP/valgrind-%p.log")
fi
start_in pidA "$nsA" "$SF_TMP/agentA.log" "${wrap[@]}" "$AGENT" \
    --iface "sf${SF_ID}a" \
    --flowid-prefix 10.1 --gateway-mac ff:ff:ff:ff:ff:ff \
    --static-object 80=10.2.0 --static-object 80=10.3.0
start_in pidB "$nsB" "$SF_TMP/agentB.log" "${wrap[@]}" "$AGENT" \
    --iface "sf${SF_ID}b" \
    --flowid-prefix 10.2 --gateway-mac "${mac[a]}"
start_in pidC "$nsC" "$SF_TMP/agentC.log" "${wrap[@]}" "$AGENT" \
    --iface "sf${SF_ID}c" \
    --flowid-prefix 10.3 --gateway-mac "${mac[a]}"
for h in a b c; do
    sf_wait 5 status $h >/dev/null || sf_die "agent $h did not start"
done
ok "three agents running"

start_in pidSB "$nsB" "$SF_TMP/serverB.log" "$SFCAT" --listen --echo \
    --fail-on-term 80
start_in pidSC "$nsC" "$SF_TMP/serverC.log" "$SFCAT" --listen --echo \
    --fail-on-term 80
sf_wait 5 grep -q '^listening' "$SF_TMP/serverB.log" || sf_die "server B"
sf_wait 5 grep -q '^listening' "$SF_TMP/serverC.log" || sf_die "server C"

mkfifo "$SF_TMP/in.fifo"
# Not through start_in: the FIFO must be opened by the background child
# (opening it blocks until we open the writing end below).
nsenter --net="/run/netns/$nsA" "$SFCAT" 80 --wait-ms 1000 \
    <"$SF_TMP/in.fifo" >"$SF_TMP/client.log" 2>&1 &
pidCl=$!
sf_on_exit "kill -9 $pidCl"
exec 7>"$SF_TMP/in.fifo"
sf_on_exit "exec 7>&-"
sf_wait 5 grep -q '^connected' "$SF_TMP/client.log" || sf_die "no connect: $(cat "$SF_TMP/client.log")"
check "first connection resolved to instance B" \
    grep -q '^connected 10.1.[0-9]*:[0-9]* > 10.2.[0-9]*:80$' "$SF_TMP/client.log"
echo one >&7
check "data with B" sf_wait 5 grep -qx 'recv: echo:one' "$SF_TMP/client.log"
check "B's server got it" grep -qx 'recv 0: one' "$SF_TMP/serverB.log"

# B's server fails over: close_sf(fd, SF_SEND_FAIL) on SIGTERM.
t0=$(date +%s%N)
kill -TERM "$pidSB"
sf_wait 5 grep -q '^bye' "$SF_TMP/serverB.log" || sf_die "server B did not stop"
got_two() { grep -q '^recv: echo:two-' "$SF_TMP/client.log"; }
for i in $(seq 1 50); do
    echo "two-$i" >&7
    sleep 0.05
    got_two && break
done
t1=$(date +%s%N)
check "data flows again after the failover" got_two
sf_log "failover: first echo after $(( (t1 - t0) / 1000000 )) ms (datagrams every 50 ms)"
check "C accepted a resumed connection" \
    grep -q '^accepted 10.1.[0-9]*:[0-9]* resumed$' "$SF_TMP/serverC.log"
check "C's server got the data" grep -q '^recv 0: two-' "$SF_TMP/serverC.log"
check "the client saw no error" sh -c "! grep -q '^closed' '$SF_TMP/client.log'"
check "A's connection resynced once, now to 10.3" \
    sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=ESTABLISHED .*remote=10.3.[0-9]*:80 .*resyncs=1 '"
a_line=$(status a | grep 'state=ESTABLISHED .*remote=10.3.')
a_local=$(sed -n 's/.* local=\([0-9.]*:[0-9]*\) .*/\1/p' <<<"$a_line")
first_local=$(sed -n 's/^connected \([0-9.]*:[0-9]*\) > .*/\1/p' "$SF_TMP/client.log")
check "A's connection now has a new local flowID (RSYN from a new sockID)" \
    test -n "$a_local" -a -n "$first_local" -a "$a_local" != "$first_local"
b_failed() { status b | grep -q 'state=FAILED'; }
check "B's old connection lingers as FAILED (answers FAIL)" b_failed

exec 7>&-
sf_wait 5 grep -q '^sent ' "$SF_TMP/client.log"
check "getpeername_sf reports the new instance" \
    grep -q '^peer 10.3.[0-9]*:80$' "$SF_TMP/client.log"
check "getsockname_sf reports the new local flowID ($a_local, was $first_local)" \
    grep -qx "local $a_local" "$SF_TMP/client.log"
check "server C saw the orderly close" sf_wait 5 grep -q '^closed 0$' "$SF_TMP/serverC.log"

# ---- agents stop cleanly on SIGTERM (and valgrind has its say) ----------
kill "$pidSC" 2>/dev/null
kill "$pidA" "$pidB" "$pidC"
stopped() { for p in "$pidA" "$pidB" "$pidC"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
check "agents exit on SIGTERM" sf_wait 10 stopped
if [ -n "${HA_VALGRIND:-}" ]; then
    check_eq "valgrind ran every agent (one log each)" 3 \
        "$(ls "$SF_TMP"/valgrind-*.log 2>/dev/null | wc -l)"
    check "valgrind: no errors, no leaks" \
        sh -c "! grep -q . $SF_TMP/valgrind-*.log"
    grep -h . "$SF_TMP"/valgrind-*.log | head -40 | sed 's/^/# /'
fi
check "no loop handles left open" \
    sh -c "! grep -q 'handles open' $SF_TMP/agent*.log"
sf_done
