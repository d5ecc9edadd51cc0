#!/bin/sh
# PID 1 of the cgroup v2 VM after switch_root (scripts/cgroup-v2-vm/run.sh): the host's
# userland, read-only. Mounts cgroup v2 alone at /sys/fs/cgroup, runs the test binary,
# prints its exit status for run.sh and powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp

report() {
    echo "CAISSON-VM-RESULT rc=$1"
    sync
    echo o > /proc/sysrq-trigger
    sleep 60
}

mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || { echo "cgroup-v2-vm: mounting cgroup2 failed"; report 3; }
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
# Pages for the hugetlb controller to account (the limit test needs none; stats list them).
echo 4 > /proc/sys/vm/nr_hugepages
hostname caisson-cgroup-v2

echo "cgroup-v2-vm: kernel $(uname -r); cgroup mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
echo "cgroup-v2-vm: v2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd /tmp
"$CAISSON_TEST_BINARY" --testing-library swift-testing --filter "$CAISSON_TEST_FILTER"
report $?
