#!/usr/bin/env bash
# hostagent_mobility: a client host changes its flowID prefix mid-connection
# (what a re-join with a new hostID does) and the connection resyncs.
#
# Hosts A and B on a veth pair, agents in static mode.  A connects to
# objectID 80 on B, data flows; then `scaffold-hostagent --move 10.5` in A
# (the static mode's stand-in for a re-join): A's stack sends RSYN from its
# new flowID 10.5.x, B's stack updates the connection's remote flowID and
# answers RSYN|ACK; data flows again on the same descriptors.  Then A's
# link goes down and up again (same prefix): a datagram sent during the
# outage is held and delivered after the resync that follows.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_mobility

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
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
macA=$(ip -n "$nsA" -br link show "$ifA" | awk '{print $3}')
macB=$(ip -n "$nsB" -br link show "$ifB" | awk '{print $3}')

inA() { nsenter --net="/run/netns/$nsA" "$@"; }
inB() { nsenter --net="/run/netns/$nsB" "$@"; }
bg_in() {   # bg_in VAR NS LOG CMD...: background, PID in VAR
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
bg_in pidA "$nsA" "$SF_TMP/agentA.log" "${wrap[@]}" "$AGENT" --iface "$ifA" \
    --flowid-prefix 10.1 --gateway-mac "$macB"
bg_in pidB "$nsB" "$SF_TMP/agentB.log" "${wrap[@]}" "$AGENT" --iface "$ifB" \
    --flowid-prefix 10.2 --gateway-mac "$macA"
sf_wait 5 inA "$AGENT" --status >/dev/null || sf_die "agent A"
sf_wait 5 inB "$AGENT" --status >/dev/null || sf_die "agent B"
bg_in pidS "$nsB" "$SF_TMP/server.log" "$SFCAT" --listen --echo 80
sf_wait 5 grep -q '^listening' "$SF_TMP/server.log" || sf_die "server"

mkfifo "$SF_TMP/in.fifo"
nsenter --net="/run/netns/$nsA" "$SFCAT" 80 --wait-ms 1000 \
    <"$SF_TMP/in.fifo" >"$SF_TMP/client.log" 2>&1 &
pidC=$!
sf_on_exit "kill -9 $pidC"
exec 7>"$SF_TMP/in.fifo"
sf_on_exit "exec 7>&-"
sf_wait 5 grep -q '^connected 10.1.' "$SF_TMP/client.log" \
    || sf_die "no connect: $(cat "$SF_TMP/client.log")"
echo one >&7
check "data before the move" sf_wait 5 grep -qx 'recv: echo:one' "$SF_TMP/client.log"

t0=$(date +%s%N)
check "agent A accepts --move 10.5" inA "$AGENT" --move 10.5
got_two() { grep -q '^recv: echo:two-' "$SF_TMP/client.log"; }
for i in $(seq 1 50); do
    echo "two-$i" >&7
    sleep 0.05
    got_two && break
done
t1=$(date +%s%N)
check "data flows again after the move" got_two
sf_log "mobility: first echo after $(( (t1 - t0) / 1000000 )) ms (datagrams every 50 ms)"
check "A's connection now leaves from 10.5" \
    sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=ESTABLISHED local=10.5.[0-9]*:'"
check "B followed the peer to 10.5 (one resync)" \
    sh -c "nsenter --net=/run/netns/$nsB '$AGENT' --status | grep -q 'state=ESTABLISHED .*remote=10.5.[0-9]*:.*resyncs=1 '"
check "the applications saw no error" \
    sh -c "! grep -q '^closed' '$SF_TMP/client.log' && ! grep -q '^closed' '$SF_TMP/server.log'"
check "the server got the new data" grep -q '^recv 0: two-' "$SF_TMP/server.log"

# ---- a link outage without a new address (issue 8) ------------------------
# A's link goes down and comes back (static mode: the same prefix).  A
# datagram the client sends meanwhile is held by A's stack (held=1), not
# sent into the dead link; once the link is back the connection resyncs
# from the same flowID and the datagram follows: the echo comes back
# although the application sent it only once.
ip -n "$nsA" link set "$ifA" down
check "agent A saw its link go down" \
    sf_wait 5 grep -q "$ifA: link down" "$SF_TMP/agentA.log"
echo three >&7
check "A's stack holds the datagram sent during the outage" \
    sf_wait 5 sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=ESTABLISHED .* held=1 '"
ip -n "$nsA" link set "$ifA" up
check "the held datagram is echoed after the link came back" \
    sf_wait 5 grep -qx 'recv: echo:three' "$SF_TMP/client.log"
check "B saw a second resync, from the same flowID (no move)" \
    sh -c "nsenter --net=/run/netns/$nsB '$AGENT' --status | grep -q 'state=ESTABLISHED .*remote=10.5.[0-9]*:.*resyncs=2 '"
check "A's connection kept its flowID" \
    sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=ESTABLISHED local=10.5.[0-9]*:.* held=1 replayed=0 tx_dropped=0 '"
check "--move refuses a bad prefix" sh -c "! nsenter --net=/run/netns/$nsA '$AGENT' --move 10.0 2>/dev/null"
exec 7>&-
sf_wait 5 grep -q '^local ' "$SF_TMP/client.log"
check "getsockname_sf reports the new flowID" \
    grep -q '^local 10.5.[0-9]*:' "$SF_TMP/client.log"
check "orderly close after the move" sf_wait 5 grep -q '^closed 0$' "$SF_TMP/server.log"

# ---- agents stop cleanly on SIGTERM (and valgrind has its say) ----------
kill "$pidS" 2>/dev/null
kill "$pidA" "$pidB"
stopped() { for p in "$pidA" "$pidB"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
check "agents exit on SIGTERM" sf_wait 10 stopped
if [ -n "${HA_VALGRIND:-}" ]; then
    check_eq "valgrind ran every agent (one log each)" 2 \
        "$(ls "$SF_TMP"/valgrind-*.log 2>/dev/null | wc -l)"
    check "valgrind: no errors, no leaks" \
        sh -c "! grep -q . $SF_TMP/valgrind-*.log"
    grep -h . "$SF_TMP"/valgrind-*.log | head -40 | sed 's/^/# /'
fi
check "no loop handles left open" \
    sh -c "! grep -q 'handles open' $SF_TMP/agent*.log"
sf_done
