package io.cmon.agent.collect.gz;

import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

class TimexTest {

    /** A struct timex as the kernel fills it, at glibc's x86_64 offsets. */
    private static ByteBuffer struct(long offset, long freq, long maxerror, long esterror, int status, long constant,
                                     long tick, int tai) {
        ByteBuffer b = ByteBuffer.allocate(Timex.SIZE).order(ByteOrder.nativeOrder());
        b.putInt(0, 0); // modes
        b.putLong(8, offset);
        b.putLong(16, freq);
        b.putLong(24, maxerror);
        b.putLong(32, esterror);
        b.putInt(40, status);
        b.putLong(48, constant);
        b.putLong(56, 1); // precision
        b.putLong(64, 32768000); // tolerance
        b.putLong(88, tick);
        b.putInt(160, tai);
        return b;
    }

    private static Map<String, Double> values(List<MetricSnapshot> metrics) {
        return metrics.stream().collect(Collectors.toMap(m -> m.getMetadata().getName(),
                m -> ((GaugeSnapshot) m).getDataPoints().get(0).getValue()));
    }

    @Test
    void microsecondOffsetAndScaledPpmFrequencyOfASynchronisedClock() {
        // chrony on a synchronised host: 250 µs ahead, +12.5 ppm, STA_PLL (0x1), state TIME_OK (0)
        Timex t = Timex.decode(struct(250, 12_500 * 65536L / 1000, 3_000, 150, 0x1, 7, 10_000, 37), 0);

        Map<String, Double> v = values(GzMetrics.timex(t));

        assertThat(v.get("node_timex_sync_status")).isEqualTo(1.0);
        assertThat(v.get("node_timex_offset_seconds")).isCloseTo(250e-6, offset(1e-12));
        assertThat(v.get("node_timex_frequency_adjustment_ratio")).isCloseTo(1 + 12.5e-6, offset(1e-12));
        assertThat(v.get("node_timex_maxerror_seconds")).isCloseTo(0.003, offset(1e-12));
        assertThat(v.get("node_timex_estimated_error_seconds")).isCloseTo(150e-6, offset(1e-12));
        assertThat(v.get("node_timex_status")).isEqualTo(1.0);
        assertThat(v.get("node_timex_loop_time_constant")).isEqualTo(7.0);
        assertThat(v.get("node_timex_tick_seconds")).isCloseTo(0.01, offset(1e-12));
        assertThat(v.get("node_timex_tai_offset_seconds")).isEqualTo(37.0);
    }

    @Test
    void nanosecondOffsetWhenStaNanoIsSetAndUnsyncedWhenTimeError() {
        // STA_NANO | STA_UNSYNC, -1.5 ms in ns, slowed by 3 ppm; adjtimex returned TIME_ERROR
        Timex t = Timex.decode(struct(-1_500_000, -3 * 65536L, 16_000_000, 16_000_000, 0x2000 | 0x40, 2, 10_000,
                0), Timex.TIME_ERROR);

        Map<String, Double> v = values(GzMetrics.timex(t));

        assertThat(v.get("node_timex_sync_status")).isEqualTo(0.0);
        assertThat(v.get("node_timex_offset_seconds")).isCloseTo(-0.0015, offset(1e-12));
        assertThat(v.get("node_timex_frequency_adjustment_ratio")).isCloseTo(1 - 3e-6, offset(1e-12));
        assertThat(v.get("node_timex_maxerror_seconds")).isEqualTo(16.0);
    }

    @Test
    void theKernelsAnswerOnThisMachineIsPlausible() throws Exception {
        Timex t = new Timex.Kernel().read();

        // the kernel caps maxerror at NTP_PHASE_LIMIT (16 s) and keeps it non-negative
        assertThat(t.maxerror()).isBetween(0L, 16_000_000L);
        assertThat(t.esterror()).isBetween(0L, 16_000_000L);
        // adjtimex's states are TIME_OK..TIME_ERROR (0..5); STA_UNSYNC (0x40) means TIME_ERROR
        assertThat(t.state()).isBetween(0, 5);
        assertThat((t.status() & 0x40) == 0 || t.state() == Timex.TIME_ERROR)
                .as("STA_UNSYNC in status %#x implies TIME_ERROR, state %d", t.status(), t.state()).isTrue();
        // USER_HZ ticks: 10 000 µs at 100 Hz, never 0 or above a second
        assertThat(t.tick()).isBetween(1L, 1_000_000L);
        // frequency offsets are bounded by the kernel at ±500 ppm
        assertThat(t.frequencyAdjustmentRatio()).isBetween(1 - 500e-6, 1 + 500e-6);
    }

    @Test
    void aFailingAdjtimexDropsOnlyTheTimexPart() {
        GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), Map::of, "dev",
                new FilesystemStats(Runnable::run, Duration.ofSeconds(1), new FilesystemStats.HostStatfs(
                        Duration.ofSeconds(1))),
                () -> {
                    throw new java.io.IOException("adjtimex unavailable: test");
                }, () -> java.util.concurrent.CompletableFuture.completedFuture(
                        new io.prometheus.metrics.model.snapshots.MetricSnapshots(List.of())));

        var names = gz.collect().stream().map(m -> m.getMetadata().getName()).toList();
        var success = gz.collect().stream().filter(m -> m.getMetadata().getName().equals(
                "node_scrape_collector_success")).findFirst().orElseThrow().getDataPoints().stream()
                .collect(Collectors.toMap(p -> p.getLabels().get("collector"),
                        p -> ((GaugeSnapshot.GaugeDataPointSnapshot) p).getValue()));

        assertThat(names).contains("node_load1").noneMatch(n -> n.startsWith("node_timex_"));
        assertThat(success).containsEntry("timex", 0.0).containsEntry("loadavg", 1.0);
    }
}
