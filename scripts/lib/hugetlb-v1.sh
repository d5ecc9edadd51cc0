# Sourced by the benchmarks that run Debian's crun 1.8.1, which refuses this hybrid cgroup
# host (v1 controllers, hugetlb on cgroup v2) unless hugetlb is a v1 hierarchy. These lend
# hugetlb to v1 for the run and give it back to cgroup v2 after.
#
#   hugetlb_v1_mount     # mounts it at /sys/fs/cgroup/hugetlb (leaves an existing mount be)
#   hugetlb_v1_release   # unmounts what hugetlb_v1_mount mounted; hugetlb is v2's again

HUGETLB_V1_MOUNTED=0 HUGETLB_V1_DIR_MADE=0

hugetlb_v1_mount() {
    mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null && return 0
    [ -d /sys/fs/cgroup/hugetlb ] || { mkdir -p /sys/fs/cgroup/hugetlb; HUGETLB_V1_DIR_MADE=1; }
    mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
    HUGETLB_V1_MOUNTED=1
}

# hugetlb's hierarchy in /proc/cgroups: 0 when it belongs to cgroup v2.
hugetlb_hierarchy() { awk '$1 == "hugetlb" { print $2 }' /proc/cgroups; }

# Waits up to 5 s for hugetlb to be v2's again.
hugetlb_v1_wait_gone() {
    local try
    for try in $(seq 50); do
        [ "$(hugetlb_hierarchy)" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

hugetlb_v1_release() {
    if [ "$HUGETLB_V1_MOUNTED" = 1 ]; then
        # Cgroups left inside keep a v1 hierarchy alive past its unmount. Only empty ones
        # can go (rmdir fails on one with processes), deepest first.
        find /sys/fs/cgroup/hugetlb -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        umount /sys/fs/cgroup/hugetlb 2>/dev/null || umount -l /sys/fs/cgroup/hugetlb || true
        # The kernel frees an unmounted hierarchy asynchronously (after an RCU grace
        # period) — and not at all if a removed cgroup, itself dying asynchronously, still
        # pinned it at the unmount; mounting and unmounting it once more then frees it.
        hugetlb_v1_wait_gone || {
            mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb 2>/dev/null && umount /sys/fs/cgroup/hugetlb
            hugetlb_v1_wait_gone
        }
        [ "$(hugetlb_hierarchy)" = 0 ] || echo "warning: hugetlb is still a cgroup v1 hierarchy (see /proc/cgroups)" >&2
        HUGETLB_V1_MOUNTED=0
    fi
    if [ "$HUGETLB_V1_DIR_MADE" = 1 ]; then
        rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
        HUGETLB_V1_DIR_MADE=0
    fi
}
