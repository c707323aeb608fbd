package io.cmon.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cmon.agent.http.Exposition;
import io.cmon.config.ConfigException;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.net.ConnectionGuard;
import io.cmon.proxy.admin.StatusPage;
import io.cmon.proxy.auth.AccountStore;
import io.cmon.proxy.auth.ChainAuthCache;
import io.cmon.proxy.inventory.AgentDns;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.FleetCapacity;
import io.cmon.proxy.inventory.FleetInventory;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * The plain-HTTP admin listener (DESIGN §3.5): {@code /metrics}, {@code /-/healthy}, {@code /-/ready},
 * {@code POST /-/reload} and the {@code /status} view of the fleet. The routes are all in {@link #handle}.
 *
 * <p>It runs on a Vert.x of its own (one event loop, two workers): no tenant connection is ever served on its loop,
 * so a tenant's slow request never delays {@code /-/healthy} (a verticle of the proxy's Vert.x was handed a loop
 * that a tenant listener had too: a 150 ms discovery rebuild delayed {@code /-/healthy} by as much in the
 * 20,000-agent run). The agents' watchers run on another Vert.x again ({@link AgentSet}). Everything it reads from
 * the inventory is lock-free, so it answers while agents' answers are being applied; what walks the whole fleet is
 * built on its workers ({@link #offLoop}).
 *
 * <pre>{@code
 * AdminServer admin = new AdminServer(config, parts, operations);  // blocking: starts its Vert.x
 * admin.start().onSuccess(port -> ...); admin.close(vertx);
 * }</pre>
 */
final class AdminServer {

    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the admin routes ask of the proxy. */
    interface Operations {
        /** Re-reads accounts, tenant CA/CRL and certificate; says what changed. */
        Future<String> reload();

        /** The files whose last reload was refused, or null. */
        String refusedFiles();

        /** The address http_sd hands out. */
        String advertisedAddress();
    }

    /** What the status view and metrics read. */
    record Parts(FleetInventory inventory, ProxyMetrics metrics, AccountStore accounts, ChainAuthCache sessions,
                 ConnectionGuard tenantGuard, ConnectionGuard adminGuard, AdminHosts hosts, AgentSet agents,
                 FleetCapacity capacity) {}

    private static final Exposition EXPOSITION = new Exposition();
    private final Vertx vertx;
    private final ProxyConfig config;
    private final FleetInventory inventory;
    private final ProxyMetrics metrics;
    private final AccountStore accounts;
    private final ChainAuthCache sessions;
    private final ConnectionGuard tenantGuard;
    private final ConnectionGuard adminGuard;
    private final AdminHosts hosts;
    private final AgentSet agents;
    private final FleetCapacity capacity;
    private final Operations proxy;
    private final StatusPage statusPage;
    private volatile HttpServer server;

    /** Blocking (starts a Vert.x): call it off the event loops. */
    AdminServer(ProxyConfig config, Parts parts, Operations proxy) {
        // made off the caller's thread, a worker of the proxy's Vert.x, where a second Vert.x warns (see AgentSet)
        this.vertx = java.util.concurrent.CompletableFuture.supplyAsync(() -> Vertx.vertx(new VertxOptions()
                .setEventLoopPoolSize(1).setWorkerPoolSize(2).setInternalBlockingPoolSize(1)
                .setPreferNativeTransport(true))).join();
        this.config = config;
        this.inventory = parts.inventory();
        this.metrics = parts.metrics();
        this.accounts = parts.accounts();
        this.sessions = parts.sessions();
        this.tenantGuard = parts.tenantGuard();
        this.adminGuard = parts.adminGuard();
        this.hosts = parts.hosts();
        this.agents = parts.agents();
        this.capacity = parts.capacity();
        this.proxy = proxy;
        this.statusPage = new StatusPage(inventory, accounts, metrics.registry(), config, tenantGuard::open,
                adminGuard::open, System::currentTimeMillis);
    }

    /** Listens on {@code adminListen} from a verticle of its own; answers the port bound. */
    Future<Integer> start() {
        HostPort at = config.adminAddress();
        return vertx.deployVerticle(new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                HttpServer s = vertx.createHttpServer(TenantListeners.limited(new HttpServerOptions()
                        .setHost(at.host()).setPort(at.port()), config.limits()));
                adminGuard.attach(s);
                s.requestHandler(adminGuard.wrap(AdminServer.this::handle)).listen()
                        .onSuccess(bound -> server = bound)
                        .<Void>mapEmpty()
                        .onComplete(started);
            }
        }).recover(e -> Future.failedFuture(ConfigException.cannotListen("adminListen", at, e)))
                .map(id -> server.actualPort());
    }

    /** The port bound. */
    int port() {
        HttpServer s = server;
        return s == null ? -1 : s.actualPort();
    }

    /**
     * Closes the listener and its Vert.x. The answer comes on a worker of {@code caller}: a future completed by the
     * closing Vert.x would call back on a loop that no longer runs.
     */
    Future<Void> close(Vertx caller) {
        return caller.executeBlocking(() -> {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
            return null;
        }, false);
    }

    private void handle(HttpServerRequest req) {
        if (!hosts.allows(req.getHeader(HttpHeaders.HOST))) {
            // a web page in an operator's browser may resolve its own name to this address (DNS rebinding)
            text(req, 403, "Host '" + AdminHosts.printable(req.getHeader(HttpHeaders.HOST))
                    + "' is not a name of this admin listener; add it to adminHosts in proxy.yaml\n");
            return;
        }
        String path = req.path();
        switch (path) {
            case "/metrics" -> {
                // the agent's negotiation: text or OpenMetrics, never protobuf (client_java's protobuf writer is
                // not on the classpath, and picking it left a native-histogram Prometheus's scrape unanswered)
                Exposition.Negotiated how = EXPOSITION.negotiate(req.getHeader(HttpHeaders.ACCEPT),
                        req.getHeader(HttpHeaders.ACCEPT_ENCODING));
                if (how.gzip()) req.response().putHeader(HttpHeaders.CONTENT_ENCODING, "gzip");
                offLoop(req, how.contentType(), () -> EXPOSITION.render(metrics.registry().scrape(), how));
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
                proxy.reload().onComplete(ar -> {
                    String refused = proxy.refusedFiles();
                    // as Prometheus's own /-/reload: a file that could not be used is a failed reload
                    if (ar.failed()) text(req, 500, "reload failed: " + ar.cause().getMessage() + "\n");
                    else if (refused != null) text(req, 500, ar.result() + "\nreload refused: " + refused + "\n");
                    else text(req, 200, ar.result() + "\n");
                });
            }
            case "/", "/status.html" -> offLoop(req, "text/html; charset=utf-8",
                    () -> Buffer.buffer(statusPage.render()));
            case "/status" -> offLoop(req, "application/json", () -> Buffer.buffer(status()));
            default -> text(req, 404, "not found; try / (status page), /metrics, /status, /-/healthy, /-/ready,"
                    + " POST /-/reload\n");
        }
    }

    /**
     * Answers with a body built on a worker: the status page, {@code /status} and {@code /metrics} walk every agent
     * (tens of milliseconds at 20,000), and {@code /-/healthy} must not wait behind them on the loop.
     */
    private void offLoop(HttpServerRequest req, String contentType, java.util.concurrent.Callable<Buffer> body) {
        vertx.executeBlocking(body, false).onComplete(ar -> {
            if (ar.succeeded()) {
                req.response().putHeader(HttpHeaders.CONTENT_TYPE, contentType).end(ar.result());
            } else {
                LOG.error("failed to answer {}", req.path(), ar.cause());
                req.response().headers().remove(HttpHeaders.CONTENT_ENCODING);
                text(req, 500, "internal error\n");
            }
        });
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
        String refused = proxy.refusedFiles();
        if (refused != null) root.put("reload_refused", refused);
        ObjectNode conns = root.putObject("connections");
        conns.put("tenant", tenantGuard.open());
        conns.put("admin", adminGuard.open());
        conns.put("max", config.limits().maxConnections());
        root.put("endpoint", config.endpoint());
        root.put("advertised", proxy.advertisedAddress());
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
        capacity.describe(root.putObject("capacity"));
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
}
