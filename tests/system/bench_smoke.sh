#!/usr/bin/env bash
# Smoke test of the benchmark suite (bench/run.py, issue 8): the cheapest
# subset, `bench/run.py --quick --only latency`, on its own Mininet (private
# OVS, the real controller, two label routers), then checks that the
# report and CSVs exist and carry both SCAFFOLD and plain figures, and that
# --help and bad options behave.  No speed thresholds: figures are printed,
# never judged here.  BENCH_SMOKE_ONLY=NAME[,NAME] picks other benchmarks.
. "$(dirname "$0")/lib.sh"
sf_init bench_smoke

PY=/usr/bin/python3
RUN=$SF_TOP/bench/run.py
ONLY=${BENCH_SMOKE_ONLY:-latency}
for b in sf-callbench sf-iperf scaffold-controller scaffold-hostagent \
         sf-ofload; do
    [ -x "$SF_BIN/$b" ] || sf_die "build first: $SF_BIN/$b"
done
"$PY" -c 'import mininet, matplotlib' 2>/dev/null ||
    sf_die "Debian's python3 with mininet and matplotlib"

check "--help prints the usage" \
    sh -c "'$PY' '$RUN' --help | grep -q -- '--only'"
"$PY" "$RUN" --only nosuch --out "$SF_TMP/bad" >/dev/null 2>&1
check_eq "unknown --only name: exit status 2" 2 $?

out=$SF_TMP/out
"$PY" "$RUN" --quick --only "$ONLY" --out "$out" > "$SF_TMP/run.log" 2>&1
rc=$?
sed 's/^/# /' "$SF_TMP/run.log" | grep -v 'Peer netns' | tail -40
check_eq "bench/run.py --quick --only $ONLY: exit status 0" 0 "$rc"
report=$out/RESULTS.md
check "RESULTS.md written" test -s "$report"
check "report names the machine, date and commit" \
    sh -c "grep -q 'uname -a' '$report' && grep -q 'git commit' '$report' \
           && grep -q 'date' '$report'"
check "report has the summary table with demo figures" \
    sh -c "grep -q '^| item | metric | SCAFFOLD | plain | ratio | demo 2010' \
           '$report'"

# has_both CSV COLUMN SF PLAIN: the CSV has rows with COLUMN = SF and
# COLUMN = PLAIN, each with a number in every *_us / *_mbps column given.
has_both() {
    "$PY" - "$@" <<'EOF'
import csv, sys
path, col, sf, plain = sys.argv[1:5]
rows = list(csv.DictReader(open(path)))
def num(r, k):
    try:
        float(r[k])
        return True
    except (KeyError, TypeError, ValueError):
        return False
key = 'median_us' if 'median_us' in rows[0] else 'goodput_mbps'
ok = all(any(r[col] == m and num(r, key) for r in rows) for m in (sf, plain))
sys.exit(0 if ok else 1)
EOF
}

case ",$ONLY," in
*,latency,*)
    d=$out/latency
    for f in rtt.csv calls.csv latency.png; do
        check "latency/$f written" test -s "$d/$f"
    done
    check "rtt.csv: SCAFFOLD and kernel UDP round trips" \
        has_both "$d/rtt.csv" mode scaffold udp
    check "calls.csv: libsf and kernel calls" \
        sh -c "grep -q '^connect_sf,' '$d/calls.csv' &&
               grep -q '^plain_connect,' '$d/calls.csv' &&
               grep -q '^bind_sf_confirmed,' '$d/calls.csv'"
    check "summary rows for RTT carry both figures and a ratio" \
        sh -c "grep '^| 2 latency | RTT median, 18 B' '$report' |
               grep -qv 'n/a'"
    ;;
esac
case ",$ONLY," in
*,goodput,*)
    d=$out/goodput
    check "goodput/goodput.csv and .png written" \
        test -s "$d/goodput.csv" -a -s "$d/goodput.png"
    check "goodput.csv: SCAFFOLD and kernel UDP rows" \
        has_both "$d/goodput.csv" tool scaffold udp
    ;;
esac
sf_done
