package io.cmon.proxy;

import io.cmon.jvm.JvmSelfMetrics;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.FleetInventory;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.LongSupplier;

/** The proxy's own metrics, served on the admin listener (DESIGN §3.5). One registry per proxy, not the global one. */
public final class ProxyMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram latency;
    private final Counter authFailures;
    private final Counter throttled;

    public ProxyMetrics(FleetInventory inventory, LongSupplier clockMs) {
        this(inventory, clockMs, 1000);
    }

    /**
     * @param perAgentMax up to this many agents the per-agent series ({@code cmon_proxy_agent_up},
     *                    {@code cmon_proxy_agent_watch_lag_seconds}) are served; above, only the fleet-wide
     *                    summaries (at 10,000 agents the per-agent series were 1.7 MB a scrape)
     */
    public ProxyMetrics(FleetInventory inventory, LongSupplier clockMs, int perAgentMax) {
        requests = Counter.builder().name("cmon_proxy_requests")
                .help("Requests answered, by route and status code")
                .labelNames("route", "code").register(registry);
        latency = Histogram.builder().name("cmon_proxy_request_duration_seconds")
                .help("Time from request to the end of the answer, by route")
                .labelNames("route").classicOnly()
                .classicUpperBounds(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
                .register(registry);
        authFailures = Counter.builder().name("cmon_proxy_auth_failures")
                .help("Requests refused with 401, by reason").labelNames("reason").register(registry);
        throttled = Counter.builder().name("cmon_proxy_throttled_requests")
                .help("Requests refused with 429 over the account's rate limit").register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_agent_up")
                .help("1 when the last attempt to reach the agent succeeded")
                .labelNames("agent", "server_uuid")
                .callback(cb -> {
                    if (inventory.agentCount() > perAgentMax) return;
                    for (AgentView a : inventory.agents()) {
                        cb.call(a.up() ? 1 : 0, a.endpoint().toString(), a.serverUuid() == null ? "" : a.serverUuid());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_agent_watch_lag_seconds")
                .help("Seconds since the agent's instance list last answered (long-polls answer at least every 300 s;"
                        + " 60 s from agents before 300 s waits)")
                .labelNames("agent")
                .callback(cb -> {
                    if (inventory.agentCount() > perAgentMax) return;
                    long now = clockMs.getAsLong();
                    for (AgentView a : inventory.agents()) {
                        if (a.lastAnswerMs() > 0) cb.call((now - a.lastAnswerMs()) / 1000.0, a.endpoint().toString());
                    }
                }).register(registry);
        // fleet-wide summaries, whatever the size: one walk of the agents, no copy, no sort (sorting 10,000 agents'
        // views for each of these took the admin listener up to 2 s per scrape, and /-/healthy waited behind it)
        GaugeWithCallback.builder().name("cmon_proxy_agents")
                .help("Agents the proxy follows, by state (up: the last attempt succeeded)")
                .labelNames("state")
                .callback(cb -> {
                    FleetInventory.AgentSummary s = inventory.agentSummary();
                    cb.call(s.up(), "up");
                    cb.call(s.all() - s.up(), "down");
                }).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_agent_watch_lag_max_seconds")
                .help("The largest cmon_proxy_agent_watch_lag_seconds over all agents that answered once")
                .callback(cb -> {
                    long oldest = inventory.agentSummary().oldestAnswerMs();
                    if (oldest > 0) cb.call((clockMs.getAsLong() - oldest) / 1000.0);
                }).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_inventory_instances")
                .help("Instances known across all agents")
                .callback(cb -> cb.call(inventory.instanceCount())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_inventory_owners")
                .help("Distinct owners of known instances")
                .callback(cb -> cb.call(inventory.ownerCount())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_inventory_agents")
                .help("Agents the proxy follows")
                .callback(cb -> cb.call(inventory.agentCount())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_inventory_synced")
                .help("1 when discovery answers: the agent list is known, every agent was tried, one answered (else 503)")
                .callback(cb -> cb.call(inventory.synced() ? 1 : 0)).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_inventory_conflicts")
                .help("Instance uuids claimed by more than one container or agent: served to nobody (see /status)")
                .callback(cb -> cb.call(inventory.conflicts().size())).register(registry);
        JvmSelfMetrics.register(registry); // client_java's JvmMetrics without the MBean server unless NMT is on
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public void request(String route, int status, long nanos) {
        requests.labelValues(route, Integer.toString(status)).inc();
        latency.labelValues(route).observe(nanos / 1e9);
    }

    public void authFailure(String reason) {
        authFailures.labelValues(reason).inc();
    }

    public void throttled() {
        throttled.inc();
    }
}
