#!/usr/bin/env bash
# Runs every example under Examples/ and checks its output (as root).
#
#   scripts/examples/run-all.sh BIN_DIR      (the directory `swift build --show-bin-path` prints)
set -euo pipefail
bin=${1:?usage: run-all.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "examples: $*" >&2; exit 1; }
# expect NAME OUTPUT PATTERN: OUTPUT has a line matching the extended regex PATTERN.
expect() { grep -qE -- "$3" <<< "$2" || fail "$1: no line matching /$3/ in its output"; }

echo "== hello"
out=$("$bin/hello")
echo "$out"
[ "$out" = "hello" ] || fail "hello: expected exactly \"hello\""

echo "== sandbox-exec --demo"
out=$("$bin/sandbox-exec" --demo)
echo "$out"
expect sandbox-exec "$out" '^  out: hello from the sandbox$'
expect sandbox-exec "$out" '^  out: 65534$'
expect sandbox-exec "$out" '^  err: .*Read-only file system'
expect sandbox-exec "$out" '^  out: interfaces: lo$'
expect sandbox-exec "$out" "^  err: .*can't fork"
grep -q '^  out: all 64 started$' <<< "$out" && fail "sandbox-exec: the pids limit did not stop the fork loop"
expect sandbox-exec "$out" '^  out: awk exit 137$'
expect sandbox-exec "$out" '^  status: killed by SIGKILL \(timed out\)$'

echo "== startup --count 20"
out=$("$bin/startup" --count 20)
echo "$out"
expect startup "$out" '^20 sequential containers'
expect startup "$out" '^total +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+$'

echo "== density --count 10"
out=$("$bin/density" --count 10)
echo "$out"
expect density "$out" '^started 10 idle containers in [0-9.]+ ms'
expect density "$out" '^memory per container: cgroup [0-9]+ KiB, process PSS [0-9]+ KiB$'
expect density "$out" '^running: 10$'
expect density "$out" '^left behind: 0 containers, 0 cgroups$'

echo "== pull-and-run"
bash "$here/pull-and-run.sh" "$bin/pull-and-run"

echo "examples: all ok"
