package io.cmon.agent.collect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Block I/O of a cgroup, summed over devices: bytes and operations, read and written. */
public record DiskIo(long readBytes, long writtenBytes, long reads, long writes) {

    /** Whether {@code s} names a block device as the cgroup files do: {@code major:minor}, decimal. */
    static boolean isMajorMinor(String s) {
        Fields f = new Fields(s, 1);
        return f.split(0, s.length()) == 1 && f.length(0) == s.length() && f.isMajorMinor(0);
    }

    /** The counters of an io.stat line we read, in the order of {@link Device}'s. */
    private static final String[] V2_KEYS = {"rbytes", "wbytes", "rios", "wios"};

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
        Fields f = new Fields(text, 3);
        for (int at = 0; at < text.length(); ) {
            int end = Fields.lineEnd(text, at);
            if (f.split(at, end) == 3 && f.isMajorMinor(0)) { // not the trailing "Total n"
                int slot = f.is(1, "Read") ? offset : f.is(1, "Write") ? offset + 1 : -1;
                if (slot >= 0) {
                    byDevice.computeIfAbsent(f.get(0), d -> new long[4])[slot] += f.parseLong(2);
                }
            }
            at = end + 1;
        }
    }

    /**
     * v2 {@code io.stat}: {@code <maj:min> rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…} per device, possibly
     * followed by other controllers' keys (io.latency, io.cost) that are not ours. A line without any of the four
     * counters (blank, or another controller's only) is no device of ours.
     */
    public static List<Device> devicesV2(String ioStat) {
        List<Device> out = new ArrayList<>();
        Fields f = new Fields(ioStat, 64);
        for (int at = 0; at < ioStat.length(); ) {
            int end = Fields.lineEnd(ioStat, at);
            int n = Math.min(f.split(at, end), 64);
            at = end + 1;
            if (n < 2 || !f.isMajorMinor(0)) {
                continue;
            }
            long[] c = new long[4];
            boolean any = false;
            for (int i = 1; i < n; i++) {
                int eq = ioStat.indexOf('=', f.start(i));
                if (eq < 0 || eq >= f.end(i)) {
                    continue;
                }
                int slot = -1;
                for (int k = 0; k < V2_KEYS.length; k++) {
                    if (eq - f.start(i) == V2_KEYS[k].length() && ioStat.startsWith(V2_KEYS[k], f.start(i))) {
                        slot = k;
                    }
                }
                if (slot >= 0) {
                    c[slot] = Long.parseLong(ioStat, eq + 1, f.end(i), 10);
                    any = true;
                }
            }
            if (any) {
                out.add(new Device(f.get(0), c[0], c[1], c[2], c[3]));
            }
        }
        return out;
    }
}
