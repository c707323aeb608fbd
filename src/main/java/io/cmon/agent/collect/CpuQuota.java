package io.cmon.agent.collect;

import java.util.Optional;

/**
 * The CFS bandwidth cap of a cgroup: at most {@code quotaUs} of CPU time per {@code periodUs}, i.e.
 * {@link #cores()} CPUs' worth. No cap (v1 quota {@code -1}, v2 {@code max}) is no value at all: an uncapped
 * instance may use every CPU of the server, and "0 cores" would say the opposite.
 */
public record CpuQuota(long quotaUs, long periodUs) {

    public double cores() {
        return (double) quotaUs / periodUs;
    }

    /** v1 {@code cpu.cfs_quota_us} and {@code cpu.cfs_period_us}. */
    public static Optional<CpuQuota> parseV1(String quotaUs, String periodUs) {
        return of(KeyedValues.single(quotaUs), KeyedValues.single(periodUs));
    }

    /** v2 {@code cpu.max}: {@code "<quota|max> <period>"}. */
    public static Optional<CpuQuota> parseV2(String cpuMax) {
        String[] fields = KeyedValues.WHITESPACE.split(cpuMax.trim());
        if (fields.length != 2) {
            throw new IllegalArgumentException("cpu.max: expected '<quota> <period>', got '" + cpuMax.trim() + "'");
        }
        return fields[0].equals("max") ? Optional.empty() : of(Long.parseLong(fields[0]), Long.parseLong(fields[1]));
    }

    private static Optional<CpuQuota> of(long quotaUs, long periodUs) {
        return quotaUs <= 0 || periodUs <= 0 ? Optional.empty() : Optional.of(new CpuQuota(quotaUs, periodUs));
    }
}
