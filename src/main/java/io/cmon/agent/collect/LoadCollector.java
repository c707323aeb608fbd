package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * {@code load_average}: the instance's 1-minute load, computed the way the kernel computes the host's. Linux has no
 * per-cgroup loadavg, so a background sampler does what {@code calc_global_load} does: every 5 s it counts the
 * instance's tasks that are runnable (R) or in uninterruptible sleep (D), from {@code /proc/<tid>/stat} of every
 * thread in the instance's cgroup (and its sub-cgroups), and folds the count into an exponentially-damped average
 * with {@code EXP_1 = exp(-5/60)}.
 *
 * <p>An instance is sampled from its first scrape on (seeded with the count at that moment, rather than the kernel's
 * 0 at boot, so the first minute is not a ramp) until {@link #forget} or until nobody has asked for it for
 * {@link #IDLE_AFTER}: the sampler's cost follows the instances being watched, and a scrape only reads a number.
 */
public final class LoadCollector implements Collector, AutoCloseable {

    static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);
    static final double EXP_1 = Math.exp(-5.0 / 60.0);
    static final Duration IDLE_AFTER = Duration.ofMinutes(10);

    private static final Logger log = LoggerFactory.getLogger(LoadCollector.class);
    private static final Metrics.Gauge LOAD = new Metrics.Gauge("load_average",
            "1-minute exponentially-damped count of the instance's runnable and uninterruptible tasks");

    private final CgroupFiles cgroups;
    private final ProcFiles proc;
    private final LongSupplier nanoClock;
    private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
    private final ScheduledFuture<?> sampling;

    private static final class Tracked {
        volatile Instance instance;
        volatile double load;
        volatile long lastAskedNanos;

        Tracked(Instance instance, double load, long now) {
            this.instance = instance;
            this.load = load;
            this.lastAskedNanos = now;
        }
    }

    public LoadCollector(CgroupFiles cgroups, ProcFiles proc, ScheduledExecutorService sampler) {
        this(cgroups, proc, sampler, System::nanoTime);
    }

    LoadCollector(CgroupFiles cgroups, ProcFiles proc, ScheduledExecutorService sampler, LongSupplier nanoClock) {
        this.cgroups = cgroups;
        this.proc = proc;
        this.nanoClock = nanoClock;
        long period = SAMPLE_EVERY.toMillis();
        this.sampling = sampler == null ? null
                : sampler.scheduleAtFixedRate(this::sample, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public String name() {
        return "load";
    }

    @Override
    public Duration ttl() {
        return SAMPLE_EVERY;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        long now = nanoClock.getAsLong();
        Tracked t = tracked.get(instance.uuid());
        if (t == null) {
            t = new Tracked(instance, runnable(instance), now);
            Tracked raced = tracked.putIfAbsent(instance.uuid(), t);
            t = raced == null ? t : raced;
        }
        t.instance = instance;
        t.lastAskedNanos = now;
        return List.of(LOAD.of(t.load));
    }

    @Override
    public void forget(String uuid) {
        tracked.remove(uuid);
    }

    /** One tick of the sampler, over the watched instances. */
    void sample() {
        long now = nanoClock.getAsLong();
        tracked.forEach((uuid, t) -> {
            if (now - t.lastAskedNanos > IDLE_AFTER.toNanos()) {
                tracked.remove(uuid, t);
                return;
            }
            try {
                t.load = t.load * EXP_1 + runnable(t.instance) * (1 - EXP_1);
            } catch (Exception e) {
                // the instance may be stopping; its next scrape tells whether it is still there
                log.debug("load sample of {} failed: {}", uuid, e.toString());
            }
        });
    }

    /** Tasks of the instance in R or D now. */
    int runnable(Instance instance) throws IOException {
        Optional<Path> dir = cgroups.resolve(instance).taskDir();
        if (dir.isEmpty()) {
            throw new IOException("no cgroup holds the tasks of " + instance.uuid());
        }
        if (!Files.isDirectory(dir.get())) {
            throw new IOException("cgroup " + dir.get() + " of " + instance.uuid() + " does not exist");
        }
        return countIn(dir.get(), 0);
    }

    private int countIn(Path cgroup, int depth) throws IOException {
        // v1 lists threads in "tasks"; v2 in "cgroup.threads"
        Optional<String> tids = KernelFile.read(cgroup.resolve("tasks"));
        if (tids.isEmpty()) {
            tids = KernelFile.read(cgroup.resolve("cgroup.threads"));
        }
        int count = 0;
        for (String line : tids.orElse("").split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            Optional<String> stat = proc.read(Long.parseLong(line.trim()), "stat");
            if (stat.isPresent() && TaskState.countsForLoad(TaskState.parse(stat.get()))) {
                count++;
            }
        }
        if (depth < 8) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(cgroup, Files::isDirectory)) {
                for (Path child : children) {
                    count += countIn(child, depth + 1);
                }
            }
        }
        return count;
    }

    @Override
    public void close() {
        if (sampling != null) {
            sampling.cancel(false);
        }
    }
}
