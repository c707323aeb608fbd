package io.cmon.agent.collect.gz;

import io.cmon.agent.collect.KernelFile;
import io.cmon.agent.collect.MemInfo;
import io.cmon.agent.collect.NetDev;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Server ("global zone") metrics with node_exporter's names, read from {@code /proc} when asked, plus the counts of
 * instances by state and the agent's own health. {@link #collect()} blocks on file reads: worker pool only.
 * Filesystems are statfs'ed with a deadline (see {@link FilesystemStats}); ZFS ARC statistics appear when
 * {@code /proc/spl/kstat/zfs/arcstats} exists. Each source file is a part on its own ({@code node_scrape_collector_success{collector}}, as node_exporter does):
 * one unreadable file drops only its own metrics.
 */
public final class GzMetrics {

    /** The meminfo fields exported as {@code node_memory_<field>_bytes}. */
    static final List<String> MEMINFO_FIELDS =
            List.of("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree");

    /** How long the filesystem part waits for statfs of all mounts together. */
    static final Duration STATFS_TIMEOUT = Duration.ofSeconds(1);

    static final String ARCSTATS = "spl/kstat/zfs/arcstats";

    /** arcstats fields exported as gauges (bytes) and as counters ({@code _total}). */
    static final List<String> ARC_GAUGES = List.of("size", "c", "c_min", "c_max", "data_size", "metadata_size");
    static final List<String> ARC_COUNTERS = List.of("hits", "misses");

    private final Path proc;
    private final FilesystemStats filesystems;
    private final Clock clock;
    private final Supplier<Map<String, Long>> instancesByState;
    private final String version;
    private final double startTimeSeconds;
    private final GzExclusions exclusions;
    private final Executor refresher;
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private volatile MonitoredMounts mounts;

    /** The monitored mounts and when the mount table was read for them. */
    private record MonitoredMounts(List<Mounts.Mount> list, long readAtMillis) { }

    /**
     * How old the monitored mount list may get. The mount table has a few lines per container (overlay, shm, netns)
     * and is the one file of the server view whose size follows the number of containers: it is read here, off the
     * scrape, at most this often, so a scrape's cost does not depend on the number of containers. A filesystem
     * mounted or unmounted on the host shows up or goes within this time.
     */
    static final Duration MOUNTS_TTL = Duration.ofSeconds(30);
    private final Timex.Source timex;
    private final Supplier<CompletableFuture<MetricSnapshots>> plugins;

    /**
     * @param proc             where procfs is mounted ({@code /proc}; a fixture directory in tests)
     * @param instancesByState current instance counts by state, from the inventory
     * @param version          the agent's version for {@code cmon_agent_build_info}
     */
    public GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version) {
        this(proc, clock, instancesByState, version, GzExclusions.DEFAULT, NO_PLUGINS);
    }

    /** @param exclusions the mounts and network devices left out (agent.yaml {@code gz:}) */
    public GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
                     GzExclusions exclusions) {
        this(proc, clock, instancesByState, version, exclusions, NO_PLUGINS);
    }

    /**
     * @param exclusions the mounts and network devices left out (agent.yaml {@code gz:})
     * @param plugins    the server plugins' metrics (gz plugins), collected alongside on their own pool; must
     *                   complete normally
     */
    public GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
                     GzExclusions exclusions, Supplier<CompletableFuture<MetricSnapshots>> plugins) {
        this(proc, clock, instancesByState, version, exclusions, plugins, statfsThreads());
    }

    private GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
                      GzExclusions exclusions, Supplier<CompletableFuture<MetricSnapshots>> plugins,
                      ExecutorService threads) {
        this(proc, clock, instancesByState, version, new FilesystemStats(threads, STATFS_TIMEOUT,
                new FilesystemStats.HostStatfs(STATFS_TIMEOUT)), exclusions, threads, new Timex.Kernel(), plugins);
    }

    GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
              FilesystemStats filesystems) {
        this(proc, clock, instancesByState, version, filesystems, GzExclusions.DEFAULT, Runnable::run);
    }

    /** @param refresher where the mount table is re-read once it is {@link #MOUNTS_TTL} old */
    GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
              FilesystemStats filesystems, GzExclusions exclusions, Executor refresher) {
        this(proc, clock, instancesByState, version, filesystems, exclusions, refresher, new Timex.Kernel(),
                NO_PLUGINS);
    }

    GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
              FilesystemStats filesystems, Timex.Source timex, Supplier<CompletableFuture<MetricSnapshots>> plugins) {
        this(proc, clock, instancesByState, version, filesystems, GzExclusions.DEFAULT, Runnable::run, timex,
                plugins);
    }

    GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version,
              FilesystemStats filesystems, GzExclusions exclusions, Executor refresher, Timex.Source timex,
              Supplier<CompletableFuture<MetricSnapshots>> plugins) {
        this.exclusions = exclusions;
        this.refresher = refresher;
        this.timex = timex;
        this.plugins = plugins;
        this.proc = proc;
        this.filesystems = filesystems;
        this.clock = clock;
        this.instancesByState = instancesByState;
        this.version = version;
        this.startTimeSeconds = clock.millis() / 1000.0;
    }

    private static final Supplier<CompletableFuture<MetricSnapshots>> NO_PLUGINS =
            () -> CompletableFuture.completedFuture(new MetricSnapshots(List.of()));

    /**
     * {@link #collect()} on {@code workers} with the gz plugins' metrics, which run on their own pool meanwhile;
     * completes when both have (the plugins within their timeouts).
     */
    public CompletableFuture<MetricSnapshots> collectAsync(Executor workers) {
        CompletableFuture<MetricSnapshots> fromPlugins = plugins.get();
        return CompletableFuture.supplyAsync(this::collect, workers).thenCombine(fromPlugins, (own, extra) -> {
            if (extra.size() == 0) return own;
            List<MetricSnapshot> all = new ArrayList<>(own.size() + extra.size());
            own.forEach(all::add);
            extra.forEach(all::add);
            return new MetricSnapshots(all);
        });
    }

    public MetricSnapshots collect() {
        List<MetricSnapshot> out = new ArrayList<>();
        Map<String, Boolean> success = new TreeMap<>();
        success.put("cpu", part(out, () -> cpu(ProcStat.parse(read("stat")))));
        success.put("loadavg", part(out, () -> load(LoadAvg.parse(read("loadavg")))));
        success.put("meminfo", part(out, () -> memory(MemInfo.parse(read("meminfo")))));
        success.put("filesystem", part(out, () -> filesystems(filesystems.stat(monitoredMounts()))));
        success.put("netdev", part(out, () -> network(NetDev.parseDevices(read("net/dev")).stream()
                .filter(d -> !exclusions.excludesDevice(d.name())).toList())));
        success.put("timex", part(out, () -> timex(timex.read())));
        if (Files.exists(proc.resolve(ARCSTATS))) {
            success.put("zfs", part(out, () -> arc(ArcStats.parse(read(ARCSTATS)))));
        }
        out.add(gauge("node_time_seconds", "System time in seconds since epoch (1970).", clock.millis() / 1000.0));
        out.add(gauge("node_scrape_collector_success", "Whether a part of the server metrics succeeded.",
                success.entrySet().stream().map(e -> GaugeDataPointSnapshot.builder()
                        .labels(Labels.of("collector", e.getKey())).value(e.getValue() ? 1 : 0).build()).toList()));
        out.add(instances());
        out.add(gauge("cmon_agent_up", "1 while the agent answers.", 1));
        out.add(gauge("cmon_agent_start_time_seconds", "When the agent started, seconds since epoch.",
                startTimeSeconds));
        out.add(InfoSnapshot.builder().name("cmon_agent_build").help("The agent's version.")
                .dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder()
                        .labels(Labels.of("version", version)).build()).build());
        return new MetricSnapshots(out);
    }

    /**
     * The mounts to statfs: read at the first scrape; afterwards the list in hand is used and, once it is
     * {@link #MOUNTS_TTL} old, re-read by the refresher (one at a time) for the scrapes after.
     */
    private List<Mounts.Mount> monitoredMounts() throws IOException {
        MonitoredMounts known = mounts;
        if (known == null) {
            known = readMounts();
            mounts = known;
            return known.list();
        }
        if (clock.millis() - known.readAtMillis() >= MOUNTS_TTL.toMillis() && refreshing.compareAndSet(false, true)) {
            try {
                refresher.execute(() -> {
                    try {
                        mounts = readMounts();
                    } catch (IOException | RuntimeException e) {
                        // keep the list in hand; the next scrape tries again
                    } finally {
                        refreshing.set(false);
                    }
                });
            } catch (RuntimeException rejected) {
                refreshing.set(false);
            }
        }
        return mounts.list();
    }

    private MonitoredMounts readMounts() throws IOException {
        long at = clock.millis();
        return new MonitoredMounts(Mounts.monitored(Mounts.parse(read("self/mountinfo")), exclusions), at);
    }

    /**
     * statfs runs here, not on the collection pool: a hung mount keeps its thread until the kernel lets go, and
     * must not take a collection worker with it.
     */
    private static ExecutorService statfsThreads() {
        // idle threads end after 5 s, not the cached pool's 60: a gz scrape statfs-es every mount at once, one thread
        // each, and with scrapes 7-15 s apart the 60 s kept them all alive for good (six of the realistic run's ~38
        // threads; docs/PERFORMANCE.md). Starting them again costs microseconds per scrape.
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 5, TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
            Thread t = new Thread(task, "cmon-statfs");
            t.setDaemon(true);
            return t;
        });
    }

    private interface Part {
        List<MetricSnapshot> get() throws IOException;
    }

    private static boolean part(List<MetricSnapshot> out, Part part) {
        try {
            out.addAll(part.get());
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private String read(String file) throws IOException {
        Path path = proc.resolve(file);
        return KernelFile.read(path).orElseThrow(() -> new java.nio.file.NoSuchFileException(path.toString()));
    }

    static List<MetricSnapshot> cpu(ProcStat stat) {
        CounterSnapshot.Builder cpu = CounterSnapshot.builder().name("node_cpu_seconds")
                .help("Seconds the CPUs spent in each mode.");
        for (ProcStat.Cpu c : stat.cpus()) {
            for (int i = 0; i < ProcStat.MODES.size(); i++) {
                cpu.dataPoint(CounterDataPointSnapshot.builder()
                        .labels(Labels.of("cpu", c.cpu(), "mode", ProcStat.MODES.get(i)))
                        .value(c.seconds()[i]).build());
            }
        }
        List<MetricSnapshot> out = new ArrayList<>(List.of(cpu.build()));
        if (stat.bootTime() > 0) {
            out.add(gauge("node_boot_time_seconds", "Node boot time, in unixtime.", stat.bootTime()));
        }
        return out;
    }

    static List<MetricSnapshot> load(LoadAvg l) {
        return List.of(gauge("node_load1", "1m load average.", l.load1()),
                gauge("node_load5", "5m load average.", l.load5()),
                gauge("node_load15", "15m load average.", l.load15()));
    }

    static List<MetricSnapshot> memory(MemInfo m) {
        List<MetricSnapshot> out = new ArrayList<>();
        for (String field : MEMINFO_FIELDS) {
            long bytes = m.bytes(field);
            if (bytes >= 0) {
                out.add(gauge("node_memory_" + field + "_bytes", "Memory information field " + field + "_bytes.",
                        bytes));
            }
        }
        return out;
    }

    static List<MetricSnapshot> filesystems(List<FilesystemStats.Outcome> outcomes) {
        GaugeSnapshot.Builder size = GaugeSnapshot.builder().name("node_filesystem_size_bytes")
                .help("Filesystem size in bytes.");
        GaugeSnapshot.Builder free = GaugeSnapshot.builder().name("node_filesystem_free_bytes")
                .help("Filesystem free space in bytes.");
        GaugeSnapshot.Builder avail = GaugeSnapshot.builder().name("node_filesystem_avail_bytes")
                .help("Filesystem space available to non-root users in bytes.");
        GaugeSnapshot.Builder files = GaugeSnapshot.builder().name("node_filesystem_files")
                .help("Filesystem total file nodes.");
        GaugeSnapshot.Builder filesFree = GaugeSnapshot.builder().name("node_filesystem_files_free")
                .help("Filesystem total free file nodes.");
        GaugeSnapshot.Builder error = GaugeSnapshot.builder().name("node_filesystem_device_error")
                .help("Whether an error occurred while getting statistics for the given device "
                        + "(statfs failed or did not answer in time).");
        for (FilesystemStats.Outcome o : outcomes) {
            Labels labels = Labels.of("device", o.mount().device(), "fstype", o.mount().fstype(),
                    "mountpoint", o.mount().mountpoint());
            error.dataPoint(point(labels, o.usage() == null ? 1 : 0));
            if (o.usage() == null) {
                continue;
            }
            size.dataPoint(point(labels, o.usage().size()));
            free.dataPoint(point(labels, o.usage().free()));
            avail.dataPoint(point(labels, o.usage().avail()));
            if (o.usage().files() >= 0) {
                files.dataPoint(point(labels, o.usage().files()));
                filesFree.dataPoint(point(labels, o.usage().filesFree()));
            }
        }
        return List.of(size.build(), free.build(), avail.build(), files.build(), filesFree.build(), error.build());
    }

    static List<MetricSnapshot> network(List<NetDev.Device> devices) {
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(netCounter("receive_bytes", "bytes received", devices, NetDev.Device::rxBytes));
        out.add(netCounter("receive_packets", "packets received", devices, NetDev.Device::rxPackets));
        out.add(netCounter("receive_errs", "receive errors", devices, NetDev.Device::rxErrs));
        out.add(netCounter("receive_drop", "received packets dropped", devices, NetDev.Device::rxDrop));
        out.add(netCounter("transmit_bytes", "bytes transmitted", devices, NetDev.Device::txBytes));
        out.add(netCounter("transmit_packets", "packets transmitted", devices, NetDev.Device::txPackets));
        out.add(netCounter("transmit_errs", "transmit errors", devices, NetDev.Device::txErrs));
        out.add(netCounter("transmit_drop", "transmitted packets dropped", devices, NetDev.Device::txDrop));
        return out;
    }

    private static CounterSnapshot netCounter(String stat, String what, List<NetDev.Device> devices,
                                              ToLongFunction<NetDev.Device> value) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name("node_network_" + stat)
                .help("Network device statistic " + stat + " (" + what + ").");
        for (NetDev.Device d : devices) {
            b.dataPoint(CounterDataPointSnapshot.builder().labels(Labels.of("device", d.name()))
                    .value(value.applyAsLong(d)).build());
        }
        return b.build();
    }

    /** node_exporter's {@code timex} set, from one {@code adjtimex} read. */
    static List<MetricSnapshot> timex(Timex t) {
        return List.of(
                gauge("node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
                        t.synchronised() ? 1 : 0),
                gauge("node_timex_offset_seconds", "Time offset in between local system and reference clock.",
                        t.offsetSeconds()),
                gauge("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.",
                        t.frequencyAdjustmentRatio()),
                gauge("node_timex_maxerror_seconds", "Maximum error in seconds.", t.maxerror() / 1e6),
                gauge("node_timex_estimated_error_seconds", "Estimated error in seconds.", t.esterror() / 1e6),
                gauge("node_timex_status", "Value of the status array bits.", t.status()),
                gauge("node_timex_loop_time_constant", "Phase-locked loop time constant.", t.constant()),
                gauge("node_timex_tick_seconds", "Seconds between clock ticks.", t.tick() / 1e6),
                gauge("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.", t.tai()));
    }

    static List<MetricSnapshot> arc(ArcStats a) {
        List<MetricSnapshot> out = new ArrayList<>();
        for (String gauge : ARC_GAUGES) {
            if (a.get(gauge) >= 0) {
                out.add(gauge("node_zfs_arc_" + gauge, "ZFS ARC statistic " + gauge + " (bytes).", a.get(gauge)));
            }
        }
        for (String counter : ARC_COUNTERS) {
            if (a.get(counter) >= 0) {
                out.add(CounterSnapshot.builder().name("node_zfs_arc_" + counter)
                        .help("ZFS ARC statistic " + counter + ".")
                        .dataPoint(CounterDataPointSnapshot.builder().value(a.get(counter)).build()).build());
            }
        }
        return out;
    }

    private static GaugeDataPointSnapshot point(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    private MetricSnapshot instances() {
        Map<String, Long> counts = new TreeMap<>(instancesByState.get());
        counts.putIfAbsent("running", 0L); // a series that exists at zero, rather than none, for alerts and graphs
        return gauge("cmon_instances", "Instances known to the agent, by state.",
                counts.entrySet().stream().map(e -> GaugeDataPointSnapshot.builder()
                        .labels(Labels.of("state", e.getKey())).value(e.getValue()).build()).toList());
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return gauge(name, help, List.of(GaugeDataPointSnapshot.builder().value(value).build()));
    }

    private static GaugeSnapshot gauge(String name, String help, List<GaugeDataPointSnapshot> points) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        points.forEach(b::dataPoint);
        return b.build();
    }
}
