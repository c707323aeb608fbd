package io.cmon.net;

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
import java.util.function.Consumer;

/**
 * What one listener (the agent's API, the proxy's tenant or admin listener) lets a client hold: a cap on open
 * connections, overall and per source address, and a deadline for each request's headers. Connections over a cap
 * are closed as soon as they are accepted; a connection whose first request has not arrived {@code firstRequest}
 * after it was established (slow headers, or nothing at all), or whose next request has not arrived
 * {@code nextRequest} after the previous one began, is closed. The TLS handshake itself is bounded by the server's
 * SSL handshake timeout.
 * <p>
 * Usage: {@code guard.attach(server)} before {@code listen()}, and wrap the request handler with
 * {@link #wrap(Handler)}. One guard may serve several servers (one per event loop) on the same port. The caller
 * counts the closings ({@code closed}) under its own metric names.
 */
public final class ConnectionGuard {

    /** Limits of one listener. */
    public record Limits(int maxConnections, int maxPerSource, Duration firstRequest, Duration nextRequest) {}

    /** Why a guard closed a connection. */
    public enum Closed {
        MAX_CONNECTIONS, MAX_PER_SOURCE, HEADER_TIMEOUT;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Per connection: the deadline timer, re-armed at each request. */
    private static final class Deadline {
        volatile long timer = -1;
    }

    private final Vertx vertx;
    private final Limits limits;
    private final Consumer<Closed> closed;
    private final AtomicInteger open = new AtomicInteger();
    private final Map<String, AtomicInteger> bySource = new ConcurrentHashMap<>();
    private final Map<HttpConnection, Deadline> deadlines = new ConcurrentHashMap<>();

    public ConnectionGuard(Vertx vertx, Limits limits, Consumer<Closed> closed) {
        this.vertx = vertx;
        this.limits = limits;
        this.closed = closed;
    }

    /** Connections open now (after the TLS handshake, if any). */
    public int open() {
        return open.get();
    }

    public void attach(HttpServer server) {
        server.connectionHandler(this::accepted);
    }

    private void accepted(HttpConnection conn) {
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
            close(conn, Closed.MAX_CONNECTIONS);
        } else if (fromSource > limits.maxPerSource()) {
            close(conn, Closed.MAX_PER_SOURCE);
        } else {
            arm(conn, d, limits.firstRequest());
        }
    }

    private void close(HttpConnection conn, Closed why) {
        closed.accept(why);
        conn.close();
    }

    private void arm(HttpConnection conn, Deadline d, Duration after) {
        d.timer = vertx.setTimer(Math.max(1, after.toMillis()), id -> {
            if (d.timer == id) close(conn, Closed.HEADER_TIMEOUT);
        });
    }

    /** The request handler, with each request's arrival pushing the connection's deadline on. */
    public Handler<HttpServerRequest> wrap(Handler<HttpServerRequest> handler) {
        return req -> {
            HttpConnection conn = req.connection();
            Deadline d = deadlines.get(conn);
            if (d != null) {
                long old = d.timer;
                if (old >= 0) vertx.cancelTimer(old);
                arm(conn, d, limits.nextRequest());
            }
            handler.handle(req);
        };
    }

    /** The address without port: what "one source" means for the caps. */
    public static String source(SocketAddress address) {
        if (address == null) return "?";
        String host = address.hostAddress();
        return host == null ? String.valueOf(address) : host;
    }
}
