#!/bin/sh
# run_fuzz.sh: runs the fuzz targets one after another, each for
# FUZZ_SECONDS (default 60), on a working copy of its corpus that persists
# between runs: build/fuzz/<target>/corpus, topped up from the committed
# seeds in tests/fuzz/corpus/<target>/ (which are never modified). Crashing
# inputs go to build/fuzz/<target>/artifacts/, the log to
# build/fuzz/<target>/last.log. Prints executions and exit status per
# target; exits 1 if any target failed.
#
#   FUZZ_SECONDS=60 tests/fuzz/run_fuzz.sh [target...]   (default: all)
#
# fuzz_session (whole sessions against the real server core) runs until
# FUZZ_SESSION_RUNS executions (default 1,000,000; a few minutes) whatever
# FUZZ_SECONDS says, with inputs up to 256 bytes (about 100 steps).
# Targets: client_msg session server_msg bits map token replay (a fuzz_ prefix is accepted).
# BUILD names the build directory (default build); build it first (make).
# FUZZ_ARGS adds libFuzzer flags, e.g. FUZZ_ARGS=-only_ascii=1.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
secs=${FUZZ_SECONDS:-60}
all="client_msg session server_msg bits map token replay"
targets=${*:-$all}

# Check every target before running any.
for t in $targets; do
    t=${t#fuzz_}
    if [ ! -d "$root/tests/fuzz/corpus/fuzz_$t" ]; then
        echo "run_fuzz: unknown target '$t' (targets: $all)" >&2
        exit 2
    fi
    if [ ! -x "$build/bin/fuzz_$t" ]; then
        echo "run_fuzz: $build/bin/fuzz_$t not built (make build; needs clang-14 + libclang-rt-14-dev)" >&2
        exit 2
    fi
done

failed=0
summary=""
for t in $targets; do
    t=${t#fuzz_}
    bin=$build/bin/fuzz_$t
    seeds=$root/tests/fuzz/corpus/fuzz_$t
    dir=$build/fuzz/$t
    mkdir -p "$dir/corpus" "$dir/artifacts"
    for f in "$seeds"/*; do
        [ -e "$dir/corpus/${f##*/}" ] || cp "$f" "$dir/corpus/"
    done
    limits="-max_total_time=$secs"
    if [ "$t" = session ]; then
        limits="-runs=${FUZZ_SESSION_RUNS:-1000000} -max_len=256"
        echo "== fuzz_$t: ${FUZZ_SESSION_RUNS:-1000000} executions on $dir/corpus"
    else
        echo "== fuzz_$t: ${secs}s on $dir/corpus"
    fi
    # shellcheck disable=SC2086
    "$bin" $limits -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" ${FUZZ_ARGS:-} "$dir/corpus" >"$dir/last.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/last.log")
    units=$(find "$dir/corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        status=ok
    else
        status="FAILED (exit $rc)"
        failed=1
        grep -E 'ERROR|check failed|runtime error|SUMMARY|Test unit written' "$dir/last.log" | head -n 20
    fi
    line=$(printf '%-18s %12s executions  %6s corpus units  %s' "fuzz_$t" "${execs:-?}" "$units" "$status")
    echo "$line"
    summary="$summary$line
"
done
echo "== summary (${secs}s per target)"
printf '%s' "$summary"
exit $failed
