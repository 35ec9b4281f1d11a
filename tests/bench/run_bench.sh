#!/usr/bin/env bash
# `make bench`: runs the benchmark scenarios against the binaries already
# built in ${BENCH_BUILD:-build}/bin (tickwire-server, tickwire-floor,
# tickwire-floor-raw, tickwire-bots). The work is in run_bench.mjs (node 20); see the top of
# that file for the BENCH_* variables, e.g.
#   BENCH_RUNS=1 BENCH_WINDOW=5 make bench
set -euo pipefail
cd "$(dirname "$0")/../.."
# 1000 bots: the server and the bots each need one fd per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v node >/dev/null || { echo "bench: node is required" >&2; exit 2; }
exec node tests/bench/run_bench.mjs "$@"
