package io.cmon.agent;

import io.cmon.config.AgentConfig;
import io.cmon.testing.TestCgroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The agent with {@code plugins.vmDir} and {@code plugins.gzDir} over HTTP: two declared instances (real processes),
 * instance plugins that echo what they were given, a hanging one, and server plugins on {@code /v1/gz/metrics}.
 */
class PluginsAgentIT {

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private Process first;
    private TestCgroup firstCgroup;
    private TestCgroup secondCgroup;
    private Process second;
    private final String firstUuid = UUID.randomUUID().toString();
    private final String secondUuid = UUID.randomUUID().toString();
    private Agent agent;

    @BeforeEach
    void start() throws Exception {
        Path vm = Files.createDirectory(dir.resolve("vm-plugins"));
        Path gz = Files.createDirectory(dir.resolve("gz-plugins"));
        for (Path d : new Path[] {vm, gz}) Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        plugin(vm.resolve("who.sh"), "#!/bin/sh\nprintf 'given{uuid=\"%s\"}\\tgauge\\t%s\\tWhat the plugin was given\\n'"
                + " \"$1\" \"$CMON_VM_PID\"\n");
        plugin(vm.resolve("hang.sh"), "#!/bin/sh\n# OPTION timeout=1s\nsleep 300\n");
        plugin(gz.resolve("zpool.sh"), "#!/bin/sh\nprintf 'pools\\tgauge\\t2\\tZFS pools\\n'\n");
        plugin(gz.resolve("node.prom"), "#!/bin/sh\necho '# TYPE raid_degraded gauge'\necho 'raid_degraded{md=\"md0\"} 0'\n");
        // each in a cgroup of its own: a process left in a hierarchy's root cgroup has no metrics of its own there
        // (the agent never reports the host's totals as an instance's)
        firstCgroup = TestCgroup.create("cpu", "cpuacct", "memory");
        secondCgroup = TestCgroup.create("cpu", "cpuacct", "memory");
        first = firstCgroup.startInside("sleep", "300");
        second = secondCgroup.startInside("sleep", "300");
        Path instances = dir.resolve("instances.yaml");
        Files.writeString(instances, "instances:\n"
                + "  - {uuid: " + firstUuid + ", alias: one, owner: alice, brand: lxc, pid: " + first.pid() + "}\n"
                + "  - {uuid: " + secondUuid + ", alias: two, owner: bob, brand: lxc, pid: " + second.pid() + "}\n");
        AgentConfig config = new AgentConfig("127.0.0.1:0", null, null, instances.toString(), null, null, null,
                false, new AgentConfig.Plugins(vm.toString(), gz.toString()));
        agent = Agent.start(config, new ServerIdentity("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-plugins"), "test");
        await().atMost(Duration.ofSeconds(10)).until(() -> agent.inventory().byUuid(secondUuid).isPresent()
                && agent.inventory().byUuid(firstUuid).isPresent());
    }

    @AfterEach
    void stop() {
        if (agent != null) agent.close();
        first.destroyForcibly();
        second.destroyForcibly();
        for (TestCgroup cg : new TestCgroup[] {firstCgroup, secondCgroup}) {
            try {
                if (cg != null) cg.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static void plugin(Path p, String script) throws IOException {
        Files.writeString(p, script);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.address().port() + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void eachInstancesScrapeShowsOnlyWhatItsOwnPluginRunPrinted() throws Exception {
        HttpResponse<String> one = get("/v1/" + firstUuid + "/metrics");
        HttpResponse<String> two = get("/v1/" + secondUuid + "/metrics");

        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(two.statusCode()).isEqualTo(200);
        assertThat(one.body()).contains("plugin_who_given{uuid=\"" + firstUuid + "\"} " + first.pid() + ".0",
                "plugin_who_metrics_available_boolean 1.0", "cpu_user_usage ")
                .doesNotContain(secondUuid);
        assertThat(two.body()).contains("plugin_who_given{uuid=\"" + secondUuid + "\"} " + second.pid() + ".0")
                .doesNotContain(firstUuid);
        assertThat(one.body()).as("server plugins stay on the server's page").doesNotContain("plugin_zpool_");
    }

    @Test
    void aHangingPluginCostsTheScrapeItsTimeoutAndIsReportedUnavailable() throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = get("/v1/" + firstUuid + "/metrics");
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("plugin_hang_metrics_available_boolean 0.0", "plugin_who_metrics_available_boolean 1.0",
                "cpu_metrics_available_boolean 1.0");
        assertThat(seconds).isBetween(0.9, 4.0);
    }

    @Test
    void serverPluginsAndTheNtpStateAreOnTheServersPage() throws Exception {
        HttpResponse<String> r = get("/v1/gz/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("plugin_zpool_pools 2.0", "plugin_zpool_metrics_available_boolean 1.0",
                "plugin_node_raid_degraded{md=\"md0\"} 0.0", "plugin_node_metrics_available_boolean 1.0",
                "node_timex_sync_status ", "node_timex_maxerror_seconds ",
                "node_scrape_collector_success{collector=\"timex\"} 1.0", "node_load1 ")
                .doesNotContain("plugin_who_", "plugin_hang_");
    }
}
