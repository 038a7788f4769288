# Shared helpers for the system tests (tests/system/*.sh).  Source it:
#
#     . "$(dirname "$0")/lib.sh"
#     sf_init rr            # unique run id, temp dir, cleanup trap
#     ...
#     check "three buckets installed" test "$n" -eq 3
#     sf_done               # exit status from the checks
#
# Output protocol read by tests/run.sh: one line per check, "ok - TEXT" or
# "not ok - TEXT".  A script that exits non-zero without printing "not ok"
# counts as one failure; a script that exits 77 is skipped.
#
# Everything a test creates is registered with sf_on_exit and removed, in
# reverse order, when the script exits for any reason (including Ctrl-C and
# a failed assertion).  Names carry the run id so two runs never collide.
# Nothing here kills processes by name: only by the PIDs the test started.

SF_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SF_TOP        # the tests' Python helpers import tests/system/lib/
# SF_OVS_SRC / SF_OVS_BLD may be set to test another OVS source and build
# tree (for example a developer's own patched build).
SF_OVS_SRC=${SF_OVS_SRC:-$SF_TOP/build/ovs/src}
SF_OVS_BLD=${SF_OVS_BLD:-$SF_TOP/build/ovs/build}
SF_BIN=$SF_TOP/build/bin
SF_PASS=0
SF_FAIL=0
SF_CLEANUP=()

sf_log() { echo "# $*"; }

ok() { SF_PASS=$((SF_PASS + 1)); echo "ok - $*"; }
not_ok() { SF_FAIL=$((SF_FAIL + 1)); echo "not ok - $*"; }

# check TEXT CMD...: runs CMD; ok when it succeeds.
check() {
    local text=$1
    shift
    if "$@"; then ok "$text"; else not_ok "$text"; fi
}

# check_eq TEXT EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1 (expected '$2', got '$3')"
    fi
}

# Fatal: a step the rest of the test cannot do without.
sf_die() {
    not_ok "$*"
    exit 1
}

# sf_on_exit CMD...: runs CMD at exit.  After sf_init the commands are kept
# in a file, not only in this shell's memory, so that a registration made in
# a subshell counts too (ns=$(sf_netns a) runs sf_netns in a subshell).
sf_on_exit() {
    if [ -n "${SF_CLEANUP_FILE:-}" ]; then
        printf '%s\n' "$*" >> "$SF_CLEANUP_FILE"
    else
        SF_CLEANUP+=("$*")
    fi
}

sf_cleanup() {
    local i cmds=("${SF_CLEANUP[@]}")
    trap - EXIT INT TERM
    if [ -n "${SF_CLEANUP_FILE:-}" ] && [ -f "$SF_CLEANUP_FILE" ]; then
        mapfile -t -O "${#cmds[@]}" cmds < "$SF_CLEANUP_FILE"
        rm -f "$SF_CLEANUP_FILE"
    fi
    for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do
        eval "${cmds[$i]}" >/dev/null 2>&1 || true
    done
    SF_CLEANUP=()
}

# sf_isolate "$@": call first, before sf_init.  Re-runs the calling script in
# a network namespace of its own, so that its interfaces and its userspace
# ovs-vswitchd cannot collide with another test's: a userspace datapath owns
# a tap device named "ovs-netdev" in its namespace, so a second ovs-vswitchd
# in the same namespace fails to create its bridges.  Named namespaces made
# with sf_netns still work from inside.  Does nothing without root (sf_init
# then skips the test).
sf_isolate() {
    if [ -z "${SF_ISOLATED:-}" ] && [ "$(id -u)" -eq 0 ]; then
        SF_ISOLATED=1 exec unshare --net -- "$BASH" "$0" "$@"
    fi
    ip link set lo up 2>/dev/null || true
}

# sf_init NAME: run id, temp dir $SF_TMP, cleanup trap.  Needs root.
sf_init() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "# $1: needs root, skipped"
        exit 77
    fi
    # Short unique id: interface names are limited to 15 characters.
    SF_ID=$(printf '%x' $(( ($$ ^ RANDOM << 8) & 0xffffff )))
    SF_NAME=$1
    SF_TMP=$(mktemp -d "/tmp/sf-$1-XXXXXX")
    SF_CLEANUP_FILE=$SF_TMP/.cleanup
    sf_on_exit "rm -rf '$SF_TMP'"
    trap 'sf_cleanup' EXIT
    trap 'sf_cleanup; exit 130' INT TERM
}

sf_done() {
    echo "# $SF_NAME: $SF_PASS passed, $SF_FAIL failed"
    [ "$SF_FAIL" -eq 0 ]
    exit $?
}

# sf_wait TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds.
# Returns 1 on timeout.  For conditions that have no event to wait on
# (a flow appearing in a switch, a file growing).
sf_wait() {
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
    shift
    while ! "$@" 2>/dev/null; do
        if [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.05
    done
}

# sf_netns NAME: creates network namespace NAME-$SF_ID, prints its name.
sf_netns() {
    local ns="sf$SF_ID-$1"
    ip netns add "$ns" || return 1
    sf_on_exit "ip netns del '$ns'"
    ip -n "$ns" link set lo up
    echo "$ns"
}

# sf_veth A B: a veth pair named A, B (caller keeps them <= 15 chars).
sf_veth() {
    ip link add "$1" type veth peer name "$2" || return 1
    sf_on_exit "ip link del '$1'"
    ethtool -K "$1" tx off >/dev/null 2>&1 || true
    ethtool -K "$2" tx off >/dev/null 2>&1 || true
    ip link set "$1" up
    ip link set "$2" up
}

# sf_ovs_start DIR [stock]: a private ovsdb-server + ovs-vswitchd in DIR,
# userspace datapath only.  The suite's patched build by default; "stock"
# uses Debian's /usr/sbin/ovs-vswitchd.  Sets up functions vsctl/ofctl/
# appctl bound to this instance (last started wins; use the
# sf_vsctl DIR ... forms for several).
sf_ovs_start() {
    local dir=$1 kind=${2:-patched}
    local vswitchd=$SF_OVS_BLD/vswitchd/ovs-vswitchd
    local dbserver=$SF_OVS_BLD/ovsdb/ovsdb-server
    local dbtool=$SF_OVS_BLD/ovsdb/ovsdb-tool
    local schema=$SF_OVS_SRC/vswitchd/vswitch.ovsschema
    if [ "$kind" = stock ]; then
        vswitchd=/usr/sbin/ovs-vswitchd
        dbserver=/usr/sbin/ovsdb-server
        dbtool=/usr/bin/ovsdb-tool
        schema=/usr/share/openvswitch/vswitch.ovsschema
    fi
    [ -x "$vswitchd" ] || { echo "# $vswitchd missing"; return 1; }
    mkdir -p "$dir"
    "$dbtool" create "$dir/conf.db" "$schema" || return 1
    OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir \
        "$dbserver" "$dir/conf.db" --remote="punix:$dir/db.sock" \
        --pidfile="$dir/ovsdb-server.pid" --unixctl="$dir/ovsdb-server.ctl" \
        --log-file="$dir/ovsdb-server.log" --detach || return 1
    sf_on_exit "kill \$(cat '$dir/ovsdb-server.pid')"
    sf_ovs_vsctl "$dir" --no-wait init || return 1
    ulimit -n 4096 2>/dev/null || true
    OVS_RUNDIR=$dir OVS_LOGDIR=$dir OVS_DBDIR=$dir \
        "$vswitchd" "unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" \
        --unixctl="$dir/ovs-vswitchd.ctl" --log-file="$dir/ovs-vswitchd.log" \
        -vconsole:off --detach || return 1
    # Stop gracefully first (removes datapath ports), then by PID.
    sf_on_exit "sf_ovs_stop '$dir'"
}

sf_ovs_stop() {
    local dir=$1 pid
    [ -f "$dir/ovs-vswitchd.pid" ] || return 0
    pid=$(cat "$dir/ovs-vswitchd.pid")
    timeout 5 "$SF_OVS_BLD/utilities/ovs-appctl" -t "$dir/ovs-vswitchd.ctl" \
        exit --cleanup >/dev/null 2>&1 || kill "$pid" 2>/dev/null
    local i
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/ovs-vswitchd.pid"
}

sf_ovs_vsctl() {
    local dir=$1
    shift
    OVS_RUNDIR=$dir "$SF_OVS_BLD/utilities/ovs-vsctl" --timeout=10 \
        --db="unix:$dir/db.sock" "$@"
}

# sf_ovs_ofctl DIR ARGS...: the patched ovs-ofctl, bridges found in DIR.
sf_ovs_ofctl() {
    local dir=$1
    shift
    OVS_RUNDIR=$dir "$SF_OVS_BLD/utilities/ovs-ofctl" "$@"
}

sf_ovs_appctl() {
    local dir=$1
    shift
    "$SF_OVS_BLD/utilities/ovs-appctl" -t "$dir/ovs-vswitchd.ctl" "$@"
}

# sf_br_add DIR BRIDGE [fail-mode]: a userspace bridge.
sf_br_add() {
    sf_ovs_vsctl "$1" add-br "$2" -- set bridge "$2" datapath_type=netdev \
        fail_mode="${3:-secure}" || return 1
}

# sf_port_add DIR BRIDGE IFACE OFPORT
sf_port_add() {
    sf_ovs_vsctl "$1" add-port "$2" "$3" -- set interface "$3" \
        ofport_request="$4"
}
