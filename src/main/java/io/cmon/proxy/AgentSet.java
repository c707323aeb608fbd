package io.cmon.proxy;

import io.cmon.config.ConfigException;
import io.cmon.config.DnsQuery;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.proxy.inventory.AgentDns;
import io.cmon.proxy.inventory.AgentWatcher;
import io.cmon.proxy.inventory.FleetCapacity;
import io.cmon.proxy.inventory.FleetInventory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agents a proxy follows (DESIGN §3.3): the static list, {@code agents.file} and {@code agents.dns} reconciled
 * into one {@link AgentWatcher} per agent, feeding the {@link FleetInventory}.
 *
 * <p>All of it runs on a Vert.x of its own ({@code inventoryLoops} event loops, none shared with the listeners):
 * parsing agents' answers and applying them to the inventory never delays a tenant's scrape or the admin listener,
 * however many agents answer at once. Watchers are spread over those loops; reconciliation and DNS run on the first.
 *
 * <pre>{@code
 * AgentSet agents = new AgentSet(config, inventory, registry, clientOptions);  // blocking: reads resolv.conf
 * agents.start().onSuccess(v -> ...); agents.reconcile(); agents.close();
 * }</pre>
 */
final class AgentSet {

    /** Agents past the file descriptor budget are listed down, not followed (issue 12). */
    private final FleetCapacity capacity;

    private static final Logger LOG = LoggerFactory.getLogger(AgentSet.class);
    /** A big fleet's first polls are spread over at most this, at 0.5 ms per agent. */
    private static final Duration MAX_START_SPREAD = Duration.ofSeconds(5);

    private final ProxyConfig config;
    private final FleetInventory inventory;
    private final Vertx loops;
    private final HttpClient client;
    /** The watchers' connections; closes those Vert.x's pool lost. */
    private final ConnectionLedger ledger = new ConnectionLedger("inventory", ConnectionLedger.GRACE,
            System::currentTimeMillis);
    private final int loopCount;
    /** The event loops' contexts, once started; the first runs reconciliation and DNS. */
    private final List<Context> contexts = new CopyOnWriteArrayList<>();
    private final AtomicInteger nextContext = new AtomicInteger();
    private final Map<HostPort, AgentWatcher> watchers = new ConcurrentHashMap<>();
    /** Agents from {@code agents.dns}, or null when not configured. */
    private final AgentDns dns;
    /** The agents file has been read once: later read errors keep its agents instead of making the list unknown. */
    private volatile boolean agentsFileRead;
    private volatile boolean closed;

    /** Blocking (reads /etc/resolv.conf when agents.dns has no server): call it off the event loops. */
    AgentSet(ProxyConfig config, FleetInventory inventory, PrometheusRegistry registry, HttpClientOptions clientOptions,
             FleetCapacity capacity) {
        this.capacity = capacity;
        this.config = config;
        this.inventory = inventory;
        this.loopCount = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        // one worker thread: nothing here blocks, but Vert.x wants a pool. Made off the caller's thread, which is a
        // worker of the proxy's Vert.x: a second Vert.x made there warns that it may be a mistake; here it is not
        VertxOptions options = new VertxOptions().setEventLoopPoolSize(loopCount).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1).setPreferNativeTransport(true);
        this.loops = java.util.concurrent.CompletableFuture.supplyAsync(() -> Vertx.vertx(options)).join();
        try {
            // the pool cleaner closes connections left idle past the keep-alive timeout. It visits every agent's
            // pool per round: once a second (Vert.x's default) that was 10,000 pool tasks a second at 10,000
            // agents, about 2 % of a core on an idle proxy (a rough comparison). A watcher's connection is never
            // idle (a long-poll is always open on it), so every 15 s is enough for the few left over (a stopped
            // watcher's). Connections the pool lost track of are not its to clean: the ledger closes those.
            // long-polls last minutes: a vanished agent host is noticed by the kernel's keep-alive probes
            if (!loops.isNativeTransportEnabled()) {
                LOG.warn("no native transport ({}): agents that vanish without closing their connections are noticed"
                        + " after the kernel's keep-alive time (net.ipv4.tcp_keepalive_time) instead of {} s",
                        loops.unavailableNativeTransportCause(),
                        AgentWatcher.KeepAlive.DEFAULT.giveUpAfter().toSeconds());
            }
            this.client = ledger.attach(loops.createHttpClient(
                    AgentWatcher.KeepAlive.DEFAULT.applyTo(clientOptions.setKeepAlive(true)),
                    new PoolOptions().setHttp1MaxSize(1).setCleanerPeriod(15_000)));
            this.dns = agentDns(registry);
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private AgentDns agentDns(PrometheusRegistry registry) {
        ProxyConfig.Agents a = config.agents();
        if (a.dns() == null) return null;
        HostPort server;
        if (a.dnsServer() != null) {
            server = DnsQuery.parseServer(a.dnsServer());
        } else {
            try {
                server = DnsQuery.systemServer(Files.readString(Path.of("/etc/resolv.conf")));
            } catch (IOException e) {
                throw ConfigException.key("agents.dnsServer", "not given, and /etc/resolv.conf cannot be read: " + e);
            }
        }
        AgentDns d = new AgentDns(loops, DnsQuery.parse(a.dns()), server, a.dnsIntervalDuration(),
                System::currentTimeMillis, this::reconcile);
        d.register(registry);
        return d;
    }

    /** Takes the event loops, then reconciles the agent list and starts DNS lookups. */
    Future<Void> start() {
        return loops.deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start() {
                contexts.add(context);
            }
        }, new DeploymentOptions().setInstances(loopCount)).map(id -> {
            control().runOnContext(x -> loops.setPeriodic(ConnectionLedger.SWEEP_PERIOD.toMillis(),
                    t -> ledger.sweep()));
            reconcile();
            if (dns != null) control().runOnContext(x -> dns.start());
            return null;
        });
    }

    private Context control() {
        return contexts.get(0);
    }

    /** The inventory's event loops (tests show the listeners do not wait for them). */
    List<Context> contexts() {
        return List.copyOf(contexts);
    }

    /** Re-reads the agent list (agents file changed, DNS answered) and reconciles, on the control loop. */
    void reconcile() {
        if (contexts.isEmpty()) return; // start() reconciles
        control().runOnContext(x -> reconcileNow());
    }

    AgentDns dns() {
        return dns;
    }

    /** The watchers' connections. */
    ConnectionLedger ledger() {
        return ledger;
    }

    int size() {
        return watchers.size();
    }

    /**
     * Static agents plus those of {@code agents.file} (read here: small, and on the control loop only) plus the
     * last answer of {@code agents.dns}.
     */
    Set<HostPort> desired() {
        Set<HostPort> want = new LinkedHashSet<>();
        String unknown = null;
        for (String s : config.agents().staticAgents()) want.add(HostPort.parse(s));
        String file = config.agents().file();
        if (file != null) {
            try {
                AgentList list = AgentList.parse(Files.readString(Path.of(file)));
                list.problems().forEach(p -> LOG.warn("{}: {}", file, p));
                want.addAll(list.agents());
                agentsFileRead = true;
            } catch (IOException e) {
                LOG.warn("{}: cannot read agents file, keeping the agents it listed: {}", file, e.getMessage());
                want.addAll(watchers.keySet());
                if (!agentsFileRead) unknown = "the agents file " + file + " cannot be read: " + e.getMessage();
            }
        }
        if (dns != null) {
            want.addAll(dns.agents());
            if (!dns.answered() && unknown == null) unknown = "agents.dns has not answered yet";
        }
        inventory.agentListUnknown(unknown);
        return want;
    }

    /** Starts watchers for new agents, stops and forgets those no longer listed. Runs on the control loop. */
    private void reconcileNow() {
        if (closed) return;
        Set<HostPort> want = desired();
        for (HostPort gone : new HashSet<>(watchers.keySet())) {
            if (!want.contains(gone)) {
                watchers.remove(gone).stop();
                inventory.removeAgent(gone);
                LOG.info("agent {} removed", gone);
            }
        }
        Duration spread = Duration.ofMillis(Math.min(MAX_START_SPREAD.toMillis(), want.size() / 2));
        // fleet capacity: follow what the fd budget allows, list the rest as down with the reason
        FleetCapacity.Plan plan = capacity.plan(want, watchers.keySet());
        plan.forget().forEach(inventory::removeAgent);
        for (HostPort refused : plan.refuse()) {
            inventory.addAgent(refused);
            inventory.markDown(refused, plan.reason());
        }
        for (HostPort agent : plan.follow()) {
            watchers.computeIfAbsent(agent, a -> {
                Context on = contexts.get(Math.floorMod(nextContext.getAndIncrement(), contexts.size()));
                AgentWatcher w = new AgentWatcher(loops, on, client, a, inventory, AgentWatcher.Timing.DEFAULT,
                        System::currentTimeMillis, ThreadLocalRandom.current(), capacity, ledger::claim);
                w.start(spread);
                return w;
            });
        }
    }

    /**
     * Stops DNS and every watcher, closes the client and the event loops. The answer comes on a worker of
     * {@code caller}: a future completed by the closing Vert.x would call back on a loop that no longer runs.
     */
    Future<Void> close(Vertx caller) {
        if (closed) return Future.succeededFuture();
        closed = true;
        if (dns != null) dns.stop();
        watchers.values().forEach(AgentWatcher::stop);
        return caller.executeBlocking(() -> {
            try {
                client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("closing the agents' client: {}", e.toString());
            }
            loops.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            return null;
        }, false);
    }
}
