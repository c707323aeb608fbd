package io.cmon.agent.collect;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The server's {@code /proc/meminfo} as field name → bytes (kB values scaled; unit-less counts such as
 * HugePages_Total as they are). Read by the memory collector (limits of unlimited cgroups) and the gz metrics.
 */
public record MemInfo(Map<String, Long> fields) {

    public MemInfo {
        fields = Map.copyOf(fields);
    }

    public static MemInfo parse(String text) {
        Map<String, Long> fields = new LinkedHashMap<>();
        Fields v = new Fields(text, 2);
        for (int at = 0; at < text.length(); ) {
            int end = Fields.lineEnd(text, at);
            int colon = text.indexOf(':', at);
            int lineStart = at;
            at = end + 1;
            if (colon < 0 || colon >= end) continue;
            String name = text.substring(lineStart, colon).trim();
            if (name.isEmpty()) continue; // ": 5 kB" or blanks before the colon name no field
            if (v.split(colon + 1, end) == 0) continue;
            try {
                long n = v.parseLong(0);
                fields.put(name, v.count() > 1 && v.is(1, "kB") ? n * 1024 : n);
            } catch (NumberFormatException notNumeric) {
                // a field of a newer kernel we do not read
            }
        }
        return new MemInfo(fields);
    }

    /** A server with this much memory and swap, in bytes. */
    public static MemInfo of(long memTotal, long swapTotal) {
        return new MemInfo(Map.of("MemTotal", memTotal, "SwapTotal", swapTotal));
    }

    /** Bytes of a field, or -1 when the kernel does not report it. */
    public long bytes(String field) {
        return fields.getOrDefault(field, -1L);
    }

    public long memTotal() {
        return require("MemTotal");
    }

    public long swapTotal() {
        return require("SwapTotal");
    }

    private long require(String field) {
        Long v = fields.get(field);
        if (v == null) throw new IllegalArgumentException("meminfo without " + field);
        return v;
    }
}
