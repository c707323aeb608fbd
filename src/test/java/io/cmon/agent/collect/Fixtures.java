package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The fixture trees under src/test/resources/fixtures: a host's /proc and /sys/fs/cgroup, captured or transcribed. */
final class Fixtures {

    static final String V1_ID = "067a96de0d7e636bc5ca03c0de069ade3ca48d297560a3edf1713ba13368707c";
    static final long V1_PID = 8248;
    static final String V2_ID = "9d3c1a7e5b2f48c6a0e1d7b3f5c9a2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5";
    static final long V2_PID = 4242;

    private Fixtures() {
    }

    static Path root(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static String text(String name, String file) {
        try {
            return Files.readString(root(name).resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String v1(String controller, String file) {
        return text("cgroup-v1", "sys/fs/cgroup/" + controller + "/docker/" + V1_ID + "/" + file);
    }

    static String v2(String file) {
        return text("cgroup-v2", "sys/fs/cgroup/system.slice/docker-" + V2_ID + ".scope/" + file);
    }

    /** CgroupFiles over a fixture tree: its mountinfo, with every mount point moved under the fixture root. */
    static CgroupFiles cgroups(String name) {
        Path root = root(name);
        return new CgroupFiles(root.resolve("proc"),
                CgroupMounts.parse(text(name, "proc/self/mountinfo")).under(root));
    }

    /** Block device names of a fixture tree ({@code sys/dev/block/<maj:min>/uevent}). */
    static BlockDevices devices(String name) {
        return new BlockDevices(root(name).resolve("sys/dev/block"));
    }

    static ProcFiles proc(String name) {
        return new ProcFiles(root(name).resolve("proc"));
    }

    static Instance running(String uuid, long pid) {
        return new Instance(uuid, "alias", null, null, "docker", List.of(), "running", pid, null, null, "test");
    }

    static Instance byCgroup(String uuid, String cgroup) {
        return new Instance(uuid, "alias", null, null, "lxc", List.of(), "running", 0, cgroup, null, "test");
    }
}
