package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.List;

/** {@code mem_agg_usage}, {@code mem_limit}, {@code mem_swap}, {@code mem_swap_limit}: bytes, see {@link MemoryStat}. */
public final class MemoryCollector implements Collector {

    private static final Metrics.Gauge USAGE = new Metrics.Gauge("mem_agg_usage",
            "bytes: memory used by the instance's cgroup");
    private static final Metrics.Gauge LIMIT = new Metrics.Gauge("mem_limit",
            "bytes: memory limit (the server's memory when unlimited)");
    private static final Metrics.Gauge SWAP = new Metrics.Gauge("mem_swap", "bytes: swap used");
    private static final Metrics.Gauge SWAP_LIMIT = new Metrics.Gauge("mem_swap_limit",
            "bytes: swap limit (the server's swap when unlimited)");

    private final CgroupFiles cgroups;
    private final Duration ttl;
    /** The server's MemTotal/SwapTotal: /proc/meminfo is costly to generate and changes only on hotplug or swapon. */
    private final HostValue<MemInfo> host;

    static final Duration HOST_MEMORY_TTL = Duration.ofSeconds(60);

    public MemoryCollector(CgroupFiles cgroups, ProcFiles proc, Duration ttl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
        this.host = new HostValue<>(HOST_MEMORY_TTL, proc::memInfo);
    }

    @Override
    public String name() {
        return "mem";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        MemoryStat stat = read(cgroups.resolve(instance), host.get());
        return List.of(USAGE.of(stat.usage()), LIMIT.of(stat.limit()), SWAP.of(stat.swap()),
                SWAP_LIMIT.of(stat.swapLimit()));
    }

    static MemoryStat read(InstanceCgroup cg, MemInfo host) throws Exception {
        if (cg.onV1("memory")) {
            return MemoryStat.parseV1(
                    cg.requireV1("memory", "memory.usage_in_bytes"),
                    cg.requireV1("memory", "memory.limit_in_bytes"),
                    cg.readV1("memory", "memory.memsw.usage_in_bytes").orElse(null),
                    cg.readV1("memory", "memory.memsw.limit_in_bytes").orElse(null),
                    host);
        }
        return MemoryStat.parseV2(
                cg.requireV2("memory.current"),
                cg.requireV2("memory.max"),
                cg.readV2("memory.swap.current").orElse(null),
                cg.readV2("memory.swap.max").orElse(null),
                host);
    }
}
