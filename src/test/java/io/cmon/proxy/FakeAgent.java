package io.cmon.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesPage;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

/**
 * A stand-in agent for in-process tests of the proxy's watcher and forwarder logic: serves an {@link InstancesPage}
 * (long-poll included) and a fixed metrics body. End-to-end tests (ProxyIT) use the real agent.
 */
final class FakeAgent implements AutoCloseable {

    static final String METRICS = "# HELP cpu_user_usage counter, ns\n# TYPE cpu_user_usage untyped\ncpu_user_usage 42\n";

    private final Vertx vertx;
    private final HttpServer server;
    private final List<Runnable> waiting = new ArrayList<>();
    volatile InstancesPage page;
    volatile long metricsDelayMs;
    volatile int metricsBytes = -1;

    FakeAgent(Vertx vertx, InstancesPage page, int port) throws Exception {
        this.vertx = vertx;
        this.page = page;
        this.server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("127.0.0.1"))
                .requestHandler(this::handle).listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    int port() {
        return server.actualPort();
    }

    void publish(InstancesPage next) {
        List<Runnable> w;
        synchronized (waiting) {
            page = next;
            w = new ArrayList<>(waiting);
            waiting.clear();
        }
        w.forEach(Runnable::run);
    }

    private void handle(HttpServerRequest req) {
        String path = req.path();
        if (path.equals("/v1/instances")) {
            String since = req.getParam("since");
            Runnable answer = () -> req.response().putHeader("Content-Type", "application/json").end(json(page));
            synchronized (waiting) {
                if (since != null && Long.parseLong(since) >= page.generation()) {
                    waiting.add(answer);
                    return;
                }
            }
            answer.run();
        } else if (path.startsWith("/v1/") && path.endsWith("/metrics")) {
            String uuid = path.substring(4, path.length() - 8);
            if (page.instances().stream().noneMatch(e -> e.vmUuid().equals(uuid)) && !uuid.equals("gz")) {
                req.response().setStatusCode(404).end("container not found\n");
                return;
            }
            vertx.setTimer(Math.max(1, metricsDelayMs), t -> metrics(req, uuid));
        } else {
            req.response().setStatusCode(404).end();
        }
    }

    /** {@code n} bytes of numbered lines: a body whose every byte says where it belongs. */
    static byte[] pattern(int n) {
        StringBuilder b = new StringBuilder(n + 32);
        for (int line = 0; b.length() < n; line++) b.append("# line ").append(line).append('\n');
        return b.substring(0, n).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private void metrics(HttpServerRequest req, String uuid) {
        byte[] body = metricsBytes >= 0 ? pattern(metricsBytes)
                : (METRICS + "# path " + uuid + "\n# accept " + req.getHeader("Accept") + "\n").getBytes();
        String type = req.getHeader("Accept") != null && req.getHeader("Accept").contains("openmetrics")
                ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                : "text/plain; version=0.0.4; charset=utf-8";
        req.response().putHeader("Content-Type", type);
        String ae = req.getHeader("Accept-Encoding");
        if (ae != null && ae.contains("gzip")) {
            req.response().putHeader("Content-Encoding", "gzip");
            body = gzip(body);
        }
        req.response().setChunked(true).end(Buffer.buffer(body));
    }

    private static byte[] gzip(byte[] in) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
                gz.write(in);
            }
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Buffer json(InstancesPage page) {
        try {
            return Buffer.buffer(new ObjectMapper().writeValueAsBytes(page));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
}
