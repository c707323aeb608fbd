package io.cmon.agent.collect.gz;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's mounts from {@code /proc/self/mountinfo}, and which of them the filesystem metrics cover: what
 * node_exporter's filesystem collector covers by default (its {@code fs-types-exclude} and
 * {@code mount-points-exclude}), so dashboards built for node_exporter show the same filesystems.
 */
public final class Mounts {

    /** @param device the mount source ({@code /dev/vda1}, {@code server:/export}, {@code tmpfs}) */
    public record Mount(String device, String mountpoint, String fstype) { }

    private Mounts() {
    }

    /** Every mount, in mountinfo order. */
    public static List<Mount> parse(String mountinfo) {
        List<Mount> mounts = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            // id parent maj:min root mountpoint options [optional fields…] - fstype source super-options
            String[] f = line.trim().split(" ");
            int dash = List.of(f).indexOf("-");
            if (f.length < 5 || dash < 0 || dash + 2 >= f.length) {
                continue;
            }
            mounts.add(new Mount(unescape(f[dash + 2]), unescape(f[4]), f[dash + 1]));
        }
        return mounts;
    }

    /** The mounts the metrics cover by default ({@link GzExclusions#DEFAULT}). */
    public static List<Mount> monitored(List<Mount> mounts) {
        return monitored(mounts, GzExclusions.DEFAULT);
    }

    /**
     * The mounts the metrics cover, one per mount point: when something is mounted over another mount, only the
     * top one is reachable, so the later entry wins.
     */
    public static List<Mount> monitored(List<Mount> mounts, GzExclusions exclusions) {
        Map<String, Mount> byMountpoint = new LinkedHashMap<>();
        for (Mount m : mounts) {
            byMountpoint.remove(m.mountpoint());
            byMountpoint.put(m.mountpoint(), m);
        }
        return byMountpoint.values().stream()
                .filter(m -> !exclusions.excludesMount(m))
                .toList();
    }

    /** mountinfo escapes space, tab, newline and backslash as octal ({@code \040}). */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
