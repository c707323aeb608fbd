package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * {@code fs_used}: bytes in the instance's writable layer ({@link Instance#rootfs()}), and {@code fs_available}: free
 * space of the filesystem holding it ({@code statfs}, as seen by an unprivileged user).
 *
 * <p>Walking a layer is what sinks cAdvisor on busy hosts, so the walk never runs on the request path: it runs on the
 * background executor, one walk at a time across all instances, at most once per {@link #WALK_TTL} per instance, and
 * stops at {@link #MAX_FILES} entries or {@link #MAX_WALK} (the figure is then a lower bound, logged). A scrape
 * reports the last completed walk; the very first one waits up to {@link #FIRST_WAIT} for it, then reports only
 * {@code fs_available} until the walk is done. Sizes are apparent sizes of regular files ({@code du -b}), not
 * crossing into other filesystems.
 */
public final class FilesystemCollector implements Collector {

    static final Duration WALK_TTL = Duration.ofSeconds(300);
    static final Duration MAX_WALK = Duration.ofSeconds(30);
    static final long MAX_FILES = 1_000_000;
    static final Duration FIRST_WAIT = Duration.ofMillis(250);

    private static final Logger log = LoggerFactory.getLogger(FilesystemCollector.class);
    private static final Metrics.Gauge USED = new Metrics.Gauge("fs_used",
            "bytes: used in the instance's writable layer");
    private static final Metrics.Gauge AVAILABLE = new Metrics.Gauge("fs_available",
            "bytes: available on the filesystem holding the writable layer");

    private final Executor background;
    private final Duration ttl;
    private final LongSupplier nanoClock;
    private final Map<String, Walk> walks = new ConcurrentHashMap<>();
    private CompletableFuture<Void> queue = CompletableFuture.completedFuture(null);

    /** The latest walk of one instance's layer: running ({@code result} incomplete) or done. */
    private record Walk(Path root, long startedNanos, CompletableFuture<Long> result) { }

    public FilesystemCollector(Executor background, Duration ttl) {
        this(background, ttl, System::nanoTime);
    }

    FilesystemCollector(Executor background, Duration ttl, LongSupplier nanoClock) {
        this.background = background;
        this.ttl = ttl;
        this.nanoClock = nanoClock;
    }

    @Override
    public String name() {
        return "fs";
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    @Override
    public List<MetricSnapshot> collect(Instance instance) throws Exception {
        if (instance.rootfs() == null) {
            throw new IOException("no writable layer known for " + instance.uuid());
        }
        Path root = Path.of(instance.rootfs());
        List<MetricSnapshot> out = new ArrayList<>(2);
        Long used = used(instance.uuid(), root);
        if (used != null) {
            out.add(USED.of(used));
        }
        out.add(AVAILABLE.of(available(root)));
        return out;
    }

    /**
     * {@code statvfs} of the layer itself ({@code f_bavail × f_frsize}, what {@link java.nio.file.FileStore} reads),
     * through {@link java.io.File#getUsableSpace()}: a {@code FileStore} is found by reading the whole mount table
     * first, which on a container host grows with every container (~2 ms of a worker with 200, in every instance's
     * first scrape: docs/PERFORMANCE.md, "Uncached scrape, step 4"), and a {@code FileStore} kept for another
     * instance's layer on the same filesystem fails once that layer is removed. {@code File} answers 0 where
     * {@code statvfs} fails, so a 0 is checked against the layer still being there.
     */
    private static long available(Path root) throws IOException {
        long bytes = root.toFile().getUsableSpace();
        if (bytes == 0 && !Files.isDirectory(root)) {
            throw new NoSuchFileException(root.toString(), null, "the writable layer is gone");
        }
        return bytes;
    }

    @Override
    public void forget(String uuid) {
        walks.remove(uuid);
    }

    /** The last walk's figure, starting a new walk when it is due; null while the first walk is still running. */
    private Long used(String uuid, Path root) throws Exception {
        long now = nanoClock.getAsLong();
        Walk current = walks.get(uuid);
        Walk latest = current;
        boolean due = current == null || !current.root().equals(root)
                || current.result().isDone() && now - current.startedNanos() > WALK_TTL.toNanos();
        if (due) {
            Walk next = new Walk(root, now, new CompletableFuture<>());
            if (current == null ? walks.putIfAbsent(uuid, next) == null : walks.replace(uuid, current, next)) {
                enqueue(next);
                latest = next;
            } else {
                latest = walks.get(uuid);
            }
        }
        if (latest.result().isDone()) {
            return latest.result().get();
        }
        if (current != null && current.result().isDone() && current.root().equals(root)) {
            return current.result().get(); // stale by at most one walk, while the new one runs
        }
        try {
            return latest.result().get(FIRST_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException stillWalking) {
            return null;
        }
    }

    /** Walks run one after another: a host full of large layers costs one background thread, not all of them. */
    private synchronized void enqueue(Walk walk) {
        queue = queue.thenRunAsync(() -> {
            try {
                walk.result().complete(walkSize(walk.root()));
            } catch (Throwable e) {
                walk.result().completeExceptionally(e);
            }
        }, background);
    }

    static long walkSize(Path root) throws IOException {
        long deadline = System.nanoTime() + MAX_WALK.toNanos();
        Object device = Files.getAttribute(root, "unix:dev");
        long[] totals = new long[2]; // bytes, entries
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!dir.equals(root) && !device.equals(Files.getAttribute(dir, "unix:dev"))) {
                    return FileVisitResult.SKIP_SUBTREE; // a mount inside the layer is not the layer
                }
                return bounded();
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    totals[0] += attrs.size();
                }
                return bounded();
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // files come and go in a live layer
            }

            private FileVisitResult bounded() {
                if (++totals[1] >= MAX_FILES || System.nanoTime() > deadline) {
                    log.warn("walk of {} stopped after {} entries: fs_used is a lower bound", root, totals[1]);
                    return FileVisitResult.TERMINATE;
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return totals[0];
    }
}
