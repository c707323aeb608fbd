package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FilesystemCollectorTest {

    private final ExecutorService background = Executors.newSingleThreadExecutor();
    private final long[] now = {0};

    @AfterEach
    void stop() {
        background.shutdownNow();
    }

    private static Instance withRootfs(Path rootfs) {
        return new Instance("u", "a", null, null, "docker", List.of(), "running", 1, null, rootfs.toString(), "t");
    }

    private static Double value(List<MetricSnapshot> snapshots, String name) {
        return snapshots.stream().filter(s -> s.getMetadata().getName().equals(name)).findFirst()
                .map(s -> ((GaugeSnapshot) s).getDataPoints().get(0).getValue()).orElse(null);
    }

    @Test
    void usedIsTheBytesOfTheLayerAndAvailableTheFilesystemsFreeSpace(@TempDir Path layer) throws Exception {
        Files.write(layer.resolve("a"), new byte[300_000]);
        Files.createDirectories(layer.resolve("etc/nginx"));
        Files.write(layer.resolve("etc/nginx/nginx.conf"), new byte[1234]);
        var fs = new FilesystemCollector(background, Duration.ofSeconds(10), () -> now[0]);

        List<MetricSnapshot> out = fs.collect(withRootfs(layer));

        assertThat(value(out, "fs_used")).isEqualTo(301_234.0);
        assertThat(value(out, "fs_available")).isEqualTo((double) Files.getFileStore(layer).getUsableSpace(),
                org.assertj.core.data.Offset.offset(64.0 * 1024 * 1024));
    }

    @Test
    void theLayerIsWalkedAgainOnlyAfterTheWalkTtl(@TempDir Path layer) throws Exception {
        Files.write(layer.resolve("a"), new byte[1000]);
        var fs = new FilesystemCollector(background, Duration.ofSeconds(10), () -> now[0]);
        fs.collect(withRootfs(layer));

        Files.write(layer.resolve("b"), new byte[500]);
        now[0] += Duration.ofSeconds(299).toNanos();
        Double beforeTtl = value(fs.collect(withRootfs(layer)), "fs_used");
        now[0] += Duration.ofSeconds(2).toNanos();
        fs.collect(withRootfs(layer)); // starts the new walk, may still report the old figure
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2))
                .until(() -> value(fs.collect(withRootfs(layer)), "fs_used") == 1500.0);

        assertThat(beforeTtl).isEqualTo(1000.0);
    }

    @Test
    void anInstanceWithoutAKnownLayerIsUnavailable() {
        var fs = new FilesystemCollector(background, Duration.ofSeconds(10));
        var noLayer = new Instance("u", "a", null, null, "lxc", List.of(), "running", 1, null, null, "t");

        assertThatThrownBy(() -> fs.collect(noLayer)).hasMessageContaining("no writable layer");
    }

    @Test
    void theFreeSpaceIsStillReadAfterAnotherInstancesLayerOnTheSameFilesystemIsRemoved(@TempDir Path layers)
            throws Exception {
        // Docker's layers share its data root's filesystem; the first container's layer goes when it is removed
        Path a = Files.createDirectories(layers.resolve("a"));
        Path b = Files.createDirectories(layers.resolve("b"));
        var fs = new FilesystemCollector(background, Duration.ofSeconds(10), () -> now[0]);
        var first = new Instance("u1", "a", null, null, "docker", List.of(), "running", 1, null, a.toString(), "t");
        var second = new Instance("u2", "b", null, null, "docker", List.of(), "running", 1, null, b.toString(), "t");
        fs.collect(first);
        fs.collect(second);

        fs.forget("u1");
        Files.delete(a);
        Double available = value(fs.collect(second), "fs_available");

        assertThat(available).isEqualTo((double) Files.getFileStore(b).getUsableSpace(),
                org.assertj.core.data.Offset.offset(64.0 * 1024 * 1024));
    }

    @Test
    void aLayerThatIsGoneIsUnavailableNotReportedAsFull(@TempDir Path layers) throws Exception {
        Path gone = Files.createDirectories(layers.resolve("gone"));
        var fs = new FilesystemCollector(background, Duration.ofSeconds(10), () -> now[0]);
        fs.collect(withRootfs(gone));
        Files.delete(gone);

        assertThatThrownBy(() -> fs.collect(withRootfs(gone))).isInstanceOf(java.nio.file.NoSuchFileException.class)
                .hasMessageContaining("the writable layer is gone");
    }
}
