package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Block I/O of the instance's cgroup, summed over devices: v1 {@code blkio.throttle.io_service_bytes[_recursive]}
 * and {@code io_serviced[_recursive]}, v2 {@code io.stat}. See docs/metrics.md for what v1 counts.
 */
public final class DiskCollector implements Collector {

    private final CgroupFiles cgroups;
    private final Duration ttl;

    public DiskCollector(CgroupFiles cgroups, Duration ttl) {
        this.cgroups = cgroups;
        this.ttl = ttl;
    }

    @Override
    public String name() {
        return "disk";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        DiskIo io = read(cgroups.resolve(instance));
        return List.of(
                Metrics.counter("disk_read_bytes", "bytes read from block devices", io.readBytes()),
                Metrics.counter("disk_written_bytes", "bytes written to block devices", io.writtenBytes()),
                Metrics.counter("disk_reads", "read operations on block devices", io.reads()),
                Metrics.counter("disk_writes", "write operations on block devices", io.writes()));
    }

    static DiskIo read(InstanceCgroup cg) throws Exception {
        if (cg.onV1("blkio")) {
            // the recursive files include child cgroups, as memory.usage_in_bytes does (kernel ≥ 4.x)
            return DiskIo.parseV1(v1(cg, "blkio.throttle.io_service_bytes"), v1(cg, "blkio.throttle.io_serviced"));
        }
        return DiskIo.parseV2(cg.requireV2("io.stat"));
    }

    private static String v1(InstanceCgroup cg, String file) throws Exception {
        Optional<String> recursive = cg.readV1("blkio", file + "_recursive");
        return recursive.isPresent() ? recursive.get() : cg.requireV1("blkio", file);
    }
}
