package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Pressure stall information of the instance's cgroup ({@code cpu.pressure}, {@code memory.pressure},
 * {@code io.pressure} of its cgroup2 directory), named as node_exporter names the server's:
 * {@code pressure_<resource>_waiting_seconds_total} is PSI {@code some} (time at least one task of the instance was
 * stalled on the resource), {@code pressure_<resource>_stalled_seconds_total} is PSI {@code full} (time all its
 * non-idle tasks were stalled at once). A {@code full} line the kernel does not write (cpu before 5.13) is left out.
 *
 * <p>On a v1 host PSI exists only in a hybrid host's cgroup2 tree, and only describes the instance when that tree
 * mirrors its v1 path; otherwise the collector reports itself unavailable rather than an ancestor's stalls.
 */
public final class PressureCollector implements Collector {

    static final List<String> RESOURCES = List.of("cpu", "memory", "io");
    /** Per resource, in the order of {@link #RESOURCES}: its file, its "some" and its "full" counter. */
    private static final String[] FILES = RESOURCES.stream().map(r -> r + ".pressure").toArray(String[]::new);
    private static final Metrics.Counter[] WAITING = RESOURCES.stream().map(r -> new Metrics.Counter(
            "pressure_" + r + "_waiting_seconds", "time at least one task of the instance waited for " + r
            + " (PSI some)")).toArray(Metrics.Counter[]::new);
    private static final Metrics.Counter[] STALLED = RESOURCES.stream().map(r -> new Metrics.Counter(
            "pressure_" + r + "_stalled_seconds", "time all non-idle tasks of the instance were stalled on " + r
            + " at once (PSI full)")).toArray(Metrics.Counter[]::new);

    private final CgroupFiles cgroups;
    private final Duration ttl;

    public PressureCollector(CgroupFiles cgroups, Duration ttl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "pressure";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        InstanceCgroup cg = cgroups.resolve(instance);
        if (!cg.unifiedIsInstance()) {
            throw new IOException("no cgroup2 directory of " + instance.uuid()
                    + ": PSI needs cgroup v2, or a hybrid host's cgroup2 tree mirroring the instance");
        }
        List<MetricSnapshot> out = new ArrayList<>();
        for (int r = 0; r < FILES.length; r++) {
            Optional<String> text = cg.readV2(FILES[r]);
            if (text.isEmpty()) {
                continue;
            }
            Pressure psi = Pressure.parse(text.get());
            out.add(WAITING[r].of(psi.some().totalUs() / 1e6));
            Metrics.Counter stalled = STALLED[r];
            psi.full().ifPresent(full -> out.add(stalled.of(full.totalUs() / 1e6)));
        }
        if (out.isEmpty()) {
            throw new IOException("no PSI files in " + cg.unified().orElseThrow()
                    + " (kernel without CONFIG_PSI, or booted with psi=0)");
        }
        return out;
    }
}
