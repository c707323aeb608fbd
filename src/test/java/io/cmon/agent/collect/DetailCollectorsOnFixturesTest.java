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
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
                .contains(entry("cpu_quota_cores", 0.2), entry("cpu_periods", 87.0),
                        entry("cpu_quota_seconds", 0.02), entry("cpu_period_seconds", 0.1));
        assertThat(values(new CpuCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2)))
                .contains(entry("cpu_quota_cores", 0.2), entry("cpu_throttled_periods", 501.0),
                        entry("cpu_throttled_seconds", 34.065268), entry("cpu_periods", 508.0),
                        entry("cpu_quota_seconds", 0.02), entry("cpu_period_seconds", 0.1));
    }

    @Test
    void uncappedCpuHasAPeriodButNoQuota() throws Exception {
        var cpu = new CpuCollector(Fixtures.cgroups("cgroup-v2"), TTL);

        var values = values(cpu.collect(V2_OOM)); // cpu.max "max 100000"

        assertThat(values).contains(entry("cpu_period_seconds", 0.1))
                .doesNotContainKeys("cpu_quota_cores", "cpu_quota_seconds");
    }

    @Test
    void memoryDetailOnV1() throws Exception {
        assertThat(values(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v1"), TTL).collect(V1)))
                .containsExactly(entry("mem_cache_bytes", 0.0), entry("mem_rss_bytes", 114_688.0),
                        entry("mem_shmem_bytes", 0.0), entry("mem_kernel_bytes", 352_256.0),
                        entry("mem_peak_bytes", 4_087_808.0), entry("mem_page_faults", 1456.0),
                        entry("mem_major_page_faults", 0.0), entry("mem_workingset_refault_anon", 0.0),
                        entry("mem_workingset_refault_file", 0.0), entry("mem_oom_kills", 0.0),
                        entry("mem_failcnt", 0.0));
    }

    @Test
    void memoryDetailOnV2OfAnOomKilledInstance() throws Exception {
        assertThat(values(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2_OOM)))
                .containsExactly(entry("mem_cache_bytes", 57_344.0), entry("mem_rss_bytes", 110_592.0),
                        entry("mem_shmem_bytes", 0.0), entry("mem_kernel_bytes", 77_824.0),
                        entry("mem_peak_bytes", 33_554_432.0), entry("mem_page_faults", 2793.0),
                        entry("mem_major_page_faults", 3.0), entry("mem_workingset_refault_anon", 0.0),
                        entry("mem_workingset_refault_file", 18.0), entry("mem_workingset_activate_anon", 0.0),
                        entry("mem_workingset_activate_file", 0.0), entry("mem_oom_kills", 1.0),
                        entry("mem_max_events", 66.0), entry("mem_high_events", 0.0), entry("mem_low_events", 0.0),
                        entry("mem_oom_events", 2.0), entry("mem_oom_group_kills", 0.0));
    }

    @Test
    void memoryDetailOnV2OfAnInstanceThatWroteToTmpfs() throws Exception {
        assertThat(values(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2)))
                .contains(entry("mem_shmem_bytes", 8_388_608.0), entry("mem_peak_bytes", 17_514_496.0),
                        entry("mem_oom_kills", 0.0));
    }

    @Test
    void pressureOnV2ForCpuMemoryAndIo() throws Exception {
        var pressure = new PressureCollector(Fixtures.cgroups("cgroup-v2"), TTL);

        assertThat(values(pressure.collect(V2))).containsExactly(
                entry("pressure_cpu_waiting_seconds", 38.697481), entry("pressure_cpu_stalled_seconds", 37.865606),
                entry("pressure_memory_waiting_seconds", 0.0), entry("pressure_memory_stalled_seconds", 0.0),
                entry("pressure_io_waiting_seconds", 0.034297), entry("pressure_io_stalled_seconds", 0.034297));
        assertThat(values(pressure.collect(V2_OOM))).contains(
                entry("pressure_memory_waiting_seconds", 0.135209), entry("pressure_memory_stalled_seconds", 0.042513));
    }

    @Test
    void pressureOnAHybridHostComesFromTheCgroup2TreeMirroringTheInstance() throws Exception {
        var pressure = new PressureCollector(Fixtures.cgroups("cgroup-v1"), TTL);

        assertThat(values(pressure.collect(V1))).contains(
                entry("pressure_cpu_waiting_seconds", 6.763724), entry("pressure_cpu_stalled_seconds", 6.761719),
                entry("pressure_io_waiting_seconds", 0.0));
    }

    @Test
    void pressureOnAPureV1HostIsUnavailableRatherThanZero() {
        var mounts = CgroupMounts.parse(Fixtures.text("cgroup-v1", "proc/self/mountinfo"))
                .under(Fixtures.root("cgroup-v1"));
        var v1Only = new CgroupFiles(Fixtures.root("cgroup-v1").resolve("proc"),
                new CgroupMounts(mounts.v1(), java.util.Optional.empty()));

        assertThatThrownBy(() -> new PressureCollector(v1Only, TTL).collect(V1))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("PSI");
    }

    @Test
    void pressureOfAnOlderKernelLeavesOutTheCpuFullLineItDoesNotWrite(@TempDir Path cgroup2) throws Exception {
        Path dir = Files.createDirectories(cgroup2.resolve("old"));
        Files.writeString(dir.resolve("cpu.pressure"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=250000\n");
        Files.writeString(dir.resolve("memory.pressure"),
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        var cgroups = new CgroupFiles(cgroup2.resolve("no-proc"),
                new CgroupMounts(Map.of(), java.util.Optional.of(new CgroupMounts.Mount("/", cgroup2))));

        var values = values(new PressureCollector(cgroups, TTL).collect(Fixtures.byCgroup("old", "/old")));

        assertThat(values).containsExactly(entry("pressure_cpu_waiting_seconds", 0.25),
                entry("pressure_memory_waiting_seconds", 0.0), entry("pressure_memory_stalled_seconds", 0.0));
    }

    @Test
    void pressureWithoutAnyPsiFileIsUnavailable(@TempDir Path cgroup2) throws Exception {
        Files.createDirectories(cgroup2.resolve("nopsi"));
        var cgroups = new CgroupFiles(cgroup2.resolve("no-proc"),
                new CgroupMounts(Map.of(), java.util.Optional.of(new CgroupMounts.Mount("/", cgroup2))));

        assertThatThrownBy(() -> new PressureCollector(cgroups, TTL).collect(Fixtures.byCgroup("n", "/nopsi")))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("psi=0");
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
        assertThat(values(new DiskCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.devices("cgroup-v1"), TTL)
                .collect(V1))).contains(
                entry("disk_read_bytes", 2_621_440.0), entry("disk_written_bytes", 2_650_112.0),
                entry("disk_reads", 40.0), entry("disk_writes", 48.0));
        assertThat(values(new DiskCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.devices("cgroup-v2"), TTL)
                .collect(V2))).contains(entry("disk_read_bytes", 2_621_440.0), entry("disk_written_bytes", 2_621_440.0),
                entry("disk_reads", 40.0), entry("disk_writes", 40.0));
    }

    @Test
    void diskPerDeviceIsLabelledWithNumberAndNameWhereTheServerHasOne() throws Exception {
        var v2 = new DiskCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.devices("cgroup-v2"), TTL).collect(V2);
        var v1 = new DiskCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.devices("cgroup-v1"), TTL).collect(V1);

        assertThat(perDevice(v2, "disk_device_read_bytes")).containsExactly(entry("254:0 vda", 2_621_440.0));
        assertThat(perDevice(v2, "disk_device_written_bytes")).containsExactly(entry("254:0 vda", 2_621_440.0));
        assertThat(perDevice(v2, "disk_device_reads")).containsExactly(entry("254:0 vda", 40.0));
        assertThat(perDevice(v2, "disk_device_writes")).containsExactly(entry("254:0 vda", 40.0));
        assertThat(perDevice(v1, "disk_device_written_bytes")).containsExactly(entry("254:0 vda", 2_650_112.0));
        assertThat(perDevice(v1, "disk_device_writes")).containsExactly(entry("254:0 vda", 48.0));
    }

    @Test
    void aDeviceTheServerHasNoSysEntryForIsReportedWithAnEmptyName(@TempDir Path emptySysDevBlock) throws Exception {
        var v2 = new DiskCollector(Fixtures.cgroups("cgroup-v2"), new BlockDevices(emptySysDevBlock), TTL).collect(V2);

        assertThat(perDevice(v2, "disk_device_written_bytes")).containsExactly(entry("254:0 ", 2_621_440.0));
    }

    @Test
    void aCgroupWithoutIoYetHasZeroSumsAndNoPerDeviceSeries() throws Exception {
        // captured: the OOM victim's cgroup did no block I/O, its io.stat is empty
        var snapshots = new DiskCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.devices("cgroup-v2"), TTL)
                .collect(V2_OOM);
        String text = PrometheusTextFormatWriter.create().toDebugString(new MetricSnapshots(snapshots));

        assertThat(text).contains("disk_written_bytes_total 0.0").doesNotContain("disk_device_written_bytes_total{");
    }

    @Test
    void processesOnV1AndV2() throws Exception {
        assertThat(values(new ProcessesCollector(Fixtures.cgroups("cgroup-v1"), Fixtures.proc("cgroup-v1"), TTL)
                .collect(V1))).containsExactly(entry("processes_current", 2.0), entry("processes_limit", 32768.0));
        assertThat(values(new ProcessesCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), TTL)
                .collect(V2))).containsExactly(entry("processes_current", 2.0), entry("processes_limit", 64.0));
    }

    @Test
    void theServersPidMaxIsReadOncePerHostTtlNotOnEveryScrape(@TempDir Path procRoot)
            throws Exception {
        Path pidMax = procRoot.resolve("sys/kernel/pid_max");
        Files.createDirectories(pidMax.getParent());
        Files.writeString(pidMax, "4096\n");
        ProcFiles proc = new ProcFiles(procRoot);
        // the v1 fixture's pids.max is "max": the limit is the server's pid_max
        var kept = new ProcessesCollector(Fixtures.cgroups("cgroup-v1"), proc, TTL, Duration.ofHours(1));
        var everyTime = new ProcessesCollector(Fixtures.cgroups("cgroup-v1"), proc, TTL, Duration.ZERO);
        assertThat(values(kept.collect(V1))).containsEntry("processes_limit", 4096.0);
        assertThat(values(everyTime.collect(V1))).containsEntry("processes_limit", 4096.0);

        Files.writeString(pidMax, "2048\n"); // sysctl kernel.pid_max=2048

        assertThat(values(kept.collect(V1))).containsEntry("processes_limit", 4096.0)
                .containsEntry("processes_current", 2.0); // the instance's own count is still read
        assertThat(values(everyTime.collect(V1))).containsEntry("processes_limit", 2048.0);
    }

    @Test
    void newCountersAreExposedWithTotalSuffixAndBaseUnits() throws Exception {
        List<MetricSnapshot> all = new java.util.ArrayList<>();
        all.addAll(new TcpCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.proc("cgroup-v2"), TTL).collect(V2));
        all.addAll(new DiskCollector(Fixtures.cgroups("cgroup-v2"), Fixtures.devices("cgroup-v2"), TTL).collect(V2));
        all.addAll(new MemoryDetailCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2_OOM));
        all.addAll(new PressureCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2));
        all.addAll(new CpuCollector(Fixtures.cgroups("cgroup-v2"), TTL).collect(V2));

        String text = PrometheusTextFormatWriter.create().toDebugString(new MetricSnapshots(all));

        assertThat(text).contains("# TYPE tcp_active_opens_total counter", "tcp_active_opens_total 2.0",
                "# TYPE tcp_current_established gauge", "disk_read_bytes_total 2621440.0",
                "mem_oom_kills_total 1.0", "mem_max_events_total 66.0", "# TYPE mem_rss_bytes gauge",
                "# TYPE pressure_cpu_waiting_seconds_total counter", "pressure_cpu_waiting_seconds_total 38.697481",
                "pressure_io_stalled_seconds_total 0.034297", "mem_oom_events_total 2.0",
                "mem_major_page_faults_total 3.0", "# TYPE mem_peak_bytes gauge", "mem_peak_bytes 3.3554432E7",
                "# TYPE cpu_period_seconds gauge", "cpu_period_seconds 0.1", "cpu_quota_seconds 0.02",
                "disk_device_read_bytes_total{device=\"254:0\",device_name=\"vda\"} 2621440.0");
    }

    /** {@code "<device> <device_name>"} → value of each data point of a per-device counter. */
    private static Map<String, Double> perDevice(List<MetricSnapshot> snapshots, String metric) {
        Map<String, Double> out = new LinkedHashMap<>();
        var s = (CounterSnapshot) snapshots.stream().filter(m -> m.getMetadata().getName().equals(metric))
                .findFirst().orElseThrow();
        for (var p : s.getDataPoints()) {
            out.put(p.getLabels().get("device") + " " + p.getLabels().get("device_name"), p.getValue());
        }
        return out;
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
