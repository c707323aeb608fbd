package io.cmon.agent.http;

import io.cmon.config.Durations;

import java.time.Duration;

/**
 * The query of {@code GET /v1/instances}: without {@code since} it answers at once; with {@code since=N} it waits
 * up to {@code wait} (default 0, capped at {@link #MAX_WAIT}) for the generation to pass N.
 *
 * @param since the generation the caller has, or -1 for none
 */
public record InstancesQuery(long since, Duration maxWait) {

    /**
     * Five minutes: an idle proxy's cost is one answer per agent per wait, so at 10,000 agents a 300 s wait is 33
     * answers a second where 60 s was 167 (PERFORMANCE.md, "Fleet scale"). Proxies notice a vanished agent by TCP
     * keep-alive, not by the wait's end, and the agent ends waits early when a source's health changes. Agents
     * before this version cap at 60 s; a proxy that asks for more from them gets its answer at 60 s.
     */
    public static final Duration MAX_WAIT = Duration.ofSeconds(300);

    /** A query a client got wrong; its message is the whole 400 answer. */
    public static final class BadQuery extends IllegalArgumentException {
        BadQuery(String message) {
            super(message);
        }
    }

    public boolean longPoll() {
        return since >= 0 && !maxWait.isZero();
    }

    /** @param since the {@code since} parameter or null; @param wait the {@code wait} parameter or null */
    public static InstancesQuery parse(String since, String wait) {
        long n = -1;
        if (since != null) {
            try {
                n = Long.parseLong(since.trim());
            } catch (NumberFormatException e) {
                throw new BadQuery("since: '" + since + "' is not a generation (a whole number >= 0)");
            }
            if (n < 0) throw new BadQuery("since: '" + since + "' is not a generation (a whole number >= 0)");
        }
        Duration d = Duration.ZERO;
        if (wait != null) {
            if (since == null) throw new BadQuery("wait: needs since=<generation>");
            try {
                d = Durations.parse(wait);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new BadQuery("wait: " + (e instanceof ArithmeticException ? "'" + wait + "' is too long" : e.getMessage()));
            }
            if (d.compareTo(MAX_WAIT) > 0) d = MAX_WAIT;
        }
        return new InstancesQuery(n, d);
    }
}
