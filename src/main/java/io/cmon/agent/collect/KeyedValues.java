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
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            addLine(text, start, end, values);
            start = end + 1;
        }
        return new KeyedValues(values);
    }

    /** One {@code key value} line, split by hand: this runs for every file of every scrape. */
    private static void addLine(String text, int lineStart, int end, Map<String, Long> values) {
        int start = lineStart;
        while (start < end && Character.isWhitespace(text.charAt(start))) {
            start++;
        }
        int keyEnd = start;
        while (keyEnd < end && !Character.isWhitespace(text.charAt(keyEnd))) {
            keyEnd++;
        }
        int valueStart = keyEnd;
        while (valueStart < end && Character.isWhitespace(text.charAt(valueStart))) {
            valueStart++;
        }
        int valueEnd = end;
        while (valueEnd > valueStart && Character.isWhitespace(text.charAt(valueEnd - 1))) {
            valueEnd--;
        }
        if (keyEnd == start || valueStart == valueEnd) {
            return;
        }
        for (int i = valueStart; i < valueEnd; i++) {
            if (Character.isWhitespace(text.charAt(i))) {
                return; // more than two fields: not a flat keyed line
            }
        }
        try {
            values.put(text.substring(start, keyEnd), Long.parseLong(text, valueStart, valueEnd, 10));
        } catch (NumberFormatException notNumeric) {
            // e.g. a future field with a non-integer value: not ours to read
        }
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
