"""Round robin among 3 server instances with the real stack (issue #5:
"3 server instances get connections in round-robin order"), on Mininet.

Run as root with Debian's python:
    /usr/bin/python3 mininet/tests/roundrobin.py
(tests/system/mininet_roundrobin.sh runs it).  Prints "ok - ..." / "not ok
- ..." lines and "# ..." comments; exits 1 if a check failed, 77 if it
cannot run here.

Topology: ScaffoldLineTopo(2, 2): label routers r1 - r2, h1 and h2 on r1,
h3 and h4 on r2, the object router on both; scaffold-controller, agents in
controller mode.  h2, h3 and h4 each run `sfcat --listen --echo OBJ` on the
same objectID; the controller learns the three instances from their binds
and installs the object router's round_robin select group.  h1 opens 6
connections one after another (`sfcat OBJ`, one line each, network
resolution: the client's agent sends the SYN to the unresolved flowID).
Which server answered: the client's "connected LOCAL > PEER" line
(getpeername_sf: the server's flowID, whose ss.host is that server's
prefix), cross-checked by the server logging "accepted" and echoing the
line back ("recv: echo:...").  Checks: every connection echoed, each of the
3 servers answered exactly twice, in a repeating cycle (connection i and
i+3 reached the same server, the first three reached three different ones).
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from mininet.log import setLogLevel               # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import ScaffoldLineTopo, scaffold_net, SF_BIN  # noqa: E402

SFCAT = os.path.join(SF_BIN, 'sfcat')
OBJ = 7300
N_CONN = 6
FAILED = []


def check(text, cond, detail=''):
    if cond:
        print('ok - %s' % text, flush=True)
    else:
        FAILED.append(text)
        print('not ok - %s%s' % (text, ' (%s)' % (detail,) if detail != ''
                                 else ''), flush=True)
    return cond


def note(text):
    for line in str(text).splitlines():
        print('# %s' % line, flush=True)


def instances(ctl):
    r = ctl.sfctl('instances', OBJ)
    if r.returncode:
        return []
    return re.findall(r'^\s*%d\s+(\d+\.\d+\.\d+)' % OBJ, r.stdout, re.M)


def main():
    if os.geteuid() != 0:
        note('needs root')
        return 77
    for b in (SFCAT, scaffold.ScaffoldController.binary,
              scaffold.ScaffoldHost.agent_binary):
        if not os.access(b, os.X_OK):
            note('%s not built (make)' % b)
            return 77
    setLogLevel('warning')
    topo = ScaffoldLineTopo(2, 2)
    with scaffold_net(topo, controller=True, wait=15) as net:
        client = net.get('h1')
        servers = net.get('h2', 'h3', 'h4')
        ctl = net.controllers[0]
        prefix = {h.name: h.sf_join.get('prefix') for h in net.hosts}
        check('every host joined the controller (%s)' % ' '.join(
            '%s=%s' % kv for kv in sorted(prefix.items())),
            all(prefix.values()) and len(set(prefix.values())) == 4,
            prefix)
        by_prefix = {prefix[h.name]: h.name for h in servers}
        procs = {}
        for h in servers:
            procs[h.name] = p = h.sf_popen(
                [SFCAT, '--listen', '--echo', OBJ])
            ok = scaffold._wait_for(
                lambda p=p: 'listening' in open(p.log_path,
                                                errors='replace').read(), 5)
            check('%s: sfcat --listen --echo %d listening' % (h.name, OBJ),
                  ok)
        ok = scaffold._wait_for(lambda: len(instances(ctl)) >= 3, 5)
        inst = instances(ctl)
        check('controller lists 3 instances of %d (%s)'
              % (OBJ, ' '.join(inst)), ok and len(inst) == 3, inst)
        # Give the group modification a moment to reach the object router.
        time.sleep(0.3)
        note(net.scaffold.ovs.ofctl('-O', 'OpenFlow15', 'dump-groups',
                                    topo.object_router, check=False))

        answered = []
        for i in range(N_CONN):
            line = 'rr-%d from h1' % i
            r = client.sf_run([SFCAT, OBJ, '--wait-ms', 1000],
                              input=line + '\n', timeout=15)
            out = r.stdout + r.stderr
            m = re.search(r'^connected (\S+) > (\d+\.\d+)\.\d+', out, re.M)
            who = by_prefix.get(m.group(2)) if m else None
            echoed = ('recv: echo:' + line) in out
            note('connection %d: %s -> %s (%s), echo %s' % (
                i + 1, m.group(1) if m else '?', m.group(2) if m else '?',
                who, 'ok' if echoed else 'MISSING'))
            check('connection %d answered and echoed (server %s)'
                  % (i + 1, who), r.returncode == 0 and who and echoed,
                  out.strip()[-300:])
            answered.append(who)

        logs = {n: open(p.log_path, errors='replace').read()
                for n, p in procs.items()}
        for n, text in sorted(logs.items()):
            got = len(re.findall(r'^recv \d+: rr-\d+ from h1', text, re.M))
            note('%s log: %d accepted, %d lines received' % (
                n, len(re.findall(r'^accepted ', text, re.M)), got))
        # Server logs agree with the client's view.
        for n in ('h2', 'h3', 'h4'):
            want = answered.count(n)
            got = len(re.findall(r'^recv \d+: rr-\d+ from h1', logs[n],
                                 re.M))
            check('%s received %d of the lines (as the client saw: %d)'
                  % (n, got, want), got == want)
        note('order: %s' % ' '.join(str(a) for a in answered))
        counts = {n: answered.count(n) for n in ('h2', 'h3', 'h4')}
        check('each of the 3 servers answered exactly twice (%s)' % ', '.join(
            '%s=%d' % kv for kv in sorted(counts.items())),
            all(c == 2 for c in counts.values()), answered)
        check('round-robin order: a repeating cycle of 3 distinct servers '
              '(%s)' % ' '.join(str(a) for a in answered),
              len(answered) == 6 and len(set(answered[:3])) == 3 and
              answered[:3] == answered[3:], answered)
        for h in servers:
            h.stop_procs()
    return 1 if FAILED else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        note('interrupted')
        sys.exit(130)
