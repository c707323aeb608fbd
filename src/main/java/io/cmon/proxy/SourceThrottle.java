package io.cmon.proxy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Failed authentications per source address, as token buckets: a source may fail {@code burst} times, refilled at
 * {@code rate} per second; past that its requests are refused (429) before any certificate is looked at, so a
 * stranger cycling through certificates costs one map lookup per request. The map is an LRU of at most
 * {@code maxSources} addresses, so strangers cannot grow it either. Thread-safe (one lock; held for a lookup).
 */
final class SourceThrottle {

    private final double rate;
    private final double burst;
    private final LongSupplier nanoClock;
    private final Map<String, Bucket> buckets;

    private static final class Bucket {
        double tokens;
        long lastNanos;

        Bucket(double tokens, long lastNanos) {
            this.tokens = tokens;
            this.lastNanos = lastNanos;
        }
    }

    SourceThrottle(double rate, int burst, int maxSources, LongSupplier nanoClock) {
        this.rate = rate;
        this.burst = burst;
        this.nanoClock = nanoClock;
        this.buckets = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > maxSources;
            }
        };
    }

    /** 0 when the source may try to authenticate, else whole seconds until it may (for {@code Retry-After}). */
    synchronized long blockedFor(String source) {
        Bucket b = buckets.get(source);
        if (b == null) return 0;
        refill(b);
        return b.tokens >= 1 ? 0 : Math.max(1, (long) Math.ceil((1 - b.tokens) / rate));
    }

    /** A failed authentication from this source. */
    synchronized void failed(String source) {
        Bucket b = buckets.computeIfAbsent(source, k -> new Bucket(burst, nanoClock.getAsLong()));
        refill(b);
        b.tokens = Math.max(0, b.tokens - 1);
    }

    synchronized int size() {
        return buckets.size();
    }

    private void refill(Bucket b) {
        long now = nanoClock.getAsLong();
        b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.lastNanos) / 1e9 * rate);
        b.lastNanos = now;
    }
}
