package io.cmon.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The ledger against Vert.x's real client and a real loopback listener whose accept queue is full, so that a
 * connection is made only after the request waiting for it gave up: the case where Vert.x 4.5's pool loses it.
 */
class ConnectionLedgerTest {

    final AtomicLong now = new AtomicLong(1_000_000);
    final Vertx vertx = Vertx.vertx();
    final List<Socket> sockets = new ArrayList<>();
    ServerSocket listener;

    @AfterEach
    void close() throws Exception {
        for (Socket s : sockets) s.close();
        if (listener != null) listener.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aConnectionMadeAfterItsRequestGaveUpIsClosedByTheSweepAndTheClaimedOneIsKept() throws Exception {
        ConnectionLedger ledger = new ConnectionLedger("inventory", Duration.ofSeconds(90), now::get);
        HttpClient client = ledger.attach(vertx.createHttpClient(
                new HttpClientOptions().setConnectTimeout(5000).setKeepAlive(true), new PoolOptions().setHttp1MaxSize(1)));

        // a listener that does not accept yet, its queue full: the kernel drops new SYNs, the client resends them
        listener = new ServerSocket();
        listener.bind(new InetSocketAddress("127.0.0.1", 0), 1);
        int port = listener.getLocalPort();
        while (true) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress("127.0.0.1", port), 300);
                sockets.add(s);
            } catch (SocketTimeoutException e) {
                s.close();
                break;
            }
        }
        assertThat(sockets).as("connections queued before the queue was full").isNotEmpty();
        RequestOptions request = new RequestOptions().setHost("127.0.0.1").setPort(port).setURI("/");

        // the request gives up after 300 ms; the SYN resent after ~1 s finds the queue drained
        Throwable gaveUp = client.request(new RequestOptions(request).setConnectTimeout(300))
                .toCompletionStage().toCompletableFuture().handle((r, e) -> e).get(10, TimeUnit.SECONDS);
        assertThat(gaveUp).hasMessageContaining("exceeded when getting a connection");
        Map<Integer, Socket> accepted = new ConcurrentHashMap<>(); // by the client's port
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    Socket s = listener.accept();
                    accepted.put(s.getPort(), s);
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> ledger.opened() == 1);

        // Vert.x's pool has lost that connection: the next request opens a second one
        HttpClientRequest next = client.request(new RequestOptions(request).setConnectTimeout(5000))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        next.exceptionHandler(e -> { }); // never sent: closing the client at the end fails it, as expected
        ledger.claim(next.connection());
        assertThat(ledger.opened()).as("connections the client opened").isEqualTo(2);
        assertThat(ledger.open()).isEqualTo(2);
        int claimedPort = next.connection().localAddress().port();
        await().atMost(Duration.ofSeconds(5)).until(() -> accepted.size() == sockets.size() + 2);
        for (Socket s : sockets) accepted.remove(s.getLocalPort());
        Socket claimed = accepted.remove(claimedPort);
        Socket stray = accepted.values().iterator().next();

        assertThat(ledger.sweep()).as("within the grace, nothing is closed").isZero();
        now.addAndGet(Duration.ofSeconds(91).toMillis());
        assertThat(ledger.sweep()).isEqualTo(1);
        assertThat(ledger.straysClosed()).isEqualTo(1);

        stray.setSoTimeout(5000);
        assertThat(stray.getInputStream().read()).as("the stray connection is closed by the proxy").isEqualTo(-1);
        await().atMost(Duration.ofSeconds(5)).until(() -> ledger.open() == 1);
        claimed.setSoTimeout(300);
        try {
            int read = claimed.getInputStream().read();
            assertThat(read).as("the claimed connection carries its request, still open").isNotEqualTo(-1);
        } catch (SocketTimeoutException stillOpen) {
            // nothing sent yet and not closed: still open, as it should be
        }
        assertThat(ledger.sweep()).as("a claimed connection is never a stray").isZero();
    }
}
