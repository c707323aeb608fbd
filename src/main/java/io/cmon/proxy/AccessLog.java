package io.cmon.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The proxy's access log: one line per request, handed to the {@code access} logger in batches.
 * <p>
 * One instance per event loop, used only from that loop (not thread-safe, on purpose): {@link #request} appends a
 * line to a buffer; {@link #flush} (every {@link #FLUSH_INTERVAL_MS} ms from the loop's timer, at once when
 * {@link #MAX_PENDING_CHARS} are pending, and when the proxy stops) passes the whole batch on as one log event. The
 * logger's async appender then wakes about ten times a second instead of once per request: per request it cost a
 * queue hand-off, a thread wake-up and a write, a fifth of the proxy's CPU under load (docs/PERFORMANCE.md, run H).
 * A line reaches the log at most {@value #FLUSH_INTERVAL_MS} ms after its request ended.
 * <pre>
 * 11:57:01.123 INFO  access - 127.0.0.1:40312 alice GET metrics /v1/5f0c…/metrics 200 9553B 0.41ms
 * </pre>
 * Fields: time (local, ms), caller address, account login ({@code -} before authentication), method, route, URI
 * (control characters and spaces as {@code ?}, cut at 200 characters), status, body bytes sent, duration.
 */
final class AccessLog {

    static final long FLUSH_INTERVAL_MS = 100;
    static final int MAX_PENDING_CHARS = 64 * 1024;
    private static final int MAX_URI_CHARS = 200;
    private static final DateTimeFormatter SECOND =
            DateTimeFormatter.ofPattern("HH:mm:ss.").withZone(ZoneId.systemDefault());
    private static final Logger ACCESS = LoggerFactory.getLogger("access");

    private final Consumer<String> sink;
    private final LongSupplier clockMs;
    private final boolean enabled;
    private final StringBuilder pending = new StringBuilder(8192);
    /** The formatted "HH:mm:ss." of {@link #cachedSecond}: one formatting per second, not per line. */
    private long cachedSecond = Long.MIN_VALUE;
    private String secondPrefix = "";

    /** The production log: the {@code access} logger, on when it is enabled at INFO ({@code CMON_ACCESS_LOG}). */
    static AccessLog toLogger() {
        return new AccessLog(ACCESS::info, System::currentTimeMillis, ACCESS.isInfoEnabled());
    }

    /** A log writing each batch (whole lines, each ending in a newline) to {@code sink}. */
    AccessLog(Consumer<String> sink, LongSupplier clockMs, boolean enabled) {
        this.sink = sink;
        this.clockMs = clockMs;
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    /** Records one answered request; {@code remote}, {@code account} and {@code uri} may be null. */
    void request(Object remote, String account, String method, String route, String uri, int status, long bytes,
                 long nanos) {
        if (!enabled) return;
        long now = clockMs.getAsLong();
        long second = Math.floorDiv(now, 1000);
        if (second != cachedSecond) {
            cachedSecond = second;
            secondPrefix = SECOND.format(Instant.ofEpochSecond(second));
        }
        int ms = (int) Math.floorMod(now, 1000);
        StringBuilder b = pending.append(secondPrefix);
        if (ms < 100) b.append('0');
        if (ms < 10) b.append('0');
        b.append(ms).append(" INFO  access - ")
                .append(remote == null ? "-" : remote).append(' ')
                .append(account == null ? "-" : account).append(' ')
                .append(method).append(' ')
                .append(route).append(' ');
        appendSanitized(b, uri);
        long hundredths = nanos / 10_000;
        b.append(' ').append(status).append(' ').append(bytes).append("B ")
                .append(hundredths / 100).append('.');
        long frac = hundredths % 100;
        if (frac < 10) b.append('0');
        b.append(frac).append("ms\n");
        if (pending.length() >= MAX_PENDING_CHARS) flush();
    }

    /** Passes the pending lines on as one event; nothing when there are none. */
    void flush() {
        if (pending.length() == 0) return;
        String batch = pending.toString();
        pending.setLength(0);
        sink.accept(batch);
    }

    /** Keeps a hostile URI from forging log lines: control characters and whitespace become '?'. */
    private static void appendSanitized(StringBuilder b, String uri) {
        if (uri == null) {
            b.append('-');
            return;
        }
        int n = Math.min(uri.length(), MAX_URI_CHARS);
        for (int i = 0; i < n; i++) {
            char c = uri.charAt(i);
            b.append(Character.isISOControl(c) || Character.isWhitespace(c) || Character.isSpaceChar(c) ? '?' : c);
        }
        if (uri.length() > MAX_URI_CHARS) b.append('…');
    }
}
