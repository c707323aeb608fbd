package io.cmon.agent.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.runtime.Instance;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.agent.runtime.SourceHealth;
import io.cmon.api.InstancesAnswer;
import io.cmon.api.InstancesPage;
import io.cmon.config.AgentConfig;
import io.cmon.config.HostPort;
import io.cmon.net.ConnectionGuard;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
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
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.TrustOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's HTTP API (DESIGN §2.5) on one Vert.x {@link HttpServer}. Handlers never block: collection runs on the
 * worker pool and answers hop back to the request's context. Status codes are decided in {@link Route} (client
 * mistakes) and here (unknown instance); nothing a client sends leads to a 500.
 * <p>
 * What a client may hold is bounded ({@link Limits}): connections, the time to send a first request's headers, idle
 * time, header sizes, long-poll waiters; refreshes are coalesced ({@link CoalescedRefresh}). With {@code tls}, only
 * proxy certificates pass the handshake ({@link ProxyCertificateTrust}).
 */
public final class AgentHttpServer {

    /**
     * What one listener allows its clients.
     *
     * @param maxConnections  open connections; more are closed at once
     * @param headerTimeout   a new connection must complete its first request's headers (and its TLS handshake)
     *                        within this, else it is closed (slow-header clients)
     * @param idleTimeout     a connection without traffic is closed this long past the longest long-poll
     *                        ({@link InstancesQuery#MAX_WAIT}): the listener cannot tell a waiting long-poll from
     *                        an idle connection, and a long-poll must never be cut
     * @param maxLongPolls    long-polls waiting at once; beyond, 503 with Retry-After
     * @param refreshTimeout  a source that has not refreshed by then is reported failed
     */
    public record Limits(int maxConnections, Duration headerTimeout, Duration idleTimeout, int maxLongPolls,
                         int maxInitialLineLength, int maxHeaderSize, Duration refreshTimeout) {
        public static final Limits DEFAULT = new Limits(1024, Duration.ofSeconds(10), Duration.ofSeconds(120), 1024,
                4096, 8192, CoalescedRefresh.SOURCE_TIMEOUT);
    }

    private static final Logger LOG = LoggerFactory.getLogger(AgentHttpServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VERSION = AgentHttpServer.class.getPackage().getImplementationVersion();
    private static final String TEXT = "text/plain; charset=utf-8";
    static final String SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds";
    /** No deadline from the scraper: the collection's own timeout (5 s) is the shorter one. */
    static final Duration NO_DEADLINE = Duration.ofHours(1);

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
    private final Limits limits;
    private final CoalescedRefresh refresh;
    private final ConnectionGuard guard;
    private final AtomicInteger longPolls = new AtomicInteger();
    private final Counter connectionsClosed;
    private final Counter longPollsRefused;
    private final Counter tlsRefused;
    /**
     * Long-polls waiting for a change: a source whose health changes ends them early, so that proxies, whose polls
     * last minutes, show "docker down" within {@link #HEALTH_CHECK} instead of at the wait's end.
     */
    private final java.util.Set<CompletableFuture<InstanceInventory.Snapshot>> parked =
            java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The sources' health as long-polls last saw it (name, up, last error). Guarded by this. */
    private List<List<Object>> lastHealth;
    private long healthTimer = -1;
    private HttpServer http;

    /** How often the sources' health is compared with what waiting long-polls were told. */
    static final Duration HEALTH_CHECK = Duration.ofSeconds(5);

    /**
     * @param workers the collection pool: gz reads run there
     * @param self    the agent's own metrics registry, served at {@code /metrics}; this server adds its request
     *                counters to it
     */
    public AgentHttpServer(Vertx vertx, ServerIdentity server, InstanceInventory inventory,
                           InstanceCollection instanceMetrics, GzMetrics gz, List<InstanceSource> sources,
                           Executor workers, Exposition exposition, PrometheusRegistry self) {
        this(vertx, server, inventory, instanceMetrics, gz, sources, workers, exposition, self, Limits.DEFAULT);
    }

    public AgentHttpServer(Vertx vertx, ServerIdentity server, InstanceInventory inventory,
                           InstanceCollection instanceMetrics, GzMetrics gz, List<InstanceSource> sources,
                           Executor workers, Exposition exposition, PrometheusRegistry self, Limits limits) {
        this.limits = limits;
        this.refresh = new CoalescedRefresh(sources, limits.refreshTimeout());
        this.vertx = vertx;
        this.server = server;
        this.inventory = inventory;
        this.instanceMetrics = instanceMetrics;
        this.gz = gz;
        this.sources = List.copyOf(sources);
        this.workers = workers;
        this.exposition = exposition;
        this.self = self;
        // counted on every request: without exemplars (client_java's sampler scheduled a task on its own thread
        // per observation: its thread woke ~15 times a second in the realistic run) and, for the histogram,
        // without the native buckets that the text formats never show
        this.requests = Counter.builder().name("cmon_agent_http_requests_total")
                .help("HTTP requests answered, by route and status code.")
                .labelNames("route", "code").withoutExemplars().register(self);
        this.durations = Histogram.builder().name("cmon_agent_http_request_duration_seconds")
                .help("Time from request to answer, by route.")
                .classicOnly()
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
                .labelNames("route").withoutExemplars().register(self);
        this.connectionsClosed = Counter.builder().name("cmon_agent_connections_closed_total")
                .help("Connections the agent closed on its own, by reason: max_connections (over the cap),"
                        + " header_timeout (no complete request headers in time).")
                .labelNames("reason").register(self);
        // proxies come from a few addresses: no cap per source below the overall one; a next request may follow
        // a long-poll, so its deadline is the idle timeout past the longest wait
        this.guard = new ConnectionGuard(vertx, new ConnectionGuard.Limits(limits.maxConnections(),
                limits.maxConnections(), limits.headerTimeout(), limits.idleTimeout().plus(InstancesQuery.MAX_WAIT)),
                why -> connectionsClosed.labelValues(why.label()).inc());
        this.longPollsRefused = Counter.builder().name("cmon_agent_long_polls_refused_total")
                .help("Long-polls of /v1/instances answered 503 because too many were waiting.").register(self);
        this.tlsRefused = Counter.builder().name("cmon_agent_tls_refused_total")
                .help("TLS handshakes refused, by reason: untrusted (not the agent link CA), not_a_proxy_certificate"
                        + " (e.g. a tenant's), client_not_allowed (CN not in tls.allowedClients).")
                .labelNames("reason").register(self);
        GaugeWithCallback.builder().name("cmon_agent_connections").help("Open connections to the agent's API.")
                .callback(cb -> cb.call(guard.open())).register(self);
        GaugeWithCallback.builder().name("cmon_agent_long_polls").help("Long-polls of /v1/instances waiting now.")
                .callback(cb -> cb.call(longPolls.get())).register(self);
        GaugeWithCallback.builder().name("cmon_agent_source_up")
                .help("1 while an instance source's runtime answers (Docker: its API within its timeouts), else 0.")
                .labelNames("source")
                .callback(cb -> this.sources.forEach(src -> cb.call(src.up() ? 1 : 0, src.name()))).register(self);
        CounterWithCallback.builder().name("cmon_agent_source_events")
                .help("Events received from an instance source's runtime since the agent started.")
                .labelNames("source")
                .callback(cb -> this.sources.forEach(src -> cb.call(src.health().eventsSeen(), src.name())))
                .register(self);
        CounterWithCallback.builder().name("cmon_agent_source_resyncs")
                .help("Full listings of an instance source since the agent started (startup, reconnects, periodic).")
                .labelNames("source")
                .callback(cb -> this.sources.forEach(src -> cb.call(src.health().resyncs(), src.name())))
                .register(self);
        GaugeWithCallback.builder().name("cmon_agent_instance_conflicts")
                .help("Instance uuids claimed by two or more containers: served to nobody (see /v1/instances"
                        + " conflicts).")
                .callback(cb -> cb.call(inventory.conflictCount())).register(self);
    }

    /** Starts listening with the JDK's TLS engine; completes with the bound port (useful with port 0). */
    public Future<Integer> listen(HostPort at, AgentConfig.Tls tls) {
        return listen(at, tls, new JdkSSLEngineOptions());
    }

    /** Starts listening; with {@code tls}, on the given engine (JDK or OpenSSL: the trust is the same). */
    public Future<Integer> listen(HostPort at, AgentConfig.Tls tls, SSLEngineOptions engine) {
        HttpServerOptions options = new HttpServerOptions()
                .setHost(at.host()).setPort(at.port())
                .setCompressionSupported(false) // gzip is negotiated per scrape, see Exposition
                .setIdleTimeout((int) limits.idleTimeout().plus(InstancesQuery.MAX_WAIT).toMillis())
                .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                .setMaxInitialLineLength(limits.maxInitialLineLength())
                .setMaxHeaderSize(limits.maxHeaderSize())
                // HTTP/1.1 only: h2c detection would hold a connection (unseen by connectionHandler) until bytes come
                .setHttp2ClearTextEnabled(false);
        if (tls != null) {
            ProxyCertificateTrust trust = new ProxyCertificateTrust(Path.of(tls.clientCa()), tls.allowedClients(),
                    reason -> tlsRefused.labelValues(reason.name().toLowerCase()).inc());
            options.setSsl(true)
                    .setSslEngineOptions(engine)
                    .setSslHandshakeTimeout(limits.headerTimeout().toMillis())
                    .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
                    .setEnabledSecureTransportProtocols(java.util.Set.of("TLSv1.2", "TLSv1.3"))
                    .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert()).setKeyPath(tls.key()))
                    .setTrustOptions(TrustOptions.wrap(trust))
                    .setClientAuth(ClientAuth.REQUIRED);
        }
        http = vertx.createHttpServer(options);
        guard.attach(http);
        http.requestHandler(guard.wrap(this::handle));
        synchronized (this) {
            lastHealth = healthSignature();
        }
        healthTimer = vertx.setPeriodic(HEALTH_CHECK.toMillis(), t -> wakeOnHealthChange());
        return http.listen().map(HttpServer::actualPort);
    }

    public Future<Void> close() {
        if (healthTimer >= 0) vertx.cancelTimer(healthTimer);
        return http == null ? Future.succeededFuture() : http.close();
    }

    /**
     * Ends every waiting long-poll when a source went up or down or has a new last error: they answer
     * {@code unchanged} (or what changed) with the new server block. Counters (events, resyncs) do not count.
     */
    synchronized void wakeOnHealthChange() {
        List<List<Object>> now = healthSignature();
        if (now.equals(lastHealth)) return;
        lastHealth = now;
        if (parked.isEmpty()) return;
        InstanceInventory.Snapshot snapshot = inventory.snapshot();
        for (CompletableFuture<InstanceInventory.Snapshot> waiter : List.copyOf(parked)) waiter.complete(snapshot);
    }

    private List<List<Object>> healthSignature() {
        List<List<Object>> out = new java.util.ArrayList<>(sources.size());
        for (InstanceSource src : sources) {
            SourceHealth h = src.health();
            out.add(java.util.Arrays.asList(h.name(), h.up(), h.lastError()));
        }
        return out;
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
                ex.metrics(gz.collectAsync(workers)); // gz plugins run meanwhile on their own pool
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
        ex.metrics(instanceMetrics.collect(instance, collectionDeadline(
                ex.req.getHeader(SCRAPE_TIMEOUT_HEADER))));
    }

    /**
     * How long an instance's collection may take: 90 % of the scraper's own timeout when it sends one (Prometheus
     * does, in {@code X-Prometheus-Scrape-Timeout-Seconds}), leaving the rest for rendering and the wire, so that
     * the answer arrives before the scraper gives up and says which collectors were late; without the header (or an
     * unreadable one), the collection's own timeout applies.
     */
    static Duration collectionDeadline(String scrapeTimeoutSeconds) {
        if (scrapeTimeoutSeconds == null) return NO_DEADLINE;
        double seconds;
        try {
            seconds = Double.parseDouble(scrapeTimeoutSeconds.trim());
        } catch (NumberFormatException e) {
            return NO_DEADLINE;
        }
        if (!(seconds > 0) || seconds > NO_DEADLINE.toSeconds()) return NO_DEADLINE;
        return Duration.ofNanos(Math.max(1_000_000L, (long) (seconds * 0.9e9)));
    }

    private void instances(Exchange ex) {
        InstancesQuery q;
        try {
            q = InstancesQuery.parse(ex.req.getParam("since"), ex.req.getParam("wait"));
        } catch (InstancesQuery.BadQuery e) {
            ex.text(400, e.getMessage());
            return;
        }
        // protocol v2 only when asked for: older proxies get the v1 page exactly as before
        boolean v2 = InstancesAnswer.accepts(ex.req.getHeader(HttpHeaders.ACCEPT));
        String epoch = ex.req.getParam("epoch");
        // another process's generation (or none): the caller needs everything, now, not after a wait
        boolean sameEpoch = inventory.epoch().equals(epoch);
        if (!q.longPoll() || (v2 && !sameEpoch)) {
            answerInstances(ex, v2, q.since(), sameEpoch, inventory.snapshot());
            return;
        }
        if (longPolls.incrementAndGet() > limits.maxLongPolls()) {
            longPolls.decrementAndGet();
            longPollsRefused.inc();
            ex.req.response().putHeader(HttpHeaders.RETRY_AFTER, "1");
            ex.text(503, "too many long-polls waiting; retry");
            return;
        }
        CompletableFuture<InstanceInventory.Snapshot> changed = inventory.changedAfter(q.since());
        changed.whenComplete((s, e) -> longPolls.decrementAndGet());
        if (changed.isDone()) {
            answerInstances(ex, v2, q.since(), sameEpoch, changed.join());
            return;
        }
        parked.add(changed);
        changed.whenComplete((s, e) -> parked.remove(changed));
        long timer = vertx.setTimer(q.maxWait().toMillis(), t -> changed.complete(inventory.snapshot()));
        ex.req.response().closeHandler(v -> changed.cancel(false)); // caller gone: forget the waiter
        changed.whenComplete((snapshot, err) -> ex.onContext(() -> {
            vertx.cancelTimer(timer);
            if (snapshot != null) answerInstances(ex, v2, q.since(), sameEpoch, snapshot);
        }));
    }

    /** The v1 page, or the v2 answer: a delta (or "unchanged") when the change log reaches back to since. */
    private void answerInstances(Exchange ex, boolean v2, long since, boolean sameEpoch,
                                 InstanceInventory.Snapshot snapshot) {
        if (!v2) {
            ex.json(page(snapshot));
            return;
        }
        InstancesPage.Server srv = serverBlock();
        InstancesAnswer answer = null;
        if (since >= 0 && sameEpoch) {
            answer = inventory.changesSince(since).map(d -> d.generation() == since
                    ? InstancesAnswer.unchanged(inventory.epoch(), since, srv)
                    : InstancesAnswer.delta(inventory.epoch(), d.generation(), srv, entries(d.changed()),
                            d.removed(), conflicts(d.conflicts()))).orElse(null);
        }
        if (answer == null) {
            answer = InstancesAnswer.full(inventory.epoch(), snapshot.generation(), srv,
                    entries(snapshot.instances()), conflicts(snapshot.conflicts()));
        }
        try {
            ex.send(200, InstancesAnswer.MEDIA_TYPE, Buffer.buffer(JSON.writeValueAsBytes(answer)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // records of strings: not expected
        }
    }

    private void refresh(Exchange ex) {
        refresh.request().whenComplete((failures, e) -> ex.onContext(() -> {
            if (!failures.isEmpty()) {
                ex.text(503, "refresh failed: " + String.join("; ", failures));
            } else {
                ex.json(("{\"generation\":" + inventory.generation() + "}").getBytes(StandardCharsets.UTF_8));
            }
        }));
    }

    /** Rescans run so far by {@code POST /v1/refresh} (coalesced: fewer than the requests). */
    public long refreshRescans() {
        return refresh.rescans();
    }

    /** The server block of every /v1/instances answer: identity, the sources' health, the agent's version. */
    private InstancesPage.Server serverBlock() {
        return new InstancesPage.Server(server.uuid(), server.hostname(), sources(), VERSION);
    }

    private List<InstancesPage.Source> sources() {
        return sources.stream().map(InstanceSource::health)
                .map(h -> new InstancesPage.Source(h.name(), h.up(), h.lastError(), h.eventsSeen(), h.resyncs()))
                .toList();
    }

    private static List<InstancesPage.Entry> entries(List<Instance> instances) {
        return instances.stream()
                .map(i -> new InstancesPage.Entry(i.uuid(), i.alias(), i.owner(), i.image(), i.brand(), i.groups(),
                        i.state()))
                .toList();
    }

    private static List<InstancesPage.Conflict> conflicts(List<InstanceInventory.Conflict> conflicts) {
        return conflicts.stream().map(c -> new InstancesPage.Conflict(c.uuid(), c.claimants())).toList();
    }

    private byte[] page(InstanceInventory.Snapshot snapshot) {
        try {
            return JSON.writeValueAsBytes(new InstancesPage(
                    serverBlock(), snapshot.generation(),
                    entries(snapshot.instances()), conflicts(snapshot.conflicts())));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // records of strings: not expected
        }
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
            if (Vertx.currentContext() == context) {
                guarded(r); // already there (an answer from cache): no need to queue
            } else {
                context.runOnContext(v -> guarded(r));
            }
        }

        private void guarded(Runnable r) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("{} {} failed", req.method(), req.uri(), e);
                text(500, "internal error");
            }
        }

        /**
         * Renders on the thread that completes {@code snapshots} (the worker that collected them; the event loop
         * only when they were all cached), straight into the buffer that is written out, then answers on the
         * request's context.
         */
        void metrics(CompletableFuture<MetricSnapshots> snapshots) {
            Exposition.Negotiated how = exposition.negotiate(req.getHeader(HttpHeaders.ACCEPT),
                    req.getHeader(HttpHeaders.ACCEPT_ENCODING));
            snapshots.thenApply(s -> exposition.render(s, how)).whenComplete((body, err) -> onContext(() -> {
                if (err != null) {
                    LOG.warn("{} {}: collection failed", req.method(), req.uri(), err);
                    text(503, "collection failed");
                    return;
                }
                if (how.gzip()) req.response().putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
                send(200, how.contentType(), body);
            }));
        }

        void json(byte[] body) {
            send(200, "application/json", Buffer.buffer(body));
        }

        void text(int status, String message) {
            send(status, TEXT, Buffer.buffer(message + "\n", "UTF-8"));
        }

        void send(int status, String contentType, Buffer body) {
            var res = req.response();
            if (res.ended() || res.closed()) return;
            res.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, contentType);
            if (req.method().name().equals("HEAD")) {
                res.putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(body.length())).end();
            } else {
                res.end(body);
            }
            String label = route.label();
            requests.labelValues(label, String.valueOf(status)).inc();
            durations.labelValues(label).observe((System.nanoTime() - startNanos) / 1e9);
        }
    }
}
