package io.cmon.pki;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cmon.testing.FuzzInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static io.cmon.testing.FuzzInput.onlyThrows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PEM (certificates, private keys, CRLs) and OpenSSH key parsing on arbitrary bytes: a value or a
 * {@link PkiException} (which the CLI and config loading report with the file name); never another exception.
 * The first byte picks the parser; seeds are keys and certificates made by openssl and ssh-keygen.
 */
class KeysFuzzTest {

    private static Path dir;

    @BeforeAll
    static void dir() throws IOException {
        dir = Files.createTempDirectory("cmon-fuzz-keys");
    }

    @AfterAll
    static void remove() throws IOException {
        Files.deleteIfExists(dir.resolve("crl"));
        Files.deleteIfExists(dir);
    }

    @FuzzTest(maxDuration = "60s")
    void pemAndSshKeys(byte[] data) throws IOException {
        FuzzInput in = FuzzInput.of(data, 5, 1);
        String text = in.part(0);
        Throwable refused = switch (in.selector()) {
            case 0 -> onlyThrows(() -> assertThat(Pem.parseCertificates("f.pem", text)).isNotEmpty(),
                    PkiException.class);
            case 1 -> onlyThrows(() -> assertThat(Pem.parsePrivateKey("f.pem", text)).isNotNull(),
                    PkiException.class);
            case 2 -> {
                // CRLs are read from a file, PEM or DER: the raw bytes after the selector
                Files.write(dir.resolve("crl"), Arrays.copyOfRange(data, Math.min(1, data.length), data.length));
                yield onlyThrows(() -> Pem.readCrls(dir.resolve("crl")), PkiException.class);
            }
            case 3 -> onlyThrows(() -> assertThat(SshPublicKey.parse(text).fingerprint()).startsWith("SHA256:"),
                    PkiException.class);
            default -> onlyThrows(() -> assertThat(SshKeyPair.parse("id", text).publicKey()).isNotNull(),
                    PkiException.class);
        };
        if (refused != null) {
            assertThat(refused.getMessage()).isNotBlank();
        }
    }

}
