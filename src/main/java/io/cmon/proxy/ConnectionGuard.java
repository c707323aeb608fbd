package io.cmon.proxy;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one listener lets a stranger hold: a cap on open connections, overall and per source address, and a
 * deadline for each request's headers. Connections over a cap are closed as soon as they are accepted; a connection
 * whose first request has not arrived {@code firstRequest} after it was established (slow headers, or nothing at
 * all), or whose next request has not arrived {@code nextRequest} after the previous one began, is closed.
 * The TLS handshake itself is bounded by the server's SSL handshake timeout.
 * <p>
 * Usage: {@code guard.attach(server)} before {@code listen()}, and wrap the request handler with
 * {@link #wrap(Handler)}. One guard may serve several servers (one per event loop) on the same port.
 */
final class ConnectionGuard {

    /** Limits of one listener. */
    record Limits(int maxConnections, int maxPerSource, Duration firstRequest, Duration nextRequest) {}

    /** Per connection: the deadline timer, re-armed at each request. */
    private static final class Deadline {
        volatile long timer = -1;
    }

    private final Vertx vertx;
    private final Limits limits;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<String, AtomicInteger> bySource = new ConcurrentHashMap<>();
    private final Map<HttpConnection, Deadline> deadlines = new ConcurrentHashMap<>();
    private final Counter refused;

    /** @param listener label of this listener's metrics, e.g. {@code tenant} or {@code admin} */
    ConnectionGuard(Vertx vertx, Limits limits, String listener, PrometheusRegistry registry, Counter refused) {
        this.vertx = vertx;
        this.limits = limits;
        this.refused = refused;
        GaugeWithCallback.builder().name("cmon_proxy_" + listener + "_connections")
                .help("Open connections of the " + listener + " listener (after the TLS handshake, if any)")
                .callback(cb -> cb.call(open.get())).register(registry);
    }

    /** The shared counter of connections closed by a guard, by listener and reason. */
    static Counter refusedCounter(PrometheusRegistry registry) {
        return Counter.builder().name("cmon_proxy_connections_refused")
                .help("Connections closed by the proxy's limits, by listener and reason "
                        + "(max_connections, max_per_source, header_timeout)")
                .labelNames("listener", "reason").register(registry);
    }

    int open() {
        return open.get();
    }

    void attach(HttpServer server, String listener) {
        server.connectionHandler(conn -> accepted(conn, listener));
    }

    private void accepted(HttpConnection conn, String listener) {
        String source = source(conn.remoteAddress());
        int total = open.incrementAndGet();
        AtomicInteger mine = bySource.computeIfAbsent(source, k -> new AtomicInteger());
        int fromSource = mine.incrementAndGet();
        Deadline d = new Deadline();
        deadlines.put(conn, d);
        conn.closeHandler(v -> {
            open.decrementAndGet();
            if (mine.decrementAndGet() == 0) bySource.remove(source, mine);
            Deadline gone = deadlines.remove(conn);
            if (gone != null && gone.timer >= 0) vertx.cancelTimer(gone.timer);
        });
        if (total > limits.maxConnections()) {
            refused.labelValues(listener, "max_connections").inc();
            conn.close();
            return;
        }
        if (fromSource > limits.maxPerSource()) {
            refused.labelValues(listener, "max_per_source").inc();
            conn.close();
            return;
        }
        arm(conn, d, limits.firstRequest(), listener);
    }

    private void arm(HttpConnection conn, Deadline d, Duration after, String listener) {
        d.timer = vertx.setTimer(Math.max(1, after.toMillis()), id -> {
            if (d.timer != id) return;
            refused.labelValues(listener, "header_timeout").inc();
            conn.close();
        });
    }

    /** The request handler, with each request's arrival pushing the connection's deadline on. */
    Handler<HttpServerRequest> wrap(Handler<HttpServerRequest> handler, String listener) {
        return req -> {
            HttpConnection conn = req.connection();
            Deadline d = deadlines.get(conn);
            if (d != null) {
                long old = d.timer;
                if (old >= 0) vertx.cancelTimer(old);
                arm(conn, d, limits.nextRequest(), listener);
            }
            handler.handle(req);
        };
    }

    /** The address without port: what "one source" means for the caps. */
    static String source(SocketAddress address) {
        if (address == null) return "?";
        String host = address.hostAddress();
        return host == null ? String.valueOf(address) : host;
    }
}
