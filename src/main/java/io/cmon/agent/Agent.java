package io.cmon.agent;

import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.http.AgentHttpServer;
import io.cmon.agent.http.Exposition;
import io.cmon.agent.http.InstanceCollection;
import io.cmon.agent.runtime.DockerSource;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.config.AgentConfig;
import io.cmon.config.HostPort;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One running agent: Vert.x, the collection worker pool, the instance sources merged into an inventory, the
 * collectors and the HTTP API. {@link #start} returns once it listens; {@link #close} stops it in order (stop
 * accepting, close sources, drain workers, close Vert.x).
 */
public final class Agent implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final Vertx vertx;
    private final ExecutorService workers;
    private final List<InstanceSource> sources;
    private final AgentHttpServer http;
    private final HostPort address;
    private final ServerIdentity server;

    private Agent(Vertx vertx, ExecutorService workers, List<InstanceSource> sources, AgentHttpServer http,
                  HostPort address, ServerIdentity server) {
        this.vertx = vertx;
        this.workers = workers;
        this.sources = sources;
        this.http = http;
        this.address = address;
        this.server = server;
    }

    /**
     * Starts everything and listens on {@code config.listen()}.
     *
     * @throws IllegalStateException when the address cannot be bound (message says where and why)
     */
    public static Agent start(AgentConfig config, ServerIdentity server, String version) {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        // bounded: collection reads the kernel; more threads than cores only queue in the kernel
        ExecutorService workers = Executors.newFixedThreadPool(
                Math.max(2, Runtime.getRuntime().availableProcessors()), daemonThreads("cmon-collect-"));
        List<InstanceSource> sources = new ArrayList<>();
        try {
            InstanceInventory inventory = new InstanceInventory();
            sources.addAll(sources(config, vertx));
            InstanceCollection metrics = collection(inventory, workers);
            GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), () -> countByState(inventory), version);
            PrometheusRegistry self = new PrometheusRegistry();
            AgentHttpServer http = new AgentHttpServer(vertx, server, inventory, metrics, gz, sources, workers,
                    new Exposition(), self);
            for (InstanceSource s : sources) {
                s.start(inventory);
            }
            HostPort want = config.listenAddress();
            int port;
            try {
                port = http.listen(want, config.tls()).toCompletionStage().toCompletableFuture()
                        .get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new IllegalStateException("cannot listen on " + want + ": " + cause.getMessage(), cause);
            }
            Agent agent = new Agent(vertx, workers, sources, http, new HostPort(want.host(), port), server);
            LOG.info("cmon agent listening on {}://{} (server {} {}; native transport {}; sources: {})",
                    config.tls() == null ? "http" : "https", agent.address, server.uuid(), server.hostname(),
                    vertx.isNativeTransportEnabled(), sources.isEmpty() ? "none"
                            : sources.stream().map(InstanceSource::name).collect(Collectors.joining(", ")));
            return agent;
        } catch (RuntimeException e) {
            closeQuietly(sources, workers, vertx);
            throw e;
        }
    }

    /** Where it listens, with the bound port. */
    public HostPort address() {
        return address;
    }

    public ServerIdentity server() {
        return server;
    }

    @Override
    public void close() {
        try {
            http.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("closing the HTTP server: {}", e.toString());
        }
        closeQuietly(sources, workers, vertx);
        LOG.info("cmon agent stopped");
    }

    private static List<InstanceSource> sources(AgentConfig config, Vertx vertx) {
        List<InstanceSource> out = new ArrayList<>();
        if (config.docker() != null) {
            out.add(new DockerSource(vertx, config.docker().socket(), config.labels(), config.defaultOwner()));
        }
        return out;
    }

    private static InstanceCollection collection(InstanceInventory inventory, ExecutorService workers) {
        return instance -> CompletableFuture.completedFuture(new MetricSnapshots());
    }

    private static Map<String, Long> countByState(InstanceInventory inventory) {
        return inventory.snapshot().instances().stream()
                .collect(Collectors.groupingBy(i -> i.state() == null ? "unknown" : i.state(), Collectors.counting()));
    }

    private static void closeQuietly(List<InstanceSource> sources, ExecutorService workers, Vertx vertx) {
        for (InstanceSource s : sources) {
            try {
                s.close();
            } catch (RuntimeException e) {
                LOG.warn("closing source {}: {}", s.name(), e.toString());
            }
        }
        workers.shutdownNow();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("closing Vert.x: {}", e.toString());
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
