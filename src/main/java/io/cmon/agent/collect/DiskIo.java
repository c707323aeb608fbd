package io.cmon.agent.collect;

/** Block I/O of a cgroup, summed over devices: bytes and operations, read and written. */
public record DiskIo(long readBytes, long writtenBytes, long reads, long writes) {

    /**
     * v1 {@code blkio.throttle.io_service_bytes} and {@code blkio.throttle.io_serviced}: lines
     * {@code <maj:min> <Read|Write|Sync|Async|Discard|Total> <n>} and a last {@code Total <n>}. Only the Read and
     * Write lines are summed: Sync/Async split the same I/O again and Total adds them up once more.
     */
    public static DiskIo parseV1(String ioServiceBytes, String ioServiced) {
        long[] bytes = readWrite(ioServiceBytes);
        long[] ops = readWrite(ioServiced);
        return new DiskIo(bytes[0], bytes[1], ops[0], ops[1]);
    }

    private static long[] readWrite(String text) {
        long[] sums = new long[2];
        for (String line : text.split("\n")) {
            String[] f = KeyedValues.WHITESPACE.split(line.trim());
            if (f.length != 3) {
                continue; // the trailing "Total n"
            }
            if (f[1].equals("Read")) {
                sums[0] += Long.parseLong(f[2]);
            } else if (f[1].equals("Write")) {
                sums[1] += Long.parseLong(f[2]);
            }
        }
        return sums;
    }

    /** v2 {@code io.stat}: {@code <maj:min> rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…} per device. */
    public static DiskIo parseV2(String ioStat) {
        long rbytes = 0;
        long wbytes = 0;
        long rios = 0;
        long wios = 0;
        for (String line : ioStat.split("\n")) {
            String[] f = KeyedValues.WHITESPACE.split(line.trim());
            for (int i = 1; i < f.length; i++) {
                int eq = f[i].indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String key = f[i].substring(0, eq);
                long value;
                try {
                    value = Long.parseLong(f[i].substring(eq + 1));
                } catch (NumberFormatException notACounter) {
                    continue; // e.g. io.latency's "use_delay=…" forms are not ours
                }
                switch (key) {
                    case "rbytes" -> rbytes += value;
                    case "wbytes" -> wbytes += value;
                    case "rios" -> rios += value;
                    case "wios" -> wios += value;
                    default -> { }
                }
            }
        }
        return new DiskIo(rbytes, wbytes, rios, wios);
    }
}
