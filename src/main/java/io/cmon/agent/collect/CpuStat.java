package io.cmon.agent.collect;

import java.util.concurrent.TimeUnit;

/**
 * CPU time of a cgroup, in nanoseconds.
 *
 * <p>{@code waitNs} is the seed's {@code cpu_wait_time}, "time runnable but waiting for a CPU". Where the kernel
 * measures exactly that for the cgroup, PSI's {@code cpu.pressure some total} (time during which at least one task
 * of the cgroup was runnable but not running), we use it: always on cgroup v2, and on hybrid hosts where the
 * cgroup2 tree carries the instance (see {@link #withWaitNs}). A pure v1 host has no per-cgroup run-queue wait, so
 * there it is the CFS bandwidth {@code throttled_time} of {@code cpu.stat}: the time the cgroup was runnable but held
 * off the CPU by its quota. That is zero for an instance without a CPU cap, even on a saturated host.
 *
 * @param periods          CFS enforcement periods elapsed (0 without a quota)
 * @param throttledPeriods periods in which the cgroup hit its quota
 * @param throttledNs      total time throttled by the quota
 */
public record CpuStat(long userNs, long sysNs, long waitNs, long periods, long throttledPeriods, long throttledNs) {

    /** USER_HZ: cpuacct.stat counts in these ticks on every Linux architecture we run on. */
    static final long NS_PER_USER_HZ_TICK = TimeUnit.SECONDS.toNanos(1) / 100;

    /** v1 from {@code cpuacct.stat} (USER_HZ ticks, 10 ms resolution) and the cpu controller's {@code cpu.stat}. */
    public static CpuStat parseV1(String cpuacctStat, String cpuStat) {
        KeyedValues acct = KeyedValues.parse(cpuacctStat);
        return v1(acct.require("user") * NS_PER_USER_HZ_TICK, acct.require("system") * NS_PER_USER_HZ_TICK, cpuStat);
    }

    /** v1 from {@code cpuacct.usage_user} and {@code cpuacct.usage_sys} (ns, preferred) and {@code cpu.stat}. */
    public static CpuStat parseV1(String usageUser, String usageSys, String cpuStat) {
        return v1(KeyedValues.single(usageUser), KeyedValues.single(usageSys), cpuStat);
    }

    private static CpuStat v1(long userNs, long sysNs, String cpuStat) {
        KeyedValues cpu = cpuStat == null ? new KeyedValues(java.util.Map.of()) : KeyedValues.parse(cpuStat);
        long throttledNs = cpu.orZero("throttled_time");
        return new CpuStat(userNs, sysNs, throttledNs, cpu.orZero("nr_periods"), cpu.orZero("nr_throttled"),
                throttledNs);
    }

    /**
     * v2 from {@code cpu.stat} (µs) and {@code cpu.pressure}; {@code cpuPressure} is null when PSI is off
     * ({@code psi=0}), and the wait then falls back to {@code throttled_usec} as on v1.
     */
    public static CpuStat parseV2(String cpuStat, String cpuPressure) {
        KeyedValues cpu = KeyedValues.parse(cpuStat);
        long throttledNs = micros(cpu.orZero("throttled_usec"));
        long waitNs = cpuPressure == null ? throttledNs : micros(Pressure.parse(cpuPressure).some().totalUs());
        return new CpuStat(micros(cpu.require("user_usec")), micros(cpu.require("system_usec")), waitNs,
                cpu.orZero("nr_periods"), cpu.orZero("nr_throttled"), throttledNs);
    }

    public CpuStat withWaitNs(long waitNs) {
        return new CpuStat(userNs, sysNs, waitNs, periods, throttledPeriods, throttledNs);
    }

    static long micros(long us) {
        return TimeUnit.MICROSECONDS.toNanos(us);
    }
}
