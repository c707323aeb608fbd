package io.cmon.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.config.HostPort;
import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import io.cmon.proxy.auth.AuthResult;
import io.cmon.quickstart.TenantPrometheusConfig;

import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * {@code cmon doctor --cert --key --endpoint}: walks a tenant's path the way their Prometheus does (certificate,
 * TLS handshake, discovery, one scrape, the DNS of a target) and says in plain words where it breaks, then prints the
 * {@code triton_sd_configs} scrape config that works with these files.
 *
 * @param cert       the tenant's certificate (PEM; a chain may follow it)
 * @param key        its private key
 * @param endpoint   the proxy, {@code host:port}
 * @param ca         the CA that signed the proxy's server certificate (Prometheus's {@code tls_config.ca_file});
 *                   null: the system's roots
 * @param dnsSuffix  targets are {@code <uuid>.<dnsSuffix>}; null: the endpoint's host
 * @param account    the login the tenant expects to be; null: the certificate's CN
 */
public record TenantDoctor(Path cert, Path key, HostPort endpoint, Path ca, String dnsSuffix, String account,
                           Clock clock, Duration timeout) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);
    /** Less than this left on the certificate is worth a warning. */
    private static final Duration SOON = Duration.ofDays(14);

    public TenantDoctor(Path cert, Path key, HostPort endpoint, Path ca, String dnsSuffix, String account) {
        this(cert, key, endpoint, ca, dnsSuffix, account, Clock.systemUTC(), Duration.ofSeconds(10));
    }

    static String date(Date d) {
        return DATE.format(d.toInstant());
    }

    public Report run() {
        Report r = new Report();
        List<X509Certificate> chain;
        PrivateKey privateKey;
        try {
            chain = Pem.readCertificates(cert);
            if (chain.isEmpty()) throw new PkiException(cert + ": no certificate in it");
        } catch (PkiException e) {
            r.add(Check.fail("certificate file", e.getMessage()));
            return r;
        }
        X509Certificate leaf = chain.get(0);
        dates(r, leaf);
        try {
            privateKey = Pem.readPrivateKey(key);
        } catch (PkiException e) {
            r.add(Check.fail("key file", e.getMessage()));
            return r;
        }
        boolean keyOk = Pem.matches(leaf, privateKey);
        if (keyOk) r.add(Check.pass("key matches", key + " is the key of " + cert));
        else r.add(Check.fail("key matches", key + " is NOT the key of " + cert + " (subject "
                + leaf.getSubjectX500Principal().getName() + "): the proxy's TLS handshake fails with it; use the key "
                + "file issued with this certificate"));
        String cn = commonName(leaf);
        String login = account != null ? account : cn;
        if (cn == null) {
            r.add(Check.fail("account (CN)", "the certificate's subject '" + leaf.getSubjectX500Principal().getName()
                    + "' has no single CN; the proxy takes the account login from the CN"));
        } else if (account != null && !account.equals(cn)) {
            r.add(Check.fail("account (CN)", "the certificate is for account '" + cn + "', not '" + account
                    + "': the proxy uses the CN, so this certificate shows " + cn + "'s containers"));
        } else {
            r.add(Check.pass("account (CN)", "the proxy will look up account '" + cn + "'"));
        }
        List<X509Certificate> trust = null;
        if (ca != null) {
            try {
                trust = Pem.readCertificates(ca);
                if (trust.isEmpty()) throw new PkiException(ca + ": no certificate in it");
            } catch (PkiException e) {
                r.add(Check.fail("CA file", e.getMessage()));
                return r;
            }
            chain(r, chain, trust);
        }
        if (!keyOk) {
            skipNetwork(r, "the key does not match the certificate");
            return r;
        }

        SSLContext context;
        try {
            context = ClientContext.of(chain, privateKey, trust);
        } catch (GeneralSecurityException e) {
            r.add(Check.fail("TLS setup", "cannot use the certificate and key: " + e.getMessage()));
            return r;
        }
        if (!handshake(r, context)) {
            skipNetwork(r, "no TLS connection to the proxy");
            return r;
        }
        HttpClient http = HttpClient.newBuilder().sslContext(context).connectTimeout(timeout).build();
        String suffix = dnsSuffix != null ? dnsSuffix : endpoint.host();
        String firstTarget = discover(r, http);
        if (firstTarget != null && !firstTarget.isEmpty()) scrape(r, http, firstTarget);
        else if (firstTarget != null) r.add(Check.skip("scrape", "no target to scrape"));
        else r.add(Check.skip("scrape", "discovery failed"));
        boolean dns = dns(r, firstTarget == null || firstTarget.isEmpty() ? UUID.randomUUID().toString() : firstTarget,
                suffix);
        if (login != null) {
            boolean operator = firstTarget != null && operator(http);
            try {
                String yaml = TenantPrometheusConfig.of(dns ? TenantPrometheusConfig.Addressing.HOST
                                : TenantPrometheusConfig.Addressing.PATH, login, operator, endpoint.host(), suffix,
                        ca == null ? "SYSTEM_ROOTS" : ca.toAbsolutePath().toString(),
                        cert.toAbsolutePath().toString(), key.toAbsolutePath().toString())
                        .withPort(endpoint.port()).yaml();
                // no ca_file: Prometheus then verifies the proxy with the system's roots, as this check did
                if (ca == null) yaml = yaml.lines().filter(l -> !l.contains("SYSTEM_ROOTS"))
                        .collect(Collectors.joining("\n", "", "\n"));
                r.prometheusConfig(yaml);
            } catch (IllegalArgumentException e) {
                r.add(Check.warn("prometheus.yml", "cannot write one: " + e.getMessage()));
            }
        }
        return r;
    }

    private void dates(Report r, X509Certificate leaf) {
        Instant now = clock.instant();
        Instant from = leaf.getNotBefore().toInstant();
        Instant until = leaf.getNotAfter().toInstant();
        if (now.isAfter(until)) {
            r.add(Check.fail("certificate dates", "expired on " + date(leaf.getNotAfter()) + " ("
                    + Duration.between(until, now).toDays() + " days ago): the proxy answers 401 'expired' and your "
                    + "Prometheus drops every target, logging only \"invalid character 'c' looking for beginning of "
                    + "value\"; ask your operator for a new certificate"));
        } else if (now.isBefore(from)) {
            r.add(Check.fail("certificate dates", "not valid before " + date(leaf.getNotBefore())
                    + ": check this machine's clock, or wait"));
        } else if (Duration.between(now, until).compareTo(SOON) < 0) {
            r.add(Check.warn("certificate dates", "expires on " + date(leaf.getNotAfter()) + " (in "
                    + Duration.between(now, until).toHours() + " hours): ask for a new one now"));
        } else {
            r.add(Check.pass("certificate dates", "valid from " + date(leaf.getNotBefore()) + " until "
                    + date(leaf.getNotAfter())));
        }
    }

    private void chain(Report r, List<X509Certificate> chain, List<X509Certificate> trust) {
        Set<TrustAnchor> anchors = new HashSet<>();
        for (X509Certificate c : trust) anchors.add(new TrustAnchor(c, null));
        try {
            PKIXParameters p = new PKIXParameters(anchors);
            p.setRevocationEnabled(false);
            p.setDate(Date.from(clock.instant()));
            List<X509Certificate> path = chain.stream().filter(c -> !trust.contains(c)).toList();
            CertPathValidator.getInstance("PKIX")
                    .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), p);
            r.add(Check.pass("chain to CA", "signed by " + ca));
        } catch (CertPathValidatorException e) {
            if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                    || e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                r.add(Check.fail("chain to CA", "a certificate of the chain is out of its dates: " + e.getMessage()));
            } else {
                // ca is the proxy's server CA: the tenant CA may be another one, and account-key certificates are
                // self-signed, so only the proxy can tell
                r.add(Check.warn("chain to CA", "not signed by " + ca + " (" + e.getMessage() + "); fine when your "
                        + "operator's tenant CA is another CA or the proxy runs in account-key mode: the discovery "
                        + "check below is what counts"));
            }
        } catch (GeneralSecurityException e) {
            r.add(Check.warn("chain to CA", "cannot check: " + e.getMessage()));
        }
    }

    private boolean handshake(Report r, SSLContext context) {
        try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), (int) timeout.toMillis());
            s.setSoTimeout((int) timeout.toMillis());
            SSLParameters params = s.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            if (!isIpLiteral(endpoint.host())) params.setServerNames(List.of(new SNIHostName(endpoint.host())));
            s.setSSLParameters(params);
            s.startHandshake();
            X509Certificate server = (X509Certificate) s.getSession().getPeerCertificates()[0];
            r.add(Check.pass("TLS handshake", "connected to " + endpoint + " (" + s.getSession().getProtocol()
                    + "), server certificate '" + server.getSubjectX500Principal().getName() + "' valid until "
                    + date(server.getNotAfter())));
            return true;
        } catch (UnknownHostException e) {
            r.add(Check.fail("TLS handshake", "the endpoint name " + endpoint.host() + " does not resolve"));
        } catch (ConnectException e) {
            r.add(Check.fail("TLS handshake", "nothing answers on " + endpoint + " (" + e.getMessage()
                    + "): the proxy is down, or the endpoint or port is wrong"));
        } catch (SocketTimeoutException e) {
            r.add(Check.fail("TLS handshake", "no answer from " + endpoint + " within " + timeout.toSeconds()
                    + " s: a firewall, or the wrong address"));
        } catch (SSLHandshakeException e) {
            r.add(Check.fail("TLS handshake", handshakeProblem(e)));
        } catch (IOException e) {
            r.add(Check.fail("TLS handshake", "with " + endpoint + ": " + e));
        }
        return false;
    }

    private String handshakeProblem(SSLHandshakeException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No subject alternative") || m.contains("No name matching")) {
            return "the proxy's certificate does not name " + endpoint.host() + " (" + m + "): use the endpoint name "
                    + "your operator gave you";
        }
        if (m.contains("PKIX") || m.contains("unable to find valid certification path")) {
            return "the proxy's certificate is not signed by " + (ca == null ? "a CA of this system's trust store"
                    : ca) + ": give --ca the CA your operator gave you (Prometheus: tls_config.ca_file)";
        }
        return "TLS handshake with " + endpoint + " failed: " + m;
    }

    /** GET /v1/discover; the first target's uuid ("" when none), or null when discovery failed. */
    private String discover(Report r, HttpClient http) {
        HttpResponse<String> resp;
        try {
            resp = get(http, "/v1/discover");
        } catch (IOException e) {
            r.add(Check.fail("discovery", "GET /v1/discover failed: " + e.getMessage()));
            return null;
        }
        String body = resp.body().strip();
        switch (resp.statusCode()) {
            case 200 -> {
                try {
                    JsonNode containers = JSON.readTree(resp.body()).path("containers");
                    int n = containers.size();
                    if (n == 0) {
                        r.add(Check.warn("discovery", "200, but no containers are yours: label them cmon.owner=<your "
                                + "login or account uuid> on the host"));
                        return "";
                    }
                    r.add(Check.pass("discovery", n + " target(s), e.g. " + containers.get(0).path("vm_alias").asText()
                            + " (" + containers.get(0).path("vm_uuid").asText() + ")"));
                    return containers.get(0).path("vm_uuid").asText();
                } catch (IOException e) {
                    r.add(Check.fail("discovery", "200 but not discovery JSON: " + e.getMessage()));
                    return null;
                }
            }
            case 401 -> {
                AuthResult.Reason reason = Refusals.reasonOf(body);
                r.add(Check.fail("discovery", "401 '" + body + "': " + (reason == null
                        ? "the proxy refused the certificate" : Refusals.explain(reason))
                        + ". Prometheus reads this text as JSON and logs only \"invalid character 'c' looking for "
                        + "beginning of value\""));
            }
            case 429 -> r.add(Check.fail("discovery", "429 '" + body + "': "
                    + Refusals.explain(AuthResult.Reason.THROTTLED)));
            case 503 -> r.add(Check.fail("discovery", "503 '" + body + "': the proxy has not synced with its agents "
                    + "yet (it just started, or no agent answers); Prometheus keeps its previous targets meanwhile"));
            default -> r.add(Check.fail("discovery", resp.statusCode() + " '" + body + "'"));
        }
        return null;
    }

    private void scrape(Report r, HttpClient http, String uuid) {
        try {
            HttpResponse<String> resp = get(http, "/v1/" + uuid + "/metrics");
            if (resp.statusCode() == 200) {
                long samples = resp.body().lines().filter(l -> !l.isBlank() && !l.startsWith("#")).count();
                r.add(Check.pass("scrape", "/v1/" + uuid + "/metrics: " + samples + " samples"));
            } else {
                r.add(Check.fail("scrape", "/v1/" + uuid + "/metrics answered " + resp.statusCode() + " '"
                        + resp.body().strip() + "'"));
            }
        } catch (IOException e) {
            r.add(Check.fail("scrape", "/v1/" + uuid + "/metrics failed: " + e.getMessage()));
        }
    }

    /** True when {@code <uuid>.<suffix>} resolves, so host mode works; else path mode is the one to use. */
    private boolean dns(Report r, String uuid, String suffix) {
        String name = uuid + "." + suffix;
        try {
            InetAddress[] target = InetAddress.getAllByName(name);
            Set<InetAddress> proxy = new HashSet<>(Arrays.asList(InetAddress.getAllByName(endpoint.host())));
            boolean same = Arrays.stream(target).anyMatch(proxy::contains);
            if (same) r.add(Check.pass("DNS", name + " resolves to the proxy: host mode works"));
            else r.add(Check.warn("DNS", name + " resolves to " + Arrays.toString(target) + ", not to the endpoint "
                    + endpoint.host() + ": fine when both reach the proxies"));
            return true;
        } catch (UnknownHostException e) {
            r.add(Check.warn("DNS", name + " does not resolve (no wildcard record *." + suffix + "): host mode "
                    + "would fail with 'no such host'; the config below uses path mode, which needs no DNS"));
            return false;
        }
    }

    private boolean operator(HttpClient http) {
        try {
            return get(http, "/v1/gz/discover").statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    private HttpResponse<String> get(HttpClient http, String path) throws IOException {
        URI uri = URI.create("https://" + hostForUri() + ":" + endpoint.port() + path);
        try {
            return http.send(HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json, "
                    + "text/plain;version=0.0.4").build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private String hostForUri() {
        return endpoint.host().contains(":") ? "[" + endpoint.host() + "]" : endpoint.host();
    }

    private static void skipNetwork(Report r, String why) {
        for (String name : List.of("TLS handshake", "discovery", "scrape", "DNS")) r.add(Check.skip(name, why));
    }

    private static boolean isIpLiteral(String host) {
        return host.contains(":") || host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    /** The single CN of the subject, or null. */
    static String commonName(X509Certificate cert) {
        try {
            List<Rdn> cns = new LdapName(cert.getSubjectX500Principal().getName()).getRdns().stream()
                    .filter(rdn -> rdn.getType().equalsIgnoreCase("CN")).toList();
            return cns.size() == 1 ? cns.get(0).getValue().toString() : null;
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
    }
}
