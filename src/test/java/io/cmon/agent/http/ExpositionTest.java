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

    /** Many gauges with long help texts: ~300 KB of text, several deflate chunks and buffer growths. */
    static MetricSnapshots large(String prefix) {
        MetricSnapshots.Builder b = MetricSnapshots.builder();
        for (int i = 0; i < 2000; i++) {
            b.metricSnapshot(GaugeSnapshot.builder().name(prefix + "_gauge_" + i)
                    .help("help text of gauge " + i + " that is long enough to matter, " + prefix)
                    .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(i * 1.5 + 0.25).build())
                    .build());
        }
        return b.build();
    }

    static String gunzip(byte[] gz) throws IOException {
        // GZIPInputStream checks the header, the CRC-32 and the length in the trailer
        return new String(new GZIPInputStream(new ByteArrayInputStream(gz)).readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void gzippedBodiesStayExactWhenTheGzipStreamIsReusedAcrossRenders() throws IOException {
        Exposition.Negotiated plain = exposition.negotiate(null, null);
        Exposition.Negotiated gzip = exposition.negotiate(null, "gzip");
        MetricSnapshots a = large("a");
        MetricSnapshots b = large("b");
        String plainA = new String(exposition.render(a, plain).getBytes(), StandardCharsets.UTF_8);
        String plainB = new String(exposition.render(b, plain).getBytes(), StandardCharsets.UTF_8);
        assertThat(plainA.length()).isGreaterThan(200_000);
        // one after the other on one thread: the second and third render get the first one's kept stream
        assertThat(gunzip(exposition.render(a, gzip).getBytes())).isEqualTo(plainA);
        assertThat(gunzip(exposition.render(b, gzip).getBytes())).isEqualTo(plainB);
        assertThat(gunzip(exposition.render(ONE, gzip).getBytes()))
                .isEqualTo(new String(exposition.render(ONE, plain).getBytes(), StandardCharsets.UTF_8));
        assertThat(gunzip(exposition.render(a, gzip).getBytes())).isEqualTo(plainA);
    }
}
