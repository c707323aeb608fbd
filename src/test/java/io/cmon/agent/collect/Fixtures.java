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
    /** The v2 tree is captured by CgroupV2AgentIT in a guest; its pids are that boot's, named in capture.properties. */
    static final java.util.Properties V2_CAPTURE = capture("cgroup-v2");
    /** The cgroup in Docker's systemd-driver layout, system.slice/docker-&lt;id&gt;.scope, and its first process. */
    static final String V2_ID = V2_CAPTURE.getProperty("webId");
    static final long V2_PID = Long.parseLong(V2_CAPTURE.getProperty("webPid"));
    /** The cgroup in Docker's cgroupfs-driver layout, /docker/&lt;id&gt;, and one of its processes. */
    static final String V2_CGFS_ID = V2_CAPTURE.getProperty("cgfsId");
    static final long V2_CGFS_PID = Long.parseLong(V2_CAPTURE.getProperty("cgfsPid"));

    private Fixtures() {
    }

    private static java.util.Properties capture(String name) {
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newBufferedReader(root(name).resolve("capture.properties"))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
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

    /** A file of another cgroup of the v2 capture: {@code docker/<V2_CGFS_ID>}, {@code cmon-it/oom}, {@code cmon-it/swap}. */
    static String v2(String cgroup, String file) {
        return text("cgroup-v2", "sys/fs/cgroup/" + cgroup + "/" + file);
    }

    /** CgroupFiles over a fixture tree: its mountinfo, with every mount point moved under the fixture root. */
    static CgroupFiles cgroups(String name) {
        Path root = root(name);
        return new CgroupFiles(root.resolve("proc"),
                CgroupMounts.parse(text(name, "proc/self/mountinfo")).under(root));
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
