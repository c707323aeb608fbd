package io.cmon.agent.http;

import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.runtime.Instance;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSink;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.api.InstancesAnswer;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP API in-process: real Vert.x server, real inventory, real /proc for gz; the instance collection is a fixed
 * snapshot (the collectors have their own tests, the end-to-end run is AgentIT).
 */
class AgentHttpServerTest {

    static final String UUID = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
    static final MetricSnapshots FIXED = MetricSnapshots.of(GaugeSnapshot.builder().name("mem_limit").help("bytes")
            .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(67108864).build()).build());

    static Vertx vertx;
    static ExecutorService workers;
    InstanceInventory inventory;
    AgentHttpServer server;
    int port;
    final AtomicInteger refreshes = new AtomicInteger();
    final java.util.concurrent.atomic.AtomicReference<java.time.Duration> lastDeadline =
            new java.util.concurrent.atomic.AtomicReference<>();
    final HttpClient http = HttpClient.newHttpClient();

    /** The test source's health, as a runtime's would change. */
    volatile boolean sourceUp = true;

    final InstanceSource countingSource = new InstanceSource() {
        public String name() { return "test"; }
        public boolean up() { return sourceUp; }
        public void start(InstanceSink sink) {}
        public CompletionStage<Void> refresh() {
            refreshes.incrementAndGet();
            inventory.upsert(instance("1b2c3d4e-0000-0000-0000-000000000001"));
            return CompletableFuture.completedFuture(null);
        }
        public void close() {}
    };

    static Instance instance(String uuid) {
        return new Instance(uuid, "web-1", "alice", "img", "docker", List.of("web"), "running", 4242, null, null,
                "test");
    }

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
        workers = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        workers.shutdownNow();
    }

    @BeforeEach
    void start() throws Exception {
        inventory = new InstanceInventory();
        GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), () -> Map.of("running", 1L), "test");
        server = new AgentHttpServer(vertx, new ServerIdentity("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-1"),
                inventory, (i, deadline) -> {
                    lastDeadline.set(deadline);
                    return CompletableFuture.supplyAsync(() -> FIXED, workers);
                }, gz, List.of(countingSource),
                workers, new Exposition(), new PrometheusRegistry());
        port = server.listen(new HostPort("127.0.0.1", 0), null).toCompletionStage().toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    HttpResponse<byte[]> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static String body(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void prometheusScrapeTimeoutBecomesTheCollectionDeadlineWithRoomToAnswer() throws Exception {
        inventory.upsert(instance(UUID));

        assertThat(get("/v1/" + UUID + "/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "2.5").statusCode())
                .isEqualTo(200);
        assertThat(lastDeadline.get()).isEqualTo(java.time.Duration.ofMillis(2250));
        assertThat(get("/v1/" + UUID + "/metrics").statusCode()).isEqualTo(200);
        assertThat(lastDeadline.get()).isEqualTo(AgentHttpServer.NO_DEADLINE);
    }

    @Test
    void anUnreadableScrapeTimeoutLeavesTheCollectionsOwnTimeout() {
        for (String bad : new String[] {"", "ten", "-1", "0", "NaN", "1e300"}) {
            assertThat(AgentHttpServer.collectionDeadline(bad)).as(bad).isEqualTo(AgentHttpServer.NO_DEADLINE);
        }
        assertThat(AgentHttpServer.collectionDeadline(" 10 ")).isEqualTo(java.time.Duration.ofSeconds(9));
        assertThat(AgentHttpServer.collectionDeadline("0.0001")).isEqualTo(java.time.Duration.ofMillis(1));
    }

    @Test
    void unknownInstanceIsContainerNotFound() throws Exception {
        HttpResponse<byte[]> r = get("/v1/" + UUID + "/metrics");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(body(r)).isEqualTo("container not found\n");
    }

    @Test
    void nonUuidIsBadRequest() throws Exception {
        HttpResponse<byte[]> r = get("/v1/not-a-uuid/metrics");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(body(r)).isEqualTo("invalid uuid\n");
    }

    @Test
    void knownInstanceAnswersText004AndGzipAndOpenMetricsOnRequest() throws Exception {
        inventory.upsert(instance(UUID));

        HttpResponse<byte[]> plain = get("/v1/" + UUID.toUpperCase() + "/metrics");
        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(plain.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(body(plain)).contains("mem_limit 6.7108864E7");

        HttpResponse<byte[]> gz = get("/v1/" + UUID + "/metrics", "Accept", "application/openmetrics-text",
                "Accept-Encoding", "gzip");
        assertThat(gz.headers().firstValue("content-encoding")).hasValue("gzip");
        assertThat(gz.headers().firstValue("content-type")).get().asString()
                .startsWith("application/openmetrics-text; version=1.0.0");
        String om = new String(new GZIPInputStream(new ByteArrayInputStream(gz.body())).readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(om).contains("mem_limit 6.7108864E7").endsWith("# EOF\n");
    }

    @Test
    void instancesListsTheInventoryWithServerAndGeneration() throws Exception {
        inventory.upsert(instance(UUID));

        HttpResponse<byte[]> r = get("/v1/instances");

        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        InstancesPage page = new ObjectMapper().readValue(r.body(), InstancesPage.class);
        assertThat(page.server()).isEqualTo(new InstancesPage.Server("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-1",
                List.of(new InstancesPage.Source("test", true, null, 0, 0))));
        assertThat(page.generation()).isEqualTo(inventory.generation()).isPositive();
        assertThat(page.instances()).containsExactly(
                new InstancesPage.Entry(UUID, "web-1", "alice", "img", "docker", List.of("web"), "running"));
    }

    @Test
    void longPollAnswersAsSoonAsTheGenerationPasses() throws Exception {
        long g = inventory.generation();
        CompletableFuture<HttpResponse<byte[]>> poll = http.sendAsync(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/v1/instances?since=" + g + "&wait=30s")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.waiting() == 1);
        long changed = System.nanoTime();
        inventory.upsert(instance(UUID));

        HttpResponse<byte[]> r = poll.get(2, TimeUnit.SECONDS);

        assertThat((System.nanoTime() - changed) / 1e6).isLessThan(500);
        InstancesPage page = new ObjectMapper().readValue(r.body(), InstancesPage.class);
        assertThat(page.generation()).isEqualTo(g + 1);
        assertThat(page.instances()).extracting(InstancesPage.Entry::vmUuid).containsExactly(UUID);
    }

    @Test
    void aLongPollWhoseCallerHangsUpIsForgotten() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.getOutputStream().write(("GET /v1/instances?since=" + inventory.generation()
                    + "&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            await().atMost(Duration.ofSeconds(2)).until(() -> inventory.waiting() == 1);
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.waiting() == 0);
    }

    @Test
    void longPollAnswersAtTheWaitWithTheSameGeneration() throws Exception {
        long g = inventory.generation();
        long start = System.nanoTime();

        HttpResponse<byte[]> r = get("/v1/instances?since=" + g + "&wait=300ms");

        assertThat((System.nanoTime() - start) / 1e6).isBetween(250.0, 2000.0);
        assertThat(new ObjectMapper().readValue(r.body(), InstancesPage.class).generation()).isEqualTo(g);
        assertThat(inventory.waiting()).isZero();
    }

    @Test
    void badLongPollParametersAreBadRequestsThatSayWhy() throws Exception {
        HttpResponse<byte[]> r = get("/v1/instances?since=0&wait=forever");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(body(r)).startsWith("wait: 'forever' is not a duration");
    }

    @Test
    void refreshRescansTheSourcesAndAnswersTheNewGeneration() throws Exception {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/refresh")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(refreshes).hasValue(1);
        assertThat(body(r)).isEqualTo("{\"generation\":1}");
    }

    @Test
    void gzMetricsAndSelfMetricsAnswer() throws Exception {
        get("/_ping");
        assertThat(body(get("/v1/gz/metrics"))).contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}",
                "cmon_instances{state=\"running\"} 1.0", "cmon_agent_up 1.0");
        assertThat(body(get("/metrics")))
                .contains("cmon_agent_http_requests_total{code=\"200\",route=\"ping\"} 1.0");
    }

    @Test
    void unknownRouteIs404AndWrongMethodIs405() throws Exception {
        assertThat(get("/nope").statusCode()).isEqualTo(404);
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/instances")).DELETE().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("allow")).hasValue("GET");
    }

    @Test
    void aUuidClaimedByTwoContainersIsAbsentFromTheListAnd404ButListedAsAConflict() throws Exception {
        inventory.upsert("c0ffee000001", instance(UUID));
        inventory.upsert("baddad000002", new Instance(UUID, "bob-x", "bob", "img", "docker", List.of(), "running",
                4343, null, null, "test"));

        InstancesPage page = new ObjectMapper().readValue(get("/v1/instances").body(), InstancesPage.class);
        HttpResponse<byte[]> metrics = get("/v1/" + UUID + "/metrics");

        assertThat(page.instances()).isEmpty();
        assertThat(page.conflicts()).containsExactly(new InstancesPage.Conflict(UUID,
                List.of("test bob-x (baddad000002)", "test web-1 (c0ffee000001)")));
        assertThat(metrics.statusCode()).isEqualTo(404);
        assertThat(body(metrics)).isEqualTo("container not found\n");
        assertThat(body(get("/metrics"))).contains("cmon_agent_instance_conflicts 1.0");
    }

    // --- inventory protocol v2 ---

    static final String V2 = InstancesAnswer.ACCEPT;

    InstancesAnswer v2(HttpResponse<byte[]> r) throws IOException {
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue(InstancesAnswer.MEDIA_TYPE);
        return new ObjectMapper().readValue(r.body(), InstancesAnswer.class);
    }

    @Test
    void aFirstV2RequestIsAFullAnswerWithTheAgentsEpoch() throws Exception {
        inventory.upsert(instance(UUID));

        InstancesAnswer a = v2(get("/v1/instances", "Accept", V2));

        assertThat(a.protocol()).isEqualTo(2);
        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.FULL);
        assertThat(a.epoch()).isEqualTo(inventory.epoch());
        assertThat(a.generation()).isEqualTo(inventory.generation());
        assertThat(a.server().uuid()).isEqualTo("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4");
        assertThat(a.instances()).containsExactly(
                new InstancesPage.Entry(UUID, "web-1", "alice", "img", "docker", List.of("web"), "running"));
        assertThat(a.removed()).isEmpty();
        assertThat(a.conflicts()).isEmpty();
    }

    @Test
    void aV2LongPollAnswersTheDeltaSinceItsGeneration() throws Exception {
        String other = "1b2c3d4e-0000-0000-0000-000000000001";
        inventory.upsert(instance(UUID));
        inventory.upsert(instance(other));
        long g = inventory.generation();
        CompletableFuture<HttpResponse<byte[]>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + port + "/v1/instances?since=" + g + "&wait=30s&epoch="
                                + inventory.epoch())).header("Accept", V2).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.waiting() == 1);
        inventory.remove("test", other);

        InstancesAnswer a = v2(poll.get(2, TimeUnit.SECONDS));

        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.DELTA);
        assertThat(a.generation()).isEqualTo(g + 1);
        assertThat(a.instances()).isEmpty();
        assertThat(a.removed()).containsExactly(other);
        assertThat(a.conflicts()).isEmpty();
    }

    @Test
    void aV2LongPollThatTimesOutIsASmallUnchangedAnswerWithoutLists() throws Exception {
        inventory.upsert(instance(UUID));
        long g = inventory.generation();

        HttpResponse<byte[]> r = get("/v1/instances?since=" + g + "&wait=300ms&epoch=" + inventory.epoch(),
                "Accept", V2);

        InstancesAnswer a = v2(r);
        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.UNCHANGED);
        assertThat(a.generation()).isEqualTo(g);
        assertThat(a.server().hostname()).isEqualTo("cn-1");
        assertThat(body(r)).doesNotContain("\"instances\"", "\"removed\"", "\"conflicts\"");
        assertThat(r.body().length).isLessThan(300);
    }

    /** A v2 long-poll of 300 s at the inventory's generation, waiting at the agent when this returns. */
    CompletableFuture<HttpResponse<byte[]>> waitingV2Poll() {
        CompletableFuture<HttpResponse<byte[]>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + port + "/v1/instances?since=" + inventory.generation()
                                + "&wait=300s&epoch=" + inventory.epoch())).header("Accept", V2).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.waiting() == 1);
        return poll;
    }

    @Test
    void aSourceGoingDownEndsWaitingLongPollsWithAnUnchangedAnswerThatSaysSo() throws Exception {
        inventory.upsert(instance(UUID));
        long g = inventory.generation();
        CompletableFuture<HttpResponse<byte[]>> poll = waitingV2Poll();

        sourceUp = false;
        server.wakeOnHealthChange(); // what the health timer does every HEALTH_CHECK

        InstancesAnswer a = v2(poll.get(5, TimeUnit.SECONDS));
        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.UNCHANGED);
        assertThat(a.generation()).isEqualTo(g);
        assertThat(a.server().sources()).extracting(InstancesPage.Source::name, InstancesPage.Source::up)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("test", false));
        assertThat(inventory.waiting()).isZero();
    }

    @Test
    void theHealthTimerEndsALongPollWithoutBeingCalled() throws Exception {
        CompletableFuture<HttpResponse<byte[]>> poll = waitingV2Poll();

        sourceUp = false;

        InstancesAnswer a = v2(poll.get(AgentHttpServer.HEALTH_CHECK.toSeconds() * 2 + 2, TimeUnit.SECONDS));
        assertThat(a.server().sources()).extracting(InstancesPage.Source::up).containsExactly(false);
    }

    @Test
    void anUnchangedHealthDoesNotEndALongPoll() {
        waitingV2Poll();

        server.wakeOnHealthChange(); // same name, up and error: nothing to say

        assertThat(inventory.waiting()).isEqualTo(1);
    }

    @Test
    void anotherEpochGetsAFullAnswerAtOnceInsteadOfWaiting() throws Exception {
        inventory.upsert(instance(UUID));
        long start = System.nanoTime();

        InstancesAnswer a = v2(get("/v1/instances?since=" + inventory.generation() + "&wait=30s&epoch=previous-process",
                "Accept", V2));

        assertThat((System.nanoTime() - start) / 1e6).isLessThan(5000);
        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.FULL);
        assertThat(a.epoch()).isEqualTo(inventory.epoch());
        assertThat(a.instances()).extracting(InstancesPage.Entry::vmUuid).containsExactly(UUID);
    }

    @Test
    void aGenerationAheadOfTheAgentGetsAFullAnswer() throws Exception {
        inventory.upsert(instance(UUID));

        InstancesAnswer a = v2(get("/v1/instances?since=" + (inventory.generation() + 5) + "&wait=30s&epoch="
                + inventory.epoch(), "Accept", V2));

        assertThat(a.kind()).isEqualTo(InstancesAnswer.Kind.FULL);
        assertThat(a.instances()).hasSize(1);
    }

    @Test
    void aV1ClientGetsTheV1PageWhateverItsParameters() throws Exception {
        inventory.upsert(instance(UUID));
        long g = inventory.generation();
        byte[] plainV1 = get("/v1/instances", "Accept", "application/json").body();

        HttpResponse<byte[]> r = get("/v1/instances?since=" + (g - 1) + "&wait=30s&epoch=" + inventory.epoch(),
                "Accept", "application/json");

        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(new String(plainV1, StandardCharsets.UTF_8))
                .doesNotContain("\"kind\"", "\"epoch\"");
        assertThat(new ObjectMapper().readValue(r.body(), InstancesPage.class).instances()).hasSize(1);
    }
}
