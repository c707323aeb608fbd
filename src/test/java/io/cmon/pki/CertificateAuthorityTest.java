package io.cmon.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CertificateAuthorityTest {

    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

    @TempDir
    Path dir;

    final CertificateAuthority ca = CertificateAuthority.create("cmon CA", KeyType.EC, Validity.days(30));

    @Test
    void caIsSelfSignedP256WithCaConstraintsAndCertSigningUsage() throws Exception {
        X509Certificate c = ca.certificate();
        assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=cmon CA");
        assertThat(c.getIssuerX500Principal()).isEqualTo(c.getSubjectX500Principal());
        c.verify(c.getPublicKey());
        assertThat(c.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
        assertThat(c.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
        boolean[] ku = c.getKeyUsage();
        assertThat(ku[5]).as("keyCertSign").isTrue();
        assertThat(ku[6]).as("cRLSign").isTrue();
        assertThat(ku[0]).as("digitalSignature").isFalse();
        assertThat(((ECPublicKey) c.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(c.getSigAlgName()).isEqualTo("SHA256withECDSA");
    }

    @Test
    void clientCertificateHasLoginAsCnClientAuthOnlyAndNoSans() throws Exception {
        X509Certificate c = ca.issueClient("alice", KeyType.EC, Validity.days(10)).certificate();
        assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=alice");
        assertThat(c.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
        c.verify(ca.certificate().getPublicKey());
        assertThat(c.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
        assertThat(c.getSubjectAlternativeNames()).isNull();
        assertThat(c.getBasicConstraints()).isEqualTo(-1);
        assertThat(c.getNotAfter().toInstant()).isBetween(Instant.now().plus(Duration.ofDays(10)).minusSeconds(60),
                Instant.now().plus(Duration.ofDays(10)));
        assertThat(c.getNotBefore().toInstant()).isBefore(Instant.now());
    }

    @Test
    void serverCertificateSansAreNameThenDnsThenIpsWithServerAuth() throws Exception {
        X509Certificate c = ca.issueServer("cmon.example.com", List.of("*.cmon.example.com"), List.of("127.0.0.1", "::1"),
                KeyType.EC, Validity.days(1)).certificate();
        assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=cmon.example.com");
        assertThat(c.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertThat(c.getSubjectAlternativeNames()).containsExactly(
                List.of(2, "cmon.example.com"), List.of(2, "*.cmon.example.com"), List.of(7, "127.0.0.1"),
                List.of(7, "0:0:0:0:0:0:0:1"));
    }

    @Test
    void agentCertificateOnlyServesAndAnAddressNameBecomesAnIpSan() throws Exception {
        X509Certificate c = ca.issueAgent("10.1.2.3", List.of("agent-1.internal"), List.of(), KeyType.EC, Validity.days(1))
                .certificate();
        assertThat(c.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertThat(c.getSubjectAlternativeNames()).containsExactly(List.of(7, "10.1.2.3"), List.of(2, "agent-1.internal"));
    }

    @Test
    void proxyCertificateCarriesTheAgentLinkPurposeThatTenantCertificatesLack() throws Exception {
        X509Certificate proxy = ca.issueProxy("proxy-1", KeyType.EC, Validity.days(1)).certificate();
        X509Certificate tenant = ca.issueClient("proxy-1", KeyType.EC, Validity.days(1)).certificate();
        assertThat(proxy.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH, Profile.AGENT_LINK);
        assertThat(proxy.getSubjectAlternativeNames()).isNull();
        assertThat(tenant.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
    }

    @Test
    void rsaKeysOnRequest() {
        CertificateAuthority rsa = CertificateAuthority.create("rsa CA", KeyType.RSA, Validity.days(1));
        X509Certificate c = rsa.issueClient("bob", KeyType.RSA, Validity.days(1)).certificate();
        assertThat(((RSAPublicKey) c.getPublicKey()).getModulus().bitLength()).isEqualTo(2048);
        assertThat(c.getSigAlgName()).isEqualTo("SHA256withRSA");
        // an EC leaf from an RSA CA is signed with the CA's algorithm
        assertThat(rsa.issueClient("carol", KeyType.EC, Validity.days(1)).certificate().getSigAlgName()).isEqualTo("SHA256withRSA");
    }

    @Test
    void explicitValidityBoundsMakeExpiredAndFutureCertificates() {
        Instant now = Instant.now();
        Validity past = new Validity(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)));
        X509Certificate c = ca.issueClient("alice", KeyType.EC, past).certificate();
        assertThat(c.getNotAfter().toInstant()).isBefore(now);
        assertThatThrownBy(() -> new Validity(now, now.minusSeconds(1))).isInstanceOf(PkiException.class);
    }

    @Test
    void serialNumbersAreRandomAndPositive() {
        BigInteger a = ca.issueClient("a", KeyType.EC, Validity.days(1)).certificate().getSerialNumber();
        BigInteger b = ca.issueClient("a", KeyType.EC, Validity.days(1)).certificate().getSerialNumber();
        assertThat(a).isNotEqualTo(b);
        assertThat(a.signum()).isEqualTo(1);
        assertThat(a.bitLength()).isEqualTo(127);
    }

    @Test
    void writtenCaLoadsBackAndKeyFileIsOwnerOnly() throws Exception {
        ca.writeTo(dir.resolve("ca"), false);
        assertThat(Files.getPosixFilePermissions(dir.resolve("ca/ca-key.pem")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(dir.resolve("ca/ca-key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----");
        CertificateAuthority loaded = CertificateAuthority.load(dir.resolve("ca"));
        assertThat(loaded.certificate()).isEqualTo(ca.certificate());
        loaded.issueClient("x", KeyType.EC, Validity.days(1)).certificate().verify(ca.certificate().getPublicKey());
    }

    @Test
    void refusesToReplaceAnExistingCaUnlessForced() {
        ca.writeTo(dir, false);
        assertThatThrownBy(() -> ca.writeTo(dir, false)).isInstanceOf(PkiException.class).hasMessageContaining("--force");
        CertificateAuthority other = CertificateAuthority.create("other", KeyType.EC, Validity.days(1));
        other.writeTo(dir, true);
        assertThat(CertificateAuthority.load(dir).certificate()).isEqualTo(other.certificate());
    }

    @Test
    void loadingAMissingCaDirectoryNamesIt() {
        assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("nope")))
                .isInstanceOf(PkiException.class).hasMessageContaining(dir.resolve("nope").toString());
    }

    @Test
    void aMismatchedCaKeyIsRefused() {
        ca.writeTo(dir, false);
        Pem.writePrivateKey(dir.resolve("ca-key.pem"), KeyType.EC.generate().getPrivate());
        assertThatThrownBy(() -> CertificateAuthority.load(dir)).hasMessageContaining("does not belong");
    }

    @Test
    void dnsAndIpAreRefusedForClientCertificates() {
        assertThatThrownBy(() -> ca.issue(Profile.CLIENT, "alice", List.of("x.example"), List.of(), KeyType.EC, Validity.days(1)))
                .hasMessageContaining("--dns");
        assertThatThrownBy(() -> ca.issueServer("s", List.of(), List.of("not-an-ip"), KeyType.EC, Validity.days(1)))
                .hasMessageContaining("not-an-ip");
    }
}
