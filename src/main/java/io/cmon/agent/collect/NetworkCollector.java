package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot.UnknownDataPointSnapshot;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code net_agg_{bytes,packets}_{in,out}} per interface of the instance's network namespace: {@code
 * /proc/<pid>/net/dev} shows the namespace of that pid, so one read covers the instance whatever its runtime. An
 * instance declared by cgroup alone is read through any process of its cgroup.
 */
public final class NetworkCollector implements Collector {

    private static final Metrics.SeedCounter PACKETS_IN = new Metrics.SeedCounter("net_agg_packets_in",
            "packets received");
    private static final Metrics.SeedCounter PACKETS_OUT = new Metrics.SeedCounter("net_agg_packets_out",
            "packets sent");
    private static final Metrics.SeedCounter BYTES_IN = new Metrics.SeedCounter("net_agg_bytes_in", "bytes received");
    private static final Metrics.SeedCounter BYTES_OUT = new Metrics.SeedCounter("net_agg_bytes_out", "bytes sent");

    private final CgroupFiles cgroups;
    private final ProcFiles proc;
    private final Duration ttl;

    public NetworkCollector(CgroupFiles cgroups, ProcFiles proc, Duration ttl) {
        this.cgroups = cgroups;
        this.proc = proc;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "net";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        long pid = cgroups.processOf(instance);
        String text = proc.read(pid, "net/dev")
                .orElseThrow(() -> new IOException("process " + pid + " of " + instance.uuid() + " is gone"));
        List<NetDev.Interface> interfaces = NetDev.parse(text);
        int n = interfaces.size();
        List<UnknownDataPointSnapshot> packetsIn = new ArrayList<>(n);
        List<UnknownDataPointSnapshot> packetsOut = new ArrayList<>(n);
        List<UnknownDataPointSnapshot> bytesIn = new ArrayList<>(n);
        List<UnknownDataPointSnapshot> bytesOut = new ArrayList<>(n);
        for (NetDev.Interface i : interfaces) {
            Labels labels = Labels.of("interface", i.name());
            packetsIn.add(Metrics.point(labels, i.rxPackets()));
            packetsOut.add(Metrics.point(labels, i.txPackets()));
            bytesIn.add(Metrics.point(labels, i.rxBytes()));
            bytesOut.add(Metrics.point(labels, i.txBytes()));
        }
        return List.of(PACKETS_IN.of(packetsIn), PACKETS_OUT.of(packetsOut), BYTES_IN.of(bytesIn),
                BYTES_OUT.of(bytesOut));
    }
}
