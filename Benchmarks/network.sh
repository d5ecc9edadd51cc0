#!/usr/bin/env bash
# What networking adds to a container's lifecycle, Caisson and podman side by side in one run.
#
# Caisson (in-process): create + start + wait + delete of /bin/true in a busybox bundle,
#   plain        the spec's own empty network namespace (clone(CLONE_NEWNET)), no Networking;
#   none         Networking.attach(.none) before, detach after (named namespace, lo up, /etc files);
#   bridge_port  Networking.attach(.bridge) with one published port (veth, addresses, routes,
#                IPAM, nftables DNAT) before, detach after.
# podman 4.3 with crun: `podman run --rm --network none IMAGE true` against
#   `podman run --rm --network bridge -p 18095:80 IMAGE true`, interleaved. Debian's podman
#   has no netavark: its bridge is CNI (containernetworking-plugins bridge + host-local,
#   portmap, firewall, tuning, as podman's default conflist), configured in a podman
#   environment of the script's own (network_config_dir, a bridge cstbench0 on
#   10.213.40.0/24, host-local's dataDir under the work directory).
#
# Networking's added cost: Caisson bridge_port - plain (and - none), podman bridge - none.
# Issue 8's goal: Caisson's added cost <= 1/3 of podman's.
#
#   bash Benchmarks/network.sh                 # 200 Caisson runs per variant, 40 podman runs per mode
#   bash Benchmarks/network.sh --runs 50 --podman-runs 20 --skip-build --scratch-path .build-net
#   bash Benchmarks/network.sh --no-podman     # Caisson only
#
# The Caisson measurement is NetworkTests' LifecycleBenchmarkTests (which also runs, with a
# few iterations, in `make test`); this script builds the test product, runs that one test
# with CAISSON_NET_BENCH_RUNS, keeps every root on the tmpfs /dev/shm (as /run is on a usual
# host; compare.sh does the same). Needs root, podman, crun, tini. The test removes its
# bridge (cstest0), veths, namespaces and nftables table (inet caisson_test) even on failure;
# the script removes podman's environment, the bridge cstbench0, the iptables chains the
# CNI plugins created (they never delete the ones they share between containers) and
# libcni's cache directory /var/lib/cni if podman created it. crun 1.8.1
# refuses this hybrid cgroup host unless hugetlb is mounted as a v1 hierarchy: mounted for
# the podman runs and unmounted at the end, as Benchmarks/podman.sh does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/lib/hugetlb-v1.sh"
RUNS=200 PODMAN_RUNS=40 BUILD=1 SCRATCH=.build PACKAGE=$ROOT PODMAN=1
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift ;;
        --podman-runs) PODMAN_RUNS=$2; shift ;;
        --no-podman) PODMAN=0 ;;
        --skip-build) BUILD=0 ;;
        --scratch-path) SCRATCH=$2; shift ;;
        --package-path) PACKAGE=$2; shift ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "network.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "network.sh: run as root (namespaces, veths, nftables)" >&2; exit 1; }

cd "$PACKAGE"
if [ "$BUILD" = 1 ]; then
    swift build --build-tests --scratch-path "$SCRATCH" >&2
fi

WORK=$(mktemp -d /dev/shm/caisson-netbench.XXXXXX)
LOG="$WORK/log"
podman_ready=0 had_cni_cache=yes

# iptables-nft tables and their chains, one "family table chain" line each ("-" for the table).
iptables_chains() {
    nft list tables | while read -r _ family table; do
        case "$family $table" in "ip nat"|"ip filter"|"ip mangle"|"ip6 nat"|"ip6 filter"|"ip6 mangle") ;; *) continue ;; esac
        echo "$family $table -"
        nft list table "$family" "$table" 2>/dev/null | awk -v f="$family" -v t="$table" '$1 == "chain" { print f, t, $2 }'
    done | sort
}

# Removes the tables and CNI-* chains that appeared since the snapshot $1 (with the rules
# jumping to them); what was there before stays.
iptables_restore() {
    local before=$1 family table chain
    iptables_chains > "$WORK/chains.after"
    comm -13 "$before" "$WORK/chains.after" | while read -r family table chain; do
        if ! grep -q "^$family $table -\$" "$before"; then
            [ "$chain" = - ] && nft delete table "$family" "$table"
            continue
        fi
        case "$chain" in CNI-*) ;; *) continue ;; esac
        nft -a list table "$family" "$table" 2>/dev/null | awk -v c="$chain" '
            $1 == "chain" { current = $2 }
            ($0 ~ "(jump|goto) " c " ") && current != c { print current, $NF }' |
            while read -r from handle; do nft delete rule "$family" "$table" "$from" handle "$handle"; done
        nft flush chain "$family" "$table" "$chain"
    done
    comm -13 "$before" "$WORK/chains.after" | while read -r family table chain; do
        case "$chain" in CNI-*) grep -q "^$family $table -\$" "$before" && nft delete chain "$family" "$table" "$chain" ;; esac
    done
    return 0
}

cleanup() {
    local status=$?
    set +e
    if [ "$podman_ready" = 1 ]; then
        podman_env_cleanup
        ip link delete cstbench0 2>/dev/null
        iptables_restore "$WORK/chains.before"
        # libcni's result cache directory, if podman made it (empty once every DEL ran).
        [ "$had_cni_cache" = no ] && rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
    fi
    hugetlb_v1_release
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT INT TERM

# --- Caisson ---------------------------------------------------------------------------
if ! CAISSON_NET_BENCH_RUNS="$RUNS" TMPDIR="$WORK" swift test --scratch-path "$SCRATCH" --skip-build \
        --filter 'NetworkTests.LifecycleBenchmarkTests' >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "network.sh: the benchmark test failed" >&2
    exit 1
fi
value() { awk -v k="network.$1.$2" '$1 == k { print $2 }' "$LOG"; }

# --- podman ----------------------------------------------------------------------------
if [ "$PODMAN" = 1 ]; then
    iptables_chains > "$WORK/chains.before"
    had_cni_cache=no
    [ -d /var/lib/cni ] && had_cni_cache=yes
    . "$ROOT/scripts/lib/podman-env.sh"
    podman_env_setup "$WORK/podman" 'crun = ["/usr/bin/crun"]' crun
    podman_ready=1
    mkdir -p "$WORK/podman/cni" "$WORK/podman/cni-ipam"
    # Podman's CNI backend, reading only this directory (not the host's /etc/cni/net.d).
    cat >> "$WORK/podman/containers.conf" <<CONF
[network]
network_backend = "cni"
network_config_dir = "$WORK/podman/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
default_network = "cstbench"
CONF
    # podman's own default conflist (87-podman-bridge.conflist), on a bridge and subnet of
    # the benchmark's, with host-local's leases under the work directory.
    cat > "$WORK/podman/cni/cstbench.conflist" <<CONF
{"cniVersion": "0.4.0", "name": "cstbench", "plugins": [
  {"type": "bridge", "bridge": "cstbench0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$WORK/podman/cni-ipam", "routes": [{"dst": "0.0.0.0/0"}],
            "ranges": [[{"subnet": "10.213.40.0/24", "gateway": "10.213.40.1"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "firewall"},
  {"type": "tuning"}
]}
CONF
    hugetlb_v1_mount
    mkdir -p "$WORK/rootfs/bin"
    cp /bin/busybox "$WORK/rootfs/bin/"
    ln -s busybox "$WORK/rootfs/bin/true"
    tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
    "${P[@]}" import -q "$WORK/rootfs.tar" localhost/caisson-netbench:latest >/dev/null
    image=localhost/caisson-netbench:latest

    one() {  # prints the wall time of one podman run in µs
        local start end
        start=$(date +%s%N)
        if [ "$1" = none ]; then
            tini -s -- "${P[@]}" run --rm --network none "$image" true
        else
            tini -s -- "${P[@]}" run --rm --network bridge -p 18095:80 "$image" true
        fi
        end=$(date +%s%N)
        echo $(( (end - start) / 1000 ))
    }
    for mode in none bridge; do for _ in 1 2 3; do one "$mode" >/dev/null; done; done   # warm caches
    for _ in $(seq "$PODMAN_RUNS"); do
        for mode in none bridge; do echo "$mode $(one "$mode")" >> "$WORK/podman.times"; done
    done
    # Nothing of a run may stay: no lease, no veth on the bridge.
    leases=$(find "$WORK/podman/cni-ipam" -name '10.213.40.*' | wc -l)
    veths=$(ls /sys/class/net/cstbench0/brif 2>/dev/null | wc -l)
    [ "$leases" = 0 ] && [ "$veths" = 0 ] || echo "network.sh: podman left $leases leases and $veths veths" >&2
fi

# --- Table -----------------------------------------------------------------------------
stat_of() {  # $1 mode, $2 median|p90: podman run times in ms
    grep "^$1 " "$WORK/podman.times" | awk '{print $2}' | sort -n | awk -v s="$2" '{a[NR]=$1} END {
        if (s == "median") v = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
        else { i = int((NR*9+9)/10); if (i > NR) i = NR; v = a[i] }
        printf "%.3f", v/1000 }'
}
echo "Networking's cost in a container lifecycle — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo
printf '| %-34s | %10s | %10s | %8s | %6s |\n' "variant" "median ms" "p95/p90 ms" "mean ms" "runs"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------" "------------" "------------" "----------" "--------"
for v in plain none bridge_port; do
    printf '| %-34s | %10s | %10s | %8s | %6s |\n' "Caisson $v" "$(value "$v" median_ms)" "$(value "$v" p95_ms)" \
        "$(value "$v" mean_ms)" "$(value "$v" runs)"
done
c_plain=$(value plain median_ms) c_none=$(value none median_ms) c_bridge=$(value bridge_port median_ms)
c_cost=$(awk -v a="$c_bridge" -v b="$c_plain" 'BEGIN { printf "%.3f", a - b }')
c_cost_none=$(awk -v a="$c_bridge" -v b="$c_none" 'BEGIN { printf "%.3f", a - b }')
if [ "$PODMAN" = 1 ]; then
    p_none=$(stat_of none median) p_bridge=$(stat_of bridge median)
    for mode in none bridge; do
        label="podman --network $mode"
        [ "$mode" = bridge ] && label="podman --network bridge -p (CNI)"
        printf '| %-34s | %10s | %10s | %8s | %6s |\n' "$label" "$(stat_of "$mode" median)" "$(stat_of "$mode" p90)" "-" \
            "$(grep -c "^$mode " "$WORK/podman.times")"
    done
    p_cost=$(awk -v a="$p_bridge" -v b="$p_none" 'BEGIN { printf "%.3f", a - b }')
fi
echo
echo "Caisson's added cost (bridge_port - plain): $c_cost ms; (bridge_port - none): $c_cost_none ms"
if [ "$PODMAN" = 1 ]; then
    echo "podman's added cost (bridge -p - none): $p_cost ms"
    awk -v c="$c_cost" -v p="$p_cost" 'BEGIN {
        printf "ratio: %.3f of podman'\''s — goal (<= 1/3): %s\n", c / p, (c <= p / 3) ? "met" : "MISSED" }'
fi
