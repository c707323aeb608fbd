package io.cmon.agent.collect;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot.UnknownDataPointSnapshot;

import java.util.Collection;
import java.util.List;

/**
 * Snapshot builders for the two naming regimes: the seed's counters keep their exact names, which client_java 1.x
 * would suffix with {@code _total} as counters, so they are untyped with "counter, unit" in HELP; every metric
 * beyond the seed follows Prometheus conventions.
 *
 * <p>The collectors' metrics have fixed names and help texts: each is a {@link Gauge}, {@link Counter} or
 * {@link SeedCounter} constant whose metadata is built once, through client_java's own builder (so names and help
 * are exactly what the builder makes of them), and reused by every scrape. A snapshot built through the builder
 * validates and derives its names anew each time, ~75 times per uncached scrape.
 */
final class Metrics {

    private Metrics() {
    }

    /** A gauge of fixed name and help. */
    static final class Gauge {
        private final MetricMetadata metadata;

        Gauge(String name, String help) {
            this.metadata = GaugeSnapshot.builder().name(name).help(help).build().getMetadata();
        }

        GaugeSnapshot of(double value) {
            return new GaugeSnapshot(metadata, List.of(new GaugeDataPointSnapshot(value, Labels.EMPTY, null)));
        }
    }

    /** A counter of fixed name (without {@code _total}: the writers append it) and help. */
    static final class Counter {
        private final MetricMetadata metadata;

        Counter(String name, String help) {
            this.metadata = CounterSnapshot.builder().name(name).help(help).build().getMetadata();
        }

        CounterSnapshot of(double value) {
            return new CounterSnapshot(metadata, List.of(new CounterDataPointSnapshot(value, Labels.EMPTY, null, 0L)));
        }

        CounterSnapshot of(Collection<CounterDataPointSnapshot> points) {
            return new CounterSnapshot(metadata, points);
        }

        static CounterDataPointSnapshot point(Labels labels, double value) {
            return new CounterDataPointSnapshot(value, labels, null, 0L);
        }
    }

    /** One of the seed's counters: untyped, its exact name, "counter, " before its help. */
    static final class SeedCounter {
        private final MetricMetadata metadata;

        SeedCounter(String name, String help) {
            this.metadata = UnknownSnapshot.builder().name(name).help("counter, " + help).build().getMetadata();
        }

        UnknownSnapshot of(double value) {
            return new UnknownSnapshot(metadata, List.of(new UnknownDataPointSnapshot(value, Labels.EMPTY, null)));
        }

        UnknownSnapshot of(Collection<UnknownDataPointSnapshot> points) {
            return new UnknownSnapshot(metadata, points);
        }
    }

    static UnknownDataPointSnapshot point(Labels labels, double value) {
        return new UnknownDataPointSnapshot(value, labels, null);
    }
}
