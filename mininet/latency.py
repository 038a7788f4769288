#!/usr/bin/python3
"""Latency experiment on the SCAFFOLD demo topology (issue #6).

1. Round trips h1 -> A -> B -> h2 and back (two label routers), one
   datagram at a time, echoed by h2, for each payload size and stack:
     scaffold  a bound flow to objectID 5002 (libsf),
     udp       kernel UDP on the same hosts and switches, between kernel
               addresses inside the hosts' flowID prefixes (see
               throughput.py: the label routers forward plain UDP by the
               flowID prefix of the IPv4 addresses).
   Sizes: 18 bytes and the largest datagram at the 1500-byte MTU.  That is
   1472 bytes for kernel UDP but 1452 for SCAFFOLD (its 20-byte header
   takes the rest: a 1472-byte SCAFFOLD payload fails with EMSGSIZE, which
   is recorded, not hidden), so 1452 is measured on both stacks as well.
   Tool: build/bin/sf-callbench rtt (bench/sf-calls.c), which echoes any
   size; sf-iperf --rtt (max 256 bytes) cross-checks the 18-byte figures.
2. Per-call latency of libsf on h1 (sf-callbench calls): socket_sf,
   connect_sf (to objectID 5002 on h2, network resolution), send_sf,
   close_sf with FIN (orderly) and close_sf(SF_SEND_FAIL) (the abortive
   close: libsf has no RST flag; the agent sends FAIL), bind_sf and
   listen_sf (objectIDs 6000+i), and bind_sf until the controller confirmed
   the bind.  Clock: CLOCK_MONOTONIC around each call, microseconds.
   Without sf-callbench only the sf-iperf RTTs are measured, and the
   summary says the per-call figures are missing.

The tools report mean, standard deviation, min, median and max (no raw
samples), so the plot draws each figure as a box from min to max with the
median, mean and +-1 standard deviation.

Writes to --out (default mininet/out/latency-TIME/):
  rtt.csv       tool,stack,len,n,lost,mean_us,stddev_us,min_us,median_us,
                max_us,error
  calls.csv     call,len,n,failed,mean_us,stddev_us,min_us,median_us,max_us
  summary.json  both, plus the setup
  latency.png   RTT per size and stack (left), per-call latency (right)
Exit status: 0 all checks passed, 1 a check failed, 2 usage, 77 cannot run
here, 130 interrupted.  Run as root with Debian's python:

    /usr/bin/python3 mininet/latency.py [--quick] [--out DIR]
"""

import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scenario                                    # noqa: E402
import scaffold                                    # noqa: E402
from scaffold import ScaffoldTopo, scaffold_net, SF_BIN  # noqa: E402
from throughput import setup_kernel_udp, parse_json  # noqa: E402

NAME = 'latency'
IPERF = os.path.join(SF_BIN, 'sf-iperf')
CALLBENCH = os.path.join(SF_BIN, 'sf-callbench')
OBJ_IPERF = 5001
OBJ_ECHO = 5002
UDP_IPERF = 5201
UDP_ECHO = 5202
BIND_BASE = 6000
SF_MAX = 1452      # 1500 - IPv4 20 - UDP 8 - SCAFFOLD header 20
UDP_MAX = 1472     # 1500 - IPv4 20 - UDP 8
CALLS = ('socket_sf', 'connect_sf', 'send_sf', 'close_sf_fin',
         'close_sf_fail', 'bind_sf', 'listen_sf', 'bind_sf_confirmed',
         'close_sf_listener')
CALL_LABEL = {'close_sf_fin': 'close_sf (FIN)',
              'close_sf_fail': 'close_sf (SEND_FAIL, abortive)',
              'bind_sf_confirmed': 'bind_sf until controller confirmed',
              'close_sf_listener': 'close_sf (listener)'}

SHORT = {'socket_sf': 'socket_sf', 'connect_sf': 'connect_sf',
         'send_sf': 'send_sf', 'close_sf_fin': 'close_sf\nFIN',
         'close_sf_fail': 'close_sf\nSEND_FAIL', 'bind_sf': 'bind_sf',
         'listen_sf': 'listen_sf', 'bind_sf_confirmed': 'bind_sf\nconfirmed',
         'close_sf_listener': 'close_sf\nlistener'}


def options():
    p = scenario.parser(NAME, __doc__)
    for act in p._actions:           # no byte sampler here
        if '--sample-ms' in act.option_strings:
            act.help = __import__('argparse').SUPPRESS
    p.add_argument('-n', '--count', type=int, metavar='N',
                   help='round trips per figure (default 1000; --quick '
                   '200)')
    p.add_argument('--calls', type=int, metavar='N',
                   help='calls timed per libsf call (default 200; --quick '
                   '40)')
    p.add_argument('--no-callbench', action='store_true',
                   help='do not use sf-callbench even if built (sf-iperf '
                   'RTTs only)')
    a = p.parse_args()
    a.count = a.count or (200 if a.quick else 1000)
    a.calls = a.calls or (40 if a.quick else 200)
    return a


def json_lines(text):
    res = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                res.append(json.loads(line))
            except ValueError:
                pass
    return res


def rtt_row(tool, stack, length, r, js):
    row = dict(tool=tool, stack=stack, len=length, n=None, lost=None,
               mean_us=None, stddev_us=None, min_us=None, median_us=None,
               max_us=None, error='')
    if r.returncode or not js:
        row['error'] = ((r.stderr or '') + (r.stdout or '')).strip()[-200:] \
            or 'exit %s' % r.returncode
        return row
    row['n'] = js.get('n', js.get('samples'))
    row['lost'] = js.get('lost')
    for k in ('mean_us', 'stddev_us', 'min_us', 'median_us', 'max_us'):
        row[k] = js.get(k)
    return row


def write_csv(path, cols, rows):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow(['' if r.get(c) is None else r[c] for c in cols])


def _boxes(ax, items, colours):
    """items: [(label, row)] with min/median/max/mean/stddev (us)."""
    for i, (label, r) in enumerate(items):
        col = colours[i]
        if r.get('mean_us') is None:
            ax.text(i, 0.04, 'not possible\n(EMSGSIZE)' if 'too long'
                    in (r.get('error') or '') else 'failed', ha='center',
                    va='bottom', fontsize=7, color='tab:red',
                    transform=ax.get_xaxis_transform())
            continue
        lo, med, hi = r['min_us'], r['median_us'], r['max_us']
        m, sd = r['mean_us'], r['stddev_us'] or 0
        ax.plot([i, i], [lo, hi], color=col, lw=1)
        ax.add_patch(__import__('matplotlib').patches.Rectangle(
            (i - 0.3, max(m - sd, lo)), 0.6, min(m + sd, hi) -
            max(m - sd, lo), facecolor=col, alpha=0.3, edgecolor=col))
        ax.plot([i - 0.3, i + 0.3], [med, med], color='k', lw=1.5)
        ax.plot([i], [m], 'D', color=col, ms=5)
        ax.annotate('%.0f' % m if m >= 10 else '%.1f' % m, (i + 0.32, m),
                    fontsize=7, va='center')
    ax.set_xticks(range(len(items)))
    ax.set_xticklabels([lab for lab, _r in items], fontsize=7.5)
    ax.set_yscale('log')
    ax.grid(alpha=0.3, axis='y')


def plot(path, rtts, calls, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ncol = 2 if calls else 1
    fig, axes = plt.subplots(1, ncol, figsize=(14 if calls else 7, 6.2),
                             squeeze=False)
    ax = axes[0][0]
    items = [('%s\n%d B%s' % ('SCAFFOLD' if r['stack'] == 'scaffold'
                              else 'UDP', r['len'], '\nsf-iperf' if
                              r['tool'] == 'sf-iperf' else ''), r)
             for r in rtts]
    _boxes(ax, items, ['tab:blue' if r['stack'] == 'scaffold' else
                       'tab:orange' for _l, r in items])
    ax.set_ylabel('round trip (us, log scale)')
    ax.set_title('RTT h1 -> A -> B -> h2 -> h1', fontsize=10)
    if calls:
        ax = axes[0][1]
        items = [(SHORT.get(c['call'], c['call']), c) for c in calls]
        _boxes(ax, items, ['tab:green'] * len(items))
        ax.set_ylabel('per call (us, log scale)')
        ax.set_title('libsf calls on h1', fontsize=10)
    fig.suptitle(title + '\nbox: mean +- 1 sd (clipped to min..max); '
                 'line: min..max; black bar: median; diamond: mean',
                 fontsize=9)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.14, top=0.86,
                        wspace=0.18)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(a, out, checks):
    topo = ScaffoldTopo()
    logs = os.path.join(out, 'logs')
    summary = dict(scenario=NAME, out=out, quick=a.quick, count=a.count,
                   calls_n=a.calls)
    rtts, calls = [], []
    have_cb = os.access(CALLBENCH, os.X_OK) and not a.no_callbench
    with scaffold_net(topo, controller=True, keep_dir=a.keep_run) as net:
        h1, h2 = net.get('h1', 'h2')
        print('# run directory %s (removed at the end; --keep-run keeps it)'
              % net.scaffold.rundir, flush=True)
        joins = scenario.check_joined(checks, (h1, h2), 'h1 and h2')
        k1, k2 = setup_kernel_udp(h1, h2)
        isrv = h2.sf_popen([IPERF, '-s', '--object', OBJ_IPERF],
                           log=os.path.join(logs, 'sf-iperf-h2.log'))
        iusrv = h2.sf_popen([IPERF, '-s', '--udp', '%s:%d' % (k2, UDP_IPERF)],
                            log=os.path.join(logs, 'sf-iperf-udp-h2.log'))
        if have_cb:
            cbs = h2.sf_popen([CALLBENCH, 'server', '--object', OBJ_ECHO,
                               '--udp', '%s:%d' % (k2, UDP_ECHO)],
                              log=os.path.join(logs, 'sf-callbench-h2.log'))
            scaffold._wait_for(lambda: 'serving' in scenario.tail(
                cbs.log_path), 5)
        else:
            print('# %s not built (bench/sf-calls.c): RTTs from sf-iperf '
                  '--rtt only (<= 256 bytes), no per-call latencies'
                  % CALLBENCH, flush=True)
        for p in (isrv, iusrv):
            scaffold._wait_for(lambda p=p: 'listening' in scenario.tail(
                p.log_path), 5)
        summary.update(hosts=joins, kernel_addrs=[k1, k2],
                       callbench=have_cb)

        tmo = 30 + a.count * 0.05
        # sf-iperf --rtt: 18 bytes (its maximum is 256), both stacks.
        for stack, target in (('scaffold', ['-c', OBJ_IPERF]),
                              ('udp', ['--udp', '%s:%d' % (k2, UDP_IPERF)])):
            r = h1.sf_run([IPERF] + target + ['--rtt', '-l', 18, '-n',
                                              a.count, '--json'],
                          timeout=tmo)
            rtts.append(rtt_row('sf-iperf', stack, 18, r,
                                parse_json(r.stdout)))
        if have_cb:
            for length in (18, SF_MAX, UDP_MAX):
                for stack, target in (
                        ('scaffold', ['--object', OBJ_ECHO]),
                        ('udp', ['--udp', '%s:%d' % (k2, UDP_ECHO)])):
                    r = h1.sf_run([CALLBENCH, 'rtt'] + target +
                                  ['-l', length, '-n', a.count], timeout=tmo)
                    js = json_lines(r.stdout)
                    rtts.append(rtt_row('sf-callbench', stack, length, r,
                                        js[-1] if js else None))
            r = h1.sf_run([CALLBENCH, 'calls', '--object', OBJ_ECHO,
                           '--bind-base', BIND_BASE, '-n', a.calls],
                          timeout=60 + a.calls * 0.2)
            with open(os.path.join(logs, 'sf-callbench-calls.txt'), 'w') as f:
                f.write(r.stdout + r.stderr)
            calls = [j for j in json_lines(r.stdout) if 'call' in j]
            checks('sf-callbench calls: exit 0, %d calls timed'
                   % len(calls), r.returncode == 0 and calls,
                   r.stderr[-300:])
        for x in rtts:
            if x['mean_us'] is None:
                print('# RTT %-12s %-8s %4d B: FAILED (%s)' % (
                    x['tool'], x['stack'], x['len'], x['error']), flush=True)
            else:
                print('# RTT %-12s %-8s %4d B: mean %7.1f us  sd %7.1f  '
                      'median %7.1f  min %6.1f  max %7.1f  (n %s, lost %s)'
                      % (x['tool'], x['stack'], x['len'], x['mean_us'],
                         x['stddev_us'], x['median_us'], x['min_us'],
                         x['max_us'], x['n'], x['lost']), flush=True)
        scenario.copy_logs(net, out)
        h1.stop_procs()
        h2.stop_procs()

    cols = ['tool', 'stack', 'len', 'n', 'lost', 'mean_us', 'stddev_us',
            'min_us', 'median_us', 'max_us', 'error']
    write_csv(os.path.join(out, 'rtt.csv'), cols, rtts)
    ccols = ['call', 'len', 'n', 'failed', 'mean_us', 'stddev_us', 'min_us',
             'median_us', 'max_us']
    write_csv(os.path.join(out, 'calls.csv'), ccols, calls)
    png = os.path.join(out, NAME + '.png')
    if not a.no_plot:
        plot(png, rtts, calls, 'SCAFFOLD latency on the demo topology '
             '(userspace OVS; n=%d round trips, %d calls each)'
             % (a.count, a.calls))

    def got(tool, stack, length):
        return any(x['tool'] == tool and x['stack'] == stack and
                   x['len'] == length and x['mean_us'] is not None
                   for x in rtts)
    for stack in ('scaffold', 'udp'):
        checks('sf-iperf --rtt 18 B over %s measured' % stack,
               got('sf-iperf', stack, 18))
    if have_cb:
        for stack, length in (('scaffold', 18), ('scaffold', SF_MAX),
                              ('udp', 18), ('udp', SF_MAX),
                              ('udp', UDP_MAX)):
            checks('sf-callbench rtt %d B over %s measured' % (length, stack),
                   got('sf-callbench', stack, length))
        sf1472 = [x for x in rtts if x['stack'] == 'scaffold' and
                  x['len'] == UDP_MAX]
        summary['scaffold_1472'] = (sf1472[0]['error'] or 'measured') \
            if sf1472 else None
        names = {c['call'] for c in calls}
        want = ('connect_sf', 'bind_sf', 'send_sf', 'listen_sf',
                'close_sf_fin', 'close_sf_fail')
        checks('per-call latency of %s' % ', '.join(want),
               all(w in names for w in want),
               sorted(set(want) - names))
    checks('plot written (%s)' % png, a.no_plot or (
        os.path.exists(png) and os.path.getsize(png) > 0))
    summary.update(rtt=rtts, calls=calls,
                   not_measured=[] if have_cb else [
                       'connect_sf', 'bind_sf', 'send_sf', 'listen_sf',
                       'close_sf (FIN)', 'close_sf (RST/SEND_FAIL)',
                       'RTT above 256 bytes'],
                   png=None if a.no_plot else png)
    return summary


def print_summary(s):
    print('=== latency summary ===')
    if not s.get('rtt'):
        print('  (nothing measured)')
        return
    print('  h1 %s -> h2 %s through label routers A and B; kernel UDP '
          'between %s and %s' % (s['hosts'].get('h1'), s['hosts'].get('h2'),
                                 s['kernel_addrs'][0], s['kernel_addrs'][1]))
    print('  Round trips (us), %d each:' % s['count'])
    print('    %-13s %-9s %5s %9s %9s %9s %9s %9s' % (
        'tool', 'stack', 'bytes', 'mean', 'stddev', 'median', 'min', 'max'))
    for x in s['rtt']:
        if x['mean_us'] is None:
            print('    %-13s %-9s %5d  not measured: %s' % (
                x['tool'], x['stack'], x['len'], x['error'][-70:]))
            continue
        print('    %-13s %-9s %5d %9.1f %9.1f %9.1f %9.1f %9.1f' % (
            x['tool'], x['stack'], x['len'], x['mean_us'], x['stddev_us'],
            x['median_us'], x['min_us'], x['max_us']))
    if s.get('calls'):
        print('  libsf calls on h1 (us), %d each:' % s['calls_n'])
        print('    %-36s %5s %9s %9s %9s %9s' % (
            'call', 'n', 'mean', 'stddev', 'median', 'max'))
        for c in s['calls']:
            print('    %-36s %5s %9.2f %9.2f %9.2f %9.2f' % (
                CALL_LABEL.get(c['call'], c['call']) +
                (' (%d B)' % c['len'] if c.get('len') else ''), c['n'],
                c['mean_us'], c['stddev_us'], c['median_us'], c['max_us']))
        print('    (libsf has no RST flag: the abortive close is '
              'close_sf(SF_SEND_FAIL))')
    if s.get('not_measured'):
        print('  NOT measured (no sf-callbench): %s'
              % ', '.join(s['not_measured']))
    scenario.print_outputs(s, '{rtt,calls}.csv')


def main():
    return scenario.main(NAME, options, (IPERF,), run, print_summary)


if __name__ == '__main__':
    sys.exit(main())
