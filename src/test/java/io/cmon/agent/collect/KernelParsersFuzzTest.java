package io.cmon.agent.collect;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cmon.agent.collect.gz.ArcStats;
import io.cmon.agent.collect.gz.LoadAvg;
import io.cmon.agent.collect.gz.Mounts;
import io.cmon.agent.collect.gz.ProcStat;
import io.cmon.agent.runtime.Instance;
import io.cmon.testing.FuzzInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static io.cmon.testing.FuzzInput.onlyThrows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every parser of kernel text in {@code agent.collect} and {@code agent.collect.gz} on arbitrary bytes: it returns
 * (values, possibly partial) or throws {@link IllegalArgumentException} (with {@link NumberFormatException}), which
 * the collector reports as {@code *_metrics_available_boolean 0}. Anything else is a bug. The first byte of an
 * input picks the parser (see {@link #PARSERS}); the seeds are the captured fixtures.
 */
class KernelParsersFuzzTest {

    /** Parsers in selector order; seeds name their parser by this index. */
    static final List<String> PARSERS = List.of("KeyedValues", "CpuStat.v1(acct)", "CpuStat.v1(usage)", "CpuStat.v2",
            "CpuQuota.v1", "CpuQuota.v2", "MemoryStat.v1", "MemoryStat.v2", "MemoryDetail.v1", "MemoryDetail.v2",
            "MemInfo", "Pressure", "NetDev", "SnmpCounters", "TcpStats", "TaskState", "DiskIo.v1", "DiskIo.v2", "Pids",
            "CgroupMounts", "CgroupFiles(/proc/<pid>/cgroup)", "gz.ArcStats", "gz.LoadAvg", "gz.Mounts",
            "gz.ProcStat");

    private static final MemInfo HOST = MemInfo.of(8L << 30, 2L << 30);
    private static final Instance PID_1 = new Instance("0f0e0d0c-0b0a-0908-0706-050403020100", "a", null, null,
            "docker", List.of(), "running", 1, null, null, "fuzz");
    private static Path proc;

    @BeforeAll
    static void procRoot() throws IOException {
        proc = Files.createTempDirectory("cmon-fuzz-proc");
        Files.createDirectories(proc.resolve("1"));
    }

    @AfterAll
    static void removeProcRoot() throws IOException {
        try (Stream<Path> files = Files.walk(proc)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void kernelFiles(byte[] data) throws IOException {
        FuzzInput in = FuzzInput.of(data, PARSERS.size(), 5);
        String a = in.part(0);
        String b = in.part(1);
        switch (in.selector()) {
            case 0 -> assertThat(KeyedValues.parse(a).values().keySet())
                    .allSatisfy(k -> assertThat(k).isNotEmpty().doesNotContain(" ", "\n", "\t"));
            case 1 -> refusedOrParsed(() -> CpuStat.parseV1(a, in.partOrNull(1)));
            case 2 -> refusedOrParsed(() -> CpuStat.parseV1(a, b, in.partOrNull(2)));
            case 3 -> refusedOrParsed(() -> CpuStat.parseV2(a, in.partOrNull(1)));
            case 4 -> refusedOrParsed(() -> {
                CpuQuota q = CpuQuota.parseV1(a, b);
                assertThat(q.periodUs()).isPositive();
                q.quotaUs().ifPresent(us -> assertThat(us).isPositive());
            });
            case 5 -> refusedOrParsed(() -> {
                CpuQuota q = CpuQuota.parseV2(a);
                assertThat(q.periodUs()).isPositive();
                q.quotaUs().ifPresent(us -> assertThat(us).isPositive());
            });
            case 6 -> refusedOrParsed(() -> MemoryStat.parseV1(a, b, in.partOrNull(2), in.partOrNull(3), HOST));
            case 7 -> refusedOrParsed(() -> MemoryStat.parseV2(a, b, in.partOrNull(2), in.partOrNull(3), HOST));
            case 8 -> refusedOrParsed(() -> MemoryDetail.parseV1(a, in.partOrNull(1), in.partOrNull(2),
                    in.partOrNull(3), in.partOrNull(4)));
            case 9 -> refusedOrParsed(() -> MemoryDetail.parseV2(a, in.partOrNull(1), in.partOrNull(2)));
            case 10 -> assertThat(MemInfo.parse(a).fields()).doesNotContainKey("");
            case 11 -> refusedOrParsed(() -> assertThat(Pressure.parse(a).some()).isNotNull());
            case 12 -> refusedOrParsed(() -> {
                NetDev.parse(a);
                NetDev.parseDevices(a);
            });
            case 13 -> refusedOrParsed(() -> SnmpCounters.parse(a));
            case 14 -> refusedOrParsed(() -> TcpStats.parse(a, in.partOrNull(1)));
            case 15 -> refusedOrParsed(() -> TaskState.countsForLoad(TaskState.parse(a)));
            case 16 -> refusedOrParsed(() -> DiskIo.parseV1(a, b));
            case 17 -> refusedOrParsed(() -> DiskIo.parseV2(a));
            case 18 -> refusedOrParsed(() -> assertThat(Pids.parse(a, b, 4_194_304).limit())
                    .isLessThanOrEqualTo(4_194_304));
            case 19 -> refusedOrParsed(() -> {
                CgroupMounts moved = CgroupMounts.parse(a).under(Path.of("/host"));
                moved.v1().values().forEach(m -> m.dir(b));
                moved.unified().ifPresent(m -> m.dir(b));
            });
            case 20 -> {
                // /proc/<pid>/cgroup as CgroupFiles.resolve reads it, against the mounts of the second part
                Files.writeString(proc.resolve("1/cgroup"), b);
                onlyThrows(() -> new CgroupFiles(proc, CgroupMounts.parse(a)).resolve(PID_1),
                        IllegalArgumentException.class, IOException.class);
            }
            case 21 -> refusedOrParsed(() -> ArcStats.parse(a));
            case 22 -> refusedOrParsed(() -> LoadAvg.parse(a));
            case 23 -> refusedOrParsed(() -> Mounts.monitored(Mounts.parse(a)));
            default -> refusedOrParsed(() -> ProcStat.parse(a));
        }
    }

    private static void refusedOrParsed(FuzzInput.Call parse) {
        onlyThrows(parse, IllegalArgumentException.class);
    }
}
