package io.cmon.proxy.auth;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Authenticates requests by their TLS session, verifying each session's certificate chain once.
 * <p>
 * Usage in the proxy, per request: {@code AuthResult r = cache.authenticate(request.connection().sslSession());}
 * <ul>
 *   <li>The expensive {@link Authenticator#verify} runs on the first request of a TLS session (and again after the
 *   trust material changed, see {@link Authenticator#trustGeneration()}); keep-alive requests and resumed sessions
 *   reuse it. The cheap {@link Authenticator#resolve} runs on every request, so an edited accounts.yaml or CRL
 *   applies to connections that stay open.</li>
 *   <li>Keyed by SSL session id, bounded LRU ({@code maxSessions}); a hit also checks that the session's leaf
 *   certificate is the one verified. Sessions without an id are verified every time.</li>
 *   <li>Thread-safe; the lock is held only for the map access, never during verification.</li>
 * </ul>
 */
public final class SessionAuthCache {

    /** What one session's chain proved, under which trust generation. */
    private record Entry(Certificate leaf, Verification verification, long generation) {}

    private final Authenticator authenticator;
    private final Map<String, Entry> entries;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public SessionAuthCache(Authenticator authenticator, int maxSessions) {
        if (maxSessions <= 0) throw new IllegalArgumentException("maxSessions must be positive");
        this.authenticator = authenticator;
        this.entries = new LinkedHashMap<>(Math.min(maxSessions, 1024), 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > maxSessions;
            }
        };
    }

    /** The caller of a TLS session; a null session (plain HTTP) has no certificate. */
    public AuthResult authenticate(SSLSession session) {
        if (session == null) {
            return authenticator.resolve(new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE, "not TLS"));
        }
        Certificate[] peer = peerCertificates(session);
        Certificate leaf = peer.length == 0 ? null : peer[0];
        byte[] id = session.getId();
        String key = id == null || id.length == 0 ? null : HexFormat.of().formatHex(id);
        long generation = authenticator.trustGeneration();
        if (key != null) {
            Entry e;
            synchronized (entries) {
                e = entries.get(key);
            }
            if (e != null && e.generation() == generation && sameLeaf(e.leaf(), leaf)) {
                hits.increment();
                return authenticator.resolve(e.verification());
            }
        }
        misses.increment();
        Verification v = authenticator.verify(x509(peer));
        if (key != null && cacheable(v)) {
            synchronized (entries) {
                entries.put(key, new Entry(leaf, v, generation));
            }
        }
        return authenticator.resolve(v);
    }

    /** Drops a session (e.g. when its connection closes); harmless when absent. */
    public void forget(SSLSession session) {
        byte[] id = session == null ? null : session.getId();
        if (id == null || id.length == 0) return;
        synchronized (entries) {
            entries.remove(HexFormat.of().formatHex(id));
        }
    }

    public void clear() {
        synchronized (entries) {
            entries.clear();
        }
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

    private static boolean sameLeaf(Certificate cached, Certificate now) {
        return cached == now || (cached != null && cached.equals(now));
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
