#!/usr/bin/env bash
# Round robin among 3 server instances with the real stack on Mininet
# (issue #5: "3 server instances get connections in round-robin order").
# ScaffoldLineTopo(2, 2) (label routers r1 - r2, h1 h2 on r1, h3 h4 on r2,
# the object router on both), scaffold-controller, agents in controller
# mode; h2, h3, h4 each run `sfcat --listen --echo` on one objectID; h1
# opens 6 connections one after another, resolved by the object router's
# round_robin select group.  The client's "connected LOCAL > PEER" line
# (getpeername_sf) says which server answered; the echo and the servers'
# logs confirm it.  Checks: every connection echoed, each server exactly
# twice, in a repeating cycle of the 3; nothing of the run remains.
#
# The Python side is mininet/tests/roundrobin.py (prints the ok/not ok
# lines).
#
#   bash tests/system/mininet_roundrobin.sh
#   SF_TESTS=mininet_round tests/run.sh system
. "$(dirname "$0")/lib.sh"

sf_isolate "$@"
sf_init mnrr

PY=/usr/bin/python3
[ -x "$SF_OVS_BLD/vswitchd/ovs-vswitchd" ] || {
    echo "# $SF_OVS_BLD/vswitchd/ovs-vswitchd missing: make deps"
    exit 77
}
"$PY" -c 'import mininet.net' 2>/dev/null || {
    echo "# Debian's python3 has no mininet: make deps"
    exit 77
}

SF_TOP=$SF_TOP timeout --kill-after=5 60 "$PY" "$SF_TOP/mininet/tests/roundrobin.py"
rc=$?
[ "$rc" -eq 77 ] && exit 77
check "roundrobin.py exited 0 (got $rc)" test "$rc" -eq 0
check_eq "no interface left in the test's namespace" "lo" \
    "$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"
sf_done
