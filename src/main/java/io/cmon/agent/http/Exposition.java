package io.cmon.agent.http;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.zip.GZIPOutputStream;

/**
 * Chooses the exposition format and encoding of a scrape from its {@code Accept} and {@code Accept-Encoding}
 * headers, and renders snapshots with client_java's writers. Only the two text formats are offered: text 0.0.4 by
 * default, OpenMetrics when asked for; the protobuf format is not (Prometheus falls back to text).
 */
public final class Exposition {

    /** What to send: a writer, its Content-Type, and whether to gzip the body. */
    public record Negotiated(ExpositionFormatWriter writer, String contentType, boolean gzip) {}

    private final ExpositionFormatWriter text;
    private final ExpositionFormatWriter openMetrics;
    private static final int MIN_HINT = 1024;
    private static final int MAX_HINT = 1 << 20;
    private volatile int sizeHint = 16 * 1024;

    public Exposition() {
        ExpositionFormats formats = ExpositionFormats.init();
        this.text = formats.getPrometheusTextFormatWriter();
        this.openMetrics = formats.getOpenMetricsTextFormatWriter();
    }

    public Negotiated negotiate(String accept, String acceptEncoding) {
        ExpositionFormatWriter writer = accept != null && openMetrics.accepts(accept) ? openMetrics : text;
        return new Negotiated(writer, writer.getContentType(), allowsGzip(acceptEncoding));
    }

    /**
     * The body, gzipped when negotiated, written straight into the buffer the server sends (no intermediate array
     * and no copy at the end). The buffer starts at the size of the previous answer, so it rarely grows.
     */
    public Buffer render(MetricSnapshots snapshots, Negotiated how) {
        Buffer body = Buffer.buffer(sizeHint);
        try {
            OutputStream out = new BufferOutput(body);
            if (how.gzip()) {
                try (OutputStream gz = new GZIPOutputStream(out, 8192)) {
                    how.writer().write(gz, snapshots);
                }
            } else {
                how.writer().write(out, snapshots);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams: not expected
        }
        // a racy hint is fine: any size works, a close one saves growing the buffer
        sizeHint = Math.min(MAX_HINT, Math.max(MIN_HINT, body.length() + 512));
        return body;
    }

    /** An OutputStream over a Vert.x buffer: appends, nothing else. */
    private static final class BufferOutput extends OutputStream {
        private final Buffer buffer;

        BufferOutput(Buffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public void write(int b) {
            buffer.appendByte((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            buffer.appendBytes(b, off, len);
        }
    }

    /** True when {@code Accept-Encoding} lists gzip (or *) without {@code q=0}. */
    static boolean allowsGzip(String acceptEncoding) {
        if (acceptEncoding == null) return false;
        for (String part : acceptEncoding.split(",")) {
            String[] p = part.trim().split(";");
            String coding = p[0].trim().toLowerCase(Locale.ROOT);
            if (!coding.equals("gzip") && !coding.equals("*")) continue;
            boolean refused = false;
            for (int i = 1; i < p.length; i++) {
                String param = p[i].trim().toLowerCase(Locale.ROOT).replace(" ", "");
                if (param.startsWith("q=")) {
                    try {
                        refused = Double.parseDouble(param.substring(2)) <= 0;
                    } catch (NumberFormatException e) {
                        refused = true;
                    }
                }
            }
            if (!refused) return true;
        }
        return false;
    }
}
