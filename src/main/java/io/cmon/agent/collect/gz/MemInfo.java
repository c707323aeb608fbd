package io.cmon.agent.collect.gz;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code /proc/meminfo} as field name → bytes (kB values scaled; unit-less counts such as HugePages_Total as is). */
public record MemInfo(Map<String, Long> fields) {

    public MemInfo {
        fields = Map.copyOf(fields);
    }

    public static MemInfo parse(String text) {
        Map<String, Long> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) continue;
            String[] v = line.substring(colon + 1).trim().split("\\s+");
            if (v.length == 0 || v[0].isEmpty()) continue;
            long n = Long.parseLong(v[0]);
            fields.put(line.substring(0, colon).trim(), v.length > 1 && v[1].equals("kB") ? n * 1024 : n);
        }
        return new MemInfo(fields);
    }

    /** Bytes of a field, or -1 when the kernel does not report it. */
    public long bytes(String field) {
        return fields.getOrDefault(field, -1L);
    }
}
