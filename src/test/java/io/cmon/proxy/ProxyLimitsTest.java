package io.cmon.proxy;

import io.cmon.api.InstancesPage;
import io.cmon.config.ProxyConfig;
import io.cmon.pki.Pem;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.cmon.proxy.ProxyInProcessTest.ALICE;
import static io.cmon.proxy.ProxyInProcessTest.OPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a stranger may cost the proxy: header deadlines, connection caps, the failed-authentication throttle, and
 * the admin listener's Host check. A real proxy with small limits, real TLS, raw sockets where the HTTP client would
 * hide what is on the wire.
 */
class ProxyLimitsTest {

    @TempDir
    static Path dir;
    static Vertx vertx;
    static TestPki pki;
    static FakeAgent agent;
    static Proxy proxy;
    /** Verified in {@link #start()}, before any test drains 127.0.0.1's failure budget: unaffected by throttling. */
    static TestPki.Issued alice;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n"
                + "  - {login: alice, uuid: " + ALICE + ", operator: false}\n"
                + "  - {login: ops, uuid: " + OPS + ", operator: true}\n");
        agent = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(
                "aaaaaaaa-0000-4000-8000-000000000001", "cn-1"), 1, List.of()), 0);
        ProxyConfig c = new ProxyConfig("127.0.0.1:0", "127.0.0.1:0", "cmon.test", "cmon.test",
                new ProxyConfig.Tls(dir.resolve("proxy.pem").toString(), dir.resolve("proxy-key.pem").toString()),
                new ProxyConfig.Auth("ca", pki.caCert().toString(), null), dir.resolve("accounts.yaml").toString(),
                new ProxyConfig.Agents(List.of("127.0.0.1:" + agent.port()), null, null), null, null,
                new ProxyConfig.Timeouts("2s"), "1MiB",
                new ProxyConfig.Limits(100, 4, "1s", "5s", "8KiB", 0.01, 3), List.of("ops.example"));
        c.validate();
        proxy = Proxy.start(vertx, c).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.inventory().synced());
        alice = pki.client("alice");
        try (SSLSocket s = tls(alice)) {
            assertThat(request(s, "/v1/discover")).startsWith("HTTP/1.1 200");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) proxy.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (agent != null) agent.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static SSLSocket tls(TestPki.Issued cert) throws Exception {
        KeyManagerFactory kmf = null;
        if (cert != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("me", cert.privateKey(), new char[0], new X509Certificate[] {cert.certificate()});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
        }
        X509Certificate ca = Pem.readCertificate(pki.caCert());
        TrustManager trust = new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) throws java.security.cert.CertificateException {
                try {
                    c[0].verify(ca.getPublicKey());
                } catch (Exception e) {
                    throw new java.security.cert.CertificateException(e);
                }
            }
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        };
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {trust}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", proxy.port());
        s.setSoTimeout(6000);
        s.startHandshake();
        return s;
    }

    /** Reads until the server closes; fails with SocketTimeoutException when it does not within the timeout. */
    static long millisUntilClosed(Socket s) throws IOException {
        long start = System.nanoTime();
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) { /* drain whatever comes */ }
        } catch (javax.net.ssl.SSLException | java.net.SocketException closed) {
            // a reset or close_notify also means closed
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    static String request(SSLSocket s, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: cmon.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        byte[] buf = new byte[4096];
        int n = s.getInputStream().read(buf);
        return n < 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII);
    }

    @Test
    void aConnectionThatNeverFinishesItsHeadersIsClosedAtTheHeaderDeadline() throws Exception {
        try (SSLSocket s = tls(pki.client("alice"))) {
            s.getOutputStream().write("GET /v1/discover HTTP/1.1\r\nHost: cmon.test\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertThat(millisUntilClosed(s)).isLessThan(4000);
        }
    }

    @Test
    void aConnectionThatNeverShakesHandsIsClosedAtTheHandshakeDeadline() throws Exception {
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), proxy.port())) {
            s.setSoTimeout(6000);
            s.getOutputStream().write(0x16); // the first byte of a TLS record, then nothing
            s.getOutputStream().flush();
            assertThat(millisUntilClosed(s)).isLessThan(4000);
        }
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(admin("/metrics", "127.0.0.1").body())
                .containsPattern("cmon_proxy_tls_handshake_failures_total [1-9]"));
    }

    @Test
    void connectionsOverThePerSourceCapAreClosed() throws Exception {
        List<SSLSocket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                SSLSocket s = tls(pki.client("alice"));
                assertThat(request(s, "/_ping")).startsWith("HTTP/1.1 200");
                open.add(s);
            }
            SSLSocket fifth = tls(pki.client("alice"));
            open.add(fifth);
            String answer;
            try {
                answer = request(fifth, "/_ping");
            } catch (java.net.SocketException | javax.net.ssl.SSLException closed) {
                answer = "";
            }
            assertThat(answer).as("the fifth connection from one address is closed").isEmpty();
        } finally {
            for (SSLSocket s : open) s.close();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            try (SSLSocket again = tls(pki.client("alice"))) {
                assertThat(request(again, "/_ping")).as("freed slots are reusable").startsWith("HTTP/1.1 200");
            }
        });
    }

    @Test
    void aSourceFailingToAuthenticateIsThrottledButVerifiedTenantsBehindItAreNot() throws Exception {
        TestPki.Issued alice = pki.client("alice-throttle", "alice", io.cmon.pki.Validity.days(1));
        try (TlsClient a = new TlsClient(vertx, alice, pki.caCert(), proxy.port())) {
            assertThat(a.get("cmon.test", "/v1/discover").status()).isEqualTo(200);
            TestPki other = TestPki.create(dir.resolve("other"));
            List<Integer> codes = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                try (TlsClient stranger = new TlsClient(vertx, other.client("mallory" + i), pki.caCert(), proxy.port())) {
                    TlsClient.Response r = stranger.get("cmon.test", "/v1/discover");
                    codes.add(r.status());
                    if (r.status() == 429) assertThat(r.headers().get("Retry-After")).isNotBlank();
                }
            }
            assertThat(codes).containsExactly(401, 401, 401, 429, 429);
            assertThat(a.get("cmon.test", "/v1/discover").status()).as("alice's chain was verified before")
                    .isEqualTo(200);
            String metrics = admin("/metrics", "127.0.0.1").body();
            assertThat(metrics).contains("cmon_proxy_auth_failures_total{reason=\"throttled\"} 2.0");
        }
    }

    static HttpResponse<String> admin(String path, String host) throws Exception {
        // java.net.http refuses to set Host: a raw socket says exactly what a browser would
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), proxy.adminPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String raw = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(raw.substring(9, 12));
            String body = raw.substring(raw.indexOf("\r\n\r\n") + 4);
            return new SimpleResponse(status, body);
        }
    }

    record SimpleResponse(int statusCode, String body) implements HttpResponse<String> {
        public HttpRequest request() { return null; }
        public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
        public java.net.http.HttpHeaders headers() { return null; }
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
        public URI uri() { return null; }
        public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
    }

    @Test
    void twoHostHeadersOrNoneOnHttp11AreABadRequest() throws Exception {
        for (String headers : List.of("Host: cmon.test\r\nHost: other.test\r\n", "")) {
            try (SSLSocket s = tls(alice)) {
                s.getOutputStream().write(("GET /v1/discover HTTP/1.1\r\n" + headers + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                byte[] buf = new byte[4096];
                int n = s.getInputStream().read(buf);
                assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 400");
            }
        }
    }

    @Test
    void theAdminListenerAnswersOnlyItsOwnNames() throws Exception {
        int port = proxy.adminPort();
        assertThat(admin("/-/healthy", "127.0.0.1:" + port).statusCode()).isEqualTo(200);
        assertThat(admin("/-/healthy", "localhost:" + port).statusCode()).isEqualTo(200);
        assertThat(admin("/-/healthy", "[::1]:" + port).statusCode()).isEqualTo(200);
        assertThat(admin("/-/healthy", "OPS.example").statusCode()).as("adminHosts").isEqualTo(200);
        HttpResponse<String> rebound = admin("/status", "attacker.example:" + port);
        assertThat(rebound.statusCode()).isEqualTo(403);
        assertThat(rebound.body()).contains("adminHosts").doesNotContain("\"agents\"");
    }

    @Test
    void aReloadWithARefusedAccountsFileIsAFailureNotOk() throws Exception {
        Path accounts = dir.resolve("accounts.yaml");
        String good = Files.readString(accounts);
        Files.writeString(accounts, "accounts: [ {login: broken\n");
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + proxy.adminPort() + "/-/reload"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.body()).contains("reload refused: accounts");
        } finally {
            Files.writeString(accounts, good);
            proxy.accounts().reload();
        }
        HttpResponse<String> ok = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + proxy.adminPort() + "/-/reload"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);
    }
}
