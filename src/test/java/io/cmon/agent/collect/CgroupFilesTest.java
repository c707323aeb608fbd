package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CgroupFilesTest {

    @Test
    void runningInstanceResolvesThroughItsProcCgroupOnEachV1Controller() throws Exception {
        Path root = Fixtures.root("cgroup-v1");

        InstanceCgroup cg = Fixtures.cgroups("cgroup-v1").resolve(Fixtures.running("u", Fixtures.V1_PID));

        assertThat(cg.v1().get("memory")).isEqualTo(root.resolve("sys/fs/cgroup/memory/docker/" + Fixtures.V1_ID));
        assertThat(cg.v1().get("cpuacct")).isEqualTo(root.resolve("sys/fs/cgroup/cpuacct/docker/" + Fixtures.V1_ID));
        assertThat(cg.unified()).contains(root.resolve("sys/fs/cgroup/unified/docker/" + Fixtures.V1_ID));
        assertThat(cg.unifiedMirrorsV1()).isTrue();
        assertThat(cg.readV1("memory", "memory.limit_in_bytes")).contains("67108864\n");
    }

    @Test
    void runningInstanceOnV2ResolvesToItsSystemdScope() throws Exception {
        // Docker's systemd cgroup driver: 0::/system.slice/docker-<id>.scope, captured from a v2 kernel
        InstanceCgroup cg = Fixtures.cgroups("cgroup-v2").resolve(Fixtures.running("u", Fixtures.V2_PID));

        assertThat(cg.v1()).isEmpty();
        assertThat(cg.unified()).contains(Fixtures.root("cgroup-v2")
                .resolve("sys/fs/cgroup/system.slice/docker-" + Fixtures.V2_ID + ".scope"));
        assertThat(cg.requireV2("memory.max")).isEqualTo("67108864\n");
    }

    @Test
    void runningInstanceOnV2ResolvesToItsCgroupfsDriverDirectory() throws Exception {
        // Docker's cgroupfs cgroup driver: 0::/docker/<id>, captured from a v2 kernel
        InstanceCgroup cg = Fixtures.cgroups("cgroup-v2").resolve(Fixtures.running("u", Fixtures.V2_CGFS_PID));

        assertThat(cg.v1()).isEmpty();
        assertThat(cg.unified()).contains(Fixtures.root("cgroup-v2")
                .resolve("sys/fs/cgroup/docker/" + Fixtures.V2_CGFS_ID));
        assertThat(cg.requireV2("memory.max")).isEqualTo("max\n");
        assertThat(cg.anyProcess()).hasValue(Fixtures.V2_CGFS_PID);
    }

    @Test
    void instanceWithoutPidUsesItsDeclaredCgroupInEveryHierarchy() throws Exception {
        InstanceCgroup cg = Fixtures.cgroups("cgroup-v1").resolve(Fixtures.byCgroup("u", "/docker/" + Fixtures.V1_ID));

        assertThat(cg.requireV1("cpuacct", "cpuacct.usage_user")).isEqualTo("1959605222\n");
        assertThat(cg.anyProcess()).hasValue(Fixtures.V1_PID);
    }

    @Test
    void instanceThatNamesItsCgroupIsThatWholeCgroupEvenWithALivePidElsewhere() throws Exception {
        // an LXC container found by name: its init may sit in a child cgroup (systemd's init.scope)
        Path root = Fixtures.root("cgroup-v1");
        Instance named = new Instance("u", "alias", null, null, "lxc", List.of(), "running", Fixtures.V1_PID,
                "/lxc.payload.web-1", null, "declared");

        InstanceCgroup cg = Fixtures.cgroups("cgroup-v1").resolve(named);

        assertThat(cg.v1().get("memory")).isEqualTo(root.resolve("sys/fs/cgroup/memory/lxc.payload.web-1"));
        assertThat(cg.v1().get("cpuacct")).isEqualTo(root.resolve("sys/fs/cgroup/cpuacct/lxc.payload.web-1"));
    }

    @Test
    void processLeftInTheRootCgroupHasNoCgroupOfItsOwnRatherThanTheHosts(@TempDir Path proc) throws Exception {
        // rootless Podman 4.3.1 on this project's v1 host, as captured: its own memory (and freezer) cgroup only
        String own = "/user/cloudsdk/0/8c0aa8f8708736328d3f33804a839ab938f1fbf762947f241c6e136ff2ef2352";
        Files.createDirectories(proc.resolve("4242"));
        Files.writeString(proc.resolve("4242/cgroup"), """
                9:name=systemd:%1$s
                8:pids:/
                7:blkio:/
                6:freezer:%1$s
                5:devices:/
                4:memory:%1$s
                3:cpuset:/
                2:cpuacct:/
                1:cpu:/
                0::/
                """.formatted(own));
        CgroupFiles files = new CgroupFiles(proc, Fixtures.cgroups("cgroup-v1").mounts());

        InstanceCgroup cg = files.resolve(Fixtures.running("u", 4242));

        assertThat(cg.v1()).doesNotContainKeys("pids", "blkio", "cpuacct", "cpu");
        assertThat(cg.v1().get("memory")).isEqualTo(Fixtures.root("cgroup-v1").resolve("sys/fs/cgroup/memory" + own));
        assertThat(cg.unified()).isEmpty();
        assertThat(cg.readV1("cpuacct", "cpuacct.usage_user")).isEmpty();
    }

    @Test
    void missingControllerFileIsEmptyNotAnError() throws Exception {
        InstanceCgroup cg = Fixtures.cgroups("cgroup-v2").resolve(Fixtures.running("u", Fixtures.V2_PID));

        assertThat(cg.readV2("memory.no_such_file")).isEmpty();
        assertThat(cg.readV1("memory", "memory.usage_in_bytes")).isEmpty();
    }

    @Test
    void instanceWithNeitherPidNorCgroupIsAnError() {
        assertThatThrownBy(() -> Fixtures.cgroups("cgroup-v1").resolve(Fixtures.byCgroup("u", null)))
                .hasMessageContaining("neither a live pid nor a cgroup");
    }

    /** A v1 host's {@code /proc/<pid>/cgroup} of a Docker container with the given id (cgroupfs driver). */
    private static void procCgroup(Path proc, long pid, String id) throws Exception {
        Files.createDirectories(proc.resolve(Long.toString(pid)));
        Files.writeString(proc.resolve(pid + "/cgroup"), """
                9:name=systemd:/docker/%1$s
                8:pids:/docker/%1$s
                4:memory:/docker/%1$s
                2:cpuacct:/docker/%1$s
                1:cpu:/docker/%1$s
                0::/docker/%1$s
                """.formatted(id));
    }

    private static Path memoryDir(String id) {
        return Fixtures.root("cgroup-v1").resolve("sys/fs/cgroup/memory/docker/" + id);
    }

    @Test
    void theCgroupOfARunningInstanceIsReadOncePerPidNotEverySecond(@TempDir Path proc) throws Exception {
        CgroupFiles files = new CgroupFiles(proc, Fixtures.cgroups("cgroup-v1").mounts());
        procCgroup(proc, 4242, "first");
        Instance running = Fixtures.running("u", 4242);
        assertThat(files.resolve(running).v1().get("memory")).isEqualTo(memoryDir("first"));

        // the kernel's answer changes under the same pid; past the 1 s for which a resolution used to be reused,
        // the instance still resolves to where its pid was first found: the file is not read again
        procCgroup(proc, 4242, "second");
        Thread.sleep(1_100);

        assertThat(files.resolve(running).v1().get("memory")).isEqualTo(memoryDir("first"));
    }

    @Test
    void aRestartedInstanceWithANewPidIsResolvedAgain(@TempDir Path proc) throws Exception {
        CgroupFiles files = new CgroupFiles(proc, Fixtures.cgroups("cgroup-v1").mounts());
        procCgroup(proc, 4242, "first");
        procCgroup(proc, 4343, "second");

        assertThat(files.resolve(Fixtures.running("u", 4242)).v1().get("memory")).isEqualTo(memoryDir("first"));
        assertThat(files.resolve(Fixtures.running("u", 4343)).v1().get("memory")).isEqualTo(memoryDir("second"));
    }

    @Test
    void aPidReusedByAnotherInstanceIsResolvedForThatInstance(@TempDir Path proc) throws Exception {
        // the resolution belongs to (instance, pid): another container that got the same pid number is not given
        // the first one's cgroup, even within a second
        CgroupFiles files = new CgroupFiles(proc, Fixtures.cgroups("cgroup-v1").mounts());
        procCgroup(proc, 4242, "first");
        assertThat(files.resolve(Fixtures.running("u1", 4242)).v1().get("memory")).isEqualTo(memoryDir("first"));

        procCgroup(proc, 4242, "second");

        assertThat(files.resolve(Fixtures.running("u2", 4242)).v1().get("memory")).isEqualTo(memoryDir("second"));
    }

    @Test
    void aForgottenInstanceIsResolvedAgainAndNoLongerRemembered(@TempDir Path proc) throws Exception {
        CgroupFiles files = new CgroupFiles(proc, Fixtures.cgroups("cgroup-v1").mounts());
        procCgroup(proc, 4242, "first");
        files.resolve(Fixtures.running("u", 4242));
        assertThat(files.remembered()).isEqualTo(1);

        files.forget("u");
        assertThat(files.remembered()).isZero();
        procCgroup(proc, 4242, "second");

        assertThat(files.resolve(Fixtures.running("u", 4242)).v1().get("memory")).isEqualTo(memoryDir("second"));
    }
}
