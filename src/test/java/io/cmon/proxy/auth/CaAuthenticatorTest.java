package io.cmon.proxy.auth;

import io.cmon.pki.KeyType;
import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import io.cmon.pki.Validity;
import io.cmon.proxy.auth.AuthResult.Reason;
import io.cmon.testing.TestPki;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CaAuthenticatorTest {

    static final Account ALICE = new Account("alice", "2b8e8f2a-6a5c-4d55-9d7e-1f0b8a3c0001", false, List.of());

    @TempDir
    Path dir;

    TestPki pki;
    AccountStore accounts;
    CaAuthenticator auth;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(dir);
        accounts = AccountStore.of(List.of(ALICE));
        auth = new CaAuthenticator(pki.caCert(), null, accounts);
    }

    static List<X509Certificate> chain(TestPki.Issued issued) {
        return List.of(issued.certificate());
    }

    static Reason reason(AuthResult r) {
        assertThat(r).isInstanceOf(AuthResult.Rejected.class);
        return ((AuthResult.Rejected) r).reason();
    }

    @Test
    void validCertificateOfAKnownAccountAuthenticatesIt() {
        assertThat(auth.authenticate(chain(pki.client("alice")))).isEqualTo(new AuthResult.Authenticated(ALICE));
    }

    @Test
    void theMatrixOfRefusals() {
        assertThat(reason(auth.authenticate(List.of()))).isEqualTo(Reason.NO_CERTIFICATE);
        assertThat(reason(auth.authenticate(chain(pki.expiredClient("alice"))))).isEqualTo(Reason.EXPIRED);
        assertThat(reason(auth.authenticate(chain(pki.notYetValidClient("alice"))))).isEqualTo(Reason.NOT_YET_VALID);
        TestPki other = TestPki.create(dir.resolve("other"));
        assertThat(reason(auth.authenticate(chain(other.client("alice"))))).isEqualTo(Reason.UNTRUSTED);
        assertThat(reason(auth.authenticate(chain(pki.selfSignedClient("alice"))))).isEqualTo(Reason.UNTRUSTED);
        assertThat(reason(auth.authenticate(chain(pki.client("mallory"))))).isEqualTo(Reason.UNKNOWN_ACCOUNT);
    }

    @Test
    void aChainEndingWithTheRootStillVerifies() {
        assertThat(auth.authenticate(List.of(pki.client("alice").certificate(), pki.ca().certificate())))
                .isInstanceOf(AuthResult.Authenticated.class);
    }

    @Test
    void caAndServerCertificatesAreNotClientCertificates() {
        assertThat(reason(auth.authenticate(List.of(pki.ca().certificate())))).isEqualTo(Reason.UNTRUSTED);
        assertThat(reason(auth.authenticate(chain(pki.server("alice"))))).isEqualTo(Reason.UNTRUSTED);
    }

    @Test
    void aSubjectWithoutCnIsABadSubject() throws Exception {
        X509Certificate noCn = signedWithSubject("O=acme");
        assertThat(reason(auth.authenticate(List.of(noCn)))).isEqualTo(Reason.BAD_SUBJECT);
    }

    X509Certificate signedWithSubject(String dn) throws Exception {
        var keys = KeyType.EC.generate();
        var b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(pki.ca().certificate(), java.math.BigInteger.TWO,
                java.util.Date.from(Instant.now().minusSeconds(60)), java.util.Date.from(Instant.now().plusSeconds(3600)),
                new javax.security.auth.x500.X500Principal(dn), keys.getPublic());
        var signer = new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(pki.ca().privateKey());
        return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(b.build(signer));
    }

    @Test
    void verificationNeedsNoAccountAndResolveAppliesAccountChanges() throws Exception {
        Path file = Files.writeString(dir.resolve("accounts.yaml"), "accounts: []\n");
        AccountStore store = AccountStore.load(file);
        CaAuthenticator a = new CaAuthenticator(pki.caCert(), null, store);
        TestPki.Issued alice = pki.client("alice");
        Verification v = a.verify(chain(alice));
        assertThat(v).isEqualTo(new Verification.Verified("alice", chain(alice), alice.certificate().getNotAfter().toInstant()));
        assertThat(reason(a.resolve(v))).isEqualTo(Reason.UNKNOWN_ACCOUNT);
        Files.writeString(file, "accounts:\n  - {login: alice, uuid: " + ALICE.uuid() + "}\n");
        store.reload();
        assertThat(a.resolve(v)).isEqualTo(new AuthResult.Authenticated(ALICE));
    }

    @Test
    void aVerificationExpiresWithItsCertificate() {
        TestPki.Issued shortLived = pki.client("short", "alice",
                new Validity(Instant.now().minusSeconds(60), Instant.now().plus(Duration.ofHours(1))));
        Verification v = auth.verify(chain(shortLived));
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofHours(2)), ZoneOffset.UTC);
        CaAuthenticator inTwoHours = new CaAuthenticator(pki.caCert(), null, accounts, later);
        assertThat(reason(inTwoHours.resolve(v))).isEqualTo(Reason.EXPIRED);
    }

    @Test
    void aCrlPastItsNextUpdateRefusesItsCertificatesUntilAFreshOneIsInstalled() throws Exception {
        TestPki.Issued alice = pki.client("alice");
        Path crl = dir.resolve("crl.pem");
        Pem.writeCrl(crl, pki.ca().crl(List.of(), Instant.now().minus(Duration.ofDays(2)),
                Instant.now().plus(Duration.ofHours(1))));
        CaAuthenticator a = new CaAuthenticator(pki.caCert(), crl, accounts);
        Verification v = a.verify(chain(alice));
        assertThat(a.resolve(v)).isInstanceOf(AuthResult.Authenticated.class);
        // two hours on, the CRL is stale: a revocation since would be unknown
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofHours(2)), ZoneOffset.UTC);
        CaAuthenticator stale = new CaAuthenticator(pki.caCert(), crl, accounts, later);
        assertThat(reason(stale.resolve(stale.verify(chain(alice))))).isEqualTo(Reason.CRL_STALE);
        Pem.writeCrl(crl, pki.ca().crl(List.of(), Instant.now(), Instant.now().plus(Duration.ofDays(1))));
        assertThat(stale.reloadTrust()).isTrue();
        assertThat(stale.resolve(stale.verify(chain(alice)))).isInstanceOf(AuthResult.Authenticated.class);
    }

    @Test
    void aCrlRevokesAndItsReloadAppliesToVerificationsAlreadyMade() throws Exception {
        TestPki.Issued alice = pki.client("alice");
        Path crl = dir.resolve("crl.pem");
        Pem.writeCrl(crl, pki.ca().crl(List.of(), Instant.now(), Instant.now().plus(Duration.ofDays(1))));
        CaAuthenticator a = new CaAuthenticator(pki.caCert(), crl, accounts);
        Verification v = a.verify(chain(alice));
        assertThat(a.resolve(v)).isInstanceOf(AuthResult.Authenticated.class);
        long generation = a.trustGeneration();

        Pem.writeCrl(crl, pki.ca().crl(List.of(alice.certificate().getSerialNumber()), Instant.now(),
                Instant.now().plus(Duration.ofDays(1))));
        assertThat(a.reloadTrust()).isTrue();
        assertThat(reason(a.resolve(v))).isEqualTo(Reason.REVOKED);
        assertThat(a.trustGeneration()).as("same CA: cached verifications stay valid").isEqualTo(generation);
        assertThat(a.authenticate(chain(pki.client("alice")))).as("a new certificate").isInstanceOf(AuthResult.Authenticated.class);
    }

    @Test
    void aCrlFromAnotherCaIsRefusedAtStartAndOnReloadTheOldOneStays() {
        TestPki other = TestPki.create(dir.resolve("other"));
        Path crl = dir.resolve("crl.pem");
        Pem.writeCrl(crl, other.ca().crl(List.of(), Instant.now(), Instant.now().plus(Duration.ofDays(1))));
        assertThatThrownBy(() -> new CaAuthenticator(pki.caCert(), crl, accounts))
                .isInstanceOf(PkiException.class).hasMessageContaining("is not signed by a CA of");

        Pem.writeCrl(crl, pki.ca().crl(List.of(), Instant.now(), Instant.now().plus(Duration.ofDays(1))));
        CaAuthenticator a = new CaAuthenticator(pki.caCert(), crl, accounts);
        Pem.writeCrl(crl, other.ca().crl(List.of(), Instant.now(), Instant.now().plus(Duration.ofDays(1))));
        assertThat(a.reloadTrust()).isFalse();
        assertThat(a.authenticate(chain(pki.client("alice")))).isInstanceOf(AuthResult.Authenticated.class);
    }

    @Test
    void aNewCaBundleMakesCachedVerificationsStaleAndTrustsTheNewCa() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"));
        long before = auth.trustGeneration();
        Files.writeString(pki.caCert(), Files.readString(pki.caCert()) + Files.readString(other.caCert()));
        assertThat(auth.reloadTrust()).isTrue();
        assertThat(auth.trustGeneration()).isNotEqualTo(before);
        assertThat(auth.authenticate(chain(other.client("alice")))).isInstanceOf(AuthResult.Authenticated.class);
        assertThat(auth.reloadTrust()).as("no change").isFalse();
    }
}
