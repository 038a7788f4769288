"""Smoke test of mininet/scaffold.py (issue #6, part 1).

Run as root with Debian's python:  /usr/bin/python3 mininet/tests/smoke.py
(tests/system/mininet_smoke.sh runs it).  Prints "ok - ..." / "not ok - ..."
lines and "# ..." comments; exits 1 if a check failed.

1. demo topology, isolated, no controller (label routers standalone, the
   object router secure with no flows: it would close loops): bridges on the
   PRIVATE patched OVS (netdev, OpenFlow versions, in-band off), links as
   specified, pingAll 0 %, kernel UDP through it, host agents in their
   hosts' namespaces;
2. ScaffoldLineTopo(3, 2) in the CURRENT network namespace (names carry the
   run id), pingAll 0 %;
3. demo topology with ScaffoldController, switches secure and connected;
4. Ctrl-C inside the `with` body of a child process;
and after each: nothing the run created remains (processes, namespaces,
interfaces, run directory, system OVS bridges).
"""

import json
import re
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from mininet.log import setLogLevel               # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import (ScaffoldTopo, ScaffoldLineTopo, ScaffoldRingTopo,  # noqa
                      ScaffoldTreeTopo, ScaffoldHost, scaffold_net,
                      netns_processes, _pid_alive, SF_OVS_BLD)

PY = '/usr/bin/python3'
FAILS = 0
SYSTEM_DB = '/var/run/openvswitch/db.sock'
MY_NETNS = os.stat('/proc/self/ns/net').st_ino


def ok(text):
    print('ok - ' + text, flush=True)


def not_ok(text):
    global FAILS
    FAILS += 1
    print('not ok - ' + text, flush=True)


def check(text, cond, detail=''):
    if cond:
        ok(text)
    else:
        not_ok(text + (' (%s)' % detail if detail else ''))
    return cond


def note(text):
    print('# ' + text, flush=True)


# --- machine state ----------------------------------------------------------

def ip_netns():
    out = subprocess.run(['ip', 'netns', 'list'], capture_output=True,
                         text=True).stdout
    return sorted(l.split()[0] for l in out.splitlines() if l.strip())


def ip_links():
    return sorted(scaffold._links_in_netns())


def system_bridges():
    if not os.path.exists(SYSTEM_DB):
        return None
    r = subprocess.run(['/usr/bin/ovs-vsctl', '--timeout=5',
                        '--db=unix:' + SYSTEM_DB, 'list-br'],
                       capture_output=True, text=True)
    return sorted(r.stdout.split()) if r.returncode == 0 else None


def live_children():
    """Descendants of this process that are not zombies."""
    me, kids, found = os.getpid(), {}, []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as f:
                    st = f.read()
                ppid = int(st[st.rindex(')') + 2:].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError):
                pass
    todo = list(kids.get(me, []))
    while todo:
        p = todo.pop()
        if _pid_alive(p):
            found.append(p)
        todo.extend(kids.get(p, []))
    return sorted(found)


def snapshot():
    return dict(netns=ip_netns(), links=ip_links(), sysbr=system_bridges(),
                children=live_children())


def netns_inode(pid):
    return os.stat('/proc/%d/ns/net' % pid).st_ino


def record(net):
    """What the run started: PIDs and namespaces to look for afterwards."""
    pids = list(net.scaffold.ovs.pids)
    pids += [n.pid for n in net.hosts + net.switches + net.controllers]
    for h in net.hosts:
        if getattr(h, 'agent_proc', None):
            pids.append(h.agent_proc.pid)
    for c in net.controllers:
        if getattr(c, 'proc', None):
            pids.append(c.proc.pid)
    inodes = [netns_inode(h.pid) for h in net.hosts]
    if net.scaffold_netns:
        inodes.append(net.scaffold_netns)
    return dict(pids=pids, inodes=inodes, rundir=net.scaffold.rundir,
                switches=[sw.name for sw in net.switches],
                isolated=net.scaffold_netns is not None)


def named_netns_inodes():
    res = {}
    for n in ip_netns():
        try:
            res[n] = os.stat('/run/netns/' + n).st_ino
        except OSError:
            pass
    return res


def ours(name, rid, isolated=True):
    """Could this interface or bridge be one the run made?  (Other people
    create and delete interfaces and namespaces on this machine meanwhile:
    only names of our kind count; "ovs-netdev" only when the run was in
    this namespace.)"""
    return bool((rid and '_' + rid in name) or re.search(r'-eth\d+$', name)
                or (name == 'ovs-netdev' and not isolated))


def check_gone(what, rec, before, rid=None):
    """After a run: nothing it created remains."""
    after = snapshot()
    alive = [p for p in rec['pids'] if _pid_alive(p)]
    check('%s: every process the run started is gone (%d PIDs)'
          % (what, len(rec['pids'])), not alive, 'alive: %s' % alive)
    inns = [i for i in rec['inodes'] if netns_processes(i)]
    check('%s: no process left in its %d network namespaces'
          % (what, len(rec['inodes'])), not inns)
    named = [n for n, i in named_netns_inodes().items()
             if i in rec['inodes']]
    check('%s: none of them pinned as a named namespace' % what, not named,
          named)
    check('%s: no new child processes' % what,
          after['children'] == before['children'],
          '%s -> %s' % (before['children'], after['children']))
    new_ns = sorted(set(after['netns']) - set(before['netns']))
    if new_ns:
        note('%s: named namespaces appeared meanwhile (not ours: Mininet '
             'makes none): %s' % (what, ' '.join(new_ns)))
    new = sorted(l for l in set(after['links']) - set(before['links'])
                 if ours(l, rid, rec.get('isolated', True)))
    check('%s: no new interface of ours in this namespace' % what, not new,
          new)
    if rid:
        mine = [l for l in after['links'] if '_' + rid in l]
        check('%s: no interface named with run id %s left' % (what, rid),
              not mine, mine)
    check('%s: run directory removed' % what,
          not os.path.exists(rec['rundir']), rec['rundir'])
    if before['sysbr'] is None and after['sysbr'] is None:
        ok('%s: no system OVS running, none started' % what)
    else:
        new_br = sorted(set(after['sysbr'] or []) -
                        set(before['sysbr'] or []))
        check('%s: system OVS has no new bridge of ours' % what,
              not [b for b in new_br if ours(b, rid) or
                   any(b in n for n in rec.get('switches', []))], new_br)


# --- helpers inside the network --------------------------------------------

UDP_ECHO = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
'''

UDP_CLIENT = r'''
import socket, sys, time
dst, n, tmo = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(tmo)
got = 0
deadline = time.time() + 3
for i in range(n):
    msg = b"%06d" % i + b"x" * 1394          # 1400-byte payload
    while True:
        s.sendto(msg, (dst, 9999))
        try:
            d, _ = s.recvfrom(65535)
            if d == msg:
                got += 1
            break
        except socket.timeout:
            if got == 0 and i == 0 and time.time() < deadline:
                continue                    # server still starting
            break
print("replies", got)
'''


def udp_echo(client, server, n=50, tmo=1.0):
    srv = server.popen([PY, '-c', UDP_ECHO])
    try:
        out = client.cmd(PY, '-c', "'%s'" % UDP_CLIENT.replace("'", '"'),
                         server.IP(), n, tmo)
    finally:
        scaffold.stop_process(srv)
    m = re.search(r'replies (\d+)', out)
    if m:
        return int(m.group(1))
    note('udp client output: %r' % out)
    return -1


def neighbours(net, name):
    node = net.get(name)
    res = {}
    for intf in node.intfList():
        link = getattr(intf, 'link', None)
        if link is None:
            continue
        peer = link.intf2 if link.intf1 is intf else link.intf1
        res[node.ports[intf]] = peer.node.name
    return res


def bridge_col(ovs, br, col):
    return ovs.vsctl('get', 'Bridge', br, col).strip()


# --- 1. the demo topology ---------------------------------------------------

def test_demo():
    before = snapshot()
    topo = ScaffoldTopo()
    A, B, O = topo.A, topo.B, topo.O
    t0 = time.time()
    with scaffold_net(topo, controller=False) as net:
        rec = record(net)
        note('demo up in %.1fs, run dir %s, run id %s'
             % (time.time() - t0, net.scaffold.rundir, topo.rid))
        ovs = net.scaffold.ovs
        check('demo: ovs-vswitchd is the patched build',
              os.path.realpath('/proc/%d/exe' % ovs.vs_proc.pid) ==
              os.path.realpath(os.path.join(SF_OVS_BLD, 'vswitchd',
                                            'ovs-vswitchd')))
        check('demo: OVS runs in the run\'s own network namespace',
              netns_inode(ovs.vs_proc.pid) == net.scaffold_netns and
              net.scaffold_netns != MY_NETNS)
        # Mininet's own commands reach the private OVS.
        shell_vsctl = net.get(A).cmd('command -v ovs-vsctl').strip()
        check('demo: switch shells run ovs-vsctl from the run dir',
              shell_vsctl.startswith(net.scaffold.rundir), shell_vsctl)
        brs = sorted(ovs.vsctl('list-br').split())
        check_eq = brs == sorted([A, B, O])
        check('demo: bridges %s %s %s on the private OVS' % (A, B, O),
              check_eq, brs)
        for br, protos in ((A, '[OpenFlow13]'), (B, '[OpenFlow13]'),
                           (O, '[OpenFlow10, OpenFlow15]')):
            dp = bridge_col(ovs, br, 'datapath_type')
            pr = bridge_col(ovs, br, 'protocols')
            ib = ovs.vsctl('get', 'Bridge', br,
                           'other_config:disable-in-band').strip()
            check('demo: %s datapath_type=netdev protocols=%s in-band off'
                  % (br, protos),
                  dp == 'netdev' and pr == protos and ib == '"true"',
                  '%s %s %s' % (dp, pr, ib))
        check('demo: fail_mode label standalone, object secure',
              [bridge_col(ovs, b, 'fail_mode') for b in (A, B, O)] ==
              ['standalone', 'standalone', 'secure'])
        # ovs-ofctl speaks each bridge's version through the run dir.
        r = subprocess.run(['ovs-ofctl', '-O', 'OpenFlow15', 'dump-groups',
                            O], capture_output=True, text=True)
        check('demo: ovs-ofctl -O OpenFlow15 reaches the object router',
              r.returncode == 0, r.stderr.strip())
        # Links as specified, with the documented port numbers.
        want = {A: {1: 'h1', 2: 'h3', 3: B, 4: O},
                B: {1: 'h2', 2: A, 3: O},
                O: {1: A, 2: B}}
        for sw, exp in want.items():
            got = neighbours(net, sw)
            check('demo: %s ports %s' % (sw, exp), got == exp, got)
            ports = {int(ovs.vsctl('get', 'Interface', '%s-eth%d' % (sw, p),
                                   'ofport')) for p in exp}
            check('demo: %s OpenFlow port numbers = Mininet ports' % sw,
                  ports == set(exp), ports)
        for h, sw in (('h1', A), ('h2', B), ('h3', A)):
            check('demo: %s attached to %s' % (h, sw),
                  neighbours(net, h) == {0: sw})
        # Host configuration.
        for h in net.hosts:
            intf = h.defaultIntf().name
            tx = h.cmd('ethtool -k %s | grep "^tx-checksumming"' % intf)
            v6 = h.cmd('cat /proc/sys/net/ipv6/conf/%s/disable_ipv6'
                       % intf).strip()
            addrs = h.cmd('ip -6 addr show dev %s' % intf).strip()
            check('%s: tx checksum offload off, IPv6 off' % h.name,
                  'off' in tx and v6 == '1' and not addrs,
                  '%r %r %r' % (tx, v6, addrs))
        if os.access(ScaffoldHost.agent_binary, os.X_OK):
            for h in net.hosts:
                p = h.agent_proc
                alive = p is not None and p.poll() is None
                check('%s: hostagent running (pid %s) in the host\'s '
                      'namespace' % (h.name, p and p.pid),
                      alive and netns_inode(p.pid) == netns_inode(h.pid))
        else:
            note('build/bin/scaffold-hostagent missing: agents not tested')
        loss = net.pingAll(timeout=2)
        check('demo: pingAll 0%% loss (got %s%%)' % loss, loss == 0)
        n = udp_echo(net.get('h1'), net.get('h2'))
        check('demo: kernel UDP h1 -> h2 -> h1 through A and B: %d/50 '
              '1400-byte datagrams echoed' % n, n == 50)
        n = udp_echo(net.get('h3'), net.get('h1'))
        check('demo: kernel UDP h3 <-> h1 on A: %d/50 echoed' % n, n == 50)
        # Control: the same with tx checksum offload back on at h1.
        h1 = net.get('h1')
        h1.cmd('ethtool -K h1-eth0 tx on')
        n = udp_echo(h1, net.get('h2'), n=5, tmo=0.2)
        note('control: with tx offload ON at h1, %d/5 UDP datagrams '
             'came back (expected 0: bad checksums)' % n)
        h1.cmd('ethtool -K h1-eth0 tx off')
    check_gone('demo', rec, before, rid=topo.rid)


# --- 2. a parametric topology in the current namespace ----------------------

def test_line():
    before = snapshot()
    isolate = 'ovs-netdev' in before['links']
    if isolate:
        note('another userspace OVS owns ovs-netdev here: line test '
             'isolated instead')
    topo = ScaffoldLineTopo(3, 2)
    t0 = time.time()
    with scaffold_net(topo, controller=False, isolate=isolate) as net:
        rec = record(net)
        note('line 3x2 up in %.1fs (%s namespace), run id %s'
             % (time.time() - t0, 'private' if isolate else 'current',
                topo.rid))
        ovs = net.scaffold.ovs
        brs = sorted(ovs.vsctl('list-br').split())
        check('line: 3 label routers + 1 object router', brs ==
              sorted(topo.routers + [topo.object_router]), brs)
        r1, r2, r3 = topo.routers
        o = topo.object_router
        check('line: %s has h1 h2 %s %s' % (r1, r2, o),
              sorted(neighbours(net, r1).values()) ==
              sorted(['h1', 'h2', r2, o]))
        check('line: %s has h3 h4 %s %s %s' % (r2, r1, r3, o),
              sorted(neighbours(net, r2).values()) ==
              sorted(['h3', 'h4', r1, r3, o]))
        check('line: %s has h5 h6 %s %s' % (r3, r2, o),
              sorted(neighbours(net, r3).values()) ==
              sorted(['h5', 'h6', r2, o]))
        check('line: object router linked to every label router',
              sorted(neighbours(net, o).values()) == sorted([r1, r2, r3]))
        if not isolate:
            mine = [l for l in ip_links() if '_' + topo.rid in l]
            # 4 bridge taps + 16 switch-side veth ends (4 + 5 + 4 + 3).
            check('line: its 20 switch interfaces here carry the run id '
                  '(%d)' % len(mine), len(mine) == 20, mine)
        loss = net.pingAll(timeout=2)
        check('line: pingAll 0%% loss among 6 hosts (got %s%%)' % loss,
              loss == 0)
        n = udp_echo(net.get('h1'), net.get('h6'), n=20)
        check('line: kernel UDP h1 <-> h6 across 3 routers: %d/20' % n,
              n == 20)
    check_gone('line', rec, before, rid=topo.rid)


# --- 2b. the other shapes -----------------------------------------------------

def test_shapes():
    before = snapshot()
    topo = ScaffoldTreeTopo(depth=2, fanout=2, hosts=1)
    with scaffold_net(topo, controller=False) as net:
        rec = record(net)
        r1, r2, r3 = topo.routers
        o = topo.object_router
        check('tree(2,2,1): root %s has h1, children %s %s and %s'
              % (r1, r2, r3, o), sorted(neighbours(net, r1).values()) ==
              sorted(['h1', r2, r3, o]))
        check('tree(2,2,1): leaf %s has h2, %s and %s' % (r2, r1, o),
              sorted(neighbours(net, r2).values()) == sorted(['h2', r1, o]))
        loss = net.pingAll(timeout=2)
        check('tree(2,2,1): pingAll 0%% (got %s%%)' % loss, loss == 0)
    check_gone('tree', rec, before, rid=topo.rid)
    # A ring is a loop: all switches secure (no flows, no storm); structure.
    topo = ScaffoldRingTopo(4, 1, object_links='first')
    with scaffold_net(topo, controller=False, fail_mode='secure') as net:
        rec = record(net)
        r = topo.routers
        o = topo.object_router
        check('ring(4,1, object_links=first): %s - %s - %s - %s - %s, '
              'O only on %s' % (r[0], r[1], r[2], r[3], r[0], r[0]),
              sorted(neighbours(net, r[0]).values()) ==
              sorted(['h1', r[1], r[3], o]) and
              sorted(neighbours(net, r[2]).values()) ==
              sorted(['h3', r[1], r[3]]) and
              list(neighbours(net, o).values()) == [r[0]])
    check_gone('ring', rec, before, rid=topo.rid)


# --- 3. with the controller -------------------------------------------------

def test_controller():
    if not os.access(scaffold.ScaffoldController.binary, os.X_OK):
        note('build/bin/scaffold-controller missing: controller not tested')
        return
    before = snapshot()
    topo = ScaffoldTopo()
    with scaffold_net(topo, controller=True, wait=10) as net:
        rec = record(net)
        ovs = net.scaffold.ovs
        c = net.controllers[0]
        cmd = c.controller_command()
        check('controller: command line has --listen, a fresh --state-dir '
              'and the roles',
              'tcp:127.0.0.1:%d' % c.port in cmd and
              c.state_dir.startswith(net.scaffold.rundir) and
              '0000000000000001=label' in cmd and
              '0000000000000002=label' in cmd and
              '0000000000000100=object' in cmd, cmd)
        modes = [bridge_col(ovs, b, 'fail_mode')
                 for b in (topo.A, topo.B, topo.O)]
        check('controller: every bridge fail_mode=secure (class default)',
              modes == ['secure'] * 3, modes)
        conn = ovs.vsctl('--columns=is_connected', 'list',
                         'Controller').split()
        check('controller: all 3 bridges connected to it',
              conn.count('true') == 3, conn)
    check_gone('controller', rec, before, rid=topo.rid)


# --- 4. `mn --custom` ------------------------------------------------------
# /usr/bin/mn's MininetRunner, loaded as a module so that its __main__ block
# (which runs the machine-wide `mn -c` cleanup on any error) never runs, in
# a child process in a fresh network namespace.

MN_CHILD = r'''
import runpy, sys
sys.argv = ["mn"] + sys.argv[1:]
ns = runpy.run_path("/usr/bin/mn", run_name="mn_as_module")
ns["MininetRunner"]()
'''


def test_mn():
    before = snapshot()
    custom = os.path.join(os.path.dirname(HERE), 'scaffold.py')
    p = subprocess.run(
        ['unshare', '--net', '--', PY, '-c', MN_CHILD, '-v', 'info',
         '--custom', custom, '--topo', 'scaffold,failmode=standalone',
         '--controller', 'none', '--test', 'pingall'],
        capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    m = re.search(r'SCAFFOLD private OVS in (\S+)', out)
    check('mn --custom: exit 0, private OVS started (%s)'
          % (m and m.group(1)), p.returncode == 0 and m, out[-800:])
    check('mn --custom --topo scaffold,failmode=standalone --test pingall: '
          '0% dropped', '*** Results: 0% dropped (6/6 received)' in out,
          out[-800:])
    if m:
        rundir = os.path.dirname(m.group(1))
        check('mn --custom: run directory removed at exit',
              not os.path.exists(rundir), rundir)
        # Everything started after the private OVS came up has OVS_RUNDIR
        # (the run dir) in its environment: switch shells, host agents, the
        # OVS daemons themselves.
        left = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            for f in ('cmdline', 'environ'):
                try:
                    with open('/proc/%s/%s' % (d, f), 'rb') as fh:
                        if rundir.encode() in fh.read() and \
                                _pid_alive(int(d)):
                            left.append(d)
                            break
                except OSError:
                    pass
        check('mn --custom: no process of the run left (none with the run '
              'dir in its command line or environment)', not left, left)
    after = snapshot()
    check('mn --custom: no new child processes',
          after['children'] == before['children'])


# --- 5. two runs at once --------------------------------------------------

PAR_CHILD = r'''
import os, sys
sys.path.insert(0, sys.argv[1])
from mininet.log import setLogLevel
from scaffold import ScaffoldTopo, scaffold_net
setLogLevel("warning")
with scaffold_net(ScaffoldTopo(rid=""), controller=CTL, wait=10) as net:
    if CTL:
        print("conn", net.scaffold.ovs.vsctl(
            "--columns=is_connected", "list",
            "Controller").split().count("true"), flush=True)
    else:
        print("loss", net.pingAll(timeout=2), flush=True)
'''


def test_parallel():
    """Two runs at the same time, even with identical (bare) switch names
    A, B, O: isolated runs cannot collide.  One has the controller (no
    forwarding yet: only its connections are checked), one pings."""
    before = snapshot()
    mdir = os.path.dirname(HERE)
    ctl = os.access(scaffold.ScaffoldController.binary, os.X_OK)
    procs = [subprocess.Popen(
        [PY, '-c', PAR_CHILD.replace('CTL', str(ctl and i == 0)), mdir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    check('parallel: two runs with the same bridge names A B O at once '
          'both exit 0', all(p.returncode == 0 for p in procs), outs)
    check('parallel: the run without controller pings 0%',
          'loss 0.0' in outs[1], outs[1])
    if ctl:
        check('parallel: the run with the controller has 3 bridges '
              'connected', 'conn 3' in outs[0], outs[0])
    after = snapshot()
    check('parallel: no new child processes',
          after['children'] == before['children'])


# --- 6. Ctrl-C / SIGTERM ----------------------------------------------------

CHILD = r'''
import json, os, signal, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
from scaffold import ScaffoldTopo, scaffold_net
import smoke
with scaffold_net(ScaffoldTopo(), controller=False) as net:
    print(json.dumps(smoke.record(net)), flush=True)
    os.kill(os.getpid(), int(sys.argv[2]))
    time.sleep(30)
    print("not interrupted", flush=True)
'''


def test_interrupt():
    mdir = os.path.dirname(HERE)
    for name, sig in (('Ctrl-C', 2), ('SIGTERM', 15)):
        before = snapshot()
        p = subprocess.run([PY, '-c', CHILD, mdir, str(sig)],
                           capture_output=True, text=True, timeout=60)
        lines = [l for l in p.stdout.splitlines() if l.startswith('{')]
        if not check('%s: child interrupted inside the body (exit %d)'
                     % (name, p.returncode), p.returncode != 0 and lines and
                     'not interrupted' not in p.stdout and
                     ('KeyboardInterrupt' in p.stderr or
                      '_Interrupted' in p.stderr), p.stderr[-500:]):
            continue
        check_gone(name, json.loads(lines[0]), before)


def test_sigkill():
    """SIGKILL (a test timeout) gives no chance to clean up: the daemons
    die with their parent (PR_SET_PDEATHSIG), the namespaces with their
    last process; only the run directory stays (removed here)."""
    mdir = os.path.dirname(HERE)
    p = subprocess.Popen([PY, '-c', CHILD, mdir, '9'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, _err = p.communicate(timeout=60)
    lines = [l for l in out.splitlines() if l.startswith('{')]
    if not check('SIGKILL: child killed inside the body (exit %d)'
                 % p.returncode, p.returncode == -9 and lines):
        return
    rec = json.loads(lines[0])
    scaffold._wait_for(lambda: not [x for x in rec['pids']
                                    if _pid_alive(x)], 5)
    alive = [x for x in rec['pids'] if _pid_alive(x)]
    check('SIGKILL: every process of the run died with it (%d PIDs)'
          % len(rec['pids']), not alive, alive)
    scaffold._wait_for(lambda: not [i for i in rec['inodes']
                                    if netns_processes(i)], 3)
    check('SIGKILL: its network namespaces are empty',
          not [i for i in rec['inodes'] if netns_processes(i)])
    if os.path.isdir(rec['rundir']):
        note('SIGKILL: run directory %s left behind (expected), removed'
             % rec['rundir'])
        import shutil
        shutil.rmtree(rec['rundir'], ignore_errors=True)


if __name__ == '__main__':
    setLogLevel(os.environ.get('SF_MN_LOGLEVEL', 'warning'))
    if os.geteuid() != 0:
        print('# needs root')
        sys.exit(77)
    if os.environ.get('SF_MN_OVS', 'patched') == 'patched' and \
            not os.access(os.path.join(SF_OVS_BLD, 'vswitchd',
                                       'ovs-vswitchd'), os.X_OK):
        print('# patched ovs-vswitchd missing: build it first')
        sys.exit(77)
    t0 = time.time()
    for t in (test_demo, test_line, test_shapes, test_controller, test_mn,
              test_parallel, test_interrupt, test_sigkill):
        t1 = time.time()
        try:
            t()
            note('%s: %.1fs' % (t.__name__, time.time() - t1))
        except Exception as e:                     # pylint: disable=broad-except
            import traceback
            traceback.print_exc()
            not_ok('%s raised %s: %s' % (t.__name__, type(e).__name__, e))
    note('smoke.py: %.1fs, %d failed' % (time.time() - t0, FAILS))
    sys.exit(1 if FAILS else 0)
