package io.cmon.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.bench.fleet.FleetModel;
import io.cmon.bench.fleet.FleetSim;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The proxy's known limits (issue 12) against simulated agents ({@link FleetSim}, in this JVM, on 127.10.x.y
 * addresses): the real jar as a process under {@code prlimit --nofile}, so that its file descriptor limit is small
 * enough to reach with a few hundred agents.
 */
class FleetCapacityIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient ADMIN = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    Path dir;
    FleetSim sim;
    Process proxy;
    Path proxyLog;
    int proxyPort;
    int adminPort;
    Path agentsFile;
    final List<Socket> hogs = new ArrayList<>();

    @BeforeEach
    void dir() throws IOException {
        dir = Files.createTempDirectory("cmon-fleet-it-");
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : hogs) s.close();
        if (proxy != null) {
            proxy.destroy();
            if (!proxy.waitFor(10, TimeUnit.SECONDS)) proxy.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (sim != null) sim.close();
    }

    /** Simulated agents on a port of their own (bench runs use 9164 on the same addresses). */
    void startSim(int agents) throws Exception {
        FleetModel model = new FleetModel(7, agents, 2, 3, 0, AgentProcess.freePort());
        sim = FleetSim.start(new FleetSim.Options(model, 0, agents, 1, 0))
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        agentsFile = dir.resolve("agents.txt");
        Files.writeString(agentsFile, sim.agentsFile());
        Files.writeString(dir.resolve("accounts.yaml"), model.accountsYaml());
    }

    void startProxy(int nofile, int fdReserve) throws Exception {
        TestPki pki = TestPki.create(dir.resolve("pki"));
        TestPki.Issued server = pki.server("localhost");
        proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        Path config = dir.resolve("proxy.yaml");
        Files.writeString(config, String.join("\n",
                "listen: 127.0.0.1:" + proxyPort,
                "adminListen: 127.0.0.1:" + adminPort,
                "endpoint: localhost",
                "tls: {cert: " + server.cert() + ", key: " + server.key() + "}",
                "auth: {mode: ca, tenantCa: " + pki.caCert() + "}",
                "accounts: " + dir.resolve("accounts.yaml"),
                "agents: {file: " + agentsFile + "}",
                // a TLS handshake may stay unfinished this long: the descriptor-hogging test holds such connections
                "limits: {headerTimeout: 120s}",
                "fleet: {fdReserve: " + fdReserve + "}", ""));
        proxyLog = dir.resolve("proxy.log");
        proxy = new ProcessBuilder("prlimit", "--nofile=" + nofile + ":" + nofile, "--",
                ProcessHandle.current().info().command().orElse("java"), "-Xmx256m", "-jar",
                AgentProcess.jar().toString(), "proxy", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(proxyLog.toFile()).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(proxy.isAlive()).as("proxy exited:\n%s", Files.readString(proxyLog)).isTrue();
            return healthy() == 200;
        });
    }

    int healthy() {
        try {
            return ADMIN.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/-/healthy"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    String admin(String path) throws Exception {
        return ADMIN.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    double metric(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @Test
    void moreAgentsThanDescriptorsWarnsAtStartFollowsWhatFitsKeepsListenersUpAndRecoversWhenTheListShrinks()
            throws Exception {
        startSim(300);
        // 600 descriptors, 128 for the JVM and 200 reserved: 272 agents fit, 28 do not
        startProxy(600, 200);

        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            String m = admin("/metrics");
            assertThat(metric(m, "cmon_proxy_max_fds")).isEqualTo(600);
            assertThat(metric(m, "cmon_proxy_fleet_capacity_agents")).isEqualTo(272);
            assertThat(metric(m, "cmon_proxy_fleet_refused_agents")).isEqualTo(28);
            assertThat(metric(m, "cmon_proxy_fleet_degraded")).isEqualTo(1);
            assertThat(metric(m, "cmon_proxy_agents{state=\"up\"}")).isEqualTo(272);
            assertThat(metric(m, "cmon_proxy_agent_connections{client=\"inventory\"}"))
                    .as("one connection per followed agent").isEqualTo(272);
            assertThat(metric(m, "cmon_proxy_open_fds")).isBetween(272.0, 600.0);
        });
        assertThat(Files.readString(proxyLog))
                .contains("300 agents listed but this proxy can follow 272 (file descriptor limit 600");
        JsonNode status = JSON.readTree(admin("/status"));
        assertThat(status.at("/capacity/agents").asInt()).isEqualTo(272);
        assertThat(status.at("/capacity/refused_agents").asInt()).isEqualTo(28);
        assertThat(status.at("/capacity/degraded").asBoolean()).isTrue();
        long refusedShown = 0;
        for (JsonNode a : status.get("agents")) {
            if (a.path("last_error").asText().startsWith("not followed: 300 agents listed")) refusedShown++;
        }
        assertThat(refusedShown).as("refused agents are listed down, saying why").isEqualTo(28);
        assertThat(status.get("synced").asBoolean()).as("refused agents count as attempted").isTrue();

        // both listeners still answer: the admin listener, and the tenant listener's TLS and HTTP
        assertThat(healthy()).isEqualTo(200);
        Vertx vertx = Vertx.vertx();
        try (TlsClient anonymous = new TlsClient(vertx, null, dir.resolve("pki").resolve("ca.pem"), proxyPort)) {
            assertThat(anonymous.get("localhost", "/_ping").status()).isEqualTo(200);
        } finally {
            vertx.close();
        }

        // 100 agents leave the list: every remaining agent is followed, the verdict clears
        List<String> lines = Files.readAllLines(agentsFile);
        Path next = dir.resolve("agents.next");
        Files.write(next, lines.subList(0, 200));
        Files.move(next, agentsFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            String m = admin("/metrics");
            assertThat(metric(m, "cmon_proxy_fleet_refused_agents")).isZero();
            assertThat(metric(m, "cmon_proxy_fleet_degraded")).isZero();
            assertThat(metric(m, "cmon_proxy_agents{state=\"up\"}")).isEqualTo(200);
            assertThat(metric(m, "cmon_proxy_agents{state=\"down\"}")).isZero();
        });
        assertThat(Files.readString(proxyLog)).contains("all 200 listed agents are followed again");
    }

    @Test
    void whenDescriptorsRunOutWatchersBackOffReportItAndComeBackOnceTheyFreeUp() throws Exception {
        startSim(60);
        startProxy(400, 100); // 172 agents would fit: the 60 do, until something else takes the descriptors
        await().atMost(Duration.ofSeconds(60))
                .until(() -> metric(admin("/metrics"), "cmon_proxy_agents{state=\"up\"}") == 60);

        // connections to the tenant listener that never finish their handshake take every free descriptor
        for (int i = 0; i < 400; i++) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress("127.0.0.1", proxyPort), 2000);
                hogs.add(s);
            } catch (IOException e) {
                s.close();
                break;
            }
        }
        // the agents go away: every watcher closes its connection and retries; the listener's accept loop takes
        // each descriptor that frees up for a waiting hog, so the retries find none
        assertThat(sim.command("all", "stop")).isEqualTo(60);
        await().atMost(Duration.ofSeconds(90))
                .untilAsserted(() -> assertThat(Files.readString(proxyLog)).contains("out of file descriptors"));
        assertThat(sim.command("all", "start")).isEqualTo(60);

        // the hogs go: the watchers come back by themselves, and the count says what happened
        for (Socket s : hogs) s.close();
        hogs.clear();
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            String m = admin("/metrics");
            assertThat(metric(m, "cmon_proxy_agents{state=\"up\"}")).isEqualTo(60);
            assertThat(metric(m, "cmon_proxy_fd_exhaustion_total")).isPositive();
        });
        assertThat(healthy()).isEqualTo(200);
    }
}
