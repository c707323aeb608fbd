package io.cmon.agent.plugin;

import io.cmon.agent.collect.CgroupFiles;
import io.cmon.agent.runtime.Instance;
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
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real plugin scripts run by {@link PluginMetrics} as the agent runs them: processes, pipes, deadlines, process
 * groups, file ownership and namespaces of this machine (the test runs as root, as the agent does).
 */
class PluginRunsIT {

    @TempDir
    Path dir;
    @TempDir
    Path work;

    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private final PluginRunner runner = new PluginRunner();
    private Process instanceProcess;
    private Instance instance;
    private PluginMetrics plugins;

    @BeforeEach
    void start() throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        instanceProcess = new ProcessBuilder("sleep", "300").start();
        instance = instance(instanceProcess.pid());
        plugins = PluginMetrics.vm(dir, runner, pool, CgroupFiles.detect(Path.of("/proc")));
    }

    @AfterEach
    void stop() {
        instanceProcess.destroyForcibly();
        pool.shutdownNow();
        runner.close();
    }

    private static Instance instance(long pid) {
        return new Instance(UUID.randomUUID().toString(), "it", null, null, "lxc", List.of(), "running", pid, null,
                null, "declared");
    }

    private Path plugin(String fileName, String script) throws IOException {
        Path p = dir.resolve(fileName);
        Files.writeString(p, script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private MetricSnapshots scrape() throws Exception {
        return scrape(instance);
    }

    private MetricSnapshots scrape(Instance of) throws Exception {
        return plugins.collect(of).get(15, TimeUnit.SECONDS);
    }

    static double value(MetricSnapshots s, String name) {
        MetricSnapshot m = s.stream().filter(x -> x.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(name + " missing from "
                        + s.stream().map(x -> x.getMetadata().getName()).toList()));
        DataPointSnapshot p = m.getDataPoints().get(0);
        return p instanceof GaugeSnapshot.GaugeDataPointSnapshot g ? g.getValue()
                : ((UnknownSnapshot.UnknownDataPointSnapshot) p).getValue();
    }

    static boolean has(MetricSnapshots s, String name) {
        return s.stream().anyMatch(x -> x.getMetadata().getName().equals(name));
    }

    @Test
    void aShellPluginInTabFormatGetsTheInstancesUuidPidAndCgroup() throws Exception {
        plugin("ident.sh", """
                #!/bin/sh
                [ "$1" = "$CMON_VM_UUID" ] || exit 3
                printf 'pid\\tgauge\\t%s\\tthe pid given\\n' "$CMON_VM_PID"
                printf 'cgroup_given\\tgauge\\t%s\\n' "$( [ -d "$CMON_VM_CGROUP" ] && echo 1 || echo 0 )"
                printf 'env_vars\\tgauge\\t%s\\n' "$(env | grep -vc '^CMON_\\|^PATH=\\|^LC_ALL=\\|^PWD=\\|^SHLVL=\\|^_=')"
                """);

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_ident_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(s, "plugin_ident_pid")).isEqualTo(instanceProcess.pid());
        assertThat(value(s, "plugin_ident_cgroup_given")).isEqualTo(1.0);
        assertThat(value(s, "plugin_ident_env_vars")).as("nothing of the agent's environment").isZero();
    }

    @Test
    void aPromPluginIsReadAsPrometheusText() throws Exception {
        plugin("db.prom.sh", """
                #!/bin/sh
                echo '# HELP queries_total Queries.'
                echo '# TYPE queries_total counter'
                echo 'queries_total{kind="select"} 12'
                echo 'temperature 21.5'
                """);

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_db_metrics_available_boolean")).isEqualTo(1.0);
        // client_java keeps a counter's name without _total (its writers add it back)
        assertThat(s.stream().filter(m -> m.getMetadata().getName().equals("plugin_db_queries"))
                .findFirst().orElseThrow().getDataPoints().get(0).getLabels().get("kind")).isEqualTo("select");
        assertThat(value(s, "plugin_db_temperature")).isEqualTo(21.5);
    }

    @Test
    void aHangingPluginIsKilledWithItsChildrenAtItsTimeout() throws Exception {
        Path childPid = work.resolve("child.pid");
        plugin("hang.sh", """
                #!/bin/sh
                # OPTION timeout=1s
                sleep 300 &
                echo $! > %s
                wait
                """.formatted(childPid));

        long start = System.nanoTime();
        MetricSnapshots s = scrape();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(value(s, "plugin_hang_metrics_available_boolean")).isZero();
        assertThat(seconds).isBetween(0.9, 3.0);
        long child = Long.parseLong(Files.readString(childPid).strip());
        await().atMost(Duration.ofSeconds(2)).until(() -> ProcessHandle.of(child).isEmpty()
                || ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void aPluginPrintingMoreThan500KiBIsKilledAtOnce() throws Exception {
        Path pidFile = work.resolve("flood.pid");
        plugin("flood.sh", """
                #!/bin/sh
                # OPTION timeout=20s
                echo $$ > %s
                trap '' PIPE
                while :; do echo 'x\\tgauge\\t1'; done
                """.formatted(pidFile));

        long start = System.nanoTime();
        MetricSnapshots s = scrape();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(value(s, "plugin_flood_metrics_available_boolean")).isZero();
        assertThat(seconds).as("killed on the flood, not at its 20 s timeout").isLessThan(10);
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        await().atMost(Duration.ofSeconds(2)).until(() -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void aPluginNotOwnedByRootIsRefusedAndNotRun() throws Exception {
        Path ran = work.resolve("ran");
        Path p = plugin("notroot.sh", "#!/bin/sh\ntouch " + ran + "\nprintf 'a\\tgauge\\t1\\n'\n");
        Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_notroot_metrics_available_boolean")).isZero();
        assertThat(ran).doesNotExist();
    }

    @Test
    void aPluginWritableByOthersIsRefused() throws Exception {
        Path ran = work.resolve("ran");
        Path p = plugin("loose.sh", "#!/bin/sh\ntouch " + ran + "\nprintf 'a\\tgauge\\t1\\n'\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_loose_metrics_available_boolean")).isZero();
        assertThat(ran).doesNotExist();
    }

    @Test
    void aPluginThatExitsOneOrPrintsGarbageIsUnavailableAndTheOthersAreNot() throws Exception {
        plugin("fails.sh", "#!/bin/sh\nprintf 'a\\tgauge\\t1\\n'\nexit 1\n");
        plugin("garbage.sh", "#!/bin/sh\necho 'this is not a metric'\n");
        plugin("good.sh", "#!/bin/sh\nprintf 'a\\tgauge\\t1\\n'\n");

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_fails_metrics_available_boolean")).isZero();
        assertThat(has(s, "plugin_fails_a")).isFalse();
        assertThat(value(s, "plugin_garbage_metrics_available_boolean")).isZero();
        assertThat(value(s, "plugin_good_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(s, "plugin_good_a")).isEqualTo(1.0);
    }

    @Test
    void aResultIsServedFromCacheWithinItsTtlAndRunAgainAfter() throws Exception {
        Path runs = work.resolve("runs");
        plugin("counted.sh", """
                #!/bin/sh
                # OPTION ttl=2s
                echo run >> %s
                printf 'runs\\tgauge\\t%%s\\n' "$(wc -l < %s)"
                """.formatted(runs, runs));

        MetricSnapshots first = scrape();
        MetricSnapshots second = scrape();
        MetricSnapshots third = scrape();

        assertThat(Files.readAllLines(runs)).hasSize(1);
        assertThat(value(first, "plugin_counted_metrics_cached_boolean")).isZero();
        assertThat(value(third, "plugin_counted_metrics_cached_boolean")).isEqualTo(1.0);
        assertThat(value(second, "plugin_counted_runs")).isEqualTo(1.0);
        Thread.sleep(2100); // past the TTL
        MetricSnapshots later = scrape();
        assertThat(value(later, "plugin_counted_runs")).isEqualTo(2.0);
        assertThat(Files.readAllLines(runs)).hasSize(2);
    }

    @Test
    void concurrentScrapesOfOneInstanceShareOneRun() throws Exception {
        Path runs = work.resolve("runs");
        plugin("slow.sh", "#!/bin/sh\necho run >> " + runs + "\nsleep 0.5\nprintf 'a\\tgauge\\t1\\n'\n");

        var a = plugins.collect(instance);
        var b = plugins.collect(instance);
        var c = plugins.collect(instance);

        assertThat(value(a.get(10, TimeUnit.SECONDS), "plugin_slow_a")).isEqualTo(1.0);
        assertThat(value(b.get(10, TimeUnit.SECONDS), "plugin_slow_a")).isEqualTo(1.0);
        assertThat(value(c.get(10, TimeUnit.SECONDS), "plugin_slow_a")).isEqualTo(1.0);
        assertThat(Files.readAllLines(runs)).hasSize(1);
    }

    @Test
    void eachInstanceSeesOnlyWhatItsOwnRunPrinted() throws Exception {
        plugin("who.sh", "#!/bin/sh\nprintf 'uuid_echo{uuid=\"%s\"}\\tgauge\\t%s\\n' \"$1\" \"$CMON_VM_PID\"\n");
        Process other = new ProcessBuilder("sleep", "300").start();
        try {
            Instance second = instance(other.pid());

            MetricSnapshots mine = scrape(instance);
            MetricSnapshots theirs = scrape(second);

            assertThat(uuidLabels(mine)).containsExactly(instance.uuid());
            assertThat(uuidLabels(theirs)).containsExactly(second.uuid());
            assertThat(value(theirs, "plugin_who_uuid_echo")).isEqualTo(other.pid());
        } finally {
            other.destroyForcibly();
        }
    }

    private static List<String> uuidLabels(MetricSnapshots s) {
        return s.stream().filter(m -> m.getMetadata().getName().equals("plugin_who_uuid_echo"))
                .flatMap(m -> m.getDataPoints().stream()).map(p -> p.getLabels().get("uuid")).toList();
    }

    @Test
    void aPluginAskingForTheNetworkNamespaceRunsInTheInstances() throws Exception {
        Process isolated = new ProcessBuilder("unshare", "-n", "sleep", "300").start();
        try {
            // unshare execs sleep once the namespace is made: wait for that
            await().atMost(Duration.ofSeconds(5)).until(() -> !Files.readSymbolicLink(
                    Path.of("/proc", Long.toString(isolated.pid()), "ns", "net"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net"))));
            Instance inNetns = instance(isolated.pid());
            long instanceNetns = (Long) Files.getAttribute(Path.of("/proc", Long.toString(isolated.pid()), "ns",
                    "net"), "unix:ino");
            long hostNetns = (Long) Files.getAttribute(Path.of("/proc/self/ns/net"), "unix:ino");
            String script = "#!/bin/sh\nprintf 'netns\\tgauge\\t%s\\n' \"$(stat -L -c %i /proc/self/ns/net)\"\n";
            plugin("inside.sh", "#!/bin/sh\n# OPTION namespaces=net\n" + script.substring("#!/bin/sh\n".length()));
            plugin("outside.sh", script);

            MetricSnapshots s = scrape(inNetns);

            assertThat(value(s, "plugin_inside_netns")).isEqualTo(instanceNetns);
            assertThat(value(s, "plugin_outside_netns")).isEqualTo(hostNetns);
        } finally {
            isolated.destroyForcibly();
        }
    }

    @Test
    void aPluginAddedLaterIsFoundOnTheNextScrape() throws Exception {
        plugin("first.sh", "#!/bin/sh\nprintf 'a\\tgauge\\t1\\n'\n");
        assertThat(has(scrape(), "plugin_second_a")).isFalse();

        plugin("second.sh", "#!/bin/sh\nprintf 'a\\tgauge\\t2\\n'\n");

        assertThat(value(scrape(), "plugin_second_a")).isEqualTo(2.0);
    }

    @Test
    void aStoppedInstanceRunsNoPlugin() throws Exception {
        Path ran = work.resolve("ran");
        plugin("any.sh", "#!/bin/sh\ntouch " + ran + "\nprintf 'a\\tgauge\\t1\\n'\n");
        Instance stopped = new Instance(UUID.randomUUID().toString(), "it", null, null, "lxc", List.of(), "stopped",
                0, null, null, "declared");

        MetricSnapshots s = scrape(stopped);

        assertThat(value(s, "plugin_any_metrics_available_boolean")).isZero();
        assertThat(ran).doesNotExist();
    }

    @Test
    void whatAPluginLeavesRunningWhenItExitsIsKilled() throws Exception {
        Path childPid = work.resolve("left.pid");
        plugin("leaves.sh", "#!/bin/sh\nsleep 300 > /dev/null 2>&1 &\necho $! > " + childPid
                + "\nprintf 'a\\tgauge\\t1\\n'\n");

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_leaves_a")).isEqualTo(1.0);
        long child = Long.parseLong(Files.readString(childPid).strip());
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void pluginJsonBesideItSetsItsTimeoutInMilliseconds() throws Exception {
        plugin("slow.sh", "#!/bin/sh\nsleep 5\nprintf 'a\\tgauge\\t1\\n'\n");
        Files.writeString(dir.resolve("plugin.json"), "{\"slow.sh\": {\"timeout\": 500, \"ttl\": 1}}");

        long start = System.nanoTime();
        MetricSnapshots s = scrape();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(value(s, "plugin_slow_metrics_available_boolean")).isZero();
        assertThat(seconds).isBetween(0.4, 2.5);
    }

    @Test
    void aDirectoryWritableByOthersHasEveryPluginRefused() throws Exception {
        Path ran = work.resolve("ran");
        plugin("any.sh", "#!/bin/sh\ntouch " + ran + "\nprintf 'a\\tgauge\\t1\\n'\n");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));

        MetricSnapshots s = scrape();

        assertThat(value(s, "plugin_any_metrics_available_boolean")).isZero();
        assertThat(ran).doesNotExist();
    }
}
