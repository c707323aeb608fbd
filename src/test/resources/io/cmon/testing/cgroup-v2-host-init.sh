#!/bin/busybox sh
# /init of the cgroup v2 test host (see CgroupV2Host): runs as pid 1 inside the initramfs. The placeholders
# @…@ are filled in by CgroupV2Host. Every step reports on the serial console, so a boot failure is diagnosable
# from target/…/console.log.
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

fail() {
    echo "v2host: FAILED: $*"
    reboot -f
}

mount -t proc proc /proc && mount -t sysfs sys /sys && mount -t devtmpfs dev /dev || fail "mounting proc/sys/dev"

# The guest's own watchdog: the VM ends even if the test JVM that started qemu is gone.
(sleep @TIMEOUT_S@; echo "v2host: guest watchdog after @TIMEOUT_S@ s"; reboot -f) &

for m in @MODULES@; do
    insmod "/lib/modules/$m" || fail "insmod $m"
done

# This machine's root, read-only: the JDK, the agent jar, curl, util-linux and iproute2 come from it.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /newroot \
    || fail "mounting the host root over 9p (is the hostroot virtfs there?)"
mount -t proc proc /newroot/proc || fail "proc"
mount -t sysfs sys /newroot/sys || fail "sysfs"
mount -t devtmpfs dev /newroot/dev || fail "devtmpfs"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm 2>/dev/null
mount -t tmpfs -o mode=1777 tmp /newroot/tmp || fail "tmpfs on /tmp"
mount -t tmpfs -o mode=755 run /newroot/run || fail "tmpfs on /run"
mount -t tmpfs -o mode=1777 vartmp /newroot/var/tmp || fail "tmpfs on /var/tmp"
# The shared directory, writable, at the same path as on the host.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "/newroot@SHARE@" \
    || fail "mounting the share over 9p at @SHARE@"

# cgroup v2 only (cgroup_no_v1=all on the command line), every controller enabled for the children of the root.
mount -t cgroup2 -o nsdelegate cgroup2 /newroot/sys/fs/cgroup || fail "mounting cgroup2"
for c in $(cat /newroot/sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" > /newroot/sys/fs/cgroup/cgroup.subtree_control || fail "enabling controller $c"
done
echo "v2host: controllers: $(cat /newroot/sys/fs/cgroup/cgroup.subtree_control)"

if [ @SWAP_MIB@ -gt 0 ]; then
    echo "@SWAP_MIB@M" > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 \
        || fail "zram swap"
fi
ip link set lo up || fail "lo up"
echo "v2host: kernel $(uname -r), running @SHARE@/run.sh"

cd "/newroot@SHARE@"
chroot /newroot /usr/bin/env -i PATH="$PATH" HOME=/tmp LANG=C.UTF-8 V2HOST_SHARE="@SHARE@" \
    /bin/sh -c 'cd "$V2HOST_SHARE" && exec /bin/sh ./run.sh' > "/newroot@SHARE@/run.log" 2>&1
code=$?
echo "$code" > "/newroot@SHARE@/exit-code"
sync
echo "v2host: run.sh exited with $code"
reboot -f
