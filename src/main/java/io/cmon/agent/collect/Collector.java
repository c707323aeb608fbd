package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.List;

/**
 * One source of an instance's metrics (cpu, memory, network, …). Implementations read the kernel through
 * {@code CgroupFiles}/{@code ProcFiles} and hand the text to pure parsers. {@link #collect} blocks: it is only
 * ever called on the collection worker pool, never on an event loop.
 */
public interface Collector {

    /** Prefix of the meta metrics: {@code <name>_metrics_available_boolean} etc. */
    String name();

    /** How long a collection may be served from cache. */
    Duration ttl();

    List<MetricSnapshot> collect(Instance instance) throws Exception;

    /**
     * True for a collector that neither blocks nor reads a file (the clock): it runs on the scrape's own thread,
     * an event loop included, so that a scrape whose other results are all cached needs no hand-off to the worker
     * pool and back (two thread wake-ups, ~0.3 ms each on a busy 2-core host: docs/PERFORMANCE.md, "Run K").
     */
    default boolean runsInline() {
        return false;
    }

    /** Drop whatever the collector keeps about a removed instance (background samples, walks). */
    default void forget(String uuid) {
    }
}
