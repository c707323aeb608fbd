package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** {@code time_of_day}: the server's clock in ms since the epoch, to spot skew between servers and Prometheus. */
public final class TimeCollector implements Collector {

    private static final Metrics.SeedCounter TIME = new Metrics.SeedCounter("time_of_day",
            "milliseconds: server clock since the epoch");

    private final Clock clock;

    public TimeCollector(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "time";
    }

    @Override
    public Duration ttl() {
        return Duration.ZERO;
    }

    /** A clock read: no reason to hand it to a worker. */
    @Override
    public boolean runsInline() {
        return true;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) {
        return List.of(TIME.of(clock.millis()));
    }
}
