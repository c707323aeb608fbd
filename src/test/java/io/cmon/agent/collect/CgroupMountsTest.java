package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class CgroupMountsTest {

    @Test
    void hybridHostWithOneMountPerController() {
        CgroupMounts mounts = CgroupMounts.parse(Fixtures.text("cgroup-v1", "proc/self/mountinfo"));

        assertThat(mounts.v1()).containsKeys("cpu", "cpuacct", "memory", "pids", "blkio", "name=systemd");
        assertThat(mounts.v1().get("cpuacct").mountPoint()).isEqualTo(Path.of("/sys/fs/cgroup/cpuacct"));
        assertThat(mounts.v1()).doesNotContainKeys("rw", "relatime");
        assertThat(mounts.unified()).map(CgroupMounts.Mount::mountPoint).contains(Path.of("/sys/fs/cgroup/unified"));
    }

    @Test
    void combinedControllersShareOneMount() {
        // transcribed from an Ubuntu 20.04 host (systemd hybrid layout)
        String mountinfo = """
                35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
                36 25 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
                40 25 0:35 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
                41 25 0:36 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
                """;

        CgroupMounts mounts = CgroupMounts.parse(mountinfo);

        assertThat(mounts.v1().get("cpu")).isEqualTo(mounts.v1().get("cpuacct"));
        assertThat(mounts.v1().get("cpu").mountPoint()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(mounts.v1()).containsOnlyKeys("name=systemd", "cpu", "cpuacct", "memory");
    }

    @Test
    void pureV2Host() {
        CgroupMounts mounts = CgroupMounts.parse(Fixtures.text("cgroup-v2", "proc/self/mountinfo"));

        assertThat(mounts.v1()).isEmpty();
        assertThat(mounts.unified()).map(CgroupMounts.Mount::mountPoint).contains(Path.of("/sys/fs/cgroup"));
    }

    @Test
    void mountRootOfACgroupNamespaceIsStrippedFromPaths() {
        CgroupMounts.Mount mount = new CgroupMounts.Mount("/docker/abc", Path.of("/sys/fs/cgroup/memory"));

        assertThat(mount.dir("/docker/abc/child")).isEqualTo(Path.of("/sys/fs/cgroup/memory/child"));
        assertThat(mount.dir("/docker/abc")).isEqualTo(Path.of("/sys/fs/cgroup/memory"));
    }

    @Test
    void aCgroupPathIsResolvedUnderTheMountWithoutItsLeadingSlashes() {
        CgroupMounts.Mount host = new CgroupMounts.Mount("/", Path.of("/sys/fs/cgroup/cpu"));

        assertThat(host.dir("/docker/0123abc")).isEqualTo(Path.of("/sys/fs/cgroup/cpu/docker/0123abc"));
        assertThat(host.dir("//system.slice//x.scope")).isEqualTo(Path.of("/sys/fs/cgroup/cpu/system.slice/x.scope"));
        assertThat(host.dir("/")).isEqualTo(Path.of("/sys/fs/cgroup/cpu"));
        assertThat(host.dir("")).isEqualTo(Path.of("/sys/fs/cgroup/cpu"));
    }

    @Test
    void escapedSpacesInMountPoints() {
        CgroupMounts mounts = CgroupMounts.parse(
                "30 1 0:26 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n");

        assertThat(mounts.unified()).map(CgroupMounts.Mount::mountPoint).contains(Path.of("/mnt/my cgroup"));
    }

    /**
     * Found by KernelParsersFuzzTest: a line whose mount point field is empty (two spaces) was taken as a mount, and
     * {@link CgroupMounts#under} then failed with StringIndexOutOfBoundsException.
     */
    @Test
    void linesWithoutAnAbsoluteMountPointAreSkipped() {
        CgroupMounts mounts = CgroupMounts.parse("""
                25 1 0:22 /  rw - cgroup cgroup rw,memory
                26 1 0:23 / relative rw - cgroup cgroup rw,pids
                27 1 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
                """);

        assertThat(mounts.v1()).containsOnlyKeys("cpu");
        assertThat(mounts.under(Path.of("/host")).v1().get("cpu").mountPoint())
                .isEqualTo(Path.of("/host/sys/fs/cgroup/cpu"));
    }
}
