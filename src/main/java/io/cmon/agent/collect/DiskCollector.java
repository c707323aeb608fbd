package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;

/**
 * Block I/O of the instance's cgroup: v1 {@code blkio.throttle.io_service_bytes[_recursive]} and
 * {@code io_serviced[_recursive]}, v2 {@code io.stat}. Summed over devices ({@code disk_read_bytes_total}, …) and per
 * device ({@code disk_device_read_bytes_total{device="259:0",device_name="nvme0n1"}}, …; {@code device_name} is
 * empty when the server has no name for the number). See docs/metrics.md for what v1 counts.
 */
public final class DiskCollector implements Collector {

    private static final Metrics.Counter READ_BYTES = new Metrics.Counter("disk_read_bytes",
            "bytes read from block devices");
    private static final Metrics.Counter WRITTEN_BYTES = new Metrics.Counter("disk_written_bytes",
            "bytes written to block devices");
    private static final Metrics.Counter READS = new Metrics.Counter("disk_reads", "read operations on block devices");
    private static final Metrics.Counter WRITES = new Metrics.Counter("disk_writes",
            "write operations on block devices");
    private static final Metrics.Counter DEVICE_READ_BYTES = new Metrics.Counter("disk_device_read_bytes",
            "bytes read from the block device");
    private static final Metrics.Counter DEVICE_WRITTEN_BYTES = new Metrics.Counter("disk_device_written_bytes",
            "bytes written to the block device");
    private static final Metrics.Counter DEVICE_READS = new Metrics.Counter("disk_device_reads",
            "read operations on the block device");
    private static final Metrics.Counter DEVICE_WRITES = new Metrics.Counter("disk_device_writes",
            "write operations on the block device");

    private final CgroupFiles cgroups;
    private final BlockDevices devices;
    private final Duration ttl;

    public DiskCollector(CgroupFiles cgroups, BlockDevices devices, Duration ttl) {
        this.cgroups = cgroups;
        this.devices = devices;
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
        List<DiskIo.Device> perDevice = read(cgroups.resolve(instance));
        DiskIo io = DiskIo.sum(perDevice);
        List<Labels> labels = new ArrayList<>(perDevice.size());
        for (DiskIo.Device d : perDevice) {
            labels.add(Labels.of("device", d.device(), "device_name", devices.name(d.device()).orElse("")));
        }
        return List.of(
                READ_BYTES.of(io.readBytes()),
                WRITTEN_BYTES.of(io.writtenBytes()),
                READS.of(io.reads()),
                WRITES.of(io.writes()),
                perDevice(DEVICE_READ_BYTES, perDevice, labels, DiskIo.Device::readBytes),
                perDevice(DEVICE_WRITTEN_BYTES, perDevice, labels, DiskIo.Device::writtenBytes),
                perDevice(DEVICE_READS, perDevice, labels, DiskIo.Device::reads),
                perDevice(DEVICE_WRITES, perDevice, labels, DiskIo.Device::writes));
    }

    private static CounterSnapshot perDevice(Metrics.Counter metric, List<DiskIo.Device> devices,
                                             List<Labels> labels, ToLongFunction<DiskIo.Device> value) {
        List<CounterDataPointSnapshot> points = new ArrayList<>(devices.size());
        for (int i = 0; i < devices.size(); i++) {
            points.add(Metrics.Counter.point(labels.get(i), value.applyAsLong(devices.get(i))));
        }
        return metric.of(points);
    }

    static List<DiskIo.Device> read(InstanceCgroup cg) throws Exception {
        if (cg.onV1("blkio")) {
            // the recursive files include child cgroups, as memory.usage_in_bytes does (kernel ≥ 4.x)
            return DiskIo.devicesV1(v1(cg, "blkio.throttle.io_service_bytes"), v1(cg, "blkio.throttle.io_serviced"));
        }
        return DiskIo.devicesV2(cg.requireV2("io.stat"));
    }

    private static String v1(InstanceCgroup cg, String file) throws Exception {
        Optional<String> recursive = cg.readV1("blkio", file + "_recursive");
        return recursive.isPresent() ? recursive.get() : cg.requireV1("blkio", file);
    }
}
