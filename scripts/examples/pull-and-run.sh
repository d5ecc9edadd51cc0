#!/usr/bin/env bash
# Runs the pull-and-run example against a real registry: starts Debian's docker-registry
# on a free 127.0.0.1 port with a temporary config, pushes a busybox image made with
# umoci into it with skopeo, runs the example, checks its output, and always stops the
# registry and removes its files.
#
#   scripts/examples/pull-and-run.sh PATH/TO/pull-and-run
set -euo pipefail
example=${1:?usage: pull-and-run.sh PATH/TO/pull-and-run}
work=$(mktemp -d /tmp/caisson-pull-and-run.XXXXXX)
registry_pid=
cleanup() {
    if [ -n "$registry_pid" ]; then
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free port on 127.0.0.1 (iproute2's ss says what listens); another one if the
# registry loses a race for it.
port=
for _ in 1 2 3 4 5; do
    candidate=$((30000 + RANDOM % 30000))
    if ss -ltnH "sport = :$candidate" | grep -q .; then continue; fi
    cat > "$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$candidate
  secret: caisson-example
YAML
    docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
        kill -0 "$registry_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=
done
[ -n "$port" ] || { cat "$work/registry.log" >&2; echo "pull-and-run: docker-registry did not start" >&2; exit 1; }

# A busybox image in an OCI layout, made with umoci (the example must pull a real image).
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:busybox"
umoci unpack --image "$layout:busybox" "$work/bundle" > /dev/null
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/bundle/rootfs/bin/$applet"
done
umoci repack --image "$layout:busybox" "$work/bundle"
umoci config --image "$layout:busybox" --config.cmd /bin/sh --config.env PATH=/bin --os linux \
    --architecture "$(dpkg --print-architecture)"
reference="127.0.0.1:$port/examples/busybox:latest"
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:busybox" "docker://$reference"

output=$("$example" "$reference")
echo "$output"
expect() {
    grep -qxF -- "$1" <<< "$output" || { echo "pull-and-run: expected the line \"$1\"" >&2; exit 1; }
}
expect "hello from a pulled image"
expect "memory.limit_in_bytes 67108864"
expect "pids.max 32"
expect "cpu.cfs_quota_us 50000"
expect "exit: exited with 0"
grep -q "^pulled $reference@sha256:" <<< "$output" || { echo "pull-and-run: no \"pulled\" line" >&2; exit 1; }
echo "pull-and-run: ok"
