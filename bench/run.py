#!/usr/bin/python3
"""SCAFFOLD benchmark suite (issue 8): every benchmark runs SCAFFOLD and its
plain counterpart in the same run on the same topology, prints both figures
and their ratio, writes CSV and PNG, and a generated report RESULTS.md puts
them beside the 2010 demo's published figures with every target marked.

    /usr/bin/python3 bench/run.py [--quick] [--only NAME[,NAME]] [--out DIR]

Benchmarks (--only takes these names, comma-separated):
  goodput  h1 - r1 - r2 - h2 (ScaffoldLineTopo(2, 1), the real controller):
           sf-iperf bound datagrams vs kernel UDP (sf-iperf --udp and
           iperf3) between the hosts' flowIDs, routed by the same label
           router prefix rules; payload 1400 B, frames of 128 and 1514 B,
           load on a 1-2-5 grid.
  latency  the same net: RTT 18 B and max-frame (sf-callbench rtt and
           sf-iperf --rtt) SCAFFOLD vs kernel UDP; per-call latency of
           libsf (sf-callbench calls) vs kernel TCP calls.
  outage   mininet/failover.py and mobility.py, N repetitions each.
  scale    N hosts (quick 100, full 1000; --scale-sizes) over 10 label
           routers, each with its own agent joining the controller (ssIDs
           1-8, hostID blocks of 128) and holding a bound flow;
           convergence, RSS, rules per router, rules changed by one move.
  ofload   bench/ofload.sh: sf-ofload against ovs-testcontroller and the
           SCAFFOLD controller (--l2-learning), also with --busy-poll.
  ctlload  bench/ctlload.sh: joins/s, binds/s and leaves/s of many hosts
           played by sf-ctlload through the real control plane.

Output: DIR (default bench/out/TIMESTAMP) with one folder per benchmark
(CSV, PNG, logs) and DIR/RESULTS.md.  Run as root with Debian's python.
Exit status: 0 every selected benchmark produced figures, 1 otherwise,
2 usage, 77 cannot run here (not root, not built).
"""

import argparse
import csv
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(TOP, 'build', 'bin')
sys.path.insert(0, os.path.join(TOP, 'mininet'))
PY = '/usr/bin/python3'
ALL = ['goodput', 'latency', 'outage', 'scale', 'ofload', 'ctlload']
T0 = time.time()

# The 2010 demo's published figures (DESIGN.md "Anchors for numbers").
DEMO = {
    'goodput_1400': '324 Mbps (0.019 % loss, 1.611 ms jitter)',
    'rtt_18': '397 us', 'rtt_max': '505 us (1472 B)',
    'stack': 'send 48-53 us, receive 83-90 us',
    'connect_sf': '2925 us', 'bind_sf': '3069 us', 'send_sf': '57-69 us',
    'listen_sf': '80 us', 'close_fin': '600 us', 'close_rst': '15 us',
    'outage': '< 100 ms',
}


def log(msg):
    print('[%6.1fs] %s' % (time.time() - T0, msg), flush=True)


def fmt(v, nd=1):
    if v is None:
        return 'n/a'
    if isinstance(v, float):
        return ('%.' + str(nd) + 'f') % v
    return str(v)


def ratio(a, b):
    try:
        return a / b if a is not None and b else None
    except TypeError:
        return None


def write_csv(path, rows, fields=None):
    if not rows:
        return
    fields = fields or list(rows[0].keys())
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        w.writeheader()
        for r in rows:
            w.writerow(r)


def plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as p
    return p


class Summary(object):
    """Rows of the report's summary table."""

    def __init__(self):
        self.rows = []

    def add(self, item, metric, sf, plain, ratio_, demo, target, met,
            unit=''):
        self.rows.append(dict(item=item, metric=metric, scaffold=sf,
                              plain=plain, ratio=ratio_, demo=demo,
                              target=target, met=met, unit=unit))


# --------------------------------------------------------------------------
# A line of 2 label routers with the real controller; plain IPv4 between
# the hosts' flowIDs.

PLAIN_SOCK = 65534      # hosts' own kernel address: ss.host.255.254
SF_OBJ_IPERF = 5001
SF_OBJ_ECHO = 5003
UDP_PORT_IPERF = 5002
UDP_PORT_ECHO = 5004
TCP_PORT_ECHO = 5005
IPERF3_PORT = 5201


def plain_addr(prefix):
    return '%s.%d.%d' % (prefix, PLAIN_SOCK >> 8, PLAIN_SOCK & 255)


def setup_plain(h, me, peer):
    """Kernel IPv4 on the host's own flowID prefix: one address
    ss.host.255.254/32 (a sockID the agent never hands out: it counts from
    1024), a route to the peer's /16 and a permanent neighbour entry (the
    label routers drop ARP; the last hop rewrites the Ethernet addresses, so
    any MAC does).  The label routers' rules then route it like SCAFFOLD:
    anti-spoofing in_port+nw_src=ss.host/16, prefix nw_dst=ss.host/16."""
    intf = h.defaultIntf().name
    for c in ('ip addr add %s/32 dev %s' % (plain_addr(me), intf),
              'ip route add %s.0.0/16 dev %s src %s' % (peer, intf,
                                                       plain_addr(me)),
              'ip neigh replace %s lladdr 02:5c:00:00:00:01 dev %s nud '
              'permanent' % (plain_addr(peer), intf)):
        out = h.cmd(c)
        if out.strip():
            raise RuntimeError('%s: %s: %s' % (h.name, c, out.strip()))


class LineNet(object):
    """scaffold_net(ScaffoldLineTopo(2, 1)) with servers on h2."""

    def __init__(self, outdir):
        self.outdir = outdir

    def __enter__(self):
        from scaffold import ScaffoldLineTopo, scaffold_net
        self.topo = ScaffoldLineTopo(2, 1)
        self.cm = scaffold_net(self.topo, controller=True)
        self.net = self.cm.__enter__()
        try:
            self._start()
        except BaseException:
            self.cm.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)

    def _start(self):
        net = self.net
        self.h1, self.h2 = net.get('h1'), net.get('h2')
        self.p1 = self.h1.sf_join['prefix']
        self.p2 = self.h2.sf_join['prefix']
        setup_plain(self.h1, self.p1, self.p2)
        setup_plain(self.h2, self.p2, self.p1)
        self.a2 = plain_addr(self.p2)
        logs = os.path.join(self.outdir, 'logs')
        os.makedirs(logs, exist_ok=True)
        h2 = self.h2
        self.srv = {
            'sf': h2.sf_popen([os.path.join(BIN, 'sf-iperf'), '-s', '-o',
                               SF_OBJ_IPERF, '--json'],
                              log=os.path.join(logs, 'sf-iperf-server.log')),
            'udp': h2.sf_popen([os.path.join(BIN, 'sf-iperf'), '-s',
                                '--udp', '%s:%d' % (self.a2, UDP_PORT_IPERF),
                                '--json'],
                               log=os.path.join(logs, 'udp-server.log')),
            'iperf3': h2.sf_popen(['iperf3', '-s', '-B', self.a2, '-p',
                                   IPERF3_PORT],
                                  log=os.path.join(logs, 'iperf3-server.log')),
            'echo': h2.sf_popen([os.path.join(BIN, 'sf-callbench'), 'server',
                                 '--object', SF_OBJ_ECHO, '--udp',
                                 '%s:%d' % (self.a2, UDP_PORT_ECHO), '--tcp',
                                 '%s:%d' % (self.a2, TCP_PORT_ECHO)],
                                log=os.path.join(logs, 'echo-server.log')),
        }
        ctl = net.controllers[0]
        for obj in (SF_OBJ_IPERF, SF_OBJ_ECHO):
            deadline = time.time() + 10
            while self.p2 not in ctl.sfctl('instances', obj).stdout:
                if time.time() > deadline:
                    raise RuntimeError('object %d not bound at the '
                                       'controller' % obj)
                time.sleep(0.05)
        time.sleep(0.3)
        log('net up: h1=%s h2=%s (plain %s -> %s)' % (
            self.p1, self.p2, plain_addr(self.p1), self.a2))

    def run(self, argv, timeout):
        r = self.h1.sf_run([str(a) for a in argv], timeout=timeout)
        return r

    def flows(self):
        ovs = self.net.scaffold.ovs
        return {r: ovs.ofctl('-O', 'OpenFlow13', 'dump-flows', r,
                             check=False) for r in self.topo.routers}


# ---- 1. goodput -------------------------------------------------------------

def sf_iperf_run(ln, mode, length, rate_bps, secs):
    argv = [os.path.join(BIN, 'sf-iperf')]
    if mode == 'scaffold':
        argv += ['-c', SF_OBJ_IPERF]
    else:
        argv += ['--udp', '%s:%d' % (ln.a2, UDP_PORT_IPERF)]
    argv += ['-b', '%d' % rate_bps, '-l', length, '-t', secs, '--json']
    r = ln.run(argv, timeout=secs + 20)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return {'error': (r.stderr or r.stdout).strip()[-200:]}
    s, rc = j.get('sent') or {}, j.get('received') or {}
    if not rc:
        return {'error': j.get('error', 'no report')}
    rs = None
    if rc.get('end') is not None and rc.get('start') is not None:
        rs = rc['end'] - rc['start']
    return _norm(s.get('packets'), s.get('bytes'), s.get('seconds'),
                 rc.get('packets'), rc.get('bytes'), rs,
                 rc.get('lost'), rc.get('jitter_ms'), rc)


def _norm(sp, sb, ss, rp, rb, rs, lost, jitter, raw=None):
    res = dict(sent_pkts=sp, sent_bytes=sb, recv_pkts=rp, recv_bytes=rb,
               jitter_ms=jitter)
    if ss and sb is not None:
        res['send_mbps'] = sb * 8 / ss / 1e6
        res['send_kpps'] = sp / ss / 1e3
    # Goodput over the longer of the sender's duration and the receiver's
    # (first to last datagram): queues that drain after the sender stopped
    # cannot inflate it, nor can a short receive window.
    dur = max(ss or 0, rs or 0)
    if dur and rb is not None:
        res['goodput_mbps'] = rb * 8 / dur / 1e6
        res['recv_kpps'] = rp / dur / 1e3
    if sp:
        res['pkt_loss_pct'] = 100.0 * max(0, sp - (rp or 0)) / sp
    if sb:
        res['byte_loss_pct'] = 100.0 * max(0, sb - (rb or 0)) / sb
    if raw is not None and 'error' not in res:
        res['raw'] = raw
    return res


def iperf3_run(ln, length, rate_bps, secs):
    argv = ['iperf3', '-u', '-c', ln.a2, '-B', plain_addr(ln.p1), '-p',
            IPERF3_PORT, '-b', '%d' % (rate_bps or 10 ** 10), '-l', length,
            '-t', secs, '-J']
    r = ln.run(argv, timeout=secs + 20)
    try:
        j = json.loads(r.stdout)
        end = j['end']
        s = end['sum']
        rcv = end.get('sum_received') or s
        # end.sum: sender's bytes/seconds plus the server's packets, lost
        # and jitter; end.sum_received: the server's bytes and seconds.
        # Received datagrams = received bytes / datagram length (fixed).
        sent_pkts = s.get('packets')
        sent_bytes = s.get('bytes')
        if end.get('sum_sent'):
            sent_bytes = end['sum_sent'].get('bytes', sent_bytes)
        rb = rcv.get('bytes')
        return _norm(sent_pkts, sent_bytes, s.get('seconds'),
                     rb // length if rb is not None else None, rb,
                     rcv.get('seconds'), s.get('lost_packets'),
                     s.get('jitter_ms'))
    except (ValueError, KeyError, TypeError) as e:
        return {'error': '%s: %s' % (e, (r.stderr or r.stdout)[-200:])}


# (case, label, scaffold payload, kernel payload, wire bytes per datagram
# for rate conversion or None = payload rate)
FRAME = 14 + 20 + 8
SF_HDR = 20
CASES = [
    ('payload1400', 'payload 1400 B', 1400, 1400, None),
    ('frame128', 'frame 128 B', 128 - FRAME - SF_HDR, 128 - FRAME, 128),
    ('frame1514', 'frame 1514 B', 1514 - FRAME - SF_HDR, 1514 - FRAME, 1514),
]
GRID = {
    'payload1400': [10, 100, 200, 500, 1000, 0],
    'frame128': [1, 10, 20, 50, 100],
    'frame1514': [10, 100, 200, 500, 1000, 0],
}
GRID_QUICK = {
    'payload1400': [100, 500, 0],
    'frame128': [10, 50],
    'frame1514': [500, 0],
}


def bench_goodput(args, out, summ, ln):
    secs = 2 if args.quick else 5
    grid = GRID_QUICK if args.quick else GRID
    rows = []
    before = ln.flows()
    for case, label, sf_len, udp_len, wire in CASES:
        for mbps in grid[case]:
            for tool in ('scaffold', 'udp', 'iperf3'):
                length = sf_len if tool == 'scaffold' else udp_len
                if mbps == 0:
                    rate = 0
                elif wire:
                    # Grid rate is on the wire (Ethernet frame bytes): the
                    # same packet rate for both payload sizes.
                    pps = mbps * 1e6 / (wire * 8)
                    rate = pps * length * 8
                else:
                    rate = mbps * 1e6
                if tool == 'scaffold':
                    res = sf_iperf_run(ln, 'scaffold', length, rate, secs)
                elif tool == 'udp':
                    res = sf_iperf_run(ln, 'udp', length, rate, secs)
                else:
                    res = iperf3_run(ln, length, rate, secs)
                res.pop('raw', None)
                row = dict(case=case, label=label, grid_mbps=mbps or 'sat',
                           tool=tool, payload=length, rate_bps=int(rate),
                           secs=secs)
                row.update(res)
                rows.append(row)
                log('goodput %-11s %5s Mb/s %-8s payload %4d: %s' % (
                    case, mbps or 'sat', tool, length,
                    res.get('error') or 'goodput %.1f Mb/s %.1f kpps loss '
                    '%.2f %% jitter %s ms' % (
                        res.get('goodput_mbps', 0), res.get('recv_kpps', 0),
                        res.get('pkt_loss_pct', 0),
                        fmt(res.get('jitter_ms'), 3))))
    after = ln.flows()
    fields = ['case', 'label', 'grid_mbps', 'tool', 'payload', 'rate_bps',
              'secs', 'sent_pkts', 'sent_bytes', 'recv_pkts', 'recv_bytes',
              'send_mbps', 'send_kpps', 'goodput_mbps', 'recv_kpps',
              'pkt_loss_pct', 'byte_loss_pct', 'jitter_ms', 'error']
    write_csv(os.path.join(out, 'goodput.csv'), rows, fields)
    with open(os.path.join(out, 'flows-before.txt'), 'w') as f:
        f.write('\n'.join('%s\n%s' % kv for kv in before.items()))
    with open(os.path.join(out, 'flows-after.txt'), 'w') as f:
        f.write('\n'.join('%s\n%s' % kv for kv in after.items()))

    def get(case, grid_mbps, tool, key):
        for r in rows:
            if r['case'] == case and r['grid_mbps'] == grid_mbps and \
                    r['tool'] == tool:
                return r.get(key)
        return None

    # Plot: goodput vs offered load per case, three tools.
    p = plt()
    fig, axes = p.subplots(2, 3, figsize=(15, 8))
    for i, (case, label, _a, _b, _w) in enumerate(CASES):
        for tool, st in (('scaffold', 'o-'), ('udp', 's--'),
                         ('iperf3', '^:')):
            xs, ys, ls = [], [], []
            for j, g in enumerate(grid[case]):
                g = g or 'sat'
                xs.append(j)
                key = 'recv_kpps' if case == 'frame128' else 'goodput_mbps'
                ys.append(get(case, g, tool, key) or 0)
                ls.append(get(case, g, tool, 'pkt_loss_pct') or 0)
            axes[0][i].plot(xs, ys, st, label=tool)
            axes[1][i].plot(xs, ls, st, label=tool)
        ticks = [str(g or 'sat') for g in grid[case]]
        for a in (axes[0][i], axes[1][i]):
            a.set_xticks(range(len(ticks)))
            a.set_xticklabels(ticks)
            a.set_xlabel('offered load, Mbit/s (%s)' % (
                'on the wire' if case.startswith('frame') else 'payload'))
            a.grid(alpha=.3)
            a.legend()
        axes[0][i].set_title(label)
        axes[0][i].set_ylabel('received kpps' if case == 'frame128'
                              else 'goodput, Mbit/s')
        axes[1][i].set_ylabel('packet loss, %')
    fig.suptitle('Goodput through 2 label routers: SCAFFOLD bound flow '
                 'vs kernel UDP (same switches, same run)')
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'goodput.png'), dpi=90)
    p.close(fig)

    # Summary: saturation at 1400 B; highest grid point at 128 B.
    def best(case, tool, key):
        vals = [r.get(key) for r in rows if r['case'] == case and
                r['tool'] == tool and r.get(key) is not None]
        return max(vals) if vals else None
    sf = best('payload1400', 'scaffold', 'goodput_mbps')
    ud = best('payload1400', 'udp', 'goodput_mbps')
    i3 = best('payload1400', 'iperf3', 'goodput_mbps')
    r = ratio(sf, ud)
    summ.add('1 goodput', 'max goodput, 1400 B payload (Mbit/s)', sf, ud, r,
             DEMO['goodput_1400'], 'ratio >= 0.95 (vs sf-iperf --udp; '
             'iperf3 %s)' % fmt(i3), r is not None and r >= 0.95)
    r3 = ratio(sf, i3)
    summ.add('1 goodput', 'max goodput 1400 B vs iperf3 (Mbit/s)', sf, i3,
             r3, DEMO['goodput_1400'], 'ratio >= 0.95',
             r3 is not None and r3 >= 0.95)
    pts = []
    for g in grid['payload1400']:
        g = g or 'sat'
        rr = ratio(get('payload1400', g, 'scaffold', 'goodput_mbps'),
                   get('payload1400', g, 'udp', 'goodput_mbps'))
        pts.append('%s: %s' % (g, fmt(rr, 2)))
    summ.add('1 goodput', 'goodput ratio per 1400 B grid point (Mb/s: '
             'SCAFFOLD/sf-iperf --udp)', '; '.join(pts), '-', None, '-',
             '(see goodput.csv)', None)
    sfl = get('payload1400', 'sat', 'scaffold', 'pkt_loss_pct')
    udl = get('payload1400', 'sat', 'udp', 'pkt_loss_pct')
    summ.add('1 goodput', 'packet loss at saturation, 1400 B (%)', sfl, udl,
             None, '0.019 %', '(reported)', None)
    sfj = [r.get('jitter_ms') for r in rows if r['case'] == 'payload1400' and
           r['tool'] == 'scaffold' and r.get('jitter_ms') is not None]
    udj = [r.get('jitter_ms') for r in rows if r['case'] == 'payload1400' and
           r['tool'] == 'udp' and r.get('jitter_ms') is not None]
    summ.add('1 goodput', 'max jitter over the 1400 B grid (ms)',
             max(sfj) if sfj else None, max(udj) if udj else None, None,
             '1.611 ms', '(reported)', None)
    sf = best('frame128', 'scaffold', 'recv_kpps')
    ud = best('frame128', 'udp', 'recv_kpps')
    r = ratio(sf, ud)
    summ.add('1 goodput', 'max received packet rate, 128 B frames (kpps; '
             'grid tops at %s Mb/s)' % max(grid['frame128']), sf, ud, r, '-',
             'ratio >= 0.9', r is not None and r >= 0.9)
    sf = best('frame1514', 'scaffold', 'goodput_mbps')
    ud = best('frame1514', 'udp', 'goodput_mbps')
    summ.add('1 goodput', 'max goodput, 1514 B frames (Mbit/s)', sf, ud,
             ratio(sf, ud), '-', '(reported)', None)
    return rows


# ---- 2. latency -------------------------------------------------------------

def callbench(ln, argv, timeout=300):
    r = ln.run([os.path.join(BIN, 'sf-callbench')] + argv, timeout=timeout)
    res = []
    for line in r.stdout.splitlines():
        try:
            res.append(json.loads(line))
        except ValueError:
            pass
    if not res:
        raise RuntimeError('sf-callbench %s: %s' % (' '.join(map(str, argv)),
                                                    r.stderr.strip()[-300:]))
    return res


def bench_latency(args, out, summ, ln):
    n = 500 if args.quick else 5000
    ncalls = 100 if args.quick else 1000
    rows = []
    sf_max = 1514 - FRAME - SF_HDR
    for label, sf_len, udp_len in (('18 B', 18, 18),
                                   ('max frame 1514 B', sf_max, 1514 - FRAME),
                                   ('%d B' % sf_max, sf_max, sf_max)):
        for mode, argv in (('scaffold', ['--object', SF_OBJ_ECHO, '-l',
                                         sf_len]),
                           ('udp', ['--udp', '%s:%d' % (ln.a2, UDP_PORT_ECHO),
                                    '-l', udp_len])):
            r = callbench(ln, ['rtt'] + argv + ['-n', n])[0]
            r.update(tool='sf-callbench', size=label, mode=mode)
            rows.append(r)
            log('rtt %-18s %-8s len %4d: median %.1f us mean %.1f sd %.1f '
                '(%d samples, %d lost)' % (label, mode, r['len'],
                                           r['median_us'], r['mean_us'],
                                           r['stddev_us'], r['n'],
                                           r['lost']))
    # Stack latency on h1: send call -> frame on h1-eth0 (kernel timestamp
    # of the outgoing frame), echo frame on h1-eth0 -> recv returns.
    stack = []
    iface = ln.h1.defaultIntf().name
    for mode, argv in (('scaffold', ['--object', SF_OBJ_ECHO]),
                       ('udp', ['--udp', '%s:%d' % (ln.a2, UDP_PORT_ECHO)])):
        for c in callbench(ln, ['stack', '--iface', iface] + argv +
                           ['-l', 1400, '-n', n]):
            c['mode'] = mode
            stack.append(c)
            log('stack %-10s %-8s 1400 B: median %.1f us mean %.1f sd %.1f '
                '(%d samples, %d incomplete)' % (
                    c['call'], mode, c['median_us'], c['mean_us'],
                    c['stddev_us'], c['n'], c['failed']))
    write_csv(os.path.join(out, 'stack.csv'), stack,
              ['call', 'mode', 'len', 'n', 'failed', 'mean_us', 'stddev_us',
               'min_us', 'median_us', 'max_us'])
    for call, demo in (('stack_send', '48-53 us'), ('stack_recv',
                                                    '83-90 us')):
        sf = [c for c in stack if c['call'] == call and
              c['mode'] == 'scaffold']
        ud = [c for c in stack if c['call'] == call and c['mode'] == 'udp']
        sfv = sf[0]['median_us'] if sf and sf[0]['n'] else None
        udv = ud[0]['median_us'] if ud and ud[0]['n'] else None
        summ.add('2 latency', '%s median, 1400 B (us): %s' % (
            call.replace('_', ' '), 'send call -> frame on the wire'
            if call == 'stack_send' else 'frame on the wire -> recv '
            'returns'), sfv, udv, ratio(sfv, udv), demo, '(reported)', None,
            unit='mean %s +- %s' % (fmt(sf[0]['mean_us']),
                                    fmt(sf[0]['stddev_us'])) if sf else '')
    # sf-iperf --rtt as a cross-check (18 B, its maximum is 256).
    for mode, argv in (('scaffold', ['-c', SF_OBJ_IPERF]),
                       ('udp', ['--udp', '%s:%d' % (ln.a2, UDP_PORT_IPERF)])):
        r = ln.run([os.path.join(BIN, 'sf-iperf')] + argv +
                   ['--rtt', '-n', n, '-l', 18, '--json'], timeout=120)
        try:
            j = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(dict(tool='sf-iperf', size='18 B', mode=mode,
                             len=18, n=j['samples'], lost=j['lost'],
                             mean_us=j['mean_us'], stddev_us=j['stddev_us'],
                             min_us=j['min_us'], median_us=j['median_us'],
                             max_us=j['max_us']))
            log('rtt sf-iperf 18 B %-8s: median %.1f us' % (mode,
                                                             j['median_us']))
        except (ValueError, IndexError, KeyError):
            log('rtt sf-iperf %s failed: %s' % (mode, r.stderr.strip()))
    write_csv(os.path.join(out, 'rtt.csv'), rows,
              ['tool', 'size', 'mode', 'len', 'n', 'lost', 'mean_us',
               'stddev_us', 'min_us', 'median_us', 'max_us'])

    def rtt(tool, size, mode, key='median_us'):
        for r in rows:
            if (r['tool'], r['size'], r['mode']) == (tool, size, mode):
                return r[key]
        return None

    for size, demo in (('18 B', DEMO['rtt_18']),
                       ('max frame 1514 B', DEMO['rtt_max'])):
        sf, ud = rtt('sf-callbench', size, 'scaffold'), \
            rtt('sf-callbench', size, 'udp')
        r = ratio(sf, ud)
        summ.add('2 latency', 'RTT median, %s%s (us)' % (
            size, ' (SCAFFOLD %d B, UDP %d B payload)' % (sf_max, 1472)
            if size.startswith('max') else ''), sf, ud, r, demo,
            'ratio <= 1.10', r is not None and r <= 1.10)
    sf, ud = rtt('sf-iperf', '18 B', 'scaffold'), rtt('sf-iperf', '18 B',
                                                      'udp')
    summ.add('2 latency', 'RTT median 18 B, sf-iperf --rtt (us)', sf, ud,
             ratio(sf, ud), DEMO['rtt_18'], 'ratio <= 1.10',
             ratio(sf, ud) is not None and ratio(sf, ud) <= 1.10)

    # Per-call latency.
    calls = callbench(ln, ['calls', '--object', SF_OBJ_ECHO, '-n', ncalls,
                           '-l', 1400, '--bind-base', 31000], timeout=600)
    plain = callbench(ln, ['calls', '--tcp', '%s:%d' % (ln.a2, TCP_PORT_ECHO),
                           '-n', ncalls, '-l', 1400], timeout=600)
    for c in calls + plain:
        log('call %-22s n=%-5d mean %8.1f us sd %8.1f median %8.1f max %8.1f'
            '%s' % (c['call'], c['n'], c['mean_us'], c['stddev_us'],
                    c['median_us'], c['max_us'],
                    ' (%d failed)' % c['failed'] if c['failed'] else ''))
    write_csv(os.path.join(out, 'calls.csv'), calls + plain,
              ['call', 'n', 'failed', 'mean_us', 'stddev_us', 'min_us',
               'median_us', 'max_us', 'len'])
    cd = {c['call']: c for c in calls + plain}

    def m(name, key='mean_us'):
        return cd.get(name, {}).get(key)

    def sd(name):
        c = cd.get(name)
        return '%.1f +- %.1f' % (c['mean_us'], c['stddev_us']) if c else 'n/a'

    path_rtt = rtt('sf-callbench', '18 B', 'udp', 'mean_us')
    v = m('connect_sf')
    summ.add('2 calls', 'connect_sf mean (us) [plain: TCP connect]', v,
             m('plain_connect'), ratio(v, m('plain_connect')),
             DEMO['connect_sf'], '<= 2 x path RTT (2 x %s us = %s us)' % (
                 fmt(path_rtt), fmt(2 * path_rtt if path_rtt else None)),
             v is not None and path_rtt is not None and v <= 2 * path_rtt,
             unit=sd('connect_sf'))
    v = m('bind_sf_confirmed')
    summ.add('2 calls', 'bind_sf + listen_sf until the controller confirms '
             '(us) [plain: bind+listen]', v,
             (m('plain_bind') or 0) + (m('plain_listen') or 0),
             ratio(v, (m('plain_bind') or 0) + (m('plain_listen') or 0)),
             DEMO['bind_sf'], '<= 1000 us', v is not None and v <= 1000,
             unit=sd('bind_sf_confirmed'))
    for name, plain_name, demo in (
            ('bind_sf', 'plain_bind', DEMO['bind_sf']),
            ('listen_sf', 'plain_listen', DEMO['listen_sf']),
            ('send_sf', 'plain_send', DEMO['send_sf']),
            ('close_sf_fin', 'plain_close', DEMO['close_fin']),
            ('close_sf_fail', 'plain_close', DEMO['close_rst']),
            ('socket_sf', 'plain_socket', '-')):
        v = m(name)
        summ.add('2 calls', '%s mean (us)' % name, v, m(plain_name),
                 ratio(v, m(plain_name)), demo, '(reported)', None,
                 unit=sd(name))

    # Plot.
    p = plt()
    fig, (a1, a2) = p.subplots(1, 2, figsize=(14, 5))
    labels = ['18 B', 'max frame 1514 B', '%d B' % sf_max]
    x = range(len(labels))
    for off, mode in ((-0.2, 'scaffold'), (0.2, 'udp')):
        ys = [rtt('sf-callbench', l, mode) or 0 for l in labels]
        lo = [max(0, (rtt('sf-callbench', l, mode) or 0) -
                  (rtt('sf-callbench', l, mode, 'min_us') or 0))
              for l in labels]
        a1.bar([i + off for i in x], ys, 0.4, yerr=[lo, [0] * len(lo)],
               label='%s median (bar down to min)' % mode, capsize=3)
        a1.plot([i + off for i in x],
                [rtt('sf-callbench', l, mode, 'mean_us') or 0
                 for l in labels], 'k^', ms=6,
                label='mean' if mode == 'udp' else None)
    a1.set_xticks(list(x))
    a1.set_xticklabels(labels)
    a1.set_ylabel('RTT, us (stddev in rtt.csv)')
    a1.set_title('Ping-pong h1 - r1 - r2 - h2')
    a1.legend()
    names = ['socket_sf', 'connect_sf', 'send_sf', 'close_sf_fin',
             'close_sf_fail', 'bind_sf', 'listen_sf', 'bind_sf_confirmed']
    pn = ['plain_socket', 'plain_connect', 'plain_send', 'plain_close',
          'plain_close', 'plain_bind', 'plain_listen', None]
    a2.bar([i - 0.2 for i in range(len(names))],
           [m(n_) or 0 for n_ in names], 0.4,
           yerr=[m(n_, 'stddev_us') or 0 for n_ in names], label='libsf',
           capsize=3)
    a2.bar([i + 0.2 for i in range(len(names))],
           [m(n_) or 0 if n_ else 0 for n_ in pn], 0.4,
           yerr=[m(n_, 'stddev_us') or 0 if n_ else 0 for n_ in pn],
           label='kernel (TCP)', capsize=3)
    a2.set_xticks(range(len(names)))
    a2.set_xticklabels(names, rotation=30, ha='right')
    a2.set_yscale('log')
    a2.set_ylabel('mean, us (log)')
    a2.set_title('Per-call latency')
    a2.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'latency.png'), dpi=90)
    p.close(fig)
    return rows


# ---- 3. outages -------------------------------------------------------------

def bench_outage(args, out, summ):
    reps = 3 if args.quick else 20
    rows = []
    for scen in ('failover', 'mobility'):
        for i in range(1, reps + 1):
            d = os.path.join(out, '%s-%02d' % (scen, i))
            argv = [PY, os.path.join(TOP, 'mininet', '%s.py' % scen),
                    '--out', d]
            if args.quick:
                argv.append('--quick')
            if i > 1:
                argv.append('--no-plot')
            with open(os.path.join(out, '%s-%02d.log' % (scen, i)), 'w') as f:
                rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT,
                                    cwd=TOP, timeout=600).returncode
            try:
                sj = json.load(open(os.path.join(d, 'summary.json')))
            except (OSError, ValueError):
                sj = {}
            outs = sj.get('outages') or []
            extra = {}
            if scen == 'mobility':
                # The target's figure: link up to data flowing again.
                vals = [(sj.get('link_up_to_data_ms'), 'link up -> data')]
                extra['whole_outage_ms'] = outs[0].get('outage_ms') \
                    if outs else None
                if sj.get('rejoined_s') is not None and \
                        sj.get('link_up_s') is not None:
                    extra['rejoin_after_up_ms'] = round(
                        (sj['rejoined_s'] - sj['link_up_s']) * 1000, 1)
            else:
                vals = [(o.get('outage_ms'), o.get('cause')) for o in outs]
            if not vals:
                vals = [(None, 'no outage measured (rc %d)' % rc)]
            for v, cause in vals:
                row = dict(scenario=scen, rep=i, rc=rc, outage_ms=v,
                           cause=cause)
                row.update(extra)
                rows.append(row)
            log('%s %d/%d: rc %d, outages %s ms' % (
                scen, i, reps, rc, [v for v, _c in vals]))
    write_csv(os.path.join(out, 'outages.csv'), rows,
              ['scenario', 'rep', 'rc', 'outage_ms', 'cause',
               'whole_outage_ms', 'rejoin_after_up_ms'])
    p = plt()
    fig, ax = p.subplots(figsize=(8, 5))
    data = [[r['outage_ms'] for r in rows if r['scenario'] == s and
             r['outage_ms'] is not None] for s in ('failover', 'mobility')]
    ax.boxplot([d or [0] for d in data], labels=['failover', 'mobility'])
    for i, d in enumerate(data):
        ax.plot([i + 1] * len(d), d, 'o', alpha=.5)
    ax.axhline(10, ls='--', color='g', label='failover target 10 ms')
    ax.axhline(20, ls=':', color='r', label='mobility target 20 ms')
    ax.set_ylabel('outage, ms')
    ax.set_title('%d repetitions each (plain UDP/TCP: no recovery)' % reps)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'outages.png'), dpi=90)
    p.close(fig)
    for scen, target in (('failover', 10), ('mobility', 20)):
        vals = [r['outage_ms'] for r in rows if r['scenario'] == scen and
                r['outage_ms'] is not None]
        med = statistics.median(vals) if vals else None
        mx = max(vals) if vals else None
        what = 'FAIL -> data' if scen == 'failover' else 'link up -> data'
        summ.add('3 outage', '%s outage (%s) median (ms), %d samples' % (
            scen, what, len(vals)), med, 'no recovery', None,
            DEMO['outage'], '<= %d ms (median and max)' % target,
            med is not None and mx <= target, unit='max %s' % fmt(mx))
        if scen == 'mobility':
            w = [r['whole_outage_ms'] for r in rows
                 if r['scenario'] == scen and r.get('whole_outage_ms')
                 is not None]
            j = [r['rejoin_after_up_ms'] for r in rows
                 if r['scenario'] == scen and r.get('rejoin_after_up_ms')
                 is not None]
            summ.add('3 outage', 'mobility: agent re-joined after link up, '
                     'median (ms)', statistics.median(j) if j else None,
                     '-', None, '-', '(reported)', None,
                     unit='max %s' % fmt(max(j) if j else None))
            summ.add('3 outage', 'mobility: whole outage incl. %s cable '
                     'out, median (ms)' % '200 ms',
                     statistics.median(w) if w else None, '-', None,
                     DEMO['outage'], '(reported)', None,
                     unit='max %s' % fmt(max(w) if w else None))
    return rows


# ---- 4. scale ---------------------------------------------------------------

def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


_FLOW_NOISE = re.compile(r'(duration|n_packets|n_bytes|idle_age|hard_age|'
                         r'idle_time)=[^,\s]*,?\s*')


def flow_set(text):
    s = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('OFPST') or 'reply' in line:
            continue
        s.add(_FLOW_NOISE.sub('', line))
    return s


# The controller serves SCALE_SSIDS (254 hostIDs each) and hands each label
# router hostIDs in blocks of SCALE_BLOCK: with at most 128 hosts per
# router every router has one block, so a router carries 3 rules per
# attached host plus one route per other router's block plus a constant
# (docs/protocol.md section 2).
SCALE_SSIDS = '1-8'
SCALE_BLOCK = 128


def group_set(text):
    """Buckets of every group in `ovs-ofctl dump-groups` output."""
    s = set()
    for line in text.splitlines():
        m = re.match(r'\s*group_id=(\d+),(.*)', line)
        if m:
            for b in m.group(2).split('bucket=')[1:]:
                s.add((m.group(1), b.strip().rstrip(',')))
    return s


def scale_blocks(state_dir):
    """The controller's hostID blocks (rows of its store, read only)."""
    import sqlite3
    try:
        db = sqlite3.connect('file:%s?mode=ro' % os.path.join(
            state_dir, 'scaffold.db'), uri=True, timeout=5)
        try:
            return db.execute('SELECT ss_id, first_host, size, dpid FROM '
                              'blocks ORDER BY 1, 2').fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None


def scale_once(n_hosts, out, ssids=SCALE_SSIDS, block=SCALE_BLOCK):
    from functools import partial
    from scaffold import ScaffoldLineTopo, ScaffoldController, \
        scaffold_net, move_host, stop_process
    n_routers = 10
    per = n_hosts // n_routers
    obj = 6000
    rows = []
    topo = ScaffoldLineTopo(n_routers, per)
    t_build = time.time()
    ctl_cls = partial(ScaffoldController, extra_args=[
        '--ssids', ssids, '--host-block', str(block)])
    # Agents are started by us (host_params agent=False), after the
    # network is up, so that the join time is the control plane's alone.
    with scaffold_net(topo, controller=ctl_cls,
                      host_params={'agent': False},
                      wait=60, wait_joined=0) as net:
        log('scale: %d hosts on %d label routers built in %.1f s' % (
            n_hosts, n_routers, time.time() - t_build))
        ctl = net.controllers[0]
        ovs = net.scaffold.ovs
        hosts = [net.get('h%d' % i) for i in range(1, n_hosts + 1)]

        def n_joined():
            j = ctl.sfctl_json('hosts')
            if isinstance(j, dict):
                j = j.get('hosts', [])
            return len(j or [])
        t0 = time.time()
        for h in hosts:
            h.start_agent()
        t_started = time.time() - t0
        while n_joined() < n_hosts and time.time() - t0 < 300:
            time.sleep(0.1)
        t_join = time.time() - t0
        joined = n_joined()
        log('scale: %d/%d joined %.2f s after starting the agents (starting '
            'them took %.2f s)' % (joined, n_hosts, t_join, t_started))
        # One object served on h1; every other host holds a bound flow to it.
        srv = hosts[0].sf_popen([os.path.join(BIN, 'sf-callbench'), 'server',
                                 '--object', obj])
        pref1 = hosts[0].sf_prefix
        deadline = time.time() + 20
        while pref1 not in ctl.sfctl('instances', obj).stdout and \
                time.time() < deadline:
            time.sleep(0.05)
        logs = os.path.join(out, 'logs')
        os.makedirs(logs, exist_ok=True)
        t1 = time.time()
        holders = []
        for h in hosts[1:]:
            holders.append(h.sf_popen(
                [os.path.join(BIN, 'sf-callbench'), 'hold', '--object', obj],
                log=os.path.join(logs, 'hold-%s.log' % h.name)))

        def n_conn():
            c = 0
            for p in holders:
                try:
                    with open(p.log_path) as f:
                        c += 'connected' in f.read()
                except OSError:
                    pass
            return c
        while n_conn() < len(holders) and time.time() - t1 < 300:
            time.sleep(0.2)
        t_conn = time.time() - t1
        conn = n_conn()
        log('scale: %d/%d bound flows up %.2f s after starting the clients'
            % (conn, len(holders), t_conn))
        time.sleep(1)
        ctl_rss = rss_kib(ctl.proc.pid)
        agent_rss = [rss_kib(h.agent_proc.pid) for h in hosts
                     if h.agent_proc]
        agent_rss = [r for r in agent_rss if r]
        agent_pss = [pss_kib(h.agent_proc.pid) for h in hosts
                     if h.agent_proc]
        agent_pss = [r for r in agent_pss if r]
        vs_rss = rss_kib(ovs.vs_proc.pid)
        rules = {}
        for r in topo.routers + [topo.object_router]:
            proto = 'OpenFlow15' if r == topo.object_router else 'OpenFlow13'
            rules[r] = flow_set(ovs.ofctl('-O', proto, 'dump-flows', r,
                                          check=False))
        groups = group_set(ovs.ofctl('-O', 'OpenFlow15', 'dump-groups',
                                     topo.object_router, check=False))
        blocks = scale_blocks(ctl.state_dir)
        per_router = {r: len(rules[r]) for r in topo.routers}
        log('scale: controller RSS %s KiB, agent RSS median %s max %s KiB, '
            'rules per label router %s' % (
                ctl_rss, statistics.median(agent_rss) if agent_rss else None,
                max(agent_rss) if agent_rss else None,
                sorted(per_router.values())))
        # One move: the last host to the neighbouring router (path: r10,
        # r9 and the object router).
        mover = hosts[-1]
        old = mover.sf_prefix
        # The mover holds a bound flow (sf-callbench hold) and serves an
        # instance of its own, so that the object router's buckets move.
        mover_srv = mover.sf_popen([os.path.join(BIN, 'sf-callbench'),
                                    'server', '--object', obj + 1])
        deadline = time.time() + 20
        while old not in ctl.sfctl('instances', obj + 1).stdout and \
                time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        groups = group_set(ovs.ofctl('-O', 'OpenFlow15', 'dump-groups',
                                     topo.object_router, check=False))
        rules[topo.object_router] = flow_set(ovs.ofctl(
            '-O', 'OpenFlow15', 'dump-flows', topo.object_router,
            check=False))
        move_host(net, mover, topo.routers[-2], down_s=0.2)
        t_mv = time.time()
        try:
            mover.wait_joined(20, cond=lambda j: j.get('prefix') != old)
            t_rejoin = time.time() - t_mv
        except RuntimeError:
            t_rejoin = None
        time.sleep(1.5)
        groups_after = group_set(ovs.ofctl('-O', 'OpenFlow15',
                                           'dump-groups', topo.object_router,
                                           check=False))
        buckets_changed = len(groups ^ groups_after)
        changed = {}
        for r in topo.routers + [topo.object_router]:
            proto = 'OpenFlow15' if r == topo.object_router else 'OpenFlow13'
            now = flow_set(ovs.ofctl('-O', proto, 'dump-flows', r,
                                     check=False))
            changed[r] = (len(now - rules[r]), len(rules[r] - now))
        stop_process(mover_srv)
        total_changed = sum(a + b for a, b in changed.values())
        touched = sum(1 for a, b in changed.values() if a + b)
        if t_rejoin is None:
            # No move happened: nothing to count.
            total_changed = touched = buckets_changed = None
        log('scale: move %s -> %s: rejoined in %s s, %s rules changed on %s '
            'switches %s, %s buckets changed on the object router' % (
                old, mover.sf_prefix, fmt(t_rejoin, 3), total_changed,
                touched, changed, buckets_changed))
        stop_process(srv)
        for p in holders:
            stop_process(p)
        n_blocks = len(blocks) if isinstance(blocks, list) else None
        for i, r in enumerate(topo.routers):
            att = sum(1 for h in topo.host_router.values() if h == r)
            ports = (i > 0) + (i < n_routers - 1) + 1
            rows.append(dict(network_hosts=n_hosts, router=r,
                             rules=per_router[r], hosts=att,
                             switch_ports=ports,
                             residual=per_router[r] - 3 * att - ports,
                             added_by_move=changed[r][0],
                             removed_by_move=changed[r][1]))
        rows.append(dict(network_hosts=n_hosts, router=topo.object_router,
                         rules=len(rules[topo.object_router]), hosts=0,
                         added_by_move=changed[topo.object_router][0],
                         removed_by_move=changed[topo.object_router][1]))
    write_csv(os.path.join(out, 'rules-%d.csv' % n_hosts), rows,
              ['network_hosts', 'router', 'rules', 'hosts', 'switch_ports',
               'residual', 'added_by_move', 'removed_by_move'])
    write_csv(os.path.join(out, 'agent_rss-%d.csv' % n_hosts),
              [dict(agent=i + 1, rss_kib=v) for i, v in enumerate(agent_rss)])
    res = dict(hosts=n_hosts, routers=n_routers, joined=joined,
               join_s=t_join, agents_start_s=t_started, bound=conn,
               bound_s=t_conn, controller_rss_kib=ctl_rss,
               vswitchd_rss_kib=vs_rss,
               agent_rss_kib_median=statistics.median(agent_rss)
               if agent_rss else None,
               agent_rss_kib_max=max(agent_rss) if agent_rss else None,
               agent_pss_kib_median=statistics.median(agent_pss)
               if agent_pss else None,
               move_rejoin_s=t_rejoin, move_rules_changed=total_changed,
               move_switches_touched=touched,
               move_buckets_changed=buckets_changed, blocks=n_blocks,
               ssids=ssids, host_block=block, rules=rows,
               agent_rss=agent_rss, per=per)
    return res


def bench_scale(args, out, summ):
    sizes = getattr(args, 'scale_sizes', None) or \
        ([50, 100] if args.quick else [200, 1000])
    runs = []
    for n in sizes:
        log('scale: %d hosts' % n)
        runs.append(scale_once(n, out,
                               getattr(args, 'scale_ssids', None)
                               or SCALE_SSIDS,
                               getattr(args, 'scale_block', None)
                               or SCALE_BLOCK))
    res = runs[-1]
    n_hosts, n_routers, per = res['hosts'], res['routers'], res['per']
    joined, t_join, conn, t_conn = res['joined'], res['join_s'], \
        res['bound'], res['bound_s']
    ctl_rss, vs_rss = res['controller_rss_kib'], res['vswitchd_rss_kib']
    agent_rss, rows = res['agent_rss'], res['rules']
    total_changed = res['move_rules_changed']
    touched = res['move_switches_touched']
    write_csv(os.path.join(out, 'rules.csv'),
              [r for x in runs for r in x['rules']],
              ['network_hosts', 'router', 'rules', 'hosts', 'switch_ports',
               'residual', 'added_by_move', 'removed_by_move'])
    with open(os.path.join(out, 'scale.json'), 'w') as f:
        json.dump([{k: v for k, v in x.items() if k not in ('rules',
                                                              'agent_rss')}
                   for x in runs], f, indent=1)
    p = plt()
    fig, (a1, a2) = p.subplots(1, 2, figsize=(12, 4.5))
    lr = [r for r in rows if r['hosts']]
    a1.bar(range(len(lr)), [r['rules'] for r in lr], label='rules')
    a1.plot(range(len(lr)), [r['hosts'] for r in lr], 'r_', ms=20,
            label='hosts attached')
    a1.set_xlabel('label router')
    a1.set_title('%d hosts: rules per label router' % n_hosts)
    a1.legend()
    a2.hist([v / 1024 for v in agent_rss], bins=20)
    a2.axvline(2, color='r', ls='--', label='target 2 MiB')
    a2.set_xlabel('agent RSS, MiB')
    a2.set_title('controller %.1f MiB, vswitchd %.1f MiB' % (
        (ctl_rss or 0) / 1024, (vs_rss or 0) / 1024))
    a2.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'scale.png'), dpi=90)
    p.close(fig)
    summ.add('4 scale', 'hosts joined / time to converge (s)',
             '%d/%d in %s' % (joined, n_hosts, fmt(t_join, 2)), '-', None,
             '-', 'all join', joined == n_hosts,
             unit='%.0f joins/s' % (joined / t_join) if t_join else '')
    summ.add('4 scale', 'bound flows held / time (s)',
             '%d/%d in %s' % (conn, n_hosts - 1, fmt(t_conn, 2)), '-', None,
             '-', 'all connect', conn == n_hosts - 1,
             unit='%.0f connects/s' % (conn / t_conn) if t_conn else '')
    summ.add('4 scale', 'agent RSS median / max (KiB)',
             res['agent_rss_kib_median'], '-', None, '-', '<= 2048 KiB',
             res['agent_rss_kib_max'] is not None and
             res['agent_rss_kib_max'] <= 2048,
             unit='max %s' % res['agent_rss_kib_max'])
    summ.add('4 scale', 'agent PSS median (KiB; shared pages divided among '
             'the processes mapping them)', res.get('agent_pss_kib_median'),
             '-', None, '-', '(reported)', None)
    summ.add('4 scale', 'controller RSS (KiB)', ctl_rss, '-', None, '-',
             '(reported; vswitchd %s KiB)' % vs_rss, None)
    mx = max(r['rules'] for r in lr)
    resid = {x['hosts']: sorted({r['residual'] for r in x['rules']
                                 if r.get('residual') is not None})
             for x in runs}
    same = len({tuple(v) for v in resid.values()}) == 1
    summ.add('4 scale', 'rules per label router, max (%d hosts in the '
             'network, %d attached; ssIDs %s, blocks of %d, %s blocks)' % (
                 n_hosts, per, res['ssids'], res['host_block'],
                 res['blocks']), mx, '-', None, '-',
             'hosts + a constant', same,
             unit='= 3 x attached + switch ports + residual %s at %s '
             'hosts' % (' / '.join(str(v) for v in resid.values()),
                        ' / '.join(str(k) for k in resid)))
    small = runs[0]
    if len(runs) < 2:
        summ.rows[-1]['met'] = None
        summ.rows[-1]['target'] += ' (not judged: one network size)'
    if joined < n_hosts:
        # Not every host joined: the rule counts say nothing about the
        # target.
        summ.rows[-1]['met'] = None
        summ.rows[-1]['target'] += ' (not judged: %d of %d hosts joined)' \
            % (joined, n_hosts)

    def moved(x):
        """The move's figures of run x, or 'not measured'."""
        if x['move_rejoin_s'] is None or x['move_rules_changed'] is None:
            return 'not measured (the moved host did not re-join)'
        return '%d rules on %d of %d switches, %s buckets' % (
            x['move_rules_changed'], x['move_switches_touched'],
            x['routers'] + 1, x['move_buckets_changed'])
    measured = res['move_rejoin_s'] is not None \
        and total_changed is not None
    # The path of the move: the old router, the new one and the object
    # router (whose flows only change if a block is allocated).
    summ.add('4 scale', 'rules changed by one move to the next router '
             '(flows added+removed; object router buckets)',
             total_changed if measured else 'not measured', '-', None, '-',
             'proportional to the path (<= 3 switches: old router, new '
             'router, object router)' + (
                 '' if measured else ' (not judged: not measured)'),
             touched <= 3 if measured else None,
             unit=('%s; at %d hosts: %s' % (moved(res), small['hosts'],
                                             moved(small)))
             if len(runs) > 1 else moved(res))
    summ.add('4 scale', 'move: re-joined after link up (s)',
             res['move_rejoin_s'] if res['move_rejoin_s'] is not None
             else 'not measured', '-', None, '-', '(reported)', None)
    return [{k: v for k, v in x.items() if k not in ('rules', 'agent_rss')}
            for x in runs]


# ---- 5. ofload --------------------------------------------------------------

def ofload_run(args, out, name, extra):
    """One bench/ofload.sh run: ovs-testcontroller and scaffold-controller
    (with 'extra' flags) under the name 'name', same run; returns the
    medians {(controller, mode): responses/s} and the exit status."""
    os.makedirs(out, exist_ok=True)
    state = os.path.join(out, 'ctl-state')
    os.makedirs(state, exist_ok=True)
    cmd = ('%s --listen tcp:127.0.0.1:{port} --state-dir %s --log-level '
           'warn --l2-learning%s' % (os.path.join(BIN, 'scaffold-controller'),
                                     state, extra))
    argv = [os.path.join(TOP, 'bench', 'ofload.sh'), '--out', out,
            '--name', name, '--controller-cmd', cmd]
    if args.quick:
        argv += ['--loops', '4', '--warmup', '1']
    else:
        argv += ['--ref', '--rounds', '3']
    with open(os.path.join(out, 'ofload.out'), 'w') as f:
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT,
                            cwd=TOP, timeout=1800).returncode
    text = open(os.path.join(out, 'ofload.out')).read()
    for line in text.splitlines():
        if line.startswith(('MEDIAN', 'RATIO', 'WARNING')):
            log('ofload %s: %s' % (name, line))
    med = {}
    for m in re.finditer(r'^MEDIAN (\S+) (\S+) responses_per_s=(\d+)', text,
                         re.M):
        med[(m.group(1), m.group(2))] = float(m.group(3))
    return med, rc


BUSY_POLL_US = 200


def bench_ofload(args, out, summ):
    # The controller as it runs by default, then with --busy-poll (a loop
    # that keeps polling BUSY_POLL_US after each event instead of sleeping
    # in epoll: a CPU's worth of polling under load), each in its own run
    # beside its own ovs-testcontroller figures.
    med, rc = ofload_run(args, out, 'scaffold', '')
    bmed, brc = ofload_run(args, os.path.join(out, 'busy'), 'scaffold-busy',
                           ' --busy-poll %d' % BUSY_POLL_US)
    rows = list(csv.DictReader(open(os.path.join(out, 'ofload.csv')))) \
        if os.path.exists(os.path.join(out, 'ofload.csv')) else []
    p = plt()
    fig, axes = p.subplots(1, 2, figsize=(11, 4.5))
    both = dict(med)
    for k, v in bmed.items():
        if k[0] != 'ovs-testcontroller' and k[0] != 'sf-ofload-ref':
            both[k] = v
    for a, mode in zip(axes, ('throughput', 'latency')):
        names = [k[0] for k in both if k[1] == mode]
        vals = [both[(n_, mode)] for n_ in names]
        a.bar(names, vals)
        for i, v in enumerate(vals):
            a.text(i, v, '%.3g' % v, ha='center', va='bottom')
        a.set_title('%s mode (median responses/s)' % mode)
        a.tick_params(axis='x', labelsize=8)
        if mode == 'throughput':
            a.set_yscale('log')
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'ofload.png'), dpi=90)
    p.close(fig)
    for mode, tgt in (('throughput', 20), ('latency', 1.5)):
        sf = med.get(('scaffold', mode))
        tc = med.get(('ovs-testcontroller', mode))
        r = ratio(sf, tc)
        summ.add('5 ofload', '%s mode, responses/s [plain: '
                 'ovs-testcontroller]' % mode, sf, tc, r, '-',
                 '>= %gx' % tgt, r is not None and r >= tgt)
        bsf = bmed.get(('scaffold-busy', mode))
        btc = bmed.get(('ovs-testcontroller', mode))
        br = ratio(bsf, btc)
        summ.add('5 ofload', '%s mode with --busy-poll %d, responses/s '
                 '[plain: ovs-testcontroller, same run]'
                 % (mode, BUSY_POLL_US), bsf, btc, br, '-',
                 '>= %gx' % tgt, br is not None and br >= tgt)
        ref = med.get(('sf-ofload-ref', mode))
        if ref:
            summ.add('5 ofload', '%s mode, sf-ofload-ref ceiling' % mode,
                     ref, tc, ratio(ref, tc), '-', '(calibration)', None)
    return dict(rc=rc or brc,
                medians={'%s/%s' % k: v for k, v in
                         list(med.items()) + [(('busy:' + k[0], k[1]), v)
                                              for k, v in bmed.items()]},
                rows=len(rows))


# ---- 6. control-plane rates ------------------------------------------------

def bench_ctlload(args, out, summ):
    hosts, rounds = (100, 1) if args.quick else (200, 3)
    argv = [os.path.join(TOP, 'bench', 'ctlload.sh'), '--out', out,
            '--rounds', str(rounds), '--', '--hosts', str(hosts), '--binds',
            '4', '--objects', '20', '--window', '32']
    with open(os.path.join(out, 'ctlload.out'), 'w') as f:
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT,
                            cwd=TOP, timeout=900).returncode
    for line in open(os.path.join(out, 'ctlload.out')):
        if line.startswith('round '):
            log('ctlload: ' + line.rstrip())
    runs = []
    for r in range(1, rounds + 1):
        try:
            runs.append(json.load(open(os.path.join(out,
                                                    'round-%d.json' % r))))
        except (OSError, ValueError):
            pass
    res = {}
    for ph in ('join', 'bind', 'leave'):
        got = [x[ph] for x in runs if ph in x]
        if not got:
            continue
        rate = statistics.median(g['per_second'] for g in got)
        lat = statistics.median(g['latency_us']['median'] for g in got)
        p99 = statistics.median(g['latency_us']['p99'] for g in got)
        ok = all(g['answered'] == g['requests'] for g in got)
        res[ph] = dict(per_second=rate, latency_median_us=lat,
                       latency_p99_us=p99, all_answered=ok)
        summ.add('4 control', '%ss/s through the real control plane '
                 '(%d hosts, window 32; median of %d rounds)'
                 % (ph, hosts, len(got)), round(rate),
                 '-', None, '-', '(reported; every request answered: %s)'
                 % ('yes' if ok else 'NO'), None,
                 unit='latency median %.0f us, p99 %.0f us' % (lat, p99))
    write_csv(os.path.join(out, 'ctlload.csv'),
              [dict(phase=k, **v) for k, v in res.items()])
    return dict(rc=rc, phases=res)


# --------------------------------------------------------------------------
# Report.

def machine_info():
    def sh(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True,
                                  text=True, cwd=TOP).stdout.strip()
        except OSError:
            return ''
    cpu = ''
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return dict(uname=' '.join(platform.uname()), cpu=cpu,
                ncpu=os.cpu_count(), loadavg=open('/proc/loadavg').read()
                .strip(), date=time.strftime('%Y-%m-%d %H:%M:%S UTC',
                                             time.gmtime()),
                commit=sh('git rev-parse HEAD'),
                dirty=sh('git status --porcelain --untracked-files=no | '
                         'wc -l'))


def write_report(args, outdir, summ, results, errors, m0, elapsed):
    m1 = machine_info()
    lines = ['# SCAFFOLD benchmark results', '',
             'Generated by `bench/run.py%s%s` in %.0f s.' % (
                 ' --quick' if args.quick else '',
                 ' --only %s' % args.only if args.only else '', elapsed), '',
             '| machine | |', '|---|---|',
             '| uname -a | `%s` |' % m0['uname'],
             '| CPU | %s (%s CPUs) |' % (m0['cpu'], m0['ncpu']),
             '| load average (start / end) | %s / %s |' % (m0['loadavg'],
                                                           m1['loadavg']),
             '| date (start) | %s |' % m0['date'],
             '| git commit | %s%s |' % (m0['commit'], ' (+%s modified '
                                        'files, uncommitted)' % m0['dirty']
                                        if m0['dirty'] not in ('', '0')
                                        else ''),
             '', '## Summary', '',
             'Every figure is measured in this run; "plain" is the '
             'non-SCAFFOLD counterpart on the same topology in the same run; '
             'ratio = SCAFFOLD / plain.  The 2010 demo figures come from '
             '2010 hardware.  "met" is judged on the measured figure as '
             'printed; "-" means no target (reported only).', '',
             '| item | metric | SCAFFOLD | plain | ratio | demo 2010 | '
             'target | met |', '|---|---|---|---|---|---|---|---|']
    for r in summ.rows:
        sfv = fmt(r['scaffold'], 2 if isinstance(r['scaffold'], float) and
                  r['scaffold'] < 10 else 1)
        if r['unit']:
            sfv += ' (%s)' % r['unit']
        met = '-' if r['met'] is None else ('**met**' if r['met']
                                            else '**NOT met**')
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['item'], r['metric'], sfv, fmt(r['plain'], 2)
            if isinstance(r['plain'], float) and r['plain'] < 10
            else fmt(r['plain']), fmt(r['ratio'], 2), r['demo'], r['target'],
            met))
    if errors:
        lines += ['', '## Benchmarks that failed', '']
        lines += ['- %s: %s' % kv for kv in errors.items()]
    lines += ['', '## Method and files', '']
    notes = {
        'goodput': 'Topology h1 - r1 - r2 - h2 (mininet ScaffoldLineTopo(2, '
        '1), userspace OVS, the real controller; object router O linked to '
        'both).  SCAFFOLD: `sf-iperf -c OBJ` (bound flow).  Plain: kernel '
        'UDP between the hosts\' flowID prefixes (each host gets '
        'ss.host.255.254/32, a route to the peer\'s ss.host/16 and a '
        'permanent neighbour entry); the label routers\' own SCAFFOLD rules '
        '(anti-spoofing in_port+nw_src=ss.host/16, prefix nw_dst=ss.host/16, '
        'last hop rewrites the MACs) route it unchanged: no extra rules '
        'are installed (flows-before/after.txt show the counters).  Tools: '
        '`sf-iperf --udp` and iperf3.  Frame cases: 128 B frame = SCAFFOLD '
        'payload 66 B / UDP 86 B; 1514 B = 1452 / 1472 B (SCAFFOLD adds a '
        '20-byte header); their grid rate is on the wire (same packet rate '
        'for both); the 1400 B case\'s grid is payload bit/s; "sat" = as '
        'fast as possible.  Goodput = received bytes x 8 / the longer of '
        'the sender\'s and the receiver\'s (first to last datagram) '
        'durations.  Saturation points vary several-fold from run to run '
        'on this shared 2-CPU VM (the kernel drops most of the overload '
        'before OVS): read the per-point ratios, not only the maxima.  '
        'goodput/goodput.csv, goodput.png.',
        'latency': 'RTT: `sf-callbench rtt` (bench/sf-calls.c) ping-pong, '
        'one datagram at a time, against `sf-callbench server` on h2 '
        '(bound flow echo / kernel UDP echo, same path).  SCAFFOLD\'s '
        'largest payload is 1452 B (MTU 1500 - 48), so the "max frame" row '
        'compares equal 1514-byte frames (1452 vs 1472 B payload); a 1452 B '
        'row compares equal payloads.  sf-iperf --rtt (18 B) is a '
        'cross-check (its echo is capped at 256 B).  Calls: `sf-callbench '
        'calls` times each libsf call with clock_gettime against the live '
        'agent and the echo server; bind_sf_confirmed is bind_sf + '
        'listen_sf + a blocking getsockopt_sf(SF_SO_BOUND), which returns '
        'when the controller\'s Bind reply reached the agent; the '
        'controller sends that reply only after the object router '
        'confirmed the group bucket with a barrier (docs/protocol.md 5.5), '
        'so the figure includes the rule installation.  libsf has no RST '
        'close: '
        'close_sf_fail is close_sf(SF_SEND_FAIL), the abortive close it '
        'offers; close_sf returns without waiting for the FIN exchange '
        '(the agent does it).  Plain: the same calls on kernel TCP sockets '
        'to h2 through the same switches.  Stack latency (`sf-callbench '
        'stack`, 1400 B): CLOCK_REALTIME before the send call vs the '
        'kernel\'s timestamp (SO_TIMESTAMPNS) of the outgoing frame on '
        'h1\'s interface seen by a packet socket; and the echo frame\'s '
        'timestamp on the same interface vs the recv call returning it; '
        'plain = the same for kernel UDP.  latency/rtt.csv, calls.csv, '
        'stack.csv, latency.png.',
        'outage': 'mininet/failover.py and mobility.py run N times each '
        '(their own outage measurement; failover: the sf-tftp client\'s '
        'own figure, from the last block before the shed to the first '
        'block after it, two outages per run (the earlier method, the '
        'longest pause of the output file sampled every 2 ms in a window '
        'around the shed, is kept as window_outage_ms in each run\'s '
        'summary.json: it cannot read below the transfer\'s own ~7 ms '
        'pacing pauses); mobility: link up to the first data after it, as '
        'the scenario reports).  '
        'Plain UDP/TCP do not recover from a server failure or an address '
        'change at all.  outage/outages.csv, outages.png, per-run folders.',
        'scale': 'ScaffoldLineTopo(10 routers, N/10 hosts each) on one '
        'private userspace OVS, the controller serving ssIDs ' +
        SCALE_SSIDS + ' with hostID blocks of ' + str(SCALE_BLOCK) +
        ' by default (`--scale-ssids`, `--scale-block`; the summary '
        'names the values used), agents '
        'started (nsenter) after the network '
        'is up; converge = all hosts listed by `sfctl hosts`; then h1 '
        'serves an object and every other host holds a bound flow to it '
        '(`sf-callbench hold`).  Rules: `ovs-ofctl dump-flows` per label '
        'router; residual = rules - 3 x attached hosts - switch ports.  A '
        'move = the last host (holding its flow and serving an instance of '
        'its own) has its cable moved from r10 to r9 (move_host), '
        'flows diffed on every switch and the object router\'s group '
        'buckets diffed (1.5 s after the re-join); a move that did not '
        'happen is "not measured".  Two '
        'network sizes, so that the per-router residual shows whether it '
        'is constant.  RSS from /proc/PID/status.  No '
        'plain counterpart (ordinary hosts need no join).  scale/.',
        'ctlload': '`bench/ctlload.sh`: sf-ctlload (bench/ctlload.c) in a '
        'namespace on an edge port of s1 plays N hosts, each with its own '
        'MAC, on the tests\' small network (s1, s2 label routers, s3 '
        'object router, private patched OVS, a fresh controller per '
        'round): N JoinRequests, 4 BindRequests per host over 20 objects, '
        'N LeaveRequests, at most 32 outstanding, retransmitted with the '
        'same id after 200 ms.  Every request is a real in-band frame '
        '(label router packet-in, controller, packet-out); a bind is '
        'answered once the object router confirmed the bucket (barrier).  '
        'Rate = answered / phase duration.  ctlload/.',
        'ofload': 'bench/ofload.sh (a colleague\'s cbench-style harness, '
        'unchanged): sf-ofload against ovs-testcontroller and '
        'scaffold-controller --l2-learning, same run; CPU placement split '
        '(controller on CPU 1, generator on CPU 0; the latency ratio is '
        'placement-bound, see bench/README.md).  Run twice: the controller '
        'as it runs by default, and with --busy-poll %d (it keeps polling '
        'for %d us after each event instead of sleeping in epoll, so a '
        'switch that answers quickly finds it awake: no cross-CPU wake-up; '
        'it costs up to a CPU under load and sleeps when idle), each beside '
        'its own ovs-testcontroller figures.  ofload/, ofload/busy/.'
        % (BUSY_POLL_US, BUSY_POLL_US),
    }
    for k in ALL:
        if k in results or k in errors:
            lines.append('- **%s**: %s' % (k, notes[k]))
    if 'ofload' in results:
        lines += ['', '## ofload medians', '']
        for k, v in sorted(results['ofload']['medians'].items()):
            lines.append('- %s: %.0f responses/s' % (k, v))
    if 'scale' in results:
        lines += ['', '## scale', '', '```',
                  json.dumps(results['scale'], indent=1), '```']
    if 'outage' in results:
        lines += ['', '## outages (every repetition)', '',
                  '| scenario | rep | rc | outage ms | cause |',
                  '|---|---|---|---|---|']
        for r in results['outage']:
            lines.append('| %s | %s | %s | %s | %s |' % (
                r['scenario'], r['rep'], r['rc'], fmt(r['outage_ms']),
                r['cause']))
    lines.append('')
    path = os.path.join(outdir, 'RESULTS.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    return path


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='subset of the grid, fewer repetitions, 100 hosts '
                    '(< 10 min)')
    ap.add_argument('--only', metavar='NAME[,NAME]',
                    help='run only these: %s' % ', '.join(ALL))
    ap.add_argument('--out', metavar='DIR',
                    help='output folder (default bench/out/TIMESTAMP)')
    ap.add_argument('--scale-sizes', metavar='N[,N]',
                    help='scale: network sizes in hosts, multiples of 10 '
                    '(default 200,1000; --quick 50,100); the last is '
                    'the one judged')
    ap.add_argument('--scale-ssids', metavar='LIST',
                    help='scale: the controller\'s --ssids (default %s)'
                    % SCALE_SSIDS)
    ap.add_argument('--scale-block', metavar='B', type=int,
                    help='scale: the controller\'s --host-block (default '
                    '%d)' % SCALE_BLOCK)
    args = ap.parse_args()
    if args.scale_sizes:
        try:
            args.scale_sizes = [int(x) for x in args.scale_sizes.split(',')]
        except ValueError:
            args.scale_sizes = None
        if not args.scale_sizes or any(n < 10 or n % 10 or n > 2000
                                       for n in args.scale_sizes):
            ap.error('--scale-sizes: expected host counts 10..2000, '
                     'multiples of 10, comma-separated')
    sel = ALL
    if args.only:
        sel = [s.strip() for s in args.only.split(',') if s.strip()]
        bad = [s for s in sel if s not in ALL]
        if bad:
            ap.error('unknown benchmark %s (choose from %s)' % (
                ', '.join(bad), ', '.join(ALL)))
    if os.geteuid() != 0:
        print('bench/run.py: needs root', file=sys.stderr)
        return 77
    for b in ('sf-iperf', 'sf-callbench', 'scaffold-controller',
              'scaffold-hostagent', 'sf-ofload'):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            print('bench/run.py: build/bin/%s missing (make)' % b,
                  file=sys.stderr)
            return 77
    outdir = args.out or os.path.join(TOP, 'bench', 'out',
                                      time.strftime('%Y%m%d-%H%M%S'))
    os.makedirs(outdir, exist_ok=True)
    outdir = os.path.abspath(outdir)
    m0 = machine_info()
    log('bench: %s -> %s (%s)' % (', '.join(sel), outdir,
                                  'quick' if args.quick else 'full'))
    summ = Summary()
    results, errors = {}, {}
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(
        KeyboardInterrupt()))

    def sub(name):
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        return d
    try:
        net_sel = [s for s in ('goodput', 'latency') if s in sel]
        if net_sel:
            try:
                with LineNet(sub(net_sel[0])) as ln:
                    for name in net_sel:
                        log('== %s' % name)
                        try:
                            fn = bench_goodput if name == 'goodput' \
                                else bench_latency
                            results[name] = fn(args, sub(name), summ, ln)
                        except Exception as e:  # pylint: disable=broad-except
                            errors[name] = repr(e)
                            log('%s failed: %r' % (name, e))
            except Exception as e:              # pylint: disable=broad-except
                for name in net_sel:
                    errors.setdefault(name, 'network: %r' % e)
                log('line network failed: %r' % e)
        for name, fn in (('outage', bench_outage), ('scale', bench_scale),
                         ('ofload', bench_ofload),
                         ('ctlload', bench_ctlload)):
            if name not in sel:
                continue
            log('== %s' % name)
            try:
                results[name] = fn(args, sub(name), summ)
            except Exception as e:              # pylint: disable=broad-except
                errors[name] = repr(e)
                log('%s failed: %r' % (name, e))
    except KeyboardInterrupt:
        errors['interrupted'] = 'by a signal'
        log('interrupted')
    path = write_report(args, outdir, summ, results, errors, m0,
                        time.time() - T0)
    with open(path) as f:
        text = f.read()
    s = text.index('## Summary')
    e = text.find('\n## ', s + 5)
    print(text[s:e if e > 0 else None])
    log('report: %s' % path)
    return 1 if errors or not results else 0


if __name__ == '__main__':
    sys.exit(main())
