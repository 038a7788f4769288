#!/usr/bin/env bash
# apps_tftp: sf-tftp between two hosts (network namespaces on a veth pair,
# one scaffold-hostagent each in static mode, no controller).
#
#   - a 1.5 MB random file downloads intact (sha256) with 512-byte blocks
#     and with the blksize option (1400);
#   - a missing file gives TFTP ERROR 1: the client exits 1 with the
#     message and leaves no output file;
#   - the client host moves mid-download (scaffold-hostagent --move, the
#     static mode's stand-in for a re-join with a new hostID): the stacks
#     resync, retransmissions cover the outage, the file arrives intact;
#   - --help and usage errors.
# Failover to another server instance is in apps_tftp_failover.sh.
. "$(dirname "$0")/lib.sh"
sf_init apps_tftp

AGENT=$SF_BIN/scaffold-hostagent
TFTP=$SF_BIN/sf-tftp
[ -x "$AGENT" ] && [ -x "$TFTP" ] || sf_die "build first: $AGENT, $TFTP"

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
sha() { sha256sum <"$1" | cut -d' ' -f1; }
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }

bg_in pidA "$nsA" "$SF_TMP/agentA.log" "$AGENT" --iface "$ifA" \
    --flowid-prefix 10.1 --gateway-mac "$macB"
bg_in pidB "$nsB" "$SF_TMP/agentB.log" "$AGENT" --iface "$ifB" \
    --flowid-prefix 10.2 --gateway-mac "$macA"
sf_wait 5 inA "$AGENT" --status >/dev/null || sf_die "agent A"
sf_wait 5 inB "$AGENT" --status >/dev/null || sf_die "agent B"

mkdir -p "$SF_TMP/root" "$SF_TMP/out"
head -c 1500000 /dev/urandom >"$SF_TMP/root/big.bin"
head -c 1048576 /dev/urandom >"$SF_TMP/root/slow.bin"

bg_in pidS "$nsB" "$SF_TMP/server.log" "$TFTP" -s --object 69 \
    --root "$SF_TMP/root"
sf_wait 5 grep -q '^listening 10.2.[0-9]*:69 ' "$SF_TMP/server.log" \
    || sf_die "server did not listen: $(cat "$SF_TMP/server.log")"
ok "sf-tftp server listening on objectID 69"

# ---- plain downloads -------------------------------------------------------
inA "$TFTP" -c 69 big.bin -o "$SF_TMP/out/big512" >"$SF_TMP/c1.log" 2>&1
check_eq "512-byte blocks: client exit status" 0 $?
check_eq "512-byte blocks: file intact (sha256)" \
    "$(sha "$SF_TMP/root/big.bin")" "$(sha "$SF_TMP/out/big512")"
check "client reports total bytes and time" \
    grep -q '^received big.bin: 1500000 bytes in [0-9.]* s' "$SF_TMP/c1.log"
sf_log "$(grep '^received' "$SF_TMP/c1.log")"

inA "$TFTP" -c 69 big.bin -o "$SF_TMP/out/big1400" --blksize 1400 \
    >"$SF_TMP/c2.log" 2>&1
check_eq "blksize 1400: client exit status" 0 $?
check_eq "blksize 1400: file intact (sha256)" \
    "$(sha "$SF_TMP/root/big.bin")" "$(sha "$SF_TMP/out/big1400")"
check "blksize 1400 negotiated (OACK)" grep -q 'blksize 1400,' "$SF_TMP/c2.log"
check "server logged blksize 1400" grep -q 'RRQ big.bin .*blksize 1400' "$SF_TMP/server.log"
sf_log "$(grep '^received' "$SF_TMP/c2.log")"

# ---- errors ---------------------------------------------------------------
out=$(inA "$TFTP" -c 69 no-such-file -o "$SF_TMP/out/none" 2>&1)
rc=$?
check_eq "missing file: client exit status 1" 1 "$rc"
check "missing file: TFTP error message shown" \
    grep -q 'no-such-file: server error 1: file not found' <<<"$out"
check "missing file: no output file left" test ! -e "$SF_TMP/out/none"
out=$(inA "$TFTP" -c 69 ../etc/passwd -o "$SF_TMP/out/pw" 2>&1)
check_eq "path outside the root: exit status 1" 1 $?
check "path outside the root: access violation" \
    grep -q 'server error 2: access violation' <<<"$out"
out=$(inA "$TFTP" -c 70 big.bin -o "$SF_TMP/out/x" 2>&1)
check_eq "no server for the objectID: exit status 1" 1 $?
check "no server: connect error shown" grep -q 'connect_sf objectID 70' <<<"$out"
"$TFTP" --help >"$SF_TMP/help.txt"
check_eq "--help exit status" 0 $?
check "--help documents --fail-after-blocks" grep -q -- '--fail-after-blocks' "$SF_TMP/help.txt"
"$TFTP" -c 69 >/dev/null 2>&1
check_eq "client without FILE: exit status 2" 2 $?
"$TFTP" -s --object 69 >/dev/null 2>&1
check_eq "server without --root: exit status 2" 2 $?

# ---- the client moves mid-download ---------------------------------------
# A paced server (200 kB/s: 1 MB in ~5 s) so that the move lands mid-way.
bg_in pidP "$nsB" "$SF_TMP/paced.log" "$TFTP" -s --object 169 \
    --root "$SF_TMP/root" --rate 200k
sf_wait 5 grep -q '^listening' "$SF_TMP/paced.log" || sf_die "paced server"
bg_in pidC "$nsA" "$SF_TMP/move.log" "$TFTP" -c 169 slow.bin \
    -o "$SF_TMP/out/slow"
sf_wait 10 sh -c "[ \$(stat -c %s '$SF_TMP/out/slow' 2>/dev/null || echo 0) -ge 200000 ]" \
    || sf_die "download did not start: $(cat "$SF_TMP/move.log")"
at=$(fsize "$SF_TMP/out/slow")
check "client host moves to 10.5 mid-download (at $at bytes)" \
    inA "$AGENT" --move 10.5
moved_B() { inB "$AGENT" --status | grep -q 'remote=10.5.[0-9]*:'; }
check "server's agent followed the client to 10.5" sf_wait 5 moved_B
wait "$pidC"
check_eq "after the move: client exit status" 0 $?
check_eq "after the move: file intact (sha256)" \
    "$(sha "$SF_TMP/root/slow.bin")" "$(sha "$SF_TMP/out/slow")"
check "the same server connection served it all (no resume needed)" \
    sh -c "[ \$(grep -c '^RRQ slow.bin' '$SF_TMP/paced.log') = 1 ]"
sf_log "$(grep '^received' "$SF_TMP/move.log")"

kill "$pidS" "$pidP"
check "agents still running" sh -c "kill -0 $pidA && kill -0 $pidB"
sf_done
