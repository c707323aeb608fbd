package io.cmon.pki;

import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/** A new certificate with its private key. */
public record IssuedCertificate(X509Certificate certificate, PrivateKey privateKey) {

    /** The two files of a key pair: {@code NAME.pem} and {@code NAME-key.pem} (DESIGN §4). */
    public record Files(Path cert, Path key) {
        public static Files in(Path dir, String baseName) {
            return new Files(dir.resolve(baseName + ".pem"), dir.resolve(baseName + "-key.pem"));
        }
    }

    /** Writes {@code dir/baseName.pem} and {@code dir/baseName-key.pem} (0600), creating {@code dir}; key first. */
    public Files writeTo(Path dir, String baseName) {
        Files files = Files.in(dir, baseName);
        Pem.writePrivateKey(files.key(), privateKey);
        Pem.writeCertificates(files.cert(), java.util.List.of(certificate));
        return files;
    }
}
