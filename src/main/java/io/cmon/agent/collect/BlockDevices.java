package io.cmon.agent.collect;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Names of the server's block devices by {@code major:minor}, from {@code /sys/dev/block/<maj:min>/uevent}
 * ({@code DEVNAME=nvme0n1}). The same few devices appear in every scrape of every instance, so names are cached; for
 * {@link #TTL} only, because numbers are reused when a device goes away (loop, device-mapper, hot-plug).
 */
public final class BlockDevices {

    static final Duration TTL = Duration.ofMinutes(5);
    /** Servers have tens of devices; a cache this size means something unusual is going on, so start over. */
    private static final int MAX_REMEMBERED = 4096;

    private final Path sysDevBlock;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, Known> byDevice = new ConcurrentHashMap<>();

    private record Known(Optional<String> name, long atNanos) { }

    public BlockDevices(Path sysDevBlock) {
        this(sysDevBlock, System::nanoTime);
    }

    BlockDevices(Path sysDevBlock, LongSupplier nanoClock) {
        this.sysDevBlock = sysDevBlock;
        this.nanoClock = nanoClock;
    }

    /** This host's devices. */
    public static BlockDevices host() {
        return new BlockDevices(Path.of("/sys/dev/block"));
    }

    /** The kernel's name of the device, e.g. {@code sda}, {@code nvme0n1}, {@code dm-0}; empty when unknown. */
    public Optional<String> name(String majorMinor) {
        if (!DiskIo.isMajorMinor(majorMinor)) {
            return Optional.empty();
        }
        long now = nanoClock.getAsLong();
        Known known = byDevice.get(majorMinor);
        if (known != null && now - known.atNanos() < TTL.toNanos()) {
            return known.name();
        }
        Optional<String> name = lookUp(majorMinor);
        if (byDevice.size() >= MAX_REMEMBERED) {
            byDevice.clear();
        }
        byDevice.put(majorMinor, new Known(name, now));
        return name;
    }

    private Optional<String> lookUp(String majorMinor) {
        try {
            return KernelFile.read(sysDevBlock.resolve(majorMinor).resolve("uevent")).flatMap(BlockDevices::devName);
        } catch (IOException unreadable) {
            return Optional.empty(); // a name is a courtesy: the counters stand without it
        }
    }

    /** {@code DEVNAME} of a uevent file ({@code KEY=value} lines). */
    static Optional<String> devName(String uevent) {
        for (String line : uevent.split("\n")) {
            if (line.startsWith("DEVNAME=") && line.length() > "DEVNAME=".length()) {
                return Optional.of(line.substring("DEVNAME=".length()).trim());
            }
        }
        return Optional.empty();
    }
}
