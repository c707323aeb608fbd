package io.cmon.bench.fleet;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One simulated agent: a real HTTP server on its own loopback address answering {@code GET /v1/instances} as the
 * agent does (protocol v1, DESIGN §2.5) and as protocol v2 (full / delta / unchanged, chosen by the
 * {@code Accept} header), {@code /v1/<uuid>/metrics} with a small fixed body, and {@code /_ping}.
 *
 * <p>State is a few arrays per agent (slot ids, versions, the generation each slot last changed), the entries are
 * derived from the {@link FleetModel} when a page is written, so a million simulated instances cost tens of MB.
 * Everything runs on the agent's own Vert.x context: commands hop onto it.
 */
final class SimAgent {

    static final String V2_TYPE = "application/vnd.cmon.instances.v2+json";
    /** Removals remembered for deltas; a {@code since} older than the oldest forgotten one gets a full page. */
    static final int REMOVED_LOG = 1024;
    static final byte[] METRICS_BODY = ("# HELP cpu_user_usage User CPU utilization in nanoseconds\n"
            + "# TYPE cpu_user_usage counter\ncpu_user_usage 1234567\n"
            + "# HELP mem_agg_usage Aggregate memory usage in bytes\n# TYPE mem_agg_usage gauge\n"
            + "mem_agg_usage 4194304\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private static final JsonFactory JSON = new JsonFactory();

    /** Counters shared by all agents of one simulator (read by its /status). */
    static final class Stats {
        final java.util.concurrent.atomic.LongAdder v1Full = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder v2Full = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder v2Delta = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder v2Unchanged = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder metrics = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder bytes = new java.util.concurrent.atomic.LongAdder();
    }

    private final Vertx vertx;
    private final Context context;
    private final FleetModel model;
    private final int index;
    private final Stats stats;
    /** Shared by every agent of the simulator: tenant and image uuids, computed once. */
    private final String[] tenantUuids;
    private final String[] imageUuids;

    // state, touched on `context` only
    private int[] ids;
    private int[] versions;
    private long[] changed;
    private int size;
    private final BitSet big = new BitSet();
    private int nextSlot;
    private long generation;
    private String epoch;
    private long[] removedGen;
    private int[] removedIds;
    private int removedCount; // entries in the ring
    private int removedHead; // next write position
    /** The lowest {@code since} a delta can be exact for (removals before it are forgotten). */
    private long logFloor;
    private final List<Waiter> waiters = new ArrayList<>();
    /** The longest long-poll held (the agent's cap). */
    private final long maxWaitMs;
    private HttpServer server;

    /** A long-poll waiting for the generation to pass {@code since}. */
    private record Waiter(HttpServerRequest req, long since, boolean v2, long timer) {}

    SimAgent(Vertx vertx, Context context, FleetModel model, int index, Stats stats, String[] tenantUuids,
             String[] imageUuids, long maxWaitMs) {
        this.maxWaitMs = maxWaitMs;
        this.tenantUuids = tenantUuids;
        this.imageUuids = imageUuids;
        this.vertx = vertx;
        this.context = context;
        this.model = model;
        this.index = index;
        this.stats = stats;
        int n = model.perAgent();
        ids = new int[Math.max(4, n)];
        versions = new int[ids.length];
        changed = new long[ids.length];
        for (int s = 0; s < n; s++) {
            ids[s] = s;
            if (model.initiallyBig(index, s)) big.set(s);
        }
        size = n;
        nextSlot = n;
        resetHistory();
    }

    int index() {
        return index;
    }

    /** A fresh start, as an agent process that restarted: new epoch, generations from 1, no change log. */
    private void resetHistory() {
        generation = 1;
        epoch = Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-" + index;
        Arrays.fill(changed, 0, size, 1);
        removedGen = null;
        removedIds = null;
        removedCount = 0;
        removedHead = 0;
        logFloor = 0;
    }

    /** Runs {@code op} on this agent's context. */
    <T> Future<T> on(java.util.function.Supplier<T> op) {
        Promise<T> p = Promise.promise();
        context.runOnContext(v -> {
            try {
                p.complete(op.get());
            } catch (RuntimeException e) {
                p.fail(e);
            }
        });
        return p.future();
    }

    Future<Void> start() {
        return on(() -> {
            if (server != null) return Future.<Void>succeededFuture();
            resetHistory();
            // idle past the longest wait, as the agent's listener: a long-poll must never be cut
            HttpServer s = vertx.createHttpServer(new HttpServerOptions().setHost(model.address(index))
                    .setPort(model.port()).setIdleTimeout((int) (120 + maxWaitMs / 1000)).setTcpNoDelay(true));
            server = s;
            return s.requestHandler(this::handle).listen().<Void>mapEmpty()
                    .onFailure(e -> server = null);
        }).compose(f -> f);
    }

    /** Stops listening and drops its connections (long-polls end without an answer), as a killed agent. */
    Future<Void> stop() {
        return on(() -> {
            HttpServer s = server;
            server = null;
            for (Waiter w : waiters) vertx.cancelTimer(w.timer());
            waiters.clear();
            return s == null ? Future.<Void>succeededFuture() : s.close();
        }).compose(f -> f);
    }

    boolean up() {
        return server != null;
    }

    int size() {
        return size;
    }

    long generation() {
        return generation;
    }

    // --- commands -------------------------------------------------------------------------------------------

    /** Adds {@code n} instances (owned by tenant 0 when {@code toBig}); returns the new generation. */
    long add(int n, boolean toBig) {
        if (n <= 0) return generation;
        generation++;
        ensure(size + n);
        for (int k = 0; k < n; k++) {
            int slot = nextSlot++;
            ids[size] = slot;
            versions[size] = 0;
            changed[size] = generation;
            if (toBig) big.set(slot);
            size++;
        }
        wake();
        return generation;
    }

    /** Removes the {@code n} newest instances; returns the new generation. */
    long remove(int n) {
        n = Math.min(n, size);
        if (n <= 0) return generation;
        generation++;
        for (int k = 0; k < n; k++) {
            size--;
            remember(ids[size]);
            big.clear(ids[size]);
        }
        wake();
        return generation;
    }

    /** Changes {@code n} instances (their alias and state), oldest first; returns the new generation. */
    long change(int n) {
        n = Math.min(n, size);
        if (n <= 0) return generation;
        generation++;
        for (int k = 0; k < n; k++) {
            versions[k]++;
            changed[k] = generation;
        }
        wake();
        return generation;
    }

    private void ensure(int capacity) {
        if (capacity <= ids.length) return;
        int c = Math.max(capacity, ids.length * 2);
        ids = Arrays.copyOf(ids, c);
        versions = Arrays.copyOf(versions, c);
        changed = Arrays.copyOf(changed, c);
    }

    private void remember(int slot) {
        if (removedGen == null) {
            removedGen = new long[REMOVED_LOG];
            removedIds = new int[REMOVED_LOG];
        }
        if (removedCount == REMOVED_LOG) {
            // the oldest removal is forgotten: a caller behind it can no longer get an exact delta
            logFloor = Math.max(logFloor, removedGen[removedHead]);
        } else {
            removedCount++;
        }
        removedGen[removedHead] = generation;
        removedIds[removedHead] = slot;
        removedHead = (removedHead + 1) % REMOVED_LOG;
    }

    private void wake() {
        if (waiters.isEmpty()) return;
        List<Waiter> ready = new ArrayList<>(waiters);
        waiters.clear();
        for (Waiter w : ready) {
            vertx.cancelTimer(w.timer());
            answerWaiter(w, false);
        }
    }

    // --- HTTP -----------------------------------------------------------------------------------------------

    private void handle(HttpServerRequest req) {
        String path = req.path();
        if (path.equals("/v1/instances")) {
            instances(req);
        } else if (path.equals("/_ping")) {
            req.response().putHeader("Content-Type", "text/plain; charset=utf-8").end("OK\n");
        } else if (path.startsWith("/v1/") && path.endsWith("/metrics") && path.length() == 4 + 36 + 8) {
            long slot = model.slotOf(index, path.substring(4, 40));
            if (slot >= 0 && live((int) slot)) {
                stats.metrics.increment();
                req.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                        .end(Buffer.buffer(METRICS_BODY));
            } else {
                text(req, 404, "container not found");
            }
        } else {
            text(req, 404, "not found");
        }
    }

    private boolean live(int slot) {
        for (int k = 0; k < size; k++) if (ids[k] == slot) return true;
        return false;
    }

    private void instances(HttpServerRequest req) {
        String accept = req.getHeader("Accept");
        boolean v2 = accept != null && accept.contains(V2_TYPE);
        String sinceParam = req.getParam("since");
        String waitParam = req.getParam("wait");
        long since = -1;
        long waitMs = 0;
        try {
            if (sinceParam != null) since = Long.parseLong(sinceParam.trim());
            if (since < -1 || (sinceParam != null && since < 0)) throw new NumberFormatException();
            if (waitParam != null) {
                if (sinceParam == null) {
                    text(req, 400, "wait: needs since=<generation>");
                    return;
                }
                waitMs = Math.min(maxWaitMs, io.cmon.config.Durations.parse(waitParam).toMillis());
            }
        } catch (IllegalArgumentException e) {
            text(req, 400, "since/wait: not understood");
            return;
        }
        if (!v2) {
            // v1 exactly: without since (or without wait) the page at once; else at the first generation past since
            if (since < 0 || waitMs == 0 || generation > since) {
                send(req, false, Kind.FULL, since);
            } else {
                park(req, since, false, waitMs);
            }
            return;
        }
        String clientEpoch = req.getParam("epoch");
        boolean full = since < 0 || clientEpoch == null || !clientEpoch.equals(epoch) || since < logFloor
                || since > generation;
        if (full) {
            send(req, true, Kind.FULL, since);
        } else if (generation > since) {
            send(req, true, Kind.DELTA, since);
        } else if (waitMs == 0) {
            send(req, true, Kind.UNCHANGED, since);
        } else {
            park(req, since, true, waitMs);
        }
    }

    private void park(HttpServerRequest req, long since, boolean v2, long waitMs) {
        Waiter[] self = new Waiter[1];
        long timer = vertx.setTimer(waitMs, t -> {
            if (waiters.remove(self[0])) answerWaiter(self[0], true);
        });
        self[0] = new Waiter(req, since, v2, timer);
        waiters.add(self[0]);
        req.connection().closeHandler(v -> {
            if (waiters.remove(self[0])) vertx.cancelTimer(timer);
        });
    }

    private void answerWaiter(Waiter w, boolean timedOut) {
        if (!w.v2()) {
            send(w.req(), false, Kind.FULL, w.since());
        } else {
            send(w.req(), true, timedOut ? Kind.UNCHANGED : Kind.DELTA, w.since());
        }
    }

    private enum Kind { FULL, DELTA, UNCHANGED }

    private void send(HttpServerRequest req, boolean v2, Kind kind, long since) {
        if (req.response().ended() || req.response().closed()) return;
        byte[] body = v2 ? v2Page(kind, since) : v1Page();
        (v2 ? switch (kind) {
            case FULL -> stats.v2Full;
            case DELTA -> stats.v2Delta;
            case UNCHANGED -> stats.v2Unchanged;
        } : stats.v1Full).increment();
        stats.bytes.add(body.length);
        req.response().putHeader("Content-Type", v2 ? V2_TYPE : "application/json").end(Buffer.buffer(body));
    }

    /** Today's agent's page: {"server":{..., "sources":[]},"generation":N,"instances":[...],"conflicts":[]}. */
    byte[] v1Page() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + size * 260);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            server(g, true);
            g.writeNumberField("generation", generation);
            g.writeArrayFieldStart("instances");
            for (int k = 0; k < size; k++) entry(g, k);
            g.writeEndArray();
            g.writeArrayFieldStart("conflicts");
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Protocol v2: {"protocol":2,"epoch","generation","kind","server","instances","removed","conflicts"}. */
    byte[] v2Page(Kind kind, long since) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(kind == Kind.FULL ? 256 + size * 260 : 512);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("protocol", 2);
            g.writeStringField("epoch", epoch);
            g.writeNumberField("generation", generation);
            g.writeStringField("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
            server(g, false);
            g.writeArrayFieldStart("instances");
            if (kind == Kind.FULL) {
                for (int k = 0; k < size; k++) entry(g, k);
            } else if (kind == Kind.DELTA) {
                for (int k = 0; k < size; k++) if (changed[k] > since) entry(g, k);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("removed");
            if (kind == Kind.DELTA) {
                for (int r = 0; r < removedCount; r++) {
                    int at = Math.floorMod(removedHead - removedCount + r, REMOVED_LOG);
                    if (removedGen[at] > since) g.writeString(model.uuid(index, removedIds[at]));
                }
            }
            g.writeEndArray();
            g.writeArrayFieldStart("conflicts");
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private void server(JsonGenerator g, boolean sources) throws IOException {
        g.writeObjectFieldStart("server");
        g.writeStringField("uuid", model.serverUuid(index));
        g.writeStringField("hostname", model.hostname(index));
        if (sources) {
            g.writeArrayFieldStart("sources");
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private void entry(JsonGenerator g, int k) throws IOException {
        int slot = ids[k];
        g.writeStartObject();
        g.writeStringField("vm_uuid", model.uuid(index, slot));
        g.writeStringField("vm_alias", "a" + index + "-s" + slot + (versions[k] == 0 ? "" : "-v" + versions[k]));
        g.writeStringField("vm_owner_uuid", tenantUuids[big.get(slot) ? 0 : model.smallOwner(index, slot)]);
        g.writeStringField("vm_image_uuid", imageUuids[model.imageIndex(index, slot)]);
        g.writeStringField("vm_brand", "docker");
        g.writeArrayFieldStart("groups");
        for (String group : model.groups(slot)) g.writeString(group);
        g.writeEndArray();
        g.writeStringField("state", versions[k] % 2 == 0 ? "running" : "stopped");
        g.writeEndObject();
    }

    private static void text(HttpServerRequest req, int status, String body) {
        req.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(body + "\n");
    }
}
