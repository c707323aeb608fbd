package io.cmon.agent.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import io.cmon.config.Durations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How one plugin runs. Sources, each overriding the one before: the defaults; {@code # OPTION key=value} lines in
 * the head of the plugin file; its entry in the directory's {@code plugin.json}; and, for {@code ttl} only, an
 * {@code option} line of its last output (cmon-agent's way for a plugin to set its own cache time).
 *
 * <p>A number is read in cmon-agent's units (plugin.json's {@code timeout} in milliseconds, {@code ttl} in
 * seconds), a string as a duration ({@code 5s}, {@code 500ms}, {@code 2m}).
 *
 * @param timeout    the run is killed (with its children) past this
 * @param ttl        how long a result is served from cache before the plugin runs again
 * @param namespaces VM plugins only: the instance's namespaces the plugin enters ({@code nsenter}), e.g. {@code net}
 */
public record PluginOptions(Duration timeout, Duration ttl, Set<String> namespaces) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(60);
    public static final Duration MAX_TIMEOUT = Duration.ofSeconds(30);
    public static final PluginOptions DEFAULTS = new PluginOptions(DEFAULT_TIMEOUT, DEFAULT_TTL, Set.of());

    /**
     * Namespaces a plugin may enter, with nsenter's flag. Not {@code mnt}: the plugin file is on the server, and in
     * the instance's mount namespace it would not be found.
     */
    static final List<String> NAMESPACES = List.of("net", "uts", "ipc", "pid", "cgroup");

    private static final Pattern OPTION_LINE = Pattern.compile("^#\\s*OPTION\\s+([a-zA-Z_]+)\\s*=\\s*(\\S+)\\s*$");

    public PluginOptions {
        namespaces = Set.copyOf(namespaces);
    }

    /** {@code # OPTION key=value} lines in the head of the plugin file; other lines are ignored. */
    PluginOptions withHeader(String head) {
        PluginOptions out = this;
        for (String line : head.split("\n")) {
            Matcher m = OPTION_LINE.matcher(line.strip());
            if (m.matches()) {
                out = out.with(m.group(1), m.group(2), true);
            }
        }
        return out;
    }

    /** The plugin's entry in plugin.json: {@code {"timeout": 3000, "ttl": 60, "namespaces": ["net"]}}. */
    PluginOptions withJson(JsonNode entry) {
        if (entry == null || entry.isNull()) return this;
        if (!entry.isObject()) throw new IllegalArgumentException("the entry is not an object");
        PluginOptions out = this;
        var fields = entry.fields();
        while (fields.hasNext()) {
            var f = fields.next();
            JsonNode v = f.getValue();
            if (f.getKey().equals("namespaces")) {
                if (!v.isArray()) throw new IllegalArgumentException("namespaces: expected a list, e.g. [\"net\"]");
                List<String> names = new ArrayList<>();
                v.forEach(n -> names.add(n.asText()));
                out = out.with("namespaces", String.join(",", names), false);
            } else if (v.isNumber()) {
                out = out.with(f.getKey(), v.asText(), false);
            } else if (v.isTextual()) {
                out = out.with(f.getKey(), v.asText(), true);
            } else {
                throw new IllegalArgumentException(f.getKey() + ": expected a number or a duration string");
            }
        }
        return out;
    }

    /** An {@code option} line of the plugin's output; only {@code ttl} is taken (in seconds, as cmon-agent). */
    PluginOptions withOutputTtl(String value) {
        return with("ttl", value, false);
    }

    /**
     * @param durationText the value is a duration string unless a bare number (then cmon-agent's unit)
     * @throws IllegalArgumentException naming the option and the problem
     */
    private PluginOptions with(String key, String value, boolean durationText) {
        switch (key) {
            case "timeout" -> {
                Duration t = duration(key, value, durationText, true);
                if (t.isZero() || t.compareTo(MAX_TIMEOUT) > 0) {
                    throw new IllegalArgumentException("timeout: " + value + " is not within (0, 30s]");
                }
                return new PluginOptions(t, ttl, namespaces);
            }
            case "ttl" -> {
                return new PluginOptions(timeout, duration(key, value, durationText, false), namespaces);
            }
            case "namespaces" -> {
                Set<String> ns = new LinkedHashSet<>();
                for (String n : value.split(",")) {
                    String name = n.strip();
                    if (name.isEmpty()) continue;
                    if (!NAMESPACES.contains(name)) {
                        throw new IllegalArgumentException("namespaces: '" + name + "' is not one of " + NAMESPACES
                                + " (mnt is not possible: the plugin file would not be found there)");
                    }
                    ns.add(name);
                }
                return new PluginOptions(timeout, ttl, ns);
            }
            default -> throw new IllegalArgumentException("unknown option '" + key
                    + "' (known: timeout, ttl, namespaces)");
        }
    }

    private static Duration duration(String key, String value, boolean durationText, boolean millis) {
        if (value.matches("[0-9]+(\\.[0-9]+)?")) {
            double n = Double.parseDouble(value);
            return millis ? Duration.ofMillis(Math.round(n)) : Duration.ofMillis(Math.round(n * 1000));
        }
        if (!durationText) throw new IllegalArgumentException(key + ": '" + value + "' is not a number");
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage());
        }
    }
}
