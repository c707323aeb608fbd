package io.cmon.agent.collect;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * One instance's cgroup directories: per v1 controller, and in the cgroup2 tree. A controller found on v1 is read
 * there (v1 and hybrid hosts); otherwise the v2 files are read.
 *
 * @param unifiedMirrorsV1 on a hybrid host, whether the instance sits at the same path in the cgroup2 tree as in its
 *                         v1 hierarchies (Docker and systemd keep them in step); only then do the cgroup2 tree's
 *                         controller-less files (PSI) describe the instance rather than some ancestor of it
 */
public record InstanceCgroup(Map<String, Path> v1, Optional<Path> unified, boolean unifiedMirrorsV1) {

    public InstanceCgroup {
        v1 = Map.copyOf(v1);
    }

    public boolean onV1(String controller) {
        return v1.containsKey(controller);
    }

    public Optional<String> readV1(String controller, String file) throws IOException {
        Path dir = v1.get(controller);
        return dir == null ? Optional.empty() : KernelFile.read(dir.resolve(file));
    }

    public Optional<String> readV2(String file) throws IOException {
        return unified.isEmpty() ? Optional.empty() : KernelFile.read(unified.get().resolve(file));
    }

    /** A controller file that must exist for the instance (its cgroup is gone or not what we think otherwise). */
    public String requireV1(String controller, String file) throws IOException {
        return readV1(controller, file).orElseThrow(() -> new IOException("no " + controller + "/" + file
                + " for cgroup " + v1.get(controller)));
    }

    public String requireV2(String file) throws IOException {
        return readV2(file).orElseThrow(() -> new IOException("no " + file + " in " + unified.orElse(null)));
    }

    /**
     * Whether the cgroup2 directory is the instance's own, so that its controller-less files (PSI) describe the
     * instance: always on a v2 host (no v1 controller hierarchy, at most named ones like {@code name=systemd}); on a
     * hybrid host only when the cgroup2 tree mirrors the instance's v1 path.
     */
    public boolean unifiedIsInstance() {
        return unified.isPresent()
                && (unifiedMirrorsV1 || v1.keySet().stream().allMatch(c -> c.startsWith("name=")));
    }

    /** The directories holding the instance's tasks: its v1 cpu hierarchy (any v1 one if cpu is absent), else v2. */
    public Optional<Path> taskDir() {
        for (String controller : new String[] {"cpu", "cpuacct", "pids", "memory"}) {
            if (v1.containsKey(controller)) {
                return Optional.of(v1.get(controller));
            }
        }
        return unified;
    }

    /** A process in the cgroup, for an instance known only by its cgroup: the one whose namespaces we read. */
    public java.util.OptionalLong anyProcess() throws IOException {
        Optional<Path> dir = taskDir();
        if (dir.isEmpty()) {
            return java.util.OptionalLong.empty();
        }
        Optional<String> procs = KernelFile.read(dir.get().resolve("cgroup.procs"));
        if (procs.isEmpty()) {
            return java.util.OptionalLong.empty();
        }
        for (String line : procs.get().split("\n")) {
            if (!line.isBlank()) {
                return java.util.OptionalLong.of(Long.parseLong(line.trim()));
            }
        }
        return java.util.OptionalLong.empty();
    }
}
