#!/usr/bin/env bash
# The demo: a busybox bundle, run by Caisson with runc's command line.
set -euo pipefail
caisson="$1"
work=$(mktemp -d /tmp/caisson-demo.XXXXXX)
state="$work/state"
trap '"$caisson" --root "$state" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/etc" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in sh echo cat hostname id uname ls ps; do ln -s busybox "$work/bundle/rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/bundle/rootfs/etc/passwd"

cd "$work/bundle"
"$caisson" spec
# Not interactive, and say hello from inside.
jq '.process.terminal = false | .process.args = ["sh", "-c", "echo \"hello from $(hostname), I am $(id -u) in a $(uname -s) container\"; echo processes:; ps -o pid,args"]' \
  config.json > config.json.new && mv config.json.new config.json

echo "== caisson run (busybox bundle at $work/bundle)"
"$caisson" --root "$state" run demo
echo "== caisson create / state / start / delete"
"$caisson" --root "$state" create demo >/dev/null
"$caisson" --root "$state" state demo | jq -c '{id, status, pid}'
"$caisson" --root "$state" delete --force demo
echo "== done"
