package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One instance's collection against this host's kernel: a v1 cgroup created for the run (cpu, cpuacct, memory, pids, blkio)
 * holding a sleeping process, declared by pid. The TTL cache is defeated (a clock that jumps an hour per call), so
 * every invocation does the real reads and parsing of every collector; the worker "pool" runs inline, so the figure
 * is the CPU cost of one scrape's collection on one thread. Parser-only benchmarks use captured kernel text.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class InstanceCollectionBenchmark {

    /** "unified": the cgroup also in the hybrid host's cgroup2 tree, as Docker places it, so PSI is read as there. */
    private static final List<String> CONTROLLERS = List.of("cpu", "cpuacct", "memory", "pids", "blkio", "unified");
    private static final Path CGROUPS = Path.of("/sys/fs/cgroup");

    private static final String CPU_STAT_V2 = "usage_usec 30741204\nuser_usec 24108811\nsystem_usec 6632393\n"
            + "core_sched.force_idle_usec 0\nnr_periods 15220\nnr_throttled 311\nthrottled_usec 4018734\n"
            + "nr_bursts 0\nburst_usec 0\n";
    private static final String CPU_PRESSURE = "some avg10=1.53 avg60=0.87 avg300=0.31 total=2117093\n"
            + "full avg10=0.00 avg60=0.00 avg300=0.00 total=1022391\n";
    private static final String CPU_STAT_V1 = "nr_periods 87\nnr_throttled 84\nthrottled_time 6632871626\n"
            + "nr_bursts 0\nburst_time 0\n";
    private static final String NET_DEV = "Inter-|   Receive                                                |  Transmit\n"
            + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
            + "    lo:   52040     412    0    0    0     0          0         0    52040     412    0    0    0     0       0          0\n"
            + "  eth0: 8839222   6113    0    0    0     0          0         0   310428    4120    0    0    0     0       0          0\n";
    private static final MemInfo HOST = MemInfo.of(24_684_096L * 1024, 0);

    private final String cgroup = "cmon-bench-" + UUID.randomUUID().toString().substring(0, 8);
    private Process sleeper;
    private Path layer;
    private ScheduledExecutorService background;
    private InstanceMetrics metrics;
    private List<Collector> collectors;
    private LoadCollector load;
    private Instance instance;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        try {
            create();
        } catch (Exception | Error e) {
            tearDown(); // JMH skips @TearDown when @Setup fails: the cgroup must not outlive the run
            throw e;
        }
    }

    private void create() throws Exception {
        for (String controller : CONTROLLERS) {
            Files.createDirectory(CGROUPS.resolve(controller).resolve(cgroup));
        }
        Files.writeString(CGROUPS.resolve("memory").resolve(cgroup).resolve("memory.limit_in_bytes"), "67108864");
        sleeper = new ProcessBuilder("sleep", "3600").start();
        for (String controller : CONTROLLERS) {
            Files.writeString(CGROUPS.resolve(controller).resolve(cgroup).resolve("cgroup.procs"),
                    Long.toString(sleeper.pid()));
        }
        layer = Files.createTempDirectory("cmon-bench-layer");
        Files.write(layer.resolve("file"), new byte[4096]);
        instance = new Instance(UUID.randomUUID().toString(), "bench", null, null, "lxc", List.of(), "running",
                sleeper.pid(), null, layer.toString(), "bench");

        CgroupFiles cgroups = CgroupFiles.detect(Path.of("/proc"));
        ProcFiles proc = new ProcFiles(Path.of("/proc"));
        background = Executors.newScheduledThreadPool(2);
        collectors = InstanceMetrics.standardCollectors(cgroups, proc, background);
        load = new LoadCollector(cgroups, proc, null);
        AtomicLong clock = new AtomicLong();
        metrics = new InstanceMetrics(collectors, Runnable::run, () -> clock.addAndGet(Duration.ofHours(1).toNanos()),
                Duration.ofSeconds(5));
        metrics.collect(instance).get(); // first filesystem walk
        Thread.sleep(300);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (background != null) {
            background.shutdownNow();
        }
        if (sleeper != null) {
            sleeper.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (String controller : CONTROLLERS) {
            Path dir = CGROUPS.resolve(controller).resolve(cgroup);
            for (int i = 0; i < 50 && Files.exists(dir); i++) {
                try {
                    Files.delete(dir);
                } catch (IOException busy) {
                    Thread.sleep(100);
                }
            }
        }
        if (layer != null) {
            Files.deleteIfExists(layer.resolve("file"));
            Files.deleteIfExists(layer);
        }
    }

    /** Every collector's reads and parsing plus the meta metrics: what one uncached scrape costs the agent. */
    @Benchmark
    public MetricSnapshots fullCollection() throws Exception {
        return metrics.collect(instance).get();
    }

    /** The same, and the text exposition (0.0.4) written by client_java. */
    @Benchmark
    public int fullCollectionAndTextExposition() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        PrometheusTextFormatWriter.create().write(out, metrics.collect(instance).get());
        return out.size();
    }

    @State(Scope.Benchmark)
    public static class Pick {
        @org.openjdk.jmh.annotations.Param({"cpu", "mem", "net", "mem_detail", "tcp", "disk", "processes", "pressure",
                "load", "fs", "time"})
        public String collector;
    }

    /** One collector alone, called directly (no cache, no meta metrics): where the time of a collection goes. */
    @Benchmark
    public Object oneCollector(Pick pick) throws Exception {
        for (Collector c : collectors) {
            if (c.name().equals(pick.collector)) {
                return c.collect(instance);
            }
        }
        throw new IllegalArgumentException(pick.collector);
    }

    /** The load sampler's work for this instance every 5 s (off the request path). */
    @Benchmark
    public int loadSample() throws Exception {
        return load.runnable(instance);
    }

    @Benchmark
    public Object parseCpuV2() {
        return CpuStat.parseV2(CPU_STAT_V2, CPU_PRESSURE);
    }

    @Benchmark
    public Object parseCpuV1() {
        return CpuStat.parseV1("1959605222\n", "19912741\n", CPU_STAT_V1);
    }

    @Benchmark
    public Object parseMemoryV1() {
        return MemoryStat.parseV1("663552\n", "67108864\n", "663552\n", "134217728\n", HOST);
    }

    @Benchmark
    public Object parseNetDev() {
        return NetDev.parse(NET_DEV);
    }
}
