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
     * The host's filesystems: glibc's {@code statvfs(3)} through JNA (bytes and inodes in one call, no process).
     * Where JNA cannot load libc, the JDK's statvfs gives the bytes and coreutils' {@code stat -f} the inodes (left
     * unknown where it is missing), a fork that is worth doing only once a minute per mount. (The fork was the
     * default until the realistic run showed its cost: six `stat` processes a minute kept five JDK "process reaper"
     * threads alive, ~0.6 MiB of the agent's RSS; docs/PERFORMANCE.md.) The {@link FileStore} of a mount point is
     * looked up once: the lookup scans the whole mount table, which grows with every container on the server, and
     * the gz scrape must not.
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

        /**
         * libc, bound when the first statfs loads this class (the JVM's lazy, once-only class initialisation), not
         * at start: JNA's set-up (~50 classes, its stub library, a cleaner thread, a fork of ldconfig) is not needed
         * by an agent whose gz metrics are never scraped. Null where JNA cannot load it.
         */
        private static final class Bound {
            static final LibC LIBC = LibC.load();
        }

        @Override
        public Usage stat(String mountpoint) throws IOException {
            LibC libc = Bound.LIBC;
            if (libc != null) {
                return libc.statvfs(mountpoint);
            }
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

    /**
     * {@code statvfs(3)} of glibc on 64-bit Linux (x86_64 and aarch64 share the layout, {@code <bits/statvfs.h>}):
     * {@code f_bsize} at 0, {@code f_frsize} 8, {@code f_blocks} 16, {@code f_bfree} 24, {@code f_bavail} 32,
     * {@code f_files} 40, {@code f_ffree} 48, {@code f_favail} 56, {@code f_fsid} 64, {@code f_flag} 72,
     * {@code f_namemax} 80, six spare ints; 112 bytes. The same fields the JDK's {@link FileStore} reads.
     */
    static final class LibC {
        static final int SIZE = 112;
        static final int FRSIZE = 8;
        static final int BLOCKS = 16;
        static final int BFREE = 24;
        static final int BAVAIL = 32;
        static final int FILES = 40;
        static final int FFREE = 48;

        private interface C extends com.sun.jna.Library {
            int statvfs(String path, com.sun.jna.Memory buf);
        }

        private final C c;

        private LibC(C c) {
            this.c = c;
        }

        /** Null where JNA cannot load libc or the layout is not known (not LP64). */
        static LibC load() {
            try {
                if (com.sun.jna.Native.LONG_SIZE != 8) return null;
                return new LibC(com.sun.jna.Native.load("c", C.class));
            } catch (LinkageError e) {
                log.debug("statvfs through JNA unavailable, falling back to the JDK and stat -f: {}", e.toString());
                return null;
            }
        }

        Usage statvfs(String mountpoint) throws IOException {
            try (com.sun.jna.Memory buf = new com.sun.jna.Memory(SIZE)) {
                buf.clear();
                if (c.statvfs(mountpoint, buf) != 0) {
                    throw new IOException("statvfs " + mountpoint + ": errno " + com.sun.jna.Native.getLastError());
                }
                long frsize = buf.getLong(FRSIZE);
                return new Usage(buf.getLong(BLOCKS) * frsize, buf.getLong(BFREE) * frsize,
                        buf.getLong(BAVAIL) * frsize, buf.getLong(FILES), buf.getLong(FFREE));
            } catch (LinkageError e) {
                throw new IOException("statvfs unavailable: " + e);
            }
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
