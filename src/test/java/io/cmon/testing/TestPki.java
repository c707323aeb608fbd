package io.cmon.testing;

import io.cmon.pki.CertificateAuthority;
import io.cmon.pki.IssuedCertificate;
import io.cmon.pki.KeyType;
import io.cmon.pki.Profile;
import io.cmon.pki.Validity;

import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Real certificates for tests, written as PEM files under one directory: a CA in one call, then client, server and
 * agent pairs, including the broken ones of the authentication matrix (expired, not yet valid, self-signed, another
 * CA's). ECDSA P-256, so generating one costs about a millisecond.
 *
 * <pre>
 * TestPki pki = TestPki.create(tempDir);              // tempDir/ca.pem, tempDir/ca-key.pem
 * TestPki.Issued alice = pki.client("alice");         // tempDir/alice.pem, tempDir/alice-key.pem
 * TestPki.Issued proxy = pki.server("proxy", "*.cmon.test");  // SANs: proxy, *.cmon.test, localhost, 127.0.0.1
 * TestPki link = TestPki.create(tempDir.resolve("link"));     // the agent link's own CA
 * link.agent("agent-1"); link.proxy("proxy-1");               // agent server cert, proxy client cert
 * TestPki other = TestPki.create(tempDir.resolve("other"));   // a second, unrelated CA
 * </pre>
 */
public final class TestPki {

    /** Files and objects of one issued pair. */
    public record Issued(Path cert, Path key, X509Certificate certificate, PrivateKey privateKey) {}

    private final Path dir;
    private final CertificateAuthority ca;

    private TestPki(Path dir, CertificateAuthority ca) {
        this.dir = dir;
        this.ca = ca;
    }

    /** A new CA (CN "test CA &lt;dir name&gt;", valid ±10 years) written to {@code dir/ca.pem} and {@code dir/ca-key.pem}. */
    public static TestPki create(Path dir) {
        Instant now = Instant.now();
        CertificateAuthority ca = CertificateAuthority.create("test CA " + dir.getFileName(), KeyType.EC,
                new Validity(now.minus(Duration.ofDays(3650)), now.plus(Duration.ofDays(3650))));
        ca.writeTo(dir, true);
        return new TestPki(dir, ca);
    }

    public Path dir() {
        return dir;
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public Path caCert() {
        return dir.resolve(CertificateAuthority.CERT_FILE);
    }

    public Path caKey() {
        return dir.resolve(CertificateAuthority.KEY_FILE);
    }

    /** Valid now, for a day: {@code dir/LOGIN.pem}. */
    public Issued client(String login) {
        return client(login, login, Validity.days(1));
    }

    /** A client certificate with CN {@code login} and any validity, written as {@code dir/fileName.pem}. */
    public Issued client(String fileName, String login, Validity validity) {
        return write(fileName, ca.issueClient(login, KeyType.EC, validity));
    }

    /** Expired yesterday: {@code dir/LOGIN-expired.pem}. */
    public Issued expiredClient(String login) {
        Instant now = Instant.now();
        return client(login + "-expired", login, new Validity(now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1))));
    }

    /** Valid from tomorrow: {@code dir/LOGIN-future.pem}. */
    public Issued notYetValidClient(String login) {
        Instant now = Instant.now();
        return client(login + "-future", login, new Validity(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(30))));
    }

    /** Self-signed, CN = login, no CA at all: {@code dir/LOGIN-selfsigned.pem}. */
    public Issued selfSignedClient(String login) {
        return write(login + "-selfsigned", CertificateAuthority.selfSigned(Profile.CLIENT, login, KeyType.EC, Validity.days(1)));
    }

    /** A server certificate; SANs: name, every dnsName, localhost and 127.0.0.1. */
    public Issued server(String name, String... dnsNames) {
        return write(name, ca.issueServer(name, withLocalhost(name, dnsNames), List.of("127.0.0.1"), KeyType.EC, Validity.days(1)));
    }

    /** A proxy's client certificate for the agent link (clientAuth + the agent-link purpose), CN = name. */
    public Issued proxy(String name) {
        return write(name, ca.issueProxy(name, KeyType.EC, Validity.days(1)));
    }

    /** An agent's server certificate (server auth only); SANs: name, localhost and 127.0.0.1. */
    public Issued agent(String name) {
        return write(name, ca.issueAgent(name, withLocalhost(name), List.of("127.0.0.1"), KeyType.EC, Validity.days(1)));
    }

    private static List<String> withLocalhost(String name, String... dnsNames) {
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>(List.of(dnsNames));
        if (!name.equals("localhost")) names.add("localhost");
        if (name.equals("127.0.0.1")) names.remove("127.0.0.1");
        return List.copyOf(names);
    }

    private Issued write(String fileName, IssuedCertificate issued) {
        IssuedCertificate.Files files = issued.writeTo(dir, fileName);
        return new Issued(files.cert(), files.key(), issued.certificate(), issued.privateKey());
    }
}
