"""SCAFFOLD smoke test on Mininet (issue #6): the `pingall` of SCAFFOLD.

Run as root with Debian's python:  /usr/bin/python3 mininet/tests/sf_smoke.py
(tests/system/mininet_sfsmoke.sh runs it).  Prints "ok - ..." / "not ok -
..." lines and "# ..." comments; exits 1 if a check failed.

1. demo topology with ScaffoldController, agents in controller mode (the
   default with a controller): scaffold_net() returns only when every host
   is JOINED; hostIDs distinct, the controller lists every host at its
   label router; every host reaches an object served by every other host
   (sfcat echo, resolved by the network: scaffold.sf_pingall);
2. the same on ScaffoldLineTopo(3, 1) (three label routers in a line);
3. `mn --custom mininet/scaffold.py --topo scaffold --controller scaffold
   --test sfpingall` (mn's runner loaded as a module in a child network
   namespace, as in smoke.py, so mn's machine-wide cleanup never runs);
and after each: nothing the run created remains.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from mininet.log import setLogLevel               # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import (ScaffoldTopo, ScaffoldLineTopo, scaffold_net,  # noqa
                      sf_pingall)
import smoke                                       # noqa: E402
from smoke import check, note, snapshot, record, check_gone  # noqa: E402

PY = '/usr/bin/python3'


def joined_net(what, topo, n_hosts):
    before = snapshot()
    t0 = time.time()
    with scaffold_net(topo, controller=True, wait=15) as net:
        rec = record(net)
        note('%s: up and every agent joined in %.1fs' % (what,
                                                         time.time() - t0))
        joins = {h.name: h.sf_join for h in net.hosts}
        check('%s: every host JOINED in controller mode when scaffold_net '
              'returned (%s)' % (what, ' '.join(
                  '%s=%s' % (n, j.get('prefix')) for n, j in
                  sorted(joins.items()))),
              len(joins) == n_hosts and all(
                  j.get('state') == 'JOINED' and j.get('mode') ==
                  'controller' for j in joins.values()), joins)
        ids = [j.get('hostid') for j in joins.values()]
        check('%s: hostIDs distinct and non-zero' % what,
              len(set(ids)) == len(ids) and all(ids), ids)
        cmd = net.hosts[0].agent_command()
        check('%s: agent command line has no static prefix' % what,
              '--flowid-prefix' not in cmd and '--gateway-mac' not in cmd,
              cmd)
        ctl = net.controllers[0]
        table = ctl.sfctl('hosts').stdout
        rows = 0
        for h in net.hosts:
            mac = h.defaultIntf().MAC()
            sw = h.defaultIntf().link
            peer = sw.intf2 if sw.intf1 is h.defaultIntf() else sw.intf1
            row = [l for l in table.splitlines() if l.startswith(mac)]
            if row and (' %s ' % joins[h.name]['prefix']) in row[0] and \
                    peer.node.dpid in row[0]:
                rows += 1
        check('%s: sfctl hosts lists every host at its label router '
              '(%d/%d)' % (what, rows, n_hosts), rows == n_hosts, table)
        where = net.hosts[0].cmd('command -v sfcat').strip()
        check('%s: host shells find the suite\'s programs (%s)'
              % (what, where), where == scaffold.SFCAT, where)
        pct, res = sf_pingall(net)
        bad = [(c, s, d[-200:]) for c, s, ok, d in res if not ok]
        check('%s: every host reaches an object served by every other '
              'host (%d/%d, sfcat echo)' % (what, len(res) - len(bad),
                                           len(res)),
              pct == 0 and len(res) == n_hosts * (n_hosts - 1), bad)
    check_gone(what, rec, before, rid=topo.rid)


MN_CHILD = smoke.MN_CHILD


def test_mn():
    before = snapshot()
    custom = os.path.join(os.path.dirname(HERE), 'scaffold.py')
    import tempfile
    with tempfile.NamedTemporaryFile('w', prefix='sf-mn-post-',
                                     suffix='.cli') as post:
        post.write('sfctl hosts\n')       # the CLI command scaffold.py adds
        post.flush()
        p = subprocess.run(
            ['unshare', '--net', '--', PY, '-c', MN_CHILD, '-v', 'output',
             '--custom', custom, '--topo', 'scaffold', '--controller',
             'scaffold', '--test', 'sfpingall', '--post', post.name],
            capture_output=True, text=True, timeout=80)
    out = p.stdout + p.stderr
    rows = re.findall(r'^[0-9a-f:]{17}\s+\S+\s+1\.\d+\s', out, re.M)
    check('mn CLI `sfctl hosts` (after the test) lists the 3 hosts (%d)'
          % len(rows), len(rows) == 3, out[-600:])
    check('mn --custom --controller scaffold --test sfpingall: exit 0',
          p.returncode == 0, out[-800:])
    check('mn --test sfpingall: 0% dropped (6/6 reached)',
          '*** Results: 0% dropped (6/6 reached)' in out, out[-800:])
    m = re.search(r'h1 -> (.*)', out)
    note('mn sfpingall: h1 -> %s' % (m and m.group(1).strip()))
    after = snapshot()
    check('mn --custom: no new child processes',
          after['children'] == before['children'])


if __name__ == '__main__':
    setLogLevel(os.environ.get('SF_MN_LOGLEVEL', 'warning'))
    if os.geteuid() != 0:
        print('# needs root')
        sys.exit(77)
    for b in (scaffold.ScaffoldController.binary,
              scaffold.ScaffoldHost.agent_binary, scaffold.SFCAT):
        if not os.access(b, os.X_OK):
            print('# %s not built' % b)
            sys.exit(77)
    t0 = time.time()
    for name, fn in (
            ('demo', lambda: joined_net('demo', ScaffoldTopo(), 3)),
            ('line3', lambda: joined_net('line(3,1)',
                                         ScaffoldLineTopo(3, 1), 3)),
            ('mn', test_mn)):
        t1 = time.time()
        try:
            fn()
            note('%s: %.1fs' % (name, time.time() - t1))
        except Exception as e:                     # pylint: disable=broad-except
            import traceback
            traceback.print_exc()
            smoke.not_ok('%s raised %s: %s' % (name, type(e).__name__, e))
    note('sf_smoke.py: %.1fs, %d failed' % (time.time() - t0, smoke.FAILS))
    sys.exit(1 if smoke.FAILS else 0)
