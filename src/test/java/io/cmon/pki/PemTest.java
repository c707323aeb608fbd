package io.cmon.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PemTest {

    @TempDir
    Path dir;

    final CertificateAuthority ca = CertificateAuthority.create("cmon CA", KeyType.EC, Validity.days(30));

    @Test
    void chainRoundTripsInOrder() {
        X509Certificate leaf = ca.issueClient("alice", KeyType.EC, Validity.days(1)).certificate();
        Path f = dir.resolve("chain.pem");
        Pem.writeCertificates(f, List.of(leaf, ca.certificate()));
        assertThat(Pem.readCertificates(f)).containsExactly(leaf, ca.certificate());
    }

    @Test
    void readsOpensslTraditionalEcAndRsaKeysAsWellAsPkcs8() throws Exception {
        Path sec1 = openssl("ec.pem", "ecparam", "-name", "prime256v1", "-genkey", "-noout");
        assertThat(Files.readString(sec1)).contains("BEGIN EC PRIVATE KEY");
        assertThat(Pem.readPrivateKey(sec1).getAlgorithm()).isEqualTo("EC");
        Path pkcs1 = openssl("rsa.pem", "genrsa", "-traditional", "1024");
        assertThat(Files.readString(pkcs1)).contains("BEGIN RSA PRIVATE KEY");
        assertThat(Pem.readPrivateKey(pkcs1).getAlgorithm()).isEqualTo("RSA");
        KeyPair ec = KeyType.EC.generate();
        assertThat(Pem.parsePrivateKey("k", Pem.encode(ec.getPrivate())).getEncoded()).isEqualTo(ec.getPrivate().getEncoded());
    }

    private Path openssl(String file, String... args) throws Exception {
        Path out = dir.resolve(file);
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor()).isZero();
        return out;
    }

    @Test
    void errorsNameTheFileAndTheProblem() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.pem"), "hello\n");
        assertThatThrownBy(() -> Pem.readCertificates(empty)).hasMessage(empty + ": no PEM certificate in the file");
        assertThatThrownBy(() -> Pem.readPrivateKey(empty)).hasMessage(empty + ": no PEM private key in the file");
        assertThatThrownBy(() -> Pem.readCertificates(dir.resolve("missing.pem"))).hasMessage(dir.resolve("missing.pem") + ": file not found");
        Path broken = Files.writeString(dir.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> Pem.readCertificates(broken)).hasMessageStartingWith(broken + ":");
    }

    @Test
    void crlsReadFromPemAndDer() throws Exception {
        Instant now = Instant.now();
        X509CRL crl = ca.crl(List.of(BigInteger.TEN), now, now.plus(Duration.ofDays(1)));
        Path pem = dir.resolve("crl.pem");
        Pem.writeCrl(pem, crl);
        assertThat(Pem.readCrls(pem)).containsExactly(crl);
        Path der = Files.write(dir.resolve("crl.der"), crl.getEncoded());
        assertThat(Pem.readCrls(der)).containsExactly(crl);
        assertThat(Pem.readCrls(der).get(0).getRevokedCertificate(BigInteger.TEN)).isNotNull();
    }

    /**
     * Found by KeysFuzzTest: a CRL whose issuer name holds a length in long form beyond 31 bits parses as PEM, and
     * BouncyCastle fails only when converting it, with a RuntimeException that escaped as a stack trace.
     */
    @Test
    void crlWithMalformedInnerAsn1IsRefusedWithTheFileName() throws Exception {
        Path crl = Files.writeString(dir.resolve("bad-crl.pem"), """
                -----BEGIN X509 CRL-----
                MIGlMEwwCgYIKoZIzj0EAwIwIDENMAsGA1UEAwwEZnV6ejEPMA1G0AUECwwGdGVu
                YW50Fw0yNjExMzAwMTM1MDdaFw0yNjEyMDEwMTM1MDdaMAoGCCqGSM50BAMCA0kA
                MEYCIQC1z1rhWzpMjNc4MwqVf1THxhjRD0EYaLskeddyZPvd7wIhAN6vtlN3vAN5
                Tr3AmEqL6ywUw3ijvyEOBOTz2KP8uo7b
                -----END X509 CRL-----
                """);
        assertThatThrownBy(() -> Pem.readCrls(crl)).isInstanceOf(PkiException.class)
                .hasMessageStartingWith(crl + ": bad CRL: ");
    }

    @Test
    void keyFilesAreOwnerOnlyFromCreationAndReplacedAtomically() throws Exception {
        Path key = dir.resolve("sub/dir/k.pem");
        Pem.writePrivateKey(key, KeyType.EC.generate().getPrivate());
        assertThat(Files.getPosixFilePermissions(key)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Pem.writePrivateKey(key, KeyType.EC.generate().getPrivate());
        try (var files = Files.list(key.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("k.pem");
        }
    }
}
