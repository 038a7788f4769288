#!/usr/bin/env bash
# sfctl against the admin RPC server (controller/rpc.c) run alone by
# ctl-rpc-testd on a seeded sqlite store:
#   - every list command (hostID blocks included), as a table and as
#     --json, matches the database (read independently with Python's
#     sqlite3);
#   - status shows the served ssIDs (as ranges) and the block size;
#   - set-role and evict reach the server's hooks (and their canned errors
#     come back as one line and exit 1);
#   - TCP with the right token works, a wrong token fails with one line and
#     exit 1; a dead socket or closed port fails with one line and exit 1;
#     an unknown command or bad arguments exit 2;
#   - a malformed frame, a Request with an op the server does not know and
#     an oversized frame sent by Python each get one BAD_REQUEST error and
#     close only that connection: sfctl is served afterwards;
#   - events --follow prints an event appended while it runs;
#   - the server stops on SIGTERM, exits 0 and removes its socket.
. "$(dirname "$0")/lib.sh"
sf_init sfctl

SFCTL=$SF_TOP/build/bin/sfctl
TESTD=$SF_TOP/build/tests/ctl-rpc-testd
PY=/usr/bin/python3
[ -x "$SFCTL" ] && [ -x "$TESTD" ] \
    || sf_die "build sfctl and ctl-rpc-testd first (make)"

DB=$SF_TMP/state.db
SOCK=$SF_TMP/admin.sock
TOKEN=tok-$SF_ID-$RANDOM

"$TESTD" --db "$DB" --seed || sf_die "seeding $DB"

# The oracle: expected table cells and JSON objects computed from the
# database, compared with what sfctl printed.
cat > "$SF_TMP/check.py" <<'PYEOF'
import json, sqlite3, sys, time

db_path, kind, json_file, table_file = sys.argv[1:5]
arg = sys.argv[5] if len(sys.argv) > 5 else None
con = sqlite3.connect(db_path)
q = lambda sql, *a: con.execute(sql, a).fetchall()
u64 = lambda v: v & 0xFFFFFFFFFFFFFFFF
dpid = lambda v: "%016x" % u64(v)
mac = lambda b: ":".join("%02x" % x for x in b)
tm = lambda ms: "-" if not ms else time.strftime(
    "%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000))
OF = {0: "-", 1: "1.0", 2: "1.1", 3: "1.2", 4: "1.3", 5: "1.4", 6: "1.5"}
dash = lambda s: s if s else "-"

rows, objs = [], []
if kind == "switches":
    for d, name, role, ofv, conn, seen in q(
            "SELECT dpid, name, role, of_version, connected, last_seen "
            "FROM switches ORDER BY dpid"):
        n_ports = q("SELECT count(*) FROM ports WHERE dpid = ?", d)[0][0]
        rr = role == "object"      # ctl-rpc-testd's switch_info hook
        rows.append([dpid(d), dash(name), role, OF[ofv],
                     "yes" if conn else "no", str(n_ports),
                     "yes" if rr else "no", tm(seen)])
        objs.append({"dpid": dpid(d), "name": name, "role": role,
                     "of_version": ofv, "connected": bool(conn),
                     "last_seen_ms": seen, "n_ports": n_ports,
                     "has_round_robin": rr})
elif kind == "links":
    for sd, sp, dd, dp, probe in q(
            "SELECT src_dpid, src_port, dst_dpid, dst_port, last_probe "
            "FROM links ORDER BY src_dpid, src_port"):
        rows.append([dpid(sd), str(sp), dpid(dd), str(dp), tm(probe)])
        objs.append({"src_dpid": dpid(sd), "src_port": sp,
                     "dst_dpid": dpid(dd), "dst_port": dp,
                     "last_probe_ms": probe})
elif kind == "hosts":
    for m, ss, h, d, p, lease, joined, moved, name in q(
            "SELECT mac, ss_id, host_id, dpid, port_no, lease_expiry, "
            "joined_at, moved_at, name FROM hosts ORDER BY ss_id, host_id"):
        rows.append([mac(m), dash(name), "%d.%d" % (ss, h), dpid(d), str(p),
                     tm(joined), tm(moved), tm(lease)])
        objs.append({"mac": mac(m), "name": name, "ss_id": ss, "host_id": h,
                     "dpid": dpid(d), "port_no": p, "joined_ms": joined,
                     "moved_ms": moved, "lease_expiry_ms": lease})
elif kind == "objects":
    for oid, name in q("SELECT object_id, name FROM objects "
                       "ORDER BY object_id"):
        n = q("SELECT count(*) FROM instances WHERE object_id = ?", oid)[0][0]
        rows.append([str(oid), dash(name), str(n)])
        objs.append({"object_id": oid, "name": name, "n_instances": n})
elif kind == "instances":
    oid = int(arg) if arg.isdigit() else \
        q("SELECT object_id FROM objects WHERE name = ?", arg)[0][0]
    found = []
    for m, sock, bound, ss, h in q(
            "SELECT i.host_mac, i.sock_id, i.bound_at, h.ss_id, h.host_id "
            "FROM instances i JOIN hosts h ON h.mac = i.host_mac "
            "WHERE i.object_id = ?", oid):
        found.append((ss << 24 | h << 16 | sock, m, bound))
    for flow, m, bound in sorted(found):
        f = "%d.%d.%d" % (flow >> 24, flow >> 16 & 255, flow & 0xFFFF)
        rows.append([str(oid), f, mac(m), tm(bound)])
        objs.append({"object_id": oid, "flow_id": f, "flow_id_raw": flow,
                     "host_mac": mac(m), "bound_ms": bound})
elif kind == "blocks":
    for ss, first, size, d, alloc, empty in q(
            "SELECT ss_id, first_host, size, dpid, allocated_at, empty_since "
            "FROM blocks ORDER BY ss_id, first_host"):
        n = q("SELECT count(*) FROM hosts WHERE ss_id = ? AND dpid = ? "
              "AND host_id >= ? AND host_id < ?", ss, d, first,
              first + size)[0][0]
        # docs/protocol.md: ss.first.0.0/(16 - log2 size).
        prefix = "%d.%d.0.0/%d" % (ss, first, 16 - (size.bit_length() - 1))
        rows.append([str(ss), str(first), str(size), prefix, dpid(d), str(n),
                     tm(alloc), tm(empty)])
        objs.append({"ss_id": ss, "first_host_id": first, "size": size,
                     "prefix": prefix, "dpid": dpid(d), "n_hosts": n,
                     "allocated_ms": alloc, "empty_since_ms": empty})
elif kind == "events":
    since = int(arg or 0)
    for i, t, k, s, d in q("SELECT id, time, kind, subject, detail "
                           "FROM events WHERE id > ? ORDER BY id", since):
        rows.append([str(i), tm(t), k, dash(s), d])
        objs.append({"id": i, "time_ms": t, "kind": k, "subject": s,
                     "detail": d})
else:
    sys.exit("unknown kind " + kind)

def parse_table(path):
    """Cells of an aligned table, cut at the header's column starts."""
    lines = open(path).read().rstrip("\n").split("\n")
    header = lines[0]
    starts = [i for i, c in enumerate(header)
              if c != " " and (i == 0 or header[i - 1] == " ")]
    out = []
    for line in lines[1:]:
        cells = []
        for n, s in enumerate(starts):
            e = starts[n + 1] if n + 1 < len(starts) else len(line)
            cells.append(line[s:e].strip())
        out.append(cells)
    return out

errors = []
got_json = json.load(open(json_file))
if got_json != objs:
    errors.append("json: expected %s, got %s" % (objs, got_json))
got_rows = parse_table(table_file)
if got_rows != rows:
    errors.append("table: expected %s, got %s" % (rows, got_rows))
if not rows:
    errors.append("no rows in the database for %s: the test proves nothing"
                  % kind)
for e in errors:
    print("# " + e)
sys.exit(1 if errors else 0)
PYEOF

"$TESTD" --db "$DB" --socket "$SOCK" --tcp tcp:127.0.0.1:0 \
    --token "$TOKEN" --poll-ms 100 > "$SF_TMP/testd.out" \
    2> "$SF_TMP/testd.err" &
TESTD_PID=$!
sf_on_exit "kill $TESTD_PID"
sf_wait 10 grep -qx ready "$SF_TMP/testd.out" \
    || sf_die "ctl-rpc-testd not ready"
PORT=$(sed -n 's/^tcp-port //p' "$SF_TMP/testd.out")
check "admin socket is mode 0600" \
    test "$(stat -c %a "$SOCK")" = 600

ctl() { "$SFCTL" --socket "$SOCK" "$@"; }
# jget EXPR JSON: prints the Python expression EXPR of the parsed JSON 'd'.
jget() { $PY -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$2"; }
# sql QUERY: the first row of QUERY on the database, space-separated.
sql() {
    $PY -c 'import sqlite3,sys
print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' \
        "$DB" "$1"
}

# compare NAME KIND [ARG]: sfctl KIND [ARG] as table and as JSON vs the db.
compare() {
    local name=$1 kind=$2 arg=${3:-}
    local cmd=("$kind")
    [ -n "$arg" ] && [ "$kind" != events ] && cmd+=("$arg")
    [ -n "$arg" ] && [ "$kind" = events ] && cmd+=(--since "$arg")
    ctl "${cmd[@]}" > "$SF_TMP/out.txt" 2> "$SF_TMP/err.txt" \
        || { not_ok "$name: sfctl ${cmd[*]}: $(cat "$SF_TMP/err.txt")"
             return; }
    ctl --json "${cmd[@]}" > "$SF_TMP/out.json" 2>> "$SF_TMP/err.txt" \
        || { not_ok "$name: sfctl --json ${cmd[*]} failed"; return; }
    check "$name: table and --json match the database" \
        $PY "$SF_TMP/check.py" "$DB" "$kind" "$SF_TMP/out.json" \
        "$SF_TMP/out.txt" $arg
}

compare "switches" switches
compare "links" links
compare "hosts" hosts
compare "objects" objects
compare "instances by id" instances 80
compare "instances by name" instances dns
compare "blocks" blocks
compare "events" events
compare "events --since" events 2

# rules: from the hook (two canned rules for a connected switch).
out=$(ctl --json rules 0000000000000001)
check_eq "rules --json: the hook's two rules" "2 0x5c00000000000001 drop" \
    "$(jget 'len(d), d[0]["cookie"], d[1]["actions"]' "$out")"
check "rules table names the match" \
    bash -c "'$SFCTL' --socket '$SOCK' rules 1 | grep -q 'udp,tp_dst=1'"
check "rules reached the hook" grep -qx "hook rules 0000000000000001" \
    "$SF_TMP/testd.out"

# status: counts from the db.
out=$(ctl --json status)
exp=$(sql "SELECT (SELECT count(*) FROM switches),
                  (SELECT count(*) FROM switches WHERE connected),
                  (SELECT count(*) FROM hosts),
                  (SELECT count(DISTINCT object_id) FROM instances),
                  (SELECT count(*) FROM instances)")
check_eq "status --json counts match the database" "$exp" \
    "$(jget 'd["n_switches"], d["n_connected"], d["n_hosts"],
            d["n_objects"], d["n_instances"]' "$out")"
check_eq "status --json: served ssIDs and block size (testd's hook)" \
    "10 [10, 11, 12, 20] 16" \
    "$(jget 'd["ss_id"], d["ss_ids"], d["host_block"]' "$out")"
check "status --json: every block in the database is in a served ssID" \
    $PY -c 'import json, sys
served = set(json.loads(sys.argv[1])["ss_ids"])
sys.exit(not all(int(s) in served for s in sys.argv[2].split(",")))' \
    "$out" "$(sql "SELECT group_concat(DISTINCT ss_id) FROM blocks")"
ctl status > "$SF_TMP/status.txt"
check "status table: primary ssID" grep -q '^ssID: *10$' "$SF_TMP/status.txt"
check "status table: served ssIDs as ranges" \
    grep -q '^ssIDs: *10-12,20$' "$SF_TMP/status.txt"
check "status table: block size" \
    grep -q '^hostID block: *16$' "$SF_TMP/status.txt"

# set-role and evict reach the hooks.
out=$(ctl set-role 0000000000000002 object 2>&1)
check_eq "set-role prints one line" \
    "switch 0000000000000002: role object" "$out"
check "set-role reached the hook" \
    grep -qx "hook set_role 0000000000000002 object" "$SF_TMP/testd.out"
compare "switches after set-role" switches
check_eq "role in the database" "object" \
    "$(sql "SELECT role FROM switches WHERE dpid = 2")"

# expect_fail NAME RC PATTERN CMD...: CMD exits RC with exactly one line on
# stderr matching PATTERN and nothing on stdout.
expect_fail() {
    local name=$1 want=$2 pattern=$3 rc
    shift 3
    "$@" > "$SF_TMP/f.out" 2> "$SF_TMP/f.err"
    rc=$?
    if [ "$rc" -eq "$want" ] && [ "$(wc -l < "$SF_TMP/f.err")" -eq 1 ] \
        && [ ! -s "$SF_TMP/f.out" ] \
        && grep -q -- "$pattern" "$SF_TMP/f.err"; then
        ok "$name (exit $rc: $(cat "$SF_TMP/f.err"))"
    else
        not_ok "$name: exit $rc, stderr: $(cat "$SF_TMP/f.err")"
    fi
}

expect_fail "set-role on a disconnected switch: hook's error" 1 unavailable \
    ctl set-role fedcba9876543210 label
check "that call reached the hook too" \
    grep -qx "hook set_role fedcba9876543210 label" "$SF_TMP/testd.out"
expect_fail "set-role on an unknown switch" 1 "not found" \
    ctl set-role 99 label

out=$(ctl evict 02:00:00:00:00:03 2>&1)
check_eq "evict by MAC" "host 02:00:00:00:00:03: evicted" "$out"
check "evict reached the hook" \
    grep -qx "hook evict 02:00:00:00:00:03" "$SF_TMP/testd.out"
out=$(ctl evict 10.2 2>&1)
check_eq "evict by ss.host" "host 02:00:00:00:00:02: evicted" "$out"
check "evict by address reached the hook with the MAC" \
    grep -qx "hook evict 02:00:00:00:00:02" "$SF_TMP/testd.out"
compare "hosts after evict" hosts
compare "blocks after evict (host counts follow)" blocks
expect_fail "evict refused by the hook" 1 unavailable \
    ctl evict 02:00:00:00:00:04
expect_fail "evict an unknown host" 1 "not found" ctl evict 10.77

# TCP with the token.
out=$("$SFCTL" --connect "tcp:127.0.0.1:$PORT" --token "$TOKEN" --json status)
check_eq "tcp with the right token" 10 \
    "$(jget 'd["ss_id"]' "$out")"
out=$(SFCTL_TOKEN=$TOKEN "$SFCTL" --connect "tcp:127.0.0.1:$PORT" objects \
      | wc -l)
check_eq "tcp with the token from \$SFCTL_TOKEN" 4 "$out"
expect_fail "tcp with a wrong token" 1 unauthorized \
    "$SFCTL" --connect "tcp:127.0.0.1:$PORT" --token "wrong$TOKEN" switches
expect_fail "tcp without a token" 2 token \
    "$SFCTL" --connect "tcp:127.0.0.1:$PORT" switches

# Dead controller.
expect_fail "no socket" 1 "cannot connect" \
    "$SFCTL" --socket "$SF_TMP/nothing.sock" switches
expect_fail "no socket in --state-dir" 1 "cannot connect" \
    "$SFCTL" --state-dir "$SF_TMP/nowhere" status
# A port nobody listens on (Python binds one and lets it go).
dead_port=$($PY -c 'import socket; s=socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_fail "closed TCP port" 1 "cannot connect" \
    "$SFCTL" --connect "tcp:127.0.0.1:$dead_port" --token x switches

# Usage errors.
expect_fail "unknown command" 2 "unknown command" ctl frobnicate
expect_fail "no command" 2 "no command" ctl
expect_fail "unknown option" 2 "unknown" ctl --frob switches
expect_fail "bad dpid" 2 "datapath id" ctl rules xyz
expect_fail "bad role" 2 "role" ctl set-role 1 router
expect_fail "bad host" 2 "bad host" ctl evict 10.0
expect_fail "missing argument" 2 "usage" ctl instances
expect_fail "extra argument" 2 "no arguments" ctl switches 1
expect_fail "--follow on another command" 2 "no option" ctl hosts --follow
expect_fail "bad --since" 2 "since" ctl events --since x
check "--help exits 0" bash -c "'$SFCTL' --help | grep -q '^usage: sfctl'"
check "--help lists blocks" \
    bash -c "'$SFCTL' --help | grep -q '^  blocks  '"
expect_fail "blocks takes no argument" 2 "no arguments" ctl blocks 1

# Malformed and oversized frames from Python: answered with an error
# frame, that connection closed, the server keeps serving.
malformed=$($PY - "$SOCK" <<'PYEOF'
import socket, struct, sys

def varint(b, i):
    v = shift = 0
    while True:
        v |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return v, i

def fields(b):
    """(number, value) pairs of a protobuf message (varints and bytes)."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 0:
            v, i = varint(b, i)
        elif key & 7 == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % (key & 7))
        out.append((key >> 3, v))
    return out

# Request id 78 with field 99 (an op this server does not know, as a newer
# sfctl would send) holding an empty message.
unknown_op = b"\x08\x4e\x9a\x06\x00"
res = []
for payload in (struct.pack(">I", 3) + b"\xff\xff\xff",
                struct.pack(">I", len(unknown_op)) + unknown_op,
                struct.pack(">I", 64 * 1024 * 1024)):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(payload)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    # One frame back, then end of stream; the frame is a Response (id
    # echoed, 0 if unknown) whose result is Error (field 9) with code
    # BAD_REQUEST (1) and a message.
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != len(data) - 4:
        res.append("bad:%r" % data)
        continue
    r = dict(fields(data[4:]))
    e = dict(fields(r.get(9, b"")))
    res.append("id=%d,code=%d,%s" % (r.get(1, 0), e.get(1, 0),
                                     e.get(2, b"").decode()))
print("|".join(res))
PYEOF
)
exp="id=0,code=1,request does not decode"
exp+="|id=78,code=1,request has no known op"
exp+="|id=0,code=1,frame larger than 1048576 bytes"
check_eq "malformed, unknown-op and oversized frames: one BAD_REQUEST each" \
    "$exp" "$malformed"
check "server still alive" kill -0 "$TESTD_PID"
compare "switches after malformed frames" switches
compare "blocks after malformed frames" blocks

# events --follow sees an event appended meanwhile.
ctl --json events --follow > "$SF_TMP/follow.out" 2> "$SF_TMP/follow.err" &
FOLLOW_PID=$!
sf_on_exit "kill $FOLLOW_PID"
sf_wait 5 grep -q '"kind":"host.join"' "$SF_TMP/follow.out" \
    || not_ok "follow: seeded events not printed"
"$TESTD" --db "$DB" --event test.follow "s-$SF_ID" "appended while following"
check "events --follow prints the new event" \
    sf_wait 5 grep -q "\"subject\":\"s-$SF_ID\"" "$SF_TMP/follow.out"
kill "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID" 2>/dev/null
compare "events after follow" events

# Clean stop.
kill -TERM "$TESTD_PID"
wait "$TESTD_PID"
check_eq "ctl-rpc-testd exits 0 on SIGTERM (loop closed clean)" 0 $?
check "socket removed on stop" test ! -e "$SOCK"
check "no errors logged by the server" \
    bash -c "! grep -E '\\|(ERR|EMER)\\|' '$SF_TMP/testd.err'"
expect_fail "sfctl after the server stopped" 1 "cannot connect" \
    ctl switches

sf_done
