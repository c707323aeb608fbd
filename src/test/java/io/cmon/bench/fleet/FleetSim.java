package io.cmon.bench.fleet;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Simulated agents for fleet-scale runs of the proxy (bench/fleet/README.md): many {@link SimAgent}s, each a real
 * HTTP server on its own loopback address, in one JVM with a few event loops, plus a control listener on
 * 127.0.0.1 that changes the fleet on command.
 *
 * <pre>
 * java -cp target/fleet-sim:target/cmon.jar io.cmon.bench.fleet.FleetSim --agents 1000 --control 9300 \
 *      --write-agents /tmp/agents.txt --write-accounts /tmp/accounts.yaml
 * curl -X POST 127.0.0.1:9300/agents/all/change?n=5     # also add?n=K[&amp;owner=big], remove?n=K, stop, start
 * curl 127.0.0.1:9300/status
 * </pre>
 *
 * Agents of one process: {@code --first F --agents A} (global indices F..F+A-1) of a fleet of
 * {@code --total-agents T}, so several processes can share one fleet when one process's fd limit is too small.
 */
public final class FleetSim implements AutoCloseable {

    private final Vertx vertx;
    private final FleetModel model;
    private final List<SimAgent> agents = new ArrayList<>();
    private final int first;
    private final SimAgent.Stats stats = new SimAgent.Stats();
    private HttpServer control;

    /** Options of one simulator process. */
    /** @param maxWait the longest long-poll an agent holds: the agent's own cap, or 60 s to act as agents before it */
    public record Options(FleetModel model, int first, int agents, int eventLoops, int controlPort,
                          java.time.Duration maxWait) {
        public Options(FleetModel model, int first, int agents, int eventLoops, int controlPort) {
            this(model, first, agents, eventLoops, controlPort, io.cmon.agent.http.InstancesQuery.MAX_WAIT);
        }
    }

    private FleetSim(Vertx vertx, FleetModel model, int first) {
        this.vertx = vertx;
        this.model = model;
        this.first = first;
    }

    /** Starts every agent and the control listener; fails if an address cannot be bound. */
    public static Future<FleetSim> start(Options o) {
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(o.eventLoops())
                .setPreferNativeTransport(true).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        FleetSim sim = new FleetSim(vertx, o.model(), o.first());
        String[] tenants = o.model().tenantUuids();
        String[] images = o.model().imageUuids();
        List<Context> loops = new ArrayList<>();
        for (int l = 0; l < o.eventLoops(); l++) loops.add(((io.vertx.core.impl.VertxInternal) vertx).createEventLoopContext());
        for (int k = 0; k < o.agents(); k++) {
            sim.agents.add(new SimAgent(vertx, loops.get(k % loops.size()), o.model(), o.first() + k, sim.stats,
                    tenants, images, o.maxWait().toMillis()));
        }
        return sim.startAgents(0).compose(v -> sim.listenControl(o.controlPort())).map(sim)
                .onFailure(e -> vertx.close());
    }

    /** Binds in batches: thousands of listens at once would queue on the acceptor loop with nothing gained. */
    private Future<Void> startAgents(int from) {
        if (from >= agents.size()) return Future.succeededFuture();
        List<Future<Void>> batch = new ArrayList<>();
        for (int k = from; k < Math.min(agents.size(), from + 500); k++) {
            SimAgent a = agents.get(k);
            batch.add(a.start().recover(e -> Future.failedFuture(new IllegalStateException(
                    "agent " + a.index() + " cannot listen on " + model.endpoint(a.index()) + ": " + e.getMessage(), e))));
        }
        return Future.all(batch).compose(v -> startAgents(from + 500));
    }

    private Future<Void> listenControl(int port) {
        return vertx.createHttpServer().requestHandler(this::control).listen(port, "127.0.0.1")
                .onSuccess(s -> control = s).mapEmpty();
    }

    public int controlPort() {
        return control.actualPort();
    }

    public FleetModel model() {
        return model;
    }

    /** host:port of every agent of this process, one a line (the proxy's agents.file format). */
    public String agentsFile() {
        StringBuilder b = new StringBuilder();
        for (SimAgent a : agents) b.append(model.endpoint(a.index())).append('\n');
        return b.toString();
    }

    private void control(HttpServerRequest req) {
        String[] parts = req.path().split("/");
        try {
            if (req.path().equals("/status")) {
                status().onComplete(ar -> json(req, ar.succeeded() ? ar.result() : "{\"error\":\"" + ar.cause() + "\"}"));
            } else if (req.path().equals("/agents.txt")) {
                req.response().putHeader("Content-Type", "text/plain").end(agentsFile());
            } else if (req.path().equals("/accounts.yaml")) {
                req.response().putHeader("Content-Type", "text/yaml").end(model.accountsYaml());
            } else if (req.path().equals("/tenants/big")) {
                req.response().end(model.tenantLogin(0) + " " + model.tenantUuid(0) + "\n");
            } else if (parts.length == 4 && parts[1].equals("agents") && req.method().name().equals("POST")) {
                command(req, parts[2], parts[3]);
            } else {
                req.response().setStatusCode(404).end("try GET /status, /agents.txt, /accounts.yaml, /tenants/big; "
                        + "POST /agents/{all|i|a-b}/{add|remove|change}?n=K[&owner=big], /agents/{sel}/{stop|start}\n");
            }
        } catch (IllegalArgumentException e) {
            req.response().setStatusCode(400).end(e.getMessage() + "\n");
        }
    }

    private void command(HttpServerRequest req, String selector, String op) {
        int n = req.getParam("n") == null ? 1 : Integer.parseInt(req.getParam("n"));
        apply(selector, op, n, "big".equals(req.getParam("owner"))).onComplete(ar -> {
            if (ar.failed()) {
                req.response().setStatusCode(500).end(ar.cause() + "\n");
            } else {
                json(req, "{\"agents\":" + ar.result()[0] + ",\"failed\":" + ar.result()[1] + "}");
            }
        });
    }

    /**
     * Applies {@code op} (add, remove, change with {@code n} instances; stop, start) to the selected agents
     * ({@code all}, an index, a range {@code a-b}); answers {agents chosen, agents that failed}.
     */
    public Future<int[]> apply(String selector, String op, int n, boolean toBig) {
        Function<SimAgent, Future<?>> action = switch (op) {
            case "add" -> a -> a.on(() -> a.add(n, toBig));
            case "remove" -> a -> a.on(() -> a.remove(n));
            case "change" -> a -> a.on(() -> a.change(n));
            case "stop" -> SimAgent::stop;
            case "start" -> SimAgent::start;
            default -> throw new IllegalArgumentException("unknown command " + op);
        };
        List<SimAgent> chosen = select(selector);
        List<Future<?>> done = new ArrayList<>();
        for (SimAgent a : chosen) done.add(action.apply(a));
        return Future.join(done).transform(ar -> Future.succeededFuture(
                new int[] {chosen.size(), (int) done.stream().filter(Future::failed).count()}));
    }

    /** {@link #apply} from a thread that may block (tests): the number of agents it succeeded on. */
    public int command(String selector, String op) throws Exception {
        int[] r = apply(selector, op, 1, false).toCompletionStage().toCompletableFuture()
                .get(60, java.util.concurrent.TimeUnit.SECONDS);
        return r[0] - r[1];
    }

    private List<SimAgent> select(String selector) {
        if (selector.equals("all")) return agents;
        int from;
        int to;
        int dash = selector.indexOf('-');
        try {
            from = Integer.parseInt(dash < 0 ? selector : selector.substring(0, dash));
            to = dash < 0 ? from : Integer.parseInt(selector.substring(dash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("agents: 'all', an index or a range a-b, not '" + selector + "'");
        }
        List<SimAgent> chosen = new ArrayList<>();
        for (int i = Math.max(from, first); i <= to && i - first < agents.size(); i++) chosen.add(agents.get(i - first));
        return chosen;
    }

    private Future<String> status() {
        List<Future<long[]>> each = new ArrayList<>();
        for (SimAgent a : agents) each.add(a.on(() -> new long[] {a.up() ? 1 : 0, a.size(), a.generation()}));
        return Future.all(each).map(all -> {
            long up = 0;
            long instances = 0;
            for (Future<long[]> f : each) {
                up += f.result()[0];
                instances += f.result()[1];
            }
            return "{\"agents\":" + agents.size() + ",\"up\":" + up + ",\"instances\":" + instances
                    + ",\"answers\":{\"v1_full\":" + stats.v1Full.sum() + ",\"v2_full\":" + stats.v2Full.sum()
                    + ",\"v2_delta\":" + stats.v2Delta.sum() + ",\"v2_unchanged\":" + stats.v2Unchanged.sum()
                    + "},\"metrics_answers\":" + stats.metrics.sum() + ",\"instance_bytes\":" + stats.bytes.sum() + "}";
        });
    }

    private static void json(HttpServerRequest req, String body) {
        req.response().putHeader("Content-Type", "application/json").end(body + "\n");
    }

    @Override
    public void close() {
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int k = 0; k < args.length; k++) {
            if (!args[k].startsWith("--") || k + 1 >= args.length) {
                System.err.println("usage: FleetSim --agents A [--first F] [--total-agents T] [--instances 100] "
                        + "[--tenants 1000] [--big 1000] [--seed 1] [--port 9164] [--control 0] [--event-loops 2] "
                        + "[--max-wait 300s] [--write-agents FILE] [--write-accounts FILE]");
                System.exit(2);
            }
            a.put(args[k].substring(2), args[++k]);
        }
        int agents = Integer.parseInt(a.getOrDefault("agents", "1000"));
        int first = Integer.parseInt(a.getOrDefault("first", "0"));
        int total = Integer.parseInt(a.getOrDefault("total-agents", String.valueOf(first + agents)));
        int perAgent = Integer.parseInt(a.getOrDefault("instances", "100"));
        FleetModel model = new FleetModel(Long.parseLong(a.getOrDefault("seed", "1")), total, perAgent,
                Integer.parseInt(a.getOrDefault("tenants", "1000")),
                Integer.parseInt(a.getOrDefault("big", String.valueOf(Math.min(1000, (long) total * perAgent)))),
                Integer.parseInt(a.getOrDefault("port", "9164")));
        FleetSim sim = start(new Options(model, first, agents, Integer.parseInt(a.getOrDefault("event-loops", "2")),
                Integer.parseInt(a.getOrDefault("control", "0")),
                a.containsKey("max-wait") ? io.cmon.config.Durations.parse(a.get("max-wait"))
                        : io.cmon.agent.http.InstancesQuery.MAX_WAIT))
                .toCompletionStage().toCompletableFuture().get();
        if (a.containsKey("write-agents")) write(a.get("write-agents"), sim.agentsFile());
        if (a.containsKey("write-accounts")) write(a.get("write-accounts"), model.accountsYaml());
        Runtime.getRuntime().addShutdownHook(new Thread(sim::close));
        System.out.println("fleet-sim ready control=127.0.0.1:" + sim.controlPort() + " agents=" + agents
                + " first=" + first + " total=" + total + " instances/agent=" + perAgent + " tenants="
                + model.tenants() + " big=" + model.tenantLogin(0) + ":" + model.tenantUuid(0) + "/"
                + model.bigInstances());
        System.out.flush();
    }

    private static void write(String file, String text) throws IOException {
        Path p = Path.of(file);
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
