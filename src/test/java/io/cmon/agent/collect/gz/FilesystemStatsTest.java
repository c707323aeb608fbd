package io.cmon.agent.collect.gz;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class FilesystemStatsTest {

    private static final Mounts.Mount ROOT = new Mounts.Mount("/dev/vda", "/", "ext4");
    private static final Mounts.Mount NFS = new Mounts.Mount("srv:/export", "/mnt/nfs", "nfs4");

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final CountDownLatch nfsServerBack = new CountDownLatch(1);

    @AfterEach
    void release() {
        nfsServerBack.countDown();
        pool.shutdownNow();
    }

    @Test
    void statvfsThroughJnaAgreesWithTheJdksFileStore() throws IOException {
        var libc = FilesystemStats.LibC.load();
        assertThat(libc).as("JNA loads libc on this host").isNotNull();
        var usage = libc.statvfs("/");
        var store = java.nio.file.Files.getFileStore(java.nio.file.Path.of("/"));

        assertThat(usage.size()).isEqualTo(store.getTotalSpace());
        // free space moves between the two calls on a busy disk: within 64 MiB
        assertThat(usage.free()).isCloseTo(store.getUnallocatedSpace(), org.assertj.core.data.Offset.offset(64L << 20));
        assertThat(usage.avail()).isCloseTo(store.getUsableSpace(), org.assertj.core.data.Offset.offset(64L << 20));
        assertThat(usage.files()).isPositive();
        assertThat(usage.filesFree()).isBetween(0L, usage.files());
    }

    @Test
    void statvfsOfAMissingPathIsAnError() {
        var libc = FilesystemStats.LibC.load();
        assertThat(libc).isNotNull();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> libc.statvfs("/no/such/mount/point"))
                .isInstanceOf(IOException.class).hasMessageContaining("errno 2");
    }

    @Test
    void realStatfsOfTheRootFilesystem() throws IOException {
        var usage = new FilesystemStats.HostStatfs(Duration.ofSeconds(1)).stat("/");

        assertThat(usage.size()).isPositive();
        assertThat(usage.avail()).isBetween(0L, usage.free());
        assertThat(usage.free()).isLessThanOrEqualTo(usage.size());
        assertThat(usage.files()).isPositive(); // ext4 counts inodes
        assertThat(usage.filesFree()).isBetween(0L, usage.files());
    }

    @Test
    void aHungMountIsReportedWithinTheDeadlineAndNotAskedAgainUntilItAnswers() throws Exception {
        AtomicInteger nfsCalls = new AtomicInteger();
        var stats = new FilesystemStats(pool, Duration.ofMillis(200), mountpoint -> {
            if (mountpoint.equals("/mnt/nfs")) {
                nfsCalls.incrementAndGet();
                try {
                    nfsServerBack.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            return new FilesystemStats.Usage(100, 50, 40, 10, 5);
        });

        long start = System.nanoTime();
        List<FilesystemStats.Outcome> first = stats.stat(List.of(ROOT, NFS));
        long firstMs = (System.nanoTime() - start) / 1_000_000;
        List<FilesystemStats.Outcome> second = stats.stat(List.of(ROOT, NFS));
        nfsServerBack.countDown();
        Thread.sleep(50);
        List<FilesystemStats.Outcome> third = stats.stat(List.of(ROOT, NFS));

        assertThat(firstMs).isBetween(150L, 1000L);
        assertThat(first.get(0).usage()).isNotNull();
        assertThat(first.get(1).usage()).isNull();
        assertThat(first.get(1).error()).contains("no answer within 200 ms");
        assertThat(second.get(1).error()).contains("still hanging");
        assertThat(third.get(1).usage()).isNotNull();
        assertThat(nfsCalls).hasValue(2); // not once more per scrape while it hung
    }

    @Test
    void aFailingStatfsIsAnOutcomeNotAnException() {
        var stats = new FilesystemStats(pool, Duration.ofSeconds(1), mountpoint -> {
            throw new IOException("Permission denied");
        });

        assertThat(stats.stat(List.of(ROOT)).get(0).error()).contains("Permission denied");
    }
}
