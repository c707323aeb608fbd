package io.cmon.config;

import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * A certificate and key named by two config keys ({@code tls.cert}, {@code tls.key}): a file that cannot be used
 * becomes a {@link ConfigException} naming the key, and two files given the wrong way round are called swapped
 * (the most common mistake, which otherwise reads as "no PEM certificate in the file").
 */
public final class KeyPairFiles {

    private KeyPairFiles() {}

    /** Reads both files and checks that the key belongs to the certificate (the first of the file's chain). */
    public static void check(String certKey, Path cert, String keyKey, Path key) {
        translate(certKey, cert, keyKey, key, () -> {
            X509Certificate leaf = Pem.readCertificate(cert);
            PrivateKey privateKey = Pem.readPrivateKey(key);
            if (!Pem.matches(leaf, privateKey)) {
                throw new PkiException(key + ": this key does not belong to the certificate in " + cert);
            }
        });
    }

    /** Runs {@code read} (which reads {@code cert} and {@code key}), naming the config key in what it throws. */
    public static void translate(String certKey, Path cert, String keyKey, Path key, Runnable read) {
        try {
            read.run();
        } catch (PkiException e) {
            if (holds(cert, "PRIVATE KEY-----") && holds(key, "-----BEGIN CERTIFICATE-----")) {
                throw ConfigException.key(certKey, cert + " holds a private key and " + key + " (" + keyKey
                        + ") a certificate: " + certKey + " and " + keyKey + " are swapped");
            }
            String problem = e.getMessage();
            throw ConfigException.key(problem.startsWith(key.toString()) ? keyKey : certKey, problem);
        }
    }

    private static boolean holds(Path file, String marker) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).contains(marker);
        } catch (IOException | RuntimeException e) {
            return false; // unreadable: the original problem says so
        }
    }
}
