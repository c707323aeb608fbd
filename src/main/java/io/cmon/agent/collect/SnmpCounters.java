package io.cmon.agent.collect;

import java.util.HashMap;
import java.util.Map;

/**
 * The format of {@code /proc/<pid>/net/snmp} and {@code net/netstat}: per protocol a header line of field names and
 * a line of values, both starting with {@code "<Proto>:"}. Read as protocol → field → value, so a kernel adding
 * fields changes nothing for us.
 */
public record SnmpCounters(Map<String, Map<String, Long>> protocols) {

    public SnmpCounters {
        Map<String, Map<String, Long>> copy = new HashMap<>();
        protocols.forEach((k, v) -> copy.put(k, Map.copyOf(v)));
        protocols = Map.copyOf(copy);
    }

    public static SnmpCounters parse(String text) {
        Map<String, Map<String, Long>> protocols = new HashMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i + 1 < lines.length; i += 2) {
            String[] names = KeyedValues.WHITESPACE.split(lines[i].trim());
            String[] values = KeyedValues.WHITESPACE.split(lines[i + 1].trim());
            if (names.length != values.length || !names[0].equals(values[0]) || !names[0].endsWith(":")) {
                throw new IllegalArgumentException("snmp: header and values do not pair at line " + (i + 1));
            }
            Map<String, Long> fields = new HashMap<>();
            for (int f = 1; f < names.length; f++) {
                fields.put(names[f], Long.parseLong(values[f]));
            }
            protocols.put(names[0].substring(0, names[0].length() - 1), fields);
        }
        return new SnmpCounters(protocols);
    }

    /**
     * The values of a few {@code fields} of one {@code protocol}, in order, empty for a field the kernel does not
     * print; the other protocols' lines are skipped and nothing else is built. The scrape path's parser: {@link
     * #parse} builds every protocol's map (~200 boxed fields of netstat, regex splits, copies) to read six values,
     * ~90 KB of garbage and ~0.3 ms per scrape under C1 (InstanceCollectionBenchmark, docs/PERFORMANCE.md).
     *
     * @throws IllegalArgumentException when the protocol's header is not followed by its values line of as many
     *                                  fields
     */
    public static java.util.OptionalLong[] select(String text, String protocol, String... fields) {
        java.util.OptionalLong[] out = new java.util.OptionalLong[fields.length];
        java.util.Arrays.fill(out, java.util.OptionalLong.empty());
        String prefix = protocol + ":";
        int line = 0;
        for (int at = 0; at < text.length(); line++) {
            int end = lineEnd(text, at);
            if (!text.startsWith(prefix, at)) {
                at = end + 1;
                continue;
            }
            int valuesAt = end + 1;
            int valuesEnd = valuesAt < text.length() ? lineEnd(text, valuesAt) : valuesAt;
            if (valuesAt >= text.length() || !text.startsWith(prefix, valuesAt)) {
                throw new IllegalArgumentException("snmp: header and values do not pair at line " + (line + 1));
            }
            int h = at + prefix.length();
            int v = valuesAt + prefix.length();
            while (true) {
                h = skipBlanks(text, h, end);
                v = skipBlanks(text, v, valuesEnd);
                if (h == end || v == valuesEnd) {
                    if (h != end || v != valuesEnd) {
                        throw new IllegalArgumentException("snmp: header and values do not pair at line "
                                + (line + 1));
                    }
                    return out;
                }
                int hEnd = tokenEnd(text, h, end);
                int vEnd = tokenEnd(text, v, valuesEnd);
                for (int f = 0; f < fields.length; f++) {
                    if (hEnd - h == fields[f].length() && text.startsWith(fields[f], h)) {
                        out[f] = java.util.OptionalLong.of(Long.parseLong(text, v, vEnd, 10));
                    }
                }
                h = hEnd;
                v = vEnd;
            }
        }
        return out;
    }

    private static int lineEnd(String text, int from) {
        int nl = text.indexOf('\n', from);
        return nl < 0 ? text.length() : nl;
    }

    private static int skipBlanks(String text, int i, int end) {
        while (i < end && Character.isWhitespace(text.charAt(i))) i++;
        return i;
    }

    private static int tokenEnd(String text, int i, int end) {
        while (i < end && !Character.isWhitespace(text.charAt(i))) i++;
        return i;
    }

    /** A field of a protocol, e.g. {@code get("Tcp", "ActiveOpens")}. */
    public java.util.OptionalLong get(String protocol, String field) {
        Long v = protocols.getOrDefault(protocol, Map.of()).get(field);
        return v == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(v);
    }

    public long require(String protocol, String field) {
        return get(protocol, field).orElseThrow(() ->
                new IllegalArgumentException("snmp: no " + protocol + " " + field));
    }
}
