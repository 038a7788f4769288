"""Shared parts of the scripted SCAFFOLD experiments (failover.py,
mobility.py): command line, output folder, a byte-count sampler, outage
detection, CSV files and the plot.

How bytes over time are measured: the sf-tftp client writes every DATA
block to its output file with pwrite() as it arrives (no buffering, blocks
in order), and prints progress only once a second.  So a thread here samples
the output file's size every 2 ms (os.stat, a few microseconds;
--sample-ms changes it).  An outage is the pause in growth around the event
that caused it (outages_at()); its resolution is one sampling period plus
the pacing interval between blocks.  The client's own "longest gap" (per
DATA packet, from its final line) is reported next to it.

Files written to the output folder (--out, default mininet/out/NAME-TIME/):
  samples.csv     t_s,bytes            every sample (t from the client start)
  throughput.csv  t_start_s,t_end_s,bytes,mbit_s   per 100 ms bin
  events.csv      t_s,event,detail     what the script did / saw
  outages.csv     n,start_s,end_s,outage_ms,bytes_at_start,resumed,cause
  summary.json    everything the summary prints, machine-readable
  NAME.png        bytes received over time + throughput per 100 ms
  logs/           the client's, servers' and agents' logs
"""

import argparse
import csv
import hashlib
import json
import os
import shutil
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)



def parser(name, doc):
    p = argparse.ArgumentParser(
        prog=name + '.py', description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', metavar='DIR',
                   help='output folder (default mininet/out/%s-TIMESTAMP/)'
                   % name)
    p.add_argument('--quick', action='store_true',
                   help='short file and short phases (a few seconds; for '
                   'tests)')
    p.add_argument('--sample-ms', type=float, default=2.0,
                   help='sampling period of the received byte count, ms '
                   '(default 2: outages last tens of ms)')
    p.add_argument('--keep-run', action='store_true',
                   help='keep the Mininet run directory (/tmp/sf-mn-*: OVS '
                   'and controller logs, databases)')
    p.add_argument('--no-plot', action='store_true',
                   help='CSV only (no matplotlib)')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='Mininet info logging')
    return p


def install_signals():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt even when the script was
    started with SIGINT ignored (a background job of a non-interactive
    shell); SIGTERM does the same (scaffold_net() also maps it during the
    run).  Either way the `with scaffold_net()` teardown runs."""
    import signal

    def _raise(signum, _frame):
        raise KeyboardInterrupt('signal %d' % signum)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise)


def out_dir(name, arg):
    if arg:
        d = arg
    else:
        d = os.path.join(HERE, 'out', '%s-%s' % (
            name, time.strftime('%Y%m%d-%H%M%S')))
    os.makedirs(os.path.join(d, 'logs'), exist_ok=True)
    return os.path.abspath(d)


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def make_file(path, size):
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


class Sampler(threading.Thread):
    """Samples the size of a file every period seconds from start() until
    stop(): self.samples = [(t, bytes)], t = time.time()."""

    def __init__(self, path, period=0.02):
        threading.Thread.__init__(self, daemon=True)
        self.path = path
        self.period = period
        self.samples = []
        self._stop_ev = threading.Event()

    def run(self):
        nxt = time.time()
        while not self._stop_ev.is_set():
            try:
                size = os.stat(self.path).st_size
            except OSError:
                size = 0
            self.samples.append((time.time(), size))
            nxt += self.period
            delay = nxt - time.time()
            if delay < 0:
                nxt = time.time()
                delay = 0
            self._stop_ev.wait(delay)

    def stop(self):
        self._stop_ev.set()
        self.join(2)
        try:
            self.samples.append((time.time(), os.stat(self.path).st_size))
        except OSError:
            pass


class Events(object):
    """Timestamped events (time.time()), written to events.csv."""

    def __init__(self):
        self.items = []

    def add(self, event, detail='', t=None):
        self.items.append((time.time() if t is None else t, event, detail))

    def first(self, event):
        for t, e, _d in self.items:
            if e == event:
                return t
        return None

    def all(self, event):
        return [t for t, e, _d in self.items if e == event]


def growth_gaps(samples):
    """[(start, end, bytes_at_start)]: between consecutive samples that
    showed growth (start: the last sample before a pause that had grown,
    end: the first one that grew again)."""
    grow = [(t, b) for (t, b), (_t0, b0) in zip(samples[1:], samples[:-1])
            if b > b0]
    return [(t0, t1, b0) for (t0, b0), (t1, _b1) in zip(grow, grow[1:])]


def outages_at(samples, anchors, before=0.15, after=0.03):
    """One outage per anchor time (an event the script caused or saw: a
    shed logged by a server, a link taken down): the longest pause in
    growth that began between `before` s before the anchor and `after` s
    after it.  (A server logs a shed right after its last block; the
    script notices the log line up to a polling period later.)  Returns
    [{anchor, start, end, bytes_at_start, resumed}] (None for an anchor
    with no pause at all); resumed: bytes grew at `end`."""
    gaps = growth_gaps(samples)
    res = []
    for ta in anchors:
        cands = [g for g in gaps if ta - before <= g[0] <= ta + after]
        if not cands:
            res.append(None)
            continue
        g = max(cands, key=lambda x: x[1] - x[0])
        res.append(dict(anchor=ta, start=g[0], end=g[1],
                        bytes_at_start=g[2], resumed=True))
    return res


def find_stalls(samples, min_gap=0.1):
    """Pauses in growth longer than min_gap s and 4x the median pause (a
    slow steady transfer is not a stall): [(start, end, bytes)]."""
    gaps = growth_gaps(samples)
    if not gaps:
        return []
    d = sorted(g[1] - g[0] for g in gaps)
    thresh = max(min_gap, 4 * d[len(d) // 2])
    return [g for g in gaps if g[1] - g[0] > thresh]


def throughput_bins(samples, t0, width=0.1):
    """Per `width`-second bin from t0: (start, end, bytes, mbit/s), bytes
    interpolated from the samples at the bin edges."""
    if not samples:
        return []
    ts = [t - t0 for t, _b in samples]
    bs = [b for _t, b in samples]

    def at(x):
        # Last sample at or before x (a step function: the file size is
        # what had arrived by then).
        lo, hi = 0, len(ts) - 1
        if x < ts[0]:
            return 0
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if ts[mid] <= x:
                lo = mid
            else:
                hi = mid - 1
        return bs[lo]
    res = []
    start = 0.0
    end_all = ts[-1]
    while start < end_all:
        end = start + width
        n = at(end) - at(start)
        res.append((start, end, n, n * 8 / width / 1e6))
        start = end
    return res


def write_csvs(d, samples, t0, events, outages):
    with open(os.path.join(d, 'samples.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['t_s', 'bytes'])
        for t, b in samples:
            w.writerow(['%.4f' % (t - t0), b])
    bins = throughput_bins(samples, t0)
    with open(os.path.join(d, 'throughput.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['t_start_s', 't_end_s', 'bytes', 'mbit_s'])
        for s, e, n, r in bins:
            w.writerow(['%.3f' % s, '%.3f' % e, n, '%.4f' % r])
    with open(os.path.join(d, 'events.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['t_s', 'event', 'detail'])
        for t, e, det in sorted(events.items):
            w.writerow(['%.4f' % (t - t0), e, det])
    with open(os.path.join(d, 'outages.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['n', 'start_s', 'end_s', 'outage_ms', 'bytes_at_start',
                    'resumed', 'cause'])
        for i, o in enumerate(outages, 1):
            w.writerow([i, '%.4f' % (o['start'] - t0),
                        '%.4f' % (o['end'] - t0),
                        '%.1f' % ((o['end'] - o['start']) * 1000),
                        o['bytes_at_start'], int(o['resumed']),
                        o.get('cause', '')])
    return bins


def plot(path, title, samples, t0, bins, events, outages, marks=(),
         stalls=(), phases=()):
    """Top: MB received over time; middle: Mbit/s per 100 ms; bottom: one
    zoomed panel per outage (KB received around it, every sample).
    Outages shaded red, other stalls grey; marks = [(event name, label,
    colour)] drawn as vertical lines; phases = [(start, end, label)] (who
    served the data) written along the top panel."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    nz = min(len(outages), 4)
    fig = plt.figure(figsize=(11, 8.5 if nz else 6.5))
    gs = fig.add_gridspec(3 if nz else 2, max(nz, 1),
                          height_ratios=[3, 2, 2.2] if nz else [3, 2])
    ax1 = fig.add_subplot(gs[0, :])
    ax2 = fig.add_subplot(gs[1, :], sharex=ax1)
    ts = [t - t0 for t, _b in samples]
    mb = [b / 1e6 for _t, b in samples]
    ax1.plot(ts, mb, color='tab:blue', lw=1.5, label='bytes received')
    ax1.set_ylabel('received (MB)')
    ax1.set_title(title, fontsize=11)
    ax1.grid(alpha=0.3)
    xs = [s_ for s_, _e, _n, _r in bins]
    ys = [r for _s, _e, _n, r in bins]
    ax2.bar(xs, ys, width=0.1, align='edge', color='tab:green',
            edgecolor='none', label='throughput per 100 ms')
    ax2.set_ylabel('Mbit/s per 100 ms')
    ax2.set_xlabel('time since the client started (s)')
    ax2.grid(alpha=0.3)
    top = max(mb) if mb else 1
    for i, (a, b, label) in enumerate(phases):
        ax1.axvspan(a - t0, b - t0, color=('tab:blue', 'tab:orange')[i % 2],
                    alpha=0.06, lw=0)
        ax1.text((a + b) / 2 - t0, top * 1.02, label, ha='center',
                 va='bottom', fontsize=8, color='0.3')
    if phases:
        ax1.set_ylim(top=top * 1.12)
    for n, (a, b, _bytes) in enumerate(stalls):
        for ax in (ax1, ax2):
            ax.axvspan(a - t0, b - t0, color='0.5', alpha=0.3, lw=0,
                       label='other stall (lost packet, retransmission)'
                       if (n == 0 and ax is ax2) else None)
    for i, o in enumerate(outages, 1):
        for ax in (ax1, ax2):
            ax.axvspan(o['start'] - t0, o['end'] - t0, color='tab:red',
                       alpha=0.3, lw=0)
        ax1.annotate('outage %d: %.0f ms' % (i, (o['end'] - o['start'])
                                             * 1000),
                     xy=(o['end'] - t0, o['bytes_at_start'] / 1e6),
                     xytext=(8, -16), textcoords='offset points',
                     color='tab:red', fontsize=9)
    used = set()
    for ev, label, colour in marks:
        for t in events.all(ev):
            for ax in (ax1, ax2):
                ax.axvline(t - t0, color=colour, ls='--', lw=1,
                           label=label if (ax is ax1 and label not in used)
                           else None)
            used.add(label)
    ax1.legend(loc='lower right', fontsize=8)
    ax2.legend(loc='lower right', fontsize=8)
    for k, o in enumerate(outages[:nz]):
        ax = fig.add_subplot(gs[2, k])
        pad = max(0.08, (o['end'] - o['start']) * 0.5)
        lo, hi = o['start'] - pad, o['end'] + pad
        pts = [(t - t0, (b - o['bytes_at_start']) / 1e3)
               for t, b in samples if lo <= t <= hi]
        if pts:
            ax.plot([p_[0] for p_ in pts], [p_[1] for p_ in pts], '.-',
                    ms=2, lw=0.8, color='tab:blue')
        ax.axvspan(o['start'] - t0, o['end'] - t0, color='tab:red',
                   alpha=0.3, lw=0)
        for ev, _label, colour in marks:
            for t in events.all(ev):
                if lo <= t <= hi:
                    ax.axvline(t - t0, color=colour, ls='--', lw=1)
        ax.set_title('outage %d (%s): %.1f ms' % (
            k + 1, o.get('cause', ''), (o['end'] - o['start']) * 1000),
            fontsize=9)
        ax.set_xlabel('s', fontsize=8)
        if k == 0:
            ax.set_ylabel('KB vs. outage start', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if marks:
        fig.text(0.01, 0.003, 'Dashed lines: when the script saw the event '
                 '(log lines are polled every 20 ms, so they can trail the '
                 'data); red: outages measured from the data.', fontsize=7,
                 color='0.4')
    fig.savefig(path, dpi=110)
    plt.close(fig)


def copy_logs(net, d, extra=()):
    """Copies agent, controller and application logs of the run into
    d/logs (the run directory itself goes away at the end)."""
    logs = os.path.join(d, 'logs')
    paths = list(extra)
    for h in net.hosts:
        if getattr(h, 'agent_log', None):
            paths.append(h.agent_log)
        for p in getattr(h, 'procs', []):
            paths.append(getattr(p, 'log_path', None))
    for c in net.controllers:
        if getattr(c, 'log_path', None):
            paths.append(c.log_path)
    for p in paths:
        if p and os.path.exists(p):
            try:
                shutil.copy(p, logs)
            except OSError:
                pass


def tail(path, n=12):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


class Checks(object):
    """The script's own checks: printed as ok/not ok, counted."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def __call__(self, text, cond, detail=''):
        if cond:
            self.passed += 1
            print('ok - ' + text, flush=True)
        else:
            self.failed.append(text)
            print('not ok - %s%s' % (text, ' (%s)' % detail if detail
                                     else ''), flush=True)
        return cond


def check_joined(checks, hosts, who):
    """Check that hosts joined the controller; their prefixes by name."""
    joins = {h.name: h.sf_join.get('prefix') for h in hosts}
    checks('%s joined the controller (%s)' % (who, ', '.join(
        '%s=%s' % kv for kv in sorted(joins.items()))),
        all(joins.values()), joins)
    return joins


def print_outputs(s, csvs):
    """The summary's last lines: where the CSVs (csvs, relative to the
    output directory) and the plot are."""
    print('  CSV: %s/%s' % (s['out'], csvs))
    if s.get('png'):
        print('  plot: %s' % s['png'])


def main(name, options, binaries, run, print_summary, extra=None):
    """A scenario script's main(): parse the options, check that it can run
    here (root, binaries built: 77), run(a, out, checks) (interrupted: 130),
    write summary.json, print the summary and the checks; 1 if a check
    failed, else 0.  extra(a) gives more summary keys (before the checks')."""
    import scaffold
    a = options()
    install_signals()
    if os.geteuid() != 0:
        print('# %s.py needs root' % name)
        return 77
    for b in tuple(binaries) + (scaffold.ScaffoldController.binary,
                                scaffold.ScaffoldHost.agent_binary):
        if not os.access(b, os.X_OK):
            print('# %s not built (make)' % b)
            return 77
    from mininet.log import setLogLevel
    setLogLevel('info' if a.verbose else 'warning')
    out = out_dir(name, a.out)
    checks = Checks()
    summary = {}
    try:
        summary = run(a, out, checks)
    except KeyboardInterrupt:
        print('# %s: interrupted; everything it started was stopped' % name)
        return 130
    except Exception as e:                 # pylint: disable=broad-except
        import traceback
        traceback.print_exc()
        checks('%s ran to the end' % name, False, '%s: %s'
               % (type(e).__name__, e))
    if extra:
        summary.update(extra(a))
    summary.update(checks_failed=checks.failed, checks_passed=checks.passed)
    with open(os.path.join(out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print_summary(summary)
    print('  checks: %d passed, %d failed%s' % (
        checks.passed, len(checks.failed),
        (': ' + '; '.join(checks.failed)) if checks.failed else ''))
    return 1 if checks.failed else 0
