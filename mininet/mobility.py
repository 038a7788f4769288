#!/usr/bin/python3
"""Mobility experiment on the SCAFFOLD demo topology (issue #6).

An sf-tftp client on h1 (label router A) downloads a file from objectID 69
served by h2 (label router B); the server paces it (--rate) so that it lasts
~10 s.  At ~5 s h1's cable is moved from A to B (scaffold.move_host): the
switch-side end of h1's veth goes down (h1's interface loses carrier), it
leaves bridge A, joins bridge B as a new port, and comes up after --down-ms.
h1 keeps its interface, so its agent (which watches it over rtnetlink) sees
the link go down and up, joins again through B, gets a new hostID from the
controller (a move), and resyncs its connection with RSYN from the new
flowID; the server's stack updates the peer, the transfer continues on the
same descriptors.

Object resolution: the SYN is resolved by the object router (--resolve
network) or by h1's agent (--resolve static: --static-object 69=H2.0); the
default is network when the controller lists the server's instance.

Reports the outage from link-up to data flowing (and from the last data
before the cable was pulled to the first after), the new hostID and the
file checksum; writes CSVs and a PNG (see mininet/scenario.py).  Exit
status: 0 all checks passed, 1 a check failed, 2 usage, 77 cannot run here,
130 interrupted.  Run as root with Debian's python:

    /usr/bin/python3 mininet/mobility.py [--quick] [--out DIR]
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scenario                                    # noqa: E402
from scenario import Events                        # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import ScaffoldTopo, scaffold_net, SF_BIN, move_host  # noqa

NAME = 'mobility'
TFTP = os.path.join(SF_BIN, 'sf-tftp')
OBJ = 69


def options():
    p = scenario.parser(NAME, __doc__)
    p.add_argument('--resolve', choices=('network', 'static'),
                   help='object resolution of the first SYN (default: '
                   'network if the controller lists the instance)')
    p.add_argument('--rate', type=int, metavar='BYTES/S',
                   help='server pacing (default 200000; --quick 300000)')
    p.add_argument('--move-at', type=float, metavar='S',
                   help='pull the cable this long after the client started '
                   '(default 5; --quick 1.5)')
    p.add_argument('--down-ms', type=float, default=200.0,
                   help='how long the cable stays unplugged (default 200)')
    p.add_argument('--size', type=int, metavar='BYTES',
                   help='file size (default 2 x move-at seconds at the '
                   'rate)')
    p.add_argument('--blksize', type=int, default=1400,
                   help='TFTP block size (default 1400)')
    a = p.parse_args()
    q = a.quick
    a.rate = a.rate or (300000 if q else 200000)
    a.move_at = a.move_at or (1.5 if q else 5.0)
    a.size = a.size or int(a.rate * 2 * a.move_at)
    return a


def instances(ctl):
    r = ctl.sfctl('instances', OBJ)
    if r.returncode:
        return []
    return re.findall(r'^\s*%d\s+(\d+\.\d+\.\d+)' % OBJ, r.stdout, re.M)


def run(a, out, checks):
    topo = ScaffoldTopo()
    summary = dict(scenario=NAME, out=out, quick=a.quick)
    with scaffold_net(topo, controller=True, keep_dir=a.keep_run) as net:
        h1, h2, h3 = net.get('h1', 'h2', 'h3')
        A, B = net.get(topo.A, topo.B)
        ctl = net.controllers[0]
        rundir = net.scaffold.rundir
        print('# run directory %s (removed at the end; --keep-run keeps it)'
              % rundir, flush=True)
        root = os.path.join(rundir, 'root')
        os.makedirs(root)
        src = os.path.join(root, 'file.bin')
        scenario.make_file(src, a.size)
        dst = os.path.join(rundir, 'received.bin')
        logs = os.path.join(out, 'logs')
        joins = scenario.check_joined(checks, (h1, h2, h3), 'every host')
        old = h1.join_info()

        srv = h2.sf_popen([TFTP, '-s', '--object', OBJ, '--root', root,
                           '--rate', a.rate],
                          log=os.path.join(logs, 'server-h2.log'))
        if not scaffold._wait_for(lambda: 'listening' in scenario.tail(
                srv.log_path), 5):
            raise RuntimeError('server did not listen: %s'
                               % scenario.tail(srv.log_path))
        net_ok = scaffold._wait_for(lambda: len(instances(ctl)) >= 1, 3)
        inst = instances(ctl)
        mode = a.resolve or ('network' if net_ok else 'static')
        print('# resolution: %s (controller lists instances of %d: %s)'
              % (mode, OBJ, ' '.join(inst) or 'none'), flush=True)
        if mode == 'network' and not net_ok:
            checks('--resolve network: the controller lists the instance '
                   'of %d' % OBJ, False, inst)
            return summary
        if mode == 'static':
            old = h1.restart_agent(static_objects=[
                '%d=%s.0' % (OBJ, joins['h2'])])
            print('# h1 agent restarted with --static-object %d=%s.0 '
                  '(prefix %s)' % (OBJ, joins['h2'], old.get('prefix')),
                  flush=True)
        summary.update(resolve=mode, hosts=joins, rate=a.rate, size=a.size,
                       blksize=a.blksize, down_ms=a.down_ms,
                       old_prefix=old.get('prefix'))

        ev = Events()
        sampler = scenario.Sampler(dst, a.sample_ms / 1000.0)
        t0 = time.time()
        client = h1.sf_popen([TFTP, '-c', OBJ, 'file.bin', '-o', dst,
                              '--blksize', a.blksize],
                             log=os.path.join(logs, 'client-h1.log'))
        sampler.start()
        ev.add('client start', 'h1', t0)
        limit = t0 + a.size / a.rate * 2 + 20
        moved = None
        new = {}
        try:
            while client.poll() is None and time.time() < t0 + a.move_at:
                time.sleep(0.01)
            if client.poll() is None:
                moved = move_host(net, h1, B, down_s=a.down_ms / 1000.0)
                ev.add('link down', '%s leaves %s (%s)' % (
                    h1.name, moved['from'], moved['old']), moved['down'])
                ev.add('link up', '%s on %s port %d (%s)' % (
                    h1.name, moved['to'], moved['port'], moved['new']),
                    moved['up'])
                # The agent's view: joined again with another hostID.
                try:
                    new = h1.wait_joined(
                        10, cond=lambda ji: ji.get('prefix') !=
                        old.get('prefix') or ji.get('moves', 0) >
                        old.get('moves', 0))
                    ev.add('re-joined', 'prefix %s' % new.get('prefix'))
                except RuntimeError as e:
                    print('# %s' % e, flush=True)
            while client.poll() is None and time.time() < limit:
                time.sleep(0.02)
        finally:
            sampler.stop()
        if client.poll() is None:
            scaffold.stop_process(client)
            checks('client finished within %.0f s' % (limit - t0), False)
        rc = client.returncode
        ev.add('client exit', str(rc))
        clog = scenario.tail(client.log_path, 400)
        slog = scenario.tail(srv.log_path, 400)
        hosts_table = ctl.sfctl('hosts').stdout
        with open(os.path.join(logs, 'sfctl-hosts-after.txt'), 'w') as f:
            f.write(hosts_table)
        status_after = h1.agent_status() or ''
        with open(os.path.join(logs, 'h1-agent-status-after.txt'), 'w') as f:
            f.write(status_after)
        scenario.copy_logs(net, out)

        samples = sampler.samples
        outage = None
        if moved:
            o = scenario.outages_at(samples, [moved['down']],
                                    before=0.1, after=0.02)[0]
            if o:
                o['cause'] = 'move %s -> %s' % (moved['from'], moved['to'])
                outage = o
        outages = [outage] if outage else []
        stalls = [g for g in scenario.find_stalls(samples)
                  if not (outage and outage['start'] <= g[0] <=
                          outage['end'])]
        for g in stalls:
            ev.add('stall', '%.1f ms without data' % ((g[1] - g[0]) * 1000),
                   g[0])
        end_t = samples[-1][0] if samples else time.time()
        phases = [(t0, moved['down'], 'h1 on A (%s)' % old.get('prefix')),
                  (moved['up'], end_t, 'h1 on B (%s)' % new.get('prefix'))
                  ] if moved else []
        got = os.path.exists(dst) and scenario.sha256(dst)
        want = scenario.sha256(src)
        bins = scenario.write_csvs(out, samples, t0, ev, outages)
        png = os.path.join(out, NAME + '.png')
        if not a.no_plot:
            scenario.plot(
                png, 'SCAFFOLD mobility: sf-tftp h1 <- h2 (objectID %d), h1 '
                'moved from label router A to B' % OBJ, samples, t0, bins,
                ev, outages,
                marks=[('link down', 'link down (cable pulled)', 'tab:red'),
                       ('link up', 'link up on B', 'tab:orange'),
                       ('re-joined', 'agent re-joined (new hostID)',
                        'tab:purple')], stalls=stalls,
                phases=phases)

        checks('client exit status 0 (got %s)' % rc, rc == 0, clog[-400:])
        checks('file checksum verified (sha256 %s)' % want[:16],
               got == want, 'got %s' % (got and got[:16]))
        checks('h1 moved mid-download (%s)' % (
            moved and '%s -> %s port %d' % (moved['from'], moved['to'],
                                           moved['port'])), bool(moved))
        checks('h1 re-joined with a new hostID (%s -> %s, moves=%s)'
               % (old.get('prefix'), new.get('prefix'), new.get('moves')),
               bool(new) and new.get('prefix') != old.get('prefix'), new)
        mac = h1.defaultIntf().MAC()
        row = [l for l in hosts_table.splitlines() if l.startswith(mac)]
        checks('controller shows h1 (%s) at %s on label router B'
               % (mac, new.get('prefix')), bool(row) and new.get('prefix')
               and (' %s ' % new.get('prefix')) in row[0] and
               '%016x' % 2 in row[0], row)
        checks('server saw the same connection continue (no new accept)',
               len(re.findall(r'^accepted ', slog, re.M)) == 1 and
               re.search(r'^sent file\.bin', slog, re.M) is not None,
               slog[-300:])
        up_to_data = None
        if outage:
            after = [b for t, b in samples if t > outage['end']]
            up_to_data = outage['end'] - moved['up']
            checks('outage (%.0f ms) followed by resumed transfer (%d more '
                   'bytes)' % ((outage['end'] - outage['start']) * 1000,
                               (after[-1] if after else 0) -
                               outage['bytes_at_start']),
                   bool(after) and after[-1] > outage['bytes_at_start'])
        else:
            checks('an outage around the move was measured', False)
        # Other pauses (a lost block or ACK: TFTP's retransmission timer)
        # are reported, not failed: they are the data path's, not the
        # failover's.
        for g in stalls:
            print('# other stall at %.3f s: %.1f ms without data (lost '
                  'packets; TFTP retransmission)' % (g[0] - t0,
                                                      (g[1] - g[0]) * 1000),
                  flush=True)
        checks('plot written (%s)' % png, a.no_plot or (
            os.path.exists(png) and os.path.getsize(png) > 0))
        m = re.search(r'^received .*$', clog, re.M)
        gap = re.search(r'longest gap ([\d.]+) ms', clog)
        dur = samples[-1][0] - t0 if samples else 0
        summary.update(
            client_rc=rc, sha256_ok=got == want, sha256=want,
            duration_s=round(dur, 3), new_prefix=new.get('prefix'),
            new_hostid=new.get('hostid'), moves=new.get('moves'),
            link_down_s=moved and round(moved['down'] - t0, 4),
            link_up_s=moved and round(moved['up'] - t0, 4),
            rejoined_s=(round(ev.first('re-joined') - t0, 4)
                        if ev.first('re-joined') else None),
            outages=[dict(n=1, start_s=round(outage['start'] - t0, 4),
                          end_s=round(outage['end'] - t0, 4),
                          outage_ms=round((outage['end'] - outage['start'])
                                          * 1000, 1),
                          cause=outage['cause'])] if outage else [],
            link_up_to_data_ms=(round(up_to_data * 1000, 1)
                                if up_to_data is not None else None),
            other_stalls=[dict(start_s=round(g[0] - t0, 4),
                               ms=round((g[1] - g[0]) * 1000, 1))
                          for g in stalls],
            client_longest_gap_ms=float(gap.group(1)) if gap else None,
            client_summary=m.group(0) if m else None,
            png=png if not a.no_plot else None)
        for h in (h1, h2, h3):
            h.stop_procs()
        os.unlink(src)
        if os.path.exists(dst):
            os.unlink(dst)
    return summary


def print_summary(s):
    print('=== mobility summary ===')
    if 'duration_s' not in s:
        print('  (no transfer)')
        return
    print('  resolution: %s; hosts %s' % (s['resolve'], ', '.join(
        '%s=%s' % kv for kv in sorted(s['hosts'].items()))))
    print('  file %d bytes, server paced at %d B/s, blksize %d; cable '
          'unplugged %.0f ms' % (s['size'], s['rate'], s['blksize'],
                                 s['down_ms']))
    print('  download: %.2f s, checksum %s' % (
        s['duration_s'], 'OK' if s['sha256_ok'] else 'MISMATCH'))
    print('  h1: %s -> %s (new hostID %s, moves=%s); link down at %s s, up '
          'at %s s, re-joined seen at %s s'
          % (s['old_prefix'], s['new_prefix'], s['new_hostid'], s['moves'],
             s['link_down_s'], s['link_up_s'], s['rejoined_s']))
    print('  outage from link-up to data flowing: %s ms' % (
        s['link_up_to_data_ms']))
    for o in s['outages']:
        print('  outage without data (%s): %.1f ms, %.3f s -> %.3f s '
              '(includes the %.0f ms unplugged)'
              % (o['cause'], o['outage_ms'], o['start_s'], o['end_s'],
                 s['down_ms']))
    for g in s.get('other_stalls', []):
        print('  other stall at %.3f s: %.1f ms (lost packets, TFTP '
              'retransmission)' % (g['start_s'], g['ms']))
    print('  client: %s' % s.get('client_summary'))
    print('  (from the output file size sampled every %s ms)'
          % s.get('sample_ms'))
    scenario.print_outputs(s, '{samples,throughput,events,outages}.csv')


def main():
    return scenario.main(NAME, options, (TFTP,), run, print_summary,
                         extra=lambda a: {'sample_ms': a.sample_ms})


if __name__ == '__main__':
    sys.exit(main())
