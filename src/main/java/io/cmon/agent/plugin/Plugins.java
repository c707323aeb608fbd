package io.cmon.agent.plugin;

import io.cmon.agent.collect.CgroupFiles;
import io.cmon.agent.runtime.Instance;
import io.cmon.config.AgentConfig;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's plugins (DESIGN §2.4): instance plugins from {@code plugins.vmDir}, server plugins from
 * {@code plugins.gzDir}, both optional, run on a pool of their own. A plugin spends most of its run waiting on a
 * process, up to its timeout; on the collection workers (as many as cores) two hanging plugins would hold every
 * kernel read behind them.
 */
public final class Plugins implements AutoCloseable {

    /** Plugins running at once; more wait in the queue, and past the queue a run is reported unavailable. */
    static final int MAX_RUNNING = 8;
    static final int MAX_QUEUED = 1024;

    private static final Logger log = LoggerFactory.getLogger(Plugins.class);
    private static final CompletableFuture<MetricSnapshots> NONE =
            CompletableFuture.completedFuture(new MetricSnapshots(List.of()));

    private final ThreadPoolExecutor pool;
    private final PluginRunner runner;
    private final PluginMetrics vm;
    private final PluginMetrics gz;

    private Plugins(ThreadPoolExecutor pool, PluginRunner runner, PluginMetrics vm, PluginMetrics gz) {
        this.pool = pool;
        this.runner = runner;
        this.vm = vm;
        this.gz = gz;
    }

    /** The configured directories; none configured costs nothing (no threads, no scans). */
    public static Plugins start(AgentConfig.Plugins config, CgroupFiles cgroups) {
        if (config == null || (config.vmDir() == null && config.gzDir() == null)) {
            return new Plugins(null, null, null, null);
        }
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(MAX_RUNNING, MAX_RUNNING, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(MAX_QUEUED), r -> {
                    Thread t = new Thread(r, "cmon-plugin-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        PluginRunner runner = new PluginRunner();
        PluginMetrics vm = config.vmDir() == null ? null
                : PluginMetrics.vm(Path.of(config.vmDir()), runner, pool, cgroups);
        PluginMetrics gz = config.gzDir() == null ? null : PluginMetrics.gz(Path.of(config.gzDir()), runner, pool);
        for (PluginMetrics p : new PluginMetrics[] {vm, gz}) {
            if (p != null) {
                log.info("plugins from {}: {}", p.dir(), Files.isDirectory(p.dir()) ? p.names()
                        : "none yet (no such directory)");
            }
        }
        return new Plugins(pool, runner, vm, gz);
    }

    /** The instance plugins' metrics for {@code instance}; completes normally. */
    public CompletableFuture<MetricSnapshots> instance(Instance instance) {
        return vm == null ? NONE : vm.collect(instance);
    }

    /** The server plugins' metrics; completes normally. */
    public CompletableFuture<MetricSnapshots> gz() {
        return gz == null ? NONE : gz.collectGz();
    }

    /** Drop a removed instance's cached plugin results. */
    public void forget(String uuid) {
        if (vm != null) vm.forget(uuid);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
        if (runner != null) runner.close();
    }
}
