package io.cmon.pki;

import io.cmon.testing.SshKeygen;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** OpenSSH keys made by ssh-keygen: public lines, private key files, and the certificate made from them. */
class SshKeysTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"ed25519", "ecdsa", "rsa"})
    void publicLineParsesToTheFingerprintSshKeygenPrints(String type) throws Exception {
        Path key = SshKeygen.generate(dir, type, "id_" + type);
        SshPublicKey pub = SshPublicKey.parse(SshKeygen.publicLine(key));
        assertThat(pub.fingerprint()).isEqualTo(SshKeygen.fingerprint(key));
        assertThat(pub.comment()).isEqualTo("id_" + type + "@test");
        assertThat(pub.toLine()).isEqualTo(SshKeygen.publicLine(key));
        assertThat(SshPublicKey.fingerprintOf(pub.publicKey())).isEqualTo(pub.fingerprint());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ed25519", "ecdsa", "rsa"})
    void privateKeyFileGivesTheKeyOfItsPubAndASelfSignedCertificate(String type) throws Exception {
        Path key = SshKeygen.generate(dir, type, "id_" + type);
        SshKeyPair pair = SshKeyPair.read(key);
        assertThat(pair.publicKey().fingerprint()).isEqualTo(SshKeygen.fingerprint(key));
        assertThat(pair.publicKey().type()).isEqualTo(SshKeygen.publicLine(key).split(" ")[0]);

        X509Certificate cert = pair.selfSigned("alice", Validity.days(1));
        cert.verify(cert.getPublicKey());
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=alice");
        assertThat(SshPublicKey.fingerprintOf(cert.getPublicKey())).isEqualTo(SshKeygen.fingerprint(key));
        java.security.Signature s = java.security.Signature.getInstance(pair.signatureAlgorithm());
        s.initSign(pair.privateKey());
        s.update(new byte[] {1, 2, 3});
        byte[] signature = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1, 2, 3});
        assertThat(s.verify(signature)).as("the written private key is the certificate's").isTrue();
    }

    @Test
    void passphraseProtectedKeyIsRefusedWithWhatToDo() throws Exception {
        Path key = SshKeygen.generate(dir, "ecdsa", "id_enc", "secret");
        assertThatThrownBy(() -> SshKeyPair.read(key)).isInstanceOf(PkiException.class)
                .hasMessageContaining("passphrase").hasMessageContaining("ssh-keygen -p");
    }

    @Test
    void aPubFileGivenAsPrivateKeyIsRefused() throws Exception {
        Path key = SshKeygen.generate(dir, "ed25519", "id");
        assertThatThrownBy(() -> SshKeyPair.read(Path.of(key + ".pub"))).isInstanceOf(PkiException.class)
                .hasMessageContaining("not an OpenSSH private key");
        assertThatThrownBy(() -> SshKeyPair.read(dir.resolve("missing"))).hasMessageContaining("no such file");
    }

    @Test
    void badPublicLinesSayWhatIsWrong() throws Exception {
        String ed = SshKeygen.publicLine(SshKeygen.generate(dir, "ed25519", "id"));
        String blob = ed.split(" ")[1];
        assertThatThrownBy(() -> SshPublicKey.parse("ssh-rsa " + blob)).hasMessageContaining("the key is 'ssh-ed25519'");
        assertThatThrownBy(() -> SshPublicKey.parse("ssh-ed25519 !!!")).hasMessageContaining("base64");
        assertThatThrownBy(() -> SshPublicKey.parse("ssh-dss " + blob)).hasMessageContaining("'ssh-dss' is not one of");
        assertThatThrownBy(() -> SshPublicKey.parse("ssh-ed25519")).hasMessageContaining("TYPE BASE64");
        assertThatThrownBy(() -> SshPublicKey.parse("ssh-ed25519 " + blob.substring(0, 20)))
                .isInstanceOf(PkiException.class);
        assertThat(Files.exists(dir.resolve("id.pub"))).isTrue();
    }
}
