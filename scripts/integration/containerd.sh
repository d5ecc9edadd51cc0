#!/usr/bin/env bash
# containerd (Debian's) with its runc shim (io.containerd.runc.v2) using `caisson` as the
# runc binary: ctr run --rm, run -d + task exec + pause/resume + kill + delete, on an
# image imported locally (no network).
#
# Usage (as root, under a subreaper so the shims' exits are reaped: `tini -s --`):
#   bash scripts/integration/containerd.sh /path/to/caisson
# Prints one "PASS <what>" line per check; exits non-zero on the first failure, after
# stopping containerd and removing every container, mount and directory it made.
set -euo pipefail
caisson=$(readlink -f "${1:?usage: containerd.sh /path/to/caisson}")
work=$(mktemp -d /tmp/caisson-containerd.XXXXXX)
mkdir -p "$work/rootfs/bin"
cat > "$work/config.toml" <<CONF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
CONF
C=(ctr --address "$work/containerd.sock" --namespace caisson-test)
daemon=""

cleanup() {
    local status=$?
    set +e
    for c in $("${C[@]}" containers ls -q 2>/dev/null); do
        "${C[@]}" task kill -s KILL "$c" >/dev/null 2>&1
        "${C[@]}" task delete -f "$c" >/dev/null 2>&1
        "${C[@]}" containers delete "$c" >/dev/null 2>&1
    done
    if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; fi
    # Shims outlive containerd by design; ours must be gone once their tasks are.
    for pid in $(pgrep -f "containerd-shim-runc-v2 .*$work" 2>/dev/null); do
        echo "FAIL shim $pid still running" >&2; kill -9 "$pid"; status=1
    done
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT
fail() { echo "FAIL $*" >&2; exit 1; }

containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/containerd.sock" ] && break; sleep 0.1; done
[ -S "$work/containerd.sock" ] || fail "containerd did not start: $(tail -5 "$work/containerd.log")"

# A one-layer busybox image as an OCI archive, made with umoci and skopeo.
cp /bin/busybox "$work/rootfs/bin/"
for tool in sh echo cat sleep true; do ln -s busybox "$work/rootfs/bin/$tool"; done
umoci init --layout "$work/oci" && umoci new --image "$work/oci:test"
umoci unpack --image "$work/oci:test" "$work/bundle" >/dev/null
cp -a "$work/rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$work/oci:test" "$work/bundle"
skopeo copy -q "oci:$work/oci:test" "oci-archive:$work/image.tar:localhost/caisson-test:latest"
"${C[@]}" images import "$work/image.tar" >/dev/null
image=localhost/caisson-test:latest
run=("${C[@]}" run --runc-binary "$caisson")

out=$("${run[@]}" --rm "$image" c1 echo hello-from-containerd)
[ "$out" = hello-from-containerd ] || fail "run --rm printed '$out'"
echo "PASS ctr run --rm"

set +e; "${run[@]}" --rm "$image" c2 sh -c 'exit 7'; status=$?; set -e
[ "$status" = 7 ] || fail "exit status 7 came back as $status"
echo "PASS exit status"

"${run[@]}" -d "$image" c3 sleep 1000 >/dev/null
out=$("${C[@]}" task exec --exec-id e1 c3 echo exec-ok)
[ "$out" = exec-ok ] || fail "task exec printed '$out'"
"${C[@]}" task pause c3
"${C[@]}" task ls | grep -E '^c3 .*PAUSED' >/dev/null || fail "pause: $("${C[@]}" task ls)"
"${C[@]}" task resume c3
"${C[@]}" task ls | grep -E '^c3 .*RUNNING' >/dev/null || fail "resume: $("${C[@]}" task ls)"
"${C[@]}" task kill -s KILL c3
for _ in $(seq 100); do "${C[@]}" task ls | grep -qE '^c3 .*STOPPED' && break; sleep 0.05; done
"${C[@]}" task delete c3 >/dev/null
"${C[@]}" containers delete c3
echo "PASS run -d, task exec, pause, resume, kill, delete"

[ -z "$("${C[@]}" containers ls -q)" ] || fail "containers left: $("${C[@]}" containers ls -q)"
echo "PASS nothing left"
