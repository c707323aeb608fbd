package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class BlockDevicesTest {

    @Test
    void nameIsTheDevnameOfTheCapturedUevent() {
        assertThat(Fixtures.devices("cgroup-v1").name("254:0")).contains("vda");
        assertThat(Fixtures.devices("cgroup-v2").name("254:0")).contains("vda");
    }

    @Test
    void aNumberWithoutADeviceHasNoName() {
        assertThat(Fixtures.devices("cgroup-v1").name("253:7")).isEmpty();
        assertThat(Fixtures.devices("cgroup-v2").name("253:7")).isEmpty();
    }

    @Test
    void onlyMajorMinorIsLookedUpNeverAnotherPath() {
        assertThat(Fixtures.devices("cgroup-v1").name("../../fs")).isEmpty();
        assertThat(Fixtures.devices("cgroup-v1").name("254:0/..")).isEmpty();
    }

    @Test
    void uEventWithoutDevnameHasNoName() {
        assertThat(BlockDevices.devName("MAJOR=8\nMINOR=0\nDEVTYPE=disk\n")).isEmpty();
        assertThat(BlockDevices.devName("MAJOR=8\nDEVNAME=\n")).isEmpty();
        assertThat(BlockDevices.devName("MAJOR=253\nMINOR=0\nDEVNAME=dm-0\n")).contains("dm-0");
    }

    @Test
    void namesAreCachedForTheTtlThenLookedUpAgain(@TempDir Path sys) throws Exception {
        long[] now = {0};
        Path uevent = Files.createDirectories(sys.resolve("7:0")).resolve("uevent");
        Files.writeString(uevent, "MAJOR=7\nMINOR=0\nDEVNAME=loop0\n");
        var devices = new BlockDevices(sys, () -> now[0]);

        assertThat(devices.name("7:0")).contains("loop0");
        Files.writeString(uevent, "MAJOR=7\nMINOR=0\nDEVNAME=loop9\n"); // the number reused by another device
        now[0] += BlockDevices.TTL.toNanos() - 1;
        assertThat(devices.name("7:0")).contains("loop0");
        now[0] += 1;
        assertThat(devices.name("7:0")).contains("loop9");
    }
}
