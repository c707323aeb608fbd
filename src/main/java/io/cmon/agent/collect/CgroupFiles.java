package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves an instance to its cgroup directories. An instance that names its cgroup ({@link Instance#cgroup()}: a
 * declared {@code cgroup:}, an LXC/nspawn container found by name) is that cgroup in every hierarchy, whole, even
 * when its init has moved into a child (systemd's {@code init.scope}). Otherwise, for a running instance, the
 * kernel's own answer, {@code /proc/<pid>/cgroup}, gives each hierarchy's path (right for cgroupfs and systemd
 * drivers, nested hierarchies and per-controller differences).
 */
public final class CgroupFiles {

    /**
     * Beyond this many remembered resolutions (instances never {@link #forget forgotten}, e.g. a caller that does not
     * wire removals), all are dropped and resolved again: a bound, not a policy.
     */
    static final int MAX_REMEMBERED = 4096;

    private final Path procRoot;
    private final CgroupMounts mounts;
    /**
     * Each running instance's cgroup directories, by uuid, with the pid they were read for. Where an instance's
     * cgroup is is metadata, fixed while its init process lives (a container's init is not moved between cgroups;
     * a restart is a new pid): it is read from {@code /proc/<pid>/cgroup} once per (instance, pid), not on every
     * uncached scrape as with the 1 s reuse before (the cpu collector paid it: 0.44 ms p50 in the realistic run,
     * docs/PERFORMANCE.md "Uncached scrape, step 4"). The values in the directories are still read when asked.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, Resolved> byUuid =
            new java.util.concurrent.ConcurrentHashMap<>();

    private record Resolved(long pid, InstanceCgroup cgroup) { }

    public CgroupFiles(Path procRoot, CgroupMounts mounts) {
        this.procRoot = procRoot;
        this.mounts = mounts;
    }

    /** This host's layout, from {@code <procRoot>/self/mountinfo}. */
    public static CgroupFiles detect(Path procRoot) throws IOException {
        String mountinfo = KernelFile.read(procRoot.resolve("self/mountinfo"))
                .orElseThrow(() -> new IOException("no " + procRoot + "/self/mountinfo"));
        return new CgroupFiles(procRoot, CgroupMounts.parse(mountinfo));
    }

    public CgroupMounts mounts() {
        return mounts;
    }

    /**
     * A process of the instance: its init pid, else any process of its cgroup (an instance declared by cgroup
     * alone). {@code /proc/<pid>/net/*} of it shows the instance's network namespace.
     */
    public long processOf(Instance instance) throws IOException {
        if (instance.pid() > 0) return instance.pid();
        return resolve(instance).anyProcess()
                .orElseThrow(() -> new IOException("no process in the cgroup of " + instance.uuid()));
    }

    public InstanceCgroup resolve(Instance instance) throws IOException {
        if (instance.pid() > 0 && (instance.cgroup() == null || instance.cgroup().isBlank())) {
            Resolved known = byUuid.get(instance.uuid());
            if (known != null && known.pid() == instance.pid()) {
                return known.cgroup();
            }
            Optional<String> own = KernelFile.read(procRoot.resolve(Long.toString(instance.pid())).resolve("cgroup"));
            if (own.isPresent()) {
                InstanceCgroup cgroup = fromProcCgroup(own.get());
                if (byUuid.size() >= MAX_REMEMBERED) {
                    byUuid.clear();
                }
                byUuid.put(instance.uuid(), new Resolved(instance.pid(), cgroup));
                return cgroup;
            }
        }
        String path = instance.cgroup();
        if (path == null || path.isBlank()) {
            throw new IOException("instance " + instance.uuid() + " has neither a live pid nor a cgroup path");
        }
        Map<String, Path> v1 = new HashMap<>();
        mounts.v1().forEach((controller, mount) -> v1.put(controller, mount.dir(path)));
        return new InstanceCgroup(v1, mounts.unified().map(m -> m.dir(path)), true);
    }

    /** Drops a removed instance's resolution (the inventory's removal listener). */
    public void forget(String uuid) {
        byUuid.remove(uuid);
    }

    /** How many instances' resolutions are remembered: for tests. */
    int remembered() {
        return byUuid.size();
    }

    private InstanceCgroup fromProcCgroup(String text) {
        Map<String, Path> v1 = new HashMap<>();
        Path unified = null;
        String unifiedPath = null;
        String cpuPath = null;
        for (String line : text.split("\n")) {
            // hierarchy-id:controller-list:path
            int first = line.indexOf(':');
            int second = line.indexOf(':', first + 1);
            if (first < 0 || second < 0) {
                continue;
            }
            String controllers = line.substring(first + 1, second);
            String path = line.substring(second + 1);
            if (path.equals("/")) {
                // the root cgroup is the whole host, never a container's own (rootless Podman on v1 leaves its
                // containers there for cpu, pids, blkio): serving it would show a tenant the host's totals
                continue;
            }
            if (controllers.isEmpty()) {
                unifiedPath = path;
                if (mounts.unified().isPresent()) {
                    unified = mounts.unified().get().dir(path);
                }
                continue;
            }
            for (String controller : controllers.split(",")) {
                CgroupMounts.Mount mount = mounts.v1().get(controller);
                if (mount != null) {
                    v1.put(controller, mount.dir(path));
                }
                if (controller.equals("cpu")) {
                    cpuPath = path;
                }
            }
        }
        return new InstanceCgroup(v1, Optional.ofNullable(unified), unifiedPath != null && unifiedPath.equals(cpuPath));
    }
}
