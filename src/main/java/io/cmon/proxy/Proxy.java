package io.cmon.proxy;

import io.cmon.config.HostPort;
import io.cmon.config.KeyPairFiles;
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
import io.cmon.proxy.inventory.FleetCapacity;
import io.cmon.proxy.inventory.FleetInventory;
import io.cmon.proxy.route.RouteParser;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running cmon proxy (DESIGN §3): the wiring of its parts, and the reload and file watching of the accounts,
 * tenant CA and server certificate. The parts, each readable alone: {@link TenantListeners} (the HTTPS listener,
 * one server per event loop, sharing the port, each with its {@link ProxyHandler}), {@link AdminServer} (the
 * plain-HTTP admin listener: metrics, health, readiness, reload, status) and {@link AgentSet} (the agents followed,
 * one watcher each, feeding the {@link FleetInventory} on event loops of their own).
 *
 * <pre>{@code
 * Proxy proxy = Proxy.start(config).toCompletionStage().toCompletableFuture().get();
 * proxy.port(); proxy.adminPort(); proxy.close();
 * }</pre>
 */
public final class Proxy {

    private static final Logger LOG = LoggerFactory.getLogger(Proxy.class);
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
    /** Fleet capacity (issue 12): agents past the file descriptor budget are listed down, not followed. */
    private final FleetCapacity capacity;
    private final ProxyMetrics metrics;
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
    /** The agents followed, on event loops of their own. */
    private final AgentSet agents;
    private final TenantListeners tenants;
    private final AdminServer admin;
    private volatile boolean closed;
    private Future<Void> stopping; // close() once: a second call returns the first one's future

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
        this.tls = serverTls(config);
        this.metrics = new ProxyMetrics(inventory, System::currentTimeMillis, config.fleet().perAgentMetricsMax());
        this.capacity = new FleetCapacity(FleetCapacity.Fds.jvm(), config.fleet().fdReserve(),
                System::currentTimeMillis);
        capacity.register(metrics.registry());
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
        // rebuilds on a worker (unordered: accounts rebuild in parallel); answered on the listener's loop
        this.discovery = new io.cmon.proxy.route.DiscoveryCache(inventory, this::advertisedAddress, 10_000,
                build -> vertx.executeBlocking(build, false));
        this.agents = new AgentSet(config, inventory, metrics.registry(), agentClientOptions(), capacity);
        this.tenants = new TenantListeners(vertx, config, tls, tenantGuard, handshakeFailures,
                this::agentClientOptions, (loop, forwardClient, claim, accessLog) -> new ProxyHandler(parser,
                        (req, mayVerify) -> sessions.authenticate(req.connection().sslSession(), mayVerify),
                        throttle, limiter, inventory,
                        new AgentForwarder(loop, forwardClient, claim, config.maxResponseSize()),
                        metrics, config.requestTimeout(), this::advertisedAddress, accessLog, discovery));
        ConnectionLedger.register(metrics.registry(), agents.ledger(), tenants.ledger());
        this.admin = new AdminServer(config, new AdminServer.Parts(inventory, metrics, accounts, sessions,
                tenantGuard, adminGuard, adminHosts, agents, capacity), new AdminServer.Operations() {
                    public Future<String> reload() {
                        return Proxy.this.reload();
                    }

                    public String refusedFiles() {
                        return Proxy.this.refusedFiles();
                    }

                    public String advertisedAddress() {
                        return Proxy.this.advertisedAddress();
                    }
                });
        try {
            this.files = new FileWatcher(FILE_POLL); // last: its thread must not outlive a constructor that throws
        } catch (RuntimeException e) {
            agents.close(vertx);
            admin.close(vertx);
            throw e;
        }
    }

    /** The tenant listener's certificate and key; an unusable file is a config error naming tls.cert or tls.key. */
    private static ProxyTls serverTls(ProxyConfig config) {
        Path cert = Path.of(config.tls().cert());
        Path key = Path.of(config.tls().key());
        ProxyTls[] made = new ProxyTls[1];
        KeyPairFiles.translate("tls.cert", cert, "tls.key", key, () -> made[0] = new ProxyTls(cert, key,
                "account-key".equals(config.auth().mode()) ? ProxyTls.jdkEngine() : ProxyTls.engine()));
        return made[0];
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
        // the watchers' pool wait (AgentWatcher.Timing) outlasts these two together
        HttpClientOptions o = new HttpClientOptions().setConnectTimeout(5000)
                .setSslHandshakeTimeout(10).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
        ProxyConfig.AgentTls a = config.agentTls();
        if (a == null) return o;
        if (a.cert() != null && a.key() != null) {
            KeyPairFiles.check("agentTls.cert", Path.of(a.cert()), "agentTls.key", Path.of(a.key()));
        }
        return AgentTls.client(o, Path.of(a.cert()), Path.of(a.key()), Path.of(a.ca()));
    }

    /** Tenant listeners first, then the admin listener (a loop of its own), then the agents. */
    private Future<Void> listen() {
        return tenants.start()
                .compose(v -> admin.start())
                .compose(adminPort -> agents.start().map(adminPort))
                .onSuccess(adminPort -> {
                    watchFiles();
                    LOG.info("proxy listening on https://{} (admin http://{}:{}), endpoint {}, {} agent(s)",
                            new HostPort(config.listenAddress().host(), tenants.port()),
                            config.adminAddress().host(), adminPort, config.endpoint(), agents.desired().size());
                    awaitFirstSync(System.nanoTime());
                })
                // closed before the failure is reported: the caller's own clean-up (closing Vert.x) then finds
                // nothing half-undeployed (Vert.x logged a 30-line "Already undeployed" trace before the message)
                .recover(e -> closeServersAndClients().transform(x -> Future.<Integer>failedFuture(e)))
                .mapEmpty();
    }

    private void connectionsGauge(String listener, ConnectionGuard guard) {
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("cmon_proxy_" + listener + "_connections")
                .help("Open connections of the " + listener + " listener (after the TLS handshake, if any)")
                .callback(cb -> cb.call(guard.open())).register(metrics.registry());
    }

    /** The address http_sd hands out as every target: the endpoint name and the port tenants reach us on. */
    public String advertisedAddress() {
        return config.endpoint() + ":" + tenants.port();
    }

    /** The tenant (HTTPS) port actually bound. */
    public int port() {
        return tenants.port();
    }

    /** The admin (plain HTTP) port actually bound. */
    public int adminPort() {
        return admin.port();
    }

    public FleetInventory inventory() {
        return inventory;
    }

    /** The tenant listeners and their event loops. */
    TenantListeners tenantListeners() {
        return tenants;
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
            if ((boolean) r[2]) for (HttpServer s : tenants.servers()) updates.add(tls.update(s));
            return Future.all(updates).map(x -> "accounts " + (((boolean) r[0]) ? "changed" : "unchanged")
                    + ", tenant CA " + (((boolean) r[1]) ? "changed" : "unchanged")
                    + ", server certificate " + (((boolean) r[2]) ? "changed" : "unchanged"));
        }).onSuccess(s -> LOG.info("reload: {}", s));
    }

    /**
     * Logs the first sync, then has its garbage collected at once. The first sync parses every agent's full list in
     * seconds: about three times the inventory's live size in garbage (180 MiB at 100,000 instances), which an idle
     * proxy would otherwise hold until its next periodic cycle, up to 5 minutes later (proxy.options). One concurrent
     * cycle then returns it (Shenandoah uncommits 5 s later). Only where an explicit collection is concurrent
     * (Shenandoah's default): a stop-the-world full collection of a big inventory is what the proxy must never do.
     */
    private void awaitFirstSync(long startedNanos) {
        vertx.setPeriodic(100, timer -> {
            if (closed) {
                vertx.cancelTimer(timer);
                return;
            }
            if (!inventory.synced()) return;
            vertx.cancelTimer(timer);
            LOG.info("inventory synced {} ms after the start: {} agent(s) listed, {} instance(s)",
                    (System.nanoTime() - startedNanos) / 1_000_000, inventory.agents().size(),
                    inventory.instanceCount());
            if (explicitGcIsConcurrent()) {
                vertx.executeBlocking(() -> {
                    System.gc();
                    return null;
                }, false);
            }
        });
    }

    private static boolean explicitGcIsConcurrent() {
        try {
            var vm = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            return vm != null && "true".equals(vm.getVMOption("ExplicitGCInvokesConcurrent").getValue())
                    && !"true".equals(vm.getVMOption("DisableExplicitGC").getValue());
        } catch (RuntimeException e) {
            return false; // not HotSpot: leave collections to the collector
        }
    }

    private void watchFiles() {
        files.watch(List.of(Path.of(config.accounts())), accounts::reload);
        if (caAuthenticator != null) files.watch(caAuthenticator.trustFiles(), caAuthenticator::reloadTrust);
        files.watch(tls.files(), () -> {
            if (tls.reloadFiles()) for (HttpServer s : tenants.servers()) tls.update(s);
        });
        if (config.agents().file() != null) {
            files.watch(List.of(Path.of(config.agents().file())), agents::reconcile);
        }
    }

    /** The files whose last reload was refused (the previous content stays in use), or null when none. */
    String refusedFiles() {
        List<String> refused = new ArrayList<>();
        if (accounts.lastError() != null) refused.add("accounts: " + accounts.lastError());
        if (caAuthenticator != null && caAuthenticator.lastError() != null) {
            refused.add("tenant CA/CRL: " + caAuthenticator.lastError());
        }
        if (tls.lastError() != null) refused.add("server certificate: " + tls.lastError());
        return refused.isEmpty() ? null : String.join("; ", refused);
    }

    /** Stops listening, stops watching agents and files; closes the Vert.x when {@link #start(ProxyConfig)} made it. */
    public Future<Void> close() {
        if (stopping != null) return stopping;
        return stopping = closeServersAndClients()
                .transform(x -> ownsVertx ? vertx.close() : Future.<Void>succeededFuture())
                .onComplete(x -> {
                    // the counterpart of the start line, so a log shows when (and that) the proxy stopped
                    if (admin.port() > 0) LOG.info("proxy stopped (https port {}, admin {})", port(), config.adminAddress());
                })
                .mapEmpty();
    }

    /** Everything but the Vert.x instance: listeners, the agents' loops and watchers, file watching. */
    private Future<Void> closeServersAndClients() {
        if (closed) return Future.succeededFuture();
        closed = true;
        files.close();
        return Future.join(agents.close(vertx), tenants.close(), admin.close(vertx)).mapEmpty();
    }
}
