package io.cmon.agent.http;

import io.cmon.pki.Pem;
import io.cmon.pki.Profile;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The agent's handshake trust: a client certificate must chain to {@code clientCa} (the JDK's PKIX checks: signature,
 * validity, clientAuth), <em>and</em> carry the agent-link purpose {@link Profile#AGENT_LINK} that only
 * {@code cmon cert issue --proxy} gives, <em>and</em>, when {@code allowedClients} is set, have one of those CNs.
 * A tenant certificate signed by the same CA fails the handshake: nothing of it reaches the HTTP layer.
 * <p>
 * The same instance serves the JDK and the OpenSSL engines (Netty hands OpenSSL's verification to it). Any failure,
 * including a certificate the JDK cannot parse, is a refusal ({@link CertificateException}), never an error.
 */
final class ProxyCertificateTrust extends X509ExtendedTrustManager {

    /** Why a handshake was refused: the label of {@code cmon_agent_tls_refused_total}. */
    enum Refusal { UNTRUSTED, NOT_A_PROXY_CERTIFICATE, CLIENT_NOT_ALLOWED }

    private static final Logger LOG = LoggerFactory.getLogger(ProxyCertificateTrust.class);
    private static final long LOG_EVERY_NANOS = 10_000_000_000L;

    private final X509ExtendedTrustManager ca;
    private final Set<String> allowedClients;
    private final Consumer<Refusal> refused;
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    /**
     * @param clientCa       PEM bundle of the agent-link CA
     * @param allowedClients CNs allowed; empty: any proxy certificate of that CA
     * @param refused        counts each refusal (called on the handshake's thread)
     */
    ProxyCertificateTrust(Path clientCa, List<String> allowedClients, Consumer<Refusal> refused) {
        this.ca = pkix(Pem.readCertificates(clientCa));
        this.allowedClients = Set.copyOf(allowedClients);
        this.refused = refused;
    }

    private static X509ExtendedTrustManager pkix(List<X509Certificate> cas) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) store.setCertificateEntry("ca-" + i, cas.get(i));
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            f.init(store);
            for (TrustManager tm : f.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) return x;
            }
            throw new IllegalStateException("the JDK offers no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot build the trust of the agent link CA: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, () -> ca.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, () -> ca.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, () -> ca.checkClientTrusted(chain, authType, engine));
    }

    private interface ChainCheck {
        void run() throws CertificateException;
    }

    private void check(X509Certificate[] chain, ChainCheck pkix) throws CertificateException {
        try {
            if (chain == null || chain.length == 0) throw refuse(Refusal.UNTRUSTED, "no client certificate", null);
            try {
                pkix.run();
            } catch (CertificateException e) {
                throw refuse(Refusal.UNTRUSTED, "not signed by the agent link CA: " + e.getMessage(), chain[0]);
            }
            X509Certificate leaf = chain[0];
            List<String> purposes = leaf.getExtendedKeyUsage();
            if (purposes == null || !purposes.contains(Profile.AGENT_LINK)) {
                throw refuse(Refusal.NOT_A_PROXY_CERTIFICATE, "not a proxy certificate (no agent-link purpose;"
                        + " issue one with 'cmon cert issue --proxy NAME')", leaf);
            }
            if (!allowedClients.isEmpty()) {
                String cn = commonName(leaf);
                if (cn == null || !allowedClients.contains(cn)) {
                    throw refuse(Refusal.CLIENT_NOT_ALLOWED, "CN " + cn + " is not in tls.allowedClients", leaf);
                }
            }
        } catch (CertificateException e) {
            throw e;
        } catch (RuntimeException e) {
            // BoringSSL hands over lazily parsed certificates: one the JDK cannot read fails here, not in PKIX
            throw refuse(Refusal.UNTRUSTED, "unreadable certificate: " + e, null);
        }
    }

    private CertificateException refuse(Refusal reason, String why, X509Certificate leaf) {
        refused.accept(reason);
        long now = System.nanoTime();
        long last = lastLog.get();
        String subject = leaf == null ? "?" : safeSubject(leaf);
        if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
            LOG.warn("refused a client certificate ({}): {}; subject {} (one line per 10 s; all are counted in"
                    + " cmon_agent_tls_refused_total)", reason.name().toLowerCase(), why, subject);
        } else {
            LOG.debug("refused a client certificate ({}): {}; subject {}", reason, why, subject);
        }
        return new CertificateException(why);
    }

    private static String safeSubject(X509Certificate leaf) {
        try {
            return leaf.getSubjectX500Principal().getName();
        } catch (RuntimeException e) {
            return "unreadable";
        }
    }

    /** The subject's CN (the first one), or null when it has none or it is not a string. */
    static String commonName(X509Certificate cert) {
        X500Name name = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        for (RDN rdn : name.getRDNs(BCStyle.CN)) {
            if (rdn.getFirst() != null && rdn.getFirst().getValue() instanceof ASN1String s) return s.getString();
        }
        return null;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent trusts no server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    /** The CA's subjects go into the CertificateRequest, so that clients pick their proxy certificate. */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return ca.getAcceptedIssuers();
    }
}
