package io.cmon.proxy.forward;

import java.time.Duration;

/**
 * How long a forwarded scrape may take: the configured request timeout, but never past Prometheus's own
 * {@code X-Prometheus-Scrape-Timeout-Seconds} less a margin, so that Prometheus gets our 504 rather than
 * giving up on us first.
 */
public final class ScrapeDeadline {

    public static final String HEADER = "X-Prometheus-Scrape-Timeout-Seconds";
    /** Never below this: a deadline of zero would fail every scrape of a misconfigured job. */
    static final Duration FLOOR = Duration.ofMillis(100);
    static final Duration MAX_MARGIN = Duration.ofMillis(500);

    private ScrapeDeadline() {}

    /** @param header the header value as sent, or null; malformed values are ignored, not an error */
    public static Duration of(Duration configured, String header) {
        if (header == null || header.isBlank() || header.length() > 32) return configured;
        double seconds;
        try {
            seconds = Double.parseDouble(header.trim());
        } catch (NumberFormatException e) {
            return configured;
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) return configured;
        long ms = (long) Math.min(seconds * 1000, Long.MAX_VALUE / 2);
        long margin = Math.min(MAX_MARGIN.toMillis(), ms / 10);
        Duration scrape = Duration.ofMillis(Math.max(FLOOR.toMillis(), ms - margin));
        return scrape.compareTo(configured) < 0 ? scrape : configured;
    }
}
