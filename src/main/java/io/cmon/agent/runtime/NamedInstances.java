package io.cmon.agent.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds a container that a runtime without an event API names (LXC, systemd-nspawn) in the cgroup tree, and its init
 * process: no exec of {@code lxc-info}/{@code machinectl}, only a few small kernel files per poll.
 *
 * <p>Where each runtime puts a container, tried in this order (paths from a hierarchy's root; on cgroup v1 the first
 * hierarchy of {@link #V1_HIERARCHIES} that has the directory):
 * <ul>
 *   <li>LXC 4/5: {@code /lxc.payload.NAME} (its monitor sits apart in {@code /lxc.monitor.NAME}); LXC 3 and older,
 *       or {@code lxc.cgroup.pattern = lxc/%n}: {@code /lxc/NAME}</li>
 *   <li>systemd-nspawn registered with systemd-machined: {@code /machine.slice/machine-NAME.scope} (run by hand) or
 *       {@code /machine.slice/systemd-nspawn@NAME.service} ({@code machinectl start}); NAME escaped as a unit name
 *       ({@code -} becomes {@code \x2d})</li>
 * </ul>
 * The init process is the one in the cgroup's subtree whose pid in its own pid namespace is 1 ({@code NSpid} of
 * {@code /proc/<pid>/status} ends in 1): that skips nspawn's supervisor and any helper process LXC leaves there.
 * The walk is bounded ({@link #MAX_DEPTH} levels, {@link #MAX_CGROUPS} cgroups).
 */
final class NamedInstances {

    /** v1 hierarchies that hold every process of a cgroup, in order of preference; "unified" is v1-hybrid's v2. */
    static final List<String> V1_HIERARCHIES = List.of("pids", "memory", "cpu", "cpuacct", "cpu,cpuacct",
            "systemd", "unified");
    static final int MAX_DEPTH = 4;
    static final int MAX_CGROUPS = 64;

    enum Runtime {
        LXC("lxc"), NSPAWN("nspawn");

        final String key;

        Runtime(String key) {
            this.key = key;
        }
    }

    /** A running container: its cgroup (from the hierarchy's root) and its init pid. */
    record Found(String cgroup, long pid) {}

    private final Path procRoot;
    private final Path cgroupRoot;

    NamedInstances(Path procRoot, Path cgroupRoot) {
        this.procRoot = procRoot;
        this.cgroupRoot = cgroupRoot;
    }

    /** Where the runtime may have put the container named {@code name}, most likely first. */
    static List<String> candidates(Runtime runtime, String name) {
        return switch (runtime) {
            case LXC -> List.of("/lxc.payload." + name, "/lxc/" + name);
            case NSPAWN -> List.of("/machine.slice/machine-" + unitEscape(name) + ".scope",
                    "/machine.slice/systemd-nspawn@" + unitEscape(name) + ".service");
        };
    }

    /**
     * The running container, or empty when none of its cgroups exists or holds a process (stopped).
     *
     * @throws IOException when the cgroup tree cannot be read (not "not there": that is empty)
     */
    Optional<Found> find(Runtime runtime, String name) throws IOException {
        Path hierarchy = hierarchy();
        for (String cgroup : candidates(runtime, name)) {
            Path dir = hierarchy.resolve(cgroup.substring(1));
            if (!Files.isDirectory(dir)) continue;
            long pid = initPid(dir);
            if (pid > 0) return Optional.of(new Found(cgroup, pid));
        }
        return Optional.empty();
    }

    /** The v2 root, or the first v1 hierarchy mounted (all of them hold every process). */
    private Path hierarchy() throws IOException {
        if (Files.exists(cgroupRoot.resolve("cgroup.controllers"))) return cgroupRoot;
        for (String h : V1_HIERARCHIES) {
            Path p = cgroupRoot.resolve(h);
            if (Files.exists(p.resolve("cgroup.procs"))) return p;
        }
        throw new IOException("no cgroup hierarchy under " + cgroupRoot + " (looked for v2 and v1 "
                + String.join(", ", V1_HIERARCHIES) + ")");
    }

    /** Breadth first through the subtree: the process that is pid 1 of its namespace, else the first process. */
    private long initPid(Path top) throws IOException {
        List<Path> queue = new ArrayList<>(List.of(top));
        List<Integer> depth = new ArrayList<>(List.of(0));
        long first = 0;
        for (int i = 0; i < queue.size(); i++) {
            for (long pid : procs(queue.get(i))) {
                if (first == 0) first = pid;
                if (isNamespaceInit(pid)) return pid;
            }
            if (depth.get(i) < MAX_DEPTH) {
                try (DirectoryStream<Path> children = Files.newDirectoryStream(queue.get(i), Files::isDirectory)) {
                    for (Path c : children) {
                        if (queue.size() >= MAX_CGROUPS) break; // a container with thousands of cgroups: bounded
                        queue.add(c);
                        depth.add(depth.get(i) + 1);
                    }
                } catch (NoSuchFileException gone) {
                    // removed while walking: the container is stopping
                }
            }
        }
        return first;
    }

    private static List<Long> procs(Path cgroup) throws IOException {
        List<Long> pids = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(cgroup.resolve("cgroup.procs"));
        } catch (NoSuchFileException gone) {
            return pids;
        }
        for (String line : lines) {
            String t = line.trim();
            if (!t.isEmpty()) {
                try {
                    pids.add(Long.parseLong(t));
                } catch (NumberFormatException e) {
                    throw new IOException(cgroup.resolve("cgroup.procs") + ": not a pid: '" + t + "'");
                }
            }
        }
        return pids;
    }

    /** {@code NSpid: <host pid> … 1}: pid 1 of a nested pid namespace. */
    private boolean isNamespaceInit(long pid) {
        try {
            for (String line : Files.readAllLines(procRoot.resolve(Long.toString(pid)).resolve("status"))) {
                if (line.startsWith("NSpid:")) {
                    String[] f = line.substring("NSpid:".length()).trim().split("\\s+");
                    return f.length > 1 && f[f.length - 1].equals("1");
                }
            }
        } catch (IOException e) {
            // exited meanwhile
        }
        return false;
    }

    /**
     * systemd's unit-name escaping of one name (what machined does to a machine name): ASCII letters, digits, ':',
     * '_' and '.' (not leading) stay, every other byte becomes {@code \xNN}.
     */
    static String unitEscape(String name) {
        StringBuilder b = new StringBuilder();
        byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int c = bytes[i] & 0xff;
            boolean keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == ':' || c == '_' || (c == '.' && i > 0);
            if (keep) {
                b.append((char) c);
            } else {
                b.append(String.format("\\x%02x", c));
            }
        }
        return b.toString();
    }
}
