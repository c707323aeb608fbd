package io.cmon.agent.collect;

import io.cmon.testing.TestCgroup;
import io.cmon.agent.runtime.Instance;
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
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The standard collectors against this host's kernel: a cgroup the test creates on the v1 hierarchies, with a busy
 * process in it and a 64 MiB memory limit, declared by pid and by cgroup path; and a process in a network namespace
 * of its own.
 */
class DeclaredCgroupCollectorsIT {

    private static final String[] CONTROLLERS = {"cpu", "cpuacct", "memory", "pids"};

    private TestCgroup cgroup;
    private final ExecutorService workers = Executors.newFixedThreadPool(2);
    private final ScheduledExecutorService background = Executors.newScheduledThreadPool(2);
    private InstanceMetrics metrics;

    @BeforeEach
    void createCgroup() throws IOException {
        cgroup = TestCgroup.create(CONTROLLERS);
        cgroup.set("memory", "memory.limit_in_bytes", "67108864");
        CgroupFiles cgroups = CgroupFiles.detect(Path.of("/proc"));
        ProcFiles proc = new ProcFiles(Path.of("/proc"));
        metrics = new InstanceMetrics(InstanceMetrics.standardCollectors(cgroups, proc, background), workers);
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

    private static double value(MetricSnapshots snapshots, String metric, String iface) {
        MetricSnapshot s = snapshots.stream().filter(m -> m.getMetadata().getName().equals(metric)).findFirst()
                .orElseThrow(() -> new AssertionError(metric + " missing from " + names(snapshots)));
        for (DataPointSnapshot p : s.getDataPoints()) {
            if (iface == null || iface.equals(p.getLabels().get("interface"))) {
                return p instanceof UnknownSnapshot.UnknownDataPointSnapshot u ? u.getValue()
                        : ((GaugeSnapshot.GaugeDataPointSnapshot) p).getValue();
            }
        }
        throw new AssertionError(metric + " has no interface " + iface);
    }

    private static List<String> names(MetricSnapshots snapshots) {
        return snapshots.stream().map(m -> m.getMetadata().getName()).toList();
    }

    @Test
    void busyDeclaredProcessGrowsCpuAndReportsItsMemoryLimitAndLoopback() throws Exception {
        Process busy = cgroup.startInside("sh", "-c", "while :; do :; done");
        Instance instance = declared(busy.pid(), null);

        MetricSnapshots first = metrics.collect(instance).get(5, TimeUnit.SECONDS);
        Thread.sleep(1200); // past the 1 s TTL of the counters
        MetricSnapshots second = metrics.collect(instance).get(5, TimeUnit.SECONDS);

        assertThat(value(second, "cpu_user_usage", null)).isGreaterThan(value(first, "cpu_user_usage", null));
        assertThat(value(second, "mem_limit", null)).isEqualTo(67_108_864.0);
        // v1 does not move a process's earlier charges with it: the shell's pages stay with the test runner's cgroup
        assertThat(value(second, "mem_agg_usage", null)).isNotNegative();
        assertThat(value(second, "net_agg_bytes_out", "lo")).isGreaterThanOrEqualTo(0.0);
        assertThat(value(second, "load_average", null)).isGreaterThanOrEqualTo(1.0); // seeded: one task in R
        assertThat(value(second, "cpu_metrics_available_boolean", null)).isEqualTo(1.0);
        assertThat(value(second, "fs_metrics_available_boolean", null)).isEqualTo(0.0); // no rootfs declared
        assertThat(value(second, "time_of_day", null)).isCloseTo(System.currentTimeMillis(),
                org.assertj.core.data.Offset.offset(10_000.0));
    }

    @Test
    void instanceDeclaredByCgroupPathAloneGetsTheSameMetrics() throws Exception {
        Process busy = cgroup.startInside("sh", "-c", "while :; do :; done");
        Instance instance = declared(0, cgroup.path());

        MetricSnapshots first = metrics.collect(instance).get(5, TimeUnit.SECONDS);
        Thread.sleep(1200);
        MetricSnapshots second = metrics.collect(instance).get(5, TimeUnit.SECONDS);

        assertThat(value(second, "cpu_user_usage", null)).isGreaterThan(value(first, "cpu_user_usage", null));
        assertThat(value(second, "mem_limit", null)).isEqualTo(67_108_864.0);
        assertThat(value(second, "net_agg_packets_in", "lo")).isGreaterThanOrEqualTo(0.0);
    }

    @Test
    void bytesSentOverItsOwnLoopbackShowInItsNetworkNamespace() throws Exception {
        // a namespace of its own: loopback traffic there touches nothing else on the host
        Process isolated = cgroup.start("unshare", "-n", "sh", "-c",
                // the listener's stdin stays open (a background job's would be /dev/null: it would hang up at
                // once); connect only once it listens (port 7001 = 0x1B59 in state 0A)
                "ip link set lo up; sleep 60 | busybox nc -l -p 7001 > /dev/null &"
                        + " until grep -qE ':1B59 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done;"
                        + " head -c 100000 /dev/zero | busybox nc 127.0.0.1 7001; exec sleep 60");
        Instance instance = declared(isolated.pid(), null);

        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15))
                .pollInterval(java.time.Duration.ofMillis(1100))
                .until(() -> value(metrics.collect(instance).get(5, TimeUnit.SECONDS), "net_agg_bytes_out", "lo")
                        > 1000);
        Thread.sleep(1100);
        MetricSnapshots out = metrics.collect(instance).get(5, TimeUnit.SECONDS);

        assertThat(value(out, "net_agg_packets_out", "lo")).isPositive();
        // what leaves a loopback arrives on it
        assertThat(value(out, "net_agg_bytes_in", "lo")).isEqualTo(value(out, "net_agg_bytes_out", "lo"));
    }
}
