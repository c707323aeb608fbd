package io.cmon.pki;

import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.util.OpenSSHPublicKeyUtil;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Base64;
import java.util.Set;

/**
 * An OpenSSH public key line ({@code ssh-ed25519 AAAA… comment}) as registered for an account (account-key mode),
 * with its JCA key and its OpenSSH fingerprint ({@code SHA256:…}, as {@code ssh-keygen -l} prints it). Two keys are
 * the same key exactly when their fingerprints are equal: the fingerprint is taken over the canonical SSH encoding,
 * so a key from accounts.yaml and the same key read from a certificate compare equal.
 */
public record SshPublicKey(String type, PublicKey publicKey, String fingerprint, String comment) {

    /** The types a TLS client certificate can carry (no DSA, no FIDO {@code sk-*} keys). */
    static final Set<String> TYPES = Set.of("ssh-ed25519", "ssh-rsa",
            "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521");

    /** Parses {@code TYPE BASE64 [COMMENT]}. @throws PkiException saying what is wrong */
    public static SshPublicKey parse(String line) {
        if (line == null || line.isBlank()) throw new PkiException("empty key");
        String[] parts = line.strip().split("\\s+", 3);
        if (parts.length < 2) throw new PkiException("not an OpenSSH public key line ('TYPE BASE64 [COMMENT]')");
        String type = parts[0];
        if (!TYPES.contains(type)) {
            throw new PkiException("key type '" + type + "' is not one of " + String.join(", ", TYPES.stream().sorted().toList()));
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            throw new PkiException("the key is not valid base64: " + e.getMessage());
        }
        String inner = blobType(blob);
        if (!type.equals(inner)) {
            throw new PkiException("the line says '" + type + "' but the key is '" + inner + "'");
        }
        AsymmetricKeyParameter params;
        try {
            params = OpenSSHPublicKeyUtil.parsePublicKey(blob);
        } catch (RuntimeException e) {
            throw new PkiException("cannot parse the " + type + " key: " + e.getMessage());
        }
        return new SshPublicKey(type, toJca(params), fingerprint(params), parts.length == 3 ? parts[2].strip() : "");
    }

    /** The OpenSSH fingerprint of a JCA public key (a certificate's), or null when SSH has no encoding for it. */
    public static String fingerprintOf(PublicKey key) {
        try {
            return fingerprint(PublicKeyFactory.createKey(key.getEncoded()));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String fingerprint(AsymmetricKeyParameter params) {
        try {
            byte[] canonical = OpenSSHPublicKeyUtil.encodePublicKey(params);
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new PkiException("cannot encode the key: " + e.getMessage(), e);
        }
    }

    static PublicKey toJca(AsymmetricKeyParameter params) {
        try {
            SubjectPublicKeyInfo info = SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(params);
            return new JcaPEMKeyConverter().getPublicKey(info);
        } catch (IOException e) {
            throw new PkiException("cannot convert the key: " + e.getMessage(), e);
        }
    }

    /** The type name at the start of an SSH key blob (a uint32 length, then the name). */
    private static String blobType(byte[] blob) {
        if (blob.length < 4) throw new PkiException("the key is truncated");
        int n = ((blob[0] & 0xff) << 24) | ((blob[1] & 0xff) << 16) | ((blob[2] & 0xff) << 8) | (blob[3] & 0xff);
        if (n < 0 || n > blob.length - 4) throw new PkiException("the key is truncated");
        return new String(blob, 4, n, StandardCharsets.US_ASCII);
    }

    /** The key as an accounts.yaml line. */
    public String toLine() {
        return type + " " + Base64.getEncoder().encodeToString(encoded(publicKey)) + (comment.isEmpty() ? "" : " " + comment);
    }

    private static byte[] encoded(PublicKey key) {
        try {
            return OpenSSHPublicKeyUtil.encodePublicKey(PublicKeyFactory.createKey(key.getEncoded()));
        } catch (IOException e) {
            throw new PkiException("cannot encode the key: " + e.getMessage(), e);
        }
    }
}
