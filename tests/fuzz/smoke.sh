#!/bin/sh
# smoke.sh <fuzzer> <seed corpus dir> <seconds> [artifact dir]: the ctest
# smoke run of one fuzz target. Runs the fuzzer for at most <seconds>
# (FUZZ_SMOKE_SECONDS overrides) and 1,000,000 executions on a temporary
# copy of the seed corpus, so the committed corpus is never modified; every
# seed runs first, so regression seeds are replayed. Fails on any crash,
# failed check, sanitizer report, leak or timeout; the input that did it is
# kept in the artifact dir (ctest passes build/fuzz/smoke-artifacts/<target>).
set -u
fuzzer=$1
seeds=$2
secs=${FUZZ_SMOKE_SECONDS:-$3}
name=$(basename "$fuzzer")
artifacts=${4:-${TMPDIR:-/tmp}/tw-fuzz-artifacts/$name}

work=$(mktemp -d "${TMPDIR:-/tmp}/tw-$name.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts" || exit 1
cp "$seeds"/* "$work/corpus/" || exit 1

"$fuzzer" -max_total_time="$secs" -runs=1000000 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" >"$work/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [ "$rc" -ne 0 ]; then
    tail -n 60 "$work/log"
    echo "$name: FAILED (exit $rc); crashing input saved in $artifacts/"
    exit 1
fi
echo "$name: ok, ${execs:-?} executions in at most ${secs}s"
