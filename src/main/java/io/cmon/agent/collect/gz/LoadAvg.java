package io.cmon.agent.collect.gz;

/** {@code /proc/loadavg}: the kernel's 1, 5 and 15 minute load averages. */
public record LoadAvg(double load1, double load5, double load15) {

    public static LoadAvg parse(String text) {
        String[] f = text.trim().split("\\s+");
        if (f.length < 3) {
            throw new IllegalArgumentException("loadavg: expected 3 numbers, got '" + text.trim() + "'");
        }
        return new LoadAvg(Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]));
    }
}
