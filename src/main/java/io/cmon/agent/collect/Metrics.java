package io.cmon.agent.collect;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot.UnknownDataPointSnapshot;

/**
 * Snapshot builders for the two naming regimes: the seed's counters keep their exact names, which client_java 1.x
 * would suffix with {@code _total} as counters, so they are untyped with "counter, unit" in HELP; every metric
 * beyond the seed follows Prometheus conventions.
 */
final class Metrics {

    private Metrics() {
    }

    static UnknownSnapshot seedCounter(String name, String help, double value) {
        return seedCounter(name, help).dataPoint(UnknownDataPointSnapshot.builder().value(value).build()).build();
    }

    static UnknownSnapshot.Builder seedCounter(String name, String help) {
        return UnknownSnapshot.builder().name(name).help("counter, " + help);
    }

    static UnknownDataPointSnapshot point(Labels labels, double value) {
        return UnknownDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build();
    }

    /** {@code name} without {@code _total}: the writers append it. */
    static CounterSnapshot counter(String name, String help, double value) {
        return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterDataPointSnapshot.builder().value(value).build()).build();
    }
}
