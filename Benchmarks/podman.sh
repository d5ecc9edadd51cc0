#!/usr/bin/env bash
# `podman run --rm --network none IMAGE true` with caisson vs crun vs runc as the OCI
# runtime, side by side in one run (rounds interleave the three runtimes), on a busybox
# image imported locally. Issue 7's goal: caisson at least as fast as crun.
#
# Usage (as root): bash Benchmarks/podman.sh [/path/to/caisson] [runs per runtime, default 30]
# Needs podman, crun, runc, tini (make deps). crun 1.8.1 refuses this hybrid cgroup host
# unless hugetlb is mounted as a v1 hierarchy: the script mounts it for the whole run (for
# all three runtimes alike) and unmounts it at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
caisson=$(readlink -f "${1:-$here/.build/release/caisson}")
runs=${2:-30}
[ -x "$caisson" ] || { echo "build caisson first: swift build -c release --product caisson" >&2; exit 2; }
work=$(mktemp -d /tmp/caisson-podman-bench.XXXXXX)
mkdir -p "$work/rootfs/bin"

. "$here/scripts/lib/podman-env.sh"
. "$here/scripts/lib/hugetlb-v1.sh"
podman_env_setup "$work" "caisson = [\"$caisson\"]
crun = [\"/usr/bin/crun\"]
runc = [\"/usr/sbin/runc\"]"

cleanup() {
    local status=$?
    set +e
    # podman's cgroup parent goes first, while hugetlb is still mounted: a v1 hierarchy
    # with cgroups left in it outlives its unmount and keeps hugetlb away from cgroup v2.
    podman_env_cleanup
    hugetlb_v1_release
    exit $status
}
trap cleanup EXIT INT TERM

hugetlb_v1_mount

cp /bin/busybox "$work/rootfs/bin/"
ln -s busybox "$work/rootfs/bin/true"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"${P[@]}" import -q "$work/rootfs.tar" localhost/caisson-bench:latest >/dev/null
image=localhost/caisson-bench:latest
runtimes=(caisson crun runc)

one() {  # prints the wall time of one podman run in ms
    local start end
    start=$(date +%s%N)
    tini -s -- "${P[@]}" --runtime "$1" run --rm --network none "$image" true
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
}
for r in "${runtimes[@]}"; do for _ in 1 2 3; do one "$r" >/dev/null; done; done   # warm caches
for _ in $(seq "$runs"); do
    for r in "${runtimes[@]}"; do echo "$r $(one "$r")" >> "$work/times"; done
done

median() { grep "^$1 " "$work/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }
p90() { grep "^$1 " "$work/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {i=int((NR*9+9)/10); if (i>NR) i=NR; printf "%.1f", a[i]/1000}'; }
c=$(median caisson) cr=$(median crun) rc=$(median runc)
echo "podman run --rm --network none IMAGE true — $(date -u '+%Y-%m-%d %H:%M UTC') — $(podman --version), $(crun --version | head -1), $(runc --version | head -1); $runs runs each, interleaved"
echo
echo "| runtime | median ms | p90 ms | vs crun |"
echo "|---|---|---|---|"
for r in "${runtimes[@]}"; do
    m=$(median "$r")
    echo "| $r | $m | $(p90 "$r") | $(awk -v a="$cr" -v b="$m" 'BEGIN{printf "%.2f×", a/b}') |"
done
echo
awk -v c="$c" -v cr="$cr" 'BEGIN { if (c <= cr) print "goal (caisson at least as fast as crun): met"; else print "goal (caisson at least as fast as crun): MISSED" }'
