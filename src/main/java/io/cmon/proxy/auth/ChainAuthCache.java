package io.cmon.proxy.auth;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Authenticates requests by the certificate chain of their TLS session, verifying each distinct chain once.
 * <p>
 * Usage in the proxy, per request: {@code AuthResult r = cache.authenticate(request.connection().sslSession());}
 * <ul>
 *   <li>The expensive {@link Authenticator#verify} runs the first time a chain is presented (and again after the
 *   trust material changed, see {@link Authenticator#trustGeneration()}); keep-alive requests, new connections of
 *   the same client and resumed sessions reuse it. The cheap {@link Authenticator#resolve} runs on every request,
 *   so an edited accounts.yaml, a CRL or the passing of a certificate's expiry applies to connections that stay
 *   open.</li>
 *   <li>Keyed by the DER encoding of the presented chain, not by SSL session id: session ids depend on the TLS
 *   engine and version (BoringSSL under TLS 1.3 gives none), the certificates do not. The handshake has already
 *   proven that the client holds the leaf's private key, so equal chains verify equally.</li>
 *   <li>Bounded LRU ({@code maxChains}). Thread-safe; the lock is held only for the map access, never during
 *   verification.</li>
 * </ul>
 */
public final class ChainAuthCache {

    /** What one chain proved, under which trust generation. */
    private record Entry(Verification verification, long generation) {}

    /** A presented chain by content: the DER bytes of each certificate, leaf first. */
    private record ChainKey(List<ByteBuffer> certificates) {}

    private final Authenticator authenticator;
    private final Map<ChainKey, Entry> entries;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public ChainAuthCache(Authenticator authenticator, int maxChains) {
        if (maxChains <= 0) throw new IllegalArgumentException("maxChains must be positive");
        this.authenticator = authenticator;
        this.entries = new LinkedHashMap<>(Math.min(maxChains, 1024), 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<ChainKey, Entry> eldest) {
                return size() > maxChains;
            }
        };
    }

    /** The caller of a TLS session; a null session (plain HTTP) has no certificate. */
    public AuthResult authenticate(SSLSession session) {
        if (session == null) {
            return authenticator.resolve(new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE, "not TLS"));
        }
        Certificate[] peer = peerCertificates(session);
        ChainKey key = key(peer);
        long generation = authenticator.trustGeneration();
        if (key != null) {
            Entry e;
            synchronized (entries) {
                e = entries.get(key);
            }
            if (e != null && e.generation() == generation) {
                hits.increment();
                return authenticator.resolve(e.verification());
            }
        }
        misses.increment();
        Verification v = authenticator.verify(x509(peer));
        if (key != null && cacheable(v)) {
            synchronized (entries) {
                entries.put(key, new Entry(v, generation));
            }
        }
        return authenticator.resolve(v);
    }

    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    /** Requests answered from a cached verification. */
    public long hits() {
        return hits.sum();
    }

    /** Requests that verified a chain. */
    public long misses() {
        return misses.sum();
    }

    /** A not-yet-valid certificate becomes valid with time: verify it again rather than refuse it forever. */
    private static boolean cacheable(Verification v) {
        return !(v instanceof Verification.Refused r && r.reason() == AuthResult.Reason.NOT_YET_VALID);
    }

    /** Null for no certificate or one that cannot be encoded: such callers are verified (and refused) each time. */
    private static ChainKey key(Certificate[] peer) {
        if (peer.length == 0) return null;
        List<ByteBuffer> der = new ArrayList<>(peer.length);
        try {
            for (Certificate c : peer) der.add(ByteBuffer.wrap(c.getEncoded()));
        } catch (CertificateEncodingException e) {
            return null;
        }
        return new ChainKey(der);
    }

    private static Certificate[] peerCertificates(SSLSession session) {
        try {
            Certificate[] c = session.getPeerCertificates();
            return c == null ? new Certificate[0] : c;
        } catch (SSLPeerUnverifiedException e) {
            return new Certificate[0]; // the client sent no certificate
        }
    }

    private static List<X509Certificate> x509(Certificate[] peer) {
        List<X509Certificate> chain = new ArrayList<>(peer.length);
        for (Certificate c : peer) {
            if (!(c instanceof X509Certificate x)) return List.of(); // not X.509: as good as none
            chain.add(x);
        }
        return chain;
    }
}
