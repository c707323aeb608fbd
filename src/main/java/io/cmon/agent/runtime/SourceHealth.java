package io.cmon.agent.runtime;

/**
 * How an {@link InstanceSource} is doing, so that an operator sees "containerd unreachable" instead of an empty host:
 * served in {@code /v1/instances}' server block and as {@code cmon_agent_source_*} self-metrics.
 *
 * @param name       the source's name ({@code docker}, {@code declared}, {@code containerd}, …)
 * @param up         whether its runtime answers now
 * @param lastError  the last failure talking to the runtime (or reading its file), null when none since start
 * @param eventsSeen events received from the runtime since start (0 for sources without events)
 * @param resyncs    full listings done since start
 */
public record SourceHealth(String name, boolean up, String lastError, long eventsSeen, long resyncs) {}
