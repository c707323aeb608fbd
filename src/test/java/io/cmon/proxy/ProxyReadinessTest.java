package io.cmon.proxy;

import io.cmon.api.InstancesPage;
import io.cmon.config.ProxyConfig;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.cmon.proxy.ProxyInProcessTest.ALICE;
import static io.cmon.proxy.ProxyInProcessTest.BOB;
import static io.cmon.proxy.ProxyInProcessTest.OPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Discovery never answers an empty list it does not believe (DESIGN §3.2: Prometheus would drop every target), and
 * an instance uuid claimed twice is served to nobody. A real proxy with real TLS in front of stand-in agents.
 */
class ProxyReadinessTest {

    static final String SHARED = "11111111-0000-4000-8000-00000000c0de";

    @TempDir
    static Path dir;
    static Vertx vertx;
    static TestPki pki;

    @BeforeAll
    static void pki() throws Exception {
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n"
                + "  - {login: alice, uuid: " + ALICE + ", operator: false}\n"
                + "  - {login: bob, uuid: " + BOB + ", operator: false}\n"
                + "  - {login: ops, uuid: " + OPS + ", operator: true}\n");
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static ProxyConfig config(ProxyConfig.Agents agents) {
        ProxyConfig c = new ProxyConfig("127.0.0.1:0", "127.0.0.1:0", "cmon.test", "cmon.test",
                new ProxyConfig.Tls(dir.resolve("proxy.pem").toString(), dir.resolve("proxy-key.pem").toString()),
                new ProxyConfig.Auth("ca", pki.caCert().toString(), null), dir.resolve("accounts.yaml").toString(),
                agents, null, null, new ProxyConfig.Timeouts("3s"), "1MiB");
        c.validate();
        return c;
    }

    /** Starts a proxy, checks that discovery and /-/ready both refuse with a reason, closes it. */
    void assertNotReady(ProxyConfig config, String reason) throws Exception {
        Proxy p = Proxy.start(vertx, config).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        try (TlsClient alice = new TlsClient(vertx, pki.client("alice"), pki.caCert(), p.port())) {
            // long enough for a closed port to be tried and marked down
            await().pollDelay(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5))
                    .until(() -> p.inventory().notReadyReason() != null);
            for (String path : List.of("/v1/discover", "/v1/http_sd")) {
                TlsClient.Response r = alice.get("cmon.test", path);
                assertThat(r.status()).as(path).isEqualTo(503);
                assertThat(r.headers().get("Content-Type")).as("not JSON: Prometheus keeps its targets")
                        .startsWith("text/plain");
                assertThat(r.text()).contains(reason);
            }
            HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + p.adminPort() + "/-/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains(reason);
        } finally {
            p.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void discoveryIs503UntilAgentsDnsHasAnswered() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            assertNotReady(config(new ProxyConfig.Agents(List.of(), null, "agents.cmon.test:9164", "30s",
                    "127.0.0.1:" + silent.getLocalPort())), "agents.dns has not answered yet");
        }
    }

    @Test
    void discoveryIs503WhileTheAgentsFileCannotBeRead() throws Exception {
        Path notAFile = Files.createDirectories(dir.resolve("agents-dir"));
        assertNotReady(config(new ProxyConfig.Agents(List.of(), notAFile.toString(), null)),
                "cannot be read");
    }

    @Test
    void discoveryIs503WhenNoListedAgentHasEverAnswered() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        assertNotReady(config(new ProxyConfig.Agents(List.of("127.0.0.1:" + closed), null, null)),
                "none of the 1 agent(s) has answered yet");
    }

    @Test
    void aUuidReportedByTwoAgentsIsServedToNobody() throws Exception {
        InstancesPage.Entry alices = new InstancesPage.Entry(SHARED, "web", "alice", null, "docker", List.of(), "running");
        InstancesPage.Entry bobs = new InstancesPage.Entry(SHARED, "evil", "bob", null, "docker", List.of(), "running");
        FakeAgent a = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(
                "aaaaaaaa-0000-4000-8000-000000000001", "cn-1"), 1, List.of(alices)), 0);
        FakeAgent b = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(
                "aaaaaaaa-0000-4000-8000-000000000002", "cn-2"), 1, List.of(bobs)), 0);
        Proxy p = Proxy.start(vertx, config(new ProxyConfig.Agents(
                List.of("127.0.0.1:" + a.port(), "127.0.0.1:" + b.port()), null, null)))
                .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        try (TlsClient alice = new TlsClient(vertx, pki.client("alice"), pki.caCert(), p.port());
             TlsClient bob = new TlsClient(vertx, pki.client("bob"), pki.caCert(), p.port());
             TlsClient ops = new TlsClient(vertx, pki.client("ops"), pki.caCert(), p.port())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> p.inventory().synced());
            for (TlsClient tenant : List.of(alice, bob)) {
                assertThat(tenant.get("cmon.test", "/v1/discover").text()).doesNotContain(SHARED);
                TlsClient.Response r = tenant.get(SHARED + ".cmon.test", "/metrics");
                assertThat(r.status()).isEqualTo(404);
                assertThat(r.text()).isEqualTo("not found\n");
            }
            assertThat(ops.get(SHARED + ".cmon.test", "/metrics").status()).isEqualTo(409);
            String status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + p.adminPort() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(status).contains("\"vm_uuid\" : \"" + SHARED + "\"");
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + p.adminPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("cmon_proxy_inventory_conflicts 1");

            b.publish(new InstancesPage(b.page.server(), 2, List.of())); // bob's agent lets go
            await().atMost(Duration.ofSeconds(5)).until(() -> p.inventory().instance(SHARED).isPresent());
            assertThat(alice.get("cmon.test", "/v1/discover").text()).contains(SHARED);
            assertThat(bob.get(SHARED + ".cmon.test", "/metrics").status()).isEqualTo(404);
        } finally {
            p.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            a.close();
            b.close();
        }
    }
}
