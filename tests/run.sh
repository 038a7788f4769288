#!/usr/bin/env bash
# Runs every test of the suite and ends with one line:
#
#     N passed, N failed
#
# Unit tests: build/tests/unit/*_test (CUnit; each prints "UNIT name: N
# passed, M failed").  Fuzz: build/fuzz/* for FUZZ_SECONDS each (default
# 20), any crash, leak or sanitizer report fails.  System tests:
# tests/system/*.sh as root; each "ok"/"not ok" line counts.
#
#   tests/run.sh [unit|fuzz|system]...   only those kinds
#   SF_TESTS=pattern tests/run.sh        only system tests matching pattern
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kinds=${*:-unit fuzz system}
fuzz_seconds=${FUZZ_SECONDS:-20}
# Per-test log files are overwritten, never the folder removed: another run
# (of other kinds, or by another developer) may be writing there too.
logdir=${SF_LOGDIR:-$top/build/test-logs}
mkdir -p "$logdir"
passed=0
failed=0
skipped=0
failures=()

record() {   # record NAME PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    if [ "$3" -gt 0 ]; then failures+=("$1"); fi
}

run_unit() {
    local bin name out p f
    for bin in build/tests/unit/*_test; do
        [ -x "$bin" ] || continue
        name=$(basename "$bin")
        out=$logdir/unit-$name.log
        "$bin" > "$out" 2>&1
        local rc=$?
        read -r p f < <(sed -n 's/^UNIT .*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out" | tail -1)
        p=${p:-0}
        f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        printf '%-8s %-32s %4d passed %4d failed\n' unit "$name" "$p" "$f"
        [ "$f" -gt 0 ] && grep -E 'FAILED|Test: .*\.\.\.FAILED|^ +[0-9]+\. ' "$out" | head -20
        record "unit/$name" "$p" "$f"
    done
}

run_fuzz() {
    local bin name out corpus
    for bin in build/fuzz/*; do
        [ -x "$bin" ] || continue
        name=$(basename "$bin")
        out=$logdir/fuzz-$name.log
        corpus=$logdir/corpus-$name
        mkdir -p "$corpus"
        [ -d "tests/fuzz/corpus/$name" ] && cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
        if "$bin" -max_total_time="$fuzz_seconds" -rss_limit_mb=1024 \
                -timeout=10 -print_final_stats=1 "$corpus" > "$out" 2>&1 \
                && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$out"; then
            local execs
            execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
            printf '%-8s %-32s ok (%s runs in %ss)\n' fuzz "$name" "${execs:-?}" "$fuzz_seconds"
            record "fuzz/$name" 1 0
        else
            printf '%-8s %-32s FAILED (see %s)\n' fuzz "$name" "$out"
            grep -E 'ERROR|runtime error|SUMMARY' "$out" | head -10
            record "fuzz/$name" 0 1
        fi
    done
}

run_system() {
    local t name out rc p f start
    for t in tests/system/*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        [ "$name" = lib ] && continue
        if [ -n "${SF_TESTS:-}" ] && [[ "$name" != *$SF_TESTS* ]]; then
            continue
        fi
        out=$logdir/system-$name.log
        start=$(date +%s)
        echo "system   $name ..."
        timeout --kill-after=10 "${SYSTEM_TIMEOUT:-600}" bash "$t" > "$out" 2>&1
        rc=$?
        touch "$out"
        p=$(grep -c '^ok - ' "$out")
        f=$(grep -c '^not ok - ' "$out")
        if [ "$rc" -eq 77 ]; then
            skipped=$((skipped + 1))
            printf '%-8s %-32s skipped\n' system "$name"
            continue
        fi
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1
            echo "not ok - $name exited $rc" >> "$out"
        fi
        printf '%-8s %-32s %4d passed %4d failed  (%ds)\n' system "$name" \
            "$p" "$f" $(( $(date +%s) - start ))
        [ "$f" -gt 0 ] && { grep '^not ok' "$out"; tail -15 "$out"; }
        record "system/$name" "$p" "$f"
    done
}

for k in $kinds; do
    case $k in
        unit) run_unit ;;
        fuzz) run_fuzz ;;
        system) run_system ;;
        *) echo "run.sh: unknown kind '$k' (unit, fuzz, system)" >&2; exit 2 ;;
    esac
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in build/test-logs/)"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
