#!/usr/bin/env bash
# System test of the Mininet integration (mininet/scaffold.py, issue #6
# part 1), without the SCAFFOLD data plane yet:
#
#   - the demo topology (h1 h3 - A - B - h2, O linked to A and B) comes up on
#     a PRIVATE patched ovs-vswitchd (userspace datapath, OpenFlow13 label
#     routers, OpenFlow10+15 object router, in-band off), links and port
#     numbers as specified; with the label routers in fail_mode standalone
#     (the object router secure without flows, so that it closes no loop)
#     every host pings every other and kernel UDP gets through (tx checksum
#     offload off on the hosts); the host agents run in their hosts'
#     namespaces;
#   - ScaffoldLineTopo(3, 2) builds and pings in the test's own namespace
#     (its switch names carry the run id);
#   - the demo with ScaffoldController: bridges secure, all connected;
#   - `mn --custom mininet/scaffold.py --topo scaffold,failmode=standalone
#     --controller none --test pingall` (mn's runner loaded as a module in a
#     child network namespace, so mn's machine-wide cleanup never runs);
#   - Ctrl-C and SIGTERM inside a scaffold_net() body; SIGKILL (the
#     daemons die with their parent, only the run directory stays);
#   after each: no process, namespace, interface, run directory or system
#   OVS bridge of the run remains.
#
# The Python side is mininet/tests/smoke.py (prints the ok/not ok lines).
#
#   bash tests/system/mininet_smoke.sh
#   SF_TESTS=mininet tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init mn

PY=/usr/bin/python3
[ -x "$SF_OVS_BLD/vswitchd/ovs-vswitchd" ] || {
    echo "# $SF_OVS_BLD/vswitchd/ovs-vswitchd missing: run scripts/build-ovs.sh"
    exit 77
}
"$PY" -c 'import mininet.net' 2>/dev/null || {
    echo "# Debian's python3 has no mininet: make deps"
    exit 77
}
command -v ping >/dev/null || sf_die "ping missing (iputils-ping): make deps"

SF_TOP=$SF_TOP timeout --kill-after=5 120 "$PY" "$SF_TOP/mininet/tests/smoke.py"
rc=$?
check "smoke.py exited 0 (got $rc)" test "$rc" -eq 0
# sf_isolate gave this script a namespace of its own: it must be empty again.
check_eq "no interface left in the test's namespace" "lo" \
    "$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"

sf_done
