package io.cmon.proxy.inventory;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesAnswer;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * Follows one agent's {@code /v1/instances}: a first plain request, then long-polls
 * ({@code ?since=<generation>&wait=300s&epoch=<epoch>}) on a keep-alive connection, all on one event loop
 * ({@code context}). Every request asks for inventory protocol v2 ({@link InstancesAnswer#ACCEPT}): a v2 agent answers
 * full, delta or unchanged, which the watcher applies as such; an agent of an older version answers the v1 page
 * ({@code application/json}), which replaces the agent's list as it always did. Any failure marks the agent down and
 * retries with jittered exponential backoff from a plain request again (an old agent that restarted counts
 * generations from scratch, so a stale {@code since} would stall).
 *
 * <p>Jitter keeps a fleet's watchers apart: started together they would all send, and their agents all answer, at the
 * same moment every wait. The first poll waits a random part of {@code startDelay}, and a long-poll that ended with
 * no change is renewed after a random part of {@link Timing#repollJitter}.
 */
public final class AgentWatcher {

    private static final Logger LOG = LoggerFactory.getLogger(AgentWatcher.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * How long a long-poll may last, how long to wait between attempts after failures, the longest a request waits
     * for its connection ({@code connectTimeout}, the pool's wait), and the most a quiet agent's next long-poll is put
     * off.
     */
    public record Timing(Duration longPoll, Duration minBackoff, Duration maxBackoff, Duration connectTimeout,
                         Duration repollJitter) {
        /**
         * Long-polls of 300 s, the most an agent holds one ({@code InstancesQuery.MAX_WAIT}): an idle proxy's work is
         * one answer per agent per long-poll, so at 10,000 agents it is 33 answers a second (167 at 60 s, the wait
         * before). A vanished agent host is noticed by TCP keep-alive ({@link KeepAlive}), a hung agent process at
         * the idle timeout, 310 s; an agent of an older version answers at its own cap, 60 s.
         *
         * <p>The pool wait, 20 s, outlasts the making of a connection (TCP connect 5 s, then a TLS handshake of at
         * most 10 s, the client's timeouts): a request that gave up on a connection still being made left that
         * connection to Vert.x 4.5's pool, which loses it (see {@code ConnectionLedger}), and the retry opened a
         * second one. A connect that fails still fails at 5 s.
         */
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(300), Duration.ofMillis(200),
                Duration.ofSeconds(5), Duration.ofSeconds(20), Duration.ofSeconds(1));
    }

    /**
     * TCP keep-alive on the connections to agents: with long-polls of minutes, an agent whose host powers off or
     * drops off the network sends nothing, and only the kernel's probes notice it. The defaults give up after
     * {@code idle + interval * probes} = 60 s of silence, as the 60 s long-polls before them did; the probes are the
     * kernel's work, not the proxy's. They need the native (epoll) transport: on the JDK's, the kernel's own
     * keep-alive time applies ({@code net.ipv4.tcp_keepalive_time}, two hours by default).
     */
    public record KeepAlive(Duration idle, Duration interval, int probes) {
        public static final KeepAlive DEFAULT = new KeepAlive(Duration.ofSeconds(30), Duration.ofSeconds(10), 3);

        /** Sets keep-alive on the agent client's options; returns them. */
        public HttpClientOptions applyTo(HttpClientOptions options) {
            options.setTcpKeepAlive(true)
                    .setTcpKeepAliveIdleSeconds((int) Math.max(1, idle.toSeconds()))
                    .setTcpKeepAliveIntervalSeconds((int) Math.max(1, interval.toSeconds()))
                    .setTcpKeepAliveCount(probes);
            return options;
        }

        /** How long a silent connection lasts before the kernel gives up on it. */
        public Duration giveUpAfter() {
            return idle.plus(interval.multipliedBy(probes));
        }
    }

    private final Vertx vertx;
    private final Context context;
    private final HttpClient client;
    private final HostPort agent;
    private final FleetInventory inventory;
    private final Timing timing;
    /** Out-of-descriptors accounting and its backoff; null: the plain jittered backoff. */
    private final FleetCapacity capacity;
    /** Told the connection each request was given ({@code ConnectionLedger::claim}). */
    private final Consumer<HttpConnection> claim;
    private final LongSupplier clockMs;
    private final RandomGenerator random;

    // confined to the context
    private long since = -1; // -1: next request is a plain list
    private String epoch; // the v2 agent's epoch; null: a v1 agent, or not known yet
    private int failures;
    private volatile long timerId = -1;
    /** The request waiting for an answer, reset by {@link #stop()}; confined to the context. */
    private HttpClientRequest inFlight;
    private volatile boolean stopped;

    /** @param context the event loop this watcher's requests, answers and timers run on */
    public AgentWatcher(Vertx vertx, Context context, HttpClient client, HostPort agent, FleetInventory inventory,
                        Timing timing, LongSupplier clockMs, RandomGenerator random) {
        this(vertx, context, client, agent, inventory, timing, clockMs, random, null, c -> { });
    }

    /**
     * @param capacity out-of-descriptors accounting and its longer backoff; null: the plain jittered backoff
     * @param claim    told the connection each request was given (the proxy's {@code ConnectionLedger})
     */
    public AgentWatcher(Vertx vertx, Context context, HttpClient client, HostPort agent, FleetInventory inventory,
                        Timing timing, LongSupplier clockMs, RandomGenerator random, FleetCapacity capacity,
                        Consumer<HttpConnection> claim) {
        this.capacity = capacity;
        this.claim = claim;
        this.vertx = vertx;
        this.context = context;
        this.client = client;
        this.agent = agent;
        this.inventory = inventory;
        this.timing = timing;
        this.clockMs = clockMs;
        this.random = random;
    }

    public HostPort agent() {
        return agent;
    }

    /** Tracks the agent at once (readiness waits for it) and polls it first after a random part of startDelay. */
    public void start(Duration startDelay) {
        inventory.addAgent(agent);
        long delay = startDelay.toMillis() <= 0 ? 0 : random.nextLong(startDelay.toMillis() + 1);
        context.runOnContext(v -> later(delay));
    }

    /** Stops polling; the agent stays in the inventory (the caller removes it if it is gone from the list). */
    public void stop() {
        stopped = true;
        long t = timerId;
        if (t >= 0) vertx.cancelTimer(t);
        // a long-poll lasts minutes: an agent gone from the list must not hold its connection (a descriptor) that long
        context.runOnContext(v -> {
            HttpClientRequest req = inFlight;
            inFlight = null;
            if (req != null) req.reset();
        });
    }

    /** Polls after delayMs (on this context: a timer set here fires here). */
    private void later(long delayMs) {
        if (stopped) return;
        if (delayMs <= 0) poll();
        else timerId = vertx.setTimer(delayMs, id -> poll());
    }

    private void poll() {
        timerId = -1;
        if (stopped) return;
        long asked = since;
        String uri = asked < 0 ? "/v1/instances"
                : "/v1/instances?since=" + asked + "&wait=" + timing.longPoll().toSeconds() + "s"
                        + (epoch == null ? "" : "&epoch=" + URLEncoder.encode(epoch, StandardCharsets.UTF_8));
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(agent.host())
                .setPort(agent.port())
                .setURI(uri)
                .setConnectTimeout(timing.connectTimeout().toMillis())
                // the agent answers at the wait at the latest: silence well past it means it is gone
                .setIdleTimeout(timing.longPoll().plusSeconds(10).toMillis())
                .putHeader(HttpHeaders.ACCEPT, InstancesAnswer.ACCEPT);
        client.request(options)
                .compose(req -> {
                    claim.accept(req.connection());
                    inFlight = req;
                    if (stopped) req.reset(); // stopped while the connection was being made
                    return req.send();
                })
                .compose(resp -> resp.statusCode() == 200
                        ? resp.body().map(body -> new Answer(resp.getHeader(HttpHeaders.CONTENT_TYPE), body))
                        : resp.body().transform(ignored ->
                                Future.<Answer>failedFuture("HTTP " + resp.statusCode() + " from agent")))
                .onComplete(ar -> {
                    inFlight = null;
                    if (stopped) return;
                    if (ar.succeeded()) {
                        onAnswer(asked, ar.result());
                    } else {
                        onFailure(ar.cause());
                    }
                });
    }

    private record Answer(String contentType, Buffer body) {}

    private void onAnswer(long asked, Answer answer) {
        boolean wasUp = inventory.isUp(agent);
        boolean quiet;
        try {
            quiet = InstancesAnswer.isV2(answer.contentType()) ? applyV2(asked, answer.body()) : applyV1(asked,
                    answer.body());
        } catch (Exception e) {
            onFailure(new IllegalStateException("unreadable /v1/instances answer: " + e.getMessage()));
            return;
        }
        if (!wasUp) {
            LOG.info("agent {} up: {} instances, protocol {}", agent, inventory.agentInstances(agent),
                    epoch == null ? 1 : 2);
        }
        failures = 0;
        later(quiet ? jitter(timing.repollJitter()) : 0);
    }

    /** A v1 page: the agent's whole list. True when the long-poll ended without a change. */
    private boolean applyV1(long asked, Buffer body) throws java.io.IOException {
        InstancesPage page = JSON.readValue(body.getBytes(), InstancesPage.class);
        inventory.update(agent, page, clockMs.getAsLong());
        epoch = null;
        since = page.generation();
        return asked >= 0 && page.generation() == asked;
    }

    /** A v2 answer: full, delta or unchanged. True when the long-poll ended without a change. */
    private boolean applyV2(long asked, Buffer body) throws java.io.IOException {
        InstancesAnswer a = JSON.readValue(body.getBytes(), InstancesAnswer.class);
        if (a.kind() == null || a.epoch() == null) {
            throw new IllegalStateException("a v2 answer without kind or epoch");
        }
        long now = clockMs.getAsLong();
        switch (a.kind()) {
            case FULL -> inventory.applyFull(agent, a, now);
            case DELTA, UNCHANGED -> {
                // only meaningful against what this watcher holds: the same process, the generation asked
                if (asked < 0 || !a.epoch().equals(epoch)) {
                    throw new IllegalStateException("a " + a.kind().name().toLowerCase(java.util.Locale.ROOT)
                            + " answer to a request that holds no generation of epoch " + a.epoch());
                }
                if (a.kind() == InstancesAnswer.Kind.DELTA) inventory.applyDelta(agent, a, now);
                else inventory.unchanged(agent, a, now);
            }
        }
        epoch = a.epoch();
        since = a.generation();
        return a.kind() == InstancesAnswer.Kind.UNCHANGED;
    }

    private long jitter(Duration max) {
        return max.toMillis() <= 0 ? 0 : random.nextLong(max.toMillis() + 1);
    }

    private void onFailure(Throwable cause) {
        String reason = reason(cause);
        if (inventory.isUp(agent) || failures == 0) LOG.warn("agent {} down: {}", agent, reason);
        inventory.markDown(agent, reason);
        since = -1;
        epoch = null;
        long backoff = Math.min(timing.maxBackoff().toMillis(),
                timing.minBackoff().toMillis() << Math.min(failures, 20));
        failures++;
        // half fixed, half random: agents that failed together (a proxy-side outage) do not retry together;
        // out of file descriptors, FleetCapacity makes it long and counts it
        long wait = capacity != null ? capacity.backoffMs(cause, backoff, timing.maxBackoff().toMillis())
                : backoff / 2 + jitter(Duration.ofMillis(backoff / 2));
        later(Math.max(1, wait));
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
        String message = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        // epoll's words for ETIMEDOUT on an open connection: the kernel's keep-alive probes went unanswered
        if (message.contains("error(-110)")) {
            return "connection timed out: no answer to TCP keep-alive probes (agent host or network gone?)";
        }
        return message;
    }
}
