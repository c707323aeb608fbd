package io.cmon.agent.collect;

import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot.UnknownDataPointSnapshot;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The metric families with metadata built once render exactly as the snapshots client_java's builders make per
 * scrape (what the collectors built before), in both text formats.
 */
class MetricsTest {

    private static final Labels ETH0 = Labels.of("interface", "eth0");
    private static final Labels LO = Labels.of("interface", "lo");

    @Test
    void aGaugeWithMetadataBuiltOnceRendersAsTheBuildersGauge() throws IOException {
        Metrics.Gauge gauge = new Metrics.Gauge("mem_rss_bytes", "anonymous memory of the instance (heap, stacks, …)");

        assertSameText(gauge.of(123456789),
                GaugeSnapshot.builder().name("mem_rss_bytes").help("anonymous memory of the instance (heap, stacks, …)")
                        .dataPoint(GaugeDataPointSnapshot.builder().value(123456789).build()).build());
        assertSameText(gauge.of(0.25), GaugeSnapshot.builder().name("mem_rss_bytes")
                .help("anonymous memory of the instance (heap, stacks, …)")
                .dataPoint(GaugeDataPointSnapshot.builder().value(0.25).build()).build());
    }

    @Test
    void aCounterWithMetadataBuiltOnceRendersAsTheBuildersCounterWithTotal() throws IOException {
        Metrics.Counter counter = new Metrics.Counter("cpu_throttled_seconds", "time held off the CPU by the CPU quota");

        String text = render(counter.of(4.018734), false);

        assertThat(text).contains("cpu_throttled_seconds_total 4.018734\n");
        assertSameText(counter.of(4.018734), CounterSnapshot.builder().name("cpu_throttled_seconds")
                .help("time held off the CPU by the CPU quota")
                .dataPoint(CounterDataPointSnapshot.builder().value(4.018734).build()).build());
    }

    @Test
    void labelledCounterPointsRenderAsTheBuildersInLabelOrder() throws IOException {
        Metrics.Counter counter = new Metrics.Counter("disk_device_reads", "read operations on the block device");
        Labels sda = Labels.of("device", "8:0", "device_name", "sda");
        Labels nvme = Labels.of("device", "259:0", "device_name", "nvme0n1");

        assertSameText(counter.of(List.of(Metrics.Counter.point(sda, 7), Metrics.Counter.point(nvme, 3))),
                CounterSnapshot.builder().name("disk_device_reads").help("read operations on the block device")
                        .dataPoint(CounterDataPointSnapshot.builder().labels(sda).value(7).build())
                        .dataPoint(CounterDataPointSnapshot.builder().labels(nvme).value(3).build()).build());
    }

    @Test
    void aSeedCounterIsUntypedWithCounterAndItsUnitInHelp() throws IOException {
        Metrics.SeedCounter seed = new Metrics.SeedCounter("net_agg_bytes_in", "bytes received");

        UnknownSnapshot built = UnknownSnapshot.builder().name("net_agg_bytes_in").help("counter, bytes received")
                .dataPoint(UnknownDataPointSnapshot.builder().labels(ETH0).value(8839222).build())
                .dataPoint(UnknownDataPointSnapshot.builder().labels(LO).value(52040).build()).build();

        UnknownSnapshot once = seed.of(List.of(Metrics.point(LO, 52040), Metrics.point(ETH0, 8839222)));
        assertSameText(once, built);
        assertThat(render(once, false)).startsWith("# HELP net_agg_bytes_in counter, bytes received\n"
                + "# TYPE net_agg_bytes_in untyped\n");
        assertSameText(seed.of(1.5), UnknownSnapshot.builder().name("net_agg_bytes_in")
                .help("counter, bytes received").dataPoint(UnknownDataPointSnapshot.builder().value(1.5).build())
                .build());
    }

    private static void assertSameText(MetricSnapshot once, MetricSnapshot built) throws IOException {
        assertThat(render(once, false)).isEqualTo(render(built, false));
        assertThat(render(once, true)).isEqualTo(render(built, true));
    }

    private static String render(MetricSnapshot snapshot, boolean openMetrics) throws IOException {
        ExpositionFormats formats = ExpositionFormats.init();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        (openMetrics ? formats.getOpenMetricsTextFormatWriter() : formats.getPrometheusTextFormatWriter())
                .write(out, new MetricSnapshots(snapshot));
        return out.toString(StandardCharsets.UTF_8);
    }
}
