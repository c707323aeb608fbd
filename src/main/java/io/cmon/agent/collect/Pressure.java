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
        Fields f = new Fields(text, 5);
        for (int at = 0; at < text.length(); ) {
            int end = Fields.lineEnd(text, at);
            int n = f.split(at, end);
            at = end + 1;
            if (n < 5) {
                continue;
            }
            Line line = new Line(
                    Double.parseDouble(value(f, 1, "avg10=")),
                    Double.parseDouble(value(f, 2, "avg60=")),
                    Double.parseDouble(value(f, 3, "avg300=")),
                    Long.parseLong(text, valueStart(f, 4, "total="), f.end(4), 10));
            if (f.is(0, "some")) {
                some = line;
            } else if (f.is(0, "full")) {
                full = line;
            }
        }
        if (some == null) {
            throw new IllegalArgumentException("no 'some' line in pressure file");
        }
        return new Pressure(some, Optional.ofNullable(full));
    }

    private static String value(Fields f, int field, String key) {
        return f.get(field).substring(valueStart(f, field, key) - f.start(field));
    }

    /** Where the value of {@code key=value} starts; the field must be that key's. */
    private static int valueStart(Fields f, int field, String key) {
        if (!f.startsWith(field, key)) {
            throw new IllegalArgumentException("expected " + key + "…, got '" + f.get(field) + "'");
        }
        return f.start(field) + key.length();
    }
}
