package io.cmon.agent.collect;

/** The server's memory and swap from {@code /proc/meminfo} (reported there in kB), in bytes. */
public record MemInfo(long memTotal, long swapTotal) {

    public static MemInfo parse(String text) {
        long memTotal = -1;
        long swapTotal = -1;
        for (String line : text.split("\n")) {
            if (line.startsWith("MemTotal:")) {
                memTotal = kilobytes(line);
            } else if (line.startsWith("SwapTotal:")) {
                swapTotal = kilobytes(line);
            }
        }
        if (memTotal < 0 || swapTotal < 0) {
            throw new IllegalArgumentException("meminfo without MemTotal/SwapTotal");
        }
        return new MemInfo(memTotal, swapTotal);
    }

    private static long kilobytes(String line) {
        String[] fields = KeyedValues.WHITESPACE.split(line.trim());
        return Long.parseLong(fields[1]) * 1024;
    }
}
