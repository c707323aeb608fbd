package io.cmon.proxy;

import io.cmon.testing.TestPki;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A tenant's HTTPS client for tests: one keep-alive connection, a client certificate (or none), any Host header. */
final class TlsClient implements AutoCloseable {

    record Response(int status, MultiMap headers, Buffer body, HttpConnection connection) {
        String text() {
            return body.toString();
        }
    }

    private final HttpClient client;
    private final int port;

    TlsClient(Vertx vertx, TestPki.Issued cert, java.nio.file.Path ca, int port) {
        HttpClientOptions o = new HttpClientOptions().setSsl(true).setVerifyHost(false)
                .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
                .setKeepAlive(true);
        if (cert != null) o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.cert().toString())
                .setKeyPath(cert.key().toString()));
        this.client = vertx.createHttpClient(o, new PoolOptions().setHttp1MaxSize(1));
        this.port = port;
    }

    Response get(String host, String path) throws Exception {
        return get(host, path, Map.of());
    }

    Response get(String host, String path, Map<String, String> headers) throws Exception {
        RequestOptions r = new RequestOptions().setMethod(HttpMethod.GET)
                .setServer(SocketAddress.inetSocketAddress(port, "127.0.0.1"))
                .setHost(host).setPort(port).setURI(path);
        headers.forEach(r::putHeader);
        return client.request(r).compose(req -> req.send().compose(resp -> resp.body()
                        .map(b -> new Response(resp.statusCode(), resp.headers(), b, req.connection()))))
                .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
}
