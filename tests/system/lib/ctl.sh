# Shared set-up of the scaffold-controller system tests: source after lib.sh.
# (Kept in lib/, not tests/system/, so that tests/run.sh does not run it.)
#
# The usual topology: s1 (label, OpenFlow 1.3) - s2 (label, 1.3) -
# s3 (object router, 1.5) on a private OVS, s1:1-s2:1 and s2:2-s3:1.

# ctl_vars LETTER: the controller binary and the usual names; the switches
# are LETTER1$SF_ID, LETTER2$SF_ID, LETTER3$SF_ID.
ctl_vars() {
    CTL=${SF_CTL:-$SF_BIN/scaffold-controller}
    PY=/usr/bin/python3
    [ -x "$CTL" ] || sf_die "build/bin/scaffold-controller not built"

    OVS=$SF_TMP/ovs
    STATE=$SF_TMP/state
    LOG=$SF_TMP/controller.log
    PORT=$((20000 + RANDOM % 20000))
    S1=${1}1$SF_ID
    S2=${1}2$SF_ID
    S3=${1}3$SF_ID
}

# ctl_switches [WHAT]: the private OVS with s1, s2 (label, 1.3), s3 (object,
# 1.5); WHAT names the OVS in the failure message ("private OVS").
ctl_switches() {
    local br
    sf_ovs_start "$OVS" || sf_die "start ${1:-private OVS}"
    for br in "$S1" "$S2" "$S3"; do
        sf_br_add "$OVS" "$br" secure || sf_die "add $br"
    done
    sf_ovs_vsctl "$OVS" set bridge "$S1" other-config:datapath-id=0000000000000001 \
        protocols=OpenFlow13 \
        -- set bridge "$S2" other-config:datapath-id=0000000000000002 \
        protocols=OpenFlow13 \
        -- set bridge "$S3" other-config:datapath-id=0000000000000003 \
        protocols=OpenFlow15 || sf_die "set datapath ids"
}

# ctl_chain: the links s1:1 - s2:1 and s2:2 - s3:1.
ctl_chain() {
    sf_veth "a1$SF_ID" "a2$SF_ID" || sf_die "veth a"
    sf_veth "b2$SF_ID" "b3$SF_ID" || sf_die "veth b"
    sf_port_add "$OVS" "$S1" "a1$SF_ID" 1 || sf_die "port s1:1"
    sf_port_add "$OVS" "$S2" "a2$SF_ID" 1 || sf_die "port s2:1"
    sf_port_add "$OVS" "$S2" "b2$SF_ID" 2 || sf_die "port s2:2"
    sf_port_add "$OVS" "$S3" "b3$SF_ID" 1 || sf_die "port s3:1"
}

# ctl_hosts_moving: h1 behind s1 port 5 with a second interface (same MAC:
# the same host, moved) behind s2 port 7, h2 behind s2 port 6.  Sets NS1,
# NS2, MAC1, MAC2.
ctl_hosts_moving() {
    NS1=$(sf_netns h1) || sf_die "netns h1"
    NS2=$(sf_netns h2) || sf_die "netns h2"
    sf_veth "p1$SF_ID" "e1$SF_ID" || sf_die "veth h1"
    sf_veth "q1$SF_ID" "f1$SF_ID" || sf_die "veth h1 second"
    sf_veth "p2$SF_ID" "e2$SF_ID" || sf_die "veth h2"
    ip link set "e1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "e1$SF_ID" up
    ip link set "f1$SF_ID" netns "$NS1" && ip -n "$NS1" link set "f1$SF_ID" up
    ip link set "e2$SF_ID" netns "$NS2" && ip -n "$NS2" link set "e2$SF_ID" up
    MAC1=$(ip netns exec "$NS1" cat "/sys/class/net/e1$SF_ID/address")
    MAC2=$(ip netns exec "$NS2" cat "/sys/class/net/e2$SF_ID/address")
    ip -n "$NS1" link set "f1$SF_ID" address "$MAC1"
    sf_port_add "$OVS" "$S1" "p1$SF_ID" 5 || sf_die "port s1:5"
    sf_port_add "$OVS" "$S2" "p2$SF_ID" 6 || sf_die "port s2:6"
    sf_port_add "$OVS" "$S2" "q1$SF_ID" 7 || sf_die "port s2:7"
}

# ctl_start: the controller on PORT (admin on APORT = PORT + 1), roles
# 1=label 2=label 3=object, the three switches pointed at it; checks
# "links discovered" (4: both ways of the two links).  Sets APORT, CPID and
# defines status_has PATTERN (a line of $STATE/status).
ctl_start() {
    local s
    APORT=$((PORT + 1))
    $SF_CTL_WRAPPER "$CTL" --listen "tcp:127.0.0.1:$PORT" --state-dir "$STATE" \
        --ssid 1 --role 1=label --role 2=label --role 3=object \
        --admin-tcp "tcp:127.0.0.1:$APORT" --admin-token "tok$SF_ID" \
        --probe-interval 200 --link-timeout 1000 >"$LOG" 2>&1 &
    CPID=$!
    sf_on_exit "kill $CPID"
    for s in "$S1" "$S2" "$S3"; do
        sf_ovs_vsctl "$OVS" set-controller "$s" "tcp:127.0.0.1:$PORT" \
            -- set controller "$s" max_backoff=1000 || sf_die "set-controller"
    done
    status_has() { grep -q -- "$1" "$STATE/status"; }
    check "links discovered" sf_wait 15 status_has "^links 4$"
}
