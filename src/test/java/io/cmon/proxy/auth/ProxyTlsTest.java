package io.cmon.proxy.auth;

import io.cmon.pki.Validity;
import io.cmon.pki.Pem;
import io.cmon.testing.HostileCertificates;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A real Vert.x HTTPS server built with {@link ProxyTls}, authenticating each request with {@link ChainAuthCache}
 * over {@link CaAuthenticator}, called by real TLS clients (JSSE sockets, openssl).
 */
class ProxyTlsTest {

    static final String ALICE_UUID = "2b8e8f2a-6a5c-4d55-9d7e-1f0b8a3c0001";

    @TempDir
    Path dir;

    TestPki pki;
    Path accountsFile;
    AccountStore accounts;
    ChainAuthCache cache;
    ProxyTls tls;
    Vertx vertx;
    HttpServer server;
    int port;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create(dir);
        TestPki.Issued proxy = pki.server("proxy", "*.cmon.test");
        accountsFile = Files.writeString(dir.resolve("accounts.yaml"),
                "accounts:\n  - {login: alice, uuid: " + ALICE_UUID + "}\n");
        accounts = AccountStore.load(accountsFile);
        cache = new ChainAuthCache(new CaAuthenticator(pki.caCert(), null, accounts));
        tls = new ProxyTls(proxy.cert(), proxy.key());
        vertx = Vertx.vertx();
        server = vertx.createHttpServer(tls.configure(new HttpServerOptions().setHost("127.0.0.1").setPort(0)))
                .requestHandler(req -> {
                    AuthResult r = cache.authenticate(req.connection().sslSession());
                    if (r instanceof AuthResult.Authenticated a) {
                        req.response().end(a.account().login());
                    } else {
                        req.response().setStatusCode(401).end(((AuthResult.Rejected) r).reason().label());
                    }
                });
        server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        port = server.actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    // ---- a minimal HTTP/1.1 client over one JSSE socket, so that "the same connection" is certain

    record Response(int status, String body) {}

    final class Client implements AutoCloseable {
        final SSLSocket socket;
        final InputStream in;

        Client(TestPki.Issued cert, String... protocols) throws Exception {
            KeyManagerFactory kmf = null;
            if (cert != null) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("me", cert.privateKey(), new char[0], new X509Certificate[] {cert.certificate()});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, new char[0]);
            }
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", Pem.readCertificate(pki.caCert()));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
            socket.setSoTimeout(5000);
            if (protocols.length > 0) socket.setEnabledProtocols(protocols);
            socket.startHandshake();
            in = new BufferedInputStream(socket.getInputStream());
        }

        Response get(String path) throws IOException {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String status = line();
            int length = 0;
            for (String h = line(); !h.isEmpty(); h = line()) {
                if (h.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
            }
            byte[] body = in.readNBytes(length);
            return new Response(Integer.parseInt(status.split(" ")[1]), new String(body, StandardCharsets.UTF_8));
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) throw new IOException("connection closed");
                if (c != '\r') b.write(c);
            }
            return b.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    Response once(TestPki.Issued cert) throws Exception {
        try (Client c = new Client(cert)) {
            return c.get("/");
        }
    }

    @Test
    void validCertificateGets200WithTheLogin() throws Exception {
        assertThat(once(pki.client("alice"))).isEqualTo(new Response(200, "alice"));
    }

    @Test
    void noCertificateCompletesTheHandshakeAndGets401() throws Exception {
        assertThat(once(null)).isEqualTo(new Response(401, "no_certificate"));
    }

    @Test
    void certificatesOfStrangersCompleteTheHandshakeAndGet401WithTheirReason() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"));
        assertThat(once(other.client("alice"))).isEqualTo(new Response(401, "untrusted"));
        assertThat(once(pki.selfSignedClient("alice"))).isEqualTo(new Response(401, "untrusted"));
        assertThat(once(pki.expiredClient("alice"))).isEqualTo(new Response(401, "expired"));
        assertThat(once(pki.notYetValidClient("alice"))).isEqualTo(new Response(401, "not_yet_valid"));
        assertThat(once(pki.client("mallory"))).isEqualTo(new Response(401, "unknown_account"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void keepAliveVerifiesOnceAndAccountEditsApplyToTheOpenConnection(String protocol) throws Exception {
        try (Client c = new Client(pki.client("alice"), protocol)) {
            assertThat(c.socket.getSession().getProtocol()).isEqualTo(protocol);
            assertThat(c.get("/")).isEqualTo(new Response(200, "alice"));
            assertThat(c.get("/")).isEqualTo(new Response(200, "alice"));
            assertThat(cache.misses()).isEqualTo(1);
            assertThat(cache.hits()).isEqualTo(1);

            Files.writeString(accountsFile, "accounts: []\n");
            assertThat(accounts.reload()).isTrue();
            assertThat(c.get("/")).as("same connection, alice removed").isEqualTo(new Response(401, "unknown_account"));

            Files.writeString(accountsFile, "accounts:\n  - {login: alice, uuid: " + ALICE_UUID + "}\n");
            accounts.reload();
            assertThat(c.get("/")).as("same connection, alice back").isEqualTo(new Response(200, "alice"));
            assertThat(cache.misses()).as("never verified again").isEqualTo(1);
        }
    }

    @Test
    void theSessionCacheIsBoundedLeastRecentlyUsedFirst() throws Exception {
        // three certificates of alice's: three chains to remember, in a budget for two
        Validity validity = Validity.days(1);
        TestPki.Issued ia = pki.client("alice-a", "alice", validity);
        long oneChain = 160 + ia.certificate().getEncoded().length;
        cache = new ChainAuthCache(new CaAuthenticator(pki.caCert(), null, accounts), 2 * oneChain + 20, 1024);
        try (Client a = new Client(ia);
             Client b = new Client(pki.client("alice-b", "alice", validity));
             Client c = new Client(pki.client("alice-c", "alice", validity))) {
            a.get("/");
            b.get("/");
            a.get("/"); // b is now the least recently used
            c.get("/");
            assertThat(cache.size()).isEqualTo(2);
            assertThat(cache.misses()).isEqualTo(3);
            a.get("/");
            assertThat(cache.hits()).as("a stayed").isEqualTo(2);
            b.get("/");
            assertThat(cache.misses()).as("b was evicted").isEqualTo(4);
        }
    }

    @Test
    void aNewTenantCaBundleReverifiesOpenSessionsOnce() throws Exception {
        CaAuthenticator authenticator = new CaAuthenticator(pki.caCert(), null, accounts);
        cache = new ChainAuthCache(authenticator);
        TestPki other = TestPki.create(dir.resolve("other"));
        try (Client c = new Client(pki.client("alice"))) {
            assertThat(c.get("/").status()).isEqualTo(200);
            Files.writeString(pki.caCert(), Files.readString(other.caCert())); // the old CA is no longer trusted
            assertThat(authenticator.reloadTrust()).isTrue();
            assertThat(c.get("/")).isEqualTo(new Response(401, "untrusted"));
            assertThat(c.get("/")).isEqualTo(new Response(401, "untrusted"));
            assertThat(cache.misses()).isEqualTo(2);
        }
    }

    @Test
    void tls11IsRefusedAndTls12Accepted() throws Exception {
        OpenSsl refused = openssl("-tls1_1");
        assertThat(refused.exit).isNotZero();
        assertThat(refused.output).as("refused by the server, not by openssl").contains("alert protocol version");
        OpenSsl ok = openssl("-tls1_2");
        assertThat(ok.output).contains("Protocol  : TLSv1.2");
        assertThatThrownBy(() -> new Client(pki.client("alice"), "TLSv1.1")).isInstanceOf(SSLHandshakeException.class);
    }

    record OpenSsl(int exit, String output) {}

    OpenSsl openssl(String protocolFlag) throws Exception {
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port, protocolFlag,
                "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "localhost")
                .redirectErrorStream(true).start();
        p.getOutputStream().close(); // s_client quits at EOF on stdin
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return new OpenSsl(p.exitValue(), out);
    }

    @Test
    void serverCertificateReloadServesTheNewOneAndKeepsOpenConnections() throws Exception {
        try (Client before = new Client(pki.client("alice"))) {
            assertThat(before.get("/").status()).isEqualTo(200);
            TestPki.Issued renewed = pki.server("proxy", "*.cmon.test", "renewed.cmon.test");
            assertThat(tls.reload(server).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
            assertThat(tls.certificate()).isEqualTo(renewed.certificate());

            try (Client after = new Client(pki.client("alice"))) {
                assertThat(after.socket.getSession().getPeerCertificates()[0]).isEqualTo(renewed.certificate());
                assertThat(after.get("/")).as("client certificate still requested").isEqualTo(new Response(200, "alice"));
            }
            assertThat(before.get("/")).as("the connection opened before survives").isEqualTo(new Response(200, "alice"));
            assertThat(tls.reload(server).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS))
                    .as("unchanged files").isFalse();
        }
    }

    @Test
    void aBrokenServerKeyOnReloadKeepsThePreviousPair() throws Exception {
        X509Certificate current = tls.certificate();
        Files.writeString(dir.resolve("proxy-key.pem"), "garbage\n");
        assertThat(tls.reloadFiles()).isFalse();
        Pem.writePrivateKey(dir.resolve("proxy-key.pem"), io.cmon.pki.KeyType.EC.generate().getPrivate());
        assertThat(tls.reloadFiles()).as("key of another certificate").isFalse();
        assertThat(tls.certificate()).isEqualTo(current);
        assertThat(once(pki.client("alice")).status()).isEqualTo(200);
    }

    @Test
    void theProxyAdvertisesNoAcceptableIssuersSoClientsAlwaysSendTheirCertificate() throws Exception {
        OpenSsl out = openssl("-tls1_2");
        assertThat(out.output).contains("No client certificate CA names sent");
    }

    // ---- hostile certificates: each is the caller's input, so each is a 401 with a reason, never a 500

    @Test
    void aCertificateTheJdkCannotParseIs401MalformedNot500() throws Exception {
        HostileCertificates.KeyAndCert bad = HostileCertificates.unparseableByJdk(dir, "alice");
        assertThat(HostileCertificates.curlStatus(bad, port, "/")).isEqualTo(401);
        assertThat(curlBody(bad)).isEqualTo("malformed");
    }

    @Test
    void aValidChainWithAnUnparseableCertificateAppendedIs401() throws Exception {
        HostileCertificates.KeyAndCert chain =
                HostileCertificates.validChainWithUnparseableAppended(dir, pki.client("alice"));
        assertThat(HostileCertificates.curlStatus(chain, port, "/")).isEqualTo(401);
        assertThat(curlBody(chain)).isEqualTo("malformed");
    }

    @Test
    void anOuOfTypeRealIs401InBothModes() throws Exception {
        HostileCertificates.KeyAndCert bad = HostileCertificates.badSubject(dir, "real-ou",
                pki.ca().certificate(), pki.ca().privateKey(), true);
        assertThat(HostileCertificates.curlStatus(bad, port, "/")).isEqualTo(401);
        // account-key mode reads the subject before any signature is checked
        cache = new ChainAuthCache(new AccountKeyAuthenticator(accounts));
        assertThat(HostileCertificates.curlStatus(bad, port, "/")).isEqualTo(401);
        HostileCertificates.KeyAndCert unparseable = HostileCertificates.unparseableByJdk(dir, "alice");
        assertThat(HostileCertificates.curlStatus(unparseable, port, "/")).isEqualTo(401);
    }

    /**
     * OpenSSL will not even load a certificate whose CN is invalid UTF-8, so no real client sends one here; the
     * chain is handed to the cache as BoringSSL hands over what it received: DER, parsed on demand.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ca", "account-key"})
    void aCnOfInvalidUtf8IsRefusedNotThrown(String mode) throws Exception {
        HostileCertificates.KeyAndCert bad = HostileCertificates.badSubject(dir, "bad-utf8-" + mode,
                pki.ca().certificate(), pki.ca().privateKey(), false);
        byte[] der = java.util.Base64.getMimeDecoder().decode(Files.readString(bad.cert())
                .replaceAll("-----[A-Z ]+-----", "").trim());
        java.security.cert.Certificate raw = new java.security.cert.Certificate("X.509") {
            @Override public byte[] getEncoded() { return der.clone(); }
            @Override public void verify(java.security.PublicKey key) { throw new IllegalStateException("lazy"); }
            @Override public void verify(java.security.PublicKey key, String sigProvider) { throw new IllegalStateException("lazy"); }
            @Override public String toString() { return "raw"; }
            @Override public java.security.PublicKey getPublicKey() { throw new IllegalStateException("lazy"); }
        };
        ChainAuthCache c = new ChainAuthCache(mode.equals("ca") ? new CaAuthenticator(pki.caCert(), null, accounts)
                : new AccountKeyAuthenticator(accounts));
        AuthResult r = c.authenticate(new java.security.cert.Certificate[] {raw});
        assertThat(r).isInstanceOf(AuthResult.Rejected.class);
        assertThat(((AuthResult.Rejected) r).reason()).isIn(AuthResult.Reason.MALFORMED, AuthResult.Reason.BAD_SUBJECT);
    }

    @Test
    void refusedChainsKeepNoCertificateBytesSoStrangersCannotGrowTheCache() throws Exception {
        cache = new ChainAuthCache(new CaAuthenticator(pki.caCert(), null, accounts));
        try (Client alice = new Client(pki.client("alice"))) {
            assertThat(alice.get("/").status()).isEqualTo(200);
            long withAlice = cache.retainedBytes();
            // 200 distinct self-signed chains of ~94 KB each: 18 MiB sent, refused each
            for (int i = 0; i < 200; i++) {
                X509Certificate big = Pem.readCertificate(
                        HostileCertificates.large(dir, "stranger-" + i, 94_000).cert());
                assertThat(cache.authenticate(new java.security.cert.Certificate[] {big}))
                        .isInstanceOf(AuthResult.Rejected.class);
            }
            assertThat(cache.retainedBytes()).as("refused chains cost a digest and a reason")
                    .isLessThan(withAlice + 200 * 1024);
            assertThat(alice.get("/").status()).isEqualTo(200);
            assertThat(cache.misses()).as("alice was not evicted by the strangers").isEqualTo(201);
        }
    }

    @Test
    void refusedChainsAreBoundedByBytesNotEntries() throws Exception {
        cache = new ChainAuthCache(new CaAuthenticator(pki.caCert(), null, accounts), 1 << 20, 64 * 1024);
        for (int i = 0; i < 2000; i++) {
            X509Certificate c = CertificateAuthorityHolder.selfSigned("s" + i);
            cache.authenticate(new java.security.cert.Certificate[] {c});
        }
        assertThat(cache.retainedBytes()).isLessThanOrEqualTo(64 * 1024);
        assertThat(cache.size()).isBetween(50, 200);
    }

    /** Small self-signed client certificates, quickly. */
    static final class CertificateAuthorityHolder {
        static X509Certificate selfSigned(String cn) {
            return io.cmon.pki.CertificateAuthority.selfSigned(io.cmon.pki.Profile.CLIENT, cn,
                    io.cmon.pki.KeyType.EC, Validity.days(1)).certificate();
        }
    }

    String curlBody(HostileCertificates.KeyAndCert client) throws Exception {
        Process p = new ProcessBuilder("curl", "-sk", "--max-time", "10", "--cert", client.cert().toString(),
                "--key", client.key().toString(), "https://127.0.0.1:" + port + "/").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
