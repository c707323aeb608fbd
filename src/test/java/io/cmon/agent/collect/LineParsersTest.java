package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The parsers that split lines by index ({@link Fields}) read what the regex splits they replaced read: on this
 * host's live kernel files, against the replaced code kept here as the oracle, and on fixed samples for the edges
 * (tabs, runs of blanks, no final newline, extra or malformed fields).
 */
class LineParsersTest {

    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern MAJOR_MINOR = Pattern.compile("\\d+:\\d+");

    private static String live(String path) throws Exception {
        return KernelFile.read(Path.of(path)).orElseThrow(() -> new AssertionError("this host has no " + path));
    }

    @Test
    void netDevOfThisHostAndOfThisProcessesNamespaceAsTheRegexSplitReadThem() throws Exception {
        for (String file : List.of("/proc/net/dev", "/proc/self/net/dev")) {
            String text = live(file);
            assertThat(NetDev.parseDevices(text)).isNotEmpty().isEqualTo(oracleNetDev(text));
        }
    }

    @Test
    void netDevWithTabsRunsOfBlanksAndNoFinalNewline() {
        String text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n"
                + "\teth0:\t1 2  3 4 5 6 7 8\t9 10 11 12 13 14 15 16   \n"
                + "  lo:17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32";

        assertThat(NetDev.parseDevices(text)).isEqualTo(oracleNetDev(text)).containsExactly(
                new NetDev.Device("eth0", 1, 2, 3, 4, 9, 10, 11, 12),
                new NetDev.Device("lo", 17, 18, 19, 20, 25, 26, 27, 28));
        assertThatThrownBy(() -> NetDev.parseDevices("  eth0: 1 2 3 4 5 6 7 8 9 10 11\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("short net/dev line");
    }

    @Test
    void blkioOfThisHostsRootCgroupAsTheRegexSplitReadIt() throws Exception {
        String bytes = live("/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes_recursive");
        String ops = live("/sys/fs/cgroup/blkio/blkio.throttle.io_serviced_recursive");

        assertThat(DiskIo.devicesV1(bytes, ops)).isNotEmpty().isEqualTo(oracleV1(bytes, ops));
    }

    @Test
    void blkioLinesThatAreNoDeviceReadOrWriteAreSkipped() {
        String bytes = "8:0 Read 100\n8:0\tWrite   200\n8:0 Sync 300\n8:0:1 Read 7\n:0 Read 7\n8: Read 7\n"
                + "8:0 Read 5 extra\nx8:0 Read 7\n\nTotal 600";
        String ops = "259:0 Read 1\n8:0 Write 2\nTotal 3\n";

        assertThat(DiskIo.devicesV1(bytes, ops)).isEqualTo(oracleV1(bytes, ops)).containsExactly(
                new DiskIo.Device("8:0", 100, 200, 0, 2), new DiskIo.Device("259:0", 0, 0, 1, 0));
    }

    @Test
    void ioStatLinesAsTheRegexSplitReadThem() {
        String text = "254:0 rbytes=594642 wbytes=2195117 rios=10 wios=20 dbytes=0 dios=0\n"
                + "8:16\trbytes=1  wbytes=2 rios=3 wios=4 cost.vrate=100.00 cost.usage=0 =5 rbytesx=9\n"
                + "253:0 cost.wait=0\n\n8:0 rbytes=7";

        assertThat(DiskIo.devicesV2(text)).isEqualTo(oracleV2(text)).containsExactly(
                new DiskIo.Device("254:0", 594642, 2195117, 10, 20), new DiskIo.Device("8:16", 1, 2, 3, 4),
                new DiskIo.Device("8:0", 7, 0, 0, 0));
    }

    @Test
    void pressureOfThisHostAndItsRootCgroupAsTheRegexSplitReadThem() throws Exception {
        for (String file : List.of("/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
                "/sys/fs/cgroup/unified/cpu.pressure", "/sys/fs/cgroup/unified/io.pressure")) {
            String text = live(file);
            assertThat(Pressure.parse(text)).as(file).isEqualTo(oraclePressure(text));
        }
    }

    @Test
    void pressureWithExtraFieldsAndTabs() {
        String text = "some\tavg10=1.53  avg60=0.87 avg300=0.31 total=2117093 future=1\nfull avg10=0 avg60=0 avg300=0 "
                + "total=5";

        assertThat(Pressure.parse(text)).isEqualTo(oraclePressure(text));
        assertThat(Pressure.parse(text).full().orElseThrow().totalUs()).isEqualTo(5);
        assertThatThrownBy(() -> Pressure.parse("some avg10=1 avg60=1 avg300=1 totals=5\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected total=");
        assertThatThrownBy(() -> Pressure.parse("some avg1=1 avg60=1 avg300=1 total=5\n"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void meminfoOfThisHostAsTheRegexSplitReadIt() throws Exception {
        String text = live("/proc/meminfo");

        assertThat(MemInfo.parse(text)).isEqualTo(oracleMemInfo(text));
        assertThat(MemInfo.parse(text).memTotal()).isPositive();
    }

    @Test
    void meminfoEdges() {
        String text = "MemTotal:\t 1000 kB\nHugePages_Total:   4\n: 5 kB\nEmpty:\nWord: many kB\nTrailing: 7 kB x";

        assertThat(MemInfo.parse(text)).isEqualTo(oracleMemInfo(text));
        assertThat(MemInfo.parse(text).fields()).containsOnlyKeys("MemTotal", "HugePages_Total", "Trailing");
    }

    @Test
    void cpuMaxWithBlanksAroundAndTooManyOrTooFewFields() {
        assertThat(CpuQuota.parseV2("max 100000\n")).isEqualTo(new CpuQuota(java.util.OptionalLong.empty(), 100000));
        assertThat(CpuQuota.parseV2("  20000\t 100000  ").quotaUs()).hasValue(20000);
        assertThatThrownBy(() -> CpuQuota.parseV2("20000 100000 1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CpuQuota.parseV2("max\n")).isInstanceOf(IllegalArgumentException.class);
    }

    // --- the replaced implementations, as they were, as oracles ---

    private static List<NetDev.Device> oracleNetDev(String text) {
        List<NetDev.Device> interfaces = new ArrayList<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || line.indexOf('|') >= 0) continue;
            String[] counters = WHITESPACE.split(line.substring(colon + 1).trim());
            long[] c = new long[12];
            for (int i = 0; i < c.length; i++) c[i] = Long.parseLong(counters[i]);
            interfaces.add(new NetDev.Device(line.substring(0, colon).trim(), c[0], c[1], c[2], c[3], c[8], c[9],
                    c[10], c[11]));
        }
        return interfaces;
    }

    private static List<DiskIo.Device> oracleV1(String ioServiceBytes, String ioServiced) {
        Map<String, long[]> byDevice = new LinkedHashMap<>();
        for (int pass = 0; pass < 2; pass++) {
            int offset = pass * 2;
            for (String line : (pass == 0 ? ioServiceBytes : ioServiced).split("\n")) {
                String[] f = WHITESPACE.split(line.trim());
                if (f.length != 3 || !MAJOR_MINOR.matcher(f[0]).matches()) continue;
                int slot = f[1].equals("Read") ? offset : f[1].equals("Write") ? offset + 1 : -1;
                if (slot >= 0) byDevice.computeIfAbsent(f[0], d -> new long[4])[slot] += Long.parseLong(f[2]);
            }
        }
        List<DiskIo.Device> out = new ArrayList<>();
        byDevice.forEach((dev, c) -> out.add(new DiskIo.Device(dev, c[0], c[1], c[2], c[3])));
        return out;
    }

    private static List<DiskIo.Device> oracleV2(String ioStat) {
        List<DiskIo.Device> out = new ArrayList<>();
        List<String> keys = List.of("rbytes", "wbytes", "rios", "wios");
        for (String line : ioStat.split("\n")) {
            String[] f = WHITESPACE.split(line.trim());
            if (f.length < 2 || !MAJOR_MINOR.matcher(f[0]).matches()) continue;
            long[] c = new long[4];
            boolean any = false;
            for (int i = 1; i < f.length; i++) {
                int eq = f[i].indexOf('=');
                if (eq < 0) continue;
                int slot = keys.indexOf(f[i].substring(0, eq));
                if (slot >= 0) {
                    c[slot] = Long.parseLong(f[i].substring(eq + 1));
                    any = true;
                }
            }
            if (any) out.add(new DiskIo.Device(f[0], c[0], c[1], c[2], c[3]));
        }
        return out;
    }

    private static Pressure oraclePressure(String text) {
        Pressure.Line some = null;
        Pressure.Line full = null;
        for (String raw : text.split("\n")) {
            String[] f = WHITESPACE.split(raw.trim());
            if (f.length < 5) continue;
            Pressure.Line line = new Pressure.Line(Double.parseDouble(f[1].substring(6)),
                    Double.parseDouble(f[2].substring(6)), Double.parseDouble(f[3].substring(7)),
                    Long.parseLong(f[4].substring(6)));
            if (f[0].equals("some")) some = line;
            if (f[0].equals("full")) full = line;
        }
        return new Pressure(some, Optional.ofNullable(full));
    }

    private static MemInfo oracleMemInfo(String text) {
        Map<String, Long> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            String name = colon < 0 ? "" : line.substring(0, colon).trim();
            if (name.isEmpty()) continue;
            String[] v = WHITESPACE.split(line.substring(colon + 1).trim());
            if (v.length == 0 || v[0].isEmpty()) continue;
            try {
                long n = Long.parseLong(v[0]);
                fields.put(name, v.length > 1 && v[1].equals("kB") ? n * 1024 : n);
            } catch (NumberFormatException notNumeric) {
                // as the replaced code
            }
        }
        return new MemInfo(fields);
    }
}
