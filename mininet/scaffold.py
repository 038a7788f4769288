"""SCAFFOLD Mininet integration: node classes, topologies, a private OVS.

Two ways to use it (always as root, with Debian's /usr/bin/python3):

    # In scripts (preferred: cleans up exactly what it made, even on Ctrl-C)
    import sys; sys.path.insert(0, 'mininet')
    from scaffold import ScaffoldTopo, scaffold_net
    with scaffold_net(ScaffoldTopo(), controller=False) as net:
        net.pingAll()

    # The Mininet command line (see the warning below first)
    mn --custom mininet/scaffold.py --topo scaffold,failmode=standalone \\
       --controller none --test pingall
    mn --custom mininet/scaffold.py --topo scaffold_line,3,2 \\
       --controller scaffold --test sfpingall

What it provides
- PrivateOVS: an ovsdb-server + the suite's patched ovs-vswitchd (userspace
  datapath) in a fresh run directory /tmp/sf-mn-XXXXXX, started as children
  of this process and stopped by PID.  activate() points Mininet at it (see
  "How Mininet is hooked up" below).  A system-wide OVS
  (/var/run/openvswitch) is never contacted.
- LabelRouter (OpenFlow13) and ObjectRouter (OpenFlow10,OpenFlow15, so that
  select groups can carry selection_method=round_robin): OVSSwitch with
  datapath=user, fail_mode secure, in-band control off.
- ScaffoldHost: tx checksum offload off and IPv6 off on its interfaces
  (kernel UDP/TCP through the userspace datapath is otherwise dropped for bad
  checksums; no ND/MLD noise), and a scaffold-hostagent per host started and
  stopped by PID (agent_command() builds its command line: override it).
  With a ScaffoldController in the run the agent joins it in band
  (controller mode: it gets its ssID.hostID from the controller); without
  one it uses a static prefix 1.N (agent_mode= forces either).  Helpers:
  sf_popen()/sf_run() start programs in the host, agent_status(),
  join_info(), wait_joined(), restart_agent(static_objects=...).
- ScaffoldController: build/bin/scaffold-controller on a free 127.0.0.1 port
  with a fresh state directory, stopped by PID (controller_command() builds
  its command line: override it).
- Topologies: ScaffoldTopo (the demo testbed), ScaffoldLineTopo,
  ScaffoldRingTopo, ScaffoldTreeTopo.  Every topology has exactly one object
  router; by default it is linked to EVERY label router (as in the demo
  testbed, where O hangs off both A and B); object_links='first' links it
  to the first (root) label router only.
- scaffold_net(topo, ...): context manager building the Mininet with all of
  the above, returning once every switch is connected and every agent in
  controller mode is JOINED (polling `scaffold-hostagent --status`), and
  tearing everything down in finally (also on Ctrl-C/SIGTERM).
- move_host(net, host, switch): moves a host's cable to another label
  router (link down, re-attach, link up; the host keeps its interface).
- sf_pingall(net): every host reaches an object served by every other
  (sfcat); `mn ... --controller scaffold --test sfpingall`.  In the Mininet
  CLI, `sfctl ARGS` runs the controller's admin client.

Names.  Mininet switch names become OVS bridge names, the bridges' tap
devices, and (with "-ethN") the switch-side veth names, all in the network
namespace Mininet runs in.  So every topology gets a per-run id `rid` (4 hex
digits) and names its switches BASE_rid: A_3f2a, B_3f2a, O_3f2a in the demo,
r1_3f2a..rN_3f2a and O_3f2a in the parametric ones (topo.A, topo.O,
topo.routers hold the names).  Pass rid='' for bare names.  Interface names
are checked to fit in 15 characters.  Hosts keep h1..hN: their interfaces
are created directly inside the host's own namespace.

Isolation.  A userspace ovs-vswitchd owns a tap device named "ovs-netdev"
in its network namespace, so two of them cannot share one.  scaffold_net()
therefore by default (isolate=True) moves this process into a fresh network
namespace for the run (unshare), and back afterwards (setns): everything the
run creates lives in it and disappears with it.  isolate=False runs in the
current namespace (as `mn` does); then it refuses to start when another
userspace datapath is present there.

How Mininet is hooked up to the private OVS.  OVSSwitch runs `ovs-vsctl`
(setup: `ovs-vsctl -t 1 show`; start: one `ovs-vsctl ... add-br ...`, or one
batched `ovs-vsctl` from the Python process in batchStartup; stop/
batchShutdown: `ovs-vsctl del-br`, `ip link del`) and `ovs-ofctl` (dpctl)
through node shells and Popen, which inherit os.environ of this process.
activate() puts RUNDIR/bin first on PATH: wrappers that exec the patched
ovs-vsctl with --db=unix:RUNDIR/db.sock --timeout=30 (so a dead vswitchd
cannot hang Mininet forever, and the system database cannot be reached even
if OVS_RUNDIR got lost), and ovs-ofctl/ovs-appctl with OVS_RUNDIR=RUNDIR.
OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR are set as well.  deactivate() restores the
environment.

WARNING about the `mn` command: any error or Ctrl-C in `mn` runs `mn -c`,
which kills processes by name machine-wide (other people's Mininet shells,
controllers, pings) and deletes every bridge of the OVS it can reach.  With
this file loaded that is the private OVS, but the rest still hits everybody.
Scripts and tests use scaffold_net() instead.
"""

import atexit
import contextlib
import ctypes
import inspect
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from mininet.log import info, warn, error, output
from mininet.net import Mininet
from mininet.node import Controller, Host, Node, OVSSwitch
from mininet.topo import Topo

# This file is imported as a module ("from scaffold import ...") and also
# exec()'d by `mn --custom`, where __file__ is not defined: the code object
# still carries the file name.
_HERE = os.path.dirname(os.path.abspath(
    inspect.currentframe().f_code.co_filename))
SF_TOP = os.environ.get('SF_TOP') or os.path.dirname(_HERE)
SF_BIN = os.path.join(SF_TOP, 'build', 'bin')
SFCTL = os.path.join(SF_BIN, 'sfctl')
SFCAT = os.path.join(SF_BIN, 'sfcat')
# Same variables as tests/system/lib.sh: another OVS source/build tree.
SF_OVS_SRC = os.environ.get('SF_OVS_SRC') or os.path.join(
    SF_TOP, 'build', 'ovs', 'src')
SF_OVS_BLD = os.environ.get('SF_OVS_BLD') or os.path.join(
    SF_TOP, 'build', 'ovs', 'build')

IFNAMSIZ = 15


def new_run_id():
    """4 hex digits, unique enough per run; never a bare number (Mininet
    derives nothing from it because every switch gets an explicit dpid)."""
    return '%04x' % random.SystemRandom().randrange(0x10000)


def _pid_alive(pid):
    """True when pid exists and is not a zombie (this machine's PID 1 does
    not reap orphans, so kill -0 alone is not enough)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rindex(')') + 2:].split()[0]
    return state not in ('Z', 'X')


def stop_process(proc, timeout=3.0, sig=signal.SIGTERM):
    """Stops a subprocess.Popen we started: sig, wait, then SIGKILL.  Reaps
    it.  Returns its exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _wait_for(cond, timeout, step=0.02):
    deadline = time.time() + timeout
    while True:
        if cond():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(step)


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGTERM when the process that started us dies, even by
    SIGKILL (a test timeout), so no daemon of a run outlives it."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _raise_rlimit(which, want):
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(which, (want, hard))


def _links_in_netns():
    out = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True,
                         text=True).stdout
    return [l.split(':')[1].strip().split('@')[0]
            for l in out.splitlines() if ':' in l]


# --------------------------------------------------------------------------
# The private Open vSwitch.

class PrivateOVS(object):
    """ovsdb-server + ovs-vswitchd in their own run directory, userspace
    datapath only, children of this process, stopped by PID.

    kind: 'patched' (SF_OVS_BLD, default) or 'stock' (Debian's binaries)."""

    def __init__(self, rundir=None, kind='patched'):
        self.kind = kind
        if kind == 'stock':
            self.vswitchd = '/usr/sbin/ovs-vswitchd'
            self.dbserver = '/usr/sbin/ovsdb-server'
            self.dbtool = '/usr/bin/ovsdb-tool'
            self.bindir = '/usr/bin'
            self.schema = '/usr/share/openvswitch/vswitch.ovsschema'
        else:
            self.vswitchd = os.path.join(SF_OVS_BLD, 'vswitchd',
                                         'ovs-vswitchd')
            self.dbserver = os.path.join(SF_OVS_BLD, 'ovsdb', 'ovsdb-server')
            self.dbtool = os.path.join(SF_OVS_BLD, 'ovsdb', 'ovsdb-tool')
            self.bindir = os.path.join(SF_OVS_BLD, 'utilities')
            self.schema = os.path.join(SF_OVS_SRC, 'vswitchd',
                                       'vswitch.ovsschema')
        self.rundir = rundir
        self.own_rundir = rundir is None
        self.db_proc = None
        self.vs_proc = None
        self.saved_env = None
        self.killed_hard = False

    # -- paths
    def path(self, *parts):
        return os.path.join(self.rundir, *parts)

    @property
    def db_sock(self):
        return self.path('db.sock')

    @property
    def vswitchd_ctl(self):
        return self.path('ovs-vswitchd.%d.ctl' % self.vs_proc.pid)

    @property
    def pids(self):
        return [p.pid for p in (self.db_proc, self.vs_proc) if p]

    def _env(self):
        env = dict(os.environ)
        env.update(OVS_RUNDIR=self.rundir, OVS_DBDIR=self.rundir,
                   OVS_LOGDIR=self.rundir, OVS_SYSCONFDIR=self.rundir)
        return env

    def tool(self, name):
        return os.path.join(self.bindir, name)

    def vsctl(self, *args, check=True):
        """ovs-vsctl against this instance; returns stdout."""
        cmd = [self.tool('ovs-vsctl'), '--timeout=30',
               '--db=unix:' + self.db_sock] + [str(a) for a in args]
        r = subprocess.run(cmd, env=self._env(), capture_output=True,
                           text=True)
        if check and r.returncode:
            raise RuntimeError('%s: %s' % (' '.join(cmd), r.stderr.strip()))
        return r.stdout

    def ofctl(self, *args, check=True):
        cmd = [self.tool('ovs-ofctl')] + [str(a) for a in args]
        r = subprocess.run(cmd, env=self._env(), capture_output=True,
                           text=True)
        if check and r.returncode:
            raise RuntimeError('%s: %s' % (' '.join(cmd), r.stderr.strip()))
        return r.stdout

    def appctl(self, *args, check=True, timeout=10):
        cmd = [self.tool('ovs-appctl'), '-t', self.vswitchd_ctl] + [
            str(a) for a in args]
        r = subprocess.run(cmd, env=self._env(), capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode:
            raise RuntimeError('%s: %s' % (' '.join(cmd), r.stderr.strip()))
        return r.stdout

    # -- life cycle
    def start(self):
        for f in (self.vswitchd, self.dbserver, self.dbtool, self.schema,
                  self.tool('ovs-vsctl')):
            if not os.path.exists(f):
                raise RuntimeError('PrivateOVS: %s missing (build OVS with '
                                   '`make` first, or kind="stock")' % f)
        if 'ovs-netdev' in _links_in_netns():
            raise RuntimeError(
                'PrivateOVS: another userspace ovs-vswitchd owns "ovs-netdev" '
                'in this network namespace; run isolated (scaffold_net('
                'isolate=True)) or in another namespace')
        if self.rundir is None:
            self.rundir = tempfile.mkdtemp(prefix='sf-mn-', dir='/tmp')
        os.makedirs(self.rundir, exist_ok=True)
        env = self._env()
        subprocess.run([self.dbtool, 'create', self.path('conf.db'),
                        self.schema], env=env, check=True,
                       capture_output=True)
        # Children (not --detach): we reap them, no zombies under PID 1.
        # Own session: a Ctrl-C in the terminal does not kill them before
        # the teardown has removed the bridges.
        with open(self.path('ovsdb-server.out'), 'wb') as out:
            self.db_proc = subprocess.Popen(
                [self.dbserver, self.path('conf.db'),
                 '--remote=punix:' + self.db_sock,
                 '--pidfile=' + self.path('ovsdb-server.pid'),
                 '--unixctl=' + self.path('ovsdb-server.ctl'),
                 '--log-file=' + self.path('ovsdb-server.log'),
                 '-vconsole:off', '--no-chdir'],
                env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        if not _wait_for(lambda: os.path.exists(self.db_sock) or
                         self.db_proc.poll() is not None, 10):
            raise RuntimeError('PrivateOVS: ovsdb-server did not start')
        if self.db_proc.poll() is not None:
            raise RuntimeError('PrivateOVS: ovsdb-server exited %s (see %s)'
                               % (self.db_proc.returncode,
                                  self.path('ovsdb-server.log')))
        self.vsctl('--no-wait', 'init')
        _raise_rlimit(resource.RLIMIT_NOFILE, 65536)   # ~90 + 1 per port
        with open(self.path('ovs-vswitchd.out'), 'wb') as out:
            self.vs_proc = subprocess.Popen(
                [self.vswitchd, 'unix:' + self.db_sock,
                 '--pidfile=' + self.path('ovs-vswitchd.pid'),
                 '--log-file=' + self.path('ovs-vswitchd.log'),
                 '-vconsole:off', '--no-chdir'],
                env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        if not _wait_for(lambda: os.path.exists(self.vswitchd_ctl) or
                         self.vs_proc.poll() is not None, 15):
            raise RuntimeError('PrivateOVS: ovs-vswitchd did not start')
        if self.vs_proc.poll() is not None:
            raise RuntimeError('PrivateOVS: ovs-vswitchd exited %s (see %s)'
                               % (self.vs_proc.returncode,
                                  self.path('ovs-vswitchd.log')))
        self._write_wrappers()
        return self

    def _write_wrappers(self):
        bindir = self.path('bin')
        os.makedirs(bindir, exist_ok=True)
        env = 'OVS_RUNDIR=%s OVS_DBDIR=%s OVS_LOGDIR=%s' % ((self.rundir,) * 3)
        wrappers = {
            # Mininet's own -t/--timeout options come later and win.
            'ovs-vsctl': 'exec env %s %s --db=unix:%s --timeout=30 "$@"' % (
                env, self.tool('ovs-vsctl'), self.db_sock),
            'ovs-ofctl': 'exec env %s %s "$@"' % (env,
                                                  self.tool('ovs-ofctl')),
            'ovs-appctl': 'exec env %s %s "$@"' % (env,
                                                   self.tool('ovs-appctl')),
        }
        for name, body in wrappers.items():
            p = os.path.join(bindir, name)
            with open(p, 'w') as f:
                f.write('#!/bin/sh\n# SCAFFOLD private OVS in %s\n%s\n'
                        % (self.rundir, body))
            os.chmod(p, 0o755)

    def activate(self):
        """Points ovs-* commands run by this process and its children (the
        Mininet node shells created from now on) at this instance."""
        if self.saved_env is not None:
            return
        keys = ('PATH', 'OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR')
        self.saved_env = {k: os.environ.get(k) for k in keys}
        # build/bin too: `h1 sfcat 7000`, `h2 sf-iperf -s` in the CLI.
        os.environ['PATH'] = os.pathsep.join(
            [self.path('bin'), self.bindir, SF_BIN,
             os.environ.get('PATH', '')])
        for k in keys[1:]:
            os.environ[k] = self.rundir

    def deactivate(self):
        if self.saved_env is None:
            return
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.saved_env = None

    def stop(self, remove_dir=True):
        """Graceful exit (removes datapath ports and the ovs-netdev tap),
        then by PID.  Idempotent."""
        self.deactivate()
        if self.vs_proc is not None and self.vs_proc.poll() is None:
            try:
                self.appctl('exit', '--cleanup', timeout=5)
            except Exception:                      # pylint: disable=broad-except
                pass
            try:
                self.vs_proc.wait(5)
            except subprocess.TimeoutExpired:
                self.killed_hard = True
                stop_process(self.vs_proc, 2)
        stop_process(self.db_proc, 3)
        if remove_dir and self.own_rundir and self.rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)


# --------------------------------------------------------------------------
# One run: the run directory and its private OVS.  scaffold_net() makes one
# per `with`; under `mn --custom` one is made lazily (by the switch classes'
# setup()) and stopped at exit.

_RUN = None


class ScaffoldRun(object):
    def __init__(self, kind='patched', keep=False):
        self.rundir = tempfile.mkdtemp(prefix='sf-mn-', dir='/tmp')
        self.ovs = PrivateOVS(rundir=os.path.join(self.rundir, 'ovs'),
                              kind=kind)
        self.keep = keep
        self.roles = {}          # dpid (hex string) -> 'label' | 'object'
        self.controllers = []    # ScaffoldControllers of this run
        self.closed = False

    def start(self):
        self.ovs.start()
        self.ovs.activate()
        return self

    def close(self, keep=None):
        if self.closed:
            return
        self.closed = True
        self.ovs.stop(remove_dir=False)
        if not (self.keep if keep is None else keep):
            shutil.rmtree(self.rundir, ignore_errors=True)


def current_run(create=True):
    """The active run; under `mn --custom` the first call starts it."""
    global _RUN                                    # pylint: disable=global-statement
    if (_RUN is None or _RUN.closed) and create:
        kind = os.environ.get('SF_MN_OVS', 'patched')
        run = ScaffoldRun(kind=kind)
        try:
            run.start()
        except BaseException:
            run.close(keep=False)
            raise
        _RUN = run
        atexit.register(_RUN.close)
        try:                                       # mn's cleanup path
            from mininet.clean import addCleanupCallback
            addCleanupCallback(_RUN.close)
        except ImportError:
            pass
        info('*** SCAFFOLD private OVS in %s\n' % _RUN.ovs.rundir)
    return _RUN


# --------------------------------------------------------------------------
# Switches.

class _ScaffoldSwitch(OVSSwitch):
    role = None
    default_protocols = None

    def __init__(self, name, **params):
        params.setdefault('datapath', 'user')
        params.setdefault('failMode', 'secure')
        params.setdefault('inband', False)
        params.setdefault('protocols', self.default_protocols)
        # mn gives every switch a ptcp:6654+ listener; ovs-ofctl reaches the
        # bridge through RUNDIR/BRIDGE.mgmt anyway, and fixed TCP ports
        # would collide between runs in one namespace.
        params['listenPort'] = None
        if len(name) + len('-eth99') > IFNAMSIZ:
            warn('*** %s: name too long for interface names\n' % name)
        # Before the node's shell starts (it inherits PATH and OVS_*): never
        # a switch of ours without the private OVS behind it.
        run = current_run()
        OVSSwitch.__init__(self, name, **params)
        run.roles[self.dpid] = self.role

    @classmethod
    def setup(cls):
        current_run()            # private OVS first: setup runs ovs-vsctl
        OVSSwitch.setup()

    def connected(self):
        """Mininet's OVSSwitch waits forever for a secure switch that has
        no controller (mn --controller none, --test pingall): such a switch
        is as connected as it will ever be."""
        if not self.controllerUUIDs():
            return True
        return OVSSwitch.connected(self)


class LabelRouter(_ScaffoldSwitch):
    """Label router: stock OVS features, OpenFlow 1.3."""
    role = 'label'
    default_protocols = 'OpenFlow13'


class ObjectRouter(_ScaffoldSwitch):
    """Object router: the patched OVS, OpenFlow 1.0 (+NXM) and 1.5 so that
    select groups can carry selection_method=round_robin."""
    role = 'object'
    default_protocols = 'OpenFlow10,OpenFlow15'


# --------------------------------------------------------------------------
# Hosts.

class ScaffoldHost(Host):
    """A host with tx checksum offload and IPv6 off on its interfaces, and
    its own scaffold-hostagent (started after configuration, stopped by PID
    in terminate()).

    Parameters (also settable per host from the topology, or for every
    host with scaffold_net(host_params=...)):
      agent: True (default: start it when build/bin/scaffold-hostagent
             exists), False, or a path to another agent binary.
      agent_mode: 'auto' (default), 'controller' or 'static'.  'controller':
             the agent joins the domain controller in band and gets its
             (ssID, hostID) from it (no --flowid-prefix); 'static': flowID
             prefix SS.N (N = the number in the host's name) and the label
             router's port MAC as gateway, no controller.  'auto' is
             'controller' when a ScaffoldController belongs to the run
             (scaffold_net(controller=True), mn --controller scaffold).
      static_objects: ['OBJ=FLOWID', ...] the agent's --static-object
             table (resolution in the agent instead of the object router;
             round robin, a resync goes to the next entry).
      agent_args: extra arguments appended to agent_command().
      ss: domain id for the static flowID prefix (1).

    Helpers: sf_run(argv) / sf_popen(argv, log) run a program in the
    host's namespace (nsenter, so the PID is the program's own; it dies
    with this process); agent_status() is `scaffold-hostagent --status`;
    join_info() parses it; wait_joined() polls it; restart_agent()."""

    agent_binary = os.path.join(SF_BIN, 'scaffold-hostagent')

    def __init__(self, name, agent=True, agent_args=(), ss=1,
                 agent_mode='auto', static_objects=(), **params):
        self.agent = agent
        self.agent_args = list(agent_args)
        self.agent_mode = agent_mode
        self.static_objects = list(static_objects)
        self.ss = ss
        self.agent_proc = None
        self.agent_log = None
        self.procs = []          # what sf_popen started, stopped in terminate
        self.sf_join = {}        # join_info() once scaffold_net saw it join
        Host.__init__(self, name, **params)
        # Interfaces created from now on inherit "default"; "all" covers lo.
        # (Only in the host's own namespace, never in the caller's.)
        if self.inNamespace:
            self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1 '
                     'net.ipv6.conf.default.disable_ipv6=1')

    def config(self, **params):
        r = Host.config(self, **params)
        for intf in self.intfList():
            if intf.name == 'lo':
                continue
            self.cmd('ethtool -K %s tx off >/dev/null 2>&1' % intf.name)
            self.cmd('sysctl -qw net.ipv6.conf.%s.disable_ipv6=1'
                     % intf.name.replace('.', '/'))
        if self.agent:
            self.start_agent()
        return r

    # -- the host agent
    def agent_path(self):
        if isinstance(self.agent, str):
            return self.agent
        return self.agent_binary

    def host_number(self):
        m = re.search(r'(\d+)$', self.name)
        return int(m.group(1)) if m else 1

    def gateway_mac(self):
        """MAC of the switch port this host's default interface plugs
        into."""
        intf = self.defaultIntf()
        link = getattr(intf, 'link', None)
        if not link:
            return None
        peer = link.intf2 if link.intf1 is intf else link.intf1
        return peer.MAC()

    def controller_mode(self):
        """True when the agent joins the controller (see agent_mode)."""
        if self.agent_mode == 'auto':
            run = current_run(create=False)
            return bool(run and run.controllers)
        return self.agent_mode == 'controller'

    def agent_command(self):
        """The agent's argv.  Controller mode: only the interface (the
        agent joins in band; what tests/system/controller_hostagent.sh
        does).  Static mode: flowID prefix SS.HOST (HOST = the number in
        the host's name) and the label router's port MAC as gateway."""
        intf = self.defaultIntf()
        cmd = [self.agent_path(), '--iface', intf.name]
        if not self.controller_mode():
            cmd += ['--flowid-prefix', '%d.%d' % (self.ss,
                                                  self.host_number())]
            gw = self.gateway_mac()
            if gw:
                cmd += ['--gateway-mac', gw]
        for entry in self.static_objects:
            cmd += ['--static-object', entry]
        return cmd + self.agent_args

    def agent_log_path(self):
        run = current_run(create=False)
        d = run.rundir if run else tempfile.gettempdir()
        return os.path.join(d, 'hostagent-%s.log' % self.name)

    def _nsenter(self):
        return ['nsenter', '--net=/proc/%d/ns/net' % self.pid, '--']

    def start_agent(self):
        """Starts the agent in this host's network namespace (nsenter, so
        the PID is the agent's own).  No-op without the binary."""
        if self.agent_proc is not None and self.agent_proc.poll() is None:
            return self.agent_proc
        path = self.agent_path()
        if not (path and os.access(path, os.X_OK)):
            return None
        self.agent_log = self.agent_log_path()
        with open(self.agent_log, 'ab') as log:
            self.agent_proc = subprocess.Popen(
                self._nsenter() + self.agent_command(),
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        return self.agent_proc

    def agent_running(self):
        return self.agent_proc is not None and self.agent_proc.poll() is None

    def stop_agent(self):
        proc, self.agent_proc = self.agent_proc, None
        if proc is None:
            return None
        if proc.poll() is not None and proc.returncode not in (0, -15):
            warn('*** %s: hostagent had exited with %s (log %s)\n'
                 % (self.name, proc.returncode, self.agent_log))
        return stop_process(proc)

    def restart_agent(self, static_objects=None, wait=10):
        """Stops and starts the agent (e.g. with a new static_objects
        table); in controller mode waits until it has joined again and
        returns join_info()."""
        if static_objects is not None:
            self.static_objects = list(static_objects)
        self.stop_agent()
        self.start_agent()
        if wait and self.controller_mode():
            return self.wait_joined(wait)
        if wait:
            _wait_for(lambda: self.agent_status() is not None, wait)
        return self.join_info()

    def agent_status(self):
        """`scaffold-hostagent --status` in this host, or None."""
        if not self.agent_running():
            return None
        try:
            r = self.sf_run([self.agent_path(), '--status'], timeout=3)
        except subprocess.TimeoutExpired:
            return None
        return r.stdout if r.returncode == 0 else None

    def join_info(self, status=None):
        """From the agent's status: {'prefix': '1.2', 'hostid': 2,
        'mode': 'controller', 'state': 'JOINED', 'joins': 1, 'moves': 0,
        'link': 'up'}; {} when the agent does not answer."""
        st = self.agent_status() if status is None else status
        if not st:
            return {}
        res = {}
        m = re.search(r'prefix=(\d+)\.(\d+)\.\d+ mode=(\S+) link=(\S+)', st)
        if m:
            res.update(prefix='%s.%s' % (m.group(1), m.group(2)),
                       ssid=int(m.group(1)), hostid=int(m.group(2)),
                       mode=m.group(3), link=m.group(4))
        m = re.search(r'join state=(\S+)', st)
        if m:
            res['state'] = m.group(1)
        for k in ('joins', 'moves'):
            m = re.search(r'\b%s=(\d+)' % k, st)
            if m:
                res[k] = int(m.group(1))
        return res

    def joined(self):
        info_ = self.join_info()
        return info_.get('state') == 'JOINED' and info_.get('hostid', 0) > 0

    def wait_joined(self, timeout=15, cond=None):
        """Polls the agent until it is JOINED (and cond(join_info()) holds
        when given); returns join_info().  RuntimeError on timeout."""
        deadline = time.time() + timeout
        while True:
            ji = self.join_info()
            if ji.get('state') == 'JOINED' and ji.get('hostid', 0) > 0 \
                    and (cond is None or cond(ji)):
                return ji
            if time.time() >= deadline:
                raise RuntimeError('%s: agent not joined within %ss (%s; '
                                   'log %s)' % (self.name, timeout, ji,
                                                self.agent_log))
            if not self.agent_running():
                raise RuntimeError('%s: agent exited (log %s)'
                                   % (self.name, self.agent_log))
            time.sleep(0.05)

    @property
    def sf_prefix(self):
        """This host's current ss.hostID ('1.2'), from its agent."""
        return self.join_info().get('prefix')

    # -- programs in the host
    def sf_run(self, argv, timeout=None, **kwargs):
        """subprocess.run(argv) in this host's network namespace; text
        output captured."""
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        if 'input' not in kwargs:
            kwargs.setdefault('stdin', subprocess.DEVNULL)
        return subprocess.run(self._nsenter() + [str(a) for a in argv],
                              timeout=timeout, **kwargs)

    def sf_popen(self, argv, log=None, **kwargs):
        """Starts argv in this host's network namespace, output to the file
        log (default: RUNDIR/NAME-PROGRAM-N.log), its own session, dying
        with this process.  Stopped by PID in terminate() (or pass it to
        stop_process() earlier).  proc.log_path is the log."""
        if log is None:
            run = current_run(create=False)
            d = run.rundir if run else tempfile.gettempdir()
            log = os.path.join(d, '%s-%s-%d.log' % (
                self.name, os.path.basename(str(argv[0])), len(self.procs)))
        with open(log, 'ab') as out:
            proc = subprocess.Popen(
                self._nsenter() + [str(a) for a in argv],
                stdin=kwargs.pop('stdin', subprocess.DEVNULL), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent, **kwargs)
        proc.log_path = log
        self.procs.append(proc)
        return proc

    def stop_procs(self):
        procs, self.procs = self.procs, []
        for p in reversed(procs):
            stop_process(p)

    def terminate(self):
        self.stop_procs()
        self.stop_agent()
        Host.terminate(self)


# --------------------------------------------------------------------------
# Controller.

def free_tcp_port(ip='127.0.0.1'):
    s = socket.socket()
    try:
        s.bind((ip, 0))
        return s.getsockname()[1]
    finally:
        s.close()


class ScaffoldController(Controller):
    """build/bin/scaffold-controller on its own port with a fresh state
    directory; started with Popen and stopped by PID.

    Parameters: port (default: a free one), state_dir (default: fresh, in
    the run directory), roles ({dpid: 'label'|'object'}; default: every
    LabelRouter/ObjectRouter of this run), extra_args, log_level."""

    binary = os.path.join(SF_BIN, 'scaffold-controller')
    # The scaffold-hostagent default of 60 s leases is kept; --lease etc.
    # go in extra_args.

    def __init__(self, name, port=None, state_dir=None, roles=None,
                 extra_args=(), log_level='info', **params):
        self.state_dir = state_dir
        self.roles = roles
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.proc = None
        self.log_path = None
        params.setdefault('ip', '127.0.0.1')
        Controller.__init__(self, name, command=self.binary,
                            port=port or free_tcp_port(), **params)
        # Hosts built after this (Mininet adds controllers first) see it:
        # their agents join it (ScaffoldHost agent_mode='auto').
        current_run().controllers.append(self)

    def sfctl(self, *args, check=False):
        """Runs build/bin/sfctl against this controller (its state
        directory's admin socket); returns the CompletedProcess (text)."""
        if self.state_dir is None:
            r = subprocess.CompletedProcess(['sfctl'] + list(args), 1, '',
                                            'sfctl: controller %s not '
                                            'started\n' % self.name)
            if check:
                raise RuntimeError(r.stderr.strip())
            return r
        r = subprocess.run([SFCTL] + ['--state-dir', self.state_dir] +
                           [str(a) for a in args], capture_output=True,
                           text=True, timeout=10)
        if check and r.returncode:
            raise RuntimeError('sfctl %s: %s' % (' '.join(map(str, args)),
                                                 r.stderr.strip()))
        return r

    def sfctl_json(self, *args):
        """sfctl --json ARGS, parsed (None on error)."""
        r = self.sfctl('--json', *args)
        if r.returncode:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return [json.loads(l) for l in r.stdout.splitlines()
                    if l.strip()]

    def checkListening(self):
        s = socket.socket()
        s.settimeout(0.5)
        try:
            if s.connect_ex((self.ip, self.port)) == 0:
                raise RuntimeError('something already listens on %s:%d'
                                   % (self.ip, self.port))
        finally:
            s.close()

    def controller_command(self):
        """The controller's argv (override when its CLI changes)."""
        cmd = [self.command, '--listen', 'tcp:%s:%d' % (self.ip, self.port),
               '--state-dir', self.state_dir,
               '--log-level', self.log_level]
        roles = self.roles
        if roles is None:
            run = current_run(create=False)
            roles = run.roles if run else {}
        for dpid, role in sorted(roles.items()):
            if role:
                cmd += ['--role', '%s=%s' % (dpid, role)]
        return cmd + self.extra_args

    def start(self):
        if not os.access(self.command, os.X_OK):
            raise RuntimeError('%s not built' % self.command)
        run = current_run(create=False)
        base = run.rundir if run else tempfile.mkdtemp(prefix='sf-mn-ctl-')
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix='ctl-%s-' % self.name,
                                              dir=base)
        self.log_path = os.path.join(base, 'controller-%s.log' % self.name)
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                self.controller_command(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        self.execed = False

    def stop(self, *args, **kwargs):
        stop_process(self.proc)
        Node.stop(self, *args, **kwargs)    # not Controller.stop: kill %cmd


# --------------------------------------------------------------------------
# Topologies.

class _ScaffoldTopo(Topo):
    """Common parts: per-run names, explicit dpids, one object router.

    Parameters every topology takes (also from `mn --topo NAME,k=v`):
      rid: run id in switch names (default: a fresh one; '' = bare names)
      failmode: fail_mode of the label routers (default: class, secure)
      ofailmode: fail_mode of the object router (default: class, secure;
          keep it secure without a controller: linked to several label
          routers it would close a loop)
      object_links: 'all' (default) or 'first' label router
      hostopts: dict of extra ScaffoldHost parameters for every host
    Switch dpids: label routers 1, 2, ... in order; object router 0x100."""

    def _setup(self, rid=None, failmode=None, object_links='all',
               hostopts=None, ofailmode=None):
        self.rid = new_run_id() if rid is None else rid
        self.failmode = failmode
        self.ofailmode = ofailmode
        self.object_links = object_links
        self.hostopts = dict(hostopts or {})
        self.routers = []        # label router names, in order
        self.object_router = None
        self.host_router = {}    # host name -> label router name
        self._nhosts = 0

    def _name(self, base):
        name = '%s_%s' % (base, self.rid) if self.rid else base
        if len(name) + len('-eth99') > IFNAMSIZ:
            raise ValueError('switch name %s too long for interface names'
                             % name)
        return name

    def _switch_opts(self, cls, dpid):
        opts = dict(cls=cls, dpid='%016x' % dpid)
        mode = self.ofailmode if cls is ObjectRouter else self.failmode
        if mode:
            opts['failMode'] = mode
        return opts

    def add_label_router(self, base):
        name = self.addSwitch(self._name(base), **self._switch_opts(
            LabelRouter, len(self.routers) + 1))
        self.routers.append(name)
        return name

    def add_object_router(self, base='O'):
        assert self.object_router is None, 'exactly one object router'
        self.object_router = self.addSwitch(
            self._name(base), **self._switch_opts(ObjectRouter, 0x100))
        return self.object_router

    def add_host(self, router):
        self._nhosts += 1
        name = self.addHost('h%d' % self._nhosts, cls=ScaffoldHost,
                            **self.hostopts)
        self.addLink(name, router)
        self.host_router[name] = router
        return name

    def link_object_router(self):
        targets = self.routers if self.object_links == 'all' else \
            self.routers[:1]
        for r in targets:
            self.addLink(r, self.object_router)


class ScaffoldTopo(_ScaffoldTopo):
    """The demo testbed: label routers A and B joined to each other and
    each to the object router O; h1 and h3 on A, h2 on B.

    Ports: A: 1=h1 2=h3 3=B 4=O; B: 1=h2 2=A 3=O; O: 1=A 2=B."""

    def build(self, rid=None, failmode=None, ofailmode=None, hostopts=None):
        self._setup(rid, failmode, 'all', hostopts, ofailmode)
        self.A = self.add_label_router('A')
        self.B = self.add_label_router('B')
        self.O = self.add_object_router('O')
        hosts = {}
        for i, r in ((1, self.A), (3, self.A), (2, self.B)):
            hosts[i] = self.addHost('h%d' % i, cls=ScaffoldHost,
                                    **self.hostopts)
            self.addLink(hosts[i], r)
            self.host_router[hosts[i]] = r
        self.addLink(self.A, self.B)
        self.addLink(self.A, self.O)
        self.addLink(self.B, self.O)


class ScaffoldLineTopo(_ScaffoldTopo):
    """r1 - r2 - ... - rN, hosts_per_router hosts on each (h1.. numbered
    router by router), one object router O."""

    ring = False

    def build(self, n_routers=2, hosts_per_router=1, rid=None,
              failmode=None, ofailmode=None, object_links='all',
              hostopts=None):
        n_routers, hosts_per_router = int(n_routers), int(hosts_per_router)
        self._setup(rid, failmode, object_links, hostopts, ofailmode)
        for i in range(1, n_routers + 1):
            self.add_label_router('r%d' % i)
        for r in self.routers:
            for _ in range(hosts_per_router):
                self.add_host(r)
        for a, b in zip(self.routers, self.routers[1:]):
            self.addLink(a, b)
        if self.ring and n_routers >= 3:
            self.addLink(self.routers[-1], self.routers[0])
        self.add_object_router()
        self.link_object_router()


class ScaffoldRingTopo(ScaffoldLineTopo):
    """A line closed into a ring (n_routers >= 3; fewer is a line).  The
    ring is a loop: with fail_mode standalone it needs STP or explicit
    flows; the controller handles it with its own routes."""
    ring = True


class ScaffoldTreeTopo(_ScaffoldTopo):
    """Label routers in a tree of the given depth (depth 1 = one router)
    and fanout, `hosts` hosts on EVERY label router, one object router."""

    def build(self, depth=2, fanout=2, hosts=1, rid=None, failmode=None,
              ofailmode=None, object_links='all', hostopts=None):
        depth, fanout, hosts = int(depth), int(fanout), int(hosts)
        self._setup(rid, failmode, object_links, hostopts, ofailmode)
        root = self.add_label_router('r1')
        level = [root]
        for _ in range(depth - 1):
            nxt = []
            for parent in level:
                for _ in range(fanout):
                    child = self.add_label_router('r%d' %
                                                  (len(self.routers) + 1))
                    self.addLink(parent, child)
                    nxt.append(child)
            level = nxt
        for r in self.routers:
            for _ in range(hosts):
                self.add_host(r)
        self.add_object_router()
        self.link_object_router()


# --------------------------------------------------------------------------
# Moving a host (mobility experiments).

def _switch_side(host, intf=None):
    intf = intf or host.defaultIntf()
    link = getattr(intf, 'link', None)
    if link is None:
        raise ValueError('%s: %s has no link' % (host.name, intf))
    return intf, (link.intf2 if link.intf1 is intf else link.intf1)


def link_down(host, intf=None):
    """Unplugs host's cable at the switch: the switch-side end of the veth
    goes down, so the host's interface loses carrier (no IFF_RUNNING; its
    agent's rtnetlink monitor sees the link go down).  Returns the time."""
    _intf, peer = _switch_side(host, intf)
    peer.node.cmd('ip link set dev %s down' % peer.name)
    return time.time()


def link_up(host, intf=None):
    _intf, peer = _switch_side(host, intf)
    peer.node.cmd('ip link set dev %s up' % peer.name)
    return time.time()


def move_host(net, host, new_switch, down_s=0.0, intf=None):
    """Moves host's link from its label router to new_switch, the way a
    cable is moved: link down (the host's interface loses carrier), the
    switch-side end of the veth leaves the old bridge, is renamed
    NEWSWITCH-ethN and joins new_switch as port N, link up.  The host keeps
    its interface (name, ifindex, MAC), so its agent, which watches that
    interface, sees down then up, re-joins, and (controller mode) gets a new
    hostID from the new label router.  Mininet's bookkeeping (ports,
    interface names, the Link) follows.  down_s: how long the cable stays
    unplugged.  Returns {'down': t, 'up': t, 'port': N, 'old': name,
    'new': name} (times from time.time())."""
    if isinstance(host, str):
        host = net.get(host)
    if isinstance(new_switch, str):
        new_switch = net.get(new_switch)
    intf, peer = _switch_side(host, intf)
    old_switch = peer.node
    if old_switch is new_switch:
        raise ValueError('%s is already on %s' % (host.name, new_switch))
    old_name, old_port = peer.name, old_switch.ports[peer]
    port = new_switch.newPort()
    new_name = '%s-eth%d' % (new_switch.name, port)
    if len(new_name) > IFNAMSIZ:
        raise ValueError('interface name %s too long' % new_name)
    t_down = link_down(host, intf)
    # One ovs-vsctl transaction would leave the old name in the database;
    # the rename happens between del-port and add-port.
    old_switch.vsctl('del-port', old_switch.name, old_name)
    old_switch.cmd('ip link set dev %s name %s' % (old_name, new_name))
    # Mininet bookkeeping: the interface now belongs to new_switch.
    del old_switch.intfs[old_port]
    del old_switch.ports[peer]
    old_switch.nameToIntf.pop(old_name, None)
    peer.name = new_name
    peer.node = new_switch
    new_switch.intfs[port] = peer
    new_switch.ports[peer] = port
    new_switch.nameToIntf[new_name] = peer
    new_switch.vsctl('add-port', new_switch.name, new_name, '--', 'set',
                     'Interface', new_name, 'ofport_request=%d' % port)
    if down_s > 0:
        remaining = down_s - (time.time() - t_down)
        if remaining > 0:
            time.sleep(remaining)
    t_up = link_up(host, intf)
    return {'down': t_down, 'up': t_up, 'port': port, 'old': old_name,
            'new': new_name, 'from': old_switch.name,
            'to': new_switch.name}


# --------------------------------------------------------------------------
# SCAFFOLD's pingall: every host reaches an object served by every other.

def sf_pingall(net, obj_base=7000, wait=15, timeout=10):
    """Every ScaffoldHost with a running agent serves objectID obj_base+i
    (sfcat --listen --echo); every other host connects to it by objectID
    (sfcat OBJ: the network resolves it) and must get its line echoed by
    that host.  Waits for every agent in controller mode to be JOINED, and
    for a ScaffoldController to list each object's instance, first.
    Prints a pingall-like matrix; returns (percent failed, results) with
    results = [(client, server, ok, detail)].  Also `mn --custom
    mininet/scaffold.py --controller scaffold --test sfpingall`."""
    hosts = [h for h in net.hosts if isinstance(h, ScaffoldHost) and
             h.agent_running()]
    if len(hosts) < 2:
        raise RuntimeError('sf_pingall: fewer than 2 hosts with an agent')
    for h in hosts:
        if h.controller_mode():
            h.wait_joined(wait)
    prefix = {h: h.join_info().get('prefix') for h in hosts}
    ctls = [c for c in net.controllers if isinstance(c, ScaffoldController)]
    servers = {}
    try:
        for i, h in enumerate(hosts):
            servers[h] = (obj_base + i, h.sf_popen(
                [SFCAT, '--listen', '--echo', obj_base + i]))
        for h, (obj, p) in servers.items():
            def listening(p=p):
                with open(p.log_path, errors='replace') as f:
                    return 'listening' in f.read()
            if not _wait_for(listening, wait):
                raise RuntimeError('%s: sfcat --listen %d did not start'
                                   % (h.name, obj))
            if ctls and h.controller_mode():
                # The object router resolves it once the bind is in.
                _wait_for(lambda obj=obj: prefix[h] in ctls[0].sfctl(
                    'instances', obj).stdout, 3)
        output('*** SCAFFOLD ping: every host connects to an object '
               'served by every other host\n')
        results = []
        for c in hosts:
            output('%s -> ' % c.name)
            for s_ in hosts:
                if s_ is c:
                    continue
                obj = servers[s_][0]
                line = 'sfping %s to %s' % (c.name, s_.name)
                try:
                    r = c.sf_run([SFCAT, obj, '--wait-ms', 1000],
                                 input=line + '\n', timeout=timeout)
                    out = r.stdout + r.stderr
                except subprocess.TimeoutExpired:
                    out = 'timed out'
                m = re.search(r'^connected \S+ > (\d+\.\d+)\.', out, re.M)
                ok = bool(m and m.group(1) == prefix[s_] and
                          ('recv: echo:' + line) in out)
                results.append((c.name, s_.name, ok, out.strip()))
                output('%s ' % (s_.name if ok else 'X'))
            output('\n')
    finally:
        for h, (obj, p) in servers.items():
            stop_process(p)
            if p in h.procs:
                h.procs.remove(p)
    bad = sum(1 for r in results if not r[2])
    pct = 100.0 * bad / len(results)
    output('*** Results: %d%% dropped (%d/%d reached)\n'
           % (pct, len(results) - bad, len(results)))
    return pct, results


# --------------------------------------------------------------------------
# Network namespace isolation and the context manager.

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class _Isolation(object):
    """Moves this process (its main thread) into a fresh network namespace
    and back.  Children started meanwhile stay in it; when the last of them
    is gone the namespace and every interface in it disappear."""

    def __init__(self):
        self.orig_fd = None
        self.inode = None

    def enter(self):
        self.orig_fd = os.open('/proc/self/ns/net', os.O_RDONLY)
        if _libc.unshare(CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            os.close(self.orig_fd)
            self.orig_fd = None
            raise OSError(e, 'unshare(CLONE_NEWNET): ' + os.strerror(e))
        self.inode = os.stat('/proc/self/ns/net').st_ino
        subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=False)

    def leave(self):
        if self.orig_fd is None:
            return
        if _libc.setns(self.orig_fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, 'setns: ' + os.strerror(e))
        os.close(self.orig_fd)
        self.orig_fd = None


def netns_processes(inode):
    """PIDs (not zombies) whose network namespace has this inode."""
    pids = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            if os.stat('/proc/%s/ns/net' % d).st_ino == inode and \
                    _pid_alive(int(d)):
                pids.append(int(d))
        except OSError:
            pass
    return pids


def _dump_logs(rundir, lines=15):
    for dirpath, _dirs, files in os.walk(rundir):
        for f in sorted(files):
            if f.endswith('.log') or f.endswith('.out'):
                path = os.path.join(dirpath, f)
                try:
                    with open(path, errors='replace') as fh:
                        tail = fh.readlines()[-lines:]
                except OSError:
                    continue
                if tail:
                    error('*** %s:\n%s' % (path, ''.join(tail)))


class _Interrupted(KeyboardInterrupt):
    pass


def _raise_interrupt(signum, _frame):
    raise _Interrupted('signal %d' % signum)


@contextlib.contextmanager
def scaffold_net(topo, controller=True, fail_mode=None, isolate=True,
                 wait=15, ovs=None, keep_dir=None, host_params=None,
                 wait_joined=None, **mnopts):
    """Builds and starts a Mininet for topo on a private OVS; yields it.

    controller: True = ScaffoldController, False/None = none, or a
        Controller class/partial.
    fail_mode: 'secure'|'standalone' for every switch, or a dict keyed by
        switch name or role ('label'|'object').  Default without a
        controller: {'label': 'standalone', 'object': 'secure'}, i.e. the
        label routers are learning switches and the object router, secure
        with no flows, drops everything.  Every topology links the object
        router to several label routers, so with it forwarding too they
        would form a loop (a broadcast storm in standalone mode).  A ring
        is a loop by itself: give it flows or stp.
    isolate: run in a private network namespace (see module doc).
    wait: seconds to wait for every switch to connect to the controller.
    ovs: 'patched' (SF_OVS_BLD, default build/ovs/build) or 'stock'
        (Debian's); default $SF_MN_OVS or 'patched'.
    keep_dir: keep the run directory (logs, databases); default: when
        $SF_MN_KEEP is set.  When the start-up or the body raised (not on
        Ctrl-C/SIGTERM), the tails of the run's logs go to stderr first.
    host_params: dict merged into every host's parameters (e.g.
        {'agent': False}, {'agent_mode': 'static'}).
    wait_joined: seconds to wait until every host whose agent is in
        controller mode reports JOINED (`scaffold-hostagent --status`,
        polled every 50 ms); default `wait`; 0 = do not wait.  A host that
        does not join is an error (RuntimeError).  Each host's join_info()
        is then in host.sf_join (prefix, hostid, ...).
    Extra keyword arguments go to Mininet().

    net.scaffold is the ScaffoldRun: net.scaffold.ovs.vsctl(...), .ofctl,
    .rundir; net.scaffold_netns is the namespace inode when isolated."""
    global _RUN                                    # pylint: disable=global-statement
    if not controller and fail_mode is None:
        fail_mode = {'label': 'standalone', 'object': 'secure'}
    if fail_mode:
        for s in topo.switches():
            ni = topo.nodeInfo(s)
            role = getattr(ni.get('cls'), 'role', None)
            mode = fail_mode.get(s, fail_mode.get(role)) \
                if isinstance(fail_mode, dict) else fail_mode
            if mode:
                ni['failMode'] = mode
    if host_params:
        for h in topo.hosts():
            topo.nodeInfo(h).update(host_params)
    if controller is True:
        controller = ScaffoldController
    old_int = signal.getsignal(signal.SIGINT)
    old_term = signal.getsignal(signal.SIGTERM)
    if old_term in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_interrupt)
    iso = _Isolation() if isolate else None
    run = net = None
    failed = True
    before = None
    try:
        if iso:
            iso.enter()
        else:
            before = set(_links_in_netns())
            rid = getattr(topo, 'rid', '')
            clash = [l for l in before if rid and '_' + rid in l]
            if clash:
                raise RuntimeError('run id %s already in use here (%s): '
                                   'make a new topology' % (rid, clash[0]))
        run = ScaffoldRun(kind=ovs or os.environ.get('SF_MN_OVS', 'patched'))
        _RUN = run
        run.start()
        if iso and not Mininet.inited:
            # Mininet.init() would raise machine-wide sysctls (and, in a
            # fresh namespace, stop at the first one that is not there with
            # a warning): the rlimits are all a run needs.
            _raise_rlimit(resource.RLIMIT_NPROC, 8192)
            _raise_rlimit(resource.RLIMIT_NOFILE, 16384)
            Mininet.inited = True
        net = Mininet(topo=None, build=False, controller=None,
                      switch=LabelRouter, host=ScaffoldHost,
                      waitConnected=False, **mnopts)
        net.scaffold = run
        net.scaffold_netns = iso.inode if iso else None
        if controller:
            net.addController('c0', controller)
        net.buildFromTopo(topo)
        net.build()
        net.start()
        if controller and wait:
            if not net.waitConnected(timeout=wait):
                raise RuntimeError('switches did not connect to the '
                                   'controller within %ss' % wait)
        if wait_joined is None:
            wait_joined = wait
        if wait_joined:
            deadline = time.time() + wait_joined
            for h in net.hosts:
                if isinstance(h, ScaffoldHost) and h.agent_running() and \
                        h.controller_mode():
                    h.sf_join = h.wait_joined(max(0.5,
                                                  deadline - time.time()))
        yield net
        failed = False
    except KeyboardInterrupt:
        failed = False           # asked to stop: not a failure to debug
        raise
    finally:
        # Finish the teardown whatever arrives meanwhile.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if net is not None:
                try:
                    for h in net.hosts:    # apps, agents first: no
                        if isinstance(h, ScaffoldHost):   # link-down noise
                            h.stop_procs()
                    for h in net.hosts:
                        if isinstance(h, ScaffoldHost):
                            h.stop_agent()
                    net.stop()
                except Exception as e:             # pylint: disable=broad-except
                    error('*** net.stop: %s\n' % e)
            if run is not None:
                keep = bool(os.environ.get('SF_MN_KEEP')) \
                    if keep_dir is None else keep_dir
                if failed:
                    _dump_logs(run.rundir)
                if keep:
                    warn('*** run directory kept: %s\n' % run.rundir)
                run.close(keep=keep)
            if before is not None and run is not None:
                # Belt and braces: interfaces carrying our names.
                rid = getattr(topo, 'rid', '')
                for l in set(_links_in_netns()) - before:
                    if (rid and '_%s' % rid in l) or \
                            (l == 'ovs-netdev' and run.ovs.killed_hard):
                        subprocess.run(['ip', 'link', 'del', l],
                                       capture_output=True)
            if iso:
                iso.leave()
        finally:
            if _RUN is run:
                _RUN = None
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)


# --------------------------------------------------------------------------
# `mn --custom` entry points.

topos = {
    'scaffold': ScaffoldTopo,
    'scaffold_line': ScaffoldLineTopo,
    'scaffold_ring': ScaffoldRingTopo,
    'scaffold_tree': ScaffoldTreeTopo,
}
switches = {'labelrouter': LabelRouter, 'objectrouter': ObjectRouter}


def _cli_sfctl(cli, line):
    """sfctl ARGS: the controller's admin client (build/bin/sfctl) against
    the run's ScaffoldController, e.g. `sfctl hosts`, `sfctl rules 1`."""
    ctls = [c for c in cli.mn.controllers if isinstance(c, ScaffoldController)]
    if not ctls:
        error('sfctl: no ScaffoldController in this network\n')
        return
    import shlex
    r = ctls[0].sfctl(*shlex.split(line))
    print(r.stdout + r.stderr, end='')


try:                                               # Mininet CLI: `sfctl ...`
    from mininet.cli import CLI as _CLI
    if not hasattr(_CLI, 'do_sfctl'):
        _CLI.do_sfctl = _cli_sfctl
except ImportError:                                # pragma: no cover
    pass
hosts = {'scaffold': ScaffoldHost}
controllers = {'scaffold': ScaffoldController}
tests = {'sfpingall': lambda net, *a, **kw: sf_pingall(net, *a, **kw)}
