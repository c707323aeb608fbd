package io.cmon.agent.http;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

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
    /**
     * gzip streams kept between scrapes. A new {@code GZIPOutputStream} per scrape set up and tore down a zlib
     * stream each time (~256 KiB of native state, initialised per call): ~110 µs of a ~15 KB body's ~130 µs under
     * the agent's C1 flags, against ~25 µs with a kept one (docs/PERFORMANCE.md, "Run K"). At most two are kept
     * (~256 KiB each): the agent renders on its two collection workers, rarely elsewhere.
     */
    private final ArrayBlockingQueue<GzipStream> gzipStreams = new ArrayBlockingQueue<>(2);

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
            if (how.gzip()) {
                GzipStream gz = gzipStreams.poll();
                if (gz == null) gz = new GzipStream();
                boolean done = false;
                try {
                    gz.start(body);
                    how.writer().write(gz, snapshots);
                    gz.finish();
                    done = true;
                } finally {
                    // a stream that failed half-way, or one more than the pool keeps, frees its native state now
                    if (!done || !gzipStreams.offer(gz.detach())) gz.end();
                }
            } else {
                how.writer().write(new BufferOutput(body), snapshots);
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

    /**
     * A gzip member (RFC 1952) written into a Vert.x buffer by a raw deflater that is reset, not rebuilt, for the
     * next body. The JDK's {@code GZIPOutputStream} writes the same framing but cannot take a kept deflater.
     * Level 1 (fastest): on agent bodies (~15 KB of text) it is ~2x faster than the default level 6 for ~10 %
     * more bytes (~2.0 vs ~1.8 KB).
     */
    static final class GzipStream extends OutputStream {
        /** ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS unknown (255). */
        private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
        private static final byte[] NOTHING = new byte[0];
        private final Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
        private final CRC32 crc = new CRC32();
        private final byte[] chunk = new byte[8192];
        private final byte[] one = new byte[1];
        private Buffer out;
        private long size;

        void start(Buffer target) {
            deflater.reset();
            crc.reset();
            size = 0;
            out = target;
            out.appendBytes(HEADER);
        }

        @Override
        public void write(int b) {
            one[0] = (byte) b;
            write(one, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (len == 0) return;
            crc.update(b, off, len);
            size += len;
            deflater.setInput(b, off, len);
            while (!deflater.needsInput()) {
                int n = deflater.deflate(chunk, 0, chunk.length, Deflater.NO_FLUSH);
                if (n > 0) out.appendBytes(chunk, 0, n);
            }
        }

        /** Ends the member: the rest of the deflate stream, then CRC-32 and the input size mod 2^32, little-endian. */
        void finish() {
            deflater.finish();
            while (!deflater.finished()) {
                int n = deflater.deflate(chunk, 0, chunk.length, Deflater.NO_FLUSH);
                if (n > 0) out.appendBytes(chunk, 0, n);
            }
            out.appendIntLE((int) crc.getValue());
            out.appendIntLE((int) size);
        }

        /** Lets go of the finished body (a kept stream must not hold the last answer). */
        GzipStream detach() {
            out = null;
            deflater.setInput(NOTHING); // nor the writer's last chunk
            return this;
        }

        void end() {
            out = null;
            deflater.end();
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
