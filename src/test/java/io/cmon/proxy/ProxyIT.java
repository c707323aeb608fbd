package io.cmon.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * End to end: {@code cmon proxy} and {@code cmon agent} as processes of the real jar, real TLS with certificates
 * made for the test, real Docker containers owned by two tenants through the {@code cmon.owner} label. Logins
 * and uuids are unique per run, because other tests on the shared daemon label containers for "alice" too.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxyIT {

    static final DockerCli DOCKER = new DockerCli("proxy");
    static final ObjectMapper JSON = new ObjectMapper();
    static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    static final String ALICE = "alice-" + RUN;
    static final String BOB = "bob-" + RUN;
    static final String OPS = "ops-" + RUN;
    static final String ALICE_UUID = UUID.randomUUID().toString();
    static final String BOB_UUID = UUID.randomUUID().toString();
    static final String OPS_UUID = UUID.randomUUID().toString();
    static final String SERVER_UUID = UUID.randomUUID().toString();
    static final String UNKNOWN = UUID.randomUUID().toString();

    static Path dir;
    static Vertx vertx;
    static TestPki pki;
    static Path accounts;
    static Path agentConfig;
    static int agentPort;
    static Process agent;
    static Process proxy;
    static Path proxyLog;
    static int proxyPort;
    static int adminPort;
    static TlsClient alice;
    static TlsClient bob;
    static TlsClient ops;
    static String aliceWeb;
    static String aliceDb;
    static String bobWeb;
    static final HttpClient ADMIN = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        DOCKER.removeAll();
        dir = Files.createTempDirectory("cmon-proxy-it-");
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        TestPki.Issued server = pki.server("proxy", "cmon.test", "*.cmon.test");
        accounts = dir.resolve("accounts.yaml");
        writeAccounts(false, true);

        // containers first, so that the agent's first answer already has them
        aliceWeb = DockerCli.uuidOf(DOCKER.runDetached(List.of("--label", "cmon.owner=" + ALICE_UUID.toUpperCase(),
                "--label", "cmon.groups=web,front"), "sleep", "600"));
        aliceDb = DockerCli.uuidOf(DOCKER.runDetached(List.of("--label", "cmon.owner=" + ALICE,
                "--label", "cmon.groups=db"), "sleep", "600"));
        bobWeb = DockerCli.uuidOf(DOCKER.runDetached(List.of("--label", "cmon.owner=" + BOB_UUID,
                "--label", "cmon.groups=web"), "sleep", "600"));

        agentPort = AgentProcess.freePort();
        agentConfig = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + agentPort,
                "server: {uuid: " + SERVER_UUID + ", hostname: proxy-it}",
                "docker: {socket: /var/run/docker.sock}", ""));
        agent = startAgent();

        proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        Path proxyConfig = Files.writeString(dir.resolve("proxy.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + proxyPort,
                "adminListen: 127.0.0.1:" + adminPort,
                "endpoint: cmon.test",
                "dnsSuffix: cmon.test",
                "tls: {cert: " + server.cert() + ", key: " + server.key() + "}",
                "auth: {mode: ca, tenantCa: " + pki.caCert() + "}",
                "accounts: " + accounts,
                "agents: {static: [\"127.0.0.1:" + agentPort + "\"]}",
                "timeouts: {request: 10s}", ""));
        proxyLog = dir.resolve("proxy.log");
        proxy = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "proxy", "--config",
                proxyConfig.toString()).redirectErrorStream(true).redirectOutput(proxyLog.toFile()).start();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
            assertThat(proxy.isAlive()).as(Files.readString(proxyLog)).isTrue();
            return admin("/-/ready").statusCode() == 200;
        });

        alice = new TlsClient(vertx, pki.client(ALICE), pki.caCert(), proxyPort);
        bob = new TlsClient(vertx, pki.client(BOB), pki.caCert(), proxyPort);
        ops = new TlsClient(vertx, pki.client(OPS), pki.caCert(), proxyPort);
    }

    @AfterAll
    static void stop() throws Exception {
        DOCKER.removeAll();
        for (TlsClient c : new TlsClient[] {alice, bob, ops}) if (c != null) c.close();
        if (proxy != null) {
            proxy.destroy();
            boolean exited = proxy.waitFor(15, TimeUnit.SECONDS);
            System.out.println("proxy log:\n" + Files.readString(proxyLog));
            assertThat(exited).as("proxy exits on SIGTERM").isTrue();
        }
        if (agent != null) stopAgent();
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    // --- helpers ---------------------------------------------------------------------------------------------

    static void writeAccounts(boolean aliceIsOperator, boolean withBob) throws IOException {
        StringBuilder y = new StringBuilder("accounts:\n");
        y.append("  - {login: ").append(ALICE).append(", uuid: ").append(ALICE_UUID)
                .append(", operator: ").append(aliceIsOperator).append("}\n");
        if (withBob) y.append("  - {login: ").append(BOB).append(", uuid: ").append(BOB_UUID).append(", operator: false}\n");
        y.append("  - {login: ").append(OPS).append(", uuid: ").append(OPS_UUID).append(", operator: true}\n");
        Path tmp = accounts.resolveSibling("accounts.yaml.tmp");
        Files.writeString(tmp, y);
        Files.move(tmp, accounts, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    static Process startAgent() throws Exception {
        Path log = dir.resolve("agent.log");
        Process p = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "agent", "--config",
                agentConfig.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
            String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agentPort + "/v1/instances"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            return body.contains(aliceWeb) && body.contains(aliceDb) && body.contains(bobWeb);
        });
        return p;
    }

    static void stopAgent() throws InterruptedException {
        agent.destroy();
        if (!agent.waitFor(15, TimeUnit.SECONDS)) agent.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    static HttpResponse<String> admin(String path) throws IOException, InterruptedException {
        return ADMIN.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static Set<String> discovered(TlsClient client, String query) throws Exception {
        TlsClient.Response r = client.get("cmon.test", "/v1/discover" + query);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        Set<String> uuids = new HashSet<>();
        for (JsonNode c : JSON.readTree(r.text()).get("containers")) uuids.add(c.get("vm_uuid").asText());
        return uuids;
    }

    static void signal(Process p, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor()).isZero();
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    // --- tests -----------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void eachTenantDiscoversExactlyItsOwnContainers() throws Exception {
        assertThat(discovered(alice, "")).containsExactlyInAnyOrder(aliceWeb, aliceDb);
        assertThat(discovered(bob, "")).containsExactlyInAnyOrder(bobWeb);
        JsonNode c = JSON.readTree(alice.get("cmon.test", "/v1/discover?groups=db").text()).get("containers").get(0);
        for (String field : List.of("groups", "server_uuid", "vm_alias", "vm_brand", "vm_image_uuid",
                "vm_owner_uuid", "vm_uuid", "cached_date")) {
            assertThat(c.has(field)).as(field).isTrue();
        }
        assertThat(c.get("vm_owner_uuid").asText()).isEqualTo(ALICE_UUID);
        assertThat(c.get("server_uuid").asText()).isEqualTo(SERVER_UUID);
        assertThat(c.get("vm_brand").asText()).isEqualTo("docker");
        assertThat(c.get("cached_date").asLong()).isCloseTo(System.currentTimeMillis(), org.assertj.core.data.Offset.offset(120_000L));
    }

    @Test
    @Order(2)
    void groupsFilterIsAnyOfAndBadGroupsAre400() throws Exception {
        assertThat(discovered(alice, "?groups=web")).containsExactly(aliceWeb);
        assertThat(discovered(alice, "?groups=db%2Cfront")).containsExactlyInAnyOrder(aliceWeb, aliceDb);
        assertThat(discovered(alice, "?groups=nothing")).isEmpty();
        for (String bad : List.of("?groups=", "?groups=a,,b", "?groups=%zz", "?groups=" + "x".repeat(101), "?groups=a%20b")) {
            TlsClient.Response r = alice.get("cmon.test", "/v1/discover" + bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.headers().get("Content-Type")).as(bad).startsWith("text/plain");
        }
        String sd = alice.get("cmon.test", "/v1/http_sd?groups=web").text();
        JsonNode groups = JSON.readTree(sd);
        assertThat(groups).hasSize(1);
        assertThat(groups.get(0).get("targets").get(0).asText()).isEqualTo("cmon.test:" + proxyPort);
        assertThat(groups.get(0).get("labels").get("__metrics_path__").asText()).isEqualTo("/v1/" + aliceWeb + "/metrics");
        assertThat(groups.get(0).get("labels").get("__meta_cmon_groups").asText()).isEqualTo(",web,front,");
    }

    @Test
    @Order(3)
    void scrapingAnotherTenantsContainerIsTheSame404AsAnUnknownUuid() throws Exception {
        TlsClient.Response unknown = alice.get(UNKNOWN + ".cmon.test", "/metrics");
        assertThat(unknown.status()).isEqualTo(404);
        List<TlsClient.Response> others = List.of(
                alice.get(bobWeb + ".cmon.test", "/metrics"),
                alice.get(bobWeb.toUpperCase() + ".CMON.TEST.", "/metrics"),
                alice.get("cmon.test", "/v1/" + bobWeb + "/metrics"),
                alice.get("cmon.test", "/v1/" + UNKNOWN + "/metrics"),
                alice.get(SERVER_UUID + ".cmon.test", "/metrics"));
        for (TlsClient.Response r : others) {
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.body().getBytes()).isEqualTo(unknown.body().getBytes());
            assertThat(r.headers().get("Content-Type")).isEqualTo(unknown.headers().get("Content-Type"));
            assertThat(r.headers().get("Content-Length")).isEqualTo(unknown.headers().get("Content-Length"));
        }
        TlsClient.Response own = bob.get(bobWeb + ".cmon.test", "/metrics");
        assertThat(own.status()).isEqualTo(200);
        assertThat(own.text()).contains("cpu_user_usage");
    }

    @Test
    @Order(4)
    void everyBadCertificateIs401() throws Exception {
        TestPki other = TestPki.create(Files.createDirectories(dir.resolve("other-ca")));
        Map<String, TestPki.Issued> matrix = new java.util.LinkedHashMap<>();
        matrix.put("no certificate", null);
        matrix.put("expired", pki.expiredClient(ALICE));
        matrix.put("not yet valid", pki.notYetValidClient(ALICE));
        matrix.put("other CA", other.client(ALICE));
        matrix.put("self-signed", pki.selfSignedClient(ALICE));
        matrix.put("unknown account", pki.client("mallory-" + RUN));
        for (Map.Entry<String, TestPki.Issued> e : matrix.entrySet()) {
            try (TlsClient c = new TlsClient(vertx, e.getValue(), pki.caCert(), proxyPort)) {
                TlsClient.Response r = c.get("cmon.test", "/v1/discover");
                assertThat(r.status()).as(e.getKey()).isEqualTo(401);
                assertThat(r.headers().get("Content-Type")).as(e.getKey()).startsWith("text/plain");
                assertThat(c.get(aliceWeb + ".cmon.test", "/metrics").status()).as(e.getKey()).isEqualTo(401);
            }
        }
        assertThat(admin("/metrics").body()).contains("cmon_proxy_auth_failures_total{reason=\"expired\"}",
                "cmon_proxy_auth_failures_total{reason=\"no_certificate\"}");
    }

    @Test
    @Order(5)
    void serverViewsAreForOperatorsOnly() throws Exception {
        assertThat(alice.get("cmon.test", "/v1/gz/discover").status()).isEqualTo(403);
        TlsClient.Response r = ops.get("cmon.test", "/v1/gz/discover");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).contains("{\"server_uuid\":\"" + SERVER_UUID + "\",\"server_hostname\":\"proxy-it\"}");
        TlsClient.Response gz = ops.get(SERVER_UUID + ".cmon.test", "/metrics");
        assertThat(gz.status()).isEqualTo(200);
        assertThat(gz.text()).contains("# TYPE ").doesNotContain("cpu_user_usage");
    }

    @Test
    @Order(6)
    void gzipAndOpenMetricsAreNegotiatedEndToEnd() throws Exception {
        TlsClient.Response r = alice.get(aliceWeb + ".cmon.test", "/metrics", Map.of(
                "Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
                "Accept-Encoding", "gzip"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().getAll("Content-Encoding")).containsExactly("gzip");
        assertThat(r.headers().get("Content-Type")).startsWith("application/openmetrics-text");
        String text = new String(new GZIPInputStream(new ByteArrayInputStream(r.body().getBytes())).readAllBytes());
        assertThat(text).contains("cpu_user_usage").endsWith("# EOF\n");

        TlsClient.Response plain = alice.get(aliceWeb + ".cmon.test", "/metrics");
        assertThat(plain.headers().get("Content-Encoding")).isNull();
        assertThat(plain.headers().get("Content-Type")).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    }

    @Test
    @Order(7)
    void editedAccountsApplyToAnOpenKeepAliveConnection() throws Exception {
        TlsClient.Response before = alice.get("cmon.test", "/v1/gz/discover");
        assertThat(before.status()).isEqualTo(403);
        try {
            writeAccounts(true, false);
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                    .until(() -> alice.get("cmon.test", "/v1/gz/discover").status() == 200);
            TlsClient.Response after = alice.get("cmon.test", "/v1/gz/discover");
            assertThat(after.connection()).as("same keep-alive connection").isSameAs(before.connection());
            assertThat(bob.get("cmon.test", "/v1/discover").status()).isEqualTo(401);
        } finally {
            writeAccounts(false, true);
            signal(proxy, "HUP"); // reload now rather than at the next file poll
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> bob.get("cmon.test", "/v1/discover").status() == 200);
        // the file watcher may have applied the edit first: SIGHUP's own line follows, moments later
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(proxyLog).contains("reload: accounts"));
    }

    @Test
    @Order(8)
    void hungAgentIs504WithinPrometheusScrapeTimeout() throws Exception {
        signal(agent, "STOP");
        try {
            long t0 = System.nanoTime();
            TlsClient.Response r = alice.get(aliceWeb + ".cmon.test", "/metrics",
                    Map.of("X-Prometheus-Scrape-Timeout-Seconds", "2"));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.status()).isEqualTo(504);
            assertThat(r.headers().get("Content-Type")).startsWith("text/plain");
            assertThat(ms).as("answered before Prometheus gives up at 2 s").isBetween(1500L, 2000L);
        } finally {
            signal(agent, "CONT");
        }
    }

    @Test
    @Order(9)
    void stoppedAgentIs503AndBackWithoutRestartingTheProxy() throws Exception {
        stopAgent();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> alice.get(aliceWeb + ".cmon.test", "/metrics").status() == 503);
        TlsClient.Response down = alice.get("cmon.test", "/v1/" + aliceDb + "/metrics");
        assertThat(down.status()).isEqualTo(503);
        assertThat(down.headers().get("Content-Type")).startsWith("text/plain");
        assertThat(discovered(alice, "")).as("instances stay listed while the agent is down")
                .containsExactlyInAnyOrder(aliceWeb, aliceDb);
        assertThat(alice.get("cmon.test", "/v1/" + bobWeb + "/metrics").status()).as("still not alice's").isEqualTo(404);
        assertThat(admin("/metrics").body()).contains("cmon_proxy_agent_up{agent=\"127.0.0.1:" + agentPort
                + "\",server_uuid=\"" + SERVER_UUID + "\"} 0");

        agent = startAgent();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> alice.get(aliceWeb + ".cmon.test", "/metrics").status() == 200);
        assertThat(admin("/status").body()).contains("\"up\" : true");
    }

    @Test
    @Order(10)
    void sigtermWritesTheAccessLogLinesOfTheLastRequests() throws Exception {
        // lines are handed to the log every 100 ms: a stop right after a request must still write its line
        TlsClient.Response last = alice.get("cmon.test", "/v1/discover?groups=lastbeforestop");
        assertThat(last.status()).isEqualTo(200);
        proxy.destroy();
        assertThat(proxy.waitFor(15, TimeUnit.SECONDS)).as("proxy exits on SIGTERM").isTrue();
        assertThat(Files.readString(proxyLog))
                .containsPattern("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  access - 127\\.0\\.0\\.1:\\d+ " + java.util.regex.Pattern.quote(ALICE)
                        + " GET discover /v1/discover\\?groups=lastbeforestop 200 \\d+B \\d+\\.\\d\\dms\n");
    }
}
