#!/usr/bin/env bash
# What networking adds to a container's lifecycle: create + start + wait + delete of
# /bin/true in a busybox bundle,
#   plain        the spec's own empty network namespace (clone(CLONE_NEWNET)), no Networking;
#   none         Networking.attach(.none) before, detach after (named namespace, lo up, /etc files);
#   bridge_port  Networking.attach(.bridge) with one published port (veth, addresses, routes,
#                IPAM, nftables DNAT) before, detach after.
#
#   bash Benchmarks/network.sh                 # 200 runs per variant (after 2 warm-up runs)
#   bash Benchmarks/network.sh --runs 50 --skip-build --scratch-path .build-net
#
# The measurement is NetworkTests' LifecycleBenchmarkTests (which also runs, with a few
# iterations, in `make test`); this script builds the test product, runs that one test with
# CAISSON_NET_BENCH_RUNS, keeps every root on the tmpfs /dev/shm (as /run is on a usual host;
# compare.sh does the same) and prints one table. Needs root. The test removes its bridge
# (cstest0), veths, namespaces and nftables table (inet caisson_test) even on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=200 BUILD=1 SCRATCH=.build
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift ;;
        --skip-build) BUILD=0 ;;
        --scratch-path) SCRATCH=$2; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "network.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "network.sh: run as root (namespaces, veths, nftables)" >&2; exit 1; }

cd "$ROOT"
if [ "$BUILD" = 1 ]; then
    swift build --scratch-path "$SCRATCH" --product caissonPackageTests >&2
fi

WORK=$(mktemp -d /dev/shm/caisson-netbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LOG="$WORK/log"
if ! CAISSON_NET_BENCH_RUNS="$RUNS" TMPDIR="$WORK" swift test --scratch-path "$SCRATCH" --skip-build \
        --filter 'NetworkTests.LifecycleBenchmarkTests' >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "network.sh: the benchmark test failed" >&2
    exit 1
fi

value() { awk -v k="network.$1.$2" '$1 == k { print $2 }' "$LOG"; }
printf '%-12s %10s %10s %10s %8s %14s\n' variant mean_ms median_ms p95_ms runs "median+_ms"
base=$(value plain median_ms)
for v in plain none bridge_port; do
    median=$(value "$v" median_ms)
    printf '%-12s %10s %10s %10s %8s %14s\n' "$v" "$(value "$v" mean_ms)" "$median" "$(value "$v" p95_ms)" \
        "$(value "$v" runs)" "$(awk -v a="$median" -v b="$base" 'BEGIN { printf "%.3f", a - b }')"
done
