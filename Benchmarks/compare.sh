#!/usr/bin/env bash
# Caisson vs crun vs runc on the same busybox bundle, in one run, printed as one table.
#
#   bash Benchmarks/compare.sh            # quick: 200 sequential runs, 10 s concurrency, 100 sleepers
#   bash Benchmarks/compare.sh --full     # 1,000 sequential runs, 20 s concurrency, 1,000 sleepers
#   bash Benchmarks/compare.sh --full --huge   # and 10,000 Caisson sleepers alive at once
#
# Other options: --runs N, --seconds T, --density N, --parallel P (CLI loops), --in-flight K
# (Caisson's bound), --skip-build, --keep-log DIR (copy the raw results there),
# --state-on-disk (state roots under /tmp instead of the tmpfs /dev/shm).
#
# A fourth column, "floor", is the kernel work alone (Benchmarks/kernel-floor.c: the same
# namespaces, cgroups, mounts, pivot_root and execve with bare system calls, no runtime):
# no runtime can go below it, so a goal below it cannot be met.
#
# All three runtimes keep their state roots on one tmpfs (/dev/shm), as /run is on a usual
# host, and run the same bundles (one busybox rootfs, `runc spec` configs).
#
# Needs root, crun, runc, busybox-static (make deps installs them) and Swift. Everything
# it creates (containers, cgroups, the hugetlb mount crun needs, temp dirs) is removed on
# exit, failure and Ctrl-C alike.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../scripts/lib/hugetlb-v1.sh"
RUNS=200 WARMUP=10 CONC_SECONDS=10 DENSITY=100 PARALLEL=4 IN_FLIGHT=8 HUGE=0 BUILD=1 KEEP=""
STATE_PARENT=/dev/shm SETTLE=5
MODE=quick
while [ $# -gt 0 ]; do
    case "$1" in
        --full) MODE=full RUNS=1000 CONC_SECONDS=20 DENSITY=1000 SETTLE=15 ;;
        --huge) HUGE=1 ;;
        --runs) RUNS=$2; shift ;;
        --seconds) CONC_SECONDS=$2; shift ;;
        --density) DENSITY=$2; shift ;;
        --parallel) PARALLEL=$2; shift ;;
        --in-flight) IN_FLIGHT=$2; shift ;;
        --skip-build) BUILD=0 ;;
        --state-on-disk) STATE_PARENT=/tmp ;;
        --keep-log) KEEP=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

[ "$(id -u)" = 0 ] || { echo "compare.sh: run as root (it starts real containers)" >&2; exit 1; }
for tool in crun runc busybox swift cc; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (make deps)" >&2; exit 1; }
done

WORK="" STATE=""
CAISSON_PARENTS_BEFORE=$(ls -d /sys/fs/cgroup/*/caisson 2>/dev/null || true)

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# Kill what is left in the benchmark's cgroups (named cbench-*), then remove them.
remove_cgroups() {
    local dir pid tries
    for dir in /sys/fs/cgroup/*/cbench-* /sys/fs/cgroup/*/caisson/cbench-*; do
        [ -d "$dir" ] || continue
        for tries in 1 2 3 4 5 6 7 8 9 10; do
            while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$dir/cgroup.procs" 2>/dev/null || true
            rmdir "$dir" 2>/dev/null && break
            sleep 0.1
        done
    done
    # Caisson's default parent: remove it only if this run brought it.
    for dir in /sys/fs/cgroup/*/caisson; do
        [ -d "$dir" ] || continue
        grep -qxF "$dir" <<<"$CAISSON_PARENTS_BEFORE" || rmdir "$dir" 2>/dev/null || true
    done
}

delete_cli_containers() {  # runtime root
    local rt=$1 root=$2 id
    [ -d "$root" ] || return 0
    for id in $("$rt" --root "$root" list -q 2>/dev/null); do
        "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$STATE" ]; then
        delete_cli_containers crun "$STATE/crun"
        delete_cli_containers runc "$STATE/runc"
    fi
    remove_cgroups
    hugetlb_v1_release
    if [ -n "$WORK" ]; then
        [ -n "$KEEP" ] && [ -f "$WORK/results.txt" ] && mkdir -p "$KEEP" && cp "$WORK/results.txt" "$KEEP/"
        rm -rf "$WORK"
    fi
    [ -z "$STATE" ] || rm -rf "$STATE"
    local left
    left=$( (ls -d /sys/fs/cgroup/*/cbench-* /sys/fs/cgroup/*/caisson/cbench-* 2>/dev/null; grep -E 'caisson|cbench' /proc/self/mountinfo) || true)
    [ -z "$left" ] || { echo "compare.sh: left behind:" >&2; echo "$left" >&2; }
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------- build
cd "$HERE"
if [ "$BUILD" = 1 ]; then
    log "building caisson-bench (release)"
    swift build -c release --product caisson-bench >&2
fi
BIN="$(swift build -c release --show-bin-path)/caisson-bench"
[ -x "$BIN" ] || { echo "compare.sh: $BIN missing (drop --skip-build)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/caisson-compare.XXXXXX)
STATE=$(mktemp -d "$STATE_PARENT/caisson-compare.XXXXXX")
RESULTS="$WORK/results.txt"
B="$WORK/bundles"
"$BIN" bundles "$B"
FLOOR="$WORK/kernel-floor"
cc -O2 -o "$FLOOR" "$HERE/kernel-floor.c"
bench() { "$BIN" "$@" | tee -a "$RESULTS"; }
# After many network namespaces are gone, the kernel frees them in a worker for a while:
# let that finish before the next measurement.
settle() { sleep "$SETTLE"; }
run_caisson() { bench "$@" --bundles "$B" --scratch "$STATE"; }

# ---------------------------------------------------------------------------- Caisson
log "Caisson (in-process, $BIN)"
run_caisson sequential --runs "$RUNS" --warmup "$WARMUP"
run_caisson concurrent --seconds "$CONC_SECONDS" --in-flight "$IN_FLIGHT"
run_caisson density --count "$DENSITY" --in-flight "$IN_FLIGHT"
settle
run_caisson leakcheck --in-flight "$IN_FLIGHT"
run_caisson bighost --runs "$RUNS" --warmup "$WARMUP"


# One CLI runtime: sequential, concurrent, density.
cli_runtime() {  # name
    local rt=$1 root="$STATE/$1"
    local cli=("$rt" --root "$root")
    for variant in netns nonet limits; do
        local bundle="$B/true-$variant"
        bench cmd-sequential --label "$rt.seq.$variant" --runs "$RUNS" --warmup "$WARMUP" -- \
            "${cli[@]}" run -b "$bundle" "{id}"
        [ "$variant" = limits ] && continue
        bench cmd-concurrent --label "$rt.conc.$variant" --parallel "$PARALLEL" --seconds "$CONC_SECONDS" -- \
            "${cli[@]}" run -b "$bundle" "{id}"
    done
    # Detached sleepers re-parent to the driver, which makes itself a subreaper.
    bench cmd-density --label "$rt.density" --count "$DENSITY" --parallel "$PARALLEL" \
        --start "${cli[@]}" run -d -b "$B/sleep" "{id}" -- -- "${cli[@]}" delete -f "{id}"
    delete_cli_containers "$rt" "$root"
    settle
}

# ---------------------------------------------------------------------------- runc
log "runc ($(runc --version | head -1))"
cli_runtime runc

# ---------------------------------------------------------------------------- crun
# crun 1.8.1 refuses a hybrid cgroup host unless hugetlb is mounted as a v1 hierarchy:
# mount it for crun only, and take it away again (here and in the trap).
hugetlb_v1_mount
log "crun ($(crun --version | head -1))"
cli_runtime crun
hugetlb_v1_release

# ---------------------------------------------------------------------------- kernel floor
# After the runtimes: its density phase frees 100-1,000 network namespaces, which the
# kernel does for a while afterwards (and which would colour a memory measurement).
log "kernel floor ($FLOOR: the same kernel work, no runtime)"
floor() { "$FLOOR" "$@" | tee -a "$RESULTS"; }
floor sequential "$B/rootfs" 1 "$RUNS"
floor sequential "$B/rootfs" 0 "$RUNS"
floor sequential "$B/rootfs" 1 "$RUNS" limits
floor concurrent "$B/rootfs" 1 "$CONC_SECONDS" "$PARALLEL"
floor concurrent "$B/rootfs" 0 "$CONC_SECONDS" "$PARALLEL"
floor density "$B/rootfs" "$DENSITY" "$PARALLEL"
settle

# ---------------------------------------------------------------------------- 10,000
# Last, so that the kernel state 10,000 namespaces and cgroups leave behind cannot
# colour the other runtimes' numbers.
if [ "$HUGE" = 1 ]; then
    log "Caisson: 10,000 sleepers"
    { "$BIN" density --bundles "$B" --scratch "$STATE" --count 10000 --in-flight "$IN_FLIGHT" || echo "caisson.huge.failed 1"; } \
        | sed 's/^caisson\.density\./caisson.huge./' | tee -a "$RESULTS"
fi

# ---------------------------------------------------------------------------- table
awk -v mode="$MODE" -v runs="$RUNS" -v secs="$CONC_SECONDS" -v dens="$DENSITY" \
    -v par="$PARALLEL" -v inflight="$IN_FLIGHT" \
    -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v host="$(uname -r), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)" \
    -v versions="$(crun --version | head -1), $(runc --version | head -1)" '
function v(k) { return (k in r) ? r[k] : "" }
function f(x) { return x == "" ? "—" : (x + 0 >= 100 ? sprintf("%.0f", x) : sprintf("%.2f", x)) }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "—" : sprintf("%.1f×", a / b) }
function kmem(p) { return (p ".slab_kib_per_container" in r) ? r[p ".slab_kib_per_container"] + r[p ".kernelstack_kib_per_container"] + r[p ".pagetables_kib_per_container"] : "" }
function goal(ok, text) { return (ok ? "met " : "MISSED ") text }
function row(name, c, cr, rc, fl, lower, g) {
    # lower: 1 if smaller is better (ratios shown as other/Caisson), else Caisson/other
    printf "| %-50s | %9s | %9s | %9s | %9s | %9s | %9s | %s\n", name, f(c), f(cr), f(rc), f(fl),
        lower ? ratio(cr, c) : ratio(c, cr), lower ? ratio(rc, c) : ratio(c, rc), g
}
function plain(name, c, g) { printf "| %-50s | %9s | %9s | %9s | %9s | %9s | %9s | %s\n", name, c, "", "", "", "", "", g }
# A relative goal that even the kernel floor misses cannot be met by any runtime.
function reach(ok, fl_ok, text) { return goal(ok, text) ((!ok && fl_ok == 0) ? " (the kernel floor misses it too)" : "") }
{ r[$1] = $2 }
END {
    printf "\nCaisson vs crun vs runc — %s — %s — %s\n", when, host, versions
    printf "mode %s: %s sequential runs, %s s concurrency (CLI: %s loops; Caisson: %s in flight), %s sleepers\n\n", mode, runs, secs, par, inflight, dens
    printf "| %-50s | %9s | %9s | %9s | %9s | %9s | %9s | %s\n", "metric", "Caisson", "crun", "runc", "floor", "vs crun", "vs runc", "goal"
    printf "|%s|%s|%s|%s|%s|%s|%s|------\n", "----------------------------------------------------", "-----------", "-----------", "-----------", "-----------", "-----------", "-----------"
    for (i = 1; i <= 3; i++) {
        n = i == 1 ? "netns" : (i == 2 ? "nonet" : "limits")
        label = i == 1 ? "with netns" : (i == 2 ? "without netns" : "with netns + memory/pids limits")
        c = v("caisson.seq." n ".median_ms"); cr = v("crun.seq." n ".median_ms"); fl = v("floor.seq." n ".median_ms")
        row("lifecycle /bin/true " label ", median ms", c, cr, v("runc.seq." n ".median_ms"), fl, 1,
            reach(c != "" && cr != "" && c <= cr / 4, fl == "" ? "" : (fl <= cr / 4), "≤ 1/4 of crun"))
        row("lifecycle /bin/true " label ", p90 ms", v("caisson.seq." n ".p90_ms"), v("crun.seq." n ".p90_ms"), v("runc.seq." n ".p90_ms"), v("floor.seq." n ".p90_ms"), 1, "")
        row("CPU ms per lifecycle " label, v("caisson.seq." n ".cpu_ms_per_run"), v("crun.seq." n ".cpu_ms_per_run"), v("runc.seq." n ".cpu_ms_per_run"), v("floor.seq." n ".cpu_ms_per_run"), 1, "")
    }
    c = v("caisson.cgroup.median_ms"); l = v("caisson.seq.limits.median_ms")
    row("cgroup dirs + limits + rmdir alone, median ms", c, "", "", "", 1,
        (c != "" && l != "") ? sprintf("%.0f%% of the lifecycle with limits", 100 * c / l) : "")
    for (i = 1; i <= 2; i++) {
        n = i == 1 ? "netns" : "nonet"; label = i == 1 ? "with netns" : "without netns"
        c = v("caisson.conc." n ".per_s"); cr = v("crun.conc." n ".per_s"); fl = v("floor.conc." n ".per_s")
        row("concurrent lifecycles/s " label, c, cr, v("runc.conc." n ".per_s"), fl, 0,
            reach(c != "" && cr != "" && c >= 4 * cr, fl == "" ? "" : (fl >= 4 * cr), "≥ 4× crun"))
    }
    c = v("caisson.density.start_s"); cr = v("crun.density.start_s"); fl = v("floor.density.start_s")
    row(sprintf("density: %s sleepers all started, s", dens), c, cr, v("runc.density.start_s"), fl, 1,
        reach(c != "" && cr != "" && c * 5 <= cr, fl == "" ? "" : (fl * 5 <= cr), "≥ 5× faster than crun"))
    c = v("caisson.density.memavail_kib_per_container"); cr = v("crun.density.memavail_kib_per_container")
    row("density: MemAvailable drop, KiB/container", c, cr, v("runc.density.memavail_kib_per_container"), "", 1,
        goal(c != "" && cr != "" && c <= cr, "≤ crun"))
    c = kmem("caisson.density"); cr = kmem("crun.density")
    row("density: kernel slab+stacks+page tables, KiB/ctr", c, cr, kmem("runc.density"), "", 1, "")
    c = v("caisson.density.host_rss_kib_per_container")
    row("density: host process RSS, KiB/container", c, "", "", "", 1, goal(c != "" && c < 64, "< 64 KiB"))
    row("density: delete all, s", v("caisson.density.delete_s"), v("crun.density.delete_s"), v("runc.density.delete_s"), "", 1, "")
    left = v("caisson.density.left_state_dirs") + v("caisson.density.left_processes") + v("caisson.density.left_cgroups")
    row("density: left behind (state, processes, cgroups)", left, v("crun.density.left_cgroups"), v("runc.density.left_cgroups"), "", 1, goal(left == 0, "none"))
    c = v("caisson.leakcheck.parent_dirs_left")
    row("cgroup parent dirs left by concurrent containers", c, "", "", "", 1, goal(c == 0, "none"))
    if ("caisson.huge.start_s" in r) {
        row("10,000 sleepers: all started, s", v("caisson.huge.start_s"), "", "", "", 1,
            goal(v("caisson.huge.started") == 10000 && v("caisson.huge.running") == 10000, "10,000 alive, no failure"))
        row("10,000 sleepers: MemAvailable KiB/container", v("caisson.huge.memavail_kib_per_container"), "", "", "", 1, "")
        row("10,000 sleepers: host RSS KiB/container", v("caisson.huge.host_rss_kib_per_container"), "", "", "", 1, "")
    }
    for (i = 1; i <= 2; i++) {
        n = i == 1 ? "netns" : "nonet"; label = i == 1 ? "with netns" : "without netns"
        s = v("caisson.small." n ".median_ms"); b = v("caisson.big." n ".median_ms")
        plain("big host (2 GiB, 50 threads) " n ", median ms", f(b),
            goal(s != "" && b != "" && b <= 1.2 * s, sprintf("≤ 1.2× small host (%s ms): %s", f(s), ratio(b, s))))
    }
    d = v("caisson.created.system_pagetables_delta_kib"); m = v("caisson.created.child_shares_host_mm")
    plain("created, not started: page tables added, KiB", f(d),
        goal(m == 1 && d + 0 < v("caisson.big.host_vmpte_kib") / 4, sprintf("no copy of the host page tables, %s KiB (child shares host mm: %s)", f(v("caisson.big.host_vmpte_kib")), m == 1 ? "yes" : "no")))
    plain("created, not started: host VmRSS added, KiB", f(v("caisson.created.host_vmrss_delta_kib")), "")
    printf "\n(\"vs\" columns: how many times better Caisson is; > 1× means Caisson wins. \"floor\": the kernel work alone, Benchmarks/kernel-floor.c.)\n"
}' "$RESULTS"
