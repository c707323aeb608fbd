package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.List;

/** {@code processes_current} and {@code processes_limit}: the pids controller's count and limit, see {@link Pids}. */
public final class ProcessesCollector implements Collector {

    private static final Metrics.Gauge CURRENT = new Metrics.Gauge("processes_current",
            "tasks (processes and threads) in the instance");
    private static final Metrics.Gauge LIMIT = new Metrics.Gauge("processes_limit",
            "most tasks the instance may have (the server's kernel.pid_max when unlimited)");

    /**
     * How long the server's {@code kernel.pid_max} is reused. It is not the instance's value but the server's, and
     * changes only when an operator runs {@code sysctl kernel.pid_max=...}: reading it (an open, read and close
     * of a sysctl file) on every uncached scrape of every instance bought nothing (as /proc/meminfo in
     * {@link MemoryCollector}). The instance's own pids.current and pids.max are still read on every scrape.
     */
    static final Duration HOST_PID_MAX_TTL = Duration.ofSeconds(60);

    private final CgroupFiles cgroups;
    private final Duration ttl;
    private final HostValue<Long> hostPidMax;

    public ProcessesCollector(CgroupFiles cgroups, ProcFiles proc, Duration ttl) {
        this(cgroups, proc, ttl, HOST_PID_MAX_TTL);
    }

    ProcessesCollector(CgroupFiles cgroups, ProcFiles proc, Duration ttl, Duration hostTtl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
        this.hostPidMax = new HostValue<>(hostTtl, () -> pidMax(proc));
    }

    @Override
    public String name() {
        return "processes";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        Pids pids = read(cgroups.resolve(instance), hostPidMax.get());
        return List.of(CURRENT.of(pids.current()), LIMIT.of(pids.limit()));
    }

    static long pidMax(ProcFiles proc) throws Exception {
        return KeyedValues.single(proc.read("sys/kernel/pid_max")
                .orElseThrow(() -> new java.io.IOException("no " + proc.root() + "/sys/kernel/pid_max")));
    }

    static Pids read(InstanceCgroup cg, long pidMax) throws Exception {
        if (cg.onV1("pids")) {
            return Pids.parse(cg.requireV1("pids", "pids.current"), cg.requireV1("pids", "pids.max"), pidMax);
        }
        return Pids.parse(cg.requireV2("pids.current"), cg.requireV2("pids.max"), pidMax);
    }
}
