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
