#!/usr/bin/python3
"""Failover experiment on the SCAFFOLD demo topology (issue #6).

An sf-tftp client on h1 downloads a file from objectID 69.  Two server
instances serve it: instance 1 on h3 (label router A, like h1) and instance
2 on h2 (label router B).  The servers pace the transfer (--rate) so that it
lasts ~15 s, and shed the client with close_sf(SF_SEND_FAIL) after a given
number of blocks (sf-tftp --fail-after-blocks): instance 1 at ~5 s, instance
2, which resumed the download, ~6 s later (~11 s); instance 1 then finishes
it.  Each shed is an outage: the client's stack gets FAIL, resyncs (RSYN) to
the other instance, which does not know the transfer (TFTP ERROR 5); the
client re-requests from the next block ("resume" option).

Object resolution (--resolve):
  network  the object router's round-robin select group (the controller
           learns the instances from the servers' binds); instance 1 binds
           first so that it gets the first connection;
  static   h1's agent resolves objectID 69 itself (--static-object, two
           entries h3 then h2: round robin, a resync goes to the next);
  default: network when the controller lists both instances of 69 after
  the servers bound (sfctl instances 69), else static.

Outage of a shed: from the client's last block of the shedding instance
to its first block after the resync.  sf-tftp logs it on its own clock
("resumed FILE at block N after X ms without data"): that is outage_ms
when present (client_outage_ms).  From the samples: the client logs the
byte it resumes at ("resuming FILE at block N (byte B)"), i.e. the size of
the output file when the instance shed it; the pause runs from the first
sample showing B bytes to the first showing more (sampled_outage_ms,
resolution one sampling period; 0 when both blocks fell in one period),
and is outage_ms when the client's own figure is missing (an older
sf-tftp).  Were the pause instead found as the longest one near the time
the shed was noticed (scenario.outages_at, the fallback when the client's
lines are missing, reported as window_outage_ms), the ordinary pauses of
the paced transfer (one block every ~7 ms at 200 kB/s) would set a floor
under every figure.

Prints ok/not ok lines for its checks and a summary; writes CSVs and a PNG
(see mininet/scenario.py).  Exit status: 0 all checks passed, 1 a check
failed, 2 usage, 77 cannot run here (not root, nothing built), 130
interrupted.  Run as root with Debian's python:

    /usr/bin/python3 mininet/failover.py [--quick] [--out DIR]
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
from scaffold import ScaffoldTopo, scaffold_net, SF_BIN  # noqa: E402

NAME = 'failover'
TFTP = os.path.join(SF_BIN, 'sf-tftp')
OBJ = 69


def options():
    p = scenario.parser(NAME, __doc__)
    p.add_argument('--resolve', choices=('network', 'static'),
                   help='object resolution (default: network if the '
                   'controller reports the instances, else static)')
    p.add_argument('--rate', type=int, metavar='BYTES/S',
                   help='server pacing (default 200000; --quick 300000)')
    p.add_argument('--size', type=int, metavar='BYTES',
                   help='file size (default: first-shed + second-shed + '
                   '0.67 x first-shed seconds at the rate: 15 s, 3 MB; '
                   '--quick 4 s)')
    p.add_argument('--first-shed', type=float, metavar='S',
                   help='instance 1 sheds after this many seconds of data '
                   '(default 5; --quick 1.5)')
    p.add_argument('--second-shed', type=float, metavar='S',
                   help='instance 2 sheds after serving this long '
                   '(default 6; --quick 1.5)')
    p.add_argument('--blksize', type=int, default=1400,
                   help='TFTP block size (default 1400)')
    a = p.parse_args()
    q = a.quick
    a.rate = a.rate or (300000 if q else 200000)
    a.first_shed = a.first_shed or (1.5 if q else 5.0)
    a.second_shed = a.second_shed or (1.5 if q else 6.0)
    # Instance 1 serves the rest after the second shed: less than
    # first_shed, or it would shed a third time.
    a.size = a.size or int(a.rate * (a.first_shed + a.second_shed +
                                     0.67 * a.first_shed))
    return a


def blocks_for(seconds, rate, blksize):
    """Blocks a server paced at rate (bytes/s of TFTP packets) sends in
    seconds."""
    return max(1, int(seconds * rate / (blksize + 4)))


def wait_log(path, pattern, timeout):
    rx = re.compile(pattern, re.M)
    return scaffold._wait_for(
        lambda: bool(rx.search(scenario.tail(path, 200))), timeout)


def outage_at_bytes(samples, nbytes):
    """The pause after the output file reached nbytes: from the first
    sample with nbytes to the first with more (None if either is
    missing)."""
    start = next((t for t, b in samples if b >= nbytes), None)
    end = next((t for t, b in samples if b > nbytes), None)
    if start is None or end is None:
        return None
    return dict(anchor=start, start=start, end=end, bytes_at_start=nbytes,
                resumed=True)


def instances(ctl):
    """Flow IDs the controller lists for OBJ ([] when it does not know
    objects)."""
    r = ctl.sfctl('instances', OBJ)
    if r.returncode:
        return []
    return re.findall(r'^\s*%d\s+(\d+\.\d+\.\d+)' % OBJ, r.stdout, re.M)


def run(a, out, checks):
    topo = ScaffoldTopo()
    summary = dict(scenario=NAME, out=out, quick=a.quick)
    with scaffold_net(topo, controller=True, keep_dir=a.keep_run) as net:
        h1, h2, h3 = net.get('h1', 'h2', 'h3')
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

        n1 = blocks_for(a.first_shed, a.rate, a.blksize)
        n2 = blocks_for(a.second_shed, a.rate, a.blksize)
        common = ['-s', '--object', OBJ, '--root', root, '--rate', a.rate]
        # Instance 1 first: in a round-robin group it is the first bucket.
        s1 = h3.sf_popen([TFTP] + common + ['--fail-after-blocks', n1],
                         log=os.path.join(logs, 'server1-h3.log'))
        if not wait_log(s1.log_path, r'^listening ', 5):
            raise RuntimeError('server 1 did not listen: %s'
                               % scenario.tail(s1.log_path))
        net_ok = scaffold._wait_for(lambda: len(instances(ctl)) >= 1, 2)
        s2 = h2.sf_popen([TFTP] + common + ['--fail-after-blocks', n2],
                         log=os.path.join(logs, 'server2-h2.log'))
        if not wait_log(s2.log_path, r'^listening ', 5):
            raise RuntimeError('server 2 did not listen: %s'
                               % scenario.tail(s2.log_path))
        net_ok = net_ok and scaffold._wait_for(
            lambda: len(instances(ctl)) >= 2, 3)
        inst = instances(ctl)
        mode = a.resolve or ('network' if net_ok else 'static')
        print('# resolution: %s (controller lists instances of %d: %s)'
              % (mode, OBJ, ' '.join(inst) or 'none'), flush=True)
        if mode == 'network' and not net_ok:
            checks('--resolve network: the controller lists both instances '
                   'of %d' % OBJ, False, inst)
            return summary
        if mode == 'static':
            # h3 (instance 1) first, then h2: round robin, resync -> next.
            ji = h1.restart_agent(static_objects=[
                '%d=%s.0' % (OBJ, joins['h3']),
                '%d=%s.0' % (OBJ, joins['h2'])])
            print('# h1 agent restarted with --static-object %d=%s.0 '
                  '--static-object %d=%s.0 (prefix %s)'
                  % (OBJ, joins['h3'], OBJ, joins['h2'], ji.get('prefix')),
                  flush=True)
        summary.update(resolve=mode, instances=inst, hosts=joins,
                       rate=a.rate, size=a.size, blocks_instance1=n1,
                       blocks_instance2=n2, blksize=a.blksize)

        ev = Events()
        sampler = scenario.Sampler(dst, a.sample_ms / 1000.0)
        t0 = time.time()
        client = h1.sf_popen([TFTP, '-c', OBJ, 'file.bin', '-o', dst,
                              '--blksize', a.blksize],
                             log=os.path.join(logs, 'client-h1.log'))
        sampler.start()
        ev.add('client start', 'h1', t0)
        limit = t0 + (a.size / a.rate) * 2 + 20
        seen = {}
        try:
            while client.poll() is None and time.time() < limit:
                for key, path, rx, evname in (
                        ('s1', s1.log_path, r'^shedding .*', 'shed'),
                        ('s2', s2.log_path, r'^shedding .*', 'shed'),
                        ('r1', s1.log_path, r'^RRQ .*', 'rrq h3'),
                        ('r2', s2.log_path, r'^RRQ .*', 'rrq h2'),
                        ('c', client.log_path, r'^resuming .*', 'resume')):
                    lines = re.findall(rx, scenario.tail(path, 400), re.M)
                    for line in lines[seen.get(key, 0):]:
                        ev.add(evname, '%s: %s' % (key, line.strip()))
                    seen[key] = len(lines)
                time.sleep(0.02)
        finally:
            sampler.stop()
        if client.poll() is None:
            scaffold.stop_process(client)
            checks('client finished within %.0f s' % (limit - t0), False)
        ev.add('client exit', str(client.returncode))
        rc = client.returncode
        clog = scenario.tail(client.log_path, 400)
        l1 = scenario.tail(s1.log_path, 400)
        l2 = scenario.tail(s2.log_path, 400)
        scenario.copy_logs(net, out)

        samples = sampler.samples
        sheds = ev.all('shed')
        resumed_at = [int(b) for b in re.findall(
            r'^resuming \S+ at block \d+ \(byte (\d+)\)', clog, re.M)]
        # The client's own clock (sf-tftp logs it): last block before the
        # restart to the first after it.
        client_gaps = [float(x) for x in re.findall(
            r'^resumed \S+ at block \d+ after ([\d.]+) ms without data',
            clog, re.M)]
        outages = []
        for i, o in enumerate(scenario.outages_at(samples, sheds), 1):
            ob = None
            if len(resumed_at) == len(sheds):
                ob = outage_at_bytes(samples, resumed_at[i - 1])
            if ob:
                ob['window_ms'] = (o['end'] - o['start']) * 1000 if o \
                    else None
                o = ob
            if o is None:
                checks('shed %d followed by a measurable pause' % i, False)
                continue
            o['ms'] = (o['end'] - o['start']) * 1000
            o['sampled_ms'] = o['ms']
            if len(client_gaps) == len(sheds):
                o['client_ms'] = client_gaps[i - 1]
                o['ms'] = o['client_ms']
            o['cause'] = 'shed %d' % i
            outages.append(o)
        stalls = [g for g in scenario.find_stalls(samples)
                  if not any(o['start'] <= g[0] <= o['end']
                             for o in outages)]
        for g in stalls:
            ev.add('stall', '%.1f ms without data' % ((g[1] - g[0]) * 1000),
                   g[0])
        if mode == 'network':
            with open(os.path.join(logs, 'object-router-groups.txt'),
                      'w') as f:
                f.write(net.scaffold.ovs.ofctl(
                    '-O', 'OpenFlow15', 'dump-group-stats', topo.O,
                    check=False))
                f.write(net.scaffold.ovs.ofctl(
                    '-O', 'OpenFlow15', 'dump-groups', topo.O, check=False))
        # Who served what: each RRQ a server logged starts a phase.
        rrqs = sorted((t, e[4:]) for t, e, _d in ev.items
                      if e.startswith('rrq '))
        label = {'h3': 'instance 1 (h3)', 'h2': 'instance 2 (h2)'}
        end_t = samples[-1][0] if samples else time.time()
        phases = [(t, (rrqs[i + 1][0] if i + 1 < len(rrqs) else end_t),
                   label[h]) for i, (t, h) in enumerate(rrqs)]
        got = os.path.exists(dst) and scenario.sha256(dst)
        want = scenario.sha256(src)
        bins = scenario.write_csvs(out, samples, t0, ev, outages)
        png = os.path.join(out, NAME + '.png')
        if not a.no_plot:
            scenario.plot(
                png, 'SCAFFOLD failover: sf-tftp h1 <- objectID %d '
                '(instance 1 on h3, instance 2 on h2), %s resolution'
                % (OBJ, mode), samples, t0, bins, ev, outages,
                marks=[('shed', 'server sheds (SEND_FAIL)', 'tab:red'),
                       ('resume', 'client re-requests (resume)',
                        'tab:purple')], stalls=stalls, phases=phases)

        m = re.search(r'^received .*$', clog, re.M)
        gap = re.search(r'longest gap ([\d.]+) ms', clog)
        checks('client exit status 0 (got %s)' % rc, rc == 0,
               clog[-400:])
        checks('file checksum verified (sha256 %s)' % want[:16],
               got == want, 'got %s' % (got and got[:16]))
        checks('instance 1 (h3) shed the client (SEND_FAIL)',
               re.search(r'^shedding ', l1, re.M) is not None, l1[-300:])
        checks('instance 2 (h2) accepted the resumed connection and shed '
               'it back', re.search(r'^accepted .* resumed$', l2, re.M)
               is not None and re.search(r'^shedding ', l2, re.M)
               is not None, l2[-300:])
        checks('instance 1 (h3) resumed it and finished the file',
               re.search(r'^accepted .* resumed$', l1, re.M) is not None and
               re.search(r'^RRQ file\.bin .* resume at block', l1, re.M)
               is not None and re.search(r'^sent file\.bin', l1, re.M)
               is not None, l1[-300:])
        checks('2 sheds seen, 2 outages measured (%d, %d)'
               % (len(sheds), len(outages)),
               len(sheds) == 2 and len(outages) == 2,
               [(round(o['start'] - t0, 3), round(o['end'] - t0, 3))
                for o in outages])
        # Other pauses (a lost block or ACK: TFTP's retransmission timer)
        # are reported, not failed: they are the data path's, not the
        # failover's.
        for g in stalls:
            print('# other stall at %.3f s: %.1f ms without data (lost '
                  'packets; TFTP retransmission)' % (g[0] - t0,
                                                      (g[1] - g[0]) * 1000),
                  flush=True)
        for i, o in enumerate(outages, 1):
            after = [b for t, b in samples if t > o['end']]
            checks('outage %d (%.0f ms, %s) followed by resumed transfer '
                   '(%d more bytes)' % (i, o['ms'],
                                        o['cause'],
                                        (after[-1] if after else 0) -
                                        o['bytes_at_start']),
                   bool(after) and after[-1] > o['bytes_at_start'])
        checks('plot written (%s)' % png, a.no_plot or (
            os.path.exists(png) and os.path.getsize(png) > 0))
        dur = samples[-1][0] - t0 if samples else 0
        summary.update(
            client_rc=rc, sha256_ok=got == want, sha256=want,
            duration_s=round(dur, 3),
            outages=[dict(n=i, start_s=round(o['start'] - t0, 4),
                          end_s=round(o['end'] - t0, 4),
                          outage_ms=round(o['ms'], 3),
                          sampled_outage_ms=round(o['sampled_ms'], 1),
                          window_outage_ms=(round(o['window_ms'], 1)
                                            if o.get('window_ms') is not None
                                            else None),
                          client_outage_ms=o.get('client_ms'),
                          cause=o['cause'])
                     for i, o in enumerate(outages, 1)],
            sheds_s=[round(t - t0, 3) for t in sheds],
            other_stalls=[dict(start_s=round(g[0] - t0, 4),
                               ms=round((g[1] - g[0]) * 1000, 1))
                          for g in stalls],
            served_by=[dict(from_s=round(a_ - t0, 3), server=lab)
                       for a_, _b, lab in phases],
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
    print('=== failover summary ===')
    if 'duration_s' not in s:
        print('  (no transfer)')
        return
    print('  resolution: %s; instances of %d: %s; hosts %s'
          % (s['resolve'], OBJ, ' '.join(s['instances']) or '-',
             ', '.join('%s=%s' % kv for kv in sorted(s['hosts'].items()))))
    print('  file %d bytes, servers paced at %d B/s, blksize %d; instance 1 '
          'sheds after %d blocks, instance 2 after %d'
          % (s['size'], s['rate'], s['blksize'], s['blocks_instance1'],
             s['blocks_instance2']))
    print('  download: %.2f s, checksum %s' % (
        s['duration_s'], 'OK' if s['sha256_ok'] else 'MISMATCH'))
    print('  served by: %s' % ', '.join('%s from %.2f s' % (
        p['server'], p['from_s']) for p in s.get('served_by', [])))
    for o in s['outages']:
        print('  outage %d (%s): %.1f ms, %.3f s -> %.3f s (client\'s '
              'clock: %s ms; sampled: %s ms; longest pause near the shed: '
              '%s ms)'
              % (o['n'], o['cause'], o['outage_ms'], o['start_s'],
                 o['end_s'], o.get('client_outage_ms'),
                 o.get('sampled_outage_ms'), o.get('window_outage_ms')))
    for g in s.get('other_stalls', []):
        print('  other stall at %.3f s: %.1f ms (lost packets, TFTP '
              'retransmission)' % (g['start_s'], g['ms']))
    print('  client: %s' % s.get('client_summary'))
    print('  (outages: last block of the shedding instance -> next block, '
          'on the client\'s clock, or from the output file size sampled '
          'every %s ms; the '
          'client\'s longest gap between DATA blocks: %s ms)'
          % (s.get('sample_ms'), s.get('client_longest_gap_ms')))
    scenario.print_outputs(s, '{samples,throughput,events,outages}.csv')


def main():
    return scenario.main(NAME, options, (TFTP,), run, print_summary,
                         extra=lambda a: {'sample_ms': a.sample_ms})


if __name__ == '__main__':
    sys.exit(main())
