package io.cmon.proxy.inventory;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Follows one agent's {@code /v1/instances}: a first plain request, then long-polls
 * ({@code ?since=<generation>&wait=30s}) on a keep-alive connection. Any failure marks the agent down and
 * retries with exponential backoff from a plain request again (an agent that restarted counts generations
 * from scratch, so a stale {@code since} would stall).
 */
public final class AgentWatcher {

    private static final Logger LOG = LoggerFactory.getLogger(AgentWatcher.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** How long to wait between attempts after failures, and how long a long-poll may last. */
    public record Timing(Duration longPoll, Duration minBackoff, Duration maxBackoff, Duration connectTimeout) {
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(30), Duration.ofMillis(200),
                Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    private final Vertx vertx;
    private final HttpClient client;
    private final HostPort agent;
    private final FleetInventory inventory;
    private final Timing timing;
    private final LongSupplier clockMs;

    private long since = -1; // -1: next request is a plain list
    private int failures;
    private long timerId = -1;
    private volatile boolean stopped;

    public AgentWatcher(Vertx vertx, HttpClient client, HostPort agent, FleetInventory inventory, Timing timing,
                        LongSupplier clockMs) {
        this.vertx = vertx;
        this.client = client;
        this.agent = agent;
        this.inventory = inventory;
        this.timing = timing;
        this.clockMs = clockMs;
    }

    public HostPort agent() {
        return agent;
    }

    public void start() {
        inventory.addAgent(agent);
        poll();
    }

    /** Stops polling; the agent stays in the inventory (the caller removes it if it is gone from the list). */
    public void stop() {
        stopped = true;
        if (timerId >= 0) vertx.cancelTimer(timerId);
    }

    private void poll() {
        timerId = -1;
        if (stopped) return;
        boolean longPoll = since >= 0;
        String uri = longPoll
                ? "/v1/instances?since=" + since + "&wait=" + timing.longPoll().toSeconds() + "s"
                : "/v1/instances";
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(agent.host())
                .setPort(agent.port())
                .setURI(uri)
                .setConnectTimeout(timing.connectTimeout().toMillis())
                // the agent answers at the wait at the latest: silence well past it means it is gone
                .setIdleTimeout(timing.longPoll().plusSeconds(10).toMillis())
                .putHeader("Accept", "application/json");
        client.request(options)
                .compose(req -> req.send().compose(resp -> resp.statusCode() == 200
                        ? resp.body()
                        : resp.body().transform(ignored ->
                                Future.<Buffer>failedFuture("HTTP " + resp.statusCode() + " from agent"))))
                .onComplete(ar -> {
                    if (stopped) return;
                    if (ar.succeeded()) {
                        onAnswer(ar.result());
                    } else {
                        onFailure(ar.cause());
                    }
                });
    }

    private void onAnswer(Buffer body) {
        InstancesPage page;
        try {
            page = JSON.readValue(body.getBytes(), InstancesPage.class);
        } catch (Exception e) {
            onFailure(new IllegalStateException("unreadable /v1/instances answer: " + e.getMessage()));
            return;
        }
        boolean wasUp = inventory.isUp(agent);
        inventory.update(agent, page, clockMs.getAsLong());
        if (!wasUp) {
            LOG.info("agent {} up: server {} with {} instances", agent, page.server() == null ? null
                    : page.server().uuid(), page.instances().size());
        }
        failures = 0;
        since = page.generation();
        poll();
    }

    private void onFailure(Throwable cause) {
        String reason = reason(cause);
        if (inventory.isUp(agent) || failures == 0) LOG.warn("agent {} down: {}", agent, reason);
        inventory.markDown(agent, reason);
        since = -1;
        long backoff = Math.min(timing.maxBackoff().toMillis(),
                timing.minBackoff().toMillis() << Math.min(failures, 20));
        failures++;
        timerId = vertx.setTimer(Math.max(1, backoff), id -> poll());
    }

    /**
     * What went wrong, for the log and /status: a refused certificate's own message (which names the agent, the
     * expected name and the certificate's names) rather than the TLS layer's "Failed to create SSL connection".
     */
    public static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.security.cert.CertificateException && t.getMessage() != null) return t.getMessage();
            if (t.getCause() == t) break;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException && t.getMessage() != null
                    && !t.getMessage().startsWith("Failed to create SSL connection")) {
                return failure.getMessage() + ": " + t.getMessage();
            }
            if (t.getCause() == t) break;
        }
        return failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
    }
}
