package io.cmon.agent.collect;

import java.util.OptionalLong;

/**
 * Memory composition, paging and limit events of a cgroup. Every optional field is empty when the kernel does not
 * write it (an older kernel, the other cgroup version), so a metric is left out rather than reported as 0.
 *
 * @param cacheBytes  page cache: v1 {@code total_cache} (hierarchical, like {@code memory.usage_in_bytes}),
 *                    v2 {@code file}
 * @param rssBytes    anonymous memory: v1 {@code total_rss}, v2 {@code anon}
 * @param shmemBytes  shared memory and tmpfs pages (part of the page cache): v1 {@code total_shmem}, v2 {@code shmem}
 * @param kernelBytes kernel memory charged to the cgroup: v1 {@code memory.kmem.usage_in_bytes}, v2 {@code kernel},
 *                    or on kernels without that field the sum of its parts ({@code kernel_stack}, {@code pagetables},
 *                    {@code sec_pagetables}, {@code percpu}, {@code vmalloc}, slab)
 * @param peakBytes   highest usage recorded: v1 {@code memory.max_usage_in_bytes}, v2 {@code memory.peak}
 * @param paging      page faults and working-set counters of {@code memory.stat}
 * @param events      limit and OOM events
 * @param failcnt     v1 only: times usage hit the limit ({@code memory.failcnt})
 */
public record MemoryDetail(long cacheBytes, long rssBytes, OptionalLong shmemBytes, OptionalLong kernelBytes,
                           OptionalLong peakBytes, Paging paging, Events events, OptionalLong failcnt) {

    /**
     * Counters of {@code memory.stat}. Refaults are evicted pages faulted back in soon after (the working set does not
     * fit); activations are refaulted pages put straight back on the active list.
     */
    public record Paging(OptionalLong faults, OptionalLong majorFaults, OptionalLong refaultAnon,
                         OptionalLong refaultFile, OptionalLong activateAnon, OptionalLong activateFile) {
    }

    /**
     * v2 {@code memory.events} (hierarchical unless cgroup2 is mounted with {@code memory_localevents}); on v1 only
     * {@code oomKill}, from {@code memory.oom_control} (kernel ≥ 4.13).
     *
     * @param low          times reclaimed although under {@code memory.low}
     * @param high         times throttled and reclaimed for exceeding {@code memory.high}
     * @param max          times usage was about to exceed {@code memory.max}
     * @param oom          times an allocation failed at the limit and the OOM killer was about to run
     * @param oomKill      processes killed by the OOM killer
     * @param oomGroupKill times the whole cgroup was killed at once ({@code memory.oom.group}; kernel ≥ 5.17)
     */
    public record Events(OptionalLong low, OptionalLong high, OptionalLong max, OptionalLong oom,
                         OptionalLong oomKill, OptionalLong oomGroupKill) {

        static final Events NONE = new Events(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

        public static Events parseV2(String memoryEvents) {
            KeyedValues e = KeyedValues.parse(memoryEvents);
            return new Events(e.get("low"), e.get("high"), e.get("max"), e.get("oom"), e.get("oom_kill"),
                    e.get("oom_group_kill"));
        }
    }

    /**
     * @param oomControl {@code memory.oom_control}, null when absent
     * @param failcnt    {@code memory.failcnt}, null when absent
     * @param maxUsage   {@code memory.max_usage_in_bytes}, null when absent
     * @param kmemUsage  {@code memory.kmem.usage_in_bytes}, null when absent (kernel built without kmem accounting)
     */
    public static MemoryDetail parseV1(String memoryStat, String oomControl, String failcnt, String maxUsage,
                                       String kmemUsage) {
        KeyedValues stat = KeyedValues.parse(memoryStat);
        long cache = stat.get("total_cache").orElse(stat.require("cache"));
        long rss = stat.get("total_rss").orElse(stat.require("rss"));
        OptionalLong oomKill = oomControl == null ? OptionalLong.empty()
                : KeyedValues.parse(oomControl).get("oom_kill");
        // v1 memory.stat has no activations, and refaults only on recent kernels
        Paging paging = new Paging(hierarchical(stat, "pgfault"), hierarchical(stat, "pgmajfault"),
                hierarchical(stat, "workingset_refault_anon"), hierarchical(stat, "workingset_refault_file"),
                OptionalLong.empty(), OptionalLong.empty());
        return new MemoryDetail(cache, rss, hierarchical(stat, "shmem"), single(kmemUsage), single(maxUsage), paging,
                new Events(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                        oomKill, OptionalLong.empty()),
                single(failcnt));
    }

    /**
     * @param memoryEvents {@code memory.events}, null when absent
     * @param memoryPeak   {@code memory.peak}, null when absent (kernel before 5.19)
     */
    public static MemoryDetail parseV2(String memoryStat, String memoryEvents, String memoryPeak) {
        KeyedValues stat = KeyedValues.parse(memoryStat);
        // kernels before 5.9 tracked the working set of file pages only, under the unsplit names
        Paging paging = new Paging(stat.get("pgfault"), stat.get("pgmajfault"),
                stat.get("workingset_refault_anon"), either(stat, "workingset_refault_file", "workingset_refault"),
                stat.get("workingset_activate_anon"),
                either(stat, "workingset_activate_file", "workingset_activate"));
        return new MemoryDetail(stat.require("file"), stat.require("anon"), stat.get("shmem"), kernelV2(stat),
                single(memoryPeak), paging, memoryEvents == null ? Events.NONE : Events.parseV2(memoryEvents),
                OptionalLong.empty());
    }

    /** {@code kernel}, else the sum of the parts the kernel counts in it, when it writes any of them. */
    static OptionalLong kernelV2(KeyedValues stat) {
        OptionalLong kernel = stat.get("kernel");
        if (kernel.isPresent()) {
            return kernel;
        }
        OptionalLong slab = stat.get("slab");
        if (slab.isEmpty() && (stat.get("slab_reclaimable").isPresent() || stat.get("slab_unreclaimable").isPresent())) {
            slab = OptionalLong.of(stat.orZero("slab_reclaimable") + stat.orZero("slab_unreclaimable"));
        }
        boolean any = slab.isPresent();
        long sum = slab.orElse(0);
        for (String part : new String[] {"kernel_stack", "pagetables", "sec_pagetables", "percpu", "vmalloc"}) {
            OptionalLong v = stat.get(part);
            if (v.isPresent()) {
                any = true;
                sum += v.getAsLong();
            }
        }
        return any ? OptionalLong.of(sum) : OptionalLong.empty();
    }

    /** v1's hierarchical {@code total_<key>} (child cgroups included), else the cgroup's own {@code <key>}. */
    private static OptionalLong hierarchical(KeyedValues stat, String key) {
        OptionalLong total = stat.get("total_" + key);
        return total.isPresent() ? total : stat.get(key);
    }

    private static OptionalLong either(KeyedValues stat, String key, String older) {
        OptionalLong v = stat.get(key);
        return v.isPresent() ? v : stat.get(older);
    }

    private static OptionalLong single(String text) {
        return text == null ? OptionalLong.empty() : OptionalLong.of(KeyedValues.single(text));
    }
}
