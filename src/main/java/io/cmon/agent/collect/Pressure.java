package io.cmon.agent.collect;

/**
 * A PSI file ({@code /proc/pressure/*}, cgroup2 {@code cpu.pressure}, {@code memory.pressure}, {@code io.pressure}):
 * <pre>
 * some avg10=0.00 avg60=0.00 avg300=0.00 total=12345
 * full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * </pre>
 * {@code total} is cumulative stall time in microseconds. The {@code full} line is absent on kernels before 5.13
 * for cpu; it is then reported as zeros.
 */
public record Pressure(Line some, Line full) {

    public record Line(double avg10, double avg60, double avg300, long totalUs) {
        static final Line ZERO = new Line(0, 0, 0, 0);
    }

    public static Pressure parse(String text) {
        Line some = null;
        Line full = Line.ZERO;
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
        return new Pressure(some, full);
    }

    private static String value(String field, String key) {
        if (!field.startsWith(key + "=")) {
            throw new IllegalArgumentException("expected " + key + "=…, got '" + field + "'");
        }
        return field.substring(key.length() + 1);
    }
}
