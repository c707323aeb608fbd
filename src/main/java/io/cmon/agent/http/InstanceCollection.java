package io.cmon.agent.http;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * How the HTTP layer gets an instance's metrics ({@code InstanceMetrics::collect}): off the event loop, never fails,
 * done by {@code deadline} (what is not collected by then is reported unavailable). The server renders the answer
 * on the thread that completes the future, so an implementation should complete it on a worker, not an event loop.
 */
@FunctionalInterface
public interface InstanceCollection {
    CompletableFuture<MetricSnapshots> collect(Instance instance, Duration deadline);
}
