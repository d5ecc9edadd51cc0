#!/usr/bin/env bash
# Image benchmarks: Caisson's unpack vs `umoci unpack` vs `gzip -dc | tar -x` of the same
# blobs, side by side in one run on the same filesystem (tmpfs and disk); rootfs prepare
# latency; and pull + unpack from a local docker-registry vs `skopeo copy` + `umoci unpack`
# (Caisson both ways: unpacking each layer as it downloads, and pull first, then unpack).
#
#   bash Benchmarks/images.sh                 # 3 rounds per unpack variant, 200 prepares
#   bash Benchmarks/images.sh --rounds 5 --runs 500
#
# Options: --cache DIR (where the test image is made once; default /var/tmp/caisson-image-bench),
# --rounds N (unpack rounds, the median is reported), --runs N (prepares), --skip-build,
# --scratch-path DIR (SwiftPM scratch dir for the release build), --disk DIR (the disk
# filesystem to test; default /var/tmp), --no-pull, --pull-only (skip the unpack and
# prepare parts), --perf (record a perf profile of one Caisson unpack into the cache dir),
# --keep-log DIR.
#
# The test image (~230 MB compressed): a busybox layer, four layers of one 50 MB random
# file each, two layers of 10,000 small files each; gzip-compressed; built once with tar
# and gzip into an OCI layout in the cache dir.
#
# Needs root, skopeo, umoci, docker-registry, busybox-static, python3 and Swift.
# Everything it makes (stores, bundles, mounts, the registry process) is removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=/var/tmp/caisson-image-bench ROUNDS=3 RUNS=200 BUILD=1 SCRATCH="" DISK=/var/tmp PULL=1 UNPACK=1 PERF=0 KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --cache) CACHE=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --skip-build) BUILD=0 ;;
        --scratch-path) SCRATCH=$2; shift ;;
        --disk) DISK=$2; shift ;;
        --no-pull) PULL=0 ;;
        --pull-only) UNPACK=0 ;;
        --perf) PERF=1 ;;
        --keep-log) KEEP=$2; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "images.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "images.sh: run as root (unpack preserves ownership, prepare mounts)" >&2; exit 1; }
for tool in skopeo umoci docker-registry python3 gzip tar; do
    command -v "$tool" >/dev/null || { echo "images.sh: $tool is missing (make deps)" >&2; exit 1; }
done

# ---------------------------------------------------------------------------------------
# Cleanup: everything below lives in WORK dirs; the registry is ours by PID.
WORKS=() REGISTRY_PID="" RESULTS=$(mktemp /tmp/caisson-images-results.XXXXXX)
cleanup() {
    local status=$?
    if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
    for work in "${WORKS[@]}"; do
        # Mounts a failed prepare may have left, deepest first.
        awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || true; done
        rm -rf "$work"
    done
    [ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$RESULTS" "$KEEP/images-results.txt"
    rm -f "$RESULTS"
    exit $status
}
trap cleanup EXIT INT TERM
# Sets NEWWORK (not echoed: a $(…) subshell would lose the WORKS entry and the cleanup).
newwork() { NEWWORK=$(mktemp -d "$1/caisson-imgbench.XXXXXX"); WORKS+=("$NEWWORK"); }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.4f}')" "$1" "$2"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(map(float, sys.argv[1:])):.4f}')" "$@"; }
result() { echo "$1 $2" >> "$RESULTS"; echo "  $1 = $2" >&2; }

# ---------------------------------------------------------------------------------------
# The test image, made once.
LAYOUT=$CACHE/layout
make_image() {
    echo "making the test image in $CACHE (once)..." >&2
    rm -rf "$CACHE" && mkdir -p "$CACHE/trees" "$CACHE/layers"
    local t=$CACHE/trees
    mkdir -p "$t/l0/bin" "$t/l0/etc" "$t/l0/root"
    cp /bin/busybox "$t/l0/bin/busybox"
    for applet in sh ls cat echo true sleep; do ln -s busybox "$t/l0/bin/$applet"; done
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$t/l0/etc/passwd"
    for i in 1 2 3 4; do
        mkdir -p "$t/l$i/data"
        head -c $((50 << 20)) /dev/urandom > "$t/l$i/data/random$i"
    done
    python3 - "$t" <<'PY'
import os, random, sys
root = sys.argv[1]
for layer in (5, 6):
    rng = random.Random(layer)
    for i in range(10000):
        d = os.path.join(root, f"l{layer}", "files", f"{i // 100:03d}")
        os.makedirs(d, exist_ok=True)
        size = rng.randint(256, 2560)
        with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
            f.write(rng.randbytes(size))
PY
    local diffids=() descs=()
    for i in 0 1 2 3 4 5 6; do
        tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -C "$t/l$i" -cf "$CACHE/layers/l$i.tar" .
        diffids+=("sha256:$(sha256sum "$CACHE/layers/l$i.tar" | cut -d' ' -f1)")
        gzip -n -6 "$CACHE/layers/l$i.tar"
    done
    mkdir -p "$LAYOUT/blobs/sha256"
    for i in 0 1 2 3 4 5 6; do
        local f=$CACHE/layers/l$i.tar.gz digest size
        digest=$(sha256sum "$f" | cut -d' ' -f1); size=$(stat -c %s "$f")
        mv "$f" "$LAYOUT/blobs/sha256/$digest"
        descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}")
    done
    local ids config cdigest csize manifest mdigest msize
    ids=$(printf '"%s",' "${diffids[@]}"); ids=${ids%,}
    config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"PATH=/bin\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$ids]}}"
    printf '%s' "$config" > "$CACHE/config.json"
    cdigest=$(sha256sum "$CACHE/config.json" | cut -d' ' -f1); csize=$(stat -c %s "$CACHE/config.json")
    mv "$CACHE/config.json" "$LAYOUT/blobs/sha256/$cdigest"
    local layers; layers=$(printf '%s,' "${descs[@]}"); layers=${layers%,}
    manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cdigest\",\"size\":$csize},\"layers\":[$layers]}"
    printf '%s' "$manifest" > "$CACHE/manifest.json"
    mdigest=$(sha256sum "$CACHE/manifest.json" | cut -d' ' -f1); msize=$(stat -c %s "$CACHE/manifest.json")
    mv "$CACHE/manifest.json" "$LAYOUT/blobs/sha256/$mdigest"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' "$mdigest" "$msize" > "$LAYOUT/index.json"
    printf '%s\n' "${descs[@]}" | sed 's/.*"sha256:\([0-9a-f]*\)".*/\1/' > "$CACHE/layer-order"
    rm -rf "$CACHE/trees" "$CACHE/layers"
    echo "$IMAGE_VERSION" > "$CACHE/complete"
}
# Bump when the image changes, so stale caches are rebuilt.
IMAGE_VERSION=2
[ "$(cat "$CACHE/complete" 2>/dev/null)" = "$IMAGE_VERSION" ] || make_image
TOTAL_MB=$(du -sm "$LAYOUT/blobs" | cut -f1)
echo "test image: $LAYOUT ($TOTAL_MB MB of blobs, $(wc -l < "$CACHE/layer-order") layers)" >&2

# ---------------------------------------------------------------------------------------
# The Caisson driver (release).
BENCH_ARGS=(-c release --product caisson-image-bench)
[ -n "$SCRATCH" ] && BENCH_ARGS+=(--scratch-path "$SCRATCH")
if [ "$BUILD" = 1 ]; then
    echo "building caisson-image-bench (release)..." >&2
    (cd "$HERE" && swift build "${BENCH_ARGS[@]}" >&2)
fi
BIN=$(cd "$HERE" && swift build "${BENCH_ARGS[@]}" --show-bin-path)/caisson-image-bench
[ -x "$BIN" ] || { echo "images.sh: $BIN not built" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# Unpack side by side on one filesystem.
bench_fs() {
    local label=$1 parent=$2 work
    newwork "$parent"; work=$NEWWORK
    echo "[$label] $work ($(stat -f -c %T "$work"))" >&2
    cp -r "$LAYOUT" "$work/layout"   # every tool reads the blobs from this filesystem
    local caisson1=() caisson2=() umoci=() gz=() gzpar=()
    # Every run gets fresh directories, deleted only at the end of this filesystem's part:
    # ext4 does not reuse an inode for a minute or more after it is freed, and scanning
    # past tens of thousands of just-freed inodes (`recently_deleted` in perf) would slow
    # whichever tool runs next.
    for round in $(seq "$ROUNDS"); do
        local r=$work/r$round s e t
        mkdir -p "$r"
        # Caisson: import (timed separately), then unpack every layer into snapshots.
        for par in 1 2; do
            "$BIN" import "$r/store$par" "$work/layout" bench > /dev/null
            sync
            t=$("$BIN" unpack "$r/store$par" bench --parallel "$par" | awk '/unpack_s/ {print $2}')
            if [ "$par" = 1 ]; then caisson1+=("$t"); else caisson2+=("$t"); fi
        done
        # umoci unpack (sequential, flat rootfs).
        sync
        s=$(now); umoci unpack --image "$work/layout:bench" "$r/bundle" > /dev/null 2>&1; e=$(now)
        umoci+=("$(elapsed "$s" "$e")")
        # gzip -dc | tar -x of the same blobs, in order, into one directory.
        mkdir "$r/flat"; sync
        s=$(now)
        while read -r digest; do gzip -dc "$work/layout/blobs/sha256/$digest" | tar -x -C "$r/flat"; done < "$CACHE/layer-order"
        e=$(now)
        gz+=("$(elapsed "$s" "$e")")
        # The same, each layer into its own directory, two at a time (as Caisson's snapshots).
        mkdir "$r/split"; sync
        s=$(now)
        xargs -P 2 -I{} sh -c 'mkdir -p "$1/$2" && gzip -dc "$3/blobs/sha256/$2" | tar -x -C "$1/$2"' _ "$r/split" {} "$work/layout" < "$CACHE/layer-order"
        e=$(now)
        gzpar+=("$(elapsed "$s" "$e")")
    done
    result "$label.caisson_unpack_seq_s" "$(median "${caisson1[@]}")"
    result "$label.caisson_unpack_par2_s" "$(median "${caisson2[@]}")"
    result "$label.umoci_unpack_s" "$(median "${umoci[@]}")"
    result "$label.gzip_tar_s" "$(median "${gz[@]}")"
    result "$label.gzip_tar_par2_s" "$(median "${gzpar[@]}")"
    # Prepare: overlay mount of the unpacked snapshots, and remove; then flat copies.
    "$BIN" prepare "$work/r1/store2" bench --runs "$RUNS" --mode overlay | while read -r k v; do result "$label.${k#caisson.}" "$v"; done
    "$BIN" prepare "$work/r1/store2" bench --runs 3 --mode copy | while read -r k v; do result "$label.${k#caisson.}" "$v"; done
    if [ "$PERF" = 1 ] && command -v perf > /dev/null; then
        "$BIN" import "$work/perf-store" "$work/layout" bench > /dev/null
        perf record -g -o "$CACHE/perf-$label.data" -- "$BIN" unpack "$work/perf-store" bench --parallel 1 > /dev/null 2>&1 || true
        perf report -i "$CACHE/perf-$label.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -40 > "$CACHE/perf-$label.txt" || true
        echo "perf profile: $CACHE/perf-$label.txt" >&2
    fi
    rm -rf "$work"/r* "$work/perf-store"
}
# ---------------------------------------------------------------------------------------
# Pull + unpack from a local docker-registry (on loopback, storage on disk). First, and
# nothing it makes is deleted before the exit: every tool here creates ~40,000 files per
# round on ext4, which slows down badly for a while after many files were deleted (see
# bench_fs), so the disk must not have just been emptied by an earlier part.
bench_pull() {
    local reg port ref s m e out cp=() cseq=() cdl=() sk=() skun=() gz=()
    newwork "$DISK"; reg=$NEWWORK
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat > "$reg/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $reg/data
http:
  addr: 127.0.0.1:$port
  secret: caisson-bench
EOF
    docker-registry serve "$reg/config.yml" > "$reg/registry.log" 2>&1 &
    REGISTRY_PID=$!
    for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" > /dev/null 2>&1 && break; sleep 0.1; done
    skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:bench" "docker://127.0.0.1:$port/bench/image:1"
    ref=127.0.0.1:$port/bench/image:1
    for round in $(seq "$ROUNDS"); do
        # Caisson, unpacking each layer as it downloads (what Engine.pull does).
        sync
        out=$("$BIN" pull "$reg/store$round" "$ref")
        cp+=("$(echo "$out" | awk '/pull_unpack_s/ {print $2}')")
        # Caisson, pull first, then unpack one layer at a time (the unpack default).
        sync
        out=$("$BIN" pull "$reg/seq$round" "$ref" --then-unpack --parallel 1)
        cseq+=("$(echo "$out" | awk '/pull_unpack_s/ {print $2}')")
        cdl+=("$(echo "$out" | awk '/caisson.pull_s/ {print $2}')")
        sync
        s=$(now)
        skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$reg/oci$round:img"
        m=$(now)
        umoci unpack --image "$reg/oci$round:img" "$reg/bundle$round" > /dev/null 2>&1
        e=$(now)
        sk+=("$(elapsed "$s" "$e")")
        skun+=("$(elapsed "$s" "$m")")
        # The goal's baseline on the same filesystem: gzip -dc | tar -x of the blobs.
        mkdir "$reg/flat$round"; sync
        s=$(now)
        while read -r digest; do gzip -dc "$LAYOUT/blobs/sha256/$digest" | tar -x -C "$reg/flat$round"; done < "$CACHE/layer-order"
        e=$(now)
        gz+=("$(elapsed "$s" "$e")")
    done
    result disk.caisson_pull_unpack_s "$(median "${cp[@]}")"
    result disk.caisson_pull_then_unpack_s "$(median "${cseq[@]}")"
    result disk.caisson_pull_only_s "$(median "${cdl[@]}")"
    result disk.skopeo_umoci_s "$(median "${sk[@]}")"
    result disk.skopeo_copy_only_s "$(median "${skun[@]}")"
    result disk.pull_gzip_tar_s "$(median "${gz[@]}")"
}
if [ "$PULL" = 1 ]; then bench_pull; fi
if [ "$UNPACK" = 1 ]; then
    bench_fs tmpfs /dev/shm
    bench_fs disk "$DISK"
fi

# ---------------------------------------------------------------------------------------
# The table.
python3 - "$RESULTS" "$TOTAL_MB" <<'PY'
import sys, datetime, os
values = {}
for line in open(sys.argv[1]):
    key, value = line.split()
    values[key] = float(value)
def v(key): return values.get(key)
def fmt(x, unit="s"): return "—" if x is None else (f"{x:.3f}" if unit == "s" else f"{x:.2f}")
print(f"Caisson image benchmarks — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — {os.uname().release}, {os.cpu_count()} cores — test image {sys.argv[2]} MB of gzip blobs, 7 layers")
print()
if v("tmpfs.gzip_tar_s") is not None:
    print("| metric | tmpfs | disk (ext4) | vs gzip\\|tar (tmpfs / disk) | goal |")
    print("|---|---|---|---|---|")
    rows = [
        ("gzip -dc \\| tar -x, layers in order into one dir, s", "gzip_tar_s", None),
        ("gzip -dc \\| tar -x, one dir per layer, 2 at a time, s", "gzip_tar_par2_s", None),
        ("umoci unpack, s", "umoci_unpack_s", None),
        ("Caisson unpack (snapshots, verified), 1 layer at a time (the default), s", "caisson_unpack_seq_s", "≤ 1.2× gzip\\|tar"),
        ("Caisson unpack (snapshots, verified), 2 layers at a time, s", "caisson_unpack_par2_s", None),
    ]
    for label, key, goal in rows:
        t, d = v("tmpfs." + key), v("disk." + key)
        bt, bd = v("tmpfs.gzip_tar_s"), v("disk.gzip_tar_s")
        ratio = f"{t / bt:.2f}× / {d / bd:.2f}×" if None not in (t, d, bt, bd) else "—"
        verdict = ""
        if goal:
            verdict = ("met " if t / bt <= 1.2 and d / bd <= 1.2 else "MISSED ") + goal
        print(f"| {label} | {fmt(t)} | {fmt(d)} | {ratio} | {verdict} |")
    for label, key, goal in [
        ("prepare overlay rootfs, median ms", "prepare_overlay_median_ms", 2.0),
        ("prepare overlay rootfs, p90 ms", "prepare_overlay_p90_ms", None),
        ("remove overlay rootfs, median ms", "remove_overlay_median_ms", None),
        ("prepare copy rootfs (flat, reflink or copy), median ms", "prepare_copy_median_ms", None),
    ]:
        t, d = v("tmpfs." + key), v("disk." + key)
        verdict = "" if goal is None else (("met" if max(t or 1e9, d or 1e9) < goal else "MISSED") + f" < {goal:g} ms")
        print(f"| {label} | {fmt(t, 'ms')} | {fmt(d, 'ms')} | | {verdict} |")
if v("disk.caisson_pull_unpack_s") is not None:
    c, cs, cd = v("disk.caisson_pull_unpack_s"), v("disk.caisson_pull_then_unpack_s"), v("disk.caisson_pull_only_s")
    s, so, g = v("disk.skopeo_umoci_s"), v("disk.skopeo_copy_only_s"), v("disk.pull_gzip_tar_s")
    print()
    print("| pull + unpack from a local docker-registry (store on the --disk filesystem) | s | vs gzip\\|tar | skopeo+umoci ÷ this | goal |")
    print("|---|---|---|---|---|")
    print(f"| gzip -dc \\| tar -x of the same blobs, in order, one dir | {fmt(g)} | 1.00× | | |")
    print(f"| Caisson pull, each layer unpacked as it downloads | {fmt(c)} | {c / g:.2f}× | {s / c:.2f}× | "
          + ("met" if c / g <= 1.3 and s / c >= 4 else "MISSED") + " ≤ 1.3× gzip\\|tar and ≥ 4× faster than skopeo+umoci |")
    print(f"| Caisson pull, then unpack (1 layer at a time) | {fmt(cs)} | {cs / g:.2f}× | {s / cs:.2f}× | |")
    print(f"| Caisson pull alone (download + verify) | {fmt(cd)} | | | " + ("met" if cd <= so else "MISSED") + " ≤ skopeo copy |")
    print(f"| skopeo copy docker:// oci: alone | {fmt(so)} | | | |")
    print(f"| skopeo copy + umoci unpack | {fmt(s)} | {s / g:.2f}× | 1.00× | |")
PY
