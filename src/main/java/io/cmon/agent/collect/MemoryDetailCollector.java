package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Memory composition ({@code mem_cache_bytes}, {@code mem_rss_bytes}, shmem, kernel, peak), paging counters and limit
 * events (OOM kills, {@code memory.events}, v1 {@code memory.failcnt}); see {@link MemoryDetail}. A value the kernel
 * does not write is left out.
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
        gauge(out, "mem_shmem_bytes", "shared memory and tmpfs pages of the instance (part of the page cache)",
                d.shmemBytes());
        gauge(out, "mem_kernel_bytes", "kernel memory charged to the instance (slab, stacks, page tables, …)",
                d.kernelBytes());
        gauge(out, "mem_peak_bytes", "highest memory usage recorded for the instance's cgroup", d.peakBytes());
        MemoryDetail.Paging p = d.paging();
        counter(out, "mem_page_faults", "page faults in the instance", p.faults());
        counter(out, "mem_major_page_faults", "page faults in the instance that needed I/O", p.majorFaults());
        counter(out, "mem_workingset_refault_anon", "evicted anonymous pages faulted back in", p.refaultAnon());
        counter(out, "mem_workingset_refault_file", "evicted page cache pages read back in", p.refaultFile());
        counter(out, "mem_workingset_activate_anon", "refaulted anonymous pages activated at once",
                p.activateAnon());
        counter(out, "mem_workingset_activate_file", "refaulted page cache pages activated at once",
                p.activateFile());
        MemoryDetail.Events e = d.events();
        counter(out, "mem_oom_kills", "processes of the instance killed by the OOM killer", e.oomKill());
        counter(out, "mem_failcnt", "times the memory usage hit the limit (cgroup v1 memory.failcnt)", d.failcnt());
        counter(out, "mem_max_events", "times the memory usage was about to exceed memory.max (cgroup v2)", e.max());
        counter(out, "mem_high_events", "times the instance was throttled for exceeding memory.high (cgroup v2)",
                e.high());
        counter(out, "mem_low_events", "times the instance was reclaimed although under memory.low (cgroup v2)",
                e.low());
        counter(out, "mem_oom_events", "times an allocation failed at the limit and the OOM killer was invoked "
                + "(cgroup v2)", e.oom());
        counter(out, "mem_oom_group_kills", "times the whole instance was OOM-killed at once (cgroup v2)",
                e.oomGroupKill());
        return out;
    }

    private static void gauge(List<MetricSnapshot> out, String name, String help, OptionalLong value) {
        value.ifPresent(v -> out.add(Metrics.gauge(name, help, v)));
    }

    private static void counter(List<MetricSnapshot> out, String name, String help, OptionalLong value) {
        value.ifPresent(v -> out.add(Metrics.counter(name, help, v)));
    }

    static MemoryDetail read(InstanceCgroup cg) throws Exception {
        if (cg.onV1("memory")) {
            return MemoryDetail.parseV1(cg.requireV1("memory", "memory.stat"),
                    cg.readV1("memory", "memory.oom_control").orElse(null),
                    cg.readV1("memory", "memory.failcnt").orElse(null),
                    cg.readV1("memory", "memory.max_usage_in_bytes").orElse(null),
                    cg.readV1("memory", "memory.kmem.usage_in_bytes").orElse(null));
        }
        return MemoryDetail.parseV2(cg.requireV2("memory.stat"), cg.readV2("memory.events").orElse(null),
                cg.readV2("memory.peak").orElse(null));
    }
}
