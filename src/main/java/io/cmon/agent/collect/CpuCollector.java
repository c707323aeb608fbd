package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code cpu_user_usage}, {@code cpu_sys_usage}, {@code cpu_wait_time} (ns; see {@link CpuStat} for what "wait" is
 * on each cgroup version), the CFS bandwidth counters of the cgroup and its CPU cap ({@code cpu_quota_cores} and
 * {@code cpu_quota_seconds}, left out when uncapped; {@code cpu_period_seconds} whenever the kernel has CFS
 * bandwidth control).
 */
public final class CpuCollector implements Collector {

    private static final Metrics.SeedCounter USER = new Metrics.SeedCounter("cpu_user_usage",
            "nanoseconds: CPU time in user mode");
    private static final Metrics.SeedCounter SYS = new Metrics.SeedCounter("cpu_sys_usage",
            "nanoseconds: CPU time in kernel mode");
    private static final Metrics.SeedCounter WAIT = new Metrics.SeedCounter("cpu_wait_time",
            "nanoseconds: time runnable but waiting for a CPU (PSI cpu some; CFS throttled time on v1)");
    private static final Metrics.Counter PERIODS = new Metrics.Counter("cpu_periods",
            "CFS bandwidth enforcement periods elapsed");
    private static final Metrics.Counter THROTTLED_PERIODS = new Metrics.Counter("cpu_throttled_periods",
            "CFS periods in which the CPU quota was exhausted");
    private static final Metrics.Counter THROTTLED_SECONDS = new Metrics.Counter("cpu_throttled_seconds",
            "time held off the CPU by the CPU quota");
    private static final Metrics.Gauge QUOTA_CORES = new Metrics.Gauge("cpu_quota_cores",
            "CPUs' worth of time the CFS quota allows per period (absent: no cap)");
    private static final Metrics.Gauge QUOTA_SECONDS = new Metrics.Gauge("cpu_quota_seconds",
            "CPU time the CFS quota allows per period (absent: no cap)");
    private static final Metrics.Gauge PERIOD_SECONDS = new Metrics.Gauge("cpu_period_seconds",
            "length of the CFS bandwidth period");

    private final CgroupFiles cgroups;
    private final Duration ttl;

    public CpuCollector(CgroupFiles cgroups, Duration ttl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        InstanceCgroup cg = cgroups.resolve(instance);
        CpuStat stat = read(cg);
        List<MetricSnapshot> out = new java.util.ArrayList<>(9);
        out.add(USER.of(stat.userNs()));
        out.add(SYS.of(stat.sysNs()));
        out.add(WAIT.of(stat.waitNs()));
        out.add(PERIODS.of(stat.periods()));
        out.add(THROTTLED_PERIODS.of(stat.throttledPeriods()));
        out.add(THROTTLED_SECONDS.of(stat.throttledNs() / 1e9));
        Optional<CpuQuota> bandwidth = quota(cg);
        if (bandwidth.isPresent()) {
            CpuQuota q = bandwidth.get();
            q.cores().ifPresent(cores -> out.add(QUOTA_CORES.of(cores)));
            q.quotaUs().ifPresent(us -> out.add(QUOTA_SECONDS.of(us / 1e6)));
            out.add(PERIOD_SECONDS.of(q.periodUs() / 1e6));
        }
        return out;
    }

    static Optional<CpuQuota> quota(InstanceCgroup cg) throws Exception {
        if (cg.onV1("cpu")) {
            Optional<String> quota = cg.readV1("cpu", "cpu.cfs_quota_us");
            Optional<String> period = cg.readV1("cpu", "cpu.cfs_period_us");
            // a kernel without CONFIG_CFS_BANDWIDTH has neither file: no cap to report
            return quota.isPresent() && period.isPresent()
                    ? Optional.of(CpuQuota.parseV1(quota.get(), period.get())) : Optional.empty();
        }
        Optional<String> max = cg.readV2("cpu.max");
        return max.map(CpuQuota::parseV2);
    }

    static CpuStat read(InstanceCgroup cg) throws Exception {
        if (!cg.onV1("cpuacct")) {
            return CpuStat.parseV2(cg.requireV2("cpu.stat"), cg.readV2("cpu.pressure").orElse(null));
        }
        String cpuStat = cg.readV1("cpu", "cpu.stat").orElse(null);
        Optional<String> user = cg.readV1("cpuacct", "cpuacct.usage_user");
        Optional<String> sys = cg.readV1("cpuacct", "cpuacct.usage_sys");
        CpuStat stat = user.isPresent() && sys.isPresent()
                ? CpuStat.parseV1(user.get(), sys.get(), cpuStat)
                : CpuStat.parseV1(cg.requireV1("cpuacct", "cpuacct.stat"), cpuStat);
        if (cg.unifiedMirrorsV1()) {
            Optional<String> psi = cg.readV2("cpu.pressure");
            if (psi.isPresent()) {
                stat = stat.withWaitNs(CpuStat.micros(Pressure.parse(psi.get()).some().totalUs()));
            }
        }
        return stat;
    }
}
