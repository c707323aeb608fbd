package io.cmon.proxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-account token buckets (DESIGN §3.5 {@code rateLimit: {rate, burst}}): each account may burst up to
 * {@code burst} requests, refilled at {@code rate} per second. Buckets live as long as the account makes
 * requests; the number of accounts bounds the map.
 */
public final class RateLimiter {

    private final double ratePerSecond;
    private final double burst;
    private final LongSupplier nanoClock;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimiter(double ratePerSecond, int burst, LongSupplier nanoClock) {
        this.ratePerSecond = ratePerSecond;
        this.burst = burst;
        this.nanoClock = nanoClock;
    }

    /** @return 0 when the request may go ahead, else the whole seconds to wait (for {@code Retry-After}) */
    public long acquire(String account) {
        return buckets.computeIfAbsent(account, k -> new Bucket(burst, nanoClock.getAsLong()))
                .take(nanoClock.getAsLong());
    }

    private final class Bucket {
        private double tokens;
        private long lastNanos;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.lastNanos = now;
        }

        synchronized long take(long now) {
            double elapsed = Math.max(0, now - lastNanos) / 1e9;
            lastNanos = now;
            tokens = Math.min(burst, tokens + elapsed * ratePerSecond);
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - tokens) / ratePerSecond));
        }
    }
}
