package io.cmon.proxy.inventory;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cmon.config.HostPort;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * How many agents this proxy can follow with its file descriptors, and what it does past that (issue 12).
 *
 * <p>Every followed agent holds one connection (its long-poll) for good; the tenant and admin listeners, the
 * forwarding pools, the JVM's own files and Vert.x's epoll descriptors need the rest. So the budget is
 * {@code (fd limit - reserve) / 1} agents, the reserve being {@code fleet.fdReserve} (default 1024) on top of a
 * fixed {@link #BASE_FDS} for the JVM. Agents past the budget are not followed: they are listed as down with a
 * reason that says so (their instances answer 503 as any down agent's), a warning at start and on every change
 * of the verdict says how to shard, and the listeners keep their reserve, so {@code /-/healthy} and tenants'
 * requests still get through. When agents leave the list, the refused ones are followed again.
 *
 * <p>Should descriptors run out anyway (the limit lowered underneath, tenants' connections using the reserve),
 * a watcher's {@code EMFILE} is counted, logged at most every {@link #LOG_EVERY_MS} and answered with a long,
 * jittered backoff instead of a retry loop; the watchers come back by themselves once descriptors free up.
 *
 * <p>Runs on the proxy's watch context ({@link #plan}); the counters are safe from any thread.
 */
public final class FleetCapacity {

    private static final Logger LOG = LoggerFactory.getLogger(FleetCapacity.class);
    /** Descriptors of the JVM itself: its jar and modules, epoll and event fds of the event loops, logs. */
    public static final int BASE_FDS = 128;
    /** Descriptors each followed agent keeps: its long-poll connection. */
    public static final int FDS_PER_AGENT = 1;
    static final long LOG_EVERY_MS = 30_000;

    /** The process's descriptor limit and how many are open; {@link #jvm()} asks the JDK. */
    public interface Fds {
        /** The soft limit (RLIMIT_NOFILE), or -1 when unknown. */
        long max();

        /** Descriptors open now, or -1 when unknown. */
        long open();

        static Fds jvm() {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean u) {
                return new Fds() {
                    @Override
                    public long max() {
                        return u.getMaxFileDescriptorCount();
                    }

                    @Override
                    public long open() {
                        try {
                            return u.getOpenFileDescriptorCount();
                        } catch (InternalError e) {
                            // the JDK counts by listing /proc/self/fd, which needs a descriptor: none left (EMFILE)
                            return -1;
                        }
                    }
                };
            }
            return new Fds() {
                @Override
                public long max() {
                    return -1;
                }

                @Override
                public long open() {
                    return -1;
                }
            };
        }
    }

    /**
     * What {@link #plan} decided: agents to start following, agents listed but not followed (with the reason to
     * show as their error), agents refused before and no longer listed (to forget).
     */
    public record Plan(List<HostPort> follow, List<HostPort> refuse, List<HostPort> forget, String reason) {}

    private final Fds fds;
    private final int reserve;
    private final LongSupplier clockMs;
    private final Set<HostPort> refused = new java.util.LinkedHashSet<>();
    private final AtomicLong exhaustions = new AtomicLong();
    private final AtomicLong lastExhaustionMs = new AtomicLong();
    private final AtomicLong lastLogMs = new AtomicLong(Long.MIN_VALUE / 2);
    private final AtomicLong loggedExhaustions = new AtomicLong();
    private volatile int listed;
    /** {@code refused.size()} for other threads (the set itself is the watch context's). */
    private volatile int refusedCount;
    private String lastVerdict;

    /** @param reserve descriptors kept for the listeners and forwarding ({@code fleet.fdReserve}) */
    public FleetCapacity(Fds fds, int reserve, LongSupplier clockMs) {
        this.fds = fds;
        this.reserve = reserve;
        this.clockMs = clockMs;
    }

    /** Agents this proxy can follow; {@link Integer#MAX_VALUE} when the limit is unknown. */
    public int agents() {
        long max = fds.max();
        if (max < 0) return Integer.MAX_VALUE;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, max - BASE_FDS - reserve) / FDS_PER_AGENT);
    }

    /** Agents listed but not followed, as of the last {@link #plan}. */
    public int refused() {
        return refusedCount;
    }

    /** {@code EMFILE}/{@code ENFILE} failures seen so far. */
    public long exhaustions() {
        return exhaustions.get();
    }

    /**
     * Which listed agents to follow: the ones already followed stay, new ones are taken in list order while the
     * budget lasts, the rest are refused. Warns (once per change) when the list exceeds the budget.
     *
     * @param want     every agent listed (static, file, DNS), in a stable order
     * @param followed agents with a watcher now (after the unlisted ones were stopped)
     */
    public Plan plan(Set<HostPort> want, Set<HostPort> followed) {
        int budget = agents();
        int following = 0;
        for (HostPort a : followed) if (want.contains(a)) following++;
        List<HostPort> follow = new ArrayList<>();
        List<HostPort> refuse = new ArrayList<>();
        for (HostPort a : want) {
            if (followed.contains(a)) continue;
            if (following < budget) {
                follow.add(a);
                following++;
            } else {
                refuse.add(a);
            }
        }
        List<HostPort> forget = new ArrayList<>();
        for (HostPort a : refused) if (!want.contains(a)) forget.add(a);
        refused.clear();
        refused.addAll(refuse);
        refusedCount = refuse.size();
        listed = want.size();
        String reason = "not followed: " + want.size() + " agents listed, this proxy can follow " + budget
                + " with its file descriptor limit of " + fds.max() + " (fleet.fdReserve " + reserve
                + "); raise the limit or shard the agents over more proxies (operator guide, \"Fleet scale\")";
        String verdict = refuse.isEmpty() ? null : want.size() + "/" + budget;
        if (verdict != null && !verdict.equals(lastVerdict)) {
            LOG.warn("{} agents listed but this proxy can follow {} (file descriptor limit {}, {} reserved for the "
                            + "JVM, listeners and forwarding): {} agents are not followed and show as down. Raise the "
                            + "limit (ulimit -n / LimitNOFILE) or shard the agents over more proxies",
                    want.size(), budget, fds.max(), BASE_FDS + reserve, refuse.size());
        } else if (verdict == null && lastVerdict != null) {
            LOG.info("all {} listed agents are followed again (capacity {})", want.size(), budget);
        }
        lastVerdict = verdict;
        return new Plan(List.copyOf(follow), List.copyOf(refuse), List.copyOf(forget), reason);
    }

    /** True when {@code t} (or a cause) is the process or the system running out of file descriptors. */
    public static boolean isFdExhaustion(Throwable t) {
        return fdExhaustion(t) != null;
    }

    /** The message that says descriptors ran out, from {@code t} or a cause; null when none does. */
    private static String fdExhaustion(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && (m.contains("Too many open files") || m.contains("EMFILE") || m.contains("ENFILE"))) {
                return m;
            }
        }
        return null;
    }

    /**
     * The wait before a watcher's next attempt. Out of descriptors: counted, logged (rate-limited) and between
     * {@code maxMs} and {@code 4 * maxMs}, random, so that thousands of watchers neither spin nor come back in
     * step. Otherwise the exponential wait, jittered down by up to half.
     */
    public long backoffMs(Throwable cause, long exponentialMs, long maxMs) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        if (isFdExhaustion(cause)) {
            exhausted(cause);
            return maxMs + r.nextLong(3 * maxMs + 1);
        }
        long half = Math.max(1, exponentialMs / 2);
        return half + r.nextLong(exponentialMs - half + 1);
    }

    private void exhausted(Throwable cause) {
        long n = exhaustions.incrementAndGet();
        long now = clockMs.getAsLong();
        lastExhaustionMs.set(now);
        long last = lastLogMs.get();
        if (now - last >= LOG_EVERY_MS && lastLogMs.compareAndSet(last, now)) {
            long since = n - loggedExhaustions.getAndSet(n);
            LOG.warn("out of file descriptors ({} open of {}): {} agent connection(s) failed since the last report, "
                            + "{} in all; watchers back off and retry. Last: {}", fds.open(), fds.max(), since, n,
                    fdExhaustion(cause));
        }
    }

    /** True when agents are refused, or descriptors ran out in the last minute. */
    public boolean degraded() {
        return refusedCount > 0 || (exhaustions.get() > 0 && clockMs.getAsLong() - lastExhaustionMs.get() < 60_000);
    }

    /** The /status block. */
    public void describe(ObjectNode n) {
        n.put("agents", agents());
        n.put("listed_agents", listed);
        n.put("refused_agents", refusedCount);
        n.put("max_fds", fds.max());
        n.put("open_fds", fds.open());
        n.put("fd_reserve", BASE_FDS + reserve);
        n.put("fd_exhaustions", exhaustions.get());
        n.put("degraded", degraded());
    }

    public void register(PrometheusRegistry registry) {
        GaugeWithCallback.builder().name("cmon_proxy_fleet_capacity_agents")
                .help("Agents this proxy can follow with its file descriptor limit (one connection each, after the "
                        + "reserve for the JVM, listeners and forwarding)")
                .callback(cb -> cb.call(agents())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_fleet_refused_agents")
                .help("Agents listed but not followed because they exceed the capacity: shown as down")
                .callback(cb -> cb.call(refusedCount)).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_fleet_degraded")
                .help("1 when agents are not followed for lack of file descriptors, or descriptors ran out in the "
                        + "last minute")
                .callback(cb -> cb.call(degraded() ? 1 : 0)).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_max_fds")
                .help("The proxy's file descriptor limit (RLIMIT_NOFILE)")
                .callback(cb -> cb.call(fds.max())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_open_fds")
                .help("File descriptors the proxy has open")
                .callback(cb -> cb.call(fds.open())).register(registry);
        CounterWithCallback.builder().name("cmon_proxy_fd_exhaustion")
                .help("Agent connections that failed because the proxy or the system ran out of file descriptors")
                .callback(cb -> cb.call(exhaustions.get())).register(registry);
    }
}
