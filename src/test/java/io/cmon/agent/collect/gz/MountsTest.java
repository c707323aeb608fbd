package io.cmon.agent.collect.gz;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

class MountsTest {

    @Test
    void capturedHostKeepsRealFilesystemsAndDropsPseudoOnesAsNodeExporterDoes() throws Exception {
        var mounts = Mounts.parse(Files.readString(GzMetricsTest.fixtures().resolve("self/mountinfo")));

        assertThat(Mounts.monitored(mounts)).containsExactly(
                new Mounts.Mount("/dev/vda", "/", "ext4"),
                new Mounts.Mount("/dev/vda", "/var/lib/docker", "ext4"));
        assertThat(mounts).contains(new Mounts.Mount("overlay",
                "/var/lib/docker/overlay2/1f8b3b98e55ad2fb5abd2f48cfca09b18b73fddc2dd4c88c105e8800828bf489/merged",
                "overlay"));
    }

    @Test
    void optionalFieldsBeforeTheSeparatorAndEscapedSpaces() {
        String text = "40 27 0:50 / /mnt/my\\040disk rw,relatime shared:5 master:1 - nfs4 srv:/export\\040a rw\n"
                + "41 27 0:51 / /run/credentials/x.service ro - ramfs none rw\n"
                + "42 27 0:52 / /run/user/0 rw - tmpfs tmpfs rw\n";

        assertThat(Mounts.monitored(Mounts.parse(text))).containsExactly(
                new Mounts.Mount("srv:/export a", "/mnt/my disk", "nfs4"),
                new Mounts.Mount("tmpfs", "/run/user/0", "tmpfs"));
    }

    @Test
    void aMountOverAnotherHidesIt() {
        String text = "1 0 8:1 / /data rw - ext4 /dev/sdb1 rw\n2 1 8:2 / /data rw - xfs /dev/sdc1 rw\n";

        assertThat(Mounts.monitored(Mounts.parse(text))).containsExactly(new Mounts.Mount("/dev/sdc1", "/data", "xfs"));
    }

    @Test
    void pseudoMountpointsAreMatchedAsPathsNotPrefixes() {
        String text = "1 0 8:1 / /devdata rw - ext4 /dev/sdb1 rw\n2 0 8:2 / /var/lib/docker rw - ext4 /dev/sdc1 rw\n"
                + "3 0 8:3 / /sys/kernel/x rw - ext4 /dev/sdd1 rw\n";

        assertThat(Mounts.monitored(Mounts.parse(text))).extracting(Mounts.Mount::mountpoint)
                .containsExactly("/devdata", "/var/lib/docker");
    }
}
