package io.cmon.proxy.inventory;

import io.cmon.config.HostPort;

/**
 * What the proxy knows of one agent, for status pages and metrics.
 *
 * @param up the last attempt to reach it succeeded
 * @param attempted at least one attempt has finished (success or failure): discovery waits for every agent's
 * @param lastAnswerMs ms since epoch of its last good answer, 0 when never
 * @param duplicateUuids instance uuids its last answer listed more than once (served to nobody)
 * @param sources its instance sources as its last answer reported them (empty from agents that do not report them)
 * @param version the agent's cmon version as its last answer reported it, or null
 * @param protocol the inventory protocol of its last answer: 1 (the whole page every time), 2 (deltas), 0 before one
 */
public record AgentView(
        HostPort endpoint,
        boolean up,
        boolean attempted,
        String serverUuid,
        String hostname,
        int instances,
        long generation,
        long lastAnswerMs,
        String lastError,
        java.util.List<String> duplicateUuids,
        java.util.List<io.cmon.api.InstancesPage.Source> sources,
        String version,
        int protocol) {

    public AgentView {
        duplicateUuids = duplicateUuids == null ? java.util.List.of() : java.util.List.copyOf(duplicateUuids);
        sources = sources == null ? java.util.List.of() : java.util.List.copyOf(sources);
    }
}
