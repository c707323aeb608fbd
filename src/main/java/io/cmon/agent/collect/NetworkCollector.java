package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * {@code net_agg_{bytes,packets}_{in,out}} per interface of the instance's network namespace: {@code
 * /proc/<pid>/net/dev} shows the namespace of that pid, so one read covers the instance whatever its runtime. An
 * instance declared by cgroup alone is read through any process of its cgroup.
 */
public final class NetworkCollector implements Collector {

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
        UnknownSnapshot.Builder packetsIn = Metrics.seedCounter("net_agg_packets_in", "packets received");
        UnknownSnapshot.Builder packetsOut = Metrics.seedCounter("net_agg_packets_out", "packets sent");
        UnknownSnapshot.Builder bytesIn = Metrics.seedCounter("net_agg_bytes_in", "bytes received");
        UnknownSnapshot.Builder bytesOut = Metrics.seedCounter("net_agg_bytes_out", "bytes sent");
        for (NetDev.Interface i : interfaces) {
            Labels labels = Labels.of("interface", i.name());
            packetsIn.dataPoint(Metrics.point(labels, i.rxPackets()));
            packetsOut.dataPoint(Metrics.point(labels, i.txPackets()));
            bytesIn.dataPoint(Metrics.point(labels, i.rxBytes()));
            bytesOut.dataPoint(Metrics.point(labels, i.txBytes()));
        }
        return List.of(packetsIn.build(), packetsOut.build(), bytesIn.build(), bytesOut.build());
    }
}
