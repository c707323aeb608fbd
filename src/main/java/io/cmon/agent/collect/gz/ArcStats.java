package io.cmon.agent.collect.gz;

import java.util.HashMap;
import java.util.Map;

/**
 * ZFS on Linux's {@code /proc/spl/kstat/zfs/arcstats}: a kstat header line, a {@code name type data} line, then one
 * {@code <name> <type> <value>} line per statistic (type 4 = uint64).
 */
public record ArcStats(Map<String, Long> values) {

    public ArcStats {
        values = Map.copyOf(values);
    }

    public static ArcStats parse(String text) {
        Map<String, Long> values = new HashMap<>();
        String[] lines = text.split("\n");
        if (lines.length < 2 || !lines[1].trim().startsWith("name")) {
            throw new IllegalArgumentException("arcstats: no 'name type data' header");
        }
        for (int i = 2; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length != 3) {
                continue;
            }
            try {
                values.put(f[0], Long.parseLong(f[2]));
            } catch (NumberFormatException notAnInteger) {
                // kstat types other than integers (strings, …) are not exported
            }
        }
        return new ArcStats(values);
    }

    /** A statistic, or -1 when this ZFS version does not have it. */
    public long get(String name) {
        return values.getOrDefault(name, -1L);
    }
}
