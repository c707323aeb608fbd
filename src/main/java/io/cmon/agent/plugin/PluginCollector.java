package io.cmon.agent.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import io.cmon.agent.collect.CgroupFiles;
import io.cmon.agent.collect.Collector;
import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One plugin file as a {@link Collector} named {@code plugin_<name>}: {@code InstanceMetrics} caches its result per
 * instance for its TTL, joins concurrent scrapes to one run, and reports {@code plugin_<name>_metrics_*}. A run
 * that cannot happen or fails throws, and the plugin is reported unavailable for that instance.
 *
 * <p>Checked before every run, not only when the directory is scanned: the file is root-owned and writable by
 * root alone, so no one but root decides what the agent (root) executes.
 */
final class PluginCollector implements Collector {

    /** How much of the file is read for {@code # OPTION} lines. */
    static final int HEAD_BYTES = 4096;

    private static final Logger log = LoggerFactory.getLogger(PluginCollector.class);

    /** Server (global zone) or instance plugins: what a run is given. */
    enum Kind { VM, GZ }

    private final String name;
    private final Path path;
    private final boolean prom;
    private final JsonNode jsonEntry;
    private final String refused;
    private final Kind kind;
    private final PluginRunner runner;
    private final CgroupFiles cgroups;
    private volatile Duration ttl;
    private volatile String lastLogged;

    /**
     * @param jsonEntry the file's entry in plugin.json, null when none
     * @param refused   why the plugin may not run at all (e.g. two files of the same name), null when it may
     * @param cgroups   where a VM plugin's pid and cgroup come from (null for GZ plugins)
     */
    PluginCollector(String name, Path path, JsonNode jsonEntry, String refused, Kind kind, PluginRunner runner,
                    CgroupFiles cgroups) {
        this.name = name;
        this.path = path;
        this.prom = path.getFileName().toString().contains(".prom");
        this.jsonEntry = jsonEntry;
        this.refused = refused;
        this.kind = kind;
        this.runner = runner;
        this.cgroups = cgroups;
        Duration initial = PluginOptions.DEFAULT_TTL;
        try {
            initial = options().ttl();
        } catch (IOException | IllegalArgumentException e) {
            // reported on the first run
        }
        this.ttl = initial;
    }

    @Override
    public String name() {
        return "plugin_" + name;
    }

    String pluginName() {
        return name;
    }

    Path path() {
        return path;
    }

    /** The definition, to keep this collector (and its TTL) across rescans that did not change it. */
    boolean sameAs(PluginCollector other) {
        return name.equals(other.name) && path.equals(other.path) && Objects.equals(jsonEntry, other.jsonEntry)
                && Objects.equals(refused, other.refused);
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        if (kind == Kind.VM && !"running".equals(instance.state())) {
            // nothing to run it against; not a problem of the plugin, so no WARN
            throw new IOException("instance " + instance.uuid() + " is " + instance.state());
        }
        try {
            List<MetricSnapshot> metrics = run(instance);
            lastLogged = null;
            return metrics;
        } catch (IOException | PluginRunner.Failure | PluginOutput.BadOutput | IllegalArgumentException e) {
            String problem = e.getMessage();
            // one WARN per new problem of this plugin, not one per scrape of every instance
            if (!problem.equals(lastLogged)) {
                lastLogged = problem;
                log.warn("plugin {} ({}) unavailable for {}: {}", name, path, who(instance), problem);
            } else {
                log.debug("plugin {} ({}) unavailable for {}: {}", name, path, who(instance), problem);
            }
            throw e;
        }
    }

    private List<MetricSnapshot> run(Instance instance) throws IOException, PluginRunner.Failure,
            PluginOutput.BadOutput, InterruptedException {
        if (refused != null) throw new IOException("refused: " + refused);
        requireRootOwned(path);
        PluginOptions options = options();
        List<String> command = new ArrayList<>();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("LC_ALL", "C");
        env.put("CMON_PLUGIN", name);
        if (kind == Kind.VM) {
            long pid = cgroups.processOf(instance);
            if (!Files.isDirectory(Path.of("/proc", Long.toString(pid)))) {
                throw new IOException("process " + pid + " of the instance is gone");
            }
            String cgroup;
            try {
                cgroup = cgroups.resolve(instance).taskDir().map(Path::toString).orElse("");
            } catch (IOException e) {
                cgroup = "";
            }
            env.put("CMON_VM_UUID", instance.uuid());
            env.put("CMON_VM_PID", Long.toString(pid));
            env.put("CMON_VM_CGROUP", cgroup);
            if (!options.namespaces().isEmpty()) {
                command.addAll(List.of("nsenter", "--target", Long.toString(pid)));
                for (String ns : PluginOptions.NAMESPACES) {
                    if (options.namespaces().contains(ns)) command.add("--" + ns);
                }
                command.add("--");
            }
            command.add(path.toString());
            command.add(instance.uuid()); // cmon-agent's one argument: the zone name, here the uuid
        } else {
            command.add(path.toString());
            command.add("global");
        }
        String output = runner.run(command, env, options.timeout());
        PluginOutput.Parsed parsed = PluginOutput.parse(output, "plugin_" + name + "_", prom);
        Duration next = options.ttl();
        String ttlOption = parsed.options().get("ttl");
        if (ttlOption != null) {
            next = options.withOutputTtl(ttlOption).ttl();
        }
        ttl = next;
        if (parsed.metrics().isEmpty()) {
            // as cmon-agent: a plugin with nothing to say is reported unavailable
            throw new PluginOutput.BadOutput("printed no metrics");
        }
        return parsed.metrics();
    }

    /** Defaults, then {@code # OPTION} lines of the file's head, then plugin.json. */
    PluginOptions options() throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(HEAD_BYTES);
        }
        PluginOptions options = PluginOptions.DEFAULTS.withHeader(new String(head, StandardCharsets.ISO_8859_1));
        try {
            return options.withJson(jsonEntry);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("plugin.json entry " + path.getFileName() + ": " + e.getMessage());
        }
    }

    /** Root-owned and writable by root alone, following a symlink to what would run. */
    static void requireRootOwned(Path file) throws IOException {
        Map<String, Object> attrs = Files.readAttributes(file, "unix:uid,mode");
        int uid = (Integer) attrs.get("uid");
        int mode = (Integer) attrs.get("mode");
        if (uid != 0) {
            throw new IOException("refused: owned by uid " + uid + ", not root");
        }
        if ((mode & 0022) != 0) {
            throw new IOException("refused: writable by group or others (mode " + Integer.toOctalString(mode & 07777)
                    + ")");
        }
        if ((mode & 0100) == 0) {
            throw new IOException("refused: not executable by its owner (mode " + Integer.toOctalString(mode & 07777)
                    + ")");
        }
    }

    private static String who(Instance instance) {
        return instance.uuid().equals(PluginMetrics.GLOBAL.uuid()) ? "the server" : "instance " + instance.uuid();
    }
}
