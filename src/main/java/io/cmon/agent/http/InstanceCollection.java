package io.cmon.agent.http;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.concurrent.CompletableFuture;

/** How the HTTP layer gets an instance's metrics ({@code InstanceMetrics::collect}): off the event loop, never fails. */
@FunctionalInterface
public interface InstanceCollection {
    CompletableFuture<MetricSnapshots> collect(Instance instance);
}
