package io.cmon.proxy.auth;

import io.cmon.config.ConfigException;
import io.cmon.pki.KeyType;
import io.cmon.pki.SshKeyPair;
import io.cmon.pki.Validity;
import io.cmon.testing.SshKeygen;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Account-key mode with real ssh-keygen keys: who is let in, who is refused and why. */
class AccountKeyAuthenticatorTest {

    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String BOB = "2b8e0000-0000-4000-8000-00000000000b";

    @TempDir
    static Path keys;
    static SshKeyPair aliceEcdsa;
    static SshKeyPair aliceEd25519;
    static SshKeyPair bobKey;
    static SshKeyPair stranger;
    static String aliceEcdsaLine;
    static String aliceEdLine;
    static String bobLine;

    @TempDir
    Path dir;
    Path file;
    AccountStore accounts;
    AccountKeyAuthenticator auth;

    @BeforeAll
    static void keys() throws Exception {
        Path a1 = SshKeygen.generate(keys, "ecdsa", "alice_ecdsa");
        Path a2 = SshKeygen.generate(keys, "ed25519", "alice_ed25519");
        Path b = SshKeygen.generate(keys, "ed25519", "bob");
        Path s = SshKeygen.generate(keys, "ecdsa", "stranger");
        aliceEcdsa = SshKeyPair.read(a1);
        aliceEd25519 = SshKeyPair.read(a2);
        bobKey = SshKeyPair.read(b);
        stranger = SshKeyPair.read(s);
        aliceEcdsaLine = SshKeygen.publicLine(a1);
        aliceEdLine = SshKeygen.publicLine(a2);
        bobLine = SshKeygen.publicLine(b);
    }

    @BeforeEach
    void store() throws Exception {
        file = dir.resolve("accounts.yaml");
        write(List.of(aliceEcdsaLine, aliceEdLine));
        accounts = AccountStore.load(file);
        auth = new AccountKeyAuthenticator(accounts);
    }

    void write(List<String> aliceKeys) throws Exception {
        StringBuilder y = new StringBuilder("accounts:\n  - login: alice\n    uuid: " + ALICE + "\n    keys:\n");
        for (String k : aliceKeys) y.append("      - \"").append(k).append("\"\n");
        if (aliceKeys.isEmpty()) y.append("      []\n");
        y.append("  - {login: bob, uuid: ").append(BOB).append(", keys: [\"").append(bobLine).append("\"]}\n");
        Files.writeString(file, y.toString().replace("keys:\n      []", "keys: []"));
    }

    static Validity valid() {
        return Validity.days(1);
    }

    AuthResult.Reason refusal(X509Certificate... chain) {
        AuthResult r = auth.authenticate(List.of(chain));
        assertThat(r).isInstanceOf(AuthResult.Rejected.class);
        return ((AuthResult.Rejected) r).reason();
    }

    String login(X509Certificate... chain) {
        AuthResult r = auth.authenticate(List.of(chain));
        assertThat(r).isInstanceOf(AuthResult.Authenticated.class);
        return ((AuthResult.Authenticated) r).account().login();
    }

    @Test
    void selfSignedByARegisteredKeyIsTheAccountWhateverTheKeyType() {
        assertThat(login(aliceEcdsa.selfSigned("alice", valid()))).isEqualTo("alice");
        assertThat(login(aliceEd25519.selfSigned("alice", valid()))).isEqualTo("alice");
        assertThat(login(bobKey.selfSigned("bob", valid()))).isEqualTo("bob");
    }

    @Test
    void anUnregisteredKeyIsUntrusted() {
        assertThat(refusal(stranger.selfSigned("alice", valid()))).isEqualTo(AuthResult.Reason.UNTRUSTED);
        assertThat(((AuthResult.Rejected) auth.authenticate(List.of(stranger.selfSigned("alice", valid())))).detail())
                .contains(stranger.publicKey().fingerprint()).contains("not registered to account 'alice'");
    }

    @Test
    void aliceKeyWithBobsNameIsRefused() {
        assertThat(refusal(aliceEcdsa.selfSigned("bob", valid()))).isEqualTo(AuthResult.Reason.UNTRUSTED);
        assertThat(refusal(signedBy(aliceEcdsa, "bob", valid()))).isEqualTo(AuthResult.Reason.UNTRUSTED);
    }

    @Test
    void unknownLoginAndNoCertificate() {
        assertThat(refusal(aliceEcdsa.selfSigned("mallory", valid()))).isEqualTo(AuthResult.Reason.UNKNOWN_ACCOUNT);
        assertThat(refusal(signedBy(aliceEcdsa, "mallory", valid()))).isEqualTo(AuthResult.Reason.UNKNOWN_ACCOUNT);
        assertThat(refusal()).isEqualTo(AuthResult.Reason.NO_CERTIFICATE);
    }

    @Test
    void expiredAndNotYetValidAreRefusedAsSuch() {
        Instant now = Instant.now();
        assertThat(refusal(aliceEcdsa.selfSigned("alice",
                new Validity(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1))))))
                .isEqualTo(AuthResult.Reason.EXPIRED);
        assertThat(refusal(aliceEcdsa.selfSigned("alice",
                new Validity(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(10))))))
                .isEqualTo(AuthResult.Reason.NOT_YET_VALID);
    }

    @Test
    void aCertificateSignedByARegisteredKeyIsTheAccount() {
        assertThat(login(signedBy(aliceEd25519, "alice", valid()))).isEqualTo("alice");
        assertThat(login(signedBy(aliceEcdsa, "alice", valid()))).isEqualTo("alice");
        assertThat(refusal(signedBy(stranger, "alice", valid()))).isEqualTo(AuthResult.Reason.UNTRUSTED);
    }

    @Test
    void removingAKeyRefusesItsCachedVerificationAndChangesTheGeneration() throws Exception {
        X509Certificate selfSigned = aliceEcdsa.selfSigned("alice", valid());
        X509Certificate signed = signedBy(aliceEcdsa, "alice", valid());
        Verification v1 = auth.verify(List.of(selfSigned));
        Verification v2 = auth.verify(List.of(signed));
        long generation = auth.trustGeneration();
        assertThat(auth.resolve(v1)).isInstanceOf(AuthResult.Authenticated.class);

        write(List.of(aliceEdLine));
        assertThat(accounts.reload()).isTrue();
        assertThat(auth.trustGeneration()).isNotEqualTo(generation);
        assertThat(auth.resolve(v1)).isInstanceOf(AuthResult.Rejected.class);
        assertThat(auth.resolve(v2)).isInstanceOf(AuthResult.Rejected.class);
        assertThat(refusal(signed)).isEqualTo(AuthResult.Reason.UNTRUSTED);

        long afterRemoval = auth.trustGeneration();
        Files.writeString(file, Files.readString(file).replace("login: bob", "login: bob2"));
        assertThat(accounts.reload()).isTrue();
        assertThat(auth.trustGeneration()).as("keys of bob2 = keys of bob under another login").isNotEqualTo(afterRemoval);
        Files.writeString(file, Files.readString(file) + "  - {login: carol, uuid: 2b8e0000-0000-4000-8000-00000000000c}\n");
        long beforeCarol = auth.trustGeneration();
        assertThat(accounts.reload()).isTrue();
        assertThat(auth.trustGeneration()).as("an account without keys changes no keys").isEqualTo(beforeCarol);
    }

    @Test
    void aBadKeyLineNamesFileEntryAndIndexAndAReloadKeepsThePreviousAccounts() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "accounts:\n  - {login: alice, uuid: " + ALICE + ", keys: [\"" + aliceEcdsaLine + "\"]}\n"
                + "  - {login: bob, uuid: " + BOB + ", keys: [\"" + bobLine + "\", \"ssh-ed25519 AAAAnope\"]}\n");
        assertThatThrownBy(() -> AccountStore.load(bad)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(bad.toString())
                .hasMessageContaining("accounts[1].keys[1]");

        Files.writeString(file, Files.readString(bad));
        assertThat(accounts.reload()).isFalse();
        assertThat(accounts.lastError()).contains("accounts[1].keys[1]");
        assertThat(login(aliceEd25519.selfSigned("alice", valid()))).as("previous keys stay").isEqualTo("alice");
    }

    /** A fresh EC key certified by an SSH key, issuer CN = subject CN = login: what Triton's cmon-certgen makes. */
    static X509Certificate signedBy(SshKeyPair signer, String login, Validity validity) {
        try {
            KeyPair leaf = KeyType.EC.generate();
            X500Name name = new X500Name("CN=" + login);
            return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.TEN,
                    Date.from(validity.notBefore()), Date.from(validity.notAfter()), name, leaf.getPublic())
                    .build(new JcaContentSignerBuilder(signer.signatureAlgorithm()).build(signer.privateKey())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
