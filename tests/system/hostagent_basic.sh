#!/usr/bin/env bash
# hostagent_basic: two hosts (network namespaces) joined by a veth pair,
# one scaffold-hostagent each in static addressing mode (no controller).
#
#   - sfcat serves objectID 80 on host B; host A connects to the objectID
#     (the SYN leaves unresolved; B's agent resolves it locally), data both
#     ways with content checked (short lines and a 1400-byte datagram),
#     orderly close, sockets gone afterwards;
#   - an application killed with kill -9 frees its sockets on both hosts;
#   - a forged RST and a forged FAIL with a wrong nonce, injected as raw
#     frames, do not break a connection (and a RST with the right nonce
#     does, which proves the injection reaches the agent);
#   - unbound datagrams (SOCK_DGRAM, sendto_sf/recvfrom_sf) both ways, the
#     first resolved by objectID on B, the answer sent to its source;
#   - malformed IPC messages and malformed frames are counted, answered or
#     dropped, and the agent keeps running;
#   - getsockopt_sf(SF_SO_BOUND) answers 1 at once in static mode.
#
# HA_VALGRIND=1 runs both agents under valgrind and fails on any error or
# leak it reports.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_basic

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
PY=/usr/bin/python3
[ -x "$AGENT" ] && [ -x "$SFCAT" ] || sf_die "build first: $AGENT, $SFCAT"

# Not in $(...): sf_netns registers its cleanup in this shell.
sf_netns a >/dev/null || sf_die "netns a"
sf_netns b >/dev/null || sf_die "netns b"
nsA=sf$SF_ID-a
nsB=sf$SF_ID-b
ifA=sf${SF_ID}a
ifB=sf${SF_ID}b
sf_veth "$ifA" "$ifB" || sf_die "veth"
ip link set "$ifA" netns "$nsA" && ip link set "$ifB" netns "$nsB" \
    || sf_die "move veth"
ip -n "$nsA" link set "$ifA" up
ip -n "$nsB" link set "$ifB" up
macA=$(ip netns exec "$nsA" cat "/sys/class/net/$ifA/address")
macB=$(ip netns exec "$nsB" cat "/sys/class/net/$ifB/address")

inA() { nsenter --net="/run/netns/$nsA" "$@"; }
inB() { nsenter --net="/run/netns/$nsB" "$@"; }
statusA() { inA "$AGENT" --status; }
statusB() { inB "$AGENT" --status; }

# Start a process in a namespace in the background; its PID goes into the
# variable named by $1 and is killed (by PID) at exit.
start_in() {
    local var=$1 ns=$2 log=$3 pid
    shift 3
    nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
    pid=$!
    sf_on_exit "kill -9 $pid"
    printf -v "$var" '%s' "$pid"
}

wrap=()
if [ -n "${HA_VALGRIND:-}" ]; then
    AGENT=$SF_BIN/scaffold-hostagent-dyn   # valgrind needs malloc's symbols
    wrap=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
          --error-exitcode=99 "--log-file=$SF_TMP/valgrind-%p.log")
fi
start_in pidA "$nsA" "$SF_TMP/agentA.log" "${wrap[@]}" "$AGENT" \
    --iface "$ifA" --flowid-prefix 10.1 --gateway-mac "$macB"
start_in pidB "$nsB" "$SF_TMP/agentB.log" "${wrap[@]}" "$AGENT" \
    --iface "$ifB" --flowid-prefix 10.2 --gateway-mac "$macA"
sf_wait 5 statusA >/dev/null || sf_die "agent A did not start: $(cat "$SF_TMP/agentA.log")"
sf_wait 5 statusB >/dev/null || sf_die "agent B did not start: $(cat "$SF_TMP/agentB.log")"
ok "agents running in both namespaces"

start_in pidS "$nsB" "$SF_TMP/server.log" "$SFCAT" --listen --echo 80
sf_wait 5 grep -q '^listening 10.2.' "$SF_TMP/server.log" \
    || sf_die "server did not listen: $(cat "$SF_TMP/server.log")"
listening_B() { statusB | grep -q 'state=LISTEN local=10.2.[0-9]*:80 '; }
check "listener visible in B's status" listening_B
# SF_SO_BOUND in static mode: no controller, confirmed at once.
inB "$SF_BIN/sf-callbench" bound --object 81 >"$SF_TMP/bound.log" 2>&1
check_eq "SF_SO_BOUND in static mode: confirmed (exit status)" 0 $?
check "...for the listener's own address" \
    grep -q '^bound 10\.2\.[0-9]*:81 ' "$SF_TMP/bound.log"

# ---- connect, data both ways, close ------------------------------------
big=$(head -c 1050 /dev/urandom | base64 -w0 | head -c 1400)
printf 'hello\nworld\n%s\n' "$big" >"$SF_TMP/in1"
inA "$SFCAT" 80 <"$SF_TMP/in1" >"$SF_TMP/client1.log" 2>&1
check_eq "client exit status" 0 $?
check "client connected to objectID 80 on host B" \
    grep -q '^connected 10.1.[0-9]*:[0-9]* > 10.2.[0-9]*:80$' "$SF_TMP/client1.log"
check "A -> B data arrived intact" \
    sh -c "grep -qx 'recv 0: hello' '$SF_TMP/server.log' && grep -qx 'recv 0: world' '$SF_TMP/server.log' && grep -qx 'recv 0: $big' '$SF_TMP/server.log'"
check "B -> A data arrived intact (1400 bytes included)" \
    sh -c "grep -qx 'recv: echo:hello' '$SF_TMP/client1.log' && grep -qx 'recv: echo:world' '$SF_TMP/client1.log' && grep -qx 'recv: echo:$big' '$SF_TMP/client1.log'"
check "client saw 3 sent, 3 received" grep -qx 'sent 3 received 3' "$SF_TMP/client1.log"
sf_wait 5 grep -q '^closed 0$' "$SF_TMP/server.log"
check "server saw the orderly close (recv_sf returned 0)" grep -q '^closed 0$' "$SF_TMP/server.log"
no_socks_A() { ! statusA | grep -q '^sock '; }
only_listener_B() { [ "$(statusB | grep -c '^sock ')" = 1 ]; }
check "A's sockets gone after close (TIME_WAIT expired)" sf_wait 5 no_socks_A
check "B keeps only its listener" sf_wait 5 only_listener_B

# ---- kill -9 frees the sockets ------------------------------------------
rm -f "$SF_TMP/c2.fifo"; mkfifo "$SF_TMP/c2.fifo"
nsenter --net="/run/netns/$nsA" "$SFCAT" 80 <"$SF_TMP/c2.fifo" \
    >"$SF_TMP/c2.log" 2>&1 &
pidC2=$!
sf_on_exit "kill -9 $pidC2"
exec 7>"$SF_TMP/c2.fifo"
sf_wait 5 grep -q '^connected' "$SF_TMP/c2.log" || sf_die "client 2 did not connect"
established_by() { statusA | grep -q "state=ESTABLISHED .* pid=$1 "; }
check "status names the owning process (SO_PEERCRED)" established_by "$pidC2"
check "B has the accepted connection" \
    sh -c "nsenter --net=/run/netns/$nsB '$AGENT' --status | grep -q 'state=ESTABLISHED local=10.2.[0-9]*:80'"
{ kill -9 "$pidC2"; wait "$pidC2"; } 2>/dev/null
exec 7>&-
check "killed app's socket freed on A" sf_wait 5 no_socks_A
check "peer's connection reset on B (RST)" sf_wait 5 only_listener_B
sf_wait 5 grep -q '^closed 1' "$SF_TMP/server.log" \
    || sf_wait 2 grep -q 'closed .*reset' "$SF_TMP/server.log"
check "server application saw the reset" grep -q 'Connection reset' "$SF_TMP/server.log"

# ---- forged RST / FAIL with a wrong nonce --------------------------------
cat >"$SF_TMP/inject.py" <<'EOF'
# inject.py IFACE SRC_MAC DST_MAC SRC_FLOW DST_FLOW SRC_OBJ DST_OBJ FLAGS
#           NONCE [PAYLOAD]
# Sends one SCAFFOLD frame (docs/protocol.md layout) on IFACE.
import socket, struct, sys

def flow(s):
    a, b, c = (int(x) for x in s.split('.'))
    return (a << 24) | (b << 16) | c

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

iface = sys.argv.pop(1)
smac = bytes.fromhex(sys.argv.pop(1).replace(':', ''))
dmac = bytes.fromhex(sys.argv[1].replace(':', ''))
src, dst = flow(sys.argv[2]), flow(sys.argv[3])
sobj, dobj, flags = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6], 0)
nonce = int(sys.argv[7], 0)
payload = sys.argv[8].encode() if len(sys.argv) > 8 else b''
sfh = struct.pack('!BBBBIIQ', 1, flags, 5, 0, 0, 0, nonce) + payload
ulen = 8 + len(sfh)
pseudo = struct.pack('!IIBBH', src, dst, 0, 17, ulen)
udp0 = struct.pack('!HHHH', sobj, dobj, ulen, 0) + sfh
uc = csum(pseudo + udp0) or 0xffff
udp = struct.pack('!HHHH', sobj, dobj, ulen, uc) + sfh
ip0 = struct.pack('!BBHHHBBHII', 0x45, 0, 20 + ulen, 1, 0x4000, 64, 17, 0,
                  src, dst)
ip = struct.pack('!BBHHHBBHII', 0x45, 0, 20 + ulen, 1, 0x4000, 64, 17,
                 csum(ip0), src, dst)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
frame = dmac + smac + b'\x08\x00' + ip + udp
if len(frame) < 60:
    frame += b'\0' * (60 - len(frame))
s.send(frame)
EOF

rm -f "$SF_TMP/c3.fifo"; mkfifo "$SF_TMP/c3.fifo"
nsenter --net="/run/netns/$nsA" "$SFCAT" 80 --wait-ms 500 <"$SF_TMP/c3.fifo" \
    >"$SF_TMP/c3.log" 2>&1 &
pidC3=$!
sf_on_exit "kill -9 $pidC3"
exec 7>"$SF_TMP/c3.fifo"
sf_wait 5 grep -q '^connected' "$SF_TMP/c3.log" || sf_die "client 3 did not connect"
echo before >&7
sf_wait 5 grep -qx 'recv: echo:before' "$SF_TMP/c3.log"
check "client 3 data before the attack" grep -qx 'recv: echo:before' "$SF_TMP/c3.log"
line=$(statusA | grep "state=ESTABLISHED .* pid=$pidC3 ")
local_ep=$(sed -n 's/.* local=\([0-9.]*\):\([0-9]*\) .*/\1 \2/p' <<<"$line")
remote_ep=$(sed -n 's/.* remote=\([0-9.]*\):\([0-9]*\) .*/\1 \2/p' <<<"$line")
nonce=$(sed -n 's/.* nonce=\([0-9a-f]*\) .*/\1/p' <<<"$line")
read -r aflow aobj <<<"$local_ep"
read -r bflow bobj <<<"$remote_ep"
[ -n "$nonce" ] && [ -n "$aflow" ] && [ -n "$bflow" ] \
    || sf_die "cannot parse A's status line: $line"
wrong=$(printf '0x%016x' $(( 0x$nonce ^ 0x5a5a )))
inject() { inB "$PY" "$SF_TMP/inject.py" "$ifB" "$macB" "$macA" "$bflow" "$aflow" "$bobj" "$aobj" "$@"; }
inject 0x08 "$wrong" || sf_die "inject failed"       # RST
inject 0x10 "$wrong"                                  # FAIL
inject 0x20 "$wrong"                                  # RSYN (hijack)
inject 0x40 "$wrong" evil                             # DATA
bad_nonce_3() { statusA | grep "pid=$pidC3 " | grep -q 'bad_nonce=4 '; }
check "4 forged frames counted as bad nonce" sf_wait 5 bad_nonce_3
check "connection still ESTABLISHED after forged RST/FAIL" established_by "$pidC3"
check "forged data not delivered" sh -c "! grep -q evil '$SF_TMP/c3.log'"
echo after >&7
check "data still flows after the forged frames" \
    sf_wait 5 grep -qx 'recv: echo:after' "$SF_TMP/c3.log"
# Control: the same RST with the right nonce does reset the connection.
inject 0x08 "0x$nonce"
check "a RST with the right nonce resets (injection path works)" \
    sf_wait 5 grep -q '^closed: Connection reset' "$SF_TMP/c3.log"
exec 7>&-
check "reset connection's socket freed" sf_wait 5 no_socks_A

# ---- unbound datagrams ------------------------------------------------------
start_in pidD "$nsB" "$SF_TMP/dserver.log" "$SFCAT" --dgram --listen --echo 99
sf_wait 5 grep -q '^bound 10.2.' "$SF_TMP/dserver.log" || sf_die "dgram server"
printf 'ping\npong\n' | inA "$SFCAT" --dgram 99 >"$SF_TMP/dclient.log" 2>&1
check "datagrams to objectID 99 arrive with their source" \
    sh -c "grep -q '^dgram from 10.1.[0-9]*:[0-9]*: ping$' '$SF_TMP/dserver.log' && grep -q '^dgram from 10.1.[0-9]*:[0-9]*: pong$' '$SF_TMP/dserver.log'"
check "answers come back from B's datagram socket" \
    sh -c "grep -q '^dgram from 10.2.[0-9]*:99: echo:ping$' '$SF_TMP/dclient.log' && grep -qx 'sent 2 received 2' '$SF_TMP/dclient.log'"
dgram_gone() { ! statusA | grep -q '^sock .* dgram'; }
check "client's datagram socket freed" sf_wait 5 dgram_gone

# ---- malformed input ------------------------------------------------------
cat >"$SF_TMP/badipc.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect('\0scaffold-hostagent')
answers = []
for msg in (b'\x07', b'\x01\x63\0\0\0\0\0\0', b'\x01\x02\0\0\0\0\0\0',
            b'\x02\x01\0\0\x01\0\0\0', b'\x01\x07\x05\0\0\0\0\0' + b'x' * 3):
    s.send(msg)
    r = s.recv(64)
    ver, typ, cnt, arg = struct.unpack('=BBHi', r[:8])
    answers.append('%d:%d' % (typ, arg))
print(' '.join(answers))
EOF
answers=$(inA "$PY" "$SF_TMP/badipc.py" 2>&1)
check_eq "malformed IPC messages answered with REPLY(-EBADMSG)" \
    "8:-74 8:-74 8:-74 8:-74 8:-74" "$answers"
check "malformed IPC counted" sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q '^ipc .* bad=5 '"
inject 0x80 "0x1"                                     # reserved flag bit
inject 0x03 "0x1"                                     # SYN|ACK... valid
check "malformed frame counted by codec error" \
    sf_wait 5 sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q '^frames bad SFP_E_FLAGS_RESERVED=1'"
check "agent A still running" kill -0 "$pidA"
check "agent B still running" kill -0 "$pidB"

# ---- agents stop cleanly on SIGTERM ----------------------------------------
kill "$pidS" "$pidD" "$pidA" "$pidB"
stopped() { ! kill -0 "$pidA" 2>/dev/null && ! kill -0 "$pidB" 2>/dev/null; }
check "agents exit on SIGTERM" sf_wait 5 stopped
if [ -n "${HA_VALGRIND:-}" ]; then
    check_eq "valgrind ran every agent (one log each)" 2 \
        "$(ls "$SF_TMP"/valgrind-*.log 2>/dev/null | wc -l)"
    check "valgrind: no errors, no leaks" \
        sh -c "! grep -q . $SF_TMP/valgrind-*.log"
    grep -h . "$SF_TMP"/valgrind-*.log | head -40 | sed 's/^/# /'
fi
check "no loop handles left open" sh -c "! grep -q 'handles open' '$SF_TMP/agentA.log' '$SF_TMP/agentB.log'"
sf_done
