package io.cmon.proxy.auth;

import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.security.auth.x500.X500Principal;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CA mode (DESIGN §3.1): the client certificate chain must verify (PKIX) against the tenant CA bundle, be within its
 * validity and not be revoked by the CRL (when configured); the subject CN is the login of an account in the store.
 * <p>
 * {@link #verify} does the signatures and the chain; {@link #resolve} re-checks expiry and revocation against the
 * current CRL and looks the account up, so CRL and accounts.yaml reloads apply to connections that are already open.
 * {@link #reloadTrust()} re-reads the CA bundle and the CRL, keeping the previous ones when the files are broken.
 */
public final class CaAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(CaAuthenticator.class);
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_USAGE = "2.5.29.37.0";

    /** The trust anchors and CRLs in use; replaced as a whole on reload. */
    private record Trust(Set<TrustAnchor> anchors, Set<X509Certificate> anchorCerts,
                         Map<X500Principal, List<X509CRL>> crlsByIssuer, long generation) {}

    private final Path tenantCa;
    private final Path crl;
    private final AccountStore accounts;
    private final Clock clock;
    private final AtomicLong generations = new AtomicLong();
    private volatile Trust trust;
    private volatile String lastError;
    /** The CRL found past its nextUpdate and already logged, so that the log says it once, not per request. */
    private volatile X509CRL staleLogged;

    /**
     * @param tenantCa PEM bundle of the CAs that issue tenant certificates
     * @param crl      PEM or DER CRL file issued by one of those CAs, or null for none
     * @throws PkiException when a file cannot be used (the proxy must not start)
     */
    public CaAuthenticator(Path tenantCa, Path crl, AccountStore accounts, Clock clock) {
        this.tenantCa = tenantCa;
        this.crl = crl;
        this.accounts = accounts;
        this.clock = clock;
        this.trust = loadTrust(0);
    }

    public CaAuthenticator(Path tenantCa, Path crl, AccountStore accounts) {
        this(tenantCa, crl, accounts, Clock.systemUTC());
    }

    /** Why the last reload of the CA bundle or CRL was refused, or null when the files in use are those on disk. */
    public String lastError() {
        return lastError;
    }

    /** The files to watch for {@link #reloadTrust()}. */
    public List<Path> trustFiles() {
        return crl == null ? List.of(tenantCa) : List.of(tenantCa, crl);
    }

    /**
     * Re-reads the CA bundle and the CRL. A new CA bundle makes cached verifications stale ({@link #trustGeneration});
     * a new CRL applies at the next {@link #resolve}. Broken files are logged and the previous trust stays.
     * @return true when something changed
     */
    public synchronized boolean reloadTrust() {
        Trust current = trust;
        Trust next;
        try {
            next = loadTrust(current.generation());
        } catch (PkiException e) {
            LOG.error("tenant CA / CRL not reloaded, keeping the previous ones: {}", e.getMessage());
            lastError = e.getMessage();
            return false;
        }
        lastError = null;
        boolean anchorsChanged = !next.anchorCerts().equals(current.anchorCerts());
        boolean crlsChanged = !next.crlsByIssuer().equals(current.crlsByIssuer());
        if (!anchorsChanged && !crlsChanged) return false;
        trust = anchorsChanged
                ? new Trust(next.anchors(), next.anchorCerts(), next.crlsByIssuer(), generations.incrementAndGet())
                : next;
        LOG.info("reloaded {}{}", anchorsChanged ? "tenant CA " + tenantCa : "", crlsChanged ? " CRL " + crl : "");
        return true;
    }

    private Trust loadTrust(long generation) {
        List<X509Certificate> cas = Pem.readCertificates(tenantCa);
        Set<TrustAnchor> anchors = new HashSet<>();
        for (X509Certificate ca : cas) anchors.add(new TrustAnchor(ca, null));
        Map<X500Principal, List<X509CRL>> crls = new HashMap<>();
        if (crl != null) {
            for (X509CRL c : Pem.readCrls(crl)) {
                X509Certificate issuer = cas.stream()
                        .filter(ca -> ca.getSubjectX500Principal().equals(c.getIssuerX500Principal()))
                        .filter(ca -> signedBy(c, ca))
                        .findFirst()
                        .orElseThrow(() -> new PkiException(crl + ": CRL of '" + c.getIssuerX500Principal().getName()
                                + "' is not signed by a CA of " + tenantCa));
                if (c.getNextUpdate() != null && c.getNextUpdate().toInstant().isBefore(clock.instant())) {
                    LOG.error("{}: the CRL of '{}' is past its next update ({}): certificates of this CA are refused "
                            + "until a fresh CRL is installed", crl, issuer.getSubjectX500Principal().getName(),
                            c.getNextUpdate().toInstant());
                }
                crls.computeIfAbsent(c.getIssuerX500Principal(), k -> new ArrayList<>()).add(c);
            }
        }
        crls.replaceAll((k, v) -> List.copyOf(v));
        return new Trust(Set.copyOf(anchors), Set.copyOf(cas), Map.copyOf(crls), generation);
    }

    private static boolean signedBy(X509CRL c, X509Certificate ca) {
        try {
            c.verify(ca.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    @Override
    public Verification verify(List<X509Certificate> chain) {
        if (chain == null || chain.isEmpty()) {
            return new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE, "no client certificate");
        }
        Trust t = trust;
        X509Certificate leaf = chain.get(0);
        if (t.anchorCerts().contains(leaf) || leaf.getBasicConstraints() >= 0) {
            return new Verification.Refused(AuthResult.Reason.UNTRUSTED, "a CA certificate is not a client certificate");
        }
        if (!forClientAuth(leaf)) {
            return new Verification.Refused(AuthResult.Reason.UNTRUSTED, "certificate is not for client authentication");
        }
        // Clients may append the root; PKIX wants the path without its anchor.
        List<X509Certificate> path = new ArrayList<>(chain);
        while (path.size() > 1 && t.anchorCerts().contains(path.get(path.size() - 1))) path.remove(path.size() - 1);

        Instant now = clock.instant();
        PKIXCertPathValidatorResult result;
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(t.anchors());
            params.setRevocationEnabled(false); // revocation: our CRL check in resolve(), so reloads reach open sessions
            params.setDate(Date.from(now));
            result = (PKIXCertPathValidatorResult) CertPathValidator.getInstance("PKIX").validate(certPath, params);
        } catch (CertPathValidatorException e) {
            return refusedBy(e);
        } catch (CertificateException | InvalidAlgorithmParameterException | NoSuchAlgorithmException e) {
            return new Verification.Refused(AuthResult.Reason.UNTRUSTED, "cannot validate: " + e.getMessage());
        }

        X509Certificate anchor = result.getTrustAnchor().getTrustedCert();
        Instant notAfter = anchor.getNotAfter().toInstant();
        for (X509Certificate c : path) {
            if (c.getNotAfter().toInstant().isBefore(notAfter)) notAfter = c.getNotAfter().toInstant();
        }
        if (now.isAfter(anchor.getNotAfter().toInstant())) {
            return new Verification.Refused(AuthResult.Reason.EXPIRED, "the tenant CA expired at " + anchor.getNotAfter().toInstant());
        }
        String login = commonName(leaf);
        if (login == null) {
            return new Verification.Refused(AuthResult.Reason.BAD_SUBJECT,
                    "subject '" + subjectOf(leaf) + "' needs exactly one decodable CN (the login)");
        }
        return new Verification.Verified(login, path, notAfter);
    }

    private static Verification refusedBy(CertPathValidatorException e) {
        if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
            return new Verification.Refused(AuthResult.Reason.EXPIRED, "certificate expired: " + e.getMessage());
        }
        if (e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
            return new Verification.Refused(AuthResult.Reason.NOT_YET_VALID, "certificate not yet valid: " + e.getMessage());
        }
        return new Verification.Refused(AuthResult.Reason.UNTRUSTED, "not signed by the tenant CA: " + e.getMessage());
    }

    private static boolean forClientAuth(X509Certificate leaf) {
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            return eku == null || eku.contains(CLIENT_AUTH) || eku.contains(ANY_USAGE);
        } catch (CertificateParsingException e) {
            return false;
        }
    }

    /** The single CN of the subject, or null when there is none, several, or a multi-valued one. */
    static String commonName(X509Certificate cert) {
        try {
            RDN[] rdns = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
            if (rdns.length != 1 || rdns[0].isMultiValued()) return null;
            ASN1Encodable value = rdns[0].getFirst().getValue();
            return value instanceof ASN1String s && !s.getString().isEmpty() ? s.getString() : null;
        } catch (RuntimeException e) {
            return null; // a subject the decoder refuses (an attribute of an odd type, broken UTF-8) names no one
        }
    }

    /** The subject for a log line or a refusal, never throwing on odd content. */
    static String subjectOf(X509Certificate cert) {
        try {
            return cert.getSubjectX500Principal().getName();
        } catch (RuntimeException e) {
            return "(undecodable subject)";
        }
    }

    @Override
    public AuthResult resolve(Verification verification) {
        if (verification instanceof Verification.Refused r) {
            return new AuthResult.Rejected(r.reason(), r.detail());
        }
        Verification.Verified v = (Verification.Verified) verification;
        if (clock.instant().isAfter(v.notAfter())) {
            return new AuthResult.Rejected(AuthResult.Reason.EXPIRED, "certificate expired at " + v.notAfter());
        }
        Map<X500Principal, List<X509CRL>> crls = trust.crlsByIssuer();
        if (!crls.isEmpty()) {
            for (X509Certificate c : v.path()) {
                List<X509CRL> ofIssuer = crls.get(c.getIssuerX500Principal());
                if (ofIssuer == null) continue;
                for (X509CRL list : ofIssuer) {
                    // as OpenSSL (and so nginx) does: a CRL past its nextUpdate proves nothing about revocations
                    // since, so refuse rather than let a revoked certificate in
                    if (list.getNextUpdate() != null && clock.instant().isAfter(list.getNextUpdate().toInstant())) {
                        if (staleLogged != list) {
                            staleLogged = list;
                            LOG.error("{}: the CRL of '{}' passed its next update ({}): refusing its certificates "
                                    + "until a fresh CRL is installed", crl, list.getIssuerX500Principal().getName(),
                                    list.getNextUpdate().toInstant());
                        }
                        return new AuthResult.Rejected(AuthResult.Reason.CRL_STALE, "the CRL of the issuing CA is "
                                + "past its next update (" + list.getNextUpdate().toInstant() + ")");
                    }
                    if (list.isRevoked(c)) {
                        return new AuthResult.Rejected(AuthResult.Reason.REVOKED,
                                "certificate " + c.getSerialNumber().toString(16) + " is revoked");
                    }
                }
            }
        }
        return accounts.byLogin(v.login())
                .<AuthResult>map(AuthResult.Authenticated::new)
                .orElseGet(() -> new AuthResult.Rejected(AuthResult.Reason.UNKNOWN_ACCOUNT,
                        "no account '" + v.login() + "'"));
    }

    @Override
    public long trustGeneration() {
        return trust.generation();
    }
}
