package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/** The collectors end to end over fixture trees of a v1 (hybrid) and a v2 host. */
class CollectorsOnFixturesTest {

    private static final Instance V1 = Fixtures.running("v1", Fixtures.V1_PID);
    private static final Instance V2 = Fixtures.running("v2", Fixtures.V2_PID);

    @Test
    void cpuOnHybridHostTakesTheWaitFromTheCgroup2TreesPsi() throws Exception {
        var cpu = new CpuCollector(Fixtures.cgroups("cgroup-v1"), Duration.ofSeconds(1));

        assertThat(values(cpu.collect(V1))).contains(
                entry("cpu_user_usage", 1_959_605_222.0),
                entry("cpu_sys_usage", 19_912_741.0),
                entry("cpu_wait_time", 6_763_724_000.0),
                entry("cpu_throttled_periods", 84.0),
                entry("cpu_throttled_seconds", 6.632871626));
    }

    @Test
    void cpuOnPureV1HostTakesTheWaitFromThrottledTime() throws Exception {
        // a declared cgroup that the cgroup2 tree does not mirror: its PSI would be some ancestor's
        var mounts = CgroupMounts.parse(Fixtures.text("cgroup-v1", "proc/self/mountinfo"))
                .under(Fixtures.root("cgroup-v1"));
        var v1Only = new CgroupFiles(Fixtures.root("cgroup-v1").resolve("proc"),
                new CgroupMounts(mounts.v1(), java.util.Optional.empty()));
        var cpu = new CpuCollector(v1Only, Duration.ofSeconds(1));

        assertThat(values(cpu.collect(V1))).contains(entry("cpu_wait_time", 6_632_871_626.0));
    }

    @Test
    void cpuOnV2() throws Exception {
        var cpu = new CpuCollector(Fixtures.cgroups("cgroup-v2"), Duration.ofSeconds(1));

        assertThat(values(cpu.collect(V2))).contains(
                entry("cpu_user_usage", 7_507_125_000.0),
                entry("cpu_sys_usage", 2_542_321_000.0),
                entry("cpu_wait_time", 38_697_481_000.0));
    }

    @Test
    void seedCountersAreUntypedAndTheRestFollowConventions() throws Exception {
        var snapshots = new CpuCollector(Fixtures.cgroups("cgroup-v2"), Duration.ofSeconds(1)).collect(V2);

        assertThat(snapshots.get(0)).isInstanceOf(UnknownSnapshot.class);
        assertThat(snapshots.get(0).getMetadata().getHelp()).startsWith("counter, nanoseconds");
        assertThat(snapshots.get(4)).isInstanceOf(CounterSnapshot.class);
    }

    @Test
    void memoryOnV1AndV2() throws Exception {
        var v1 = new MemoryCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), Duration.ZERO);
        var v2 = new MemoryCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), Duration.ZERO);

        assertThat(values(v1.collect(V1))).containsExactly(
                entry("mem_agg_usage", 663_552.0), entry("mem_limit", 67_108_864.0),
                entry("mem_swap", 0.0), entry("mem_swap_limit", 0.0));
        assertThat(values(v2.collect(V2))).containsExactly(
                entry("mem_agg_usage", 17_035_264.0), entry("mem_limit", 67_108_864.0),
                entry("mem_swap", 0.0), entry("mem_swap_limit", 33_554_432.0));
        assertThat(v2.collect(V2)).allMatch(s -> s instanceof GaugeSnapshot);
    }

    @Test
    void networkPerInterfaceOfTheInstancesNamespace() throws Exception {
        var net = new NetworkCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), Duration.ZERO);

        List<MetricSnapshot> snapshots = net.collect(V2);

        assertThat(snapshots).extracting(s -> s.getMetadata().getName())
                .containsExactly("net_agg_packets_in", "net_agg_packets_out", "net_agg_bytes_in", "net_agg_bytes_out");
        var bytesOut = (UnknownSnapshot) snapshots.get(3);
        assertThat(bytesOut.getDataPoints()).extracting(p -> p.getLabels().get("interface"), p -> p.getValue())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("lo", 1_011_348.0)); // its own namespace
    }

    @Test
    void networkOfAnInstanceKnownOnlyByCgroupReadsThroughOneOfItsProcesses() throws Exception {
        var net = new NetworkCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), Duration.ZERO);

        var snapshots = net.collect(Fixtures.byCgroup("lxc", "/docker/" + Fixtures.V1_ID));

        assertThat(((UnknownSnapshot) snapshots.get(3)).getDataPoints().get(0).getValue()).isEqualTo(1456.0);
    }

    @Test
    void loadCountsRunnableAndUninterruptibleTasksOfTheCgroup() throws Exception {
        var v1 = new LoadCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), null);
        var v2 = new LoadCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), null);

        assertThat(v1.runnable(V1)).isEqualTo(1); // yes: R, sleep: S
        assertThat(v2.runnable(V2)).isEqualTo(1); // the busy loop R, the namespace's sleep S
    }

    @Test
    void loadIsDampedLikeTheKernelsOneMinuteAverage() throws Exception {
        long[] now = {0};
        var load = new LoadCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), null, () -> now[0]);
        var idle = Fixtures.running("idle", 0);

        var cgfs = Fixtures.running("cgfs", Fixtures.V2_CGFS_PID); // two busy loops
        double first = values(load.collect(cgfs)).get("load_average");
        for (int i = 0; i < 12; i++) { // one minute of 5 s samples with 2 runnable tasks
            load.sample();
        }
        double afterMinute = values(load.collect(cgfs)).get("load_average");

        assertThat(first).isEqualTo(2.0); // seeded with the count at the first scrape
        assertThat(afterMinute).isCloseTo(2.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(LoadCollector.EXP_1).isCloseTo(1884.0 / 2048, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(idle.pid()).isZero();
    }

    private static Map<String, Double> values(List<MetricSnapshot> snapshots) {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (MetricSnapshot s : snapshots) {
            DataPointSnapshot p = s.getDataPoints().get(0);
            double v = p instanceof UnknownSnapshot.UnknownDataPointSnapshot u ? u.getValue()
                    : p instanceof GaugeSnapshot.GaugeDataPointSnapshot g ? g.getValue()
                    : ((CounterSnapshot.CounterDataPointSnapshot) p).getValue();
            out.put(s.getMetadata().getName(), v);
        }
        return out;
    }
}
