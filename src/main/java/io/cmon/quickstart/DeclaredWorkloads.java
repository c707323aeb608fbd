package io.cmon.quickstart;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Demo workloads without a container engine: plain processes, each moved (as root) into cgroups of its own, and
 * declared to the agent in {@code instances.yaml}, so that there is always something to see.
 */
final class DeclaredWorkloads {

    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    private final String id;
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> cgroups = new ArrayList<>();

    DeclaredWorkloads(String id) {
        this.id = id;
    }

    /** Starts the processes; returns the declared instances (for instances.yaml). */
    List<Map<String, Object>> start(List<DemoWorkload> workloads) {
        List<Map<String, Object>> declared = new ArrayList<>();
        for (DemoWorkload w : workloads) {
            Process p;
            try {
                // waits for a line on stdin: it forks nothing until it sits in its own cgroups
                p = new ProcessBuilder("sh", "-c", "read go; " + w.script()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException e) {
                throw new QuickstartException("cannot start demo workload " + w.alias() + ": " + e.getMessage(), e);
            }
            processes.add(p);
            moveToOwnCgroups(w.alias(), p.pid());
            try (var go = p.getOutputStream()) {
                go.write('\n');
            } catch (IOException e) {
                throw new QuickstartException("cannot start demo workload " + w.alias() + ": " + e.getMessage(), e);
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("uuid", uuid(w.alias()).toString());
            entry.put("alias", w.alias());
            entry.put("owner", w.owner());
            entry.put("groups", w.groups());
            entry.put("brand", "process");
            entry.put("pid", p.pid());
            declared.add(entry);
        }
        return declared;
    }

    UUID uuid(String alias) {
        return UUID.nameUUIDFromBytes(("cmon-quickstart:" + id + ":" + alias).getBytes(StandardCharsets.UTF_8));
    }

    // Best effort: without root or writable cgroups the process is measured in the cgroup it started in.
    private void moveToOwnCgroups(String alias, long pid) {
        List<Path> parents = Files.exists(CGROUP.resolve("cgroup.controllers"))
                ? List.of(CGROUP)
                : List.of("cpu,cpuacct", "cpu", "cpuacct", "memory", "pids").stream().map(CGROUP::resolve)
                        .filter(Files::isDirectory).map(DeclaredWorkloads::real).distinct().toList();
        for (Path controller : parents) {
            Path group = controller.resolve("cmon-quickstart-" + id).resolve(alias);
            try {
                Files.createDirectories(group);
                if (controller.equals(CGROUP)) {
                    try {
                        Files.writeString(group.getParent().resolve("cgroup.subtree_control"), "+cpu +memory +pids");
                    } catch (IOException ignored) {
                        // controllers not delegated here: the group still counts CPU time
                    }
                }
                Files.writeString(group.resolve("cgroup.procs"), Long.toString(pid));
                cgroups.add(group);
            } catch (IOException | SecurityException e) {
                // not root, or no such hierarchy
            }
        }
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath(); // cpu and cpuacct are often links to one cpu,cpuacct hierarchy
        } catch (IOException e) {
            return p;
        }
    }

    /**
     * Demo workloads an earlier run of this directory left running (it was killed with SIGKILL): the processes in
     * its own cgroups ({@code cmon-quickstart-<id>/<alias>}), which nothing else uses. Returns how many were stopped.
     */
    static int stopLeftovers(String id) {
        int stopped = 0;
        List<Path> roots = Files.exists(CGROUP.resolve("cgroup.controllers")) ? List.of(CGROUP)
                : List.of("cpu,cpuacct", "cpu", "cpuacct", "memory", "pids").stream().map(CGROUP::resolve)
                        .filter(Files::isDirectory).map(DeclaredWorkloads::real).distinct().toList();
        for (Path root : roots) {
            Path mine = root.resolve("cmon-quickstart-" + id);
            if (!Files.isDirectory(mine)) continue;
            try (var groups = Files.list(mine)) {
                for (Path group : groups.filter(Files::isDirectory).toList()) {
                    for (String line : Files.readAllLines(group.resolve("cgroup.procs"))) {
                        Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(line.strip()));
                        if (h.isPresent() && h.get().destroyForcibly()) stopped++;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // best effort, as moving them there was
            }
        }
        return stopped;
    }

    void stopAll() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // the loop's sleep, else it outlives the shell
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        for (Path g : cgroups) {
            try {
                Files.deleteIfExists(g);
                Files.deleteIfExists(g.getParent());
            } catch (IOException ignored) {
                // still has members or siblings; removed by the last one
            }
        }
        cgroups.clear();
    }
}
