package io.cmon.agent.collect;

import java.time.Duration;

/**
 * A server-wide value that per-instance collectors need (MemTotal for an unlimited memory limit, {@code pid_max}
 * for an unlimited pids limit): read again only when older than its TTL, not on every uncached scrape of every
 * instance. Only for values an operator changes rarely (hotplug, {@code swapon}, {@code sysctl}). Racy by design:
 * two scrapes may both read it, and any recent value will do.
 */
final class HostValue<T> {

    interface Read<T> {
        T read() throws Exception;
    }

    private final long ttlNanos;
    private final Read<T> read;
    private volatile T value;
    private volatile long readNanos;

    HostValue(Duration ttl, Read<T> read) {
        this.ttlNanos = ttl.toNanos();
        this.read = read;
    }

    T get() throws Exception {
        long now = System.nanoTime();
        T known = value;
        if (known == null || now - readNanos >= ttlNanos) {
            known = read.read();
            readNanos = now;
            value = known;
        }
        return known;
    }
}
