package io.cmon.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cmon.config.ConfigException;
import io.cmon.config.DnsQuery;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.net.ConnectionGuard;
import io.cmon.proxy.auth.AccountKeyAuthenticator;
import io.cmon.proxy.auth.AccountStore;
import io.cmon.proxy.auth.AgentTls;
import io.cmon.proxy.auth.Authenticator;
import io.cmon.proxy.auth.CaAuthenticator;
import io.cmon.proxy.auth.FileWatcher;
import io.cmon.proxy.auth.ProxyTls;
import io.cmon.proxy.auth.ChainAuthCache;
import io.cmon.proxy.forward.AgentForwarder;
import io.cmon.proxy.inventory.AgentDns;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.AgentWatcher;
import io.cmon.proxy.inventory.FleetInventory;
import io.cmon.proxy.route.RouteParser;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A running cmon proxy (DESIGN §3): the HTTPS tenant listener (one server per event loop, sharing the port), the
 * plain-HTTP admin listener, one watcher per agent feeding the {@link FleetInventory}, and the reloadable
 * accounts, tenant CA and server certificate.
 *
 * <pre>{@code
 * Proxy proxy = Proxy.start(config).toCompletionStage().toCompletableFuture().get();
 * proxy.port(); proxy.adminPort(); proxy.close();
 * }</pre>
 */
public final class Proxy {

    private static final Logger LOG = LoggerFactory.getLogger(Proxy.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Time between checks of watched files (accounts, certificates, agents file). */
    private static final Duration FILE_POLL = Duration.ofSeconds(1);

    private final Vertx vertx;
    private final boolean ownsVertx;
    private final ProxyConfig config;
    private final AccountStore accounts;
    private final Authenticator authenticator;
    private final CaAuthenticator caAuthenticator; // null in account-key mode
    private final ChainAuthCache sessions;
    private final ProxyTls tls;
    private final FleetInventory inventory = new FleetInventory();
    private final ProxyMetrics metrics;
    /** One forwarding client per tenant listener, created on its event loop (see {@link #deployTenantServers}). */
    private final List<HttpClient> forwardClients = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final RateLimiter limiter;
    private final SourceThrottle throttle;
    private final ConnectionGuard tenantGuard;
    private final ConnectionGuard adminGuard;
    private final AdminHosts adminHosts;
    private final io.prometheus.metrics.core.metrics.Counter handshakeFailures;
    private final RouteParser parser;
    /** Discovery answers per account and groups, shared by every tenant listener. */
    private final io.cmon.proxy.route.DiscoveryCache discovery;
    private final FileWatcher files;
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    /** The agents followed, on event loops of their own. */
    private final AgentSet agents;
    private HttpServer admin;
    /** The tenant listeners' verticles: undeployed on close, which flushes their access logs. */
    private volatile String tenantDeployment;
    private volatile int port;
    private volatile boolean closed;

    private Proxy(Vertx vertx, boolean ownsVertx, ProxyConfig config) {
        this.vertx = vertx;
        this.ownsVertx = ownsVertx;
        this.config = config;
        this.accounts = AccountStore.load(Path.of(config.accounts()));
        this.caAuthenticator = "account-key".equals(config.auth().mode()) ? null
                : new CaAuthenticator(Path.of(config.auth().tenantCa()),
                        config.auth().crl() == null ? null : Path.of(config.auth().crl()), accounts);
        this.authenticator = caAuthenticator != null ? caAuthenticator : new AccountKeyAuthenticator(accounts);
        this.sessions = new ChainAuthCache(authenticator);
        // account-key mode: tenants' SSH keys are often Ed25519, which only the JDK's TLS engine requests
        this.tls = new ProxyTls(Path.of(config.tls().cert()), Path.of(config.tls().key()),
                "account-key".equals(config.auth().mode()) ? ProxyTls.jdkEngine() : ProxyTls.engine());
        this.metrics = new ProxyMetrics(inventory, System::currentTimeMillis);
        this.limiter = new RateLimiter(config.rateLimit().rate(), config.rateLimit().burst(), System::nanoTime);
        ProxyConfig.Limits limits = config.limits();
        this.throttle = new SourceThrottle(limits.authFailureRate(), limits.authFailureBurst(), 100_000,
                System::nanoTime);
        io.prometheus.metrics.core.metrics.Counter refused = io.prometheus.metrics.core.metrics.Counter.builder()
                .name("cmon_proxy_connections_refused")
                .help("Connections closed by the proxy's limits, by listener and reason "
                        + "(max_connections, max_per_source, header_timeout)")
                .labelNames("listener", "reason").register(metrics.registry());
        Duration next = limits.idleTimeoutDuration().plus(config.requestTimeout());
        this.tenantGuard = new ConnectionGuard(vertx, new ConnectionGuard.Limits(limits.maxConnections(),
                limits.maxConnectionsPerSource(), limits.headerTimeoutDuration(), next),
                why -> refused.labelValues("tenant", why.label()).inc());
        this.adminGuard = new ConnectionGuard(vertx, new ConnectionGuard.Limits(
                Math.max(16, limits.maxConnections() / 10), Math.max(16, limits.maxConnectionsPerSource() / 10),
                limits.headerTimeoutDuration(), next), why -> refused.labelValues("admin", why.label()).inc());
        connectionsGauge("tenant", tenantGuard);
        connectionsGauge("admin", adminGuard);
        this.adminHosts = AdminHosts.of(config);
        this.handshakeFailures = io.prometheus.metrics.core.metrics.Counter.builder()
                .name("cmon_proxy_tls_handshake_failures")
                .help("Connections of the tenant listener that failed before HTTP (TLS handshake errors and timeouts)")
                .register(metrics.registry());
        this.parser = new RouteParser(config.endpoint());
        this.discovery = new io.cmon.proxy.route.DiscoveryCache(inventory, this::advertisedAddress, 10_000);
        this.agents = new AgentSet(config, inventory, metrics.registry(), agentClientOptions());
        try {
            this.files = new FileWatcher(FILE_POLL); // last: its thread must not outlive a constructor that throws
        } catch (RuntimeException e) {
            agents.close(vertx);
            throw e;
        }
    }

    /** Starts a proxy on its own Vert.x, closed with the proxy. Fails (before listening) on unusable config. */
    public static Future<Proxy> start(ProxyConfig config) {
        // native epoll, as the agent: fewer syscalls and copies per forwarded scrape than NIO
        Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
        return start(vertx, config, true).onFailure(e -> vertx.close());
    }

    /** Starts a proxy on a Vert.x the caller owns (and closes). */
    public static Future<Proxy> start(Vertx vertx, ProxyConfig config) {
        return start(vertx, config, false);
    }

    private static Future<Proxy> start(Vertx vertx, ProxyConfig config, boolean ownsVertx) {
        // reading accounts, CA and certificates is blocking: do it off the event loop
        return vertx.<Proxy>executeBlocking(() -> new Proxy(vertx, ownsVertx, config), false)
                .compose(p -> p.listen().map(p));
    }

    private HttpClientOptions agentClientOptions() {
        HttpClientOptions o = new HttpClientOptions().setConnectTimeout(5000);
        ProxyConfig.AgentTls a = config.agentTls();
        if (a == null) return o;
        return AgentTls.client(o, Path.of(a.cert()), Path.of(a.key()), Path.of(a.ca()));
    }

    private Future<Void> listen() {
        HostPort admin = config.adminAddress();
        return startTenantListener()
                .compose(v -> {
                    HttpServer server = vertx.createHttpServer(limited(new HttpServerOptions()
                            .setHost(admin.host()).setPort(admin.port())));
                    adminGuard.attach(server);
                    return server.requestHandler(adminGuard.wrap(this::admin)).listen()
                            .recover(e -> Future.failedFuture(new IllegalStateException(
                                    "cannot listen on " + admin + " (adminListen): " + e.getMessage(), e)));
                })
                .onSuccess(s -> this.admin = s)
                .compose(s -> agents.start().map(s))
                .onSuccess(s -> {
                    watchFiles();
                    LOG.info("proxy listening on https://{} (admin http://{}:{}), endpoint {}, {} agent(s)",
                            new HostPort(config.listenAddress().host(), port), admin.host(), s.actualPort(),
                            config.endpoint(), agents.desired().size());
                })
                .onFailure(e -> close())
                .mapEmpty();
    }

    /** One HTTPS server per event loop on the same port: TLS handshakes and forwarding use every core. */
    private Future<Void> startTenantListener() {
        HostPort listen = config.listenAddress();
        int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
        return bindTenantServers(listen, instances, 3)
                .recover(e -> Future.failedFuture(new IllegalStateException(
                        "cannot listen on " + listen + " (listen): " + e.getMessage(), e)));
    }

    /**
     * Vert.x shares a port between servers listening on the same host:port, but not port 0: for port 0 pick a free
     * port first, and try again with another if someone took it in between.
     */
    private Future<Void> bindTenantServers(HostPort listen, int instances, int attempts) {
        int wanted = listen.port();
        if (wanted == 0) {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(listen.host()))) {
                wanted = probe.getLocalPort();
            } catch (IOException e) {
                return Future.failedFuture(e);
            }
        }
        int chosen = wanted;
        return deployTenantServers(listen.host(), chosen, instances)
                .onSuccess(v -> port = chosen)
                .recover(e -> listen.port() == 0 && attempts > 1
                        ? bindTenantServers(listen, instances, attempts - 1)
                        : Future.failedFuture(e));
    }

    /**
     * Each listener gets its own forwarding client, created here on the listener's event loop: its pooled
     * connections to agents then live on the loop that serves the scrapes, and a forwarded body never hops between
     * threads (one shared client mixes connections of every loop).
     */
    private Future<Void> deployTenantServers(String host, int port, int count) {
        return vertx.deployVerticle(() -> new AbstractVerticle() {
            final AccessLog accessLog = AccessLog.toLogger();

            @Override
            public void start(Promise<Void> started) {
                if (accessLog.enabled()) vertx.setPeriodic(AccessLog.FLUSH_INTERVAL_MS, id -> accessLog.flush());
                HttpClient forwardClient = vertx.createHttpClient(agentClientOptions().setKeepAlive(true)
                                .setKeepAliveTimeout(60).setTcpNoDelay(true),
                        new PoolOptions().setHttp1MaxSize(64));
                forwardClients.add(forwardClient);
                ProxyHandler handler = new ProxyHandler(parser,
                        (req, mayVerify) -> sessions.authenticate(req.connection().sslSession(), mayVerify),
                        throttle, limiter, inventory,
                        new AgentForwarder(vertx, forwardClient, config.maxResponseSize()), metrics,
                        config.requestTimeout(), Proxy.this::advertisedAddress, accessLog, discovery);
                HttpServerOptions options = tls.configure(limited(new HttpServerOptions()
                        .setHost(host).setPort(port)
                        .setTcpNoDelay(true)
                        // forwarded bodies keep the agent's encoding: never compress twice
                        .setCompressionSupported(false)));
                HttpServer server = vertx.createHttpServer(options);
                tenantGuard.attach(server);
                server.exceptionHandler(e -> handshakeFailures.inc()); // errors before HTTP: TLS handshakes
                server.requestHandler(tenantGuard.wrap(handler))
                        .listen()
                        .onSuccess(servers::add)
                        .<Void>mapEmpty()
                        .onComplete(started);
            }

            @Override
            public void stop() {
                accessLog.flush(); // runs on this listener's loop: the lines of its last requests are not lost
            }
        }, new DeploymentOptions().setInstances(count)).onSuccess(id -> tenantDeployment = id).mapEmpty();
    }

    private void connectionsGauge(String listener, ConnectionGuard guard) {
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("cmon_proxy_" + listener + "_connections")
                .help("Open connections of the " + listener + " listener (after the TLS handshake, if any)")
                .callback(cb -> cb.call(guard.open())).register(metrics.registry());
    }

    /** Idle timeout, header and request-line sizes and the TLS handshake deadline of {@code limits}. */
    private HttpServerOptions limited(HttpServerOptions o) {
        ProxyConfig.Limits limits = config.limits();
        return o.setIdleTimeout((int) limits.idleTimeoutDuration().toSeconds())
                .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS)
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxInitialLineLength(8192)
                .setSslHandshakeTimeout(limits.headerTimeoutDuration().toMillis())
                .setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** The address http_sd hands out as every target: the endpoint name and the port tenants reach us on. */
    public String advertisedAddress() {
        return config.endpoint() + ":" + port;
    }

    /** The tenant (HTTPS) port actually bound. */
    public int port() {
        return port;
    }

    /** The admin (plain HTTP) port actually bound. */
    public int adminPort() {
        return admin.actualPort();
    }

    public FleetInventory inventory() {
        return inventory;
    }

    /** The agents followed and their event loops. */
    AgentSet agentSet() {
        return agents;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    public AccountStore accounts() {
        return accounts;
    }

    /**
     * Re-reads accounts, tenant CA/CRL and the server certificate (SIGHUP, {@code POST /-/reload}); open
     * connections stay. Files that cannot be used are logged and the previous ones stay.
     */
    public Future<String> reload() {
        return vertx.executeBlocking(() -> {
            boolean a = accounts.reload();
            boolean t = caAuthenticator != null && caAuthenticator.reloadTrust();
            boolean c = tls.reloadFiles();
            return new Object[] {a, t, c};
        }, false).compose(r -> {
            List<Future<Boolean>> updates = new ArrayList<>();
            if ((boolean) r[2]) for (HttpServer s : servers) updates.add(tls.update(s));
            return Future.all(updates).map(x -> "accounts " + (((boolean) r[0]) ? "changed" : "unchanged")
                    + ", tenant CA " + (((boolean) r[1]) ? "changed" : "unchanged")
                    + ", server certificate " + (((boolean) r[2]) ? "changed" : "unchanged"));
        }).onSuccess(s -> LOG.info("reload: {}", s));
    }

    private void watchFiles() {
        files.watch(List.of(Path.of(config.accounts())), accounts::reload);
        if (caAuthenticator != null) files.watch(caAuthenticator.trustFiles(), caAuthenticator::reloadTrust);
        files.watch(tls.files(), () -> {
            if (tls.reloadFiles()) for (HttpServer s : servers) tls.update(s);
        });
        if (config.agents().file() != null) {
            files.watch(List.of(Path.of(config.agents().file())), agents::reconcile);
        }
    }

    private void admin(HttpServerRequest req) {
        if (!adminHosts.allows(req.getHeader(HttpHeaders.HOST))) {
            // a web page in an operator's browser may resolve its own name to this address (DNS rebinding)
            text(req, 403, "Host '" + AdminHosts.printable(req.getHeader(HttpHeaders.HOST))
                    + "' is not a name of this admin listener; add it to adminHosts in proxy.yaml\n");
            return;
        }
        String path = req.path();
        switch (path) {
            case "/metrics" -> {
                ExpositionFormatWriter writer = ExpositionFormats.init().findWriter(req.getHeader(HttpHeaders.ACCEPT));
                ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
                try {
                    writer.write(out, metrics.registry().scrape());
                } catch (IOException e) {
                    req.response().setStatusCode(500).end(e.toString());
                    return;
                }
                req.response().putHeader(HttpHeaders.CONTENT_TYPE, writer.getContentType())
                        .end(Buffer.buffer(out.toByteArray()));
            }
            case "/-/healthy" -> text(req, 200, "OK\n");
            case "/-/ready" -> {
                String notReady = inventory.notReadyReason();
                if (notReady == null) text(req, 200, "OK\n");
                else text(req, 503, "not ready: " + notReady + "\n");
            }
            case "/-/reload" -> {
                if (req.method() != HttpMethod.POST && req.method() != HttpMethod.PUT) {
                    req.response().putHeader("Allow", "POST");
                    text(req, 405, "use POST\n");
                    return;
                }
                reload().onComplete(ar -> {
                    String refused = refusedFiles();
                    // as Prometheus's own /-/reload: a file that could not be used is a failed reload
                    if (ar.failed()) text(req, 500, "reload failed: " + ar.cause().getMessage() + "\n");
                    else if (refused != null) text(req, 500, ar.result() + "\nreload refused: " + refused + "\n");
                    else text(req, 200, ar.result() + "\n");
                });
            }
            case "/status", "/" -> req.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(Buffer.buffer(status()));
            default -> text(req, 404, "not found; try /metrics, /status, /-/healthy, /-/ready, POST /-/reload\n");
        }
    }

    /** The files whose last reload was refused (the previous content stays in use), or null when none. */
    private String refusedFiles() {
        List<String> refused = new ArrayList<>();
        if (accounts.lastError() != null) refused.add("accounts: " + accounts.lastError());
        if (caAuthenticator != null && caAuthenticator.lastError() != null) {
            refused.add("tenant CA/CRL: " + caAuthenticator.lastError());
        }
        if (tls.lastError() != null) refused.add("server certificate: " + tls.lastError());
        return refused.isEmpty() ? null : String.join("; ", refused);
    }

    private byte[] status() {
        ObjectNode root = JSON.createObjectNode();
        String notReady = inventory.notReadyReason();
        root.put("synced", notReady == null);
        if (notReady != null) root.put("not_ready", notReady);
        root.put("instances", inventory.instanceCount());
        root.put("owners", inventory.ownerCount());
        root.put("accounts", accounts.size());
        if (accounts.lastError() != null) root.put("accounts_error", accounts.lastError());
        String refused = refusedFiles();
        if (refused != null) root.put("reload_refused", refused);
        ObjectNode conns = root.putObject("connections");
        conns.put("tenant", tenantGuard.open());
        conns.put("admin", adminGuard.open());
        conns.put("max", config.limits().maxConnections());
        root.put("endpoint", config.endpoint());
        root.put("advertised", advertisedAddress());
        ArrayNode agentList = root.putArray("agents");
        long now = System.currentTimeMillis();
        for (AgentView a : inventory.agents()) {
            ObjectNode n = agentList.addObject();
            n.put("endpoint", a.endpoint().toString());
            n.put("up", a.up());
            n.put("server_uuid", a.serverUuid());
            n.put("hostname", a.hostname());
            n.put("instances", a.instances());
            n.put("generation", a.generation());
            if (a.protocol() > 0) n.put("protocol", a.protocol());
            if (a.lastAnswerMs() > 0) n.put("last_answer_seconds_ago", (now - a.lastAnswerMs()) / 1000.0);
            if (a.lastError() != null) n.put("last_error", a.lastError());
            if (!a.duplicateUuids().isEmpty()) {
                ArrayNode d = n.putArray("duplicate_uuids");
                a.duplicateUuids().forEach(d::add);
            }
        }
        ArrayNode conflicts = root.putArray("conflicts");
        for (FleetInventory.Conflict c : inventory.conflicts()) {
            ObjectNode n = conflicts.addObject();
            n.put("vm_uuid", c.vmUuid());
            ArrayNode by = n.putArray("agents");
            c.agents().forEach(a -> by.add(a.toString()));
        }
        AgentDns dns = agents.dns();
        if (dns != null) {
            ObjectNode d = root.putObject("agents_dns");
            d.put("query", config.agents().dns());
            d.put("server", dns.server().toString());
            d.put("agents", dns.agents().size());
            if (dns.lastSuccessMs() > 0) {
                d.put("last_success", java.time.Instant.ofEpochMilli(dns.lastSuccessMs()).toString());
                d.put("last_success_seconds_ago", (now - dns.lastSuccessMs()) / 1000.0);
            }
            d.put("failures", dns.failures());
            if (dns.lastError() != null) d.put("last_error", dns.lastError());
        }
        ObjectNode cache = root.putObject("auth_sessions");
        cache.put("size", sessions.size());
        cache.put("hits", sessions.hits());
        cache.put("misses", sessions.misses());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void text(HttpServerRequest req, int status, String body) {
        req.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end(body);
    }

    /** Stops listening, stops watching agents and files; closes the Vert.x when {@link #start(ProxyConfig)} made it. */
    public Future<Void> close() {
        if (closed) return Future.succeededFuture();
        closed = true;
        files.close();
        List<Future<Void>> closing = new ArrayList<>();
        closing.add(agents.close(vertx));
        for (HttpServer s : servers) closing.add(s.close());
        if (admin != null) closing.add(admin.close());
        return Future.join(closing)
                .transform(x -> tenantDeployment == null ? Future.<Void>succeededFuture()
                        : vertx.undeploy(tenantDeployment))
                .transform(x -> {
                    List<Future<Void>> clients = new ArrayList<>();
                    forwardClients.forEach(c -> clients.add(c.close()));
                    return Future.join(clients);
                })
                .transform(x -> ownsVertx ? vertx.close() : Future.<Void>succeededFuture())
                .mapEmpty();
    }
}
