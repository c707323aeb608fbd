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

    private static final Metrics.Gauge CACHE_BYTES = new Metrics.Gauge("mem_cache_bytes",
            "page cache charged to the instance");
    private static final Metrics.Gauge RSS_BYTES = new Metrics.Gauge("mem_rss_bytes",
            "anonymous memory of the instance (heap, stacks, …)");
    private static final Metrics.Gauge SHMEM_BYTES = new Metrics.Gauge("mem_shmem_bytes",
            "shared memory and tmpfs pages of the instance (part of the page cache)");
    private static final Metrics.Gauge KERNEL_BYTES = new Metrics.Gauge("mem_kernel_bytes",
            "kernel memory charged to the instance (slab, stacks, page tables, …)");
    private static final Metrics.Gauge PEAK_BYTES = new Metrics.Gauge("mem_peak_bytes",
            "highest memory usage recorded for the instance's cgroup");
    private static final Metrics.Counter PAGE_FAULTS = new Metrics.Counter("mem_page_faults",
            "page faults in the instance");
    private static final Metrics.Counter MAJOR_PAGE_FAULTS = new Metrics.Counter("mem_major_page_faults",
            "page faults in the instance that needed I/O");
    private static final Metrics.Counter WORKINGSET_REFAULT_ANON = new Metrics.Counter("mem_workingset_refault_anon",
            "evicted anonymous pages faulted back in");
    private static final Metrics.Counter WORKINGSET_REFAULT_FILE = new Metrics.Counter("mem_workingset_refault_file",
            "evicted page cache pages read back in");
    private static final Metrics.Counter WORKINGSET_ACTIVATE_ANON = new Metrics.Counter("mem_workingset_activate_anon",
            "refaulted anonymous pages activated at once");
    private static final Metrics.Counter WORKINGSET_ACTIVATE_FILE = new Metrics.Counter("mem_workingset_activate_file",
            "refaulted page cache pages activated at once");
    private static final Metrics.Counter OOM_KILLS = new Metrics.Counter("mem_oom_kills",
            "processes of the instance killed by the OOM killer");
    private static final Metrics.Counter FAILCNT = new Metrics.Counter("mem_failcnt",
            "times the memory usage hit the limit (cgroup v1 memory.failcnt)");
    private static final Metrics.Counter MAX_EVENTS = new Metrics.Counter("mem_max_events",
            "times the memory usage was about to exceed memory.max (cgroup v2)");
    private static final Metrics.Counter HIGH_EVENTS = new Metrics.Counter("mem_high_events",
            "times the instance was throttled for exceeding memory.high (cgroup v2)");
    private static final Metrics.Counter LOW_EVENTS = new Metrics.Counter("mem_low_events",
            "times the instance was reclaimed although under memory.low (cgroup v2)");
    private static final Metrics.Counter OOM_EVENTS = new Metrics.Counter("mem_oom_events",
            "times an allocation failed at the limit and the OOM killer was invoked (cgroup v2)");
    private static final Metrics.Counter OOM_GROUP_KILLS = new Metrics.Counter("mem_oom_group_kills",
            "times the whole instance was OOM-killed at once (cgroup v2)");

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
        List<MetricSnapshot> out = new ArrayList<>(19);
        out.add(CACHE_BYTES.of(d.cacheBytes()));
        out.add(RSS_BYTES.of(d.rssBytes()));
        gauge(out, SHMEM_BYTES, d.shmemBytes());
        gauge(out, KERNEL_BYTES, d.kernelBytes());
        gauge(out, PEAK_BYTES, d.peakBytes());
        MemoryDetail.Paging p = d.paging();
        counter(out, PAGE_FAULTS, p.faults());
        counter(out, MAJOR_PAGE_FAULTS, p.majorFaults());
        counter(out, WORKINGSET_REFAULT_ANON, p.refaultAnon());
        counter(out, WORKINGSET_REFAULT_FILE, p.refaultFile());
        counter(out, WORKINGSET_ACTIVATE_ANON, p.activateAnon());
        counter(out, WORKINGSET_ACTIVATE_FILE, p.activateFile());
        MemoryDetail.Events e = d.events();
        counter(out, OOM_KILLS, e.oomKill());
        counter(out, FAILCNT, d.failcnt());
        counter(out, MAX_EVENTS, e.max());
        counter(out, HIGH_EVENTS, e.high());
        counter(out, LOW_EVENTS, e.low());
        counter(out, OOM_EVENTS, e.oom());
        counter(out, OOM_GROUP_KILLS, e.oomGroupKill());
        return out;
    }

    private static void gauge(List<MetricSnapshot> out, Metrics.Gauge metric, OptionalLong value) {
        value.ifPresent(v -> out.add(metric.of(v)));
    }

    private static void counter(List<MetricSnapshot> out, Metrics.Counter metric, OptionalLong value) {
        value.ifPresent(v -> out.add(metric.of(v)));
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
