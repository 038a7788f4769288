#!/usr/bin/env bash
# SCAFFOLD smoke test on Mininet (issue #6): the demo topology and a line of
# three label routers with scaffold-controller and the agents in controller
# mode; scaffold_net() returns once every host is JOINED; the controller
# lists every host at its label router; every host reaches an object served
# by every other host (sfcat echo, resolved by the network); and the same
# through `mn --custom mininet/scaffold.py --topo scaffold --controller
# scaffold --test sfpingall`.  After each run nothing it created remains.
#
# The Python side is mininet/tests/sf_smoke.py (prints the ok/not ok lines).
#
#   bash tests/system/mininet_sfsmoke.sh
#   SF_TESTS=mininet_sf tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init mnsf

PY=/usr/bin/python3
[ -x "$SF_OVS_BLD/vswitchd/ovs-vswitchd" ] || {
    echo "# $SF_OVS_BLD/vswitchd/ovs-vswitchd missing: make deps"
    exit 77
}
"$PY" -c 'import mininet.net' 2>/dev/null || {
    echo "# Debian's python3 has no mininet: make deps"
    exit 77
}

SF_TOP=$SF_TOP timeout --kill-after=5 90 "$PY" "$SF_TOP/mininet/tests/sf_smoke.py"
rc=$?
[ "$rc" -eq 77 ] && exit 77
check "sf_smoke.py exited 0 (got $rc)" test "$rc" -eq 0
check_eq "no interface left in the test's namespace" "lo" \
    "$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"
sf_done
