package io.cmon.quickstart;

import io.cmon.pki.CertificateAuthority;
import io.cmon.pki.KeyType;
import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import io.cmon.pki.Profile;
import io.cmon.pki.Validity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The quickstart's certificates, from two CAs as in production: the tenant CA (the proxy's server certificate and
 * one client certificate per account) and the agent link CA (the agent's server certificate and the proxy's client
 * certificate for calling it), so that no tenant certificate can ever open the agent. Kept across runs; only what
 * is missing, expiring or no longer matching is issued again.
 */
final class DemoPki {

    static final String PROXY = "proxy";
    static final String AGENT = "agent";
    static final String PROXY_CLIENT = "proxy-client";

    private final QuickstartFiles files;

    DemoPki(QuickstartFiles files) {
        this.files = files;
    }

    /** Ensures every certificate exists; returns the names of those issued now. */
    List<String> ensure(String endpoint, String dnsSuffix, List<DemoAccount> accounts) {
        CertificateAuthority ca = ca(files.caDir(), "cmon quickstart tenant CA");
        CertificateAuthority link = ca(files.agentCaDir(), "cmon quickstart agent link CA");
        List<String> issued = new java.util.ArrayList<>();
        List<String> proxyNames = List.of(endpoint, dnsSuffix, "*." + dnsSuffix);
        if (ensure(ca, Profile.SERVER, PROXY, endpoint, proxyNames, List.of("127.0.0.1"))) issued.add(PROXY);
        if (ensure(link, Profile.AGENT, AGENT, "localhost", List.of("localhost"), List.of("127.0.0.1"))) issued.add(AGENT);
        if (ensure(link, Profile.PROXY, PROXY_CLIENT, "cmon-proxy", List.of(), List.of())) issued.add(PROXY_CLIENT);
        for (DemoAccount a : accounts) {
            if (ensure(ca, Profile.CLIENT, a.login(), a.login(), List.of(), List.of())) issued.add(a.login());
        }
        return issued;
    }

    private static CertificateAuthority ca(Path dir, String name) {
        if (CertificateAuthority.existsIn(dir)) return CertificateAuthority.load(dir);
        CertificateAuthority ca = CertificateAuthority.create(name, KeyType.EC, Validity.days(3650));
        ca.writeTo(dir, false);
        return ca;
    }

    private boolean ensure(CertificateAuthority ca, Profile profile, String file, String cn, List<String> dns,
                           List<String> ips) {
        Path cert = files.cert(file);
        Path key = files.key(file);
        if (Files.exists(cert) && Files.exists(key) && stillGood(ca, profile, cert, key, dns, ips)) return false;
        boolean names = profile == Profile.SERVER || profile == Profile.AGENT;
        ca.issue(profile, cn, names ? dns.stream().filter(d -> !d.equals(cn)).toList() : List.of(),
                names ? ips.stream().filter(i -> !i.equals(cn)).toList() : List.of(),
                KeyType.EC, Validity.days(365)).writeTo(files.certs(), file);
        return true;
    }

    private static boolean stillGood(CertificateAuthority ca, Profile profile, Path certFile, Path keyFile,
                                     List<String> dns, List<String> ips) {
        try {
            X509Certificate cert = Pem.readCertificate(certFile);
            cert.verify(ca.certificate().getPublicKey());
            // a run before the agent link had its profile made a proxy-client without the agent-link purpose
            List<String> purposes = cert.getExtendedKeyUsage();
            if (profile == Profile.PROXY && (purposes == null || !purposes.contains(Profile.AGENT_LINK))) return false;
            cert.checkValidity(java.util.Date.from(Instant.now().plus(Duration.ofDays(1))));
            if (!Pem.matches(cert, Pem.readPrivateKey(keyFile))) return false;
            Set<String> want = new HashSet<>(dns);
            want.addAll(ips);
            return want.isEmpty() || sans(cert).containsAll(want);
        } catch (PkiException | GeneralSecurityException e) {
            return false;
        }
    }

    private static Set<String> sans(X509Certificate cert) throws CertificateParsingException {
        Set<String> names = new HashSet<>();
        Collection<List<?>> all = cert.getSubjectAlternativeNames();
        if (all != null) for (List<?> san : all) names.add(String.valueOf(san.get(1)));
        return names;
    }
}
