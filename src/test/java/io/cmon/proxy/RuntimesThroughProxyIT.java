package io.cmon.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import io.cmon.testing.LxcContainer;
import io.cmon.quickstart.TenantPrometheusConfig;
import io.cmon.testing.PodmanService;
import io.cmon.testing.PrometheusProcess;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Through a proxy, a tenant sees only its own, whichever runtime runs them: one agent process follows the shared
 * dockerd, rootful Podman (its compat API on this test's socket) and an LXC container declared by name; alice and
 * bob each own instances on two of the three runtimes. Real jar processes, real TLS, real runtimes, and alice's own
 * Debian {@code prometheus} (http_sd: no DNS needed, the proxy's endpoint is {@code localhost}).
 */
class RuntimesThroughProxyIT {

    static final DockerCli DOCKER = new DockerCli("runtimes-proxy");
    static final ObjectMapper JSON = new ObjectMapper();
    static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    static final String ALICE = "alice-" + RUN;
    static final String BOB = "bob-" + RUN;
    static final String ALICE_UUID = UUID.randomUUID().toString();
    static final String BOB_UUID = UUID.randomUUID().toString();
    static final String SERVER_UUID = UUID.randomUUID().toString();
    static final String ENDPOINT = "localhost";
    static final String SUFFIX = "cmon.test";

    static Path dir;
    static TestPki pki;
    static Vertx vertx;
    static PodmanService podman;
    static LxcContainer lxc;
    static Process agent;
    static Path agentLog;
    static Process proxy;
    static Path proxyLog;
    static int proxyPort;
    static int adminPort;
    static TlsClient alice;
    static TlsClient bob;
    /** uuid → runtime, per owner. */
    static final Map<String, String> aliceOwn = new HashMap<>();
    static final Map<String, String> bobOwn = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        DOCKER.removeAll();
        dir = Files.createTempDirectory("cmon-runtimes-proxy-it-");
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        TestPki.Issued server = pki.server(ENDPOINT, SUFFIX, "*." + SUFFIX);
        Path accounts = Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n"
                + "  - {login: " + ALICE + ", uuid: " + ALICE_UUID + ", operator: false}\n"
                + "  - {login: " + BOB + ", uuid: " + BOB_UUID + ", operator: false}\n");

        podman = PodmanService.start("runtimes-proxy");
        lxc = LxcContainer.create("cmon-rtp");
        lxc.start();
        aliceOwn.put(DockerCli.uuidOf(DOCKER.runDetached(List.of("--name", aliceName("docker"),
                "--label", "cmon.owner=" + ALICE), "sleep", "600")), "docker");
        aliceOwn.put(DockerCli.uuidOf(podman.runDetached(List.of("--name", aliceName("podman"),
                "--label", "cmon.owner=" + ALICE_UUID), "sleep", "600")), "podman");
        bobOwn.put(DockerCli.uuidOf(podman.runDetached(List.of("--label", "cmon.owner=" + BOB), "sleep", "600")),
                "podman");
        String bobLxc = UUID.randomUUID().toString();
        bobOwn.put(bobLxc, "lxc");
        Path instances = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + bobLxc
                + ", owner: " + BOB + ", lxc: " + lxc.name() + "}\n");

        int agentPort = AgentProcess.freePort();
        Path agentConfig = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + agentPort,
                "server: {uuid: " + SERVER_UUID + ", hostname: runtimes-proxy-it}",
                "docker: {socket: /var/run/docker.sock}",
                "podman: {socket: " + podman.socket() + "}",
                "instancesFile: " + instances, ""));
        agentLog = dir.resolve("agent.log");
        agent = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "agent", "--config",
                agentConfig.toString()).redirectErrorStream(true).redirectOutput(agentLog.toFile()).start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            assertThat(agent.isAlive()).as(Files.readString(agentLog)).isTrue();
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agentPort
                    + "/v1/instances")).build(), HttpResponse.BodyHandlers.ofString()).body();
            JsonNode page = JSON.readTree(body);
            int running = 0;
            for (JsonNode i : page.get("instances")) {
                String uuid = i.get("vm_uuid").asText();
                if ((aliceOwn.containsKey(uuid) || bobOwn.containsKey(uuid)) && i.get("state").asText().equals("running")) {
                    running++;
                }
            }
            return running == aliceOwn.size() + bobOwn.size();
        });

        proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        Path proxyConfig = Files.writeString(dir.resolve("proxy.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + proxyPort,
                "adminListen: 127.0.0.1:" + adminPort,
                "endpoint: " + ENDPOINT,
                "dnsSuffix: " + SUFFIX,
                "tls: {cert: " + server.cert() + ", key: " + server.key() + "}",
                "auth: {mode: ca, tenantCa: " + pki.caCert() + "}",
                "accounts: " + accounts,
                "agents: {static: [\"127.0.0.1:" + agentPort + "\"]}",
                "timeouts: {request: 10s}", ""));
        proxyLog = dir.resolve("proxy.log");
        proxy = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "proxy", "--config",
                proxyConfig.toString()).redirectErrorStream(true).redirectOutput(proxyLog.toFile()).start();
        HttpClient admin = HttpClient.newHttpClient();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
            assertThat(proxy.isAlive()).as(Files.readString(proxyLog)).isTrue();
            return admin.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/-/ready"))
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        });
        alice = new TlsClient(vertx, pki.client(ALICE), pki.caCert(), proxyPort);
        bob = new TlsClient(vertx, pki.client(BOB), pki.caCert(), proxyPort);
    }

    @AfterAll
    static void stop() throws Exception {
        for (TlsClient c : new TlsClient[] {alice, bob}) if (c != null) c.close();
        for (Process p : new Process[] {proxy, agent}) {
            if (p != null) {
                p.destroy();
                if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (agentLog != null) System.out.println("agent log:\n" + Files.readString(agentLog));
        DOCKER.removeAll();
        if (podman != null) podman.close();
        if (lxc != null) lxc.close();
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static String aliceName(String runtime) {
        return "rtp-" + RUN + "-alice-" + runtime;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** uuid → vm_brand of what the tenant discovers through the proxy. */
    static Map<String, String> discovered(TlsClient client) throws Exception {
        TlsClient.Response r = client.get(ENDPOINT, "/v1/discover");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        Map<String, String> found = new HashMap<>();
        for (JsonNode c : JSON.readTree(r.text()).get("containers")) {
            found.put(c.get("vm_uuid").asText(), c.get("vm_brand").asText());
        }
        return found;
    }

    @Test
    void eachTenantDiscoversExactlyItsOwnOnEveryRuntime() throws Exception {
        assertThat(discovered(alice)).isEqualTo(aliceOwn);
        assertThat(discovered(bob)).isEqualTo(bobOwn);
    }

    @Test
    void eachTenantScrapesItsOwnOnEveryRuntimeAndGets404ForTheOthers() throws Exception {
        for (Map.Entry<String, String> own : aliceOwn.entrySet()) {
            TlsClient.Response r = alice.get(own.getKey() + "." + SUFFIX, "/metrics");
            assertThat(r.status()).as("alice's " + own.getValue()).isEqualTo(200);
            assertThat(r.text()).contains("cpu_user_usage ");
            TlsClient.Response other = bob.get(own.getKey() + "." + SUFFIX, "/metrics");
            assertThat(other.status()).as("bob on alice's " + own.getValue()).isEqualTo(404);
            assertThat(bob.get(ENDPOINT, "/v1/" + own.getKey() + "/metrics").status()).isEqualTo(404);
        }
        for (Map.Entry<String, String> own : bobOwn.entrySet()) {
            TlsClient.Response r = bob.get(own.getKey() + "." + SUFFIX, "/metrics");
            assertThat(r.status()).as("bob's " + own.getValue()).isEqualTo(200);
            assertThat(r.text()).contains("cpu_user_usage ");
            assertThat(alice.get(own.getKey() + "." + SUFFIX, "/metrics").status())
                    .as("alice on bob's " + own.getValue()).isEqualTo(404);
        }
        assertThat(alice.get(ENDPOINT, "/v1/gz/discover").status()).isEqualTo(403);
    }

    @Test
    void alicesPrometheusScrapesHerDockerAndPodmanContainersAndNothingOfBobs() throws Exception {
        TenantPrometheusConfig config = new TenantPrometheusConfig(TenantPrometheusConfig.Addressing.HTTP_SD, ALICE,
                false, ENDPOINT, SUFFIX, proxyPort, pki.caCert().toString(),
                pki.dir().resolve(ALICE + ".pem").toString(), pki.dir().resolve(ALICE + "-key.pem").toString(),
                List.of(), Duration.ofSeconds(1), Duration.ofSeconds(1));
        try (PrometheusProcess prom = PrometheusProcess.start(dir.resolve("prometheus-alice"), config.yaml())) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                Map<String, Double> up = prom.valuesBy("instance", "up{job=\"cmon\"}");
                assertThat(up).as(prom.log()).containsOnlyKeys(aliceName("docker"), aliceName("podman"));
                assertThat(up.values()).containsOnly(1.0);
                assertThat(prom.valuesBy("instance", "cpu_user_usage")).containsOnlyKeys(aliceName("docker"),
                        aliceName("podman"));
            });
        }
    }
}
