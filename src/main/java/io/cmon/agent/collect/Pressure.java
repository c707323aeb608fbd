package io.cmon.agent.collect;

import java.util.Optional;

/**
 * A PSI file ({@code /proc/pressure/*}, cgroup2 {@code cpu.pressure}, {@code memory.pressure}, {@code io.pressure}):
 * <pre>
 * some avg10=0.00 avg60=0.00 avg300=0.00 total=12345
 * full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * </pre>
 * {@code total} is cumulative stall time in microseconds. {@code cpu.pressure} has a {@code full} line only on
 * kernels 5.13 and later: {@link #full()} is then empty, not zero, so a metric built on it is left out rather than
 * claiming "never stalled".
 */
public record Pressure(Line some, Optional<Line> full) {

    public record Line(double avg10, double avg60, double avg300, long totalUs) {
    }

    public static Pressure parse(String text) {
        Line some = null;
        Line full = null;
        for (String raw : text.split("\n")) {
            String[] fields = KeyedValues.WHITESPACE.split(raw.trim());
            if (fields.length < 5) {
                continue;
            }
            Line line = new Line(
                    Double.parseDouble(value(fields[1], "avg10")),
                    Double.parseDouble(value(fields[2], "avg60")),
                    Double.parseDouble(value(fields[3], "avg300")),
                    Long.parseLong(value(fields[4], "total")));
            switch (fields[0]) {
                case "some" -> some = line;
                case "full" -> full = line;
                default -> { }
            }
        }
        if (some == null) {
            throw new IllegalArgumentException("no 'some' line in pressure file");
        }
        return new Pressure(some, Optional.ofNullable(full));
    }

    private static String value(String field, String key) {
        if (!field.startsWith(key + "=")) {
            throw new IllegalArgumentException("expected " + key + "=…, got '" + field + "'");
        }
        return field.substring(key.length() + 1);
    }
}
