package io.cmon.agent;

import io.cmon.agent.collect.CgroupFiles;
import io.cmon.agent.collect.Collector;
import io.cmon.agent.collect.InstanceMetrics;
import io.cmon.agent.collect.ProcFiles;
import io.cmon.agent.collect.gz.GzExclusions;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.http.AgentHttpServer;
import io.cmon.agent.http.Exposition;
import io.cmon.jvm.JvmSelfMetrics;
import io.cmon.agent.plugin.PluginMetrics;
import io.cmon.agent.plugin.Plugins;
import io.cmon.agent.runtime.ContainerdJar;
import io.cmon.agent.runtime.DeclaredSource;
import io.cmon.agent.runtime.DockerSource;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.agent.runtime.InstanceSource;
import io.cmon.config.AgentConfig;
import io.cmon.config.HostPort;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * One running agent: Vert.x, the collection worker pool, the instance sources merged into an inventory, the
 * collectors and the HTTP API. {@link #start} returns once it listens; {@link #close} stops it in order (stop
 * accepting, close sources, stop collection threads, close Vert.x).
 */
public final class Agent implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    private static final Path PROC = Path.of("/proc");

    /** Everything that must be closed, in closing order after the HTTP server. */
    private record Resources(Vertx vertx, ExecutorService workers, ScheduledExecutorService background,
                             List<InstanceSource> sources, List<Collector> collectors, List<AutoCloseable> others) {

        void close() {
            for (InstanceSource s : sources) {
                try {
                    s.close();
                } catch (RuntimeException e) {
                    LOG.warn("closing source {}: {}", s.name(), e.toString());
                }
            }
            for (Collector c : collectors) {
                if (c instanceof AutoCloseable closeable) {
                    try {
                        closeable.close();
                    } catch (Exception e) {
                        LOG.warn("closing collector {}: {}", c.name(), e.toString());
                    }
                }
            }
            for (AutoCloseable other : others) {
                try {
                    other.close();
                } catch (Exception e) {
                    LOG.warn("closing {}: {}", other, e.toString());
                }
            }
            workers.shutdownNow();
            background.shutdownNow();
            try {
                vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("closing Vert.x: {}", e.toString());
            }
        }
    }

    private final Resources resources;
    private final AgentHttpServer http;
    private final HostPort address;
    private final ServerIdentity server;
    private final InstanceInventory inventory;

    private Agent(Resources resources, AgentHttpServer http, HostPort address, ServerIdentity server,
                  InstanceInventory inventory) {
        this.resources = resources;
        this.http = http;
        this.address = address;
        this.server = server;
        this.inventory = inventory;
    }

    /**
     * Starts everything and listens on {@code config.listen()}.
     *
     * @throws IllegalStateException when the agent cannot start (address in use, no cgroup mounts, …); the message
     *                               says what and where
     */
    public static Agent start(AgentConfig config, ServerIdentity server, String version) {
        try {
            config.requireSafeExposure(); // before anything starts: plain HTTP on a reachable address is refused
        } catch (io.cmon.config.ConfigException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        // native transport: the Docker API is a unix socket
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        // bounded: collection reads the kernel; more threads than cores would only queue there
        ExecutorService workers = Executors.newFixedThreadPool(
                Math.max(2, Runtime.getRuntime().availableProcessors()), daemonThreads("cmon-collect-"));
        // two threads: a long filesystem walk never delays a load sample
        ScheduledExecutorService background = Executors.newScheduledThreadPool(2, daemonThreads("cmon-sample-"));
        List<InstanceSource> sources = new ArrayList<>();
        List<Collector> collectors = new ArrayList<>();
        Resources resources = new Resources(vertx, workers, background, sources, collectors, new ArrayList<>());
        try {
            CgroupFiles cgroups;
            try {
                cgroups = CgroupFiles.detect(PROC);
            } catch (IOException e) {
                throw new IllegalStateException("cannot find the cgroup mounts: " + e.getMessage(), e);
            }
            collectors.addAll(InstanceMetrics.standardCollectors(cgroups, new ProcFiles(PROC), background));
            InstanceMetrics metrics = new InstanceMetrics(collectors, workers);
            Plugins plugins = Plugins.start(config.plugins(), cgroups);
            resources.others().add(plugins);

            InstanceInventory inventory = new InstanceInventory();
            inventory.addRemovalListener(metrics::forget);
            inventory.addRemovalListener(cgroups::forget); // its cgroup directories, kept while its pid lives
            inventory.addRemovalListener(plugins::forget);
            if (config.docker() != null) {
                sources.add(new DockerSource(vertx, config.docker().socket(), config.labels(),
                        config.defaultOwner()));
            }
            if (config.containerd() != null) {
                // its code (gRPC) is in a jar of its own, opened only here
                sources.add(ContainerdJar.source(config.containerd(), config.labels(), config.defaultOwner(),
                        config.kubernetes()));
            }
            if (config.podman() != null) {
                sources.add(new DockerSource(vertx, "podman", config.podman().socket(), config.labels(),
                        config.defaultOwner()));
            }
            if (config.instancesFile() != null) {
                sources.add(new DeclaredSource(Path.of(config.instancesFile()), config.defaultOwner()));
            }

            GzMetrics gz = new GzMetrics(PROC, Clock.systemUTC(), () -> countByState(inventory), version,
                    GzExclusions.of(config.gz().filesystems().excludeMountPoints(),
                            config.gz().filesystems().excludeFsTypes(), config.gz().network().excludeDevices()),
                    plugins::gz);
            PrometheusRegistry self = new PrometheusRegistry();
            // the agent's own heap, threads, GC at /metrics, set up by the first scrape of it: an idle agent that is
            // never asked does not load them
            JvmSelfMetrics.registerAtFirstScrape(self);
            // plugins run on their own pool alongside the built-in collectors; both complete within their timeouts
            // (plugins keep their own timeouts: the scrape's deadline bounds the built-in collectors)
            AgentHttpServer http = new AgentHttpServer(vertx, server, inventory,
                    (instance, deadline) -> metrics.collect(instance, deadline)
                            .thenCombine(plugins.instance(instance), PluginMetrics::merge), gz, sources,
                    workers, new Exposition(), self);
            for (InstanceSource s : sources) {
                s.start(inventory);
            }
            HostPort want = config.listenAddress();
            if (config.tls() != null) {
                try { // before listening: Vert.x would say only "Missing -----BEGIN PRIVATE KEY-----"
                    io.cmon.config.KeyPairFiles.check("tls.cert", Path.of(config.tls().cert()), "tls.key",
                            Path.of(config.tls().key()));
                } catch (io.cmon.config.ConfigException e) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }
            int port;
            try {
                port = http.listen(want, config.tls()).toCompletionStage().toCompletableFuture()
                        .get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                io.cmon.config.ConfigException named = io.cmon.config.ConfigException.cannotListen("listen", want, cause);
                throw new IllegalStateException(named.getMessage(), named);
            }
            Agent agent = new Agent(resources, http, new HostPort(want.host(), port), server, inventory);
            LOG.info("cmon agent listening on {}://{} (server {} {}; sources: {})",
                    config.tls() == null ? "http" : "https", agent.address, server.uuid(), server.hostname(),
                    sources.isEmpty() ? "none" : sources.stream().map(InstanceSource::name)
                            .collect(Collectors.joining(", ")));
            return agent;
        } catch (RuntimeException e) {
            resources.close();
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

    public InstanceInventory inventory() {
        return inventory;
    }

    @Override
    public void close() {
        try {
            http.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("closing the HTTP server: {}", e.toString());
        }
        resources.close();
        LOG.info("cmon agent stopped");
    }

    /** By state, plus {@code conflict}: uuids served to nobody, so that operators see them in the gz metrics. */
    private static Map<String, Long> countByState(InstanceInventory inventory) {
        InstanceInventory.Snapshot s = inventory.snapshot();
        Map<String, Long> counts = new java.util.TreeMap<>(s.instances().stream()
                .collect(Collectors.groupingBy(i -> i.state() == null ? "unknown" : i.state(), Collectors.counting())));
        if (!s.conflicts().isEmpty()) counts.put("conflict", (long) s.conflicts().size());
        return counts;
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
