#!/usr/bin/env bash
# testbed_emulated: the physical-testbed mode (issue 7), emulated by
# testbed/emulate.sh: one namespace per switch, each with its own
# ovsdb-server and ovs-vswitchd (stock OVS on the label routers lr1 and
# lr2, the patched OVS on the object router "or"), GRE tunnels from each
# label router to the object router over a routed underlay, a separate
# control network to the controller, hosts h1, h3 (lr1) and h2 (lr2)
# running scaffold-hostagent in controller mode.
#
#   - up: every switch connected over the control network (controller
#     target and TCP peer on 172.31.0.0/24, not loopback), GRE ports up
#     and links discovered through them, hosts joined, label routers got
#     their rules; the time to come up is reported;
#   - check: joins, round-robin resolution through the object router's
#     select group, failover and mobility with sf-tftp (sha256 compared);
#   - a label router's ovs-vswitchd killed (kill -9, PID from its pidfile)
#     and restarted gets exactly its rules back (dump-flows without
#     counters, before = after); the time to converge is reported;
#   - the controller killed (kill -9) and restarted reconciles every switch:
#     the same rule set, no duplicate;
#   - down removes every namespace and process it made, and nothing is
#     left in this test's namespace;
#   - the same with the object router on Debian's stock ovs-vswitchd: the
#     controller reports the missing extension and resolves in itself;
#   - operator tooling: switch-setup.sh prints the expected commands,
#     testbed/controller.conf.example starts the controller.
. "$(dirname "$0")/lib.sh"
sf_isolate "$@"
sf_init testbed_emulated

TB=$SF_TOP/testbed/emulate.sh
CTL=${SF_CTL:-$SF_BIN/scaffold-controller}
for b in "$CTL" "$SF_BIN/scaffold-hostagent" "$SF_BIN/sfctl" "$SF_BIN/sf-tftp" \
    "$SF_BIN/sfcat" "$SF_OVS_BLD/vswitchd/ovs-vswitchd" /usr/sbin/ovs-vswitchd; do
    [ -x "$b" ] || sf_die "missing $b (build first)"
done
export SCAFFOLD_TESTBED_DIR=$SF_TMP/tb
OF=$SF_OVS_BLD/utilities/ovs-ofctl
VS=$SF_OVS_BLD/utilities/ovs-vsctl

# --- operator tooling ---------------------------------------------------------
out=$("$SF_TOP/testbed/switch-setup.sh" --role label --dpid 1a \
    --controller tcp:172.31.0.1:6653 --gre or=192.0.2.3:1 --port eth2:11)
check "switch-setup.sh: label router is OpenFlow13, secure, dpid, no in-band" \
    grep -q "add-br scaffold -- set bridge scaffold datapath_type=system fail_mode=secure protocols=OpenFlow13 other-config:datapath-id=000000000000001a other-config:disable-in-band=true" <<<"$out"
check "switch-setup.sh: controller target and GRE port" eval \
    'grep -q "set-controller scaffold tcp:172.31.0.1:6653" <<<"$out" && grep -q "add-port scaffold or -- set interface or type=gre options:remote_ip=192.0.2.3 ofport_request=1" <<<"$out"'
out=$("$SF_TOP/testbed/switch-setup.sh" --role object --dpid 3 \
    --controller tcp:172.31.0.1:6653 --gre lr1=192.0.2.1:1)
check "switch-setup.sh: object router is OpenFlow10,OpenFlow15" \
    grep -q "protocols=OpenFlow10,OpenFlow15" <<<"$out"
check "switch-setup.sh: refuses a bad role" \
    eval '! "$SF_TOP/testbed/switch-setup.sh" --role core --dpid 1 --controller tcp:1.2.3.4:6653 2>/dev/null'

EX=$SF_TOP/testbed/controller.conf.example
XPORT=$((20000 + RANDOM % 20000))
"$CTL" --config "$EX" --state-dir "$SF_TMP/exstate" \
    --listen "tcp:127.0.0.1:$XPORT" >"$SF_TMP/example.log" 2>&1 &
XPID=$!
sf_on_exit "kill $XPID"
check "controller.conf.example: the controller starts with it" \
    sf_wait 10 grep -qx "pid $XPID" "$SF_TMP/exstate/status"
kill -TERM "$XPID"
wait "$XPID"
check_eq "controller.conf.example: clean exit" 0 "$?"

if command -v systemd-analyze >/dev/null; then
    mkdir -p "$SF_TMP/units"
    for u in "$SF_TOP"/testbed/systemd/*.service; do
        sed "s#/usr/local/bin#$SF_BIN#" "$u" >"$SF_TMP/units/$(basename "$u")"
    done
    out=$(cd "$SF_TMP/units" && systemd-analyze verify --man=no \
        ./scaffold-controller.service ./scaffold-hostagent@lo.service 2>&1)
    check_eq "systemd units: systemd-analyze verify is silent" "" "$out"
fi

# --- the emulation --------------------------------------------------------------
links_before=$(ip -br link | awk '{print $1}' | sort | tr '\n' ' ')
NAME=t$SF_ID
T0=$(date +%s)
sf_on_exit "'$TB' --name $NAME down"
up=$("$TB" --name "$NAME" up 2>&1)
rc=$?
sed 's/^/# /' <<<"$up"
[ "$rc" -eq 0 ] || sf_die "emulate.sh up: $(tail -3 <<<"$up")"
ok "emulate.sh up: $(grep '^up:' <<<"$up")"
eval "$("$TB" --name "$NAME" env)"
NSP=$TB_NS_PREFIX
# shellcheck disable=SC2154,SC2034  # TB_* come from emulate.sh env; D_* read by dir()
D_lr1=$TB_OVS_lr1 D_lr2=$TB_OVS_lr2 D_or=$TB_OVS_or
ofver() { [ "$1" = or ] && echo OpenFlow15 || echo OpenFlow13; }
dir() { local v="D_$1"; echo "${!v}"; }
vs() { local d; d=$(dir "$1"); shift; "$VS" --timeout=10 --db="unix:$d/db.sock" "$@"; }
flows() { "$OF" -O "$(ofver "$1")" --no-stats dump-flows "unix:$(dir "$1")/sw.mgmt" | sort; }
st() { cat "$TB_CTL_STATE/status"; }

declare -A DPID=([lr1]=0000000000000001 [lr2]=0000000000000002 [or]=0000000000000003)
for sw in lr1 lr2 or; do
    check_eq "$sw: controller target on the control network" '"tcp:172.31.0.1:6653"' \
        "$(vs "$sw" get controller sw target)"
    check "$sw: controller sees it from its control address 172.31.0.x, not loopback" \
        grep -q "^switch ${DPID[$sw]} .*provisioned=yes peer=172\.31\.0\.1[0-9]:" <<<"$(st)"
    check "$sw: TCP connection in its namespace to 172.31.0.1:6653" eval \
        'nsenter --net=/run/netns/$NSP$sw ss -Htn state established "dport = :6653" | grep -q "172.31.0.1:6653"'
    check_eq "$sw: fail_mode secure, in-band disabled" 'secure "true"' \
        "$(vs "$sw" get bridge sw fail_mode) $(vs "$sw" get bridge sw other-config:disable-in-band)"
done
check_eq "lr1: stock ovs-vswitchd" /usr/sbin/ovs-vswitchd \
    "$(tr '\0' '\n' <"/proc/$(cat "$D_lr1/ovs-vswitchd.pid")/cmdline" | head -1)"
check_eq "or: the suite's patched ovs-vswitchd" "$SF_OVS_BLD/vswitchd/ovs-vswitchd" \
    "$(tr '\0' '\n' <"/proc/$(cat "$D_or/ovs-vswitchd.pid")/cmdline" | head -1)"
for p in "lr1 gre-or 1 0000000000000003:1" "lr2 gre-or 1 0000000000000003:2" \
    "or gre-lr1 1 0000000000000001:1" "or gre-lr2 2 0000000000000002:1"; do
    read -r gsw gport gofp gpeer <<<"$p"
    check "$gsw: GRE port $gport (type gre, LIVE) carries the link ${DPID[$gsw]}:$gofp - $gpeer" eval \
        '[ "$(vs "$gsw" get interface "$gport" type)" = gre ] &&
         "$OF" -O "$(ofver "$gsw")" show "unix:$(dir "$gsw")/sw.mgmt" | grep -A2 "^ $gofp($gport)" | grep -q "state: *LIVE" &&
         st | grep -q "^link ${DPID[$gsw]}:$gofp $gpeer$"'
done
check "the GRE tunnels run over the underlay (lr1's neighbour cache has its gateway)" \
    eval '"$SF_OVS_BLD/utilities/ovs-appctl" -t "$D_lr1/ovs-vswitchd.ctl" tnl/neigh/show | grep -q 172.31.17.1'
hosts=$("$SF_BIN/sfctl" --state-dir "$TB_CTL_STATE" hosts)
check_eq "3 hosts joined" 3 "$(grep -c '^[0-9a-f][0-9a-f]:' <<<"$hosts")"
h2=$(grep " 0000000000000002 " <<<"$hosts" | awk '{print $3}' | head -1)
# lr2's hosts are routed on lr1 by lr2's block (16 hostIDs: a /12).
blk="${h2%%.*}.$(( ${h2#*.} & ~15 )).0.0/12"
check "lr1 got its rules (route to lr2's block $blk, anti-spoofing, unresolved to or)" eval \
    'f=$(flows lr1); grep -q "nw_dst=$blk actions=output:2" <<<"$f" &&
     grep -q "in_port=11,nw_src=" <<<"$f" && grep -q "nw_dst=1.0.0.0/16 actions=output:1" <<<"$f"'

# --- check: joins, resolution, failover, mobility ---------------------------------
run_check() {   # run_check LABEL ARGS...: forwards emulate.sh check's results
    local label=$1 line
    shift
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "$label: ${line#ok - }" ;;
        "not ok - "*) not_ok "$label: ${line#not ok - }" ;;
        "#"*) echo "$line" ;;
        esac
    done < <("$TB" --name "$NAME" "$@" check 2>&1)
}
run_check check

# --- a label router's ovs-vswitchd crashes and comes back ------------------------
before=$(flows lr1)
check "lr1 has its rules before the crash ($(wc -l <<<"$before") flows)" test "$(wc -l <<<"$before")" -gt 10
# gone PID: exited (or a zombie: dead, not yet reaped).
gone() { local s; s=$( { cat "/proc/$1/stat"; } 2>/dev/null) || return 0; s=${s##*) }; [ "${s%% *}" = Z ]; }
vpid=$(cat "$D_lr1/ovs-vswitchd.pid")
kill -9 "$vpid"
sf_wait 5 gone "$vpid" || not_ok "lr1's ovs-vswitchd killed"
r=$("$TB" --name "$NAME" start-switch lr1 2>&1)
check "lr1's ovs-vswitchd restarted and re-provisioned: $r" grep -q "^start-switch: lr1 re-provisioned" <<<"$r"
after=$(flows lr1)
check_eq "lr1: the same rules after the restart (dump-flows without counters)" "$before" "$after"
check "lr1: routes through the GRE tunnel work again (links re-discovered)" \
    grep -q "^link 0000000000000001:1 0000000000000003:1$" <<<"$(st)"

# --- the controller crashes and comes back ----------------------------------------
declare -A B
for sw in lr1 lr2 or; do B[$sw]=$(flows "$sw"); done
gb=$("$OF" -O OpenFlow15 dump-groups "unix:$D_or/sw.mgmt" | sort)
nl=$(wc -l <"$TB_CTL_LOG")
cpid=$(cat "$TB_CTL_PIDFILE")
kill -9 "$cpid"
sf_wait 5 gone "$cpid" || not_ok "controller killed"
r=$("$TB" --name "$NAME" start-controller 2>&1)
check "controller restarted (kill -9) and every switch back: $r" grep -q "^start-controller: converged" <<<"$r"
# Known controller bug (seen ~1 run in 4 on "or", 2026-11-23): during the
# restarted controller's discovery a route takes a temporary path (add with
# the same match and priority overwrites the flow), and when the last link
# appears the diff delete_strict's the temporary rule, which removes the
# flow it overwrote while the controller counts it "in place": a prefix
# route stays missing.  This check is what catches it.
for sw in lr1 lr2 or; do
    a=$(flows "$sw")
    check_eq "$sw: the same rule set after the controller's restart" "${B[$sw]}" "$a"
    check_eq "$sw: no duplicate rule" "" "$(sed 's/cookie=[^,]*, //' <<<"$a" | uniq -d)"
done
check_eq "or: the same groups after the controller's restart" "$gb" \
    "$("$OF" -O OpenFlow15 dump-groups "unix:$D_or/sw.mgmt" | sort)"
newlog=$(tail -n +$((nl + 1)) "$TB_CTL_LOG")
grep "provisioned\|state kept" <<<"$newlog" | sed 's/^/# restarted controller: /'
for sw in lr1 lr2 or; do
    check "restarted controller provisioned $sw (rules confirmed by barrier)" \
        grep -q "dpid ${DPID[$sw]} .*provisioned" <<<"$newlog"
done
run_check "after restarts"

# --- down ------------------------------------------------------------------------
r=$("$TB" --name "$NAME" down 2>&1)
check "emulate.sh down: $r" grep -q "^down: emulation $NAME removed" <<<"$r"
check_eq "no namespace left" "" "$(ip netns list | grep "^$NSP" | tr '\n' ' ')"
check_eq "no process left" "" "$(pgrep -af "$SCAFFOLD_TESTBED_DIR/$NAME" ; pgrep -af "netns/$NSP")"
check_eq "no interface left in this namespace" "$links_before" \
    "$(ip -br link | awk '{print $1}' | sort | tr '\n' ' ')"
sf_log "default run: $(( $(date +%s) - T0 )) s"

# --- stock object router: the controller's fallback ---------------------------------
NAME=s$SF_ID
T0=$(date +%s)
sf_on_exit "'$TB' --name $NAME down"
up=$("$TB" --name "$NAME" --stock-object-router up 2>&1)
rc=$?
sed 's/^/# stock: /' <<<"$up"
if [ "$rc" -eq 0 ]; then
    ok "stock object router: up: $(grep '^up:' <<<"$up")"
    eval "$("$TB" --name "$NAME" env)"
    # shellcheck disable=SC2154
    check_eq "stock object router: Debian's ovs-vswitchd" /usr/sbin/ovs-vswitchd \
        "$(tr '\0' '\n' <"/proc/$(cat "$TB_OVS_or/ovs-vswitchd.pid")/cmdline" | head -1)"
    run_check "stock object router"
    check "stock object router: the controller says why (WARN, no round_robin)" \
        grep -q "WARN.*0000000000000003.*refuses selection_method=round_robin" "$TB_CTL_LOG"
    check "stock object router: the controller resolved the SYNs itself" \
        grep -q "(controller round robin)" "$TB_CTL_LOG"
else
    not_ok "stock object router: up: $(tail -3 <<<"$up")"
fi
"$TB" --name "$NAME" down >/dev/null 2>&1
check_eq "stock object router: no namespace left" "" "$(ip netns list | grep "^sftb-$NAME-")"
sf_log "stock run: $(( $(date +%s) - T0 )) s"
sf_done
