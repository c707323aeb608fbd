package io.cmon.agent.collect;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The kernel's "flat keyed" file format ({@code key value} per line), as in {@code cpu.stat}, {@code memory.stat},
 * {@code cpuacct.stat}, {@code memory.events}. Lines that are not two fields with a numeric value are skipped, so a
 * newer kernel adding fields never breaks a parser.
 */
public record KeyedValues(Map<String, Long> values) {

    /** Field separator of the kernel's text files; compiled once, parsing runs on every scrape. */
    static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("\\s+");

    public KeyedValues {
        values = Map.copyOf(values);
    }

    public static KeyedValues parse(String text) {
        Map<String, Long> values = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] fields = KeyedValues.WHITESPACE.split(line.trim());
            if (fields.length != 2) {
                continue;
            }
            try {
                values.put(fields[0], Long.parseLong(fields[1]));
            } catch (NumberFormatException notNumeric) {
                // e.g. a future field with a non-integer value: not ours to read
            }
        }
        return new KeyedValues(values);
    }

    public OptionalLong get(String key) {
        Long value = values.get(key);
        return value == null ? OptionalLong.empty() : OptionalLong.of(value);
    }

    /** The value of a field the format guarantees; a missing one means the file is not what we think it is. */
    public long require(String key) {
        Long value = values.get(key);
        if (value == null) {
            throw new IllegalArgumentException("missing field '" + key + "'");
        }
        return value;
    }

    public long orZero(String key) {
        return values.getOrDefault(key, 0L);
    }

    /** A file holding a single integer ({@code memory.usage_in_bytes}, {@code cpuacct.usage_user}, …). */
    static long single(String text) {
        return Long.parseLong(text.trim());
    }
}
