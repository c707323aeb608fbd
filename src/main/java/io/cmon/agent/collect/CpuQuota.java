package io.cmon.agent.collect;

import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The CFS bandwidth settings of a cgroup: at most {@code quotaUs} of CPU time per {@code periodUs}, i.e.
 * {@link #cores()} CPUs' worth. No cap (v1 quota {@code -1}, v2 {@code max}) is an empty quota, not 0: an uncapped
 * instance may use every CPU of the server, and "0 cores" would say the opposite. The period is set either way.
 */
public record CpuQuota(OptionalLong quotaUs, long periodUs) {

    public CpuQuota {
        if (periodUs <= 0) {
            throw new IllegalArgumentException("CFS period must be positive, got " + periodUs);
        }
    }

    /** CPUs' worth of time the quota allows; empty without a cap. */
    public OptionalDouble cores() {
        return quotaUs.isPresent() ? OptionalDouble.of((double) quotaUs.getAsLong() / periodUs) : OptionalDouble.empty();
    }

    /** v1 {@code cpu.cfs_quota_us} ({@code -1}: no cap) and {@code cpu.cfs_period_us}. */
    public static CpuQuota parseV1(String quotaUs, String periodUs) {
        return of(KeyedValues.single(quotaUs), KeyedValues.single(periodUs));
    }

    /** v2 {@code cpu.max}: {@code "<quota|max> <period>"}. */
    public static CpuQuota parseV2(String cpuMax) {
        Fields f = new Fields(cpuMax, 2);
        if (f.split(0, cpuMax.length()) != 2) {
            throw new IllegalArgumentException("cpu.max: expected '<quota> <period>', got '" + cpuMax.trim() + "'");
        }
        return of(f.is(0, "max") ? -1 : f.parseLong(0), f.parseLong(1));
    }

    private static CpuQuota of(long quotaUs, long periodUs) {
        return new CpuQuota(quotaUs <= 0 ? OptionalLong.empty() : OptionalLong.of(quotaUs), periodUs);
    }
}
