package io.cmon.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The JVM options a role runs with by default, from {@code io/cmon/jvm/<role>.options}: the same file the
 * {@code cmon} launcher passes to {@code java @file}, so the launcher, the quickstart's child processes and the
 * operator guide's unit agree. The agent's cap its heap and Netty's arenas: it runs on every host, beside the
 * tenants' workloads (the JVM's own defaults size the heap at a quarter of the machine's memory).
 */
public final class JvmOptions {

    private JvmOptions() {}

    /** The options of a role ({@code agent}), one per line; empty when the role has none. */
    public static List<String> of(String role) {
        try (InputStream in = JvmOptions.class.getResourceAsStream("/io/cmon/jvm/" + role + ".options")) {
            if (in == null) return List.of();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the JVM options of " + role, e);
        }
    }

    /**
     * The environment a role's JVM starts with, each variable unless the caller's environment sets it: for the agent,
     * two glibc malloc arenas instead of up to 8 per core (less resident memory, docs/PERFORMANCE.md). The launchers
     * ({@code cmon}, the Debian package's) set the same.
     */
    public static Map<String, String> environment(String role) {
        return "agent".equals(role) ? Map.of("MALLOC_ARENA_MAX", "2") : Map.of();
    }
}
