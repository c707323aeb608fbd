package io.cmon.agent.http;

import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSink;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.config.HostPort;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Finding 7 of issue 9, agent side: what a client may hold on the agent's listener is bounded. A real Vert.x server
 * with small limits, raw sockets as clients.
 */
class AgentListenerLimitsTest {

    static final AgentHttpServer.Limits SMALL = new AgentHttpServer.Limits(8, Duration.ofMillis(700),
            Duration.ofSeconds(120), 3, 4096, 8192, Duration.ofMillis(800));

    static Vertx vertx;
    static ExecutorService workers;
    InstanceInventory inventory;
    AgentHttpServer server;
    int port;
    final List<Socket> sockets = new ArrayList<>();
    final AtomicInteger rescans = new AtomicInteger();
    volatile CompletableFuture<Void> sourceAnswer = CompletableFuture.completedFuture(null);

    final InstanceSource slowSource = new InstanceSource() {
        public String name() { return "slow"; }
        public void start(InstanceSink sink) {}
        public CompletionStage<Void> refresh() {
            rescans.incrementAndGet();
            return sourceAnswer;
        }
        public void close() {}
    };

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

    void start(AgentHttpServer.Limits limits) throws Exception {
        inventory = new InstanceInventory();
        server = new AgentHttpServer(vertx, new ServerIdentity("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-1"),
                inventory, (i, deadline) -> CompletableFuture.completedFuture(MetricSnapshots.of()),
                new GzMetrics(Path.of("/proc"), Clock.systemUTC(), Map::of, "test"), List.of(slowSource), workers,
                new Exposition(), new PrometheusRegistry(), limits);
        port = server.listen(new HostPort("127.0.0.1", 0), null).toCompletionStage().toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) s.close();
        server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(5000);
        sockets.add(s);
        return s;
    }

    /** Reads until the server closes; returns what it sent (empty for a close without an answer). */
    static String readToClose(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] all = in.readAllBytes(); // SO_TIMEOUT bounds it: a timeout is an exception, i.e. a failure
        return new String(all, StandardCharsets.US_ASCII);
    }

    @Test
    void aClientThatSendsHalfARequestLineIsClosedAtTheHeaderDeadline() throws Exception {
        start(SMALL);
        Socket slow = connect();
        slow.getOutputStream().write("GET /v1/inst".getBytes(StandardCharsets.US_ASCII));
        long sent = System.nanoTime();

        String answer = readToClose(slow);

        double ms = (System.nanoTime() - sent) / 1e6;
        assertThat(answer).isEmpty();
        assertThat(ms).isBetween(500.0, 3000.0); // the deadline is 700 ms
    }

    @Test
    void aClientThatCompletesItsRequestInTimeIsAnsweredAndKeptAlivePastTheDeadline() throws Exception {
        start(SMALL);
        Socket s = connect();
        s.getOutputStream().write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        byte[] buf = new byte[512];
        int n = s.getInputStream().read(buf);
        assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200");

        Thread.sleep(SMALL.headerTimeout().toMillis() + 500); // past the first-request deadline: still open

        s.getOutputStream().write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        n = s.getInputStream().read(buf);
        assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200");
    }

    @Test
    void connectionsOverTheCapAreClosedAndTheOthersStillServed() throws Exception {
        start(new AgentHttpServer.Limits(4, Duration.ofSeconds(30), Duration.ofSeconds(120), 3, 4096, 8192,
                Duration.ofSeconds(1)));
        List<Socket> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket s = connect();
            s.getOutputStream().write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] buf = new byte[512];
            assertThat(s.getInputStream().read(buf)).isPositive(); // answered: counted and open
            held.add(s);
        }

        Socket fifth = connect();
        fifth.getOutputStream().write("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(readToClose(fifth)).isEmpty();

        held.get(0).close(); // one leaves: a new one is served again
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            try (Socket again = new Socket("127.0.0.1", port)) {
                again.setSoTimeout(2000);
                again.getOutputStream().write("GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(readToClose(again)).startsWith("HTTP/1.1 200");
            }
        });
    }

    @Test
    void anOversizedHeaderIsRefusedWithoutA5xx() throws Exception {
        start(SMALL);
        Socket s = connect();
        s.getOutputStream().write(("GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        String answer = readToClose(s);
        assertThat(answer).startsWith("HTTP/1.1 431");
    }

    @Test
    void anOversizedRequestLineIsRefusedWithoutA5xx() throws Exception {
        start(SMALL);
        Socket s = connect();
        s.getOutputStream().write(("GET /v1/" + "a".repeat(10_000) + "/metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertThat(readToClose(s)).matches("(?s)HTTP/1.[01] 414 .*"); // Netty cannot tell the version it did not read
    }

    @Test
    void longPollsBeyondTheCapGet503WithRetryAfterAndTheWaitersStayBounded() throws Exception {
        start(SMALL);
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            polls.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v1/instances?since=0&wait=60s")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> inventory.waiting() == 3);

        HttpResponse<String> fourth = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/instances?since=0&wait=60s")).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(fourth.statusCode()).isEqualTo(503);
        assertThat(fourth.headers().firstValue("retry-after")).hasValue("1");
        assertThat(inventory.waiting()).isEqualTo(3);

        inventory.upsert(new io.cmon.agent.runtime.Instance("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "a", "o", null,
                "docker", List.of(), "running", 1, null, null, "t"));
        for (var p : polls) assertThat(p.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        // room again once the waiters were answered
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/instances?since=1&wait=100ms")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(200);
    }

    @Test
    void aLongPollThatOutlastsTheIdleTimeoutIsAnsweredNotCut() throws Exception {
        // idle 1 s, a wait of 3 s: the listener's idle timer counts past the longest wait, or proxies' polls of
        // minutes would be cut at the idle timeout
        start(new AgentHttpServer.Limits(8, Duration.ofSeconds(10), Duration.ofSeconds(1), 3, 4096, 8192,
                Duration.ofSeconds(5)));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + port + "/v1/instances?since=" + inventory.generation() + "&wait=3s"))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void aBurstOfRefreshesSharesAtMostTwoRescans() throws Exception {
        start(new AgentHttpServer.Limits(64, Duration.ofSeconds(10), Duration.ofSeconds(120), 3, 4096, 8192,
                Duration.ofSeconds(5)));
        CompletableFuture<Void> hold = new CompletableFuture<>();
        sourceAnswer = hold;
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        all.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/refresh"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()));
        await().atMost(Duration.ofSeconds(5)).until(() -> rescans.get() == 1);
        for (int i = 0; i < 20; i++) {
            all.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/refresh"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()));
        }
        Thread.sleep(300); // let the 20 arrive while the first rescan still runs
        sourceAnswer = CompletableFuture.completedFuture(null);
        hold.complete(null);

        for (var r : all) assertThat(r.get(5, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(rescans).hasValue(2);
        assertThat(server.refreshRescans()).isEqualTo(2);
    }

    @Test
    void aSourceThatNeverAnswersFailsTheRefreshAtItsTimeoutInsteadOfHangingIt() throws Exception {
        start(SMALL);
        sourceAnswer = new CompletableFuture<>(); // never completes
        HttpClient http = HttpClient.newHttpClient();
        long start = System.nanoTime();

        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/refresh")).POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("refresh failed: slow: no answer within 800ms\n");
        assertThat((System.nanoTime() - start) / 1e6).isBetween(700.0, 5000.0);
    }
}
