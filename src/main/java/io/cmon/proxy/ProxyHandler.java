package io.cmon.proxy;

import io.cmon.config.HostPort;
import io.cmon.proxy.auth.Account;
import io.cmon.proxy.auth.AuthResult;
import io.cmon.proxy.forward.AgentForwarder;
import io.cmon.proxy.forward.Forwarded;
import io.cmon.proxy.forward.ScrapeDeadline;
import io.cmon.proxy.inventory.FleetInstance;
import io.cmon.proxy.inventory.FleetInventory;
import io.cmon.proxy.route.Discovery;
import io.cmon.proxy.route.DiscoveryCache;
import io.cmon.proxy.route.Failure;
import io.cmon.proxy.route.Groups;
import io.cmon.proxy.route.Route;
import io.cmon.proxy.route.RouteParser;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The tenant-facing request handler: route (pure) → authenticate → rate limit → answer from the inventory or
 * forward to the agent. Runs on the event loop; nothing here blocks, and a discovery answer that must be rebuilt is
 * built on a worker.
 */
final class ProxyHandler implements Handler<HttpServerRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String JSON = "application/json";

    private final RouteParser parser;
    private final BiFunction<HttpServerRequest, BooleanSupplier, AuthResult> auth;
    private final SourceThrottle throttle;
    private final RateLimiter limiter;
    private final FleetInventory inventory;
    private final AgentForwarder forwarder;
    private final ProxyMetrics metrics;
    private final Duration requestTimeout;
    private final Supplier<String> advertisedAddress;
    private final AccessLog accessLog;
    private final DiscoveryCache discovery;

    /**
     * @param auth     who the caller is; verifies a chain not seen before only when the supplier allows it
     * @param throttle failed authentications per source address
     */
    ProxyHandler(RouteParser parser, BiFunction<HttpServerRequest, BooleanSupplier, AuthResult> auth,
                 SourceThrottle throttle, RateLimiter limiter,
                 FleetInventory inventory, AgentForwarder forwarder, ProxyMetrics metrics, Duration requestTimeout,
                 Supplier<String> advertisedAddress, AccessLog accessLog, DiscoveryCache discovery) {
        this.discovery = discovery;
        this.parser = parser;
        this.auth = auth;
        this.throttle = throttle;
        this.limiter = limiter;
        this.inventory = inventory;
        this.forwarder = forwarder;
        this.metrics = metrics;
        this.requestTimeout = requestTimeout;
        this.advertisedAddress = advertisedAddress;
        this.accessLog = accessLog;
    }

    @Override
    public void handle(HttpServerRequest req) {
        long start = System.nanoTime();
        int hosts = req.headers().getAll(HttpHeaders.HOST).size();
        // RFC 9112 §3.2: HTTP/1.1 needs exactly one Host; several make routing ambiguous for any version
        Route route = hosts > 1 || (hosts == 0 && req.version() == io.vertx.core.http.HttpVersion.HTTP_1_1)
                ? new Route.Rejected(Failure.BAD_REQUEST, "exactly one Host header is required")
                : parser.parse(req.method().name(), req.getHeader(HttpHeaders.HOST), req.path(), req.query());
        Call call = new Call(req, route, start);
        try {
            dispatch(call);
        } catch (RuntimeException e) {
            // a bug, never the caller's input: say so honestly and keep serving
            LOG.error("failed to answer {} {}", req.method(), req.path(), e);
            if (!req.response().headWritten()) {
                req.response().setStatusCode(500).putHeader(HttpHeaders.CONTENT_TYPE, TEXT).end("internal error\n");
            }
            call.log(500, 0);
        }
    }

    private void dispatch(Call call) {
        if (call.route instanceof Route.Ping) {
            call.text(200, "OK\n");
            return;
        }
        String source = io.cmon.net.ConnectionGuard.source(call.req.remoteAddress());
        AuthResult who = auth.apply(call.req, () -> throttle.blockedFor(source) == 0);
        if (who instanceof AuthResult.Rejected r) {
            metrics.authFailure(r.reason().label());
            if (r.reason() == AuthResult.Reason.THROTTLED) {
                call.req.response().putHeader("Retry-After", Long.toString(Math.max(1, throttle.blockedFor(source))))
                        .putHeader(HttpHeaders.CONNECTION, "close");
                call.fail(Failure.THROTTLED, "too many failed authentications from " + source);
                return;
            }
            // a request without any certificate costs no verification: only attempts that do count
            if (r.reason() != AuthResult.Reason.NO_CERTIFICATE) throttle.failed(source);
            call.fail(Failure.UNAUTHENTICATED, r.reason().label());
            return;
        }
        Account account = ((AuthResult.Authenticated) who).account();
        call.account = account.login();
        long wait = limiter.acquire(account.uuid());
        if (wait > 0) {
            metrics.throttled();
            call.req.response().putHeader("Retry-After", Long.toString(wait));
            call.fail(Failure.THROTTLED, null);
            return;
        }
        Route route = call.route;
        if (route instanceof Route.Rejected r) {
            if (r.failure() == Failure.METHOD_NOT_ALLOWED) call.req.response().putHeader("Allow", "GET");
            call.fail(r.failure(), r.detail());
        } else if (route instanceof Route.Discover d) {
            String notReady = inventory.notReadyReason();
            if (notReady != null) call.fail(Failure.NOT_SYNCED, notReady);
            else discover(call, DiscoveryCache.Format.TRITON, account, d.groups());
        } else if (route instanceof Route.HttpSd d) {
            String notReady = inventory.notReadyReason();
            if (notReady != null) call.fail(Failure.NOT_SYNCED, notReady);
            else discover(call, DiscoveryCache.Format.HTTP_SD, account, d.groups());
        } else if (route instanceof Route.GzDiscover) {
            String notReady = inventory.notReadyReason();
            if (!account.operator()) call.fail(Failure.FORBIDDEN, null);
            else if (notReady != null) call.fail(Failure.NOT_SYNCED, notReady);
            else call.json(Discovery.servers(inventory.agents()));
        } else if (route instanceof Route.Metrics m) {
            metrics(call, account, m.uuid());
        }
    }

    /** A valid cached answer at once; a rebuild comes back from a worker (DiscoveryCache#lookup). */
    private void discover(Call call, DiscoveryCache.Format format, Account account, Groups groups) {
        discovery.lookup(format, account.uuid(), account.login(), groups).onComplete(ar -> {
            if (ar.succeeded()) {
                call.json(ar.result());
            } else {
                LOG.error("failed to build the discovery answer of {}", account.login(), ar.cause());
                call.text(500, "internal error\n");
            }
        });
    }

    private void metrics(Call call, Account account, String uuid) {
        Optional<FleetInstance> found = inventory.instance(uuid);
        HostPort agent;
        String path;
        if (found.isPresent() && (account.operator()
                || FleetInventory.owns(found.get(), account.uuid(), account.login()))) {
            agent = found.get().agent();
            path = "/v1/" + uuid + "/metrics";
        } else if (account.operator() && inventory.server(uuid).isPresent()) {
            agent = inventory.server(uuid).get();
            path = "/v1/gz/metrics";
        } else if (account.operator() && inventory.contested(uuid)) {
            call.fail(Failure.CONFLICT, null);
            return;
        } else {
            // before the first sync an unknown uuid may just not be known yet; a contested one is unknown to tenants
            call.fail(inventory.synced() ? Failure.NOT_FOUND : Failure.NOT_SYNCED, null);
            return;
        }
        if (!inventory.isUp(agent)) {
            call.fail(Failure.AGENT_DOWN, null);
            return;
        }
        Duration timeout = ScrapeDeadline.of(requestTimeout, call.req.getHeader(ScrapeDeadline.HEADER));
        forwarder.forward(agent, path, call.req, timeout).onComplete(ar -> {
            Forwarded outcome = ar.result();
            if (outcome instanceof Forwarded.Streamed s) {
                call.log(s.status(), s.bytes());
            } else if (outcome instanceof Forwarded.Failed f) {
                call.fail(f.failure(), f.detail());
            } else if (outcome instanceof Forwarded.Aborted a) {
                LOG.warn("scrape of {} via {} aborted after {} bytes: {}", uuid, agent, a.bytes(), a.failure().label());
                call.log(a.failure().status(), a.bytes());
            }
        });
    }

    /** One request being answered: writes the answer, logs it and counts it exactly once. */
    private final class Call {
        final HttpServerRequest req;
        final Route route;
        final long start;
        String account = "-";

        Call(HttpServerRequest req, Route route, long start) {
            this.req = req;
            this.route = route;
            this.start = start;
        }

        void fail(Failure failure, String detail) {
            text(failure.status(), failure.body(detail));
        }

        void text(int status, String body) {
            send(status, TEXT, Buffer.buffer(body));
        }

        void json(byte[] body) {
            send(200, JSON, Buffer.buffer(body));
        }

        private void send(int status, String type, Buffer body) {
            if (req.response().closed() || req.response().ended()) {
                log(status, 0);
                return;
            }
            req.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, type).end(body);
            log(status, body.length());
        }

        void log(int status, long bytes) {
            long nanos = System.nanoTime() - start;
            metrics.request(route.label(), status, nanos);
            if (accessLog.enabled()) {
                accessLog.request(req.remoteAddress(), account, req.method().name(), route.label(), req.uri(), status,
                        bytes, nanos);
            }
        }
    }
}
