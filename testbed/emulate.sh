#!/usr/bin/env bash
# emulate.sh: the SCAFFOLD physical testbed, emulated on one machine.
#
# Every switch is its own network namespace with its own ovsdb-server and
# ovs-vswitchd (userspace datapath): Debian's stock /usr/sbin/ovs-vswitchd
# on the label routers, the suite's patched build (build/ovs/build) on the
# object router (or the stock one with --stock-object-router).  Label
# routers reach the object router over GRE tunnels whose endpoints are
# addresses on each switch's underlay interface, routed by an "ip"
# namespace; every switch reaches the controller by TCP over a separate
# control network (a Linux bridge in the "net" namespace).  Hosts are
# namespaces running scaffold-hostagent in controller mode (they join in
# band).  Nothing is created in the namespace this script runs in.
#
#                 ctl (controller 172.31.0.1)
#                  |  control network 172.31.0.0/24 (bridge in "net")
#     +------------+-------------+
#     |            |             |
#    lr1 ---------lr2            or       data: lr1:2 - lr2:2 (veth)
#     |  \__GRE____|___GRE______/         GRE:  lr1:1, lr2:1 - or:1, or:2
#    h1,h3         h2                     underlay 172.31.16+k.0/24 per
#                                         switch, routed by "net"
#
#   testbed/emulate.sh [--name NAME] [--stock-object-router] up
#   testbed/emulate.sh [--name NAME] status | check | down
#
# State (pids, namespaces, logs, the controller's state) lives in
# $SCAFFOLD_TESTBED_DIR/NAME (default /tmp/scaffold-testbed/NAME); `down`
# removes exactly what the state file lists.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SF_BIN:-$TOP/build/bin}
OVS_BLD=${SF_OVS_BLD:-$TOP/build/ovs/build}
OVS_SRC=${SF_OVS_SRC:-$TOP/build/ovs/src}
VSCTL=$OVS_BLD/utilities/ovs-vsctl
OFCTL=$OVS_BLD/utilities/ovs-ofctl
CTL=${SF_CTL:-$BIN/scaffold-controller}
AGENT=$BIN/scaffold-hostagent
SFCTL=$BIN/sfctl
SFCAT=$BIN/sfcat
TFTP=$BIN/sf-tftp
SETUP=$TOP/testbed/switch-setup.sh

NAME=tb
STOCK_OR=0
TIMEOUT=${SCAFFOLD_TESTBED_TIMEOUT:-60}
BR=sw                               # data bridge in every switch namespace
OFPORT=6653
CTL_ADDR=172.31.0.1

# The fixed topology: switch -> index (underlay subnet 172.31.16+k.0/24,
# control address 172.31.0.10+k), role, datapath id.
SWITCHES=(lr1 lr2 or)
declare -A SW_K=([lr1]=1 [lr2]=2 [or]=3)
declare -A SW_ROLE=([lr1]=label [lr2]=label [or]=object)
declare -A SW_DPID=([lr1]=0000000000000001 [lr2]=0000000000000002 [or]=0000000000000003)
# Hosts: name -> "switch:ofport".
HOSTS=(h1 h2 h3)
declare -A HOST_AT=([h1]=lr1:11 [h2]=lr2:12 [h3]=lr1:13)
N_LINKS=6                           # directed: lr1-lr2, lr1-or, lr2-or

usage() {
    cat <<'EOF'
Usage: testbed/emulate.sh [--name NAME] [--stock-object-router] COMMAND
Emulates the SCAFFOLD physical testbed on this machine: one network
namespace per switch with its own ovsdb-server and ovs-vswitchd (stock
OVS on the label routers lr1 and lr2, the patched OVS on the object router
or), GRE tunnels from each label router to the object router over a routed
underlay, a separate control network to the controller, and hosts h1, h3
(behind lr1) and h2 (behind lr2) running scaffold-hostagent.

Commands:
  up                 build it, start everything, wait until every switch is
                     connected, every link discovered and every host joined;
                     prints how long that took
  status             what runs, the controller's view (sfctl), the agents
  check              joins; resolution through the object router (round
                     robin over instances on h2 and h3); failover and
                     mobility with sf-tftp, files compared by sha256
  down               tear down exactly what `up` made (from the state file)
  start-switch SW    start SW's ovs-vswitchd again if it is not running
                     (after a crash or a kill), restore its underlay address,
                     wait until the controller has re-provisioned it
  start-controller   start the controller again if it is not running, wait
                     until every switch is back
  wait               wait until converged (switches, links, hosts)
  env                print shell variables describing the emulation (state
                     directory, namespaces, OVS directories)

Options:
  --name NAME              emulation name, [a-z0-9]{1,8} (default tb): two
                           emulations with different names never collide
  --stock-object-router    run the object router on Debian's stock
                           ovs-vswitchd (the controller detects the missing
                           round_robin extension and resolves in itself)
  --timeout S              how long to wait for convergence (default 60)
  -h, --help               this text

State: $SCAFFOLD_TESTBED_DIR/NAME (default /tmp/scaffold-testbed/NAME).
EOF
}

CMD=
ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
    --name) NAME=$2; shift ;;
    --name=*) NAME=${1#--name=} ;;
    --stock-object-router) STOCK_OR=1 ;;
    --timeout) TIMEOUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "emulate.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) if [ -z "$CMD" ]; then CMD=$1; else ARGS+=("$1"); fi ;;
    esac
    shift
done
[ -n "$CMD" ] || { usage >&2; exit 2; }
[[ $NAME =~ ^[a-z0-9]{1,8}$ ]] || { echo "emulate.sh: --name: [a-z0-9]{1,8}" >&2; exit 2; }

DIR=${SCAFFOLD_TESTBED_DIR:-/tmp/scaffold-testbed}/$NAME
STATE=$DIR/state
CSTATE=$DIR/controller
CLOG=$DIR/controller.log
NSP=sftb-$NAME-                      # namespace prefix

log() { echo "# $*"; }
die() { echo "emulate.sh: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

ns() { echo "$NSP$1"; }
in_ns() { local n=$1; shift; nsenter --net="/run/netns/$(ns "$n")" "$@"; }
rec() { echo "$*" >>"$STATE"; }

# wait_for TIMEOUT_S CMD...: polls CMD every 50 ms.
wait_for() {
    local deadline=$(( $(now_ms) + $1 * 1000 ))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# --- OVS per switch ------------------------------------------------------------
sw_dir() { echo "$DIR/ovs-$1"; }
sw_kind() {
    if [ "$1" = or ] && [ "$STOCK_OR" = 0 ]; then echo patched; else echo stock; fi
}
vsctl() { local d; d=$(sw_dir "$1"); shift; "$VSCTL" --timeout=10 --db="unix:$d/db.sock" "$@"; }
ofctl() { local d; d=$(sw_dir "$1"); shift; OVS_RUNDIR=$d "$OFCTL" "$@"; }
of_version() { if [ "${SW_ROLE[$1]}" = object ]; then echo OpenFlow15; else echo OpenFlow13; fi; }
# gre_ports SW: "NAME up|down" per GRE port (OpenFlow port state).
gre_ports() {
    ofctl "$1" -O "$(of_version "$1")" show "$BR" | awk '
        /^ *[0-9]+\(gre-/ { name = $1; next }
        name && /state:/ { print name, ($2 == "LIVE" || $2 == "0") ? "up" : "down"; name = "" }'
}
flows() { ofctl "$1" -O "$(of_version "$1")" --no-stats dump-flows "$BR"; }

sw_bins() {     # sets vswitchd dbserver dbtool schema for switch $1
    if [ "$(sw_kind "$1")" = stock ]; then
        vswitchd=/usr/sbin/ovs-vswitchd dbserver=/usr/sbin/ovsdb-server
        dbtool=/usr/bin/ovsdb-tool schema=/usr/share/openvswitch/vswitch.ovsschema
    else
        vswitchd=$OVS_BLD/vswitchd/ovs-vswitchd dbserver=$OVS_BLD/ovsdb/ovsdb-server
        dbtool=$OVS_BLD/ovsdb/ovsdb-tool schema=$OVS_SRC/vswitchd/vswitch.ovsschema
    fi
}

start_vswitchd() {
    local sw=$1 d vswitchd dbserver dbtool schema
    d=$(sw_dir "$sw")
    sw_bins "$sw"
    # ip netns exec: the daemon sees its own namespace's /sys too.
    ( ulimit -n 4096 2>/dev/null
      OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d exec ip netns exec "$(ns "$sw")" \
        "$vswitchd" "unix:$d/db.sock" --pidfile="$d/ovs-vswitchd.pid" \
        --unixctl="$d/ovs-vswitchd.ctl" --log-file="$d/ovs-vswitchd.log" \
        -vconsole:off --detach 2>>"$d/start.err" ) || return 1
    rec "pidfile $d/ovs-vswitchd.pid"
}

start_switch_ovs() {
    local sw=$1 d vswitchd dbserver dbtool schema
    d=$(sw_dir "$sw")
    sw_bins "$sw"
    [ -x "$vswitchd" ] || die "$vswitchd missing (build the suite's OVS: make)"
    mkdir -p "$d"
    "$dbtool" create "$d/conf.db" "$schema" || return 1
    OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d nsenter --net="/run/netns/$(ns "$sw")" \
        "$dbserver" "$d/conf.db" --remote="punix:$d/db.sock" \
        --pidfile="$d/ovsdb-server.pid" --unixctl="$d/ovsdb-server.ctl" \
        --log-file="$d/ovsdb-server.log" --detach 2>>"$d/start.err" || return 1
    rec "pidfile $d/ovsdb-server.pid"
    vsctl "$sw" --no-wait init || return 1
    start_vswitchd "$sw"
}

# Underlay address of switch k: 172.31.16+k.2/24, gateway .1 in "net".
ul_addr() { echo "172.31.$((16 + ${SW_K[$1]})).2"; }
restore_underlay() {
    local sw=$1 k=${SW_K[$1]}
    ip -n "$(ns "$sw")" addr replace "$(ul_addr "$sw")/24" dev "$BR-ul" &&
    ip -n "$(ns "$sw")" link set "$BR-ul" up &&
    ip -n "$(ns "$sw")" route replace 172.31.16.0/20 via "172.31.$((16 + k)).1" dev "$BR-ul"
}

configure_switch() {
    local sw=$1 gre=() k=${SW_K[$1]} s
    if [ "${SW_ROLE[$sw]}" = label ]; then
        gre=(--gre "gre-or=$(ul_addr or):1")
    else
        for s in lr1 lr2; do
            gre+=(--gre "gre-$s=$(ul_addr "$s"):${SW_K[$s]}")
        done
    fi
    "$SETUP" --apply --role "${SW_ROLE[$sw]}" --dpid "${SW_DPID[$sw]}" \
        --bridge "$BR" --datapath-type netdev \
        --controller "tcp:$CTL_ADDR:$OFPORT" \
        --ip "ip -n $(ns "$sw")" \
        --vsctl "nsenter --net=/run/netns/$(ns "$sw") $VSCTL --timeout=10 --db=unix:$(sw_dir "$sw")/db.sock" \
        --underlay u0 --underlay-addr "$(ul_addr "$sw")/24" \
        "${gre[@]}" || return 1
    ip -n "$(ns "$sw")" route replace 172.31.16.0/20 via "172.31.$((16 + k)).1" dev "$BR-ul"
}

# --- controller --------------------------------------------------------------
write_config() {
    cat >"$DIR/controller.conf" <<EOF
; generated by testbed/emulate.sh for emulation $NAME
[controller]
listen = tcp:$CTL_ADDR:$OFPORT
state_dir = $CSTATE
ssid = 1
log_level = info

[timers]
echo_interval = 1000
dead_timeout = 3000
probe_interval = 250
link_timeout = 1500
lease = 60000

[roles]
${SW_DPID[lr1]} = label
${SW_DPID[lr2]} = label
${SW_DPID[or]} = object
EOF
}

start_controller() {
    mkdir -p "$CSTATE"
    # setsid: its own session, so that the caller's terminal signals and
    # job control leave it alone; the PID is the controller's own.
    nsenter --net="/run/netns/$(ns ctl)" setsid "$CTL" \
        --config "$DIR/controller.conf" >>"$CLOG" 2>&1 </dev/null &
    echo $! >"$DIR/controller.pid"
    rec "pidfile $DIR/controller.pid"
}

# --- hosts -------------------------------------------------------------------
start_agent() {
    local h=$1
    nsenter --net="/run/netns/$(ns "$h")" setsid "$AGENT" --iface eth0 -v \
        >>"$DIR/agent-$h.log" 2>&1 </dev/null &
    echo $! >"$DIR/agent-$h.pid"
    rec "pidfile $DIR/agent-$h.pid"
}
agent_status() { in_ns "$1" "$AGENT" --status; }
host_joined() { agent_status "$1" 2>/dev/null | grep -q "join state=JOINED"; }
# block_route SS.HOST: the nw_dst of the block route that carries SS.HOST
# on the other label routers (blocks of 16 hostIDs, the controller's
# default: docs/protocol.md).
block_route() {
    echo "${1%%.*}.$(( ${1#*.} & ~15 )).0.0/12"
}
host_prefix() {
    agent_status "$1" 2>/dev/null | sed -n 's/.*prefix=\([0-9]*\.[0-9]*\)\.0 mode=controller.*/\1/p' | head -1
}

# --- convergence ---------------------------------------------------------------
status_file() { cat "$CSTATE/status" 2>/dev/null; }
switches_up() {
    local st
    st=$(status_file) || return 1
    [ "$(grep -c "^switch .*provisioned=yes" <<<"$st")" -eq ${#SWITCHES[@]} ]
}
links_up() { status_file | grep -q "^links $N_LINKS$"; }
hosts_joined() { local h; for h in "${HOSTS[@]}"; do host_joined "$h" || return 1; done; }
converged() { switches_up && links_up && hosts_joined; }
ctl_listening() { in_ns ctl ss -Hltn "sport = :$OFPORT" | grep -q LISTEN; }
# alive PID: running (a zombie left unreaped by a non-reaping init is not).
alive() {
    local st
    st=$( { cat "/proc/$1/stat"; } 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}
pid_alive() { [ -f "$1" ] && alive "$(cat "$1" 2>/dev/null)"; }

# --- up ----------------------------------------------------------------------
mk_ns() {
    ip netns add "$(ns "$1")" || return 1
    rec "netns $(ns "$1")"
    ip -n "$(ns "$1")" link set lo up
    ip netns exec "$(ns "$1")" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}
# veth NS_A IF_A NS_B IF_B: a veth pair straight between two namespaces.
veth() {
    ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns "$3")" || return 1
    ip netns exec "$(ns "$1")" ethtool -K "$2" tx off >/dev/null 2>&1 || true
    ip netns exec "$(ns "$3")" ethtool -K "$4" tx off >/dev/null 2>&1 || true
    ip -n "$(ns "$1")" link set "$2" up && ip -n "$(ns "$3")" link set "$4" up
}

cmd_up() {
    local t0 t1 sw h k
    [ -e "$STATE" ] && die "emulation '$NAME' exists ($STATE): down it first"
    for b in "$CTL" "$AGENT" "$SFCTL" /usr/sbin/ovs-vswitchd "$OVS_BLD/vswitchd/ovs-vswitchd"; do
        [ -x "$b" ] || die "$b missing"
    done
    # No state file: nothing of a former run is alive; start afresh.
    rm -rf "$DIR"
    mkdir -p "$DIR"
    : >"$STATE"
    echo "dir $DIR" >>"$STATE"
    [ "$STOCK_OR" = 1 ] && echo "option stock-object-router" >>"$STATE"
    t0=$(now_ms)
    # Any failure from here on tears down what was made so far.
    trap 'set +e; echo "emulate.sh: up failed, tearing down" >&2; cmd_down >&2' EXIT
    set -e

    # "net": the control network's bridge and the underlay router.
    mk_ns net
    ip netns exec "$(ns net)" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$(ns net)" link add cbr type bridge
    ip -n "$(ns net)" link set cbr up
    mk_ns ctl
    veth ctl c0 net c-ctl
    ip -n "$(ns net)" link set c-ctl master cbr
    ip -n "$(ns ctl)" addr add "$CTL_ADDR/24" dev c0
    for sw in "${SWITCHES[@]}"; do
        k=${SW_K[$sw]}
        mk_ns "$sw"
        # Control network.
        veth "$sw" c0 net "c-$sw"
        ip -n "$(ns net)" link set "c-$sw" master cbr
        ip -n "$(ns "$sw")" addr add "172.31.0.$((10 + k))/24" dev c0
        # Underlay: its own routed subnet, MTU room for GRE.
        veth "$sw" u0 net "u-$sw"
        ip -n "$(ns net)" link set "u-$sw" mtu 1600
        ip -n "$(ns "$sw")" link set u0 mtu 1600
        ip -n "$(ns net)" addr add "172.31.$((16 + k)).1/24" dev "u-$sw"
    done
    # Data link between the label routers.
    veth lr1 l-lr2 lr2 l-lr1
    # Hosts.
    for h in "${HOSTS[@]}"; do
        mk_ns "$h"
        veth "$h" eth0 "${HOST_AT[$h]%%:*}" "$h"
    done

    write_config
    start_controller
    wait_for 10 ctl_listening || die "controller not listening: $(tail -5 "$CLOG")"

    for sw in "${SWITCHES[@]}"; do
        start_switch_ovs "$sw" || die "start OVS in $sw"
        configure_switch "$sw" || die "configure $sw"
    done
    vsctl lr1 add-port "$BR" l-lr2 -- set interface l-lr2 ofport_request=2
    vsctl lr2 add-port "$BR" l-lr1 -- set interface l-lr1 ofport_request=2
    for h in "${HOSTS[@]}"; do
        vsctl "${HOST_AT[$h]%%:*}" add-port "$BR" "$h" -- set interface "$h" \
            ofport_request="${HOST_AT[$h]#*:}"
    done
    t1=$(now_ms)
    log "built in $((t1 - t0)) ms"
    wait_for "$TIMEOUT" switches_up || die "switches not all provisioned: $(status_file)"
    t1=$(now_ms)
    log "switches connected and provisioned after $((t1 - t0)) ms"
    for h in "${HOSTS[@]}"; do
        start_agent "$h"
    done
    wait_for "$TIMEOUT" links_up || die "links not discovered: $(status_file | grep links)"
    t1=$(now_ms)
    log "links discovered after $((t1 - t0)) ms"
    wait_for "$TIMEOUT" hosts_joined || die "hosts did not join"
    set +e
    trap - EXIT
    t1=$(now_ms)
    echo "up: emulation $NAME converged in $((t1 - t0)) ms" \
        "(${#SWITCHES[@]} switches connected, $N_LINKS links, ${#HOSTS[@]} hosts joined)"
}

# --- down ----------------------------------------------------------------------
# Kills a recorded PID only when it is still the process we started
# (its command line names a binary we started).
kill_pidfile() {
    local f=$1 pid cmd i
    [ -f "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    cmd=$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 0
    case $cmd in
    *ovs-vswitchd*|*ovsdb-server*|*scaffold-controller*|*scaffold-hostagent*|*sf-tftp*|*sfcat*) ;;
    *) return 0 ;;
    esac
    # Only if the process belongs to this emulation: its command line
    # names our directory, or it runs in one of our namespaces.
    case $cmd in
    *"$DIR"*) ;;
    *) in_our_netns "$pid" || return 0 ;;
    esac
    kill "$pid" 2>/dev/null
    for i in $(seq 60); do alive "$pid" || return 0; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null
}

in_our_netns() {
    local ino n
    ino=$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null) || return 1
    for n in /run/netns/"$NSP"*; do
        [ -e "$n" ] && [ "$(stat -L -c %i "$n")" = "$ino" ] && return 0
    done
    return 1
}

cmd_down() {
    local kind arg
    [ -f "$STATE" ] || { echo "emulate.sh: no emulation '$NAME' ($STATE)"; return 0; }
    # Processes first (newest first: agents, controller, vswitchds, dbs),
    # then namespaces: a namespace lives on while a process is inside.
    tac "$STATE" | while read -r kind arg; do
        [ "$kind" = pidfile ] && kill_pidfile "$arg"
    done
    tac "$STATE" | while read -r kind arg; do
        [ "$kind" = netns ] && ip netns del "$arg" 2>/dev/null
    done
    rm -f "$STATE"
    echo "down: emulation $NAME removed"
}

# --- status ------------------------------------------------------------------
cmd_status() {
    local kind arg sw h
    [ -f "$STATE" ] || die "no emulation '$NAME'"
    echo "emulation $NAME in $DIR$(grep -q '^option stock-object-router' "$STATE" && echo ' (stock object router)')"
    while read -r kind arg; do
        case $kind in
        netns) printf 'netns   %-22s %s\n' "$arg" "$([ -e "/run/netns/$arg" ] && echo present || echo MISSING)" ;;
        pidfile) printf 'process %-40s %s\n' "${arg#"$DIR"/}" "$(pid_alive "$arg" && echo "running $(cat "$arg")" || echo STOPPED)" ;;
        esac
    done < <(sort -u "$STATE")
    for sw in "${SWITCHES[@]}"; do
        printf '%s: controller %s connected=%s, ports:' "$sw" \
            "$(vsctl "$sw" get controller "$BR" target 2>/dev/null)" \
            "$(vsctl "$sw" get controller "$BR" is_connected 2>/dev/null)"
        ofctl "$sw" -O "$(of_version "$sw")" show "$BR" 2>/dev/null \
            | sed -n 's/^ *\([0-9]*\)(\([^)]*\)).*/ \1(\2)/p' | tr -d '\n'
        echo
    done
    "$SFCTL" --state-dir "$CSTATE" status 2>&1
    "$SFCTL" --state-dir "$CSTATE" switches 2>&1
    "$SFCTL" --state-dir "$CSTATE" links 2>&1
    "$SFCTL" --state-dir "$CSTATE" hosts 2>&1
    for h in "${HOSTS[@]}"; do
        echo "$h: $(agent_status "$h" 2>&1 | grep -E 'join|prefix' | tr '\n' ' ')"
    done
}

# --- check -------------------------------------------------------------------
FAILS=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
check() { local t=$1; shift; if "$@"; then ok "$t"; else not_ok "$t"; fi; }
# bg VAR HOST LOG CMD...: a process in HOST's namespace, recorded.
bg() {
    local var=$1 h=$2 lg=$3 pid
    shift 3
    nsenter --net="/run/netns/$(ns "$h")" "$@" >"$lg" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$DIR/check-$var.pid"
    rec "pidfile $DIR/check-$var.pid"
    printf -v "$var" '%s' "$pid"
}
stop_bg() { kill_pidfile "$DIR/check-$1.pid"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

cmd_check() {
    local h p2 p3 c conns i pre post t0 t1 W tpc=
    [ -f "$STATE" ] || die "no emulation '$NAME'"
    grep -q '^option stock-object-router' "$STATE" && STOCK_OR=1
    W=$DIR/check
    rm -rf "$W"
    mkdir -p "$W/root"

    # Joins.
    for h in "${HOSTS[@]}"; do
        check "$h joined (prefix $(host_prefix "$h"))" host_joined "$h"
    done
    check "controller lists ${#HOSTS[@]} hosts" eval \
        '[ "$("$SFCTL" --state-dir "$CSTATE" --json hosts | grep -o "\"mac\"" | wc -l)" -eq ${#HOSTS[@]} ]'
    for sw in "${SWITCHES[@]}"; do
        check "$sw: controller target is the control network's tcp:$CTL_ADDR:$OFPORT" \
            eval '[ "$(vsctl "$sw" get controller "$BR" target)" = "\"tcp:$CTL_ADDR:$OFPORT\"" ]'
        # ovsdb's is_connected lags the connection by up to a few seconds.
        check "$sw: connected (ovsdb is_connected, controller lists it)" wait_for 10 eval \
            '[ "$(vsctl "$sw" get controller "$BR" is_connected)" = true ] && "$SFCTL" --state-dir "$CSTATE" switches | grep -q "^${SW_DPID[$sw]} .* yes "'
        check "$sw: GRE ports up" eval \
            '[ -n "$(gre_ports "$sw")" ] && ! gre_ports "$sw" | grep -qv " up$"'
    done
    p2=$(host_prefix h2) p3=$(host_prefix h3)
    check "lr1 routes h2's block $(block_route "$p2")" eval \
        'flows lr1 | grep -q "nw_dst=$(block_route "$p2") "'

    # Resolution: object 80 on h2 and h3, echo servers; h1 connects 4 times.
    bg srv2 h2 "$W/srv2.log" "$SFCAT" --listen --echo 80
    bg srv3 h3 "$W/srv3.log" "$SFCAT" --listen --echo 80
    wait_for 5 grep -q '^listening' "$W/srv2.log" && wait_for 5 grep -q '^listening' "$W/srv3.log" \
        || not_ok "echo servers on h2, h3 listening"
    wait_for 5 eval 'agent_status h2 | grep -q "^binds bound=1 pending=0" && agent_status h3 | grep -q "^binds bound=1 pending=0"' \
        || not_ok "instances bound with the controller"
    if [ "$STOCK_OR" = 0 ]; then
        check "object router: round_robin group for object 80 with 2 buckets" wait_for 5 eval \
            '[ "$(ofctl or -O OpenFlow15 dump-groups "$BR" | grep "group_id=80,type=select,selection_method=round_robin" | grep -o bucket_id | wc -l)" -eq 2 ]'
    else
        check "stock object router: object 80 resolved by the controller" wait_for 5 eval \
            'flows or | grep -q "tp_dst=80 actions=CONTROLLER"'
        check "controller reported the missing extension" \
            grep -q "refuses selection_method=round_robin" "$CLOG"
    fi
    conns=()
    for i in 1 2 3 4; do
        echo "hello-$i" | in_ns h1 "$SFCAT" 80 >"$W/cli$i.log" 2>&1
        c=$(sed -n 's/^connected [0-9.:]* > \([0-9]*\.[0-9]*\)\..*/\1/p' "$W/cli$i.log")
        conns+=("${c:--}")
        grep -qx "recv: echo:hello-$i" "$W/cli$i.log" || conns[-1]="${conns[-1]}(no-echo)"
    done
    log "h1 -> object 80, 4 connections resolved to: ${conns[*]}"
    check "4 connections through the object router, echoed" \
        eval '! grep -q -- "-\|no-echo" <<<"${conns[*]}"'
    check "round robin: alternating between $p2 and $p3" eval \
        '[ "${conns[0]}" != "${conns[1]}" ] && [ "${conns[0]}" = "${conns[2]}" ] && [ "${conns[1]}" = "${conns[3]}" ] && { [ "${conns[0]}" = "$p2" ] || [ "${conns[0]}" = "$p3" ]; } && { [ "${conns[1]}" = "$p2" ] || [ "${conns[1]}" = "$p3" ]; }'
    stop_bg srv2
    stop_bg srv3

    # Failover: sf-tftp on h2 and h3 (object 69), the instance that gets
    # the client sheds it after 1000 blocks; the download resumes on the
    # other one; the file arrives intact.
    head -c 1500000 /dev/urandom >"$W/root/file.bin"
    bg tf2 h2 "$W/tftp2.log" "$TFTP" -s --object 69 --root "$W/root" --fail-after-blocks 1000
    bg tf3 h3 "$W/tftp3.log" "$TFTP" -s --object 69 --root "$W/root" --fail-after-blocks 1000
    wait_for 5 grep -q '^listening' "$W/tftp2.log" && wait_for 5 grep -q '^listening' "$W/tftp3.log" \
        || not_ok "tftp servers listening"
    wait_for 5 eval 'agent_status h2 | grep -q "^binds bound=1 pending=0" && agent_status h3 | grep -q "^binds bound=1 pending=0"'
    t0=$(now_ms)
    timeout 60 nsenter --net="/run/netns/$(ns h1)" "$TFTP" -c 69 file.bin -o "$W/out.bin" >"$W/tftp-cli.log" 2>&1
    c=$?
    t1=$(now_ms)
    check "failover: download finished (exit $c, $((t1 - t0)) ms)" test "$c" -eq 0
    check "failover: file intact (sha256)" eval '[ "$(sha "$W/root/file.bin")" = "$(sha "$W/out.bin" 2>/dev/null)" ]'
    check "failover: an instance shed the client (SF_SEND_FAIL)" grep -q '^shedding' "$W/tftp2.log" "$W/tftp3.log"
    check "failover: the other instance accepted the resumed connection" \
        grep -q '^accepted .* resumed$' "$W/tftp2.log" "$W/tftp3.log"
    grep -h '^received\|^resuming' "$W/tftp-cli.log" | sed 's/^/# failover: /'
    stop_bg tf2
    stop_bg tf3

    # Mobility: h1 downloads (paced) while its cable moves from lr1 to lr2:
    # the switch-side end of its veth goes to lr2's namespace and bridge.
    head -c 600000 /dev/urandom >"$W/root/paced.bin"
    bg tp2 h2 "$W/paced2.log" "$TFTP" -s --object 70 --root "$W/root" --rate 200k
    wait_for 5 grep -q '^listening' "$W/paced2.log" || not_ok "paced server listening"
    wait_for 5 eval 'agent_status h2 | grep -q "^binds bound=1 pending=0"'
    pre=$(host_prefix h1)
    bg tpc h1 "$W/paced-cli.log" "$TFTP" -c 70 paced.bin -o "$W/paced.out"
    wait_for 10 eval '[ "$(stat -c %s "$W/paced.out" 2>/dev/null || echo 0)" -ge 150000 ]' \
        || not_ok "mobility: paced download started"
    t0=$(now_ms)
    move_host h1 lr2 21
    wait_for 15 eval '[ "$(host_prefix h1)" != "$pre" ] && host_joined h1'
    t1=$(now_ms)
    post=$(host_prefix h1)
    check "mobility: h1 re-joined behind lr2 with a new prefix ($pre -> $post, $((t1 - t0)) ms)" \
        test -n "$post" -a "$post" != "$pre"
    wait "$tpc"
    c=$?
    check "mobility: download finished (exit $c)" test "$c" -eq 0
    check "mobility: file intact (sha256)" eval '[ "$(sha "$W/root/paced.bin")" = "$(sha "$W/paced.out" 2>/dev/null)" ]'
    grep -h '^received\|^resuming' "$W/paced-cli.log" | sed 's/^/# mobility: /'
    stop_bg tp2
    move_host h1 lr1 11
    wait_for 15 eval '[ "$(host_prefix h1)" != "$post" ] && host_joined h1' \
        || not_ok "h1 moved back behind lr1"
    echo "check: $FAILS failed"
    [ "$FAILS" -eq 0 ]
}

# move_host HOST SWITCH OFPORT: re-plugs HOST's cable into SWITCH.
move_host() {
    local h=$1 to=$2 port=$3 from
    from=$(cat "$DIR/at-$h" 2>/dev/null || echo "${HOST_AT[$h]%%:*}")
    [ "$from" != "$to" ] || return 0
    vsctl "$from" del-port "$BR" "$h"
    ip -n "$(ns "$from")" link set "$h" netns "$(ns "$to")"
    ip -n "$(ns "$to")" link set "$h" up
    vsctl "$to" add-port "$BR" "$h" -- set interface "$h" ofport_request="$port"
    echo "$to" >"$DIR/at-$h"
}

# --- restarts ------------------------------------------------------------------
# sw_peer SW: the controller's peer address of SW's connection ("" if not
# connected and provisioned).
sw_peer() {
    status_file | sed -n "s/^switch ${SW_DPID[$1]} .*provisioned=yes peer=\([^ ]*\).*/\1/p"
}
sw_reprovisioned() { local p; p=$(sw_peer "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }

cmd_start_switch() {
    local sw=${ARGS[0]:-} t0 t1 t2 old
    [ -n "${SW_K[$sw]:-}" ] || die "start-switch: lr1, lr2 or or"
    grep -q '^option stock-object-router' "$STATE" && STOCK_OR=1
    # Just killed? Give it a moment to be gone.
    wait_for 1 eval '! pid_alive "$(sw_dir "$sw")/ovs-vswitchd.pid"' ||
        { echo "start-switch: $sw is running"; return 0; }
    old=$(sw_peer "$sw")
    t0=$(now_ms)
    start_vswitchd "$sw" || die "start $sw's ovs-vswitchd"
    # The underlay tap survives a crash, not a clean exit: make sure the
    # tunnel endpoint address and route are there.
    wait_for 10 ip -n "$(ns "$sw")" link show "$BR-ul" || die "$BR-ul did not come back"
    restore_underlay "$sw" || die "restore $sw's underlay address"
    # A new connection (new peer port), provisioned: its rules are in.
    wait_for "$TIMEOUT" sw_reprovisioned "$sw" "$old" || die "$sw not re-provisioned"
    t1=$(now_ms)
    wait_for "$TIMEOUT" converged || die "not converged after restarting $sw"
    t2=$(now_ms)
    echo "start-switch: $sw re-provisioned in $((t1 - t0)) ms, converged (links, hosts) in $((t2 - t0)) ms"
}

cmd_start_controller() {
    local t0 t1
    wait_for 1 eval '! pid_alive "$DIR/controller.pid"' ||
        { echo "start-controller: running"; return 0; }
    t0=$(now_ms)
    start_controller
    # The status file is the new instance's once it names its pid.
    wait_for "$TIMEOUT" eval 'status_file | grep -qx "pid $(cat "$DIR/controller.pid")"' \
        || die "controller did not start: $(tail -3 "$CLOG")"
    wait_for "$TIMEOUT" converged || die "not converged after restarting the controller"
    t1=$(now_ms)
    echo "start-controller: converged in $((t1 - t0)) ms"
}

cmd_env() {
    local sw
    echo "TB_DIR=$DIR"
    echo "TB_CTL_STATE=$CSTATE"
    echo "TB_CTL_LOG=$CLOG"
    echo "TB_CTL_PIDFILE=$DIR/controller.pid"
    echo "TB_BRIDGE=$BR"
    echo "TB_NS_PREFIX=$NSP"
    for sw in "${SWITCHES[@]}"; do
        echo "TB_OVS_$sw=$(sw_dir "$sw")"
    done
}

case $CMD in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
check) cmd_check ;;
wait) wait_for "$TIMEOUT" converged && echo converged || die "not converged" ;;
start-switch) cmd_start_switch ;;
start-controller) cmd_start_controller ;;
env) cmd_env ;;
*) echo "emulate.sh: unknown command '$CMD' (see --help)" >&2; exit 2 ;;
esac
