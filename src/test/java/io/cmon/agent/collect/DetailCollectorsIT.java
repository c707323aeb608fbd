package io.cmon.agent.collect;

import io.cmon.testing.TestCgroup;
import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The collectors beyond the baseline against this host's kernel: a v1 cgroup the test creates with a CPU cap of
 * 0.2 cores and a busy process in it, and a process in a network namespace of its own making a TCP connection over
 * its loopback.
 */
class DetailCollectorsIT {

    private static final String[] CONTROLLERS = {"cpu", "cpuacct", "memory", "pids", "blkio"};

    private TestCgroup cgroup;
    private final ExecutorService workers = Executors.newFixedThreadPool(2);
    private final ScheduledExecutorService background = Executors.newScheduledThreadPool(2);
    private InstanceMetrics metrics;

    @BeforeEach
    void createCgroup() throws IOException {
        cgroup = TestCgroup.create(CONTROLLERS);
        cgroup.set("cpu", "cpu.cfs_period_us", "100000").set("cpu", "cpu.cfs_quota_us", "20000");
        metrics = new InstanceMetrics(InstanceMetrics.standardCollectors(CgroupFiles.detect(Path.of("/proc")),
                new ProcFiles(Path.of("/proc")), background), workers);
    }

    @AfterEach
    void cleanUp() throws Exception {
        workers.shutdownNow();
        background.shutdownNow();
        cgroup.close();
    }

    private static Instance declared(long pid, String cgroup) {
        return new Instance(UUID.randomUUID().toString(), "it", null, null, "lxc", List.of(), "running", pid, cgroup,
                null, "declared");
    }

    private MetricSnapshots collect(Instance instance) throws Exception {
        return metrics.collect(instance).get(10, TimeUnit.SECONDS);
    }

    private static double value(MetricSnapshots snapshots, String metric) {
        MetricSnapshot s = snapshots.stream().filter(m -> m.getMetadata().getName().equals(metric)).findFirst()
                .orElseThrow(() -> new AssertionError(metric + " missing from "
                        + snapshots.stream().map(m -> m.getMetadata().getName()).toList()));
        DataPointSnapshot p = s.getDataPoints().get(0);
        return p instanceof GaugeSnapshot.GaugeDataPointSnapshot g ? g.getValue()
                : p instanceof UnknownSnapshot.UnknownDataPointSnapshot u ? u.getValue()
                : ((CounterSnapshot.CounterDataPointSnapshot) p).getValue();
    }

    @Test
    void cappedBusyProcessShowsItsQuotaAndGetsThrottled() throws Exception {
        Process busy = cgroup.startInside("sh", "-c", "while :; do :; done");
        Instance instance = declared(0, cgroup.path());

        MetricSnapshots first = collect(instance);
        Thread.sleep(1500); // past the 1 s TTL: fifteen 100 ms periods, each exhausting a 20 ms quota
        MetricSnapshots second = collect(instance);

        assertThat(value(second, "cpu_quota_cores")).isEqualTo(0.2);
        assertThat(value(second, "cpu_throttled_periods")).isGreaterThan(value(first, "cpu_throttled_periods"));
        assertThat(value(second, "cpu_periods")).isGreaterThanOrEqualTo(value(second, "cpu_throttled_periods"));
        assertThat(value(second, "cpu_throttled_seconds")).isPositive();
        assertThat(value(second, "processes_current")).isGreaterThanOrEqualTo(1);
        // readAllLines, not readString: readString reads a sysctl file at offset 1 after one byte and gets "3"
        assertThat(value(second, "processes_limit"))
                .isEqualTo(Double.parseDouble(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim()));
        assertThat(value(second, "mem_rss_bytes")).isNotNegative();
        assertThat(value(second, "mem_failcnt")).isZero();
        assertThat(value(second, "mem_oom_kills")).isZero();
        assertThat(value(second, "disk_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(second, "disk_read_bytes")).isNotNegative();
        assertThat(value(second, "cpu_quota_seconds")).isEqualTo(0.02);
        assertThat(value(second, "cpu_period_seconds")).isEqualTo(0.1);
        // v1 sources of the memory detail: memory.max_usage_in_bytes, kmem, memory.stat total_*
        assertThat(value(second, "mem_peak_bytes")).isGreaterThanOrEqualTo(value(second, "mem_rss_bytes"));
        assertThat(value(second, "mem_kernel_bytes")).isNotNegative();
        assertThat(value(second, "mem_page_faults")).isNotNegative();
        assertThat(value(second, "mem_workingset_refault_file")).isNotNegative();
        // the cgroup exists on the v1 hierarchies only: the hybrid host's cgroup2 tree has no PSI of it
        assertThat(value(second, "pressure_metrics_available_boolean")).isZero();
        for (String collector : List.of("mem_detail", "tcp", "processes")) {
            assertThat(value(second, collector + "_metrics_available_boolean")).as(collector).isEqualTo(1.0);
        }
    }

    @Test
    void programsStartedInTheInstanceAreCountedAsItsPageFaults() throws Exception {
        // every exec maps a fresh program image: tens of page faults each, charged to the instance's memory cgroup
        Process starter = cgroup.startInside("sh", "-c",
                "read go; i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done; echo done; exec sleep 60");
        Instance instance = declared(0, cgroup.path());
        MetricSnapshots before = collect(instance);

        starter.getOutputStream().write('\n');
        starter.getOutputStream().flush();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(1100))
                .until(() -> value(collect(instance), "mem_page_faults") - value(before, "mem_page_faults") >= 100);
        MetricSnapshots after = collect(instance);

        // pages charged since the move: the high-water mark of the cgroup is above nothing
        assertThat(value(after, "mem_peak_bytes")).isPositive();
        assertThat(value(after, "mem_page_faults")).isGreaterThanOrEqualTo(value(before, "mem_page_faults") + 100);
    }

    @Test
    void onAHybridHostPsiOfTheCgroup2TreeMirroringTheInstanceGrowsWhenItIsThrottled() throws Exception {
        // the same cgroup on the v1 hierarchies and in the controller-less cgroup2 tree, as Docker and systemd do
        try (TestCgroup mirrored = TestCgroup.create("cpu", "cpuacct", "memory", "unified")) {
            mirrored.set("cpu", "cpu.cfs_period_us", "100000").set("cpu", "cpu.cfs_quota_us", "20000");
            Process busy = mirrored.startInside("sh", "-c", "while :; do :; done");
            Instance byPid = declared(busy.pid(), null);
            Instance byPath = declared(0, mirrored.path());

            MetricSnapshots first = collect(byPid);
            Thread.sleep(1500); // 15 periods of 100 ms, each leaving the task runnable but throttled for 80 ms
            MetricSnapshots second = collect(byPid);
            MetricSnapshots declaredByPath = collect(byPath);

            assertThat(value(second, "pressure_metrics_available_boolean")).isEqualTo(1.0);
            // ≥ 0.5 s of the 1.5 s spent waiting: the quota leaves the task runnable 80 % of each period
            assertThat(value(second, "pressure_cpu_waiting_seconds") - value(first, "pressure_cpu_waiting_seconds"))
                    .isGreaterThan(0.5);
            // one task: whenever it waits, all of the instance's tasks wait (kernel ≥ 5.13 writes the full line)
            assertThat(value(second, "pressure_cpu_stalled_seconds")).isGreaterThan(
                    value(first, "pressure_cpu_stalled_seconds"));
            assertThat(value(second, "pressure_memory_waiting_seconds")).isNotNegative();
            assertThat(value(second, "pressure_io_stalled_seconds")).isNotNegative();
            // the seed's cpu_wait_time is the same PSI reading in ns
            assertThat(value(second, "cpu_wait_time") / 1e9).isCloseTo(
                    value(second, "pressure_cpu_waiting_seconds"), org.assertj.core.data.Offset.offset(0.2));
            assertThat(value(declaredByPath, "pressure_cpu_waiting_seconds")).isGreaterThanOrEqualTo(
                    value(second, "pressure_cpu_waiting_seconds"));
        }
    }

    @Test
    void directWritesOfTheInstanceAreCountedOnTheDeviceTheyWentToWithItsNameAndIoPressure(@TempDir Path dir)
            throws Exception {
        String device = wholeDisk(dir);
        try (TestCgroup writing = TestCgroup.create("cpu", "blkio", "unified")) {
            // kernels ≥ 6.x count v1 throttle statistics only where blk-throttle is active: a rule no one reaches
            writing.set("blkio", "blkio.throttle.write_bps_device", device + " 1099511627776");
            Path file = dir.resolve("written");
            Process writer = writing.startInside("sh", "-c", "read go; dd if=/dev/zero of=" + file
                    + " bs=65536 count=40 oflag=direct; exec sleep 60");
            Instance instance = declared(writer.pid(), null);
            MetricSnapshots before = collect(instance);

            writer.getOutputStream().write('\n'); // now that it is in the cgroup
            writer.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(1100))
                    .until(() -> deviceValue(collect(instance), "disk_device_written_bytes", device) >= 40 * 65536);
            Thread.sleep(1100);
            MetricSnapshots after = collect(instance);

            assertThat(deviceValue(before, "disk_device_written_bytes", device)).isZero();
            assertThat(deviceValue(after, "disk_device_writes", device)).isGreaterThanOrEqualTo(40);
            assertThat(value(after, "disk_written_bytes")).isGreaterThanOrEqualTo(40 * 65536);
            assertThat(deviceName(after, "disk_device_written_bytes", device)).isEqualTo(partitionsName(device));
            // each direct write waits for the device: time the instance's only task spent in I/O wait
            assertThat(value(after, "pressure_io_waiting_seconds"))
                    .isGreaterThan(value(before, "pressure_io_waiting_seconds"));
        }
    }

    /** {@code major:minor} of the disk holding {@code dir} (the disk, not a partition: blkio counts per disk). */
    private static String wholeDisk(Path dir) throws IOException {
        long dev = (Long) Files.getAttribute(dir, "unix:dev");
        long major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >> 12) & ~0xffL);
        org.junit.jupiter.api.Assumptions.assumeTrue(major != 0,
                "the temporary directory must be on a block device, not " + major + ":" + minor);
        Path sys = Path.of("/sys/dev/block/" + major + ":" + minor);
        return Files.exists(sys.resolve("partition"))
                ? Files.readString(sys.resolve("../dev")).trim() : major + ":" + minor;
    }

    /** The device's name in /proc/partitions ({@code major minor #blocks name}): another source than uevent. */
    private static String partitionsName(String device) throws IOException {
        String[] mm = device.split(":");
        return Files.readAllLines(Path.of("/proc/partitions")).stream().map(String::trim)
                .map(l -> l.split("\\s+")).filter(f -> f.length == 4 && f[0].equals(mm[0]) && f[1].equals(mm[1]))
                .map(f -> f[3]).findFirst().orElseThrow(() -> new AssertionError(device + " not in /proc/partitions"));
    }

    private static CounterSnapshot.CounterDataPointSnapshot devicePoint(MetricSnapshots snapshots, String metric,
                                                                         String device) {
        var s = (CounterSnapshot) snapshots.stream().filter(m -> m.getMetadata().getName().equals(metric))
                .findFirst().orElseThrow(() -> new AssertionError(metric + " missing"));
        return s.getDataPoints().stream().filter(p -> device.equals(p.getLabels().get("device"))).findFirst()
                .orElse(null);
    }

    /** 0 when the device has no line yet: the kernel lists a device once the cgroup did I/O on it. */
    private static double deviceValue(MetricSnapshots snapshots, String metric, String device) {
        var p = devicePoint(snapshots, metric, device);
        return p == null ? 0 : p.getValue();
    }

    private static String deviceName(MetricSnapshots snapshots, String metric, String device) {
        var p = devicePoint(snapshots, metric, device);
        assertThat(p).as(metric + " of " + device).isNotNull();
        return p.getLabels().get("device_name");
    }

    @Test
    void aLoopbackConnectionInItsOwnNetworkNamespaceCountsAsActiveAndPassiveOpen() throws Exception {
        // connects only after the first scrape, so the scrape sees the namespace's counters before and after
        Process isolated = cgroup.start("unshare", "-n", "sh", "-c",
                // the listener's stdin stays open (a background job's would be /dev/null: it would hang up at
                // once); connect only once it listens (port 7001 = 0x1B59 in state 0A), so it is one clean open
                "ip link set lo up; sleep 2; sleep 60 | busybox nc -l -p 7001 > /dev/null &"
                        + " until grep -qE ':1B59 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done;"
                        + " head -c 10000 /dev/zero | busybox nc 127.0.0.1 7001; exec sleep 60");
        Path ownNetns = Files.readSymbolicLink(Path.of("/proc/self/ns/net"));
        Path netns = Path.of("/proc/" + isolated.pid() + "/ns/net");
        await().atMost(Duration.ofSeconds(5)).until(() -> !Files.readSymbolicLink(netns).equals(ownNetns));
        Instance instance = declared(isolated.pid(), null);

        MetricSnapshots before = collect(instance);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1100))
                .until(() -> value(collect(instance), "tcp_active_opens") >= 1);
        Thread.sleep(1100);
        MetricSnapshots after = collect(instance);

        assertThat(value(before, "tcp_active_opens")).isZero();
        assertThat(value(before, "tcp_passive_opens")).isZero();
        assertThat(value(after, "tcp_active_opens")).isEqualTo(1.0);
        assertThat(value(after, "tcp_passive_opens")).isEqualTo(1.0);
        assertThat(value(after, "tcp_failed_connection_attempts")).isZero();
        assertThat(value(after, "tcp_listen_drops")).isZero();
        assertThat(value(after, "tcp_current_established")).isNotNegative();
    }
}
