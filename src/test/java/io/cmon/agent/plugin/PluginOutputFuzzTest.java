package io.cmon.agent.plugin;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cmon.testing.FuzzInput;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.ByteArrayOutputStream;

import static io.cmon.testing.FuzzInput.onlyThrows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A plugin's output on arbitrary bytes, in both formats (first byte even: tab-separated, odd: Prometheus text): the
 * parser returns metrics that both writers render, or refuses with {@link PluginOutput.BadOutput}, which reports
 * the plugin unavailable. Anything else (a runtime exception, a set of metrics the writers choke on) would fail the
 * scrape, so it is a bug. Seeds: the formats' examples in PluginOutputFuzzTestInputs/pluginOutput.
 */
class PluginOutputFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void pluginOutput(byte[] data) {
        FuzzInput in = FuzzInput.of(data, 2, 1);
        boolean prom = in.selector() == 1;
        onlyThrows(() -> {
            PluginOutput.Parsed parsed = PluginOutput.parse(in.part(0), "plugin_fuzz_", prom);
            MetricSnapshots snapshots = new MetricSnapshots(parsed.metrics());
            PrometheusTextFormatWriter.create().write(new ByteArrayOutputStream(), snapshots);
            OpenMetricsTextFormatWriter.create().write(new ByteArrayOutputStream(), snapshots);
            assertThat(parsed.metrics()).allSatisfy(m -> assertThat(m.getMetadata().getName())
                    .startsWith("plugin_fuzz_"));
        }, PluginOutput.BadOutput.class);
    }
}
