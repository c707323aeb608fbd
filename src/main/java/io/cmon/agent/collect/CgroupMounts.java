package io.cmon.agent.collect;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Where the cgroup hierarchies are mounted, from {@code /proc/self/mountinfo}: v1 hierarchies by controller (one
 * mount per controller, as on this project's CI host, or combined like {@code cpu,cpuacct}; named hierarchies as
 * {@code name=systemd}), and the cgroup2 (unified) mount. A v2 host has only {@code unified}; a hybrid host has both,
 * with the controllers on v1.
 */
public record CgroupMounts(Map<String, Mount> v1, Optional<Mount> unified) {

    /**
     * @param root       the hierarchy path that is mounted there ({@code /} on a host; a sub-cgroup inside a container)
     * @param mountPoint where it is mounted
     */
    public record Mount(String root, Path mountPoint) {

        /** The directory of the cgroup {@code path} (as in /proc/&lt;pid&gt;/cgroup) under this mount. */
        public Path dir(String path) {
            String relative = path;
            if (!root.equals("/") && (relative.equals(root) || relative.startsWith(root + "/"))) {
                relative = relative.substring(root.length());
            }
            // leading slashes skipped by hand: this runs for every controller of every resolution (each uncached
            // scrape), and replaceFirst("^/+", "") compiled its regex on each call
            int from = 0;
            while (from < relative.length() && relative.charAt(from) == '/') from++;
            relative = relative.substring(from);
            return relative.isEmpty() ? mountPoint : mountPoint.resolve(relative);
        }
    }

    /** Super options of a v1 cgroup mount that are not controllers. */
    private static final java.util.Set<String> MOUNT_FLAGS = java.util.Set.of(
            "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "nofavordynmods");

    public CgroupMounts {
        v1 = Map.copyOf(v1);
    }

    public static CgroupMounts parse(String mountinfo) {
        Map<String, Mount> v1 = new HashMap<>();
        Mount unified = null;
        for (String line : mountinfo.split("\n")) {
            String[] fields = line.split(" ");
            int dash = indexOf(fields, "-");
            if (dash < 6 || dash + 3 >= fields.length || !fields[4].startsWith("/")) {
                continue; // not a mountinfo line; a mount point is absolute (under() relies on it)
            }
            String fsType = fields[dash + 1];
            Mount mount = new Mount(unescape(fields[3]), Path.of(unescape(fields[4])));
            if (fsType.equals("cgroup2")) {
                if (unified == null) {
                    unified = mount;
                }
            } else if (fsType.equals("cgroup")) {
                for (String option : fields[dash + 3].split(",")) {
                    if (option.startsWith("name=") || !option.contains("=") && !MOUNT_FLAGS.contains(option)) {
                        v1.putIfAbsent(option, mount);
                    }
                }
            }
        }
        return new CgroupMounts(v1, Optional.ofNullable(unified));
    }

    /** The same mounts seen under another root: a host's /sys mounted at /host/sys, or a fixture tree. */
    public CgroupMounts under(Path root) {
        Function<Mount, Mount> move = m -> new Mount(m.root(), root.resolve(m.mountPoint().toString().substring(1)));
        return new CgroupMounts(
                v1.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> move.apply(e.getValue()))),
                unified.map(move));
    }

    private static int indexOf(String[] fields, String wanted) {
        for (int i = 0; i < fields.length; i++) {
            if (fields[i].equals(wanted)) {
                return i;
            }
        }
        return -1;
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
    private static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
