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
        assertThat(value(second, "processes_limit"))
                .isEqualTo(Double.parseDouble(Files.readString(Path.of("/proc/sys/kernel/pid_max")).trim()));
        assertThat(value(second, "mem_rss_bytes")).isNotNegative();
        assertThat(value(second, "mem_failcnt")).isZero();
        assertThat(value(second, "mem_oom_kills")).isZero();
        assertThat(value(second, "disk_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(second, "disk_read_bytes")).isNotNegative();
        for (String collector : List.of("mem_detail", "tcp", "processes")) {
            assertThat(value(second, collector + "_metrics_available_boolean")).as(collector).isEqualTo(1.0);
        }
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
