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
import java.util.concurrent.atomic.AtomicLong;
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
    /** How often expired results are dropped; about the shortest TTL, so they do not outlive it by much more. */
    static final long SWEEP_EVERY_NANOS = 1_000_000_000L;

    private static final Logger log = LoggerFactory.getLogger(InstanceMetrics.class);

    private final List<Collector> collectors;
    private final Executor workers;
    private final LongSupplier nanoClock;
    private final Duration timeout;
    private final Map<Key, Slot> slots = new ConcurrentHashMap<>();
    private final Meta[] meta;
    /** When the next scrape drops expired results (see {@link #sweepIfDue}). */
    private final AtomicLong nextSweepNanos;

    private record Key(String uuid, String collector) { }

    /** What one collection produced: its metrics (null when it failed) and how long it took. */
    private record Result(List<MetricSnapshot> metrics, double seconds) { }

    /** The latest collection of one (instance, collector); {@code doneNanos} is set when it completes. */
    private static final class Slot {
        final CompletableFuture<Result> result = new CompletableFuture<>();
        final long ttlNanos;
        volatile long doneNanos;

        Slot(long ttlNanos) {
            this.ttlNanos = ttlNanos;
        }
    }

    public InstanceMetrics(List<Collector> collectors, Executor workers) {
        this(collectors, workers, System::nanoTime, COLLECTOR_TIMEOUT);
    }

    InstanceMetrics(List<Collector> collectors, Executor workers, LongSupplier nanoClock, Duration timeout) {
        this.collectors = List.copyOf(collectors);
        this.workers = workers;
        this.nanoClock = nanoClock;
        this.timeout = timeout;
        this.meta = this.collectors.stream().map(c -> Meta.of(c.name())).toArray(Meta[]::new);
        this.nextSweepNanos = new AtomicLong(nanoClock.getAsLong() + SWEEP_EVERY_NANOS);
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

    /** All collectors' metrics plus the meta metrics, within {@link #COLLECTOR_TIMEOUT}; never fails. */
    public CompletableFuture<MetricSnapshots> collect(Instance instance) {
        return collect(instance, timeout);
    }

    /**
     * All collectors' metrics plus the meta metrics; completes normally whatever the collectors do, by
     * {@code deadline} (capped at this object's timeout, e.g. from Prometheus' scrape timeout): a collector not done
     * by then is reported unavailable and its collection goes on for the next scrape.
     * <p>
     * The collectors this scrape has to run (those neither cached nor in flight) run one after the other in ONE task
     * on the worker pool, and the returned future completes on that worker: callers that chain their rendering on
     * it render there, off the event loop, with no further hand-off. A fully cached scrape completes at once, on
     * the caller's thread. (One task per collector cost ~1 ms per uncached scrape on an idle agent: ten hand-offs,
     * each waking a parked thread.) So that a collector that hangs does not hold the ones queued behind it, a
     * second runner joins the batch when half the deadline has passed and it is not done.
     */
    public CompletableFuture<MetricSnapshots> collect(Instance instance, Duration deadline) {
        long deadlineMillis = Math.max(1, Math.min(timeout.toMillis(), deadline.toMillis()));
        int n = collectors.size();
        @SuppressWarnings("unchecked")
        CompletableFuture<Result>[] results = new CompletableFuture[n];
        boolean[] cached = new boolean[n];
        Batch batch = null;
        boolean allDone = true;
        long now = nanoClock.getAsLong();
        Slot[] started = new Slot[1];
        for (int i = 0; i < n; i++) {
            Collector collector = collectors.get(i);
            started[0] = null;
            Slot slot = slotFor(collector, instance, now, started);
            if (started[0] == null) {
                cached[i] = slot.result.isDone();
            } else if (collector.runsInline()) {
                fill(collector, instance, slot);
            } else {
                if (batch == null) batch = new Batch(instance);
                batch.add(collector, slot);
            }
            results[i] = slot.result;
            allDone &= slot.result.isDone();
        }
        if (batch != null) {
            allDone = false;
            start(batch, deadlineMillis);
        }
        if (allDone) {
            return CompletableFuture.completedFuture(snapshots(results, cached, deadlineMillis));
        }
        // one timer per scrape, not per collector
        CompletableFuture<Void> all = CompletableFuture.allOf(results)
                .completeOnTimeout(null, deadlineMillis, TimeUnit.MILLISECONDS);
        if (batch == null) {
            // This scrape only waits for collections another scrape runs (two Prometheus servers scraping an
            // instance at the same moment). Completed by that scrape's runner, its snapshot and the caller's
            // rendering would run there first, before the runner's own scrape is answered (a completed future runs
            // its last-registered dependents first): ~0.5 ms added to the scrape that did the work (realistic run,
            // docs/PERFORMANCE.md "Run K"). Another worker (the other core) finishes it instead.
            return all.thenApplyAsync(ignored -> snapshots(results, cached, deadlineMillis), this::handOff);
        }
        return all.thenApply(ignored -> snapshots(results, cached, deadlineMillis));
    }

    /** To a worker; on the calling thread when the pool refuses, since a scrape's answer must not fail. */
    private void handOff(Runnable task) {
        try {
            workers.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException saturated) {
            task.run();
        }
    }

    private MetricSnapshots snapshots(CompletableFuture<Result>[] results, boolean[] cached, long deadlineMillis) {
        List<MetricSnapshot> out = new ArrayList<>(results.length * 8);
        Result missing = null;
        for (int i = 0; i < results.length; i++) {
            Result result = results[i].getNow(null);
            if (result == null) {
                if (missing == null) missing = new Result(null, deadlineMillis / 1e3);
                result = missing;
            }
            if (result.metrics() != null) out.addAll(result.metrics());
            meta[i].addTo(out, result, cached[i]);
        }
        return new MetricSnapshots(out);
    }

    /** How many (instance, collector) results are held, in flight or done: for tests. */
    int cachedResults() {
        return slots.size();
    }

    /** Drop the cached results and background state of a removed instance. */
    public void forget(String uuid) {
        for (Collector collector : collectors) {
            slots.remove(new Key(uuid, collector.name()));
            collector.forget(uuid);
        }
    }

    /**
     * Drops the results whose TTL has passed, at most once per {@link #SWEEP_EVERY_NANOS}, on the worker of the first
     * collection that finishes after it is due, once that collection's scrape has its answer (the event loop, where
     * scrapes arrive, never walks the map). An expired result is never served again (the next scrape of its
     * instance collects anew), but kept in the map it stayed reachable until then: with Prometheus scraping each of
     * 200 instances every 15 s, that was all 200 instances' last results, ~20-30 KB each, promoted to the old
     * generation and counted in its live set (the heap, and so the RSS, follows the live set).
     * Dropped, only the last second's scrapes' results are live.
     * A conditional remove: a slot a concurrent scrape has just replaced stays.
     */
    private void sweepIfDue(long now) {
        long due = nextSweepNanos.get();
        if (now - due < 0 || !nextSweepNanos.compareAndSet(due, now + SWEEP_EVERY_NANOS)) return;
        slots.values().removeIf(slot -> slot.result.isDone() && now - slot.doneNanos >= slot.ttlNanos);
    }

    /**
     * The collection a scrape should use: a completed one within the TTL, one in flight that another scrape started,
     * or a new one (also put in {@code started}) that this scrape must run.
     */
    private Slot slotFor(Collector collector, Instance instance, long now, Slot[] started) {
        Key key = new Key(instance.uuid(), collector.name());
        Slot current = slots.get(key);
        if (current != null && fresh(current, now)) {
            return current; // the common case, cached: no lock, no allocation
        }
        return slots.compute(key, (k, c) -> {
            if (c != null && fresh(c, now)) return c;
            started[0] = new Slot(collector.ttl().toNanos());
            return started[0];
        });
    }

    private static boolean fresh(Slot slot, long now) {
        return !slot.result.isDone() || now - slot.doneNanos < slot.ttlNanos;
    }

    /** The collectors one scrape runs, pulled one at a time by one runner (two when the first is slow). */
    private final class Batch implements Runnable {
        private final Instance instance;
        private final List<Collector> todo = new ArrayList<>(4);
        private final List<Slot> slotsToFill = new ArrayList<>(4);
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();

        Batch(Instance instance) {
            this.instance = instance;
        }

        void add(Collector collector, Slot slot) {
            todo.add(collector);
            slotsToFill.add(slot);
        }

        boolean allStarted() {
            return next.get() >= todo.size();
        }

        /** The timer's handle on this batch, let go once every collector has started (see {@link Helper}). */
        private final Helper helper = new Helper(this);

        @Override
        public void run() {
            for (int i = next.getAndIncrement(); i < todo.size(); i = next.getAndIncrement()) {
                runOne(todo.get(i), slotsToFill.get(i));
            }
            helper.batch = null;
            // after this scrape's answer was rendered and handed back (completing the last slot ran it), not
            // before: the sweep walks every instance's slots (~1 ms for 200 instances under C1, estimated from the
            // realistic run's profile), and on the event loop it delayed one scrape a second by that much
            sweepIfDue(nanoClock.getAsLong());
        }

        /** Completes the slots no runner took (the pool refused the task). */
        void refuse(RuntimeException rejected) {
            for (int i = next.getAndIncrement(); i < todo.size(); i = next.getAndIncrement()) {
                // a saturated pool is a failed collection, retried after the TTL like any other
                log.warn("collector {} for {} not started: {}", todo.get(i).name(), instance.uuid(),
                        rejected.toString());
                slotsToFill.get(i).doneNanos = nanoClock.getAsLong();
                slotsToFill.get(i).result.complete(new Result(null, 0));
            }
        }

        private void runOne(Collector collector, Slot slot) {
            fill(collector, instance, slot);
        }
    }

    /** Runs one collection and completes its slot, failed or not. */
    private void fill(Collector collector, Instance instance, Slot slot) {
        long start = System.nanoTime();
        List<MetricSnapshot> metrics = null;
        try {
            metrics = List.copyOf(collector.collect(instance));
        } catch (Throwable e) {
            log.debug("collector {} failed for {}: {}", collector.name(), instance.uuid(), e.toString());
        }
        slot.doneNanos = nanoClock.getAsLong();
        slot.result.complete(new Result(metrics, (System.nanoTime() - start) / 1e9));
    }

    private void start(Batch batch, long deadlineMillis) {
        try {
            workers.execute(batch);
        } catch (RuntimeException rejected) {
            batch.refuse(rejected);
            return;
        }
        if (batch.todo.size() > 1) {
            // run by the timer thread itself: without an executor the JDK runs it on the common pool, which on a
            // machine of one or two cores is a new thread per task
            CompletableFuture.delayedExecutor(Math.max(1, deadlineMillis / 2), TimeUnit.MILLISECONDS, Runnable::run)
                    .execute(batch.helper);
        }
    }

    /**
     * The second runner's timer task. It holds its batch only until the batch's collectors have all started: the
     * timer keeps the task for half the deadline (~2.5 s) whatever happens, and holding the batch kept every
     * uncached scrape's results (~20 KB) reachable that long, past several young collections, so they were promoted
     * and filled the old generation (InstanceCollectionBenchmark under -Xmn2m: ~17,000 batches live, a full
     * collection every few milliseconds; docs/PERFORMANCE.md, "Uncached scrape, step 2").
     */
    private final class Helper implements Runnable {
        volatile Batch batch;

        Helper(Batch batch) {
            this.batch = batch;
        }

        @Override
        public void run() {
            // on the timer thread: a second hand-off only when the first runner is stuck
            Batch stuck = batch;
            if (stuck == null || stuck.allStarted()) return;
            try {
                workers.execute(stuck);
            } catch (RuntimeException rejected) {
                stuck.refuse(rejected);
            }
        }
    }

    /**
     * The three meta metrics of one collector, their metadata built once, not on every scrape.
     */
    private record Meta(Metrics.Gauge available, Metrics.Gauge cached, Metrics.Gauge timer) {
        static Meta of(String name) {
            return new Meta(
                    new Metrics.Gauge(name + "_metrics_available_boolean",
                            "1 when the " + name + " collector produced its metrics"),
                    new Metrics.Gauge(name + "_metrics_cached_boolean",
                            "1 when the " + name + " metrics come from the collector's cache"),
                    new Metrics.Gauge(name + "_metrics_timer_seconds",
                            "seconds the " + name + " collection that produced these values took"));
        }

        void addTo(List<MetricSnapshot> out, Result result, boolean wasCached) {
            out.add(available.of(result.metrics() != null ? 1 : 0));
            out.add(cached.of(wasCached ? 1 : 0));
            out.add(timer.of(result.seconds()));
        }
    }
}
