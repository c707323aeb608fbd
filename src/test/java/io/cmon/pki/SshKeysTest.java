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

    /**
     * Found by KeysFuzzTest: an OpenSSH RSA key whose public exponent is even (a corrupted file) made BouncyCastle
     * throw IllegalArgumentException out of SshKeyPair.parse instead of a PkiException naming the file.
     */
    @Test
    void rsaKeyWithAnEvenPublicExponentIsRefusedWithTheFileName() {
        String key = """
                -----BEGIN OPENSSH PRIVATE KEY-----
                b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn
                NhAAAAAwEAAQAAAIEAtnY77/xng+5OoF9LPVRaJBi/vnBQh0sZHEoxDsRDUrABE5DC+axM
                0vzqOyqATCKkv9y8kdTDNOBrVxf11THBmDf6KxkXptuNd2x0G39wh/h66AF2gNtbgY7Wu2
                tFqm3qj6Sc3UYcqLOKirBpady8VY5sO2XPrNio2vS9hhHVg20AAAIABPTLngT0y54AAAAH
                c3NoLXJzYQAAAIEAtnY77/xng+5OoF9LPVRaJBi/vnBQh0sZHEoxDsRDUrABE5DC+axM0v
                zqOyqATCKkv9y8kdTDNOBrVxf11THBmDf6KxkXptuNd2x0G39wh/h66AF2gNtbgY7Wu2tF
                qm3qj6Sc3UYcqLOKirBpady8VY5sO2XPrNio2vS9hhHVg20AAAADAQBAAAAAgG7VGQlot3
                RTUF1oJSrmzy53/hju3mugOWuOwYfnvcE/ehfpahYBDFVpHdq4sVwN+yc0LTMkG0NGQs2P
                l1teMup9MAvsTI0tK2Qme8+XvFOf9+7U0hccslec9uPCfIFK46RxGusDB+rVxrr6N+l5Nh
                xMOpvA9lZ2yBRr1I1Ndk4BAAAAQH0M6AKYw8hJg4a5MbkVqbrmnwFGYAD2Pr1FoUv1Sjd1
                +ZwBWm7hBwTC1Jthr3gkyX9o94rUWSMzQcyc8jGxhSYAAABBAOsR9nuiT/OAFCztZ/N6XH
                H2JL5zmLseRspPhrHTNB5uj5oySqidXWW0a5fz9tlMzrd2Qc1NIWNHehr1z/2tQoEAAABB
                AMa1JsR9XKhE1m3pPrkWHY5aou+p2StjGRaOFQgN62KpQeFAQ6wVIWdOB66B1jgZcSc10b
                PQavnrkQRsHIUR8u0AAAAJZnV6ekBjbW9uAQI=
                -----END OPENSSH PRIVATE KEY-----
                """;
        assertThatThrownBy(() -> SshKeyPair.parse("id_rsa", key)).isInstanceOf(PkiException.class)
                .hasMessageStartingWith("id_rsa: cannot parse the private key: ")
                .hasMessageContaining("even");
    }
}
