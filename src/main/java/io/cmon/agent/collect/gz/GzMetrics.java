package io.cmon.agent.collect.gz;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Server ("global zone") metrics with node_exporter's names, read from {@code /proc} when asked, plus the counts of
 * instances by state and the agent's own health. {@link #collect()} blocks on file reads: worker pool only.
 * Each source file is a part on its own ({@code node_scrape_collector_success{collector}}, as node_exporter does):
 * one unreadable file drops only its own metrics.
 */
public final class GzMetrics {

    /** The meminfo fields exported as {@code node_memory_<field>_bytes}. */
    static final List<String> MEMINFO_FIELDS =
            List.of("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree");

    private final Path proc;
    private final Clock clock;
    private final Supplier<Map<String, Long>> instancesByState;
    private final String version;
    private final double startTimeSeconds;

    /**
     * @param proc             where procfs is mounted ({@code /proc}; a fixture directory in tests)
     * @param instancesByState current instance counts by state, from the inventory
     * @param version          the agent's version for {@code cmon_agent_build_info}
     */
    public GzMetrics(Path proc, Clock clock, Supplier<Map<String, Long>> instancesByState, String version) {
        this.proc = proc;
        this.clock = clock;
        this.instancesByState = instancesByState;
        this.version = version;
        this.startTimeSeconds = clock.millis() / 1000.0;
    }

    public MetricSnapshots collect() {
        List<MetricSnapshot> out = new ArrayList<>();
        Map<String, Boolean> success = new TreeMap<>();
        success.put("cpu", part(out, () -> cpu(ProcStat.parse(read("stat")))));
        success.put("loadavg", part(out, () -> load(LoadAvg.parse(read("loadavg")))));
        success.put("meminfo", part(out, () -> memory(MemInfo.parse(read("meminfo")))));
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
        return Files.readString(proc.resolve(file));
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
