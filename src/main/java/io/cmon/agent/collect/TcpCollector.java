package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * TCP counters of the instance's network namespace, from {@code /proc/<pid>/net/snmp} and {@code net/netstat} of
 * one of its processes (two small reads, whatever else runs on the server). An instance sharing the host's network
 * namespace ({@code --network host}) reports the host's counters.
 */
public final class TcpCollector implements Collector {

    private static final Metrics.Counter ACTIVE_OPENS = new Metrics.Counter("tcp_active_opens",
            "connections opened from the instance (SYN sent)");
    private static final Metrics.Counter PASSIVE_OPENS = new Metrics.Counter("tcp_passive_opens",
            "connections accepted by the instance (SYN received)");
    private static final Metrics.Counter FAILED_ATTEMPTS = new Metrics.Counter("tcp_failed_connection_attempts",
            "connection attempts that failed (refused, reset or timed out before established)");
    private static final Metrics.Counter RETRANSMITTED = new Metrics.Counter("tcp_retransmitted_segments",
            "TCP segments retransmitted");
    private static final Metrics.Gauge ESTABLISHED = new Metrics.Gauge("tcp_current_established",
            "TCP connections now established or closing");
    private static final Metrics.Counter LISTEN_DROPS = new Metrics.Counter("tcp_listen_drops",
            "connections dropped at a listening socket (accept queue full, …)");

    private final CgroupFiles cgroups;
    private final ProcFiles proc;
    private final Duration ttl;

    public TcpCollector(CgroupFiles cgroups, ProcFiles proc, Duration ttl) {
        this.cgroups = cgroups;
        this.proc = proc;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "tcp";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        long pid = cgroups.processOf(instance);
        String snmp = proc.read(pid, "net/snmp")
                .orElseThrow(() -> new IOException("process " + pid + " of " + instance.uuid() + " is gone"));
        TcpStats tcp = TcpStats.parse(snmp, proc.read(pid, "net/netstat").orElse(null));
        List<MetricSnapshot> out = new ArrayList<>(6);
        out.add(ACTIVE_OPENS.of(tcp.activeOpens()));
        out.add(PASSIVE_OPENS.of(tcp.passiveOpens()));
        out.add(FAILED_ATTEMPTS.of(tcp.attemptFails()));
        out.add(RETRANSMITTED.of(tcp.retransSegs()));
        out.add(ESTABLISHED.of(tcp.currEstab()));
        tcp.listenDrops().ifPresent(n -> out.add(LISTEN_DROPS.of(n)));
        return out;
    }
}
