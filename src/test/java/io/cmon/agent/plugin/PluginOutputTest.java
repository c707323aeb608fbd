package io.cmon.agent.plugin;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PluginOutputTest {

    private static String render(PluginOutput.Parsed parsed) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, new MetricSnapshots(parsed.metrics()));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tabSeparatedLinesBecomePrefixedMetricsWithTheirExactNames() throws Exception {
        PluginOutput.Parsed p = PluginOutput.parse("""
                input_file_count\tgauge\t10\tNumber of input files
                requests_total\tcounter\t42\tRequests served

                bytes_out{interface="net0"}\tcounter\t1234
                bytes_out{interface="net1"}\tcounter\t5
                ttl\toption\t300
                """, "plugin_mako_", false);

        assertThat(render(p)).isEqualTo("""
                # HELP plugin_mako_bytes_out counter, bytes_out
                # TYPE plugin_mako_bytes_out untyped
                plugin_mako_bytes_out{interface="net0"} 1234.0
                plugin_mako_bytes_out{interface="net1"} 5.0
                # HELP plugin_mako_input_file_count Number of input files
                # TYPE plugin_mako_input_file_count gauge
                plugin_mako_input_file_count 10.0
                # HELP plugin_mako_requests_total Requests served
                # TYPE plugin_mako_requests_total counter
                plugin_mako_requests_total 42.0
                """);
        assertThat(p.options()).containsEntry("ttl", "300").hasSize(1);
    }

    @Test
    void oneBadTabLineRejectsTheWholeOutputNamingTheLine() {
        assertThatThrownBy(() -> PluginOutput.parse("ok\tgauge\t1\nbroken gauge 2\n", "plugin_x_", false))
                .isInstanceOf(PluginOutput.BadOutput.class).hasMessageContaining("line 2")
                .hasMessageContaining("3 or 4 tab-separated fields");
        assertThatThrownBy(() -> PluginOutput.parse("a\thistogram\t1\n", "plugin_x_", false))
                .hasMessageContaining("type 'histogram' is not gauge, counter or option");
        assertThatThrownBy(() -> PluginOutput.parse("a\tgauge\t1d\n", "plugin_x_", false))
                .hasMessageContaining("'1d' is not a number");
        assertThatThrownBy(() -> PluginOutput.parse("a-b\tgauge\t1\n", "plugin_x_", false))
                .hasMessageContaining("bad metric name");
        assertThatThrownBy(() -> PluginOutput.parse("a\tgauge\t1\na\tcounter\t2\n", "plugin_x_", false))
                .hasMessageContaining("a is already a gauge, not a counter");
        assertThatThrownBy(() -> PluginOutput.parse("a\tgauge\t1\na\tgauge\t2\n", "plugin_x_", false))
                .hasMessageContaining("second sample of a with the same labels");
        assertThatThrownBy(() -> PluginOutput.parse("metrics_available_boolean\tgauge\t1\n", "plugin_x_", false))
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> PluginOutput.parse("c_total\tcounter\t-1\n", "plugin_x_", false))
                .isInstanceOf(PluginOutput.BadOutput.class);
    }

    @Test
    void prometheusTextKeepsTypesLabelsAndEscapesAndDropsTimestamps() throws Exception {
        PluginOutput.Parsed p = PluginOutput.parse("""
                # HELP queries_total Queries by kind.
                # TYPE queries_total counter
                queries_total{kind="select"} 7 1700000000000
                queries_total{kind="with \\"quotes\\" and \\\\"} 2
                # a comment
                # TYPE temperature gauge
                temperature -3.5e1
                # TYPE latency histogram
                latency_bucket{le="0.1"} 1
                latency_bucket{le="+Inf"} 3
                latency_sum 0.7
                latency_count 3
                up_since 1.7e9
                """, "plugin_db_", true);

        // MetricSnapshots sorts by name
        assertThat(render(p)).isEqualTo("""
                # HELP plugin_db_latency_bucket latency
                # TYPE plugin_db_latency_bucket untyped
                plugin_db_latency_bucket{le="+Inf"} 3.0
                plugin_db_latency_bucket{le="0.1"} 1.0
                # HELP plugin_db_latency_count latency
                # TYPE plugin_db_latency_count untyped
                plugin_db_latency_count 3.0
                # HELP plugin_db_latency_sum latency
                # TYPE plugin_db_latency_sum untyped
                plugin_db_latency_sum 0.7
                # HELP plugin_db_queries_total Queries by kind.
                # TYPE plugin_db_queries_total counter
                plugin_db_queries_total{kind="select"} 7.0
                plugin_db_queries_total{kind="with \\"quotes\\" and \\\\"} 2.0
                # HELP plugin_db_temperature temperature
                # TYPE plugin_db_temperature gauge
                plugin_db_temperature -35.0
                # HELP plugin_db_up_since up_since
                # TYPE plugin_db_up_since untyped
                plugin_db_up_since 1.7E9
                """);
    }

    @Test
    void prometheusTextThatIsNotTheFormatIsRejected() {
        assertThatThrownBy(() -> PluginOutput.parse("a{b=\"c} 1\n", "plugin_x_", true))
                .hasMessageContaining("unterminated label value");
        assertThatThrownBy(() -> PluginOutput.parse("a{b=c} 1\n", "plugin_x_", true))
                .hasMessageContaining("expected a quoted label value");
        assertThatThrownBy(() -> PluginOutput.parse("a 1 2 3\n", "plugin_x_", true))
                .hasMessageContaining("expected a value");
        assertThatThrownBy(() -> PluginOutput.parse("a one\n", "plugin_x_", true))
                .hasMessageContaining("'one' is not a number");
        assertThatThrownBy(() -> PluginOutput.parse("# TYPE a gauge\n# TYPE a counter\na 1\n", "plugin_x_", true))
                .hasMessageContaining("second TYPE for a");
        assertThatThrownBy(() -> PluginOutput.parse("# TYPE a sometimes\n", "plugin_x_", true))
                .hasMessageContaining("unknown type");
        assertThatThrownBy(() -> PluginOutput.parse("a{__name__=\"b\"} 1\n", "plugin_x_", true))
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> PluginOutput.parse("a{x=\"1\",x=\"2\"} 1\n", "plugin_x_", true))
                .hasMessageContaining("label x given twice");
        assertThatThrownBy(() -> PluginOutput.parse("a 1\na 2\n", "plugin_x_", true))
                .hasMessageContaining("second sample of a");
    }

    @Test
    void aPromPluginsTabLinesAreNotItsFormat() {
        assertThatThrownBy(() -> PluginOutput.parse("a\tgauge\t1\n", "plugin_x_", true))
                .isInstanceOf(PluginOutput.BadOutput.class);
    }
}
