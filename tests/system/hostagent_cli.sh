#!/usr/bin/env bash
# hostagent_cli: scaffold-hostagent's command line.
#
#   - --help (exit 0, on stdout) documents every long option the program
#     accepts (the option table in hostagent/main.c);
#   - every bad value is refused before the agent starts: exit status 2
#     and a message on stderr that names the option (and --help's hint
#     for unknown options); nothing is printed on stdout;
#   - --version works;
#   - a start that fails after some handles are open exits 1 cleanly.
#
# No agent is left running: every case fails (or prints and exits) before
# the agent would open anything; the interface name used for otherwise
# valid command lines does not exist, so those too end in an error
# (naming --iface).  Last, in a namespace of its own, an agent whose start
# fails half-way (its IPC name is taken) must exit 1, not abort.
. "$(dirname "$0")/lib.sh"
sf_init hostagent_cli

AGENT=$SF_BIN/scaffold-hostagent
[ -x "$AGENT" ] || sf_die "build first: $AGENT"
MAIN_C=$SF_TOP/hostagent/main.c

# ---- --help ------------------------------------------------------------
"$AGENT" --help >"$SF_TMP/help.out" 2>"$SF_TMP/help.err"
check_eq "--help exits 0" 0 $?
check "--help prints on stdout only" \
    sh -c "test -s '$SF_TMP/help.out' && ! test -s '$SF_TMP/help.err'"
"$AGENT" -h >"$SF_TMP/h.out" 2>&1
check "-h is --help" cmp -s "$SF_TMP/help.out" "$SF_TMP/h.out"
opts=$(sed -n 's/^ *{ "\([a-z-]*\)", [a-z_]*_argument,.*/\1/p' "$MAIN_C")
[ "$(wc -w <<<"$opts")" -ge 10 ] || sf_die "cannot read the option table of $MAIN_C"
undocumented=
for o in $opts; do
    grep -q -- "--$o\\b" "$SF_TMP/help.out" || undocumented="$undocumented --$o"
done
check_eq "--help documents every option" "" "$undocumented"
"$AGENT" --version >"$SF_TMP/version.out" 2>&1
check_eq "--version exits 0" 0 $?
check "--version names the program" grep -q '^scaffold-hostagent ' "$SF_TMP/version.out"

# ---- bad values: exit 2, the option named, nothing on stdout ------------
# bad NAME-IN-MESSAGE ARGS...
n_bad=0
bad() {
    local want=$1 rc
    shift
    "$AGENT" "$@" >"$SF_TMP/bad.out" 2>"$SF_TMP/bad.err"
    rc=$?
    n_bad=$((n_bad + 1))
    if [ "$rc" -ne 2 ]; then
        sf_log "$*: exit $rc, expected 2: $(head -3 "$SF_TMP/bad.err")"
        return 1
    fi
    if ! grep -q -- "$want" "$SF_TMP/bad.err"; then
        sf_log "$*: stderr does not name $want: $(head -3 "$SF_TMP/bad.err")"
        return 1
    fi
    if [ -s "$SF_TMP/bad.out" ]; then
        sf_log "$*: wrote on stdout"
        return 1
    fi
    return 0
}
IF=sfnoif$SF_ID           # no such interface
ST=(--iface "$IF" --flowid-prefix 10.1 --gateway-mac 02:00:00:00:00:01
    --ipc-name "sfcli$SF_ID")

for v in 10 0.1 10.0 10.255 255.1 256.1 10.1x 10.1.0 ' 10.1' 010.1 \
         -10.1 10.+1 ''; do
    check "--flowid-prefix '$v' refused" bad --flowid-prefix \
        --iface "$IF" --flowid-prefix "$v" --gateway-mac 02:00:00:00:00:01
done
for v in zz:00:00:00:00:01 -1:02:03:04:05:06 00:11:22:33:44 \
         00:11:22:33:44:55:66 0011.2233.4455 '0:11:22:33:44:55 ' \
         +1:02:03:04:05:06 ' 1:02:03:04:05:06' 00-11-22-33-44-55 ''; do
    check "--gateway-mac '$v' refused" bad --gateway-mac \
        --iface "$IF" --flowid-prefix 10.1 --gateway-mac "$v"
done
for v in 80 =10.2.0 0=10.2.0 65536=10.2.0 80=10.0.0 80=10.2 80=10.2.0x \
         x=10.2.0 -80=10.2.0 '80= 10.2.0' ''; do
    check "--static-object '$v' refused" bad --static-object \
        "${ST[@]}" --static-object "$v"
done
many=()
for i in $(seq 1 65); do many+=(--static-object "80=10.2.$i"); done
check "more than 64 --static-object refused" bad --static-object \
    "${ST[@]}" "${many[@]}"
for v in foo 4x 4:16:1x -4 4:1 4:16:0 4:16:1001 3 4::1 '' ' 4' 4:16:1:1 \
         0x; do
    check "--rx-ring '$v' refused" bad --rx-ring "${ST[@]}" --rx-ring "$v"
done
for v in 10 0.1 10.0 10.1x ''; do
    check "--move '$v' refused" bad --move --move "$v"
done
check "--ipc-name '' refused" bad --ipc-name "${ST[@]}" --ipc-name ''
check "--ipc-name too long refused" bad --ipc-name "${ST[@]}" \
    --ipc-name "$(printf 'n%.0s' $(seq 1 120))"
check "--iface too long refused" bad --iface --iface sf0123456789abcdef \
    --flowid-prefix 10.1 --gateway-mac 02:00:00:00:00:01
check "--iface '' refused" bad --iface --iface '' --flowid-prefix 10.1 \
    --gateway-mac 02:00:00:00:00:01
check "--iface that does not exist refused" bad --iface "${ST[@]}"
check "missing --iface refused" bad --iface --flowid-prefix 10.1 \
    --gateway-mac 02:00:00:00:00:01
check "--flowid-prefix without --gateway-mac refused" bad \
    --gateway-mac --iface "$IF" --flowid-prefix 10.1
check "--gateway-mac without --flowid-prefix refused" bad \
    --flowid-prefix --iface "$IF" --gateway-mac 02:00:00:00:00:01
check "--status with --move refused" bad --move --status --move 10.2
check "unknown option refused" bad --bogus "${ST[@]}" --bogus
check "unknown option: hint to --help" bad --help "${ST[@]}" --bogus
check "missing option argument refused" bad --iface --iface
check "stray argument refused" bad "'extra'" "${ST[@]}" extra
sf_log "$n_bad bad command lines tried"

# ---- a start that fails half-way exits 1, cleanly ------------------------
# The IPC name is taken (by a stand-in here), so the agent fails after
# opening its raw socket: it must report it and exit 1, not abort.
sf_netns cli >/dev/null || sf_die "netns"
ns=sf$SF_ID-cli
ip -n "$ns" link set lo up
nsenter --net="/run/netns/$ns" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind("\0" + sys.argv[1]); s.listen(1); print("bound", flush=True)
time.sleep(60)' "sfcli$SF_ID" >"$SF_TMP/holder.log" 2>&1 &
holder=$!
sf_on_exit "kill -9 $holder"
sf_wait 5 grep -q bound "$SF_TMP/holder.log" || sf_die "cannot hold the IPC name"
wrap=()
if [ -n "${HA_VALGRIND:-}" ]; then
    AGENT=$SF_BIN/scaffold-hostagent-dyn   # valgrind needs malloc's symbols
    wrap=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
          "--log-file=$SF_TMP/valgrind-%p.log")
fi
nsenter --net="/run/netns/$ns" "${wrap[@]}" "$AGENT" --iface lo --flowid-prefix 10.1 \
    --gateway-mac 02:00:00:00:00:01 --ipc-name "sfcli$SF_ID" \
    >"$SF_TMP/fail.out" 2>"$SF_TMP/fail.err"
check_eq "agent that cannot start exits 1" 1 $?
check "...and says why" grep -q "ipc: cannot listen on @sfcli$SF_ID" "$SF_TMP/fail.err"
check "...without aborting" sh -c "! grep -qi 'assert' '$SF_TMP/fail.err'"
{ kill -9 "$holder"; wait "$holder"; } 2>/dev/null
if [ -n "${HA_VALGRIND:-}" ]; then
    check "valgrind: no errors, no leaks in the failed start" \
        sh -c "ls $SF_TMP/valgrind-*.log >/dev/null && ! grep -q . $SF_TMP/valgrind-*.log"
    grep -h . "$SF_TMP"/valgrind-*.log 2>/dev/null | head -20 | sed 's/^/# /'
fi
sf_done
