package io.cmon.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.config.AgentConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Containers of a Docker Engine (or Podman's Docker-compatible) API on a unix socket, followed live.
 *
 * <p>Connect: {@code /_ping} (brand: Podman's answer has a {@code Libpod-Api-Version} header), take a checkpoint, list and inspect all containers, then stream
 * {@code /events} since the checkpoint (or since the last event seen, across reconnects). Each container event
 * triggers an inspection and an upsert; destroy forgets. A full resync every 60 s repairs lost events. When the
 * connection drops (daemon restarting), it reconnects with backoff and lists again.
 *
 * <p>Every API call has a deadline ({@link Timing#call}): a daemon that accepts and never answers fails the call
 * instead of wedging the source. The event stream is silent when nothing happens, so it has no deadline; instead a
 * {@code /_ping} every {@link Timing#ping} must answer within {@link Timing#call}, else the connection is treated as
 * lost (stream closed, reconnect with backoff, list again). {@link #up()} says whether the daemon answers now.
 *
 * <p>All state lives on one Vert.x context; nothing here blocks.
 */
public final class DockerSource implements InstanceSource {

    private static final Logger LOG = LoggerFactory.getLogger(DockerSource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long BACKOFF_MIN_MS = 250;
    static final long BACKOFF_MAX_MS = 5_000;

    /**
     * @param call   deadline of one API call (no byte of the answer for this long fails it)
     * @param ping   how often a followed daemon is pinged
     * @param resync how often everything is listed again (events can be lost)
     */
    record Timing(Duration call, Duration ping, Duration resync) {
        static final Timing DEFAULT = new Timing(Duration.ofSeconds(10), Duration.ofSeconds(15), Duration.ofSeconds(60));
    }
    private static final Set<String> FORGET = Set.of("destroy", "remove");
    /** Events after which the container's record may differ; exec_*, attach, resize, top, … do not. */
    private static final Set<String> INSPECT = Set.of("create", "start", "restart", "die", "died", "stop",
            "pause", "unpause", "rename", "update", "init", "cleanup");

    private final Vertx vertx;
    private final String name;
    private final String socketPath;
    private final ContainerMapping mapping;
    private final HttpClient client;
    private final Timing timing;

    // state below: only touched on `context`
    private volatile Context context; // also read by refresh()/close() from any thread
    private InstanceSink sink;
    private boolean closed;
    private boolean connected;
    private boolean everConnected;
    private int epoch; // bumps per connection attempt; callbacks of an older stream are ignored
    private long backoffMs = BACKOFF_MIN_MS;
    private long resyncTimer = -1;
    private long pingTimer = -1;
    private volatile boolean up;
    private volatile String lastError;
    private volatile long eventsSeen;
    private volatile long resyncs;
    private long reconnectTimer = -1;
    private String brand = "docker";
    private String lastEventTime; // "seconds.nanos", the Docker `since` format
    private HttpClientResponse eventStream;
    private final Map<String, Instance> known = new HashMap<>(); // container id → instance
    private final Map<String, Long> lastEvent = new HashMap<>(); // container id → event sequence number
    private long eventSeq;

    public DockerSource(Vertx vertx, String socketPath, AgentConfig.Labels labels, String defaultOwner) {
        this(vertx, ContainerMapping.SOURCE, socketPath, labels, defaultOwner, Timing.DEFAULT);
    }

    /**
     * @param name the source's name in the inventory and in its health ({@code docker}; {@code podman} for the
     *             agent's {@code podman:} socket, so that a host running both has two sources that do not replace
     *             each other's containers)
     */
    public DockerSource(Vertx vertx, String name, String socketPath, AgentConfig.Labels labels, String defaultOwner) {
        this(vertx, name, socketPath, labels, defaultOwner, Timing.DEFAULT);
    }

    DockerSource(Vertx vertx, String socketPath, AgentConfig.Labels labels, String defaultOwner, Timing timing) {
        this(vertx, ContainerMapping.SOURCE, socketPath, labels, defaultOwner, timing);
    }

    DockerSource(Vertx vertx, String name, String socketPath, AgentConfig.Labels labels, String defaultOwner,
                 Timing timing) {
        this.timing = timing;
        this.name = name;
        if (!vertx.isNativeTransportEnabled()) {
            throw new IllegalStateException("the Docker socket " + socketPath + " needs Vert.x's native transport "
                    + "(new VertxOptions().setPreferNativeTransport(true), netty epoll on Linux): "
                    + vertx.unavailableNativeTransportCause());
        }
        this.vertx = vertx;
        this.socketPath = socketPath;
        this.mapping = new ContainerMapping(labels, defaultOwner, name);
        this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(8));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void start(InstanceSink sink) {
        Context ctx = vertx.getOrCreateContext();
        ctx.runOnContext(v -> {
            this.context = ctx;
            this.sink = sink;
            connect();
            resyncTimer = vertx.setPeriodic(timing.resync().toMillis(), id -> {
                if (connected) {
                    int attempt = epoch;
                    resync().onFailure(e -> {
                        LOG.debug("{}: periodic resync failed: {}", name, e.toString());
                        lastError = e.toString();
                        if (isTimeout(e)) lost(attempt, e);
                    });
                }
            });
            pingTimer = vertx.setPeriodic(timing.ping().toMillis(), id -> {
                if (connected) {
                    int attempt = epoch;
                    get("/_ping").onFailure(e -> lost(attempt, e)); // a hung daemon: silence on events is normal
                }
            });
        });
        this.context = ctx;
    }

    @Override
    public CompletionStage<Void> refresh() {
        Promise<Void> done = Promise.promise();
        Context ctx = context;
        if (ctx == null) {
            return Future.<Void>failedFuture(name + " source not started").toCompletionStage();
        }
        ctx.runOnContext(v -> resync().onComplete(done));
        return done.future().toCompletionStage();
    }

    @Override
    public void close() {
        Context ctx = context;
        if (ctx == null) {
            client.close();
            return;
        }
        ctx.runOnContext(v -> {
            closed = true;
            vertx.cancelTimer(resyncTimer);
            vertx.cancelTimer(pingTimer);
            vertx.cancelTimer(reconnectTimer);
            up = false;
            client.close();
        });
    }

    // ---- connection lifecycle

    private void connect() {
        if (closed) {
            return;
        }
        int attempt = ++epoch;
        String checkpoint = timestamp(System.currentTimeMillis() * 1_000_000L);
        ping()
                .compose(pinged -> {
                    brand = pinged;
                    return resync();
                })
                .compose(v -> subscribe(attempt, lastEventTime != null ? lastEventTime : checkpoint))
                .onSuccess(v -> {
                    LOG.info("{}: {} {} ({}, {} containers)", name, everConnected ? "following again" : "following",
                            socketPath, brand, known.size());
                    everConnected = true;
                    connected = true;
                    up = true;
                    backoffMs = BACKOFF_MIN_MS;
                })
                .onFailure(e -> lost(attempt, e));
    }

    private void lost(int attempt, Throwable cause) {
        if (closed || attempt != epoch) {
            return;
        }
        epoch++;
        if (connected) {
            LOG.warn("{}: lost {} ({}); reconnecting", name, socketPath, cause.toString());
        } else if (backoffMs == BACKOFF_MIN_MS) {
            LOG.warn("{}: cannot reach {} ({}); retrying", name, socketPath, cause.toString());
        } else {
            LOG.debug("{}: {} still unreachable ({}); next try in {} ms", name, socketPath, cause, backoffMs);
        }
        connected = false;
        up = false;
        lastError = cause.toString();
        if (eventStream != null) {
            eventStream.request().connection().close(); // its handlers are stale now
            eventStream = null;
        }
        long delay = backoffMs;
        backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
        reconnectTimer = vertx.setTimer(delay, id -> connect());
    }

    private Future<Void> subscribe(int attempt, String since) {
        String filters = URLEncoder.encode("{\"type\":[\"container\"]}", StandardCharsets.UTF_8);
        return client.request(options("/events?since=" + since + "&filters=" + filters))
                .compose(req -> req.send())
                .compose(resp -> {
                    if (resp.statusCode() != 200) {
                        return resp.body().compose(b -> Future.failedFuture(
                                new IOException("GET /events: " + resp.statusCode() + " " + b.toString().trim())));
                    }
                    eventStream = resp;
                    RecordParser lines = RecordParser.newDelimited("\n", resp);
                    lines.handler(line -> {
                        if (!closed && attempt == epoch && line.length() > 0) {
                            eventsSeen++; // only on this source's context
                            onEvent(line);
                        }
                    });
                    lines.exceptionHandler(e -> lost(attempt, e));
                    lines.endHandler(v -> lost(attempt, new IOException("event stream ended")));
                    return Future.succeededFuture();
                });
    }

    // ---- events

    private void onEvent(Buffer line) {
        JsonNode event;
        try {
            event = JSON.readTree(line.getBytes());
        } catch (IOException e) {
            LOG.warn("{}: unreadable event skipped: {}", name, e.getMessage());
            return;
        }
        long nanos = event.path("timeNano").asLong(0);
        if (nanos > 0) {
            lastEventTime = timestamp(nanos);
        }
        String id = event.path("Actor").path("ID").asText(event.path("id").asText(""));
        String fullAction = event.path("Action").asText(event.path("status").asText(""));
        int colon = fullAction.indexOf(':'); // "health_status: healthy", "exec_start: sh"
        String action = colon >= 0 ? fullAction.substring(0, colon) : fullAction;
        if (id.isEmpty()) {
            return;
        }
        if (FORGET.contains(action)) {
            // kept as an event (not removed) so that a resync listed before it does not bring the container back
            lastEvent.put(id, ++eventSeq);
            forget(id);
        } else if (INSPECT.contains(action)) {
            long seq = ++eventSeq;
            lastEvent.put(id, seq);
            inspect(id).onComplete(ar -> {
                Long latest = lastEvent.get(id);
                if (closed || latest == null || latest != seq) {
                    return; // a newer event for this container has its own inspection
                }
                if (ar.succeeded()) {
                    remember(id, ar.result());
                } else if (isNotFound(ar.cause())) {
                    forget(id);
                } else {
                    LOG.debug("{}: inspect {} after {} failed: {}", name, id, action, ar.cause().toString());
                }
            });
        }
    }

    /** Keyed by container id: two containers labelled with one uuid are two claims, which the inventory refuses. */
    private void remember(String id, Instance instance) {
        known.put(id, instance);
        sink.upsert(id, instance);
    }

    private void forget(String id) {
        if (known.remove(id) != null) {
            sink.remove(name, id);
        }
    }

    // ---- full list

    /** Lists and inspects every container, then replaces this source's instances in the sink. */
    private Future<Void> resync() {
        resyncs++; // only on this source's context
        long seqAtStart = eventSeq;
        return get("/containers/json?all=1").compose(list -> {
            List<Future<Instance>> inspections = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (JsonNode c : list) {
                String id = c.path("Id").asText();
                ids.add(id);
                inspections.add(inspect(id).recover(e -> isNotFound(e)
                        ? Future.succeededFuture(null) : Future.failedFuture(e)));
            }
            return Future.all(inspections).map(all -> {
                Map<String, Instance> fresh = new HashMap<>();
                for (int i = 0; i < ids.size(); i++) {
                    Instance instance = all.resultAt(i);
                    if (instance != null) {
                        fresh.put(ids.get(i), instance);
                    }
                }
                // a container with an event during the list is as its event left it, not as the list saw it
                lastEvent.forEach((id, seq) -> {
                    if (seq > seqAtStart) {
                        Instance current = known.get(id);
                        if (current == null) {
                            fresh.remove(id);
                        } else {
                            fresh.put(id, current);
                        }
                    }
                });
                lastEvent.entrySet().removeIf(e -> e.getValue() <= seqAtStart && !fresh.containsKey(e.getKey()));
                known.clear();
                known.putAll(fresh);
                sink.replaceAll(name, Map.copyOf(fresh));
                return null;
            });
        });
    }

    private Future<Instance> inspect(String id) {
        return get("/containers/" + id + "/json").map(json -> mapping.toInstance(json, brand));
    }

    // ---- HTTP over the unix socket

    /** One API call with its deadline. {@code /_ping} answers plain text "OK", the others JSON. */
    private Future<JsonNode> get(String uri) {
        return client.request(options(uri).setIdleTimeout(timing.call().toMillis())
                        .setConnectTimeout(timing.call().toMillis()))
                .compose(req -> req.send())
                .compose(resp -> resp.body().compose(body -> {
                    if (resp.statusCode() != 200) {
                        return Future.failedFuture(new DockerApiException(resp.statusCode(),
                                "GET " + uri + ": " + resp.statusCode() + " " + body.toString().trim()));
                    }
                    if (uri.equals("/_ping")) return Future.succeededFuture(null);
                    try {
                        return Future.succeededFuture(JSON.readTree(body.getBytes()));
                    } catch (IOException e) {
                        return Future.failedFuture(e);
                    }
                }));
    }

    /**
     * {@code GET /_ping}; the brand from its headers. Not {@code /version}: Podman answers it by running conmon and
     * the OCI runtime to ask their versions, 5-8 s on a loaded host (measured here), past the call deadline.
     */
    private Future<String> ping() {
        return client.request(options("/_ping").setIdleTimeout(timing.call().toMillis())
                        .setConnectTimeout(timing.call().toMillis()))
                .compose(req -> req.send())
                .compose(resp -> resp.body().compose(body -> resp.statusCode() == 200
                        ? Future.succeededFuture(ContainerMapping.brandOf(resp.getHeader("Libpod-Api-Version"),
                                resp.getHeader("Server")))
                        : Future.failedFuture(new DockerApiException(resp.statusCode(),
                                "GET /_ping: " + resp.statusCode() + " " + body.toString().trim()))));
    }

    private RequestOptions options(String uri) {
        return new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setServer(SocketAddress.domainSocketAddress(socketPath))
                .setHost("localhost")
                .setURI(uri);
    }

    @Override
    public SourceHealth health() {
        return new SourceHealth(name(), up, lastError, eventsSeen, resyncs);
    }

    /** Whether the daemon answered recently: connected, and neither a call nor a ping has timed out since. */
    @Override
    public boolean up() {
        return up;
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException || t instanceof io.netty.handler.timeout.TimeoutException
                    || t.getClass().getSimpleName().contains("Timeout")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isNotFound(Throwable e) {
        return e instanceof DockerApiException d && d.status == 404;
    }

    static String timestamp(long epochNanos) {
        return String.format("%d.%09d", epochNanos / 1_000_000_000L, epochNanos % 1_000_000_000L);
    }

    private static final class DockerApiException extends IOException {
        final int status;

        DockerApiException(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
