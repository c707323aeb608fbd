package io.cmon.proxy.auth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Polls files (mtime, size, inode) and runs a callback on a change, on its own daemon thread, never on an event
 * loop. Polling rather than WatchService: it sees editors' rename-over-the-file, symlink swaps (Kubernetes secrets)
 * and files on any file system, and a stat per file per second costs nothing.
 */
public final class FileWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FileWatcher.class);

    private record Stamp(long mtimeNanos, long size, Object fileKey) {
        static Stamp of(Path file) {
            try {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                return new Stamp(a.lastModifiedTime().to(TimeUnit.NANOSECONDS), a.size(), a.fileKey());
            } catch (NoSuchFileException e) {
                return new Stamp(-1, -1, null);
            } catch (IOException e) {
                return new Stamp(-2, -2, null);
            }
        }
    }

    private final class Watch {
        final List<Path> files;
        final Runnable onChange;
        List<Stamp> stamps;

        Watch(List<Path> files, Runnable onChange) {
            this.files = files;
            this.onChange = onChange;
            this.stamps = stamps();
        }

        List<Stamp> stamps() {
            List<Stamp> s = new ArrayList<>(files.size());
            for (Path f : files) s.add(Stamp.of(f));
            return s;
        }

        void poll() {
            List<Stamp> now = stamps();
            if (now.equals(stamps)) return;
            stamps = now;
            try {
                onChange.run();
            } catch (RuntimeException e) {
                LOG.error("reloading {} failed", files, e);
            }
        }
    }

    private final ScheduledExecutorService executor;
    private final List<Watch> watches = new CopyOnWriteArrayList<>();

    /** Polls every {@code period} (1 s in the proxy). */
    public FileWatcher(Duration period) {
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cmon-file-watch");
            t.setDaemon(true);
            return t;
        });
        long ms = Math.max(1, period.toMillis());
        executor.scheduleWithFixedDelay(this::pollAll, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code onChange} (on the watcher thread) whenever any of {@code files} changes; null paths are ignored. */
    public void watch(List<Path> files, Runnable onChange) {
        List<Path> paths = files.stream().filter(Objects::nonNull).toList();
        if (paths.isEmpty()) return;
        watches.add(new Watch(paths, onChange));
    }

    private void pollAll() {
        for (Watch w : watches) w.poll();
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
