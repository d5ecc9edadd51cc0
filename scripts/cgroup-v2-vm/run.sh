#!/usr/bin/env bash
# The cgroup v2 controller tests (Tests/SandboxTests/CgroupV2Tests.swift) on a real
# cgroup v2 host: a small VM under qemu (KVM, else TCG) booting Debian's kernel with cgroup v1 off
# (cgroup_no_v1=all), whose root is this machine's own / shared read-only over 9p (so the
# already built test binary runs there as it is), with tmpfs on /tmp, /run, /var/tmp and
# /root and a 64 MiB scratch disk (/dev/vda, for the io throttle test).
#
# Usage (as root, after `swift build --build-tests --scratch-path DIR`):
#   bash scripts/cgroup-v2-vm/run.sh [--scratch-path DIR] [--filter REGEX]
#        [--kernel VMLINUZ --modules /lib/modules/VERSION] [--memory MiB] [--cpus N]
#        [--accel kvm|tcg] [--cpu MODEL] [--timeout SECONDS]
# Defaults: --scratch-path .build, --filter CgroupV2Tests, Debian's linux-image-amd64
# (fetched once with `apt-get download` into DIR/cgroup-v2-vm), 2048 MiB, 2 CPUs, KVM
# when the CPU has vmx/svm (else TCG), 1800 s.
# Needs qemu-system-x86 and busybox-static (and /dev/kvm for speed). The test output comes
# back over the serial console (also kept in DIR/cgroup-v2-vm/last-run.log); the exit
# status is the test binary's, 2 when the VM never reported one (boot failure, timeout).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
scratch=$repo/.build
filter=CgroupV2Tests
kernel=""
modules=""
memory=2048
cpus=2
accel=""
cpu=""
timeout=1800

die() { echo "cgroup-v2-vm: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --scratch-path) scratch=$(readlink -f "${2:?--scratch-path needs a directory}"); shift 2 ;;
    --filter) filter=${2:?--filter needs a regular expression}; shift 2 ;;
    --kernel) kernel=$(readlink -f "${2:?--kernel needs a vmlinuz}"); shift 2 ;;
    --modules) modules=$(readlink -f "${2:?--modules needs /lib/modules/VERSION}"); shift 2 ;;
    --memory) memory=${2:?--memory needs MiB}; shift 2 ;;
    --cpus) cpus=${2:?--cpus needs a number}; shift 2 ;;
    --cpu) cpu=${2:?--cpu needs a qemu CPU model}; shift 2 ;;
    --accel) accel=${2:?--accel needs kvm or tcg}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
    esac
done

binary=$scratch/debug/caissonPackageTests.xctest
[ -x "$binary" ] || die "no test binary at $binary: run swift build --build-tests --scratch-path $scratch first"
# KVM where the CPU offers virtualisation to this machine. A /dev/kvm without vmx/svm
# in /proc/cpuinfo (a nested VM such as this project's CI machine) hangs a guest in early
# boot, so there the VM runs under TCG, qemu's emulator: slower, same kernel.
if [ -z "$accel" ]; then
    if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
case "$accel" in
kvm) [ -w /dev/kvm ] || die "/dev/kvm is missing or not writable"
     # Without arch-capabilities: some nested KVMs refuse to set that MSR.
     cpu=${cpu:-host,-arch-capabilities} ;;
tcg) cpu=${cpu:-max} ;;
*) die "--accel must be kvm or tcg" ;;
esac
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || die "a static busybox is needed for the initramfs (apt-get install busybox-static)"
case "$binary" in /tmp/*|/run/*|/var/tmp/*|/root/*) die "$binary is under a directory the VM mounts a tmpfs on" ;; esac
case "$repo" in /tmp/*|/run/*|/var/tmp/*|/root/*) die "$repo is under a directory the VM mounts a tmpfs on" ;; esac

cache=$scratch/cgroup-v2-vm
mkdir -p "$cache"

# The kernel: Debian's, unpacked once (nothing is installed on this machine).
if [ -z "$kernel" ]; then
    [ -z "$modules" ] || die "--modules goes with --kernel"
    package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$package" ] || die "apt knows no linux-image-amd64 (run apt-get update, or pass --kernel and --modules)"
    root=$cache/$package
    if [ ! -d "$root/lib/modules" ]; then
        echo "cgroup-v2-vm: fetching $package" >&2
        rm -rf "$root.tmp" "$cache"/*.deb
        (cd "$cache" && apt-get -q -o APT::Sandbox::User=root download "$package" >&2)
        dpkg-deb -x "$cache/${package}_"*.deb "$root.tmp"
        rm -f "$cache"/*.deb
        mv "$root.tmp" "$root"
    fi
    version=$(ls "$root/lib/modules" | head -n 1)
    kernel=$root/boot/vmlinuz-$version
    modules=$root/lib/modules/$version
fi
[ -f "$kernel" ] || die "no kernel at $kernel"
[ -d "$modules" ] || die "no module directory at $modules (pass --modules with --kernel)"

work=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
initramfs=$work/initramfs
mkdir -p "$initramfs"/{bin,dev,proc,sys,newroot,modules}
cp "$busybox" "$initramfs/bin/busybox"
cp "$here/init.sh" "$initramfs/init"
chmod 755 "$initramfs/init"

# The modules the initramfs loads (virtio PCI, 9p over virtio, virtio disks) with what
# they depend on, dependencies first; a module missing from the tree is built in.
module_bytes() {
    case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *) cat "$1" ;;
    esac
}
declare -A added=()
add_module() {
    local name=$1 file dependency
    [ -z "${added[$name]:-}" ] || return 0
    added[$name]=1
    file=$(find "$modules/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \) -print -quit)
    if [ -z "$file" ]; then
        file=$(find "$modules/kernel" \( -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" -o -name "${name//_/-}.ko.zst" \) -print -quit)
    fi
    [ -n "$file" ] || return 0
    module_bytes "$file" > "$initramfs/modules/$name.ko"
    for dependency in $(tr '\0' '\n' < "$initramfs/modules/$name.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$dependency"
    done
    # After its dependencies: the order file lists what insmod needs first, first.
    echo "$name.ko" >> "$initramfs/modules/order"
}
for module in virtio_pci 9pnet_virtio 9p virtio_blk; do add_module "$module"; done

{
    printf 'CAISSON_REPO=%q\n' "$repo"
    printf 'CAISSON_TEST_BINARY=%q\n' "$binary"
    printf 'CAISSON_TEST_FILTER=%q\n' "$filter"
} > "$initramfs/caisson.env"
(cd "$initramfs" && find . -print | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 > "$work/initramfs.gz"
truncate -s 64M "$work/disk.img"

log=$cache/last-run.log
echo "cgroup-v2-vm: booting $(basename "$kernel") ($accel) with cgroup v2 only; tests matching \"$filter\"" >&2
set +e
timeout --kill-after=10 "$timeout" qemu-system-x86_64 \
    -accel "$accel" -cpu "$cpu" -m "$memory" -smp "$cpus" -nodefaults -no-reboot \
    -display none -monitor none -serial stdio \
    -kernel "$kernel" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 panic=-1 loglevel=4 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -drive file="$work/disk.img",format=raw,if=virtio \
    < /dev/null 2>&1 | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e

result=$(grep -a -o "CAISSON-VM-RESULT rc=[0-9]*" "$log" | tail -n 1 | cut -d= -f2 || true)
if [ -z "$result" ]; then
    [ "$qemu_status" = 124 ] && die "the VM did not finish within $timeout s (log: $log)"
    die "the VM stopped without reporting a result (qemu exit $qemu_status; log: $log)"
fi
echo "cgroup-v2-vm: tests exited with $result (log: $log)" >&2
exit "$result"
