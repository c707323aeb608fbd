package io.cmon.agent.http;

import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

class ExpositionTest {

    static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    static final MetricSnapshots ONE = MetricSnapshots.of(GaugeSnapshot.builder().name("mem_limit").help("bytes")
            .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(67108864).build()).build());

    final Exposition exposition = new Exposition();

    @Test
    void defaultIsText004() {
        assertThat(exposition.negotiate(null, null).contentType()).isEqualTo(TEXT);
        assertThat(exposition.negotiate("*/*", null).contentType()).isEqualTo(TEXT);
        assertThat(exposition.negotiate("text/plain", null).contentType()).isEqualTo(TEXT);
    }

    @Test
    void openMetricsWhenAcceptAsksForItAsPrometheusDoes() {
        String prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
                + "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assertThat(exposition.negotiate(prometheus, null).contentType()).isEqualTo(OPENMETRICS);
    }

    @Test
    void protobufIsNeverChosen() {
        String protobuf = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                + "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3";
        assertThat(exposition.negotiate(protobuf, null).contentType()).isEqualTo(TEXT);
    }

    @Test
    void gzipOnlyWhenAcceptEncodingAllowsIt() {
        assertThat(Exposition.allowsGzip(null)).isFalse();
        assertThat(Exposition.allowsGzip("identity")).isFalse();
        assertThat(Exposition.allowsGzip("gzip")).isTrue();
        assertThat(Exposition.allowsGzip("deflate, GZIP;q=0.5")).isTrue();
        assertThat(Exposition.allowsGzip("gzip;q=0")).isFalse();
        assertThat(Exposition.allowsGzip("gzip; q=0.0, identity")).isFalse();
        assertThat(Exposition.allowsGzip("*")).isTrue();
        assertThat(Exposition.allowsGzip("gzip;q=abc")).isFalse();
    }

    @Test
    void renderWritesTheChosenFormatAndGzipsWhenNegotiated() throws IOException {
        String plain = new String(exposition.render(ONE, exposition.negotiate(null, null)).getBytes(), StandardCharsets.UTF_8);
        assertThat(plain).contains("# TYPE mem_limit gauge\nmem_limit 6.7108864E7\n");

        byte[] gz = exposition.render(ONE, exposition.negotiate("application/openmetrics-text", "gzip")).getBytes();
        String om = new String(new GZIPInputStream(new ByteArrayInputStream(gz)).readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(om).contains("mem_limit 6.7108864E7").endsWith("# EOF\n");
    }
}
