package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/** The collectors beyond the baseline, end to end over the v1 (hybrid) and v2 fixture trees. */
class DetailCollectorsOnFixturesTest {

    private static final Instance V1 = Fixtures.running("v1", Fixtures.V1_PID);
    private static final Instance V2 = Fixtures.running("v2", Fixtures.V2_PID);
    /** Declared by cgroup: a shell in it was OOM-killed under memory.max 32 MiB. */
    private static final Instance V2_OOM = Fixtures.byCgroup("oom", "/cmon-it/oom");
    private static final Duration TTL = Duration.ofSeconds(1);

    @Test
    void cpuReportsItsQuotaInCoresOnV1AndV2() throws Exception {
        assertThat(values(new CpuCollector(Fixtures.cgroups("cgroup-v1"), TTL).collect(V1)))
                .contains(entry("cpu_quota_cores", 0.2), entry("cpu_periods", 87.0));
        assertThat(values(new CpuCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2)))
                .contains(entry("cpu_quota_cores", 0.2), entry("cpu_throttled_periods", 501.0),
                        entry("cpu_throttled_seconds", 34.065268));
    }

    @Test
    void memoryDetailNamesTheLimitCounterOfEachCgroupVersion() throws Exception {
        assertThat(values(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v1"), TTL).collect(V1)))
                .containsExactly(entry("mem_cache_bytes", 0.0), entry("mem_rss_bytes", 114_688.0),
                        entry("mem_oom_kills", 0.0), entry("mem_failcnt", 0.0));
        assertThat(values(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2_OOM)))
                .containsExactly(entry("mem_cache_bytes", 57_344.0), entry("mem_rss_bytes", 110_592.0),
                        entry("mem_oom_kills", 1.0), entry("mem_max_events", 66.0));
    }

    @Test
    void tcpOfTheInstancesNamespace() throws Exception {
        var tcp = new TcpCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), TTL);

        assertThat(values(tcp.collect(V2))).containsExactly(
                entry("tcp_active_opens", 2.0), entry("tcp_passive_opens", 1.0),
                entry("tcp_failed_connection_attempts", 1.0), entry("tcp_retransmitted_segments", 0.0),
                entry("tcp_current_established", 0.0), entry("tcp_listen_drops", 0.0));
    }

    @Test
    void tcpOfAnInstanceKnownOnlyByCgroup() throws Exception {
        var tcp = new TcpCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), TTL);

        assertThat(values(tcp.collect(Fixtures.byCgroup("lxc", "/docker/" + Fixtures.V1_ID))))
                .contains(entry("tcp_active_opens", 1832.0));
    }

    @Test
    void diskOnV1AndV2() throws Exception {
        assertThat(values(new DiskCollector(Fixtures.cgroups("cgroup-v1"), TTL).collect(V1))).containsExactly(
                entry("disk_read_bytes", 2_621_440.0), entry("disk_written_bytes", 2_650_112.0),
                entry("disk_reads", 40.0), entry("disk_writes", 48.0));
        assertThat(values(new DiskCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2)))
                .containsExactly(entry("disk_read_bytes", 2_621_440.0), entry("disk_written_bytes", 2_621_440.0),
                        entry("disk_reads", 40.0), entry("disk_writes", 40.0));
    }

    @Test
    void processesOnV1AndV2() throws Exception {
        assertThat(values(new ProcessesCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), TTL)
                .collect(V1))).containsExactly(entry("processes_current", 2.0), entry("processes_limit", 32768.0));
        assertThat(values(new ProcessesCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), TTL)
                .collect(V2))).containsExactly(entry("processes_current", 2.0), entry("processes_limit", 64.0));
    }

    @Test
    void newCountersAreExposedWithTotalSuffixAndBaseUnits() throws Exception {
        List<MetricSnapshot> all = new java.util.ArrayList<>();
        all.addAll(new TcpCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), TTL).collect(V2));
        all.addAll(new DiskCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2));
        all.addAll(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2_OOM));

        String text = PrometheusTextFormatWriter.create().toDebugString(new MetricSnapshots(all));

        assertThat(text).contains("# TYPE tcp_active_opens_total counter", "tcp_active_opens_total 2.0",
                "# TYPE tcp_current_established gauge", "disk_read_bytes_total 2621440.0",
                "mem_oom_kills_total 1.0", "mem_max_events_total 66.0", "# TYPE mem_rss_bytes gauge");
    }

    private static Map<String, Double> values(List<MetricSnapshot> snapshots) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (MetricSnapshot s : snapshots) {
            DataPointSnapshot p = s.getDataPoints().get(0);
            out.put(s.getMetadata().getName(), p instanceof GaugeSnapshot.GaugeDataPointSnapshot g ? g.getValue()
                    : p instanceof UnknownSnapshot.UnknownDataPointSnapshot u ? u.getValue()
                    : ((CounterSnapshot.CounterDataPointSnapshot) p).getValue());
        }
        return out;
    }
}
