package io.cmon.proxy.forward;

import io.cmon.config.HostPort;
import io.cmon.proxy.route.Failure;
import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * Forwards one scrape to an agent over the event loop's keep-alive pool and streams the body back with
 * backpressure, never buffering it whole (at most {@link #COALESCE_BYTES} are held between writes).
 * {@code Accept}/{@code Accept-Encoding} go to the agent and {@code Content-Type}/{@code Content-Encoding} come back
 * untouched, so a gzip body is compressed exactly once, by the agent.
 * Must be called on the event loop of the incoming request: every callback below then runs on that one thread.
 */
public final class AgentForwarder {

    /**
     * Body chunks from the agent are written on to the caller once this many bytes are in hand, or at the end of
     * the body. The agent's answer arrives in decoder chunks of at most 8 KiB and every write here is flushed on
     * its own (it happens outside the caller connection's read), so writing chunk by chunk cost one TLS record
     * and one send per chunk; a typical answer (10–60 KiB) now goes out in one or a few writes. Bounded: the body
     * is still streamed, never held whole.
     */
    static final int COALESCE_BYTES = 64 * 1024;

    private final Vertx vertx;
    private final HttpClient client;
    /** Told the connection each request was given (the proxy's {@code ConnectionLedger}). */
    private final Consumer<HttpConnection> claim;
    private final long maxResponseBytes;

    public AgentForwarder(Vertx vertx, HttpClient client, Consumer<HttpConnection> claim, long maxResponseBytes) {
        this.vertx = vertx;
        this.client = client;
        this.claim = claim;
        this.maxResponseBytes = maxResponseBytes;
    }

    /** Streams {@code GET path} of the agent to {@code in.response()}; never fails, the outcome says how it went. */
    public Future<Forwarded> forward(HostPort agent, String path, HttpServerRequest in, Duration timeout) {
        return new Exchange(agent, path, in, timeout).start();
    }

    private final class Exchange {
        final Promise<Forwarded> done = Promise.promise();
        final HostPort agent;
        final String path;
        final HttpServerRequest in;
        final HttpServerResponse out;
        final Duration timeout;
        HttpClientRequest request;
        long timer;
        long bytes;
        /** Body bytes read from the agent and not yet written to the caller (less than COALESCE_BYTES). */
        Buffer pending;

        Exchange(HostPort agent, String path, HttpServerRequest in, Duration timeout) {
            this.agent = agent;
            this.path = path;
            this.in = in;
            this.out = in.response();
            this.timeout = timeout;
        }

        Future<Forwarded> start() {
            RequestOptions options = new RequestOptions()
                    .setMethod(HttpMethod.GET)
                    .setHost(agent.host())
                    .setPort(agent.port())
                    .setURI(path)
                    .setConnectTimeout(Math.max(1, timeout.toMillis()));
            String accept = in.getHeader(HttpHeaders.ACCEPT);
            if (accept != null) options.putHeader(HttpHeaders.ACCEPT, accept);
            String encoding = in.getHeader(HttpHeaders.ACCEPT_ENCODING);
            if (encoding != null) options.putHeader(HttpHeaders.ACCEPT_ENCODING, encoding);

            timer = vertx.setTimer(Math.max(1, timeout.toMillis()), id -> {
                timer = -1;
                abort(Failure.AGENT_TIMEOUT, "no complete answer within " + timeout.toMillis() + " ms");
            });
            out.closeHandler(v -> abort(Failure.AGENT_ERROR, "caller went away"));
            client.request(options).onComplete(ar -> {
                if (ar.failed()) {
                    fail(ar.cause());
                    return;
                }
                request = ar.result();
                claim.accept(request.connection());
                if (done.future().isComplete()) {
                    request.reset();
                    return;
                }
                request.send().onComplete(sent -> {
                    if (sent.failed()) fail(sent.cause());
                    else onResponse(sent.result());
                });
            });
            return done.future();
        }

        void onResponse(HttpClientResponse resp) {
            if (done.future().isComplete()) return;
            int status = resp.statusCode();
            if (status != 200) {
                resp.body(); // drain, so the connection goes back to the pool
                Failure f = switch (status) {
                    case 404 -> Failure.NOT_FOUND; // gone from the agent since the last inventory answer
                    case 503 -> Failure.AGENT_DOWN;
                    default -> Failure.AGENT_ERROR;
                };
                finish(new Forwarded.Failed(f, "agent answered " + status));
                return;
            }
            String length = resp.getHeader(HttpHeaders.CONTENT_LENGTH);
            long declared = parseLength(length);
            if (declared > maxResponseBytes) {
                abort(Failure.AGENT_TOO_LARGE, null);
                return;
            }
            out.setStatusCode(200);
            copy(resp, HttpHeaders.CONTENT_TYPE);
            copy(resp, HttpHeaders.CONTENT_ENCODING);
            copy(resp, HttpHeaders.VARY);
            if (declared >= 0) out.putHeader(HttpHeaders.CONTENT_LENGTH, length);
            else out.setChunked(true);

            resp.exceptionHandler(e -> abort(Failure.AGENT_ERROR, String.valueOf(e.getMessage())));
            resp.handler(buf -> {
                if (done.future().isComplete()) return;
                bytes += buf.length();
                if (bytes > maxResponseBytes) {
                    abort(Failure.AGENT_TOO_LARGE, null);
                    return;
                }
                // each chunk is a copy Vert.x made for this handler (VertxHandler.safeBuffer): ours to append to
                if (pending == null) pending = buf;
                else pending.appendBuffer(buf);
                if (pending.length() < COALESCE_BYTES) return;
                out.write(pending);
                pending = null;
                if (out.writeQueueFull()) {
                    resp.pause();
                    out.drainHandler(v -> resp.resume());
                }
            });
            resp.endHandler(v -> {
                if (done.future().isComplete()) return;
                if (pending != null) out.end(pending);
                else out.end();
                pending = null;
                finish(new Forwarded.Streamed(200, bytes));
            });
        }

        private void copy(HttpClientResponse resp, CharSequence header) {
            String v = resp.getHeader(header);
            if (v != null) out.putHeader(header, v);
        }

        /** A failure of the connection or request to the agent. */
        void fail(Throwable cause) {
            Failure f = cause instanceof ConnectTimeoutException ? Failure.AGENT_TIMEOUT : Failure.AGENT_ERROR;
            abort(f, cause.getMessage());
        }

        /** Ends the exchange: an error answer when nothing was sent yet, else a reset of the caller's connection. */
        void abort(Failure failure, String detail) {
            if (done.future().isComplete()) return;
            // settle first: resetting the request fails its futures synchronously, which must not win
            boolean headSent = out.headWritten();
            finish(headSent ? new Forwarded.Aborted(failure, bytes) : new Forwarded.Failed(failure, detail));
            if (request != null) request.reset();
            if (headSent) out.reset();
        }

        void finish(Forwarded outcome) {
            if (timer >= 0) vertx.cancelTimer(timer);
            timer = -1;
            done.tryComplete(outcome);
        }
    }

    static long parseLength(String header) {
        if (header == null) return -1;
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
