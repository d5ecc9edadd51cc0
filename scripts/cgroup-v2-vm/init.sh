#!/bin/busybox sh
# /init of the cgroup v2 VM's initramfs (scripts/cgroup-v2-vm/run.sh): loads the virtio
# and 9p modules, mounts the host's / read-only over 9p with tmpfs on the directories the
# tests write to, and switches to it to run guest.sh from the repository.
/bin/busybox --install -s /bin
export PATH=/bin

report() {
    echo "cgroup-v2-vm (initramfs): $*"
    echo "CAISSON-VM-RESULT rc=3"
    echo o > /proc/sysrq-trigger
    sleep 60
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do
    insmod "/modules/$module" || report "insmod $module failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot \
    || report "mounting the host's / over 9p failed"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || report "no tmpfs on /tmp"
for directory in run var/tmp root; do
    mount -t tmpfs -o mode=0755 tmpfs "/newroot/$directory" || report "no tmpfs on /$directory"
done
chmod 1777 /newroot/var/tmp
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys

set -a
. /caisson.env
set +a
exec switch_root /newroot /bin/sh "$CAISSON_REPO/scripts/cgroup-v2-vm/guest.sh"
