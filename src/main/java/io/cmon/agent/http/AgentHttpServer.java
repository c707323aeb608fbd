package io.cmon.agent.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.runtime.Instance;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.api.InstancesPage;
import io.cmon.config.AgentConfig;
import io.cmon.config.HostPort;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The agent's HTTP API (DESIGN §2.5) on one Vert.x {@link HttpServer}. Handlers never block: collection runs on the
 * worker pool and answers hop back to the request's context. Status codes are decided in {@link Route} (client
 * mistakes) and here (unknown instance); nothing a client sends leads to a 500.
 */
public final class AgentHttpServer {

    private static final Logger LOG = LoggerFactory.getLogger(AgentHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "text/plain; charset=utf-8";

    private final Vertx vertx;
    private final ServerIdentity server;
    private final InstanceInventory inventory;
    private final InstanceCollection instanceMetrics;
    private final GzMetrics gz;
    private final List<InstanceSource> sources;
    private final Executor workers;
    private final Exposition exposition;
    private final PrometheusRegistry self;
    private final Counter requests;
    private final Histogram durations;
    private HttpServer http;

    /**
     * @param workers the collection pool: gz reads run there
     * @param self    the agent's own metrics registry, served at {@code /metrics}; this server adds its request
     *                counters to it
     */
    public AgentHttpServer(Vertx vertx, ServerIdentity server, InstanceInventory inventory,
                           InstanceCollection instanceMetrics, GzMetrics gz, List<InstanceSource> sources,
                           Executor workers, Exposition exposition, PrometheusRegistry self) {
        this.vertx = vertx;
        this.server = server;
        this.inventory = inventory;
        this.instanceMetrics = instanceMetrics;
        this.gz = gz;
        this.sources = List.copyOf(sources);
        this.workers = workers;
        this.exposition = exposition;
        this.self = self;
        this.requests = Counter.builder().name("cmon_agent_http_requests_total")
                .help("HTTP requests answered, by route and status code.")
                .labelNames("route", "code").register(self);
        this.durations = Histogram.builder().name("cmon_agent_http_request_duration_seconds")
                .help("Time from request to answer, by route.")
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
                .labelNames("route").register(self);
    }

    /** Starts listening; completes with the bound port (useful with port 0). */
    public Future<Integer> listen(HostPort at, AgentConfig.Tls tls) {
        HttpServerOptions options = new HttpServerOptions()
                .setHost(at.host()).setPort(at.port())
                .setCompressionSupported(false) // gzip is negotiated per scrape, see Exposition
                .setIdleTimeout(0);
        if (tls != null) {
            options.setSsl(true)
                    .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert()).setKeyPath(tls.key()))
                    .setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCa()))
                    .setClientAuth(ClientAuth.REQUIRED);
        }
        http = vertx.createHttpServer(options).requestHandler(this::handle);
        return http.listen().map(HttpServer::actualPort);
    }

    public Future<Void> close() {
        return http == null ? Future.succeededFuture() : http.close();
    }

    void handle(HttpServerRequest req) {
        Exchange ex = new Exchange(req, Route.match(req.method().name(), req.path()), System.nanoTime());
        try {
            Route r = ex.route;
            if (r instanceof Route.Rejected rejected) {
                if (rejected.allow() != null) req.response().putHeader(HttpHeaders.ALLOW, rejected.allow());
                ex.text(rejected.status(), rejected.message());
            } else if (r instanceof Route.Ping) {
                ex.text(200, "OK");
            } else if (r instanceof Route.InstanceMetrics im) {
                instanceMetrics(ex, im.uuid());
            } else if (r instanceof Route.GzMetrics) {
                ex.metrics(CompletableFuture.supplyAsync(gz::collect, workers));
            } else if (r instanceof Route.SelfMetrics) {
                ex.metrics(CompletableFuture.supplyAsync(self::scrape, workers));
            } else if (r instanceof Route.Instances) {
                instances(ex);
            } else if (r instanceof Route.Refresh) {
                refresh(ex);
            }
        } catch (RuntimeException e) {
            LOG.warn("{} {} failed", req.method(), req.uri(), e);
            ex.text(500, "internal error");
        }
    }

    private void instanceMetrics(Exchange ex, String uuid) {
        Instance instance = inventory.byUuid(uuid).orElse(null);
        if (instance == null) {
            ex.text(404, "container not found");
            return;
        }
        ex.metrics(instanceMetrics.collect(instance));
    }

    private void instances(Exchange ex) {
        InstancesQuery q;
        try {
            q = InstancesQuery.parse(ex.req.getParam("since"), ex.req.getParam("wait"));
        } catch (InstancesQuery.BadQuery e) {
            ex.text(400, e.getMessage());
            return;
        }
        if (!q.longPoll()) {
            ex.json(page(inventory.snapshot()));
            return;
        }
        CompletableFuture<InstanceInventory.Snapshot> changed = inventory.changedAfter(q.since());
        if (changed.isDone()) {
            ex.json(page(changed.join()));
            return;
        }
        long timer = vertx.setTimer(q.maxWait().toMillis(), t -> changed.complete(inventory.snapshot()));
        ex.req.response().closeHandler(v -> changed.cancel(false)); // caller gone: forget the waiter
        changed.whenComplete((snapshot, err) -> ex.onContext(() -> {
            vertx.cancelTimer(timer);
            if (snapshot != null) ex.json(page(snapshot));
        }));
    }

    private void refresh(Exchange ex) {
        // each source's failure becomes its line of the answer; the others still refresh
        List<CompletableFuture<String>> all = sources.stream().map(s -> refreshOne(s).toCompletableFuture()
                .handle((v, err) -> err == null ? null : s.name() + ": " + rootMessage(err))).toList();
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> ex.onContext(() -> {
            List<String> failures = all.stream().map(CompletableFuture::join).filter(m -> m != null).toList();
            if (!failures.isEmpty()) {
                ex.text(503, "refresh failed: " + String.join("; ", failures));
            } else {
                ex.json(("{\"generation\":" + inventory.generation() + "}").getBytes(StandardCharsets.UTF_8));
            }
        }));
    }

    private static CompletionStage<Void> refreshOne(InstanceSource s) {
        try {
            return s.refresh();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private byte[] page(InstanceInventory.Snapshot snapshot) {
        List<InstancesPage.Entry> entries = snapshot.instances().stream()
                .map(i -> new InstancesPage.Entry(i.uuid(), i.alias(), i.owner(), i.image(), i.brand(), i.groups(),
                        i.state()))
                .toList();
        try {
            List<InstancesPage.Conflict> conflicts = snapshot.conflicts().stream()
                    .map(c -> new InstancesPage.Conflict(c.uuid(), c.claimants())).toList();
            return JSON.writeValueAsBytes(new InstancesPage(
                    new InstancesPage.Server(server.uuid(), server.hostname()), snapshot.generation(), entries,
                    conflicts));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // records of strings: not expected
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** One request: where to answer (its context) and how it is counted. */
    private final class Exchange {
        final HttpServerRequest req;
        final Route route;
        final long startNanos;
        final Context context = vertx.getOrCreateContext();

        Exchange(HttpServerRequest req, Route route, long startNanos) {
            this.req = req;
            this.route = route;
            this.startNanos = startNanos;
        }

        void onContext(Runnable r) {
            context.runOnContext(v -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.warn("{} {} failed", req.method(), req.uri(), e);
                    text(500, "internal error");
                }
            });
        }

        void metrics(CompletableFuture<MetricSnapshots> snapshots) {
            Exposition.Negotiated how = exposition.negotiate(req.getHeader(HttpHeaders.ACCEPT),
                    req.getHeader(HttpHeaders.ACCEPT_ENCODING));
            snapshots.whenComplete((s, err) -> onContext(() -> {
                if (err != null) {
                    LOG.warn("{} {}: collection failed", req.method(), req.uri(), err);
                    text(503, "collection failed");
                    return;
                }
                if (how.gzip()) req.response().putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
                send(200, how.contentType(), exposition.render(s, how));
            }));
        }

        void json(byte[] body) {
            send(200, "application/json", body);
        }

        void text(int status, String message) {
            send(status, TEXT, (message + "\n").getBytes(StandardCharsets.UTF_8));
        }

        private void send(int status, String contentType, byte[] body) {
            var res = req.response();
            if (res.ended() || res.closed()) return;
            res.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, contentType);
            if (req.method().name().equals("HEAD")) {
                res.putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(body.length)).end();
            } else {
                res.end(Buffer.buffer(body));
            }
            String label = route.label();
            requests.labelValues(label, String.valueOf(status)).inc();
            durations.labelValues(label).observe((System.nanoTime() - startNanos) / 1e9);
        }
    }
}
