#!/usr/bin/env bash
# apps_tftp_failover: an sf-tftp download continues on another server
# instance after the first one sheds the client mid-transfer.
#
# Hosts A (client), B and C (two instances of objectID 69) on one Linux
# bridge, agents in static mode as in hostagent_failover.sh: A resolves
# objectID 69 with two static entries (10.2.0 and 10.3.0), round robin, a
# resync going to the next instance.
#
#   - B's server runs with --fail-after-blocks 1000: after sending block
#     1000 it calls close_sf(fd, SF_SEND_FAIL);
#   - B's stack sends FAIL at once; A's stack resyncs to C, holding the
#     client's ACK 1000 meanwhile (or replaying it if it reached B after
#     the shed) and sending it to C after the resync; C's server accepts a
#     *resumed* connection that has no transfer and answers that ACK with
#     ERROR 5; the client re-requests with "resume" = 1001 and C continues
#     from there;
#   - the file arrives intact (sha256), on the same client descriptor;
#   - then a paced transfer whose server instance is killed (kill -9)
#     mid-way: its agent resets the connection, the client opens a new one
#     (resolved to the other instance, retrying if it lands on the dead
#     one) and re-requests with "resume"; the file arrives intact.
. "$(dirname "$0")/lib.sh"
sf_init apps_tftp_failover

AGENT=$SF_BIN/scaffold-hostagent
TFTP=$SF_BIN/sf-tftp
[ -x "$AGENT" ] && [ -x "$TFTP" ] || sf_die "build first: $AGENT, $TFTP"

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

status() { nsenter --net="/run/netns/sf$SF_ID-$1" "$AGENT" --status; }
bg_in() {   # bg_in VAR NS LOG CMD...: background, PID in VAR
    local var=$1 ns=$2 log=$3 pid
    shift 3
    nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
    pid=$!
    sf_on_exit "kill -9 $pid"
    printf -v "$var" '%s' "$pid"
}
sha() { sha256sum <"$1" | cut -d' ' -f1; }

bg_in pidA "$nsA" "$SF_TMP/agentA.log" "$AGENT" --iface "sf${SF_ID}a" \
    --flowid-prefix 10.1 --gateway-mac ff:ff:ff:ff:ff:ff \
    --static-object 69=10.2.0 --static-object 69=10.3.0 \
    --static-object 70=10.2.0 --static-object 70=10.3.0
bg_in pidB "$nsB" "$SF_TMP/agentB.log" "$AGENT" --iface "sf${SF_ID}b" \
    --flowid-prefix 10.2 --gateway-mac "${mac[a]}"
bg_in pidC "$nsC" "$SF_TMP/agentC.log" "$AGENT" --iface "sf${SF_ID}c" \
    --flowid-prefix 10.3 --gateway-mac "${mac[a]}"
for h in a b c; do
    sf_wait 5 status $h >/dev/null || sf_die "agent $h did not start"
done
ok "three agents running"

mkdir -p "$SF_TMP/root"
head -c 1500000 /dev/urandom >"$SF_TMP/root/file.bin"
bg_in pidSB "$nsB" "$SF_TMP/serverB.log" "$TFTP" -s --object 69 \
    --root "$SF_TMP/root" --fail-after-blocks 1000
bg_in pidSC "$nsC" "$SF_TMP/serverC.log" "$TFTP" -s --object 69 \
    --root "$SF_TMP/root"
sf_wait 5 grep -q '^listening 10.2' "$SF_TMP/serverB.log" || sf_die "server B"
sf_wait 5 grep -q '^listening 10.3' "$SF_TMP/serverC.log" || sf_die "server C"

nsenter --net="/run/netns/$nsA" "$TFTP" -c 69 file.bin \
    -o "$SF_TMP/out.bin" >"$SF_TMP/client.log" 2>&1
check_eq "client exit status" 0 $?
check_eq "file intact after the failover (sha256)" \
    "$(sha "$SF_TMP/root/file.bin")" "$(sha "$SF_TMP/out.bin")"
check "client connected to instance B first" \
    grep -q '^connected to 10.2.[0-9]*:69$' "$SF_TMP/client.log"
check "B shed the client after 1000 blocks (SF_SEND_FAIL)" \
    grep -q '^shedding 10.1.[0-9]*:[0-9]* after 1000 blocks of file.bin' \
    "$SF_TMP/serverB.log"
check "C accepted a resumed connection" \
    grep -q '^accepted 10.1.[0-9]*:[0-9]* resumed$' "$SF_TMP/serverC.log"
check "C continued at block 1001 (RRQ with resume)" \
    grep -q '^RRQ file.bin .* resume at block 1001$' "$SF_TMP/serverC.log"
check "C sent the rest of the file" \
    grep -q '^sent file.bin to 10.1.[0-9]*:[0-9]*: 1500000 bytes, blocks 1930 ' \
    "$SF_TMP/serverC.log"
check "client resumed on the same connection (no reconnect)" \
    grep -q ' 1 resumes, 0 reconnects, .*, last server 10.3.[0-9]*:69$' \
    "$SF_TMP/client.log"
check "client re-requested from block 1001" \
    grep -q '^resuming file.bin at block 1001 (byte 512000) after' \
    "$SF_TMP/client.log"
sf_log "$(grep '^received' "$SF_TMP/client.log")"
sf_log "$(grep '^resuming' "$SF_TMP/client.log")"

# ---- an instance dies (kill -9) mid-download -------------------------------
# Its agent resets the connection; the client opens a new one, which the
# static resolver sends to an instance (retrying if it lands on the dead
# one), and re-requests with "resume".
head -c 1048576 /dev/urandom >"$SF_TMP/root/paced.bin"
bg_in pidPB "$nsB" "$SF_TMP/pacedB.log" "$TFTP" -s --object 70 \
    --root "$SF_TMP/root" --rate 300k
bg_in pidPC "$nsC" "$SF_TMP/pacedC.log" "$TFTP" -s --object 70 \
    --root "$SF_TMP/root" --rate 300k
sf_wait 5 grep -q '^listening 10.2' "$SF_TMP/pacedB.log" || sf_die "paced B"
sf_wait 5 grep -q '^listening 10.3' "$SF_TMP/pacedC.log" || sf_die "paced C"
bg_in pidCl "$nsA" "$SF_TMP/client2.log" "$TFTP" -c 70 paced.bin \
    -o "$SF_TMP/paced.out"
sf_wait 10 sh -c "[ \$(stat -c %s '$SF_TMP/paced.out' 2>/dev/null || echo 0) -ge 200000 ]" \
    || sf_die "paced download did not start: $(cat "$SF_TMP/client2.log")"
if grep -q '^connected to 10.2' "$SF_TMP/client2.log"; then
    victim=$pidPB; victim_log=pacedB.log; other_log=pacedC.log
else
    victim=$pidPC; victim_log=pacedC.log; other_log=pacedB.log
fi
{ kill -9 "$victim"; wait "$victim"; } 2>/dev/null
wait "$pidCl"
check_eq "instance killed mid-download: client exit status" 0 $?
check_eq "instance killed mid-download: file intact (sha256)" \
    "$(sha "$SF_TMP/root/paced.bin")" "$(sha "$SF_TMP/paced.out")"
check "client reconnected and resumed past block 1" \
    grep -q '^resuming paced.bin at block [0-9]* .* on a new connection' \
    "$SF_TMP/client2.log"
check "the other instance served the rest (RRQ with resume)" \
    grep -q '^RRQ paced.bin .* resume at block' "$SF_TMP/$other_log"
sf_log "$(grep '^resuming' "$SF_TMP/client2.log")"
sf_log "$(grep '^received' "$SF_TMP/client2.log")"

kill "$pidSB" "$pidSC"
check "agents still running" \
    sh -c "kill -0 $pidA && kill -0 $pidB && kill -0 $pidC"
sf_done
