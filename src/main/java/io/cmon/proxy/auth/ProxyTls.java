package io.cmon.proxy.auth;

import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLOptions;
import io.vertx.core.net.TrustOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The TLS of the proxy's tenant listener (DESIGN §3): HTTPS only, TLS 1.2 and 1.3, client certificate requested
 * but not required, any client certificate accepted at the handshake ({@link AnyClientCertificate}) so that
 * {@link CaAuthenticator} answers every bad one with a 401 and its reason.
 * <p>
 * The server certificate and key are read and checked here (the key must belong to the certificate), then handed
 * to Vert.x as values. {@link #reload(HttpServer)} re-reads them and swaps them into a running server without
 * dropping its connections; broken files keep the previous pair.
 */
public final class ProxyTls {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyTls.class);

    /** TLS 1.2 and 1.3 only. */
    public static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

    private record Pair(byte[] certPem, byte[] keyPem, X509Certificate certificate) {}

    private final Path certFile;
    private final Path keyFile;
    private final TrustOptions trust = TrustOptions.wrap(new AnyClientCertificate());
    private volatile Pair pair;
    private volatile String lastError;

    private final io.vertx.core.net.SSLEngineOptions engine;

    /** @throws PkiException when the files cannot be used (the proxy must not start) */
    public ProxyTls(Path certFile, Path keyFile) {
        this(certFile, keyFile, engine());
    }

    /** With a chosen TLS engine, e.g. {@link #jdkEngine()} where clients present Ed25519 certificates. */
    public ProxyTls(Path certFile, Path keyFile, io.vertx.core.net.SSLEngineOptions engine) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.engine = engine;
        this.pair = read();
    }

    /**
     * The JDK's engine: it requests and verifies Ed25519 client certificates, which BoringSSL leaves out of its
     * CertificateRequest (measured, TLS 1.2 and 1.3). Account-key mode uses it, since tenants' SSH keys are often
     * Ed25519; it costs more CPU per handshake and record than BoringSSL (docs/PERFORMANCE.md).
     */
    public static io.vertx.core.net.SSLEngineOptions jdkEngine() {
        return new io.vertx.core.net.JdkSSLEngineOptions();
    }

    /**
     * BoringSSL (netty-tcnative) when its native library loads on this machine, else the JDK's engine: same
     * protocols and checks, a fraction of the CPU per handshake and per record.
     */
    public static io.vertx.core.net.SSLEngineOptions engine() {
        return io.vertx.core.net.OpenSSLEngineOptions.isAvailable()
                ? new io.vertx.core.net.OpenSSLEngineOptions()
                : new io.vertx.core.net.JdkSSLEngineOptions();
    }

    /** Turns TLS on in {@code options} with the settings above; returns {@code options}. */
    public HttpServerOptions configure(HttpServerOptions options) {
        options.setSsl(true)
                .setSslEngineOptions(engine)
                .setClientAuth(ClientAuth.REQUEST)
                .setKeyCertOptions(keyCert(pair))
                .setTrustOptions(trust)
                .setEnabledSecureTransportProtocols(PROTOCOLS);
        return options;
    }

    /** The current certificate, key and trust as {@link SSLOptions} (what {@link HttpServer#updateSSLOptions} takes). */
    public SSLOptions sslOptions() {
        return new SSLOptions()
                .setKeyCertOptions(keyCert(pair))
                .setTrustOptions(trust)
                .setEnabledSecureTransportProtocols(PROTOCOLS);
    }

    /** The server certificate in use (for its expiry metric, for instance). */
    public X509Certificate certificate() {
        return pair.certificate();
    }

    /** The files to watch for {@link #reload}. */
    public List<Path> files() {
        return List.of(certFile, keyFile);
    }

    /**
     * Re-reads the certificate and key (blocking file reads: call it off the event loop). Returns true when they
     * changed and are usable; a broken or mismatched pair (e.g. read between the writes of the key and the
     * certificate) is logged and the previous pair stays.
     */
    /** Why the last reload was refused, or null when the pair in use is the one on disk. */
    public String lastError() {
        return lastError;
    }

    public synchronized boolean reloadFiles() {
        Pair next;
        try {
            next = read();
        } catch (PkiException e) {
            LOG.error("server certificate not reloaded, keeping the previous one: {}", e.getMessage());
            lastError = e.getMessage();
            return false;
        }
        lastError = null;
        Pair current = pair;
        if (Arrays.equals(next.certPem(), current.certPem()) && Arrays.equals(next.keyPem(), current.keyPem())) return false;
        pair = next;
        LOG.info("server certificate reloaded: '{}', valid until {}", next.certificate().getSubjectX500Principal().getName(),
                next.certificate().getNotAfter().toInstant());
        return true;
    }

    /**
     * {@link #reloadFiles()}, then, when the pair changed, gives it to {@code server}: new handshakes use it, open
     * connections go on. Completes with whether the server took new options. Call it for every HttpServer instance
     * that listens with these options.
     */
    public Future<Boolean> reload(HttpServer server) {
        if (!reloadFiles()) return Future.succeededFuture(false);
        return update(server);
    }

    /** Gives the current pair to {@code server} (for servers created after a reload, or a forced refresh). */
    public Future<Boolean> update(HttpServer server) {
        return server.updateSSLOptions(sslOptions(), true);
    }

    private static PemKeyCertOptions keyCert(Pair p) {
        return new PemKeyCertOptions().setCertValue(Buffer.buffer(p.certPem())).setKeyValue(Buffer.buffer(p.keyPem()));
    }

    private Pair read() {
        byte[] cert = bytes(certFile);
        byte[] key = bytes(keyFile);
        List<X509Certificate> chain = Pem.parseCertificates(certFile.toString(), new String(cert, java.nio.charset.StandardCharsets.US_ASCII));
        PrivateKey privateKey = Pem.parsePrivateKey(keyFile.toString(), new String(key, java.nio.charset.StandardCharsets.US_ASCII));
        if (!Pem.matches(chain.get(0), privateKey)) {
            throw new PkiException(keyFile + ": this key does not belong to the certificate in " + certFile);
        }
        // Vert.x wants PKCS#8 or PKCS#1; re-encode whatever we read as PKCS#8.
        return new Pair(cert, Pem.encode(privateKey).getBytes(java.nio.charset.StandardCharsets.US_ASCII), chain.get(0));
    }

    private static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new PkiException(file + ": file not found");
        } catch (IOException e) {
            throw new PkiException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
