package io.cmon.agent.collect;

import java.util.OptionalLong;

/**
 * Memory composition and limit pressure of a cgroup.
 *
 * @param cacheBytes page cache: v1 {@code total_cache} (hierarchical, like {@code memory.usage_in_bytes}),
 *                   v2 {@code file}
 * @param rssBytes   anonymous memory: v1 {@code total_rss}, v2 {@code anon}
 * @param oomKills   processes killed by the OOM killer in the cgroup: v1 {@code memory.oom_control oom_kill}
 *                   (kernel ≥ 4.13), v2 {@code memory.events oom_kill}; empty when the kernel does not say
 * @param failcnt    v1 only: times usage hit the limit ({@code memory.failcnt})
 * @param maxEvents  v2 only: times usage was about to exceed {@code memory.max} ({@code memory.events max})
 */
public record MemoryDetail(long cacheBytes, long rssBytes, OptionalLong oomKills, OptionalLong failcnt,
                           OptionalLong maxEvents) {

    public static MemoryDetail parseV1(String memoryStat, String oomControl, String failcnt) {
        KeyedValues stat = KeyedValues.parse(memoryStat);
        long cache = stat.get("total_cache").orElse(stat.require("cache"));
        long rss = stat.get("total_rss").orElse(stat.require("rss"));
        OptionalLong oom = oomControl == null ? OptionalLong.empty() : KeyedValues.parse(oomControl).get("oom_kill");
        return new MemoryDetail(cache, rss, oom,
                failcnt == null ? OptionalLong.empty() : OptionalLong.of(KeyedValues.single(failcnt)),
                OptionalLong.empty());
    }

    public static MemoryDetail parseV2(String memoryStat, String memoryEvents) {
        KeyedValues stat = KeyedValues.parse(memoryStat);
        KeyedValues events = memoryEvents == null ? new KeyedValues(java.util.Map.of())
                : KeyedValues.parse(memoryEvents);
        return new MemoryDetail(stat.require("file"), stat.require("anon"), events.get("oom_kill"),
                OptionalLong.empty(), events.get("max"));
    }
}
