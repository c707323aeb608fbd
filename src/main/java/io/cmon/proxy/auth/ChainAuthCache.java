package io.cmon.proxy.auth;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

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
 *   <li>Keyed by a SHA-256 digest of the presented chain's DER, not by SSL session id (session ids depend on the TLS
 *   engine and version; BoringSSL under TLS 1.3 gives none) and not by the DER itself: a stranger's chain may be
 *   ~100 KB, and what a stranger sends must cost the proxy a bounded amount however many chains it tries.</li>
 *   <li>Two budgets, in bytes: verified chains (their certificates are kept for the per-request CRL check) and
 *   refused ones (a digest and a short reason each), so a flood of refused chains never evicts tenants.</li>
 *   <li>Every certificate is re-parsed by the JDK before verification: BoringSSL hands out lazily parsed
 *   certificates whose accessors throw on content the JDK refuses; such a chain is refused as malformed (401).</li>
 * </ul>
 * Thread-safe; the locks are held only for the map accesses, never during verification.
 */
public final class ChainAuthCache {

    /** Default budget for verified chains: ~10,000 typical two-certificate chains. */
    public static final long DEFAULT_VERIFIED_BYTES = 32L << 20;
    /** Default budget for refused chains: ~5,000 entries. */
    public static final long DEFAULT_REFUSED_BYTES = 1L << 20;
    /** A refusal's detail is cut to this many characters: it is built from what the caller sent. */
    static final int MAX_DETAIL = 200;
    /** Fixed cost counted per entry: map node, key, record headers. */
    private static final int ENTRY_OVERHEAD = 160;

    /** What one chain proved, under which trust generation, and what keeping it costs. */
    private record Entry(Verification verification, long generation, long bytes) {}

    /** A presented chain by content: SHA-256 over each certificate's DER. */
    private record ChainKey(byte[] digest) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ChainKey k && Arrays.equals(digest, k.digest);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(digest);
        }
    }

    /** An LRU map bounded by the bytes its entries account for. Not thread-safe: callers lock it. */
    private static final class Budget {
        final Map<ChainKey, Entry> map = new LinkedHashMap<>(256, 0.75f, true);
        final long max;
        long bytes;

        Budget(long max) {
            this.max = max;
        }

        Entry get(ChainKey k) {
            return map.get(k);
        }

        void remove(ChainKey k) {
            Entry old = map.remove(k);
            if (old != null) bytes -= old.bytes();
        }

        void put(ChainKey k, Entry e) {
            if (e.bytes() > max) return;
            Entry old = map.put(k, e);
            if (old != null) bytes -= old.bytes();
            bytes += e.bytes();
            Iterator<Entry> eldest = map.values().iterator();
            while (bytes > max && eldest.hasNext()) {
                bytes -= eldest.next().bytes();
                eldest.remove();
            }
        }
    }

    private final Authenticator authenticator;
    private final Budget verified;
    private final Budget refused;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public ChainAuthCache(Authenticator authenticator, long verifiedBytes, long refusedBytes) {
        if (verifiedBytes <= 0 || refusedBytes <= 0) throw new IllegalArgumentException("budgets must be positive");
        this.authenticator = authenticator;
        this.verified = new Budget(verifiedBytes);
        this.refused = new Budget(refusedBytes);
    }

    public ChainAuthCache(Authenticator authenticator) {
        this(authenticator, DEFAULT_VERIFIED_BYTES, DEFAULT_REFUSED_BYTES);
    }

    /** The caller of a TLS session; a null session (plain HTTP) has no certificate. */
    public AuthResult authenticate(SSLSession session) {
        return authenticate(session, () -> true);
    }

    /**
     * As {@link #authenticate(SSLSession)}, but a chain not seen before is verified only when {@code mayVerify}
     * says so (the source is not over its failure budget); else the caller is refused as
     * {@link AuthResult.Reason#THROTTLED}. Chains already verified still answer, so tenants behind the same address
     * as a prober keep working.
     */
    public AuthResult authenticate(SSLSession session, BooleanSupplier mayVerify) {
        if (session == null) {
            return authenticator.resolve(new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE, "not TLS"));
        }
        return authenticate(peerCertificates(session), mayVerify);
    }

    /** The caller that presented this chain (leaf first), as the TLS engine handed it over. */
    public AuthResult authenticate(Certificate[] peer) {
        return authenticate(peer, () -> true);
    }

    private AuthResult authenticate(Certificate[] peer, BooleanSupplier mayVerify) {
        if (peer.length == 0) {
            return authenticator.resolve(new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE,
                    "no client certificate"));
        }
        List<byte[]> der = new ArrayList<>(peer.length);
        for (Certificate c : peer) {
            try {
                der.add(c.getEncoded());
            } catch (CertificateException | RuntimeException e) {
                return authenticator.resolve(malformed("a certificate cannot be encoded"));
            }
        }
        ChainKey key = key(der);
        long generation = authenticator.trustGeneration();
        Entry e;
        synchronized (this) {
            e = verified.get(key);
            if (e == null) e = refused.get(key);
        }
        if (e != null && e.generation() == generation) {
            hits.increment();
            return authenticator.resolve(e.verification());
        }
        if (!mayVerify.getAsBoolean()) {
            return new AuthResult.Rejected(AuthResult.Reason.THROTTLED, "too many failed authentications from here");
        }
        misses.increment();
        Verification v = verify(der);
        if (cacheable(v)) {
            synchronized (this) {
                if (v instanceof Verification.Refused) {
                    verified.remove(key);
                    refused.put(key, new Entry(v, generation, ENTRY_OVERHEAD + 2L * MAX_DETAIL));
                } else {
                    refused.remove(key);
                    verified.put(key, new Entry(v, generation, ENTRY_OVERHEAD + der.stream().mapToLong(d -> d.length).sum()));
                }
            }
        }
        return authenticator.resolve(v);
    }

    /** Parses the chain with the JDK and verifies it; nothing a client sends makes it throw. */
    private Verification verify(List<byte[]> der) {
        List<X509Certificate> chain = new ArrayList<>(der.size());
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (byte[] d : der) chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(d)));
        } catch (CertificateException | RuntimeException e) {
            return malformed("certificate " + (chain.size() + 1) + " of the chain cannot be parsed: " + e.getMessage());
        }
        Verification v;
        try {
            v = authenticator.verify(chain);
        } catch (RuntimeException e) {
            // an extension or name a library chokes on: the caller's input, so a 401, never a 500
            return malformed("certificate cannot be checked: " + e);
        }
        return v instanceof Verification.Refused r && r.detail() != null && r.detail().length() > MAX_DETAIL
                ? new Verification.Refused(r.reason(), r.detail().substring(0, MAX_DETAIL) + "…")
                : v;
    }

    private static Verification.Refused malformed(String detail) {
        return new Verification.Refused(AuthResult.Reason.MALFORMED,
                detail.length() > MAX_DETAIL ? detail.substring(0, MAX_DETAIL) + "…" : detail);
    }

    /** Chains remembered (verified and refused). */
    public synchronized int size() {
        return verified.map.size() + refused.map.size();
    }

    /** Bytes accounted to remembered chains: bounded by the two budgets. */
    public synchronized long retainedBytes() {
        return verified.bytes + refused.bytes;
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

    private static ChainKey key(List<byte[]> der) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (byte[] d : der) {
                sha.update((byte) (d.length >>> 24));
                sha.update((byte) (d.length >>> 16));
                sha.update((byte) (d.length >>> 8));
                sha.update((byte) d.length);
                sha.update(d);
            }
            return new ChainKey(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static Certificate[] peerCertificates(SSLSession session) {
        try {
            Certificate[] c = session.getPeerCertificates();
            return c == null ? new Certificate[0] : c;
        } catch (SSLPeerUnverifiedException e) {
            return new Certificate[0]; // the client sent no certificate
        }
    }
}
