#!/usr/bin/env bash
# switch-setup.sh: the ovs-vsctl commands that make one Open vSwitch a
# SCAFFOLD label router or object router of a physical testbed.
#
# Prints the commands (one per line, ready to paste or review); with
# --apply runs them.  See docs/testbed.md for the whole procedure.
#
#   testbed/switch-setup.sh --role label --dpid 1 \
#       --controller tcp:172.31.0.1:6653 \
#       --gre or=192.0.2.3:1 --port eth2:2 --port eth3:11
#   testbed/switch-setup.sh --role object --dpid 3 \
#       --controller tcp:172.31.0.1:6653 \
#       --gre lr1=192.0.2.1:1 --gre lr2=192.0.2.2:2 --apply
#
# What it sets:
#   - a bridge (default "scaffold") with the datapath type (default
#     system; netdev for the userspace datapath) and fail_mode=secure (no
#     forwarding of its own when the controller is away: only the rules
#     the controller installed keep working);
#   - its datapath id (other-config:datapath-id, 16 hex digits): the
#     controller's [roles] section names switches by it;
#   - OpenFlow versions: OpenFlow13 on a label router (stock OVS);
#     OpenFlow10,OpenFlow15 on the object router (1.5 carries
#     selection_method=round_robin; 1.0 for ovs-ofctl's defaults);
#   - in-band control disabled (the control network is separate);
#   - the controller target, with max_backoff so that a restarted
#     controller is found again within a second or two;
#   - GRE ports (type=gre, options:remote_ip) toward the object router (on
#     a label router) or toward every label router (on the object router),
#     each with a fixed OpenFlow port number;
#   - data ports (--port IFACE:OFPORT), fixed OpenFlow port numbers;
#   - --underlay IFACE (userspace datapath only): a second, standalone
#     bridge BRIDGE-ul holding IFACE; the tunnel endpoint address must then
#     be on the bridge's internal interface BRIDGE-ul (userspace tunnelling
#     routes and resolves neighbours through an OVS bridge), which the
#     printed "ip" lines do when --underlay-addr is given.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: testbed/switch-setup.sh --role label|object --dpid HEX
           --controller tcp:IP:PORT [OPTIONS] [--apply]
Prints (or with --apply runs) the ovs-vsctl commands that configure one
switch of a SCAFFOLD testbed.

  --role label|object     label router (OpenFlow13) or object router
                          (OpenFlow10,OpenFlow15)
  --dpid HEX              datapath id, up to 16 hex digits
  --controller TARGET     controller target, e.g. tcp:172.31.0.1:6653
                          (repeatable: several controllers)
  --bridge NAME           bridge name (default scaffold)
  --datapath-type TYPE    system (kernel module, default) or netdev
                          (userspace)
  --gre NAME=IP[:OFPORT]  a GRE port NAME toward tunnel endpoint IP
                          (repeatable)
  --port IFACE[:OFPORT]   a data port (repeatable)
  --underlay IFACE        userspace datapath: bridge BRIDGE-ul for the
                          tunnel underlay, holding IFACE
  --underlay-addr CIDR    the tunnel endpoint address put on BRIDGE-ul
  --underlay-mtu N        MTU of IFACE and BRIDGE-ul (default 1600: GRE
                          adds 38 bytes to every 1514-byte frame)
  --vsctl CMD             the ovs-vsctl to use (default ovs-vsctl; may
                          include options, e.g. "ovs-vsctl --db=unix:...")
  --ip CMD                the ip command for the --underlay lines (default
                          ip; e.g. "ip -n NETNS")
  --replace               delete the bridge(s) first
  --apply                 run the commands instead of printing them
  -h, --help              this text
EOF
}

role='' dpid='' bridge=scaffold dptype=system vsctl=ovs-vsctl ipcmd=ip apply=0
replace=0 underlay='' underlay_addr='' underlay_mtu=1600
controllers=() gres=() ports=()
while [ $# -gt 0 ]; do
    case $1 in
    --role) role=$2; shift ;;
    --dpid) dpid=$2; shift ;;
    --controller) controllers+=("$2"); shift ;;
    --bridge) bridge=$2; shift ;;
    --datapath-type) dptype=$2; shift ;;
    --gre) gres+=("$2"); shift ;;
    --port) ports+=("$2"); shift ;;
    --underlay) underlay=$2; shift ;;
    --underlay-addr) underlay_addr=$2; shift ;;
    --underlay-mtu) underlay_mtu=$2; shift ;;
    --vsctl) vsctl=$2; shift ;;
    --ip) ipcmd=$2; shift ;;
    --replace) replace=1 ;;
    --apply) apply=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "switch-setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "switch-setup.sh: $*" >&2; exit 2; }
case $role in
label) protocols=OpenFlow13 ;;
object) protocols=OpenFlow10,OpenFlow15 ;;
*) die "--role label|object is required" ;;
esac
[[ $dpid =~ ^(0[xX])?[0-9a-fA-F]{1,16}$ ]] || die "--dpid HEX is required (up to 16 hex digits)"
dpid=${dpid#0[xX]}
dpid=$(printf '%016x' "$((16#$dpid))")
[ ${#controllers[@]} -gt 0 ] || die "--controller tcp:IP:PORT is required"
for c in "${controllers[@]}"; do
    [[ $c =~ ^(tcp|ssl):[^:]+:[0-9]+$ ]] || die "bad controller target '$c' (tcp:IP:PORT)"
done
case $dptype in system|netdev) ;; *) die "--datapath-type system|netdev" ;; esac
[[ $bridge =~ ^[A-Za-z0-9_.-]{1,12}$ ]] || die "bad bridge name '$bridge' (1-12 characters)"
if [ -n "$underlay" ] && [ "$dptype" != netdev ]; then
    die "--underlay is for the userspace datapath (--datapath-type netdev)"
fi

cmds=()
add() { cmds+=("$*"); }
q() { printf '%q' "$1"; }

ul=$bridge-ul
if [ "$replace" = 1 ]; then
    add "$vsctl --if-exists del-br $(q "$bridge")"
    [ -z "$underlay" ] || add "$vsctl --if-exists del-br $(q "$ul")"
fi
if [ -n "$underlay" ]; then
    add "$ipcmd link set $(q "$underlay") mtu $underlay_mtu up"
    add "$vsctl --may-exist add-br $(q "$ul") -- set bridge $(q "$ul") datapath_type=netdev fail_mode=standalone other-config:disable-in-band=true -- set interface $(q "$ul") mtu_request=$underlay_mtu"
    add "$vsctl --may-exist add-port $(q "$ul") $(q "$underlay")"
    if [ -n "$underlay_addr" ]; then
        add "$ipcmd addr replace $(q "$underlay_addr") dev $(q "$ul")"
        add "$ipcmd link set $(q "$ul") up"
    fi
fi
add "$vsctl --may-exist add-br $(q "$bridge") -- set bridge $(q "$bridge") datapath_type=$dptype fail_mode=secure protocols=$protocols other-config:datapath-id=$dpid other-config:disable-in-band=true"
targets=()
for c in "${controllers[@]}"; do targets+=("$(q "$c")"); done
add "$vsctl set-controller $(q "$bridge") ${targets[*]}"
add "$vsctl set controller $(q "$bridge") max_backoff=1000 inactivity_probe=5000 connection_mode=out-of-band"
for g in "${gres[@]}"; do
    [[ $g =~ ^([A-Za-z0-9_.-]{1,15})=([0-9.]+)(:([0-9]+))?$ ]] \
        || die "bad --gre '$g' (NAME=IP[:OFPORT])"
    name=${BASH_REMATCH[1]} ip=${BASH_REMATCH[2]} ofp=${BASH_REMATCH[4]}
    add "$vsctl --may-exist add-port $(q "$bridge") $(q "$name") -- set interface $(q "$name") type=gre options:remote_ip=$ip${ofp:+ ofport_request=$ofp}"
done
for p in "${ports[@]}"; do
    [[ $p =~ ^([A-Za-z0-9_.@-]{1,15})(:([0-9]+))?$ ]] \
        || die "bad --port '$p' (IFACE[:OFPORT])"
    name=${BASH_REMATCH[1]} ofp=${BASH_REMATCH[3]}
    add "$vsctl --may-exist add-port $(q "$bridge") $(q "$name")${ofp:+ -- set interface $(q "$name") ofport_request=$ofp}"
done

for c in "${cmds[@]}"; do
    if [ "$apply" = 1 ]; then
        eval "$c" || { echo "switch-setup.sh: failed: $c" >&2; exit 1; }
    else
        printf '%s\n' "$c"
    fi
done
