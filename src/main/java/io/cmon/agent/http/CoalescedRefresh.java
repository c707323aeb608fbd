package io.cmon.agent.http;

import io.cmon.agent.runtime.InstanceSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code POST /v1/refresh} for any number of callers with at most one rescan running and one queued: a request that
 * arrives while a rescan runs joins the next one (it must see changes made after it asked), and every request that
 * arrives before that next one starts shares it. A burst of N refreshes costs at most two rescans.
 */
final class CoalescedRefresh {

    /** A source that has not answered by then is reported failed, so that no caller waits on a hung runtime. */
    static final Duration SOURCE_TIMEOUT = Duration.ofSeconds(30);

    private final List<InstanceSource> sources;
    private final Duration sourceTimeout;
    private CompletableFuture<List<String>> running; // guarded by this
    private CompletableFuture<List<String>> queued; // guarded by this
    private long rescans; // guarded by this

    CoalescedRefresh(List<InstanceSource> sources, Duration sourceTimeout) {
        this.sources = List.copyOf(sources);
        this.sourceTimeout = sourceTimeout;
    }

    /** Completes with one line per failed source ("name: why"); empty when all refreshed. Never fails. */
    synchronized CompletableFuture<List<String>> request() {
        if (running == null) {
            CompletableFuture<List<String>> now = new CompletableFuture<>();
            running = now;
            start(now); // may complete at once (and clear running) when every source answers synchronously
            return now;
        }
        if (queued == null) queued = new CompletableFuture<>();
        return queued;
    }

    /** Rescans started so far (for tests and the agent's own metrics). */
    synchronized long rescans() {
        return rescans;
    }

    private void start(CompletableFuture<List<String>> result) {
        synchronized (this) {
            rescans++;
        }
        // each source's failure becomes its line of the answer; the others still refresh
        List<CompletableFuture<String>> all = sources.stream().map(s -> refreshOne(s).toCompletableFuture().copy()
                .orTimeout(sourceTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .handle((v, err) -> err == null ? null : s.name() + ": " + rootMessage(err))).toList();
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            CompletableFuture<List<String>> next;
            synchronized (this) {
                next = queued;
                queued = null;
                running = next;
            }
            if (next != null) start(next);
            result.complete(all.stream().map(CompletableFuture::join).filter(m -> m != null).toList());
        });
    }

    private static CompletionStage<Void> refreshOne(InstanceSource s) {
        try {
            return s.refresh();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private String rootMessage(Throwable t) {
        if (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
        if (t instanceof TimeoutException) {
            long ms = sourceTimeout.toMillis();
            return "no answer within " + (ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms");
        }
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
