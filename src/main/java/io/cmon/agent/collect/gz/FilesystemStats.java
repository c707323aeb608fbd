package io.cmon.agent.collect.gz;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * statfs of the monitored mounts, each on its own task with one deadline for all: a mount that does not answer in
 * time (a hung NFS server) is reported as failed instead of stalling the scrape. Its task is left to finish; until
 * it does, later scrapes do not start another one for that mount, so a hung mount ties up one thread, not one per
 * scrape (node_exporter's "stuck mounts").
 */
final class FilesystemStats {

    private static final Logger log = LoggerFactory.getLogger(FilesystemStats.class);

    /**
     * What statfs says of a filesystem, in bytes and inodes.
     *
     * @param files     total inodes; -1 when unknown
     * @param filesFree free inodes; -1 when unknown
     */
    record Usage(long size, long free, long avail, long files, long filesFree) { }

    /** One mount's outcome: its usage, or why there is none. */
    record Outcome(Mounts.Mount mount, Usage usage, String error) { }

    /** How a filesystem is asked; blocks as long as the filesystem does. */
    interface Statfs {
        Usage stat(String mountpoint) throws IOException;
    }

    private final Executor executor;
    private final Duration timeout;
    private final Statfs statfs;
    private final Map<String, CompletableFuture<Usage>> stuck = new ConcurrentHashMap<>();

    FilesystemStats(Executor executor, Duration timeout, Statfs statfs) {
        this.executor = executor;
        this.timeout = timeout;
        this.statfs = statfs;
    }

    List<Outcome> stat(List<Mounts.Mount> mounts) {
        List<CompletableFuture<Usage>> tasks = new ArrayList<>(mounts.size());
        for (Mounts.Mount m : mounts) {
            CompletableFuture<Usage> hanging = stuck.get(m.mountpoint());
            if (hanging != null && !hanging.isDone()) {
                tasks.add(null);
                continue;
            }
            stuck.remove(m.mountpoint());
            tasks.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return statfs.stat(m.mountpoint());
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            }, executor));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Outcome> out = new ArrayList<>(mounts.size());
        for (int i = 0; i < mounts.size(); i++) {
            Mounts.Mount m = mounts.get(i);
            CompletableFuture<Usage> task = tasks.get(i);
            if (task == null) {
                out.add(new Outcome(m, null, "statfs still hanging since an earlier scrape"));
                continue;
            }
            try {
                out.add(new Outcome(m, task.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS),
                        null));
            } catch (TimeoutException e) {
                stuck.put(m.mountpoint(), task);
                log.warn("statfs of {} ({} {}) did not answer within {} ms; skipped until it does",
                        m.mountpoint(), m.fstype(), m.device(), timeout.toMillis());
                out.add(new Outcome(m, null, "no answer within " + timeout.toMillis() + " ms"));
            } catch (ExecutionException e) {
                out.add(new Outcome(m, null, String.valueOf(e.getCause())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.add(new Outcome(m, null, "interrupted"));
            }
        }
        return out;
    }

    /**
     * The host's filesystems: the JDK's statvfs for the bytes, on every scrape; inodes are not in its API, so they
     * come from coreutils' {@code stat -f} (left unknown where it is missing), a fork that is worth doing only once
     * a minute per mount. The {@link FileStore} of a mount point is looked up once: the lookup scans the whole mount
     * table, which grows with every container on the server, and the gz scrape must not.
     */
    static final class HostStatfs implements Statfs {

        private static final long INODES_TTL_NANOS = TimeUnit.SECONDS.toNanos(60);

        private record Inodes(long files, long free, long at) {}

        private final Duration timeout;
        private final Map<String, FileStore> stores = new ConcurrentHashMap<>();
        private final Map<String, Inodes> inodes = new ConcurrentHashMap<>();

        HostStatfs(Duration timeout) {
            this.timeout = timeout;
        }

        @Override
        public Usage stat(String mountpoint) throws IOException {
            FileStore store = stores.get(mountpoint);
            if (store == null) {
                store = Files.getFileStore(Path.of(mountpoint));
                stores.put(mountpoint, store);
            }
            long size = store.getTotalSpace();
            long free = store.getUnallocatedSpace();
            long avail = store.getUsableSpace();
            long now = System.nanoTime();
            Inodes known = inodes.get(mountpoint);
            if (known == null || now - known.at() > INODES_TTL_NANOS) {
                long[] n = inodes(mountpoint, timeout);
                known = new Inodes(n[0], n[1], now);
                inodes.put(mountpoint, known);
            }
            return new Usage(size, free, avail, known.files(), known.free());
        }
    }

    private static long[] inodes(String mountpoint, Duration timeout) {
        long[] unknown = {-1, -1};
        Process p;
        try {
            p = new ProcessBuilder("stat", "-f", "-c", "%c %d", "--", mountpoint)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException noStat) {
            return unknown;
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return unknown;
            }
            String[] f = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
            return f.length == 2 ? new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])} : unknown;
        } catch (IOException | NumberFormatException e) {
            return unknown;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return unknown;
        }
    }
}
