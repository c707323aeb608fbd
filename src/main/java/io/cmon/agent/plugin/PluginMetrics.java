package io.cmon.agent.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.agent.collect.CgroupFiles;
import io.cmon.agent.collect.Collector;
import io.cmon.agent.collect.InstanceMetrics;
import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * The plugins of one directory ({@code plugins.vmDir} or {@code plugins.gzDir}), collected like the built-in
 * collectors: one {@link PluginCollector} per plugin file in an {@link InstanceMetrics} of their own, so each
 * plugin's result is cached per (instance, plugin) for its TTL, concurrent scrapes share one run, and each reports
 * {@code plugin_<name>_metrics_available_boolean} and the other meta metrics.
 *
 * <p>The directory is looked at on every scrape, cheaply: two {@code stat}s (the directory and its plugin.json);
 * it is read again when either changed, and at least every {@link #RESCAN} (a file made executable changes neither).
 * A plugin whose definition did not change keeps its collector; the cache of results starts afresh after a change.
 *
 * <p>The directory itself must be root-owned and writable by root alone, or every plugin in it is refused.
 */
public final class PluginMetrics {

    /** The server's pseudo-instance for gz plugins (their argument is {@code global}, as in cmon-agent). */
    public static final Instance GLOBAL = new Instance("global", "global", null, null, "global", List.of(),
            "running", 0, null, null, "server");

    static final Duration RESCAN = Duration.ofSeconds(60);
    static final String PLUGIN_JSON = "plugin.json";

    private static final Logger log = LoggerFactory.getLogger(PluginMetrics.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MetricSnapshots NONE = new MetricSnapshots(List.of());

    private final Path dir;
    private final PluginCollector.Kind kind;
    private final PluginRunner runner;
    private final Executor pool;
    private final CgroupFiles cgroups;
    private final LongSupplier nanos;
    private volatile State state;

    /** What the last scan found, and what it was made from. */
    private record State(Object key, long scannedNanos, List<PluginCollector> collectors, InstanceMetrics metrics) { }

    private PluginMetrics(Path dir, PluginCollector.Kind kind, PluginRunner runner, Executor pool,
                          CgroupFiles cgroups, LongSupplier nanos) {
        this.dir = dir;
        this.kind = kind;
        this.runner = runner;
        this.pool = pool;
        this.cgroups = cgroups;
        this.nanos = nanos;
    }

    /**
     * Instance plugins: run per instance with its uuid as argument and {@code CMON_VM_UUID}, {@code CMON_VM_PID},
     * {@code CMON_VM_CGROUP} in the environment, in its namespaces when asked.
     *
     * @param pool the plugin pool: runs wait on processes, so not the collection workers that read the kernel
     */
    public static PluginMetrics vm(Path dir, PluginRunner runner, Executor pool, CgroupFiles cgroups) {
        return new PluginMetrics(dir, PluginCollector.Kind.VM, runner, pool, Objects.requireNonNull(cgroups),
                System::nanoTime);
    }

    /** Server plugins, for {@code /v1/gz/metrics}; run with the argument {@code global}. */
    public static PluginMetrics gz(Path dir, PluginRunner runner, Executor pool) {
        return new PluginMetrics(dir, PluginCollector.Kind.GZ, runner, pool, null, System::nanoTime);
    }

    /** The plugins' metrics for one instance; completes normally whatever the plugins do. */
    public CompletableFuture<MetricSnapshots> collect(Instance instance) {
        State s;
        try {
            s = current();
        } catch (RuntimeException e) {
            // e.g. a directory entry that vanished mid-listing: no plugins this scrape, the scrape goes on
            log.warn("reading plugin directory {} failed: {}", dir, e.toString());
            return CompletableFuture.completedFuture(NONE);
        }
        if (s.collectors().isEmpty()) return CompletableFuture.completedFuture(NONE);
        return s.metrics().collect(instance);
    }

    /** The server plugins' metrics. */
    public CompletableFuture<MetricSnapshots> collectGz() {
        return collect(GLOBAL);
    }

    public void forget(String uuid) {
        State s = state;
        if (s != null) s.metrics().forget(uuid);
    }

    Path dir() {
        return dir;
    }

    /** Names of the plugins found by the last scan. */
    public List<String> names() {
        return current().collectors().stream().map(PluginCollector::pluginName).toList();
    }

    /** {@code a} and {@code b} in one set of metrics (their names never clash: plugins' all start with plugin_). */
    public static MetricSnapshots merge(MetricSnapshots a, MetricSnapshots b) {
        if (b.size() == 0) return a;
        List<MetricSnapshot> all = new ArrayList<>(a.size() + b.size());
        a.forEach(all::add);
        b.forEach(all::add);
        return new MetricSnapshots(all);
    }

    private State current() {
        State s = state;
        long now = nanos.getAsLong();
        Object key = key();
        if (s != null && s.key().equals(key) && now - s.scannedNanos() < RESCAN.toNanos()) {
            return s;
        }
        synchronized (this) {
            s = state;
            if (s != null && s.key().equals(key) && now - s.scannedNanos() < RESCAN.toNanos()) {
                return s;
            }
            List<PluginCollector> found = scan(s == null ? List.of() : s.collectors());
            InstanceMetrics metrics = new InstanceMetrics(new ArrayList<Collector>(found), pool);
            if (s == null || !names(s.collectors()).equals(names(found))) {
                log.info("plugins in {}: {}", dir, found.isEmpty() ? "none" : names(found));
            }
            state = new State(key, now, found, metrics);
            return state;
        }
    }

    private static List<String> names(List<PluginCollector> collectors) {
        return collectors.stream().map(PluginCollector::pluginName).toList();
    }

    /** Modification times of the directory and of its plugin.json: what says it changed. */
    private Object key() {
        return List.of(mtime(dir), mtime(dir.resolve(PLUGIN_JSON)));
    }

    private static Object mtime(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(-1);
        }
    }

    private List<PluginCollector> scan(List<PluginCollector> before) {
        if (!Files.isDirectory(dir)) {
            log.debug("plugin directory {} does not exist: no plugins", dir);
            return List.of();
        }
        String dirRefused = null;
        try {
            PluginCollector.requireRootOwned(dir);
        } catch (IOException e) {
            dirRefused = "directory " + dir + " " + e.getMessage().replaceFirst("^refused: ", "");
        }
        JsonNode json = null;
        String jsonRefused = null;
        Path jsonFile = dir.resolve(PLUGIN_JSON);
        try {
            json = JSON.readTree(jsonFile.toFile());
            if (json != null && !json.isObject()) {
                jsonRefused = jsonFile + ": expected an object keyed by plugin file name";
            }
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            json = null;
        } catch (IOException e) {
            jsonRefused = jsonFile + ": " + e.getMessage().split("\n")[0];
        }
        // by plugin name: file names that map to one name are refused together
        Map<String, List<Path>> byName = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                String fileName = file.getFileName().toString();
                if (fileName.equals(PLUGIN_JSON) || fileName.startsWith(".")
                        || !Files.isRegularFile(file) || !Files.isExecutable(file)) {
                    continue; // as cmon-agent: only executables are plugins (a README is not)
                }
                String name = pluginName(fileName);
                if (name.isEmpty()) continue;
                byName.computeIfAbsent(name, k -> new ArrayList<>()).add(file);
            }
        } catch (IOException e) {
            log.warn("cannot read plugin directory {}: {}", dir, e.toString());
            return List.of();
        }
        Map<String, PluginCollector> kept = new HashMap<>();
        before.forEach(c -> kept.put(c.path().toString(), c));
        List<PluginCollector> out = new ArrayList<>();
        for (Map.Entry<String, List<Path>> e : byName.entrySet()) {
            for (Path file : e.getValue()) {
                String refused = dirRefused != null ? dirRefused : jsonRefused;
                if (refused == null && e.getValue().size() > 1) {
                    refused = "files " + e.getValue().stream().map(p -> p.getFileName().toString()).sorted().toList()
                            + " are all plugin '" + e.getKey() + "'; rename all but one";
                }
                JsonNode entry = json == null || jsonRefused != null ? null : json.get(file.getFileName().toString());
                PluginCollector c = new PluginCollector(e.getKey(), file, entry, refused, kind, runner, cgroups);
                PluginCollector old = kept.get(file.toString());
                out.add(old != null && old.sameAs(c) ? old : c);
                if (e.getValue().size() > 1) break; // one collector (and one set of meta metrics) per name
            }
        }
        return out;
    }

    /**
     * The plugin's name in its metrics: the file name up to its first dot ({@code mysql.prom.sh} → {@code mysql}),
     * with anything but letters, digits and underscores made an underscore.
     */
    static String pluginName(String fileName) {
        int dot = fileName.indexOf('.');
        String base = dot < 0 ? fileName : fileName.substring(0, dot);
        return base.replaceAll("[^a-zA-Z0-9_]", "_");
    }
}
