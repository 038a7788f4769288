#!/usr/bin/python3
"""Throughput experiment on the SCAFFOLD demo topology (issue #6).

sf-iperf sends 1400-byte datagrams from h1 (label router A) to h2 (label
router B) over a SCAFFOLD bound flow (h1 -> A -> B -> h2: two label
routers), paced at each input rate of a sweep up to saturation (default
10, 50, 100, 200, 400, 700, 1000, 1400 Mbit/s and unlimited; --quick: 50, 200 Mbit/s
and unlimited, 1 s each).  For each rate the kernel UDP counterpart runs on
the same hosts, switches and path (sf-iperf --udp): h1 and h2 get an extra
kernel address inside their own flowID prefix (ss.host.255.254/32, a sockID
the agents never hand out), a host route to the peer's and a permanent
neighbour entry for it (the label routers drop ARP and rewrite the
Ethernet addresses on the last hop), so the controller's label-router rules
(match on the flowID prefix of the IPv4 addresses) forward plain UDP like
SCAFFOLD.  If a short kernel UDP probe gets nothing across, the kernel runs
are skipped with a message (never faked).

The figures are sf-iperf's own: the client's send rate, and the server's
report of what arrived (receive rate, loss, RFC 3550 jitter).  The data
path is userspace OVS (ovs-vswitchd's one polling thread is the ceiling,
see /work/shared/ENVIRONMENT.md), so compare the two stacks in the same run
rather than reading absolute numbers.

Writes to --out (default mininet/out/throughput-TIME/):
  throughput.csv  stack,input_mbit_s,send_mbit_s,recv_mbit_s,sent_pkts,
                  recv_pkts,lost,loss_pct,jitter_ms,out_of_order,rc
                  (input 0 = unlimited; stack scaffold or udp)
  summary.json    the same, plus the setup
  throughput.png  send and receive rate vs. input rate (both stacks), loss
  logs/           servers' JSON reports, agents', controller's logs
Exit status: 0 all checks passed, 1 a check failed, 2 usage, 77 cannot run
here, 130 interrupted.  Run as root with Debian's python:

    /usr/bin/python3 mininet/throughput.py [--quick] [--out DIR]
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scenario                                    # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import ScaffoldTopo, scaffold_net, SF_BIN  # noqa: E402

NAME = 'throughput'
IPERF = os.path.join(SF_BIN, 'sf-iperf')
OBJ = 5001
UDP_PORT = 5201
KERNEL_SOCK = '255.254'     # sockID part of the kernel addresses


def options():
    p = scenario.parser(NAME, __doc__)
    for act in p._actions:           # no byte sampler here
        if '--sample-ms' in act.option_strings:
            act.help = __import__('argparse').SUPPRESS
    p.add_argument('--rates', metavar='LIST',
                   help='input rates, Mbit/s, comma-separated, 0 = '
                   'unlimited (default 10,50,100,200,400,700,1000,1400,0; --quick '
                   '50,200,0)')
    p.add_argument('-t', '--time', type=float, metavar='S',
                   help='seconds per run (default 3; --quick 1)')
    p.add_argument('-l', '--length', type=int, default=1400,
                   help='payload bytes (default 1400)')
    p.add_argument('--no-udp', action='store_true',
                   help='SCAFFOLD only (no kernel UDP comparison)')
    a = p.parse_args()
    if a.rates is None:
        a.rates = '50,200,0' if a.quick else '10,50,100,200,400,700,1000,1400,0'
    try:
        a.rates = [float(x) for x in a.rates.split(',') if x.strip()]
    except ValueError:
        p.error('--rates: numbers, comma-separated')
    a.time = a.time or (1.0 if a.quick else 3.0)
    return a


def kernel_addr(host):
    """The kernel UDP address of a joined host: inside its flowID prefix."""
    return '%s.%s' % (host.sf_join['prefix'], KERNEL_SOCK)


def setup_kernel_udp(h_a, h_b):
    """Gives both hosts a kernel address inside their flowID prefix, a host
    route to the other's and a permanent neighbour entry for it (any MAC
    would do: the label routers rewrite it; the gateway port's is used).
    Returns (addr_a, addr_b).  Only inside the hosts' namespaces: it goes
    away with them."""
    addrs = (kernel_addr(h_a), kernel_addr(h_b))
    for h, mine, other in ((h_a, addrs[0], addrs[1]),
                           (h_b, addrs[1], addrs[0])):
        intf = h.defaultIntf().name
        h.cmd('ip addr add %s/32 dev %s' % (mine, intf))
        h.cmd('ip route replace %s/32 dev %s src %s' % (other, intf, mine))
        h.cmd('ip neigh replace %s lladdr %s dev %s nud permanent'
              % (other, h.gateway_mac(), intf))
    return addrs


def parse_json(text):
    """The last complete JSON object in text (sf-iperf --json prints one,
    pretty-printed), or None."""
    text = text.strip()
    start = text.find('{')
    while start >= 0:
        try:
            return json.loads(text[start:])
        except ValueError:
            start = text.find('{', start + 1)
    return None


def run_iperf(h1, target, rate, secs, length, timeout):
    """One sf-iperf client run; returns a row dict (rc and error on
    failure)."""
    bw = '0' if rate == 0 else '%gM' % rate
    argv = [IPERF] + target + ['-b', bw, '-l', length, '-t', secs,
                               '-i', secs, '--json']
    try:
        r = h1.sf_run(argv, timeout=timeout)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except Exception as e:                         # pylint: disable=broad-except
        rc, out, err = -1, '', str(e)
    js = parse_json(out) or {}
    sent = js.get('sent') or {}
    recv = js.get('received') or {}
    return dict(
        input_mbit_s=rate, rc=rc,
        send_mbit_s=sent.get('bits_per_second', 0) / 1e6 if sent else None,
        recv_mbit_s=recv.get('bits_per_second', 0) / 1e6 if recv else None,
        sent_pkts=sent.get('packets'), recv_pkts=recv.get('packets'),
        send_errors=sent.get('send_errors'),
        lost=recv.get('lost'), loss_pct=recv.get('lost_percent'),
        jitter_ms=recv.get('jitter_ms'),
        out_of_order=recv.get('out_of_order'),
        error=(err.strip()[-300:] if rc else ''))


def write_csv(path, rows):
    import csv
    cols = ['stack', 'input_mbit_s', 'send_mbit_s', 'recv_mbit_s',
            'sent_pkts', 'recv_pkts', 'lost', 'loss_pct', 'jitter_ms',
            'out_of_order', 'rc']
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow(['' if r.get(c) is None else
                        ('%.3f' % r[c] if isinstance(r[c], float) else r[c])
                        for c in cols])


def plot(path, rows, rates, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = ['%g' % r if r else 'unlimited' for r in rates]
    xs = list(range(len(rates)))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True,
                                   gridspec_kw=dict(height_ratios=[3, 1.6]))
    style = {'scaffold': ('tab:blue', 'SCAFFOLD bound flow'),
             'udp': ('tab:orange', 'kernel UDP')}
    for stack, (col, name) in style.items():
        by = {r['input_mbit_s']: r for r in rows if r['stack'] == stack}
        if not by:
            continue
        pts = [(x, by.get(rt)) for x, rt in zip(xs, rates)]
        pts = [(x, r) for x, r in pts if r and r.get('send_mbit_s')
               is not None]
        if not pts:
            continue
        px = [x for x, _r in pts]
        ax1.plot(px, [r['send_mbit_s'] for _x, r in pts], '--o', color=col,
                 mfc='none', label='%s: sent' % name)
        ax1.plot(px, [r['recv_mbit_s'] or 0 for _x, r in pts], '-s',
                 color=col, label='%s: received' % name)
        for x, r in pts:
            if r['input_mbit_s'] == 0:
                ax1.annotate('sent %.0f' % r['send_mbit_s'],
                             (x, r['send_mbit_s']), textcoords='offset '
                             'points', xytext=(-8, 0), ha='right',
                             va='center', fontsize=7, color=col)
            ax1.annotate('%.0f' % (r['recv_mbit_s'] or 0),
                         (x, r['recv_mbit_s'] or 0), textcoords='offset '
                         'points', xytext=(0, -13 if stack == 'udp' else 6),
                         ha='center', fontsize=7, color=col)
        off = -0.18 if stack == 'scaffold' else 0.18
        ax2.bar([x + off for x in px], [r['loss_pct'] or 0 for _x, r in pts],
                width=0.34, color=col, label=name)
    ideal = [r if r else None for r in rates]
    ax1.plot([x for x, r in zip(xs, ideal) if r],
             [r for r in ideal if r], ':', color='0.5', lw=1,
             label='input rate')
    # Log scale: the sweep spans 10 Mbit/s to what an unpaced sender
    # pushes into its own stack (Gbit/s, mostly dropped before the wire).
    ax1.set_yscale('log')
    ax1.set_ylabel('Mbit/s (payload, log scale)')
    ax1.set_title(title, fontsize=10)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc='upper left')
    ax2.set_ylabel('loss %')
    ax2.set_xlabel('input rate (Mbit/s)')
    ax2.set_xticks(xs)
    ax2.set_xticklabels(labels)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc='upper left')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(a, out, checks):
    topo = ScaffoldTopo()
    logs = os.path.join(out, 'logs')
    summary = dict(scenario=NAME, out=out, quick=a.quick, length=a.length,
                   seconds_per_run=a.time, rates=a.rates)
    rows = []
    with scaffold_net(topo, controller=True, keep_dir=a.keep_run) as net:
        h1, h2 = net.get('h1', 'h2')
        print('# run directory %s (removed at the end; --keep-run keeps it)'
              % net.scaffold.rundir, flush=True)
        joins = scenario.check_joined(checks, (h1, h2), 'h1 and h2')
        srv = h2.sf_popen([IPERF, '-s', '--object', OBJ, '--json'],
                          log=os.path.join(logs, 'server-scaffold-h2.log'))
        udp_ok = not a.no_udp
        addrs = None
        if udp_ok:
            addrs = setup_kernel_udp(h1, h2)
            usrv = h2.sf_popen([IPERF, '-s', '--udp', '%s:%d' % (
                addrs[1], UDP_PORT), '--json'],
                log=os.path.join(logs, 'server-udp-h2.log'))
        ok = scaffold._wait_for(lambda: 'listening' in scenario.tail(
            srv.log_path), 5)
        checks('SCAFFOLD sf-iperf server listening on h2 (objectID %d)'
               % OBJ, ok, scenario.tail(srv.log_path))
        if udp_ok:
            scaffold._wait_for(lambda: 'listening' in scenario.tail(
                usrv.log_path), 5)
            probe = run_iperf(h1, ['--udp', '%s:%d' % (addrs[1], UDP_PORT)],
                              1, 0.5, a.length, 15)
            udp_ok = probe['rc'] == 0 and (probe['recv_pkts'] or 0) > 0
            if udp_ok:
                print('# kernel UDP %s -> %s:%d crosses the label routers '
                      '(probe: %s of %s packets arrived)'
                      % (addrs[0], addrs[1], UDP_PORT, probe['recv_pkts'],
                         probe['sent_pkts']), flush=True)
            else:
                print('# SKIPPING kernel UDP: a probe %s -> %s:%d got '
                      'nothing across the label routers (rc %s, %s); only '
                      'SCAFFOLD figures below' % (
                          addrs[0], addrs[1], UDP_PORT, probe['rc'],
                          probe['error']), flush=True)
        summary.update(hosts=joins, kernel_udp=udp_ok,
                       kernel_addrs=list(addrs) if addrs else None)

        for rate in a.rates:
            tmo = a.time + 20
            r = run_iperf(h1, ['-c', OBJ], rate, a.time, a.length, tmo)
            r['stack'] = 'scaffold'
            rows.append(r)
            if udp_ok:
                u = run_iperf(h1, ['--udp', '%s:%d' % (addrs[1], UDP_PORT)],
                              rate, a.time, a.length, tmo)
                u['stack'] = 'udp'
                rows.append(u)
            for x in rows[-2 if udp_ok else -1:]:
                print('# %-8s input %-9s sent %7.1f Mbit/s  received %7.1f '
                      'Mbit/s  loss %5.2f %%  jitter %.3f ms%s' % (
                          x['stack'], ('%g M' % rate) if rate else 'max',
                          x['send_mbit_s'] or 0, x['recv_mbit_s'] or 0,
                          x['loss_pct'] or 0, x['jitter_ms'] or 0,
                          ('  rc %s %s' % (x['rc'], x['error']))
                          if x['rc'] else ''), flush=True)
        scenario.copy_logs(net, out)
        h1.stop_procs()
        h2.stop_procs()

    write_csv(os.path.join(out, 'throughput.csv'), rows)
    png = os.path.join(out, NAME + '.png')
    if not a.no_plot:
        plot(png, rows, a.rates, 'sf-iperf %d-byte datagrams h1 -> A -> B '
             '-> h2 (userspace OVS), %g s per rate: SCAFFOLD%s'
             % (a.length, a.time, ' vs. kernel UDP' if udp_ok else
                ' (kernel UDP skipped)'))
    sf = [r for r in rows if r['stack'] == 'scaffold']
    checks('every SCAFFOLD run finished with a report (%d/%d)'
           % (sum(1 for r in sf if r['rc'] == 0 and r['recv_mbit_s']
                  is not None), len(sf)),
           sf and all(r['rc'] == 0 and r['recv_mbit_s'] is not None
                      for r in sf),
           [r['error'] for r in sf if r['rc']])
    if udp_ok:
        uu = [r for r in rows if r['stack'] == 'udp']
        checks('every kernel UDP run finished with a report (%d/%d)'
               % (sum(1 for r in uu if r['rc'] == 0), len(uu)),
               uu and all(r['rc'] == 0 and r['recv_mbit_s'] is not None
                          for r in uu),
               [r['error'] for r in uu if r['rc']])
    low = [r for r in sf if r['input_mbit_s'] and r['input_mbit_s'] <= 50]
    checks('SCAFFOLD data arrives at the low rates (received > 0)',
           all((r['recv_pkts'] or 0) > 0 for r in low))
    checks('plot written (%s)' % png, a.no_plot or (
        os.path.exists(png) and os.path.getsize(png) > 0))
    summary.update(rows=rows, png=None if a.no_plot else png)
    return summary


def print_summary(s):
    print('=== throughput summary ===')
    rows = s.get('rows') or []
    if not rows:
        print('  (no runs)')
        return
    print('  %d-byte payload, %g s per rate, h1 %s -> h2 %s through label '
          'routers A and B; kernel UDP %s' % (
              s['length'], s['seconds_per_run'], s['hosts'].get('h1'),
              s['hosts'].get('h2'),
              'between %s and %s' % tuple(s['kernel_addrs'])
              if s.get('kernel_udp') else 'SKIPPED (see above)'))
    print('  %-9s | %-38s | %-38s' % ('input', 'SCAFFOLD sent/recv Mbit/s, '
                                      'loss, jitter',
                                      'kernel UDP sent/recv, loss, jitter'))
    for rate in s['rates']:
        cells = []
        for stack in ('scaffold', 'udp'):
            r = [x for x in rows if x['stack'] == stack and
                 x['input_mbit_s'] == rate]
            if not r:
                cells.append('-')
                continue
            r = r[0]
            if r['recv_mbit_s'] is None:
                cells.append('failed (rc %s)' % r['rc'])
                continue
            cells.append('%6.1f / %6.1f  %5.2f %%  %.3f ms' % (
                r['send_mbit_s'], r['recv_mbit_s'], r['loss_pct'] or 0,
                r['jitter_ms'] or 0))
        print('  %-9s | %-38s | %-38s' % (
            ('%g M' % rate) if rate else 'unlimited', cells[0], cells[1]))
    scenario.print_outputs(s, 'throughput.csv')


def main():
    return scenario.main(NAME, options, (IPERF,), run, print_summary)


if __name__ == '__main__':
    sys.exit(main())
