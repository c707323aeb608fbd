package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * An instance's metrics, collected on demand. Each collector's result is cached per (instance, collector) for the
 * collector's TTL; a scrape arriving while a collection is in flight joins it (single-flight), so N concurrent
 * scrapes of one instance cost one collection. A scrape touches only its own instance's entries: its cost does not
 * depend on how many other instances the server runs.
 *
 * <p>A collector that throws or exceeds {@link #COLLECTOR_TIMEOUT} is reported with
 * {@code <name>_metrics_available_boolean 0} and its metrics left out; the failure is cached for the TTL like a
 * success and then retried, forever (never disabled).
 */
public final class InstanceMetrics {

    static final Duration COLLECTOR_TIMEOUT = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(InstanceMetrics.class);

    private final List<Collector> collectors;
    private final Executor workers;
    private final LongSupplier nanoClock;
    private final Duration timeout;
    private final Map<Key, Slot> slots = new ConcurrentHashMap<>();

    private record Key(String uuid, String collector) { }

    /** What one collection produced: its metrics (null when it failed) and how long it took. */
    private record Result(List<MetricSnapshot> metrics, double seconds) { }

    /** The latest collection of one (instance, collector); {@code doneNanos} is set when it completes. */
    private static final class Slot {
        final CompletableFuture<Result> result = new CompletableFuture<>();
        volatile long doneNanos;
    }

    public InstanceMetrics(List<Collector> collectors, Executor workers) {
        this(collectors, workers, System::nanoTime, COLLECTOR_TIMEOUT);
    }

    InstanceMetrics(List<Collector> collectors, Executor workers, LongSupplier nanoClock, Duration timeout) {
        this.collectors = List.copyOf(collectors);
        this.workers = workers;
        this.nanoClock = nanoClock;
        this.timeout = timeout;
    }

    /**
     * The baseline collectors and the detail ones beyond it (memory detail, TCP, disk, processes, pressure), reading this host's kernel through {@code cgroups} and {@code proc}. {@code background}
     * runs the load sampler (every 5 s) and the filesystem walks (one at a time): give it two threads so a long walk
     * never delays a load sample.
     */
    public static List<Collector> standardCollectors(CgroupFiles cgroups, ProcFiles proc,
                                                     ScheduledExecutorService background) {
        return standardCollectors(cgroups, proc, BlockDevices.host(), background);
    }

    /** As above, with block device names from {@code devices} (a fixture tree's {@code sys/dev/block}). */
    public static List<Collector> standardCollectors(CgroupFiles cgroups, ProcFiles proc, BlockDevices devices,
                                                     ScheduledExecutorService background) {
        Duration counters = Duration.ofSeconds(1);
        return List.of(
                new CpuCollector(cgroups, counters),
                new MemoryCollector(cgroups, proc, counters),
                new NetworkCollector(cgroups, proc, counters),
                new MemoryDetailCollector(cgroups, counters),
                new TcpCollector(cgroups, proc, counters),
                new DiskCollector(cgroups, devices, counters),
                new ProcessesCollector(cgroups, proc, counters),
                new PressureCollector(cgroups, counters),
                new LoadCollector(cgroups, proc, background),
                new FilesystemCollector(background, Duration.ofSeconds(10)),
                new TimeCollector(Clock.systemUTC()));
    }

    public List<Collector> collectors() {
        return collectors;
    }

    /** All collectors' metrics plus the meta metrics; completes normally whatever the collectors do. */
    public CompletableFuture<MetricSnapshots> collect(Instance instance) {
        List<CompletableFuture<Result>> results = new ArrayList<>(collectors.size());
        boolean[] cached = new boolean[collectors.size()];
        for (int i = 0; i < collectors.size(); i++) {
            Slot slot = slotFor(collectors.get(i), instance, cached, i);
            results.add(slot.result);
        }
        // one timer per scrape, not per collector; a collector still running then is reported unavailable, and its
        // shared collection goes on for the next scrape
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .completeOnTimeout(null, timeout.toMillis(), TimeUnit.MILLISECONDS)
                .thenApply(ignored -> {
                    MetricSnapshots.Builder out = MetricSnapshots.builder();
                    for (int i = 0; i < results.size(); i++) {
                        Result result = results.get(i).getNow(new Result(null, timeout.toNanos() / 1e9));
                        for (MetricSnapshot snapshot : withMeta(collectors.get(i).name(), result, cached[i])) {
                            out.metricSnapshot(snapshot);
                        }
                    }
                    return out.build();
                });
    }

    /** Drop the cached results and background state of a removed instance. */
    public void forget(String uuid) {
        for (Collector collector : collectors) {
            slots.remove(new Key(uuid, collector.name()));
            collector.forget(uuid);
        }
    }

    /**
     * The collection a scrape should use: a completed one within the TTL (marked in {@code cached}), one in flight
     * that another scrape started, or a new one this scrape starts.
     */
    private Slot slotFor(Collector collector, Instance instance, boolean[] cached, int index) {
        Key key = new Key(instance.uuid(), collector.name());
        long now = nanoClock.getAsLong();
        Slot[] started = new Slot[1];
        Slot slot = slots.compute(key, (k, current) -> {
            if (current != null && (!current.result.isDone() || now - current.doneNanos < collector.ttl().toNanos())) {
                return current;
            }
            started[0] = new Slot();
            return started[0];
        });
        if (started[0] != null) {
            run(collector, instance, started[0]);
        } else {
            cached[index] = slot.result.isDone();
        }
        return slot;
    }

    private void run(Collector collector, Instance instance, Slot slot) {
        Runnable task = () -> {
            long start = System.nanoTime();
            List<MetricSnapshot> metrics = null;
            try {
                metrics = List.copyOf(collector.collect(instance));
            } catch (Throwable e) {
                log.debug("collector {} failed for {}: {}", collector.name(), instance.uuid(), e.toString());
            }
            slot.doneNanos = nanoClock.getAsLong();
            slot.result.complete(new Result(metrics, (System.nanoTime() - start) / 1e9));
        };
        try {
            workers.execute(task);
        } catch (RuntimeException rejected) {
            // a saturated pool is a failed collection, retried after the TTL like any other
            log.warn("collector {} for {} not started: {}", collector.name(), instance.uuid(), rejected.toString());
            slot.doneNanos = nanoClock.getAsLong();
            slot.result.complete(new Result(null, 0));
        }
    }

    private static MetricSnapshot[] withMeta(String name, Result result, boolean cached) {
        boolean available = result.metrics() != null;
        List<MetricSnapshot> out = new ArrayList<>(available ? result.metrics().size() + 3 : 3);
        if (available) {
            out.addAll(result.metrics());
        }
        out.add(Metrics.gauge(name + "_metrics_available_boolean",
                "1 when the " + name + " collector produced its metrics", available ? 1 : 0));
        out.add(Metrics.gauge(name + "_metrics_cached_boolean",
                "1 when the " + name + " metrics come from the collector's cache", cached ? 1 : 0));
        out.add(Metrics.gauge(name + "_metrics_timer_seconds",
                "seconds the " + name + " collection that produced these values took", result.seconds()));
        return out.toArray(MetricSnapshot[]::new);
    }
}
