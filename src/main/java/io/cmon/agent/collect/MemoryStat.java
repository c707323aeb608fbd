package io.cmon.agent.collect;

/**
 * Memory of a cgroup, in bytes.
 *
 * <p>Limits are the effective ones: the configured limit capped by what the server has, so "unlimited" (v1's
 * 9223372036854771712, v2's {@code max}) and a limit above the server's memory both read as the server's
 * {@code MemTotal} (swap: {@code SwapTotal}), as the seed's {@code mem_limit} promises.
 *
 * <p>v1 swap comes from the memsw ("memory+swap") counters, present when the kernel accounts swap
 * ({@code swapaccount=1}): swap = memsw.usage − usage, swap limit = memsw.limit − limit. Without them the kernel
 * neither counts nor limits a cgroup's swap: swap 0 and the server's swap as the limit.
 *
 * @param usage     {@code memory.usage_in_bytes} / {@code memory.current} (includes page cache, as the kernel counts)
 * @param limit     effective memory limit
 * @param swap      swap in use
 * @param swapLimit effective swap limit
 */
public record MemoryStat(long usage, long limit, long swap, long swapLimit) {

    /**
     * @param memswUsage {@code memory.memsw.usage_in_bytes}, null without swap accounting
     * @param memswLimit {@code memory.memsw.limit_in_bytes}, null without swap accounting
     */
    public static MemoryStat parseV1(String usage, String limit, String memswUsage, String memswLimit, MemInfo host) {
        long used = KeyedValues.single(usage);
        long configuredLimit = KeyedValues.single(limit);
        long swap = 0;
        long swapLimit = host.swapTotal();
        if (memswUsage != null && memswLimit != null) {
            swap = Math.max(0, KeyedValues.single(memswUsage) - used);
            long memsw = KeyedValues.single(memswLimit);
            // memsw.limit >= limit always; an unlimited memsw minus the limit is still astronomically large
            swapLimit = Math.max(0, memsw - configuredLimit);
        }
        return new MemoryStat(used, Math.min(configuredLimit, host.memTotal()), swap,
                Math.min(swapLimit, host.swapTotal()));
    }

    /**
     * @param swapCurrent {@code memory.swap.current}, null when absent (no swap controller): 0
     * @param swapMax     {@code memory.swap.max}, null when absent: the server's swap
     */
    public static MemoryStat parseV2(String current, String max, String swapCurrent, String swapMax, MemInfo host) {
        long limit = Math.min(v2Limit(max, host.memTotal()), host.memTotal());
        long swap = swapCurrent == null ? 0 : KeyedValues.single(swapCurrent);
        long swapLimit = swapMax == null ? host.swapTotal() : Math.min(v2Limit(swapMax, host.swapTotal()),
                host.swapTotal());
        return new MemoryStat(KeyedValues.single(current), limit, swap, swapLimit);
    }

    private static long v2Limit(String text, long unlimited) {
        String value = text.trim();
        return value.equals("max") ? unlimited : Long.parseLong(value);
    }
}
