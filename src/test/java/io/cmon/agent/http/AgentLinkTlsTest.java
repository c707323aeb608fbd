package io.cmon.agent.http;

import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.runtime.Instance;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.config.AgentConfig;
import io.cmon.config.HostPort;
import io.cmon.testing.TestPki;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SSLEngineOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Finding 1 of issue 9: the agent link is its own trust domain. A real agent HTTP server with real TLS, on the JDK
 * engine and on BoringSSL; one CA signs the agent's certificate, a proxy certificate and a tenant certificate, as
 * when an operator uses one CA for everything. Only the proxy certificate gets through the handshake.
 */
class AgentLinkTlsTest {

    static final String UUID = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

    @TempDir
    static Path dir;
    static TestPki pki;
    static Vertx vertx;
    static ExecutorService workers;

    final List<AgentHttpServer> servers = new ArrayList<>();
    PrometheusRegistry self;

    @BeforeAll
    static void pki() {
        pki = TestPki.create(dir);
        pki.agent("agent-1");
        pki.proxy("proxy-1");
        pki.proxy("proxy-2");
        pki.client("alice");
        pki.client("proxy-1-tenant", "proxy-1", io.cmon.pki.Validity.days(1)); // a tenant whose login is proxy-1
        vertx = Vertx.vertx();
        workers = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        workers.shutdownNow();
    }

    @AfterEach
    void stop() throws Exception {
        for (AgentHttpServer s : servers) s.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    static SSLEngineOptions engine(String name) {
        if (name.equals("openssl")) {
            assertThat(OpenSSLEngineOptions.isAvailable()).as("netty-tcnative BoringSSL loads here").isTrue();
            return new OpenSSLEngineOptions();
        }
        return new JdkSSLEngineOptions();
    }

    /** An agent serving one instance, with tls from this CA; returns its port. */
    int agent(String engine, List<String> allowedClients) throws Exception {
        return agent(engine, allowedClients, AgentHttpServer.Limits.DEFAULT);
    }

    int agent(String engine, List<String> allowedClients, AgentHttpServer.Limits limits) throws Exception {
        InstanceInventory inventory = new InstanceInventory();
        inventory.upsert(new Instance(UUID, "bob-db", "bob", null, "docker", List.of(), "running", 4242, null, null,
                "docker"));
        self = new PrometheusRegistry();
        AgentHttpServer server = new AgentHttpServer(vertx, new ServerIdentity(UUID, "cn-1"), inventory,
                (i, deadline) -> CompletableFuture.completedFuture(MetricSnapshots.of()),
                new GzMetrics(Path.of("/proc"), Clock.systemUTC(), Map::of, "test"), List.of(), workers,
                new Exposition(), self, limits);
        servers.add(server);
        AgentConfig.Tls tls = new AgentConfig.Tls(pki.dir().resolve("agent-1.pem").toString(),
                pki.dir().resolve("agent-1-key.pem").toString(), pki.caCert().toString(), allowedClients);
        return server.listen(new HostPort("127.0.0.1", 0), tls, engine(engine)).toCompletionStage()
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** GET over HTTPS presenting {@code certName}'s pair, trusting the CA; "status body". */
    String get(int port, String certName, String path) throws Exception {
        HttpClient client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(pki.caCert().toString()))
                .setKeyCertOptions(new PemKeyCertOptions()
                        .setCertPath(pki.dir().resolve(certName + ".pem").toString())
                        .setKeyPath(pki.dir().resolve(certName + "-key.pem").toString())));
        try {
            return client.request(HttpMethod.GET, port, "127.0.0.1", path)
                    .compose(req -> req.send().compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b)))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            client.close();
        }
    }

    String selfMetrics() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PrometheusTextFormatWriter(false).write(out, self.scrape());
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void aProxyCertificateListsInstancesAndScrapes(String engine) throws Exception {
        int port = agent(engine, List.of());

        assertThat(get(port, "proxy-1", "/v1/instances")).startsWith("200 ").contains(UUID, "bob-db");
        assertThat(get(port, "proxy-1", "/v1/" + UUID + "/metrics")).startsWith("200 ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void aTenantCertificateOfTheSameCaIsRefusedAtTheHandshake(String engine) throws Exception {
        int port = agent(engine, List.of());

        assertThatThrownBy(() -> get(port, "alice", "/v1/instances")).isInstanceOf(ExecutionException.class);
        assertThatThrownBy(() -> get(port, "alice", "/v1/" + UUID + "/metrics"))
                .isInstanceOf(ExecutionException.class);
        // a tenant whose login is the proxy's CN: the CN alone opens nothing
        assertThatThrownBy(() -> get(port, "proxy-1-tenant", "/v1/instances")).isInstanceOf(ExecutionException.class);

        String metrics = selfMetrics();
        assertThat(metrics).contains("cmon_agent_tls_refused_total{reason=\"not_a_proxy_certificate\"} 3.0")
                .doesNotContain("cmon_agent_http_requests_total{"); // nothing reached the HTTP layer
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void anAgentsOwnCertificateDoesNotOpenAnotherAgent(String engine) throws Exception {
        int port = agent(engine, List.of());

        assertThatThrownBy(() -> get(port, "agent-1", "/v1/instances")).isInstanceOf(ExecutionException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void allowedClientsRefusesAProxyCertificateWithAnotherCn(String engine) throws Exception {
        int port = agent(engine, List.of("proxy-1"));

        assertThat(get(port, "proxy-1", "/v1/instances")).startsWith("200 ");
        assertThatThrownBy(() -> get(port, "proxy-2", "/v1/instances")).isInstanceOf(ExecutionException.class);
        assertThat(selfMetrics()).contains("cmon_agent_tls_refused_total{reason=\"client_not_allowed\"} 1.0");
    }

    @Test
    void aCertificateOfAnotherCaWithTheSameNameIsRefusedAsUntrusted() throws Exception {
        // the same CA name, so that the client finds its issuer in the agent's list and presents the certificate
        TestPki other = TestPki.create(dir.resolve("other").resolve(dir.getFileName()));
        other.proxy("proxy-1");
        java.nio.file.Files.copy(other.dir().resolve("proxy-1.pem"), dir.resolve("stranger.pem"));
        java.nio.file.Files.copy(other.dir().resolve("proxy-1-key.pem"), dir.resolve("stranger-key.pem"));
        int port = agent("jdk", List.of());

        assertThatThrownBy(() -> get(port, "stranger", "/v1/instances")).isInstanceOf(ExecutionException.class);
        assertThat(selfMetrics()).contains("cmon_agent_tls_refused_total{reason=\"untrusted\"} 1.0");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdk", "openssl"})
    void aClientThatNeverFinishesTheHandshakeIsClosedAtTheHeaderDeadline(String engine) throws Exception {
        AgentHttpServer.Limits limits = new AgentHttpServer.Limits(16, java.time.Duration.ofMillis(700),
                java.time.Duration.ofSeconds(120), 8, 4096, 8192, java.time.Duration.ofSeconds(5));
        int port = agent(engine, List.of(), limits);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01}); // the start of a ClientHello, then silence
            long sent = System.nanoTime();

            byte[] rest = s.getInputStream().readAllBytes(); // a read timeout (5 s) would be an exception

            double ms = (System.nanoTime() - sent) / 1e6;
            assertThat(rest.length).isLessThan(64); // at most an alert, never an answer
            assertThat(ms).isBetween(500.0, 4000.0);
        }
    }
}
