package io.cmon.agent.collect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Block I/O of a cgroup, summed over devices: bytes and operations, read and written. */
public record DiskIo(long readBytes, long writtenBytes, long reads, long writes) {

    /** A block device as the cgroup files name it. */
    static final Pattern MAJOR_MINOR = Pattern.compile("\\d+:\\d+");

    /** The same counters for one device, {@code device} as {@code major:minor}. */
    public record Device(String device, long readBytes, long writtenBytes, long reads, long writes) {
    }

    public static DiskIo sum(List<Device> devices) {
        long rbytes = 0;
        long wbytes = 0;
        long rios = 0;
        long wios = 0;
        for (Device d : devices) {
            rbytes += d.readBytes();
            wbytes += d.writtenBytes();
            rios += d.reads();
            wios += d.writes();
        }
        return new DiskIo(rbytes, wbytes, rios, wios);
    }

    /** v1, summed over devices; see {@link #devicesV1}. */
    public static DiskIo parseV1(String ioServiceBytes, String ioServiced) {
        return sum(devicesV1(ioServiceBytes, ioServiced));
    }

    /** v2, summed over devices; see {@link #devicesV2}. */
    public static DiskIo parseV2(String ioStat) {
        return sum(devicesV2(ioStat));
    }

    /**
     * v1 {@code blkio.throttle.io_service_bytes} and {@code blkio.throttle.io_serviced}: lines
     * {@code <maj:min> <Read|Write|Sync|Async|Discard|Total> <n>} and a last {@code Total <n>}. Only the Read and
     * Write lines count: Sync/Async split the same I/O again and Total adds them up once more. A device appears in
     * the order the kernel lists it, whichever of the two files names it.
     */
    public static List<Device> devicesV1(String ioServiceBytes, String ioServiced) {
        Map<String, long[]> byDevice = new LinkedHashMap<>();
        readWrite(ioServiceBytes, byDevice, 0);
        readWrite(ioServiced, byDevice, 2);
        List<Device> out = new ArrayList<>(byDevice.size());
        byDevice.forEach((dev, c) -> out.add(new Device(dev, c[0], c[1], c[2], c[3])));
        return out;
    }

    private static void readWrite(String text, Map<String, long[]> byDevice, int offset) {
        for (String line : text.split("\n")) {
            String[] f = KeyedValues.WHITESPACE.split(line.trim());
            if (f.length != 3 || !MAJOR_MINOR.matcher(f[0]).matches()) {
                continue; // the trailing "Total n"
            }
            int slot = switch (f[1]) {
                case "Read" -> offset;
                case "Write" -> offset + 1;
                default -> -1;
            };
            if (slot >= 0) {
                byDevice.computeIfAbsent(f[0], d -> new long[4])[slot] += Long.parseLong(f[2]);
            }
        }
    }

    /**
     * v2 {@code io.stat}: {@code <maj:min> rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…} per device, possibly
     * followed by other controllers' keys (io.latency, io.cost) that are not ours. A line without any of the four
     * counters (blank, or another controller's only) is no device of ours.
     */
    public static List<Device> devicesV2(String ioStat) {
        List<Device> out = new ArrayList<>();
        for (String line : ioStat.split("\n")) {
            String[] f = KeyedValues.WHITESPACE.split(line.trim());
            if (f.length < 2 || !MAJOR_MINOR.matcher(f[0]).matches()) {
                continue;
            }
            long[] c = new long[4];
            boolean any = false;
            for (int i = 1; i < f.length; i++) {
                int eq = f[i].indexOf('=');
                if (eq < 0) {
                    continue;
                }
                int slot = switch (f[i].substring(0, eq)) {
                    case "rbytes" -> 0;
                    case "wbytes" -> 1;
                    case "rios" -> 2;
                    case "wios" -> 3;
                    default -> -1;
                };
                if (slot >= 0) {
                    c[slot] = Long.parseLong(f[i].substring(eq + 1));
                    any = true;
                }
            }
            if (any) {
                out.add(new Device(f[0], c[0], c[1], c[2], c[3]));
            }
        }
        return out;
    }
}
