package io.cmon.proxy;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The connections an HTTP client opens to agents, and those of them no request ever used, which it closes.
 *
 * <p>Vert.x 4.5's pool loses a connection that is completed after the request waiting for it gave up (its
 * {@code RequestOptions.connectTimeout}): when nothing else holds the agent's pool, the pool is dropped at the
 * timeout, and the connection that arrives later lands in the dropped pool, where no request finds it and no
 * keep-alive check reaches it. The next request opens a second connection. A connection then stays open for good,
 * one descriptor each: in the 20,000-agent benchmark 1,100–2,700 agents held two connections and the proxy ran out
 * of descriptors (docs/PERFORMANCE.md, "Fleet scale"). Requests {@link #claim} the connection they were given; a
 * connection unclaimed for longer than {@code grace} (past the client's own keep-alive expiry, so a connection
 * idling in a live pool has been closed by the pool first) is such a stray, and {@link #sweep} closes it.
 */
public final class ConnectionLedger {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLedger.class);

    /**
     * Past the clients' keep-alive expiry (60 s, Vert.x's default) and their pools' cleaner period (at most 15 s):
     * by then a pool has closed an unused connection of its own.
     */
    static final Duration GRACE = Duration.ofSeconds(90);
    /** How often {@link #sweep} runs: a stray lives at most GRACE plus this. */
    static final Duration SWEEP_PERIOD = Duration.ofSeconds(30);

    private final String name;
    private final Duration grace;
    private final LongSupplier clockMs;
    /** Open connections no request has been given yet, with the time each opened. */
    private final Map<HttpConnection, Long> unclaimed = new ConcurrentHashMap<>();
    private final AtomicLong open = new AtomicLong();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong straysClosed = new AtomicLong();

    /** @param name what the client is for, in the log and in the metrics' {@code client} label */
    public ConnectionLedger(String name, Duration grace, LongSupplier clockMs) {
        this.name = name;
        this.grace = grace;
        this.clockMs = clockMs;
    }

    /** Hears of every connection {@code client} opens (its only connection handler); returns the client. */
    public HttpClient attach(HttpClient client) {
        client.connectionHandler(this::opened);
        return client;
    }

    void opened(HttpConnection connection) {
        open.incrementAndGet();
        opened.incrementAndGet();
        unclaimed.put(connection, clockMs.getAsLong());
        connection.closeHandler(v -> {
            open.decrementAndGet();
            unclaimed.remove(connection);
        });
    }

    /** A request was given this connection: it is the pool's, not a stray. */
    public void claim(HttpConnection connection) {
        if (!unclaimed.isEmpty()) unclaimed.remove(connection);
    }

    /** Closes the connections unclaimed for longer than the grace; returns how many. */
    public int sweep() {
        long before = clockMs.getAsLong() - grace.toMillis();
        int closed = 0;
        for (Map.Entry<HttpConnection, Long> e : unclaimed.entrySet()) {
            if (e.getValue() > before || unclaimed.remove(e.getKey()) == null) continue;
            if (closed == 0 && straysClosed.get() == 0) {
                LOG.warn("{} client: closing a connection to {} that no request used in {} s (a connection made after"
                        + " its request gave up); further ones are counted in"
                        + " cmon_proxy_agent_stray_connections_closed_total", name, e.getKey().remoteAddress(),
                        grace.toSeconds());
            }
            e.getKey().close();
            closed++;
        }
        straysClosed.addAndGet(closed);
        return closed;
    }

    /** Connections open now. */
    public long open() {
        return open.get();
    }

    /** Connections opened since the start. */
    public long opened() {
        return opened.get();
    }

    /** Stray connections closed since the start. */
    public long straysClosed() {
        return straysClosed.get();
    }

    /**
     * Registers {@code cmon_proxy_agent_connections{client}} and {@code cmon_proxy_agent_stray_connections_closed_total
     * {client}} for the ledgers given (one registration per metric name).
     */
    public static void register(PrometheusRegistry registry, ConnectionLedger... ledgers) {
        GaugeWithCallback.builder().name("cmon_proxy_agent_connections")
                .help("Open connections to agents, by what they are for (inventory: the watchers' long-polls,"
                        + " forward: tenants' scrapes)")
                .labelNames("client")
                .callback(cb -> {
                    for (ConnectionLedger l : ledgers) cb.call(l.open(), l.name);
                }).register(registry);
        CounterWithCallback.builder().name("cmon_proxy_agent_stray_connections_closed")
                .help("Connections to agents closed because no request ever used them (made after their request"
                        + " gave up waiting)")
                .labelNames("client")
                .callback(cb -> {
                    for (ConnectionLedger l : ledgers) cb.call(l.straysClosed(), l.name);
                }).register(registry);
    }
}
