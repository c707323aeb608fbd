package io.cmon.proxy;

import io.cmon.api.InstancesPage;
import io.cmon.config.ProxyConfig;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The proxy in-process with real TLS and certificates, in front of a stand-in agent (fast checks of routing,
 * auth, forwarding and failure mapping; ProxyIT repeats the tenant-visible ones against the real agent).
 */
class ProxyInProcessTest {

    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String BOB = "2b8e0000-0000-4000-8000-00000000000b";
    static final String OPS = "2b8e0000-0000-4000-8000-00000000000c";
    static final String SERVER = "aaaaaaaa-0000-4000-8000-000000000001";
    static final String A1 = "11111111-0000-4000-8000-0000000000a1";
    static final String A2 = "11111111-0000-4000-8000-0000000000a2";
    static final String B1 = "11111111-0000-4000-8000-0000000000b1";
    static final String N1 = "11111111-0000-4000-8000-0000000000f1";
    static final String UNKNOWN = "11111111-0000-4000-8000-0000000000ff";

    @TempDir
    static Path dir;
    static Vertx vertx;
    static TestPki pki;
    static FakeAgent agent;
    static Proxy proxy;
    static TlsClient alice;
    static TlsClient bob;
    static TlsClient ops;

    static InstancesPage.Entry entry(String uuid, String owner, String... groups) {
        return new InstancesPage.Entry(uuid, "alias-" + uuid.substring(34), owner, null, "docker", List.of(groups),
                "running");
    }

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        TestPki.Issued server = pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n"
                + "  - {login: alice, uuid: " + ALICE + ", operator: false}\n"
                + "  - {login: bob, uuid: " + BOB + ", operator: false}\n"
                + "  - {login: ops, uuid: " + OPS + ", operator: true}\n");
        agent = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(SERVER, "cn-1"), 1, List.of(
                entry(A1, ALICE, "web"), entry(A2, "alice", "db"), entry(B1, "bob", "web"), entry(N1, null))), 0);
        ProxyConfig config = proxyConfigFor(agent.port());
        proxy = Proxy.start(vertx, config).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        alice = new TlsClient(vertx, pki.client("alice"), pki.caCert(), proxy.port());
        bob = new TlsClient(vertx, pki.client("bob"), pki.caCert(), proxy.port());
        ops = new TlsClient(vertx, pki.client("ops"), pki.caCert(), proxy.port());
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.inventory().synced());
    }

    static ProxyConfig proxyConfigFor(int agentPort) {
        ProxyConfig config = new ProxyConfig("127.0.0.1:0", "127.0.0.1:0", "cmon.test", "cmon.test",
                new ProxyConfig.Tls(dir.resolve("proxy.pem").toString(), dir.resolve("proxy-key.pem").toString()),
                new ProxyConfig.Auth("ca", pki.caCert().toString(), null), dir.resolve("accounts.yaml").toString(),
                new ProxyConfig.Agents(List.of("127.0.0.1:" + agentPort), null, null), null,
                null, new ProxyConfig.Timeouts("3s"), "1MiB");
        config.validate();
        return config;
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) proxy.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (agent != null) agent.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void discoveryListsExactlyTheCallersInstancesOwnedByUuidOrLogin() throws Exception {
        TlsClient.Response r = alice.get("cmon.test", "/v1/discover");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().get("Content-Type")).isEqualTo("application/json");
        assertThat(r.text()).contains(A1, A2).doesNotContain(B1, N1);
        assertThat(r.text()).contains("\"vm_owner_uuid\":\"" + ALICE + "\"").doesNotContain("\"vm_owner_uuid\":\"alice\"");
        assertThat(bob.get("cmon.test", "/v1/discover").text()).contains(B1).doesNotContain(A1, A2, N1);
    }

    @Test
    void groupsFilterAnyOfAndBadGroupsAre400() throws Exception {
        assertThat(alice.get("cmon.test", "/v1/discover?groups=web").text()).contains(A1).doesNotContain(A2);
        assertThat(alice.get("cmon.test", "/v1/discover?groups=web%2Cdb").text()).contains(A1, A2);
        TlsClient.Response bad = alice.get("cmon.test", "/v1/discover?groups=a,,b");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.headers().get("Content-Type")).startsWith("text/plain");
        assertThat(alice.get("cmon.test", "/v1/http_sd?groups=db").text())
                .contains("/v1/" + A2 + "/metrics", "cmon.test:" + proxy.port()).doesNotContain(A1);
    }

    @Test
    void otherTenantsInstanceIsIndistinguishableFromUnknown() throws Exception {
        TlsClient.Response unknownByHost = alice.get(UNKNOWN + ".cmon.test", "/metrics");
        TlsClient.Response bobsByHost = alice.get(B1 + ".cmon.test", "/metrics");
        TlsClient.Response bobsByPath = alice.get("cmon.test", "/v1/" + B1 + "/metrics");
        TlsClient.Response ownerless = alice.get("cmon.test", "/v1/" + N1 + "/metrics");
        TlsClient.Response server = alice.get(SERVER + ".cmon.test", "/metrics");
        for (TlsClient.Response r : List.of(bobsByHost, bobsByPath, ownerless, server)) {
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.body()).isEqualTo(unknownByHost.body());
            assertThat(r.headers().entries()).hasSameSizeAs(unknownByHost.headers().entries());
        }
        assertThat(unknownByHost.status()).isEqualTo(404);
    }

    @Test
    void ownInstanceIsForwardedByHostAndByPathWithMixedCase() throws Exception {
        TlsClient.Response byHost = alice.get(A1.toUpperCase() + ".CMON.test.", "/metrics");
        assertThat(byHost.status()).isEqualTo(200);
        assertThat(byHost.text()).startsWith(FakeAgent.METRICS).contains("# path " + A1);
        assertThat(byHost.headers().get("Content-Type")).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
        assertThat(alice.get("cmon.test", "/v1/" + A2 + "/metrics").status()).isEqualTo(200);
    }

    @Test
    void gzipAndOpenMetricsPassThroughUntouched() throws Exception {
        TlsClient.Response r = alice.get("cmon.test", "/v1/" + A1 + "/metrics", Map.of(
                "Accept", "application/openmetrics-text;version=1.0.0", "Accept-Encoding", "gzip"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().get("Content-Encoding")).isEqualTo("gzip");
        assertThat(r.headers().get("Content-Type")).startsWith("application/openmetrics-text");
        String text = new String(new GZIPInputStream(new ByteArrayInputStream(r.body().getBytes())).readAllBytes());
        assertThat(text).startsWith(FakeAgent.METRICS).contains("# accept application/openmetrics-text");
    }

    @Test
    void missingOrForeignCertificatesAre401() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"));
        try (TlsClient none = new TlsClient(vertx, null, pki.caCert(), proxy.port());
             TlsClient foreign = new TlsClient(vertx, other.client("alice"), pki.caCert(), proxy.port());
             TlsClient stranger = new TlsClient(vertx, pki.client("mallory"), pki.caCert(), proxy.port())) {
            for (TlsClient c : List.of(none, foreign, stranger)) {
                TlsClient.Response r = c.get("cmon.test", "/v1/discover");
                assertThat(r.status()).isEqualTo(401);
                assertThat(r.headers().get("Content-Type")).startsWith("text/plain");
            }
            assertThat(none.get("whatever", "/_ping").status()).isEqualTo(200);
        }
    }

    @Test
    void gzDiscoveryIsForOperatorsOnly() throws Exception {
        assertThat(alice.get("cmon.test", "/v1/gz/discover").status()).isEqualTo(403);
        TlsClient.Response r = ops.get("cmon.test", "/v1/gz/discover");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("{\"cns\":[{\"server_uuid\":\"" + SERVER + "\",\"server_hostname\":\"cn-1\"}]}");
        assertThat(ops.get(SERVER + ".cmon.test", "/metrics").text()).contains("# path gz");
    }

    @Test
    void slowAgentIs504WithinPrometheusTimeout() throws Exception {
        agent.metricsDelayMs = 5000;
        try {
            long t0 = System.nanoTime();
            TlsClient.Response r = alice.get("cmon.test", "/v1/" + A1 + "/metrics",
                    Map.of("X-Prometheus-Scrape-Timeout-Seconds", "1"));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.status()).isEqualTo(504);
            assertThat(ms).isBetween(800L, 1500L);
        } finally {
            agent.metricsDelayMs = 0;
        }
    }

    @Test
    void bodiesLargerThanTheCoalescingBufferArriveWhole() throws Exception {
        // the agent's chunks are gathered up to 64 KiB before each write: nothing may be lost or reordered at
        // those boundaries, whatever the size
        for (int size : new int[] {0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 300_001}) {
            agent.metricsBytes = size;
            try {
                TlsClient.Response r = alice.get("cmon.test", "/v1/" + A1 + "/metrics");
                assertThat(r.status()).as("size %d", size).isEqualTo(200);
                assertThat(r.body().getBytes()).as("size %d", size).isEqualTo(FakeAgent.pattern(size));
            } finally {
                agent.metricsBytes = -1;
            }
        }
    }

    @Test
    void oversizedAgentAnswerIs502() throws Exception {
        agent.metricsBytes = 2 * 1024 * 1024;
        try {
            TlsClient.Response r = alice.get("cmon.test", "/v1/" + A1 + "/metrics");
            assertThat(r.status()).isEqualTo(502);
        } catch (java.util.concurrent.ExecutionException e) {
            // the head was already on its way: a reset connection is the other correct outcome
            assertThat(e.getCause()).isNotNull();
        } finally {
            agent.metricsBytes = -1;
        }
    }

    @Test
    void adminListenerServesReadinessMetricsAndStatus() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + proxy.adminPort();
        assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/-/ready")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        alice.get("cmon.test", "/v1/discover");
        String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).contains("cmon_proxy_requests_total{code=\"200\",route=\"discover\"}",
                "cmon_proxy_agent_up{agent=\"127.0.0.1:" + agent.port() + "\",server_uuid=\"" + SERVER + "\"} 1",
                "cmon_proxy_inventory_instances 4");
        String status = http.send(HttpRequest.newBuilder(URI.create(base + "/status")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(status).contains("\"synced\" : true", "\"hostname\" : \"cn-1\"");
        assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/-/reload"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).body())
                .startsWith("accounts unchanged");
    }

    @Test
    void overTheAccountsRateIs429WithRetryAfter() throws Exception {
        ProxyConfig base = proxyConfigFor(agent.port());
        ProxyConfig slow = new ProxyConfig(base.listen(), base.adminListen(), base.endpoint(), base.dnsSuffix(),
                base.tls(), base.auth(), base.accounts(), base.agents(), null,
                new ProxyConfig.RateLimit(0.5, 2), base.timeouts(), base.maxResponseBytes());
        Proxy limited = Proxy.start(vertx, slow).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        try (TlsClient a = new TlsClient(vertx, pki.client("alice"), pki.caCert(), limited.port());
             TlsClient b = new TlsClient(vertx, pki.client("bob"), pki.caCert(), limited.port())) {
            assertThat(a.get("cmon.test", "/_ping").status()).isEqualTo(200);
            assertThat(a.get("cmon.test", "/v1/gz/discover").status()).isEqualTo(403);
            assertThat(a.get("cmon.test", "/v1/gz/discover").status()).isEqualTo(403);
            TlsClient.Response r = a.get("cmon.test", "/v1/discover");
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.headers().get("Retry-After")).isEqualTo("2");
            assertThat(r.headers().get("Content-Type")).startsWith("text/plain");
            assertThat(b.get("cmon.test", "/v1/gz/discover").status()).as("bob has his own bucket").isEqualTo(403);
        } finally {
            limited.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void agentsFileIsFollowedAsItChanges() throws Exception {
        ProxyConfig base = proxyConfigFor(agent.port());
        Path agentsFile = Files.writeString(dir.resolve("agents.txt"), "# none yet\n");
        ProxyConfig fromFile = new ProxyConfig(base.listen(), base.adminListen(), base.endpoint(), base.dnsSuffix(),
                base.tls(), base.auth(), base.accounts(), new ProxyConfig.Agents(List.of(), agentsFile.toString(), null),
                null, null, base.timeouts(), base.maxResponseBytes());
        fromFile.validate();
        Proxy p = Proxy.start(vertx, fromFile).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        try {
            assertThat(p.inventory().instanceCount()).isZero();
            Files.writeString(agentsFile, "127.0.0.1:" + agent.port() + "\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> p.inventory().instance(A1).isPresent());
            Files.writeString(agentsFile, "");
            await().atMost(Duration.ofSeconds(5)).until(() -> p.inventory().instance(A1).isEmpty());
            assertThat(p.inventory().agents()).isEmpty();
        } finally {
            p.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void longPollPicksUpNewInstances() throws Exception {
        String c1 = "11111111-0000-4000-8000-0000000000a3";
        InstancesPage before = agent.page;
        List<InstancesPage.Entry> more = new java.util.ArrayList<>(before.instances());
        more.add(entry(c1, ALICE));
        agent.publish(new InstancesPage(before.server(), before.generation() + 1, more));
        try {
            await().atMost(Duration.ofSeconds(2)).until(() -> proxy.inventory().instance(c1).isPresent());
            assertThat(alice.get("cmon.test", "/v1/discover").text()).contains(c1);
        } finally {
            agent.publish(new InstancesPage(before.server(), before.generation() + 2, before.instances()));
            await().atMost(Duration.ofSeconds(2)).until(() -> proxy.inventory().instance(c1).isEmpty());
        }
    }

    @Test
    void adminAndTenantListenersAnswerWhileEveryInventoryLoopIsBusy() throws Exception {
        List<io.vertx.core.Context> loops = proxy.agentSet().contexts();
        assertThat(loops).isNotEmpty();
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(loops.size());
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        for (int i = 0; i < loops.size(); i++) {
            boolean holdTheLock = i == 0; // as an agent's answer being applied
            loops.get(i).runOnContext(v -> {
                busy.countDown();
                try {
                    if (holdTheLock) {
                        synchronized (proxy.inventory()) {
                            release.await(10, TimeUnit.SECONDS);
                        }
                    } else {
                        release.await(10, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try {
            assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
            assertAdminRoutesAnswer(Duration.ofSeconds(5));
            TlsClient.Response discovery = alice.get("cmon.test", "/v1/discover");
            assertThat(discovery.status()).isEqualTo(200);
            assertThat(discovery.text()).contains(A1);
            assertThat(alice.get("cmon.test", "/v1/" + A1 + "/metrics").status()).isEqualTo(200);
            assertThat(release.getCount()).as("every inventory loop still busy").isEqualTo(1);
        } finally {
            release.countDown();
        }
    }

    @Test
    void theAdminListenerAnswersWhileEveryTenantListenerLoopIsBusy() throws Exception {
        List<io.vertx.core.Context> loops = proxy.tenantListeners().contexts();
        assertThat(loops).hasSize(Math.max(1, Runtime.getRuntime().availableProcessors()));
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(loops.size());
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        for (io.vertx.core.Context loop : loops) {
            loop.runOnContext(v -> { // as a tenant's request that takes long on its loop
                busy.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try {
            assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
            assertAdminRoutesAnswer(Duration.ofSeconds(3));
            assertThat(release.getCount()).as("every tenant listener loop still busy").isEqualTo(1);
        } finally {
            release.countDown();
        }
    }

    /** Every admin route answers 200 within {@code timeout} (a loop it waited on would make it time out). */
    static void assertAdminRoutesAnswer(Duration timeout) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        for (String path : List.of("/-/healthy", "/-/ready", "/status", "/metrics")) {
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + proxy.adminPort() + path))
                            .timeout(timeout).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(path).isEqualTo(200);
        }
    }

    @Test
    void twoProxiesOfTheSameFleetAnswerTheSameDiscovery() throws Exception {
        Proxy second = Proxy.start(vertx, proxyConfigFor(agent.port())).toCompletionStage().toCompletableFuture()
                .get(20, TimeUnit.SECONDS);
        try (TlsClient aliceThere = new TlsClient(vertx, pki.client("alice"), pki.caCert(), second.port());
             TlsClient opsThere = new TlsClient(vertx, pki.client("ops"), pki.caCert(), second.port())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> second.inventory().synced());
            for (String path : List.of("/v1/discover", "/v1/discover?groups=web")) {
                String here = alice.get("cmon.test", path).text();
                String there = aliceThere.get("cmon.test", path).text();
                assertThat(here).contains(A1);
                // cached_date is when each proxy learned the instance: its own clock, the one field that may differ
                assertThat(withoutDates(there)).as(path).isEqualTo(withoutDates(here));
            }
            assertThat(opsThere.get("cmon.test", "/v1/gz/discover").text())
                    .isEqualTo(ops.get("cmon.test", "/v1/gz/discover").text());
            assertThat(second.inventory().instanceCount()).isEqualTo(proxy.inventory().instanceCount());
        } finally {
            second.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    static String withoutDates(String discovery) {
        return discovery.replaceAll("\"cached_date\":\\d+", "\"cached_date\":0");
    }
}
