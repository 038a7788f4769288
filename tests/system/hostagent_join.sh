#!/usr/bin/env bash
# hostagent_join: the agent's controller mode against a scripted stand-in
# for the controller (the real one needs OVS; see the controller's tests).
#
# Host A runs scaffold-hostagent without --flowid-prefix: it joins in band
# (docs/protocol.md 5.5).  On the other end of a veth pair a small python
# "controller" answers JoinRequests (hostID 7 on a first join; previous
# hostID + 1 when the request carries a previous address, i.e. a move) and
# Keepalives, from 10.255.0 to the assigned ss.host.0.
#
#   - the agent joins, its status shows prefix 10.7 and state JOINED;
#   - a connect before any join fails with ENETUNREACH (checked first);
#   - the link goes down and up: the agent joins again with its previous
#     address and takes the new one (10.8, counted as a move);
#   - keepalives flow;
#   - a listener is bound with the controller (BindRequest LISTEN|REPLACE,
#     answered with a Reply), bound again after the move, and unbound
#     when its application dies;
#   - getsockopt_sf(SF_SO_BOUND) (sf-callbench bound): a listener opened
#     before the join learns of its confirmation only once the controller
#     answered; a refusal (CONFLICT for object 81) is its error.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_join

AGENT=$SF_BIN/scaffold-hostagent
SFCAT=$SF_BIN/sfcat
CB=$SF_BIN/sf-callbench
PY=/usr/bin/python3
[ -x "$AGENT" ] && [ -x "$SFCAT" ] && [ -x "$CB" ] \
    || sf_die "build first: $AGENT, $SFCAT, $CB"

sf_netns a >/dev/null || sf_die "netns a"
sf_netns c >/dev/null || sf_die "netns c"
nsA=sf$SF_ID-a nsC=sf$SF_ID-c
ifA=sf${SF_ID}a ifC=sf${SF_ID}c
sf_veth "$ifA" "$ifC" || sf_die "veth"
ip link set "$ifA" netns "$nsA" && ip link set "$ifC" netns "$nsC" \
    || sf_die "move veth"
ip -n "$nsA" link set "$ifA" up
ip -n "$nsC" link set "$ifC" up
macC=$(ip -n "$nsC" -br link show "$ifC" | awk '{print $3}')

inA() { nsenter --net="/run/netns/$nsA" "$@"; }
statusA() { inA "$AGENT" --status; }

cat >"$SF_TMP/ctl.py" <<'EOF'
# ctl.py IFACE MAC: answers JoinRequest / Keepalive like the controller.
import socket, struct, sys

iface, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))
SS = 10

def varint(v):
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out

def field(num, val):            # varint or bytes
    if isinstance(val, bytes):
        return varint(num << 3 | 2) + varint(len(val)) + val
    return varint(num << 3) + varint(val)

def parse(buf):                 # {field: value or bytes}
    out, i = {}, 0
    while i < len(buf):
        key, i = rd(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num], i = rd(buf, i)
        elif wt == 2:
            n, i = rd(buf, i)
            out[num] = buf[i:i + n]
            i += n
        else:
            raise ValueError('wire type %d' % wt)
    return out

def rd(buf, i):
    v = s = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << s
        s += 7
        if not b & 0x80:
            return v, i

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def frame(dmac, src, dst, payload):
    sfh = struct.pack('!BBBBIIQ', 1, 0x40, 5, 0, 0, 0, 0) + payload
    ulen = 8 + len(sfh)
    pseudo = struct.pack('!IIBBH', src, dst, 0, 17, ulen)
    uc = csum(pseudo + struct.pack('!HHHH', 1, 1, ulen, 0) + sfh) or 0xffff
    ip0 = struct.pack('!BBHHHBBHII', 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17,
                      0, src, dst)
    ip = ip0[:10] + struct.pack('!H', csum(ip0)) + ip0[12:]
    f = dmac + mac + b'\x08\x00' + ip + struct.pack('!HHHH', 1, 1, ulen,
                                                   uc) + sfh
    return f + b'\0' * max(0, 60 - len(f))

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((iface, 0))
hosts = {}                      # MAC -> hostID
while True:
    f = s.recv(2048)
    if len(f) < 62 or f[23] != 17:
        continue
    sport, dport = struct.unpack('!HH', f[34:38])
    if sport != 1 or dport != 1:
        continue
    env = parse(f[62:])
    smac = f[6:12]
    if 10 in env:               # JoinRequest
        jr = parse(env[10])
        prev = parse(jr[4]).get(2, 0) if 4 in jr else 0
        host = prev + 1 if prev else 7
        hosts[smac] = host
        body = (field(1, jr.get(1, 0)) + field(2, SS) + field(3, host)
                + field(4, SS << 24 | host << 16) + field(5, 16)
                + field(6, mac) + field(7, 30) + field(8, 1) + field(9, 5)
                + field(10, 1 if prev else 0))
        reply = field(1, 1) + field(11, body)
        print('join %s -> %d.%d' % ('move' if prev else 'new', SS, host),
              flush=True)
    elif 15 in env:             # Keepalive
        ka = parse(env[15])
        host = hosts.get(smac, 0)
        reply = field(1, 1) + field(16, field(1, ka.get(1, 0)) + field(2, 1)
                                    + field(3, 30))
        print('keepalive', flush=True)
    elif 12 in env or 13 in env:  # BindRequest / UnbindRequest
        rq = parse(env[12] if 12 in env else env[13])
        host = hosts.get(smac, 0)
        if 12 in env and rq.get(2, 0) == 81:    # Error CONFLICT
            reply = field(1, 1) + field(17, field(1, rq.get(1, 0))
                                        + field(2, 5))
        else:
            reply = field(1, 1) + field(16, field(1, rq.get(1, 0))
                                        + field(2, 1))
        print('%s %d %d flags %d' % ('bind' if 12 in env else 'unbind',
                                     rq.get(2, 0), rq.get(3, 0),
                                     rq.get(4, 0)), flush=True)
    else:
        continue
    s.send(frame(smac, SS << 24 | 255 << 16, SS << 24 | host << 16, reply))
EOF

# The agent comes up first, with no controller: it keeps asking.
start_bg() {   # start_bg VAR NS LOG CMD...
    local var=$1 ns=$2 log=$3 pid
    shift 3
    nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
    pid=$!
    sf_on_exit "kill -9 $pid"
    printf -v "$var" '%s' "$pid"
}
# HA_VALGRIND=1: the agent under valgrind (any error or leak fails).
wrap=()
if [ -n "${HA_VALGRIND:-}" ]; then
    AGENT=$SF_BIN/scaffold-hostagent-dyn   # valgrind needs malloc's symbols
    wrap=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
          "--log-file=$SF_TMP/valgrind-%p.log")
fi
start_bg pidA "$nsA" "$SF_TMP/agentA.log" "${wrap[@]}" "$AGENT" --iface "$ifA"
sf_wait 5 statusA >/dev/null || sf_die "agent A did not start"
joining() { statusA | grep -q '^join state=JOINING'; }
check "agent in controller mode, joining" joining
check "connect before the join: ENETUNREACH" \
    sh -c "echo x | nsenter --net=/run/netns/$nsA '$SFCAT' 80 2>&1 | grep -q 'Network is unreachable'"

# A listener opened before the join: its confirmation waits for the
# controller (SF_SO_BOUND blocks; nothing is printed until it answers).
start_bg pidB "$nsA" "$SF_TMP/bound90.log" "$CB" bound --object 90 --hold 1
sf_wait 5 sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=LISTEN .*:90 '" \
    || sf_die "listener 90 did not open: $(cat "$SF_TMP/bound90.log")"
check "SF_SO_BOUND before the join: still waiting" \
    sh -c "! grep -q . '$SF_TMP/bound90.log'"

start_bg pidCtl "$nsC" "$SF_TMP/ctl.log" "$PY" -u "$SF_TMP/ctl.py" "$ifC" "$macC"
joined_as() { statusA | grep -q "^agent .* prefix=$1.0 mode=controller" \
              && statusA | grep -q '^join state=JOINED'; }
check "joined: prefix 10.7 from the controller" sf_wait 10 joined_as 10.7
check "join retried until answered (backoff)" \
    sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -Eq '^join .* tx=([2-9]|[1-9][0-9]+) '"
check "keepalives answered" sf_wait 5 grep -q '^keepalive' "$SF_TMP/ctl.log"
check "SF_SO_BOUND: confirmed once the controller answered the bind" \
    sf_wait 10 grep -q '^bound [0-9.]*:90 ' "$SF_TMP/bound90.log"
check "the controller got that BindRequest first" \
    grep -q '^bind 90 ' "$SF_TMP/ctl.log"
{ kill "$pidB"; wait "$pidB"; } 2>/dev/null
inA "$CB" bound --object 81 >"$SF_TMP/bound81.log" 2>&1
check_eq "SF_SO_BOUND refused (CONFLICT): exit status 1" 1 $?
check "...with the refusal as its error (EADDRINUSE)" \
    grep -q '^error Address already in use' "$SF_TMP/bound81.log"

# A listener bound before the move follows the prefix.
start_bg pidS "$nsA" "$SF_TMP/server.log" "$SFCAT" --listen 80
sf_wait 5 grep -q '^listening 10.7.' "$SF_TMP/server.log"
check "listener bound under the joined prefix" grep -q '^listening 10.7.' "$SF_TMP/server.log"
binds() { statusA | grep -q "^binds bound=$1 pending=0 "; }
check "controller got BindRequest for object 80 (LISTEN|REPLACE)" \
    sf_wait 5 grep -q '^bind 80 [0-9]* flags 3$' "$SF_TMP/ctl.log"
check "bind answered: status binds bound=1 pending=0" sf_wait 5 binds 1

ip -n "$nsA" link set "$ifA" down
link_down() { statusA | grep -q 'link=down' && statusA | grep -q '^join state=IDLE'; }
check "link down seen (rtnetlink), join client idle" sf_wait 5 link_down
ip -n "$nsA" link set "$ifA" up
check "rejoined after the link came back: moved to 10.8" sf_wait 10 joined_as 10.8
check "counted as a move" sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q '^join .* moves=1'"
check "the controller saw a join with the previous address" \
    grep -q '^join move -> 10.8' "$SF_TMP/ctl.log"
check "the listener moved with the host" \
    sh -c "nsenter --net=/run/netns/$nsA '$AGENT' --status | grep -q 'state=LISTEN local=10.8.[0-9]*:80 '"
nbinds() { [ "$(grep -c '^bind 80 ' "$SF_TMP/ctl.log")" -ge "$1" ]; }
check "listener bound again after the move" sf_wait 5 nbinds 2
check "re-bind answered (bound=1)" sf_wait 5 binds 1
{ kill -9 "$pidS"; wait "$pidS"; } 2>/dev/null
check "listener's application killed: UnbindRequest for object 80" \
    sf_wait 5 grep -q '^unbind 80 ' "$SF_TMP/ctl.log"
check "unbind answered: binds bound=0 pending=0" sf_wait 5 binds 0

kill "$pidA"
stopped() { ! kill -0 "$pidA" 2>/dev/null; }
check "agent exits on SIGTERM" sf_wait 5 stopped
if [ -n "${HA_VALGRIND:-}" ]; then
    check_eq "valgrind ran every agent (one log each)" 1 \
        "$(ls "$SF_TMP"/valgrind-*.log 2>/dev/null | wc -l)"
    check "valgrind: no errors, no leaks" \
        sh -c "! grep -q . $SF_TMP/valgrind-*.log"
    grep -h . "$SF_TMP"/valgrind-*.log | head -40 | sed 's/^/# /'
fi
if [ "$SF_FAIL" -gt 0 ]; then
    cat "$SF_TMP/ctl.log" "$SF_TMP/agentA.log" | sed 's/^/# /'
fi
sf_done
