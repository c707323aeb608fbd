package io.cmon.quickstart;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
                p = new ProcessBuilder("sh", "-c", w.script()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException e) {
                throw new QuickstartException("cannot start demo workload " + w.alias() + ": " + e.getMessage(), e);
            }
            processes.add(p);
            moveToOwnCgroups(w.alias(), p.pid());
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
                : List.of(CGROUP.resolve("cpu,cpuacct"), CGROUP.resolve("memory"), CGROUP.resolve("pids"));
        for (Path controller : parents) {
            if (!Files.isDirectory(controller)) continue;
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

    void stopAll() {
        for (Process p : processes) p.destroyForcibly();
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
