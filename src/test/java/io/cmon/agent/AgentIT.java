package io.cmon.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesPage;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The real agent jar as a process against the shared dockerd and this host's cgroup v1 kernel: containers appear
 * and disappear within a second, and their metrics are the kernel's. Other helpers' containers may come and go on
 * the same daemon: assertions look for this test's own instances only.
 */
class AgentIT {

    static final DockerCli DOCKER = new DockerCli("agenthttp");
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration ONE_SECOND = Duration.ofSeconds(1);
    static final String[] CONTROLLERS = {"cpu", "cpuacct", "memory", "pids"};

    static Path dir;
    static Path instancesFile;
    static AgentProcess agent;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startAgent() throws Exception {
        DOCKER.removeAll();
        dir = Files.createTempDirectory("cmon-agent-it-");
        instancesFile = Files.writeString(dir.resolve("instances.yaml"), "instances: []\n");
        Path config = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "listen: 127.0.0.1:0",
                "server: {uuid: 00000000-0000-4000-8000-00000000a9e7, hostname: agent-it}",
                "docker: {socket: /var/run/docker.sock}",
                "instancesFile: " + instancesFile, ""));
        agent = AgentProcess.start(config);
    }

    @AfterAll
    static void stopAgent() throws Exception {
        DOCKER.removeAll();
        if (agent != null) {
            int exit = agent.stop();
            System.out.println("agent log:\n" + agent.logText());
            assertThat(exit).as("exit code after SIGTERM").isIn(0, 143);
        }
    }

    @AfterEach
    void removeContainers() {
        DOCKER.removeAll();
    }

    // --- helpers ---------------------------------------------------------------------------------------------

    static InstancesPage instances(String query) throws IOException, InterruptedException {
        HttpResponse<String> r = agent.get("/v1/instances" + query);
        assertThat(r.statusCode()).isEqualTo(200);
        return JSON.readValue(r.body(), InstancesPage.class);
    }

    static boolean listed(String uuid) throws IOException, InterruptedException {
        return instances("").instances().stream().anyMatch(e -> e.vmUuid().equals(uuid));
    }

    static String metrics(String uuid) throws IOException, InterruptedException {
        HttpResponse<String> r = agent.get("/v1/" + uuid + "/metrics");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r.body();
    }

    /** The value of one series ({@code name} or {@code name{labels}}) in text format, or NaN when absent. */
    static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** Starts a container and waits until the agent lists it; its uuid. */
    static String runAndAwait(List<String> options, String... command) {
        String uuid = DockerCli.uuidOf(DOCKER.runDetached(options, command));
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20)).until(() -> listed(uuid));
        return uuid;
    }

    // --- tests -----------------------------------------------------------------------------------------------

    @Test
    void startedContainerIsListedWithinOneSecondAndItsMetricsAnswer() throws Exception {
        String id = DOCKER.runDetached(List.of("--label", "cmon.owner=alice", "--label", "cmon.groups=web,db"),
                "sleep", "300");
        long returned = System.nanoTime();
        String uuid = DockerCli.uuidOf(id);

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> listed(uuid));
        System.out.printf("docker run returned → listed: %d ms%n", (System.nanoTime() - returned) / 1_000_000);

        InstancesPage page = instances("");
        assertThat(page.server().uuid()).isEqualTo("00000000-0000-4000-8000-00000000a9e7");
        assertThat(page.server().hostname()).isEqualTo("agent-it");
        assertThat(page.server().sources()).extracting(InstancesPage.Source::name).contains("docker");
        assertThat(page.server().sources()).allMatch(InstancesPage.Source::up);
        InstancesPage.Entry e = page.instances().stream().filter(i -> i.vmUuid().equals(uuid)).findFirst()
                .orElseThrow();
        assertThat(e.vmOwnerUuid()).isEqualTo("alice");
        assertThat(e.groups()).containsExactly("web", "db");
        assertThat(e.vmBrand()).isEqualTo("docker");
        assertThat(e.state()).isEqualTo("running");

        HttpResponse<String> r = agent.get("/v1/" + uuid + "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body()).contains("# TYPE cpu_user_usage untyped", "mem_agg_usage ", "time_of_day ",
                "cpu_metrics_available_boolean 1.0");
    }

    @Test
    void busyContainersCpuUserUsageGrowsBetweenScrapes() throws Exception {
        // capped at a fifth of a CPU: the machine is shared
        String uuid = runAndAwait(List.of("--cpus", "0.2"), "sh", "-c", "while :; do :; done");
        String firstScrape = metrics(uuid);
        double first = value(firstScrape, "cpu_user_usage");
        Thread.sleep(1500); // > the cpu collector's 1 s TTL

        String secondScrape = metrics(uuid);
        double second = value(secondScrape, "cpu_user_usage");

        System.out.printf("cpu_user_usage: %.0f → %.0f ns over 1.5 s%n", first, second);
        assertThat(second - first).isGreaterThan(50_000_000); // ≥ 50 ms of the ~300 ms allowed
        assertThat(value(secondScrape, "cpu_quota_seconds")).isEqualTo(0.02); // --cpus 0.2 of a 100 ms period
        // Docker puts the container in the hybrid host's cgroup2 tree too: its PSI shows the throttled waiting
        assertThat(value(secondScrape, "pressure_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(secondScrape, "pressure_cpu_waiting_seconds_total")
                - value(firstScrape, "pressure_cpu_waiting_seconds_total")).isGreaterThan(0.5);
    }

    @Test
    void memoryLimitIsTheContainersLimitInBytes() throws Exception {
        String uuid = runAndAwait(List.of("-m", "64m"), "sleep", "300");

        assertThat(value(metrics(uuid), "mem_limit")).isEqualTo(67108864);
    }

    @Test
    void bytesSentOverTheContainersOwnLoopbackShowOnLo() throws Exception {
        String id = DOCKER.runDetached(List.of(), "sleep", "300");
        String uuid = DockerCli.uuidOf(id);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20)).until(() -> listed(uuid));
        double before = value(metrics(uuid), "net_agg_bytes_out{interface=\"lo\"}");

        // the listener's stdin must stay open, or busybox nc closes the connection at once; connect only once it
        // listens (port 9000 = 0x2328 in state 0A), however slow the machine
        DOCKER.exec(id, "sh", "-c", "(sleep 5 | nc -l -p 9000 >/dev/null) & "
                + "until grep -qE ':2328 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done; "
                + "dd if=/dev/zero bs=1k count=1000 2>/dev/null | nc 127.0.0.1 9000");
        Thread.sleep(1100); // > the network collector's TTL

        double after = value(metrics(uuid), "net_agg_bytes_out{interface=\"lo\"}");
        System.out.printf("net_agg_bytes_out{lo}: %.0f → %.0f%n", before, after);
        assertThat(after - before).isGreaterThanOrEqualTo(1_024_000);
    }

    @Test
    void removedContainerAnswers404WithinOneSecond() throws Exception {
        String id = DOCKER.runDetached(List.of(), "sleep", "300");
        String uuid = DockerCli.uuidOf(id);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20)).until(() -> listed(uuid));
        assertThat(agent.get("/v1/" + uuid + "/metrics").statusCode()).isEqualTo(200);

        DOCKER.remove(id);
        long removed = System.nanoTime();

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.get("/v1/" + uuid + "/metrics").statusCode() == 404);
        System.out.printf("docker rm returned → 404: %d ms%n", (System.nanoTime() - removed) / 1_000_000);
        assertThat(agent.get("/v1/" + uuid + "/metrics").body()).isEqualTo("container not found\n");
    }

    @Test
    void longPollReturnsWithinASecondOfAContainerStarting() throws Exception {
        long since = instances("").generation();
        CompletableFuture<HttpResponse<String>> poll = HTTP.sendAsync(HttpRequest.newBuilder(
                agent.uri("/v1/instances?since=" + since + "&wait=30s")).build(), HttpResponse.BodyHandlers.ofString());
        Thread.sleep(200);
        long invoked = System.nanoTime();
        String uuid = DockerCli.uuidOf(DOCKER.runDetached(List.of(), "sleep", "300"));
        long started = System.nanoTime();

        // other containers on the shared daemon may move the generation first: keep polling until ours shows
        InstancesPage page = JSON.readValue(poll.get(2, TimeUnit.SECONDS).body(), InstancesPage.class);
        while (page.instances().stream().noneMatch(e -> e.vmUuid().equals(uuid))) {
            assertThat((System.nanoTime() - started) / 1e9).isLessThan(1.0);
            page = instances("?since=" + page.generation() + "&wait=2s");
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("docker run invoked → returned: %d ms; → long-poll answered with it: %d ms after return%n",
                (started - invoked) / 1_000_000, ms);
        assertThat(ms).isLessThan(1000);
        assertThat(page.generation()).isGreaterThan(since);
    }

    @Test
    void longPollWithoutChangeAnswersAtTheWaitWithTheSameGeneration() throws Exception {
        // the shared daemon may change under us: only check that a quiet wait returns near its end
        long since = instances("").generation();
        long start = System.nanoTime();
        InstancesPage page = instances("?since=" + since + "&wait=500ms");
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (page.generation() == since) {
            assertThat(ms).isBetween(450L, 1500L);
        }
    }

    @Test
    void gzipAndOpenMetricsAreNegotiated() throws Exception {
        String uuid = runAndAwait(List.of(), "sleep", "300");

        HttpResponse<byte[]> r = agent.getBytes("/v1/" + uuid + "/metrics",
                "Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
                "Accept-Encoding", "gzip");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-encoding")).hasValue("gzip");
        assertThat(r.headers().firstValue("content-type")).hasValue(
                "application/openmetrics-text; version=1.0.0; charset=utf-8");
        String text = new String(new GZIPInputStream(new ByteArrayInputStream(r.body())).readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(text).contains("mem_limit ").endsWith("# EOF\n");
    }

    @Test
    void pathThatIsNotAUuidIsABadRequest() throws Exception {
        HttpResponse<String> r = agent.get("/v1/nope/metrics");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("invalid uuid\n");
        assertThat(agent.get("/v1/" + UUID.randomUUID() + "/metrics").statusCode()).isEqualTo(404);
    }

    @Test
    void serverMetricsAnswerWithNodeExporterNames() throws Exception {
        HttpResponse<String> r = agent.get("/v1/gz/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}", "node_load1 ",
                "node_memory_MemTotal_bytes ", "cmon_instances{state=\"running\"}", "cmon_agent_up 1.0");
    }

    @Test
    void selfMetricsServeTheJvmMetricsBesideTheAgentsOwn() throws Exception {
        // the JVM part is set up by the first scrape (JvmSelfMetrics.registerAtFirstScrape): it must be in that one
        HttpResponse<String> first = agent.get("/metrics");
        HttpResponse<String> second = agent.get("/metrics");
        for (HttpResponse<String> r : java.util.List.of(first, second)) {
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("jvm_memory_used_bytes{area=\"heap\"}", "jvm_threads_current ",
                    "process_resident_memory_bytes ", "cmon_agent_connections ");
        }
    }

    @Test
    void refreshAnswersTheGeneration() throws Exception {
        HttpResponse<String> r = agent.post("/v1/refresh");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("generation").asLong()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void declaredProcessInItsOwnCgroupGetsTheSameMetrics() throws Exception {
        String name = "cmon-it-" + UUID.randomUUID().toString().substring(0, 8);
        String uuid = UUID.randomUUID().toString();
        Process busy = null;
        try {
            for (String c : CONTROLLERS) Files.createDirectory(Path.of("/sys/fs/cgroup", c, name));
            Files.writeString(Path.of("/sys/fs/cgroup/memory", name, "memory.limit_in_bytes"), "33554432");
            Files.writeString(Path.of("/sys/fs/cgroup/cpu", name, "cpu.cfs_quota_us"), "20000"); // 0.2 CPU
            // the shell moves itself into the cgroups, then becomes a busy loop
            StringBuilder join = new StringBuilder();
            for (String c : CONTROLLERS) {
                join.append("echo $$ > /sys/fs/cgroup/").append(c).append('/').append(name).append("/cgroup.procs; ");
            }
            busy = new ProcessBuilder("sh", "-c", join + "exec sh -c 'while :; do :; done'").start();
            long pid = busy.pid();
            await().atMost(Duration.ofSeconds(2)).until(() -> Files.readString(
                    Path.of("/sys/fs/cgroup/memory", name, "cgroup.procs")).contains(Long.toString(pid)));
            Files.writeString(instancesFile, "instances:\n  - {uuid: " + uuid + ", alias: " + name
                    + ", owner: bob, groups: [batch], brand: lxc, pid: " + pid + "}\n");

            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).until(() -> listed(uuid));
            InstancesPage.Entry e = instances("").instances().stream().filter(i -> i.vmUuid().equals(uuid))
                    .findFirst().orElseThrow();
            assertThat(e.vmAlias()).isEqualTo(name);
            assertThat(e.vmOwnerUuid()).isEqualTo("bob");
            assertThat(e.vmBrand()).isEqualTo("lxc");

            String first = metrics(uuid);
            assertThat(value(first, "mem_limit")).isEqualTo(33554432);
            Thread.sleep(1200);
            String second = metrics(uuid);
            System.out.printf("declared cpu_user_usage: %.0f → %.0f ns%n", value(first, "cpu_user_usage"),
                    value(second, "cpu_user_usage"));
            assertThat(value(second, "cpu_user_usage")).isGreaterThan(value(first, "cpu_user_usage"));
            assertThat(value(second, "mem_agg_usage")).isPositive();
        } finally {
            if (busy != null) {
                busy.destroyForcibly();
                busy.waitFor(5, TimeUnit.SECONDS);
            }
            Files.writeString(instancesFile, "instances: []\n");
            for (String c : CONTROLLERS) {
                Path cg = Path.of("/sys/fs/cgroup", c, name);
                for (int i = 0; i < 50 && Files.exists(cg); i++) {
                    try {
                        Files.delete(cg); // rmdir; EBUSY until the killed process is reaped
                    } catch (IOException ex) {
                        Thread.sleep(20);
                    }
                }
            }
        }
    }
}
