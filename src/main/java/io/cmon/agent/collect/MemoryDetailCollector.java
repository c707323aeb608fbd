package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code mem_cache_bytes}, {@code mem_rss_bytes}, {@code mem_oom_kills_total} and the limit-hit counter of the
 * cgroup version ({@code mem_failcnt_total} on v1, {@code mem_max_events_total} on v2); see {@link MemoryDetail}.
 */
public final class MemoryDetailCollector implements Collector {

    private final CgroupFiles cgroups;
    private final Duration ttl;

    public MemoryDetailCollector(CgroupFiles cgroups, Duration ttl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "mem_detail";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        MemoryDetail d = read(cgroups.resolve(instance));
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(Metrics.gauge("mem_cache_bytes", "page cache charged to the instance", d.cacheBytes()));
        out.add(Metrics.gauge("mem_rss_bytes", "anonymous memory of the instance (heap, stacks, …)", d.rssBytes()));
        d.oomKills().ifPresent(n -> out.add(Metrics.counter("mem_oom_kills",
                "processes of the instance killed by the OOM killer", n)));
        d.failcnt().ifPresent(n -> out.add(Metrics.counter("mem_failcnt",
                "times the memory usage hit the limit (cgroup v1 memory.failcnt)", n)));
        d.maxEvents().ifPresent(n -> out.add(Metrics.counter("mem_max_events",
                "times the memory usage was about to exceed memory.max (cgroup v2)", n)));
        return out;
    }

    static MemoryDetail read(InstanceCgroup cg) throws Exception {
        if (cg.onV1("memory")) {
            return MemoryDetail.parseV1(cg.requireV1("memory", "memory.stat"),
                    cg.readV1("memory", "memory.oom_control").orElse(null),
                    cg.readV1("memory", "memory.failcnt").orElse(null));
        }
        return MemoryDetail.parseV2(cg.requireV2("memory.stat"), cg.readV2("memory.events").orElse(null));
    }
}
