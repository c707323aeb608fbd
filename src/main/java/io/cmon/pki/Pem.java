package io.cmon.pki;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * PEM files of certificates (chains and bundles), PKCS#8 private keys and CRLs. Reading accepts what operators
 * bring (PKCS#8 or the traditional {@code EC/RSA PRIVATE KEY}; CRLs in PEM or DER); writing is always PKCS#8 and
 * atomic (temp file + rename), so a process that reloads the file never sees half of it.
 */
public final class Pem {

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private Pem() {}

    // ---- reading

    /** Every certificate in the file, in file order (a chain is leaf first). Fails on a file without any. */
    public static List<X509Certificate> readCertificates(Path file) {
        return parseCertificates(file.toString(), read(file));
    }

    public static List<X509Certificate> parseCertificates(String name, String pem) {
        List<X509Certificate> certs = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : objects(name, pem)) {
            if (o instanceof X509CertificateHolder h) {
                try {
                    certs.add(converter.getCertificate(h));
                } catch (CertificateException e) {
                    throw new PkiException(name + ": bad certificate: " + e.getMessage(), e);
                }
            }
        }
        if (certs.isEmpty()) throw new PkiException(name + ": no PEM certificate in the file");
        return List.copyOf(certs);
    }

    /** The first certificate of the file. */
    public static X509Certificate readCertificate(Path file) {
        return readCertificates(file).get(0);
    }

    /** The private key of the file (PKCS#8 or traditional EC/RSA); encrypted keys are refused. */
    public static PrivateKey readPrivateKey(Path file) {
        return parsePrivateKey(file.toString(), read(file));
    }

    public static PrivateKey parsePrivateKey(String name, String pem) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        for (Object o : objects(name, pem)) {
            try {
                if (o instanceof PrivateKeyInfo info) return converter.getPrivateKey(info);
                if (o instanceof PEMKeyPair pair) return converter.getPrivateKey(pair.getPrivateKeyInfo()); // SEC1 may omit the public key
            } catch (IOException e) {
                throw new PkiException(name + ": bad private key: " + e.getMessage(), e);
            }
            if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                throw new PkiException(name + ": the private key is encrypted; cmon needs an unencrypted key (mode 0600)");
            }
        }
        throw new PkiException(name + ": no PEM private key in the file");
    }

    /** Every CRL of the file, PEM ({@code X509 CRL}) or DER. */
    public static List<X509CRL> readCrls(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new PkiException(file + ": file not found");
        } catch (IOException e) {
            throw new PkiException(file + ": cannot read: " + e.getMessage(), e);
        }
        String name = file.toString();
        if (bytes.length > 0 && bytes[0] == 0x30) { // DER SEQUENCE
            try {
                Collection<? extends java.security.cert.CRL> crls = CertificateFactory.getInstance("X.509")
                        .generateCRLs(new ByteArrayInputStream(bytes));
                return crls.stream().map(X509CRL.class::cast).toList();
            } catch (CertificateException | CRLException e) {
                throw new PkiException(name + ": bad DER CRL: " + e.getMessage(), e);
            }
        }
        List<X509CRL> crls = new ArrayList<>();
        JcaX509CRLConverter converter = new JcaX509CRLConverter();
        for (Object o : objects(name, new String(bytes, StandardCharsets.US_ASCII))) {
            if (o instanceof X509CRLHolder h) {
                try {
                    crls.add(converter.getCRL(h));
                } catch (CRLException | RuntimeException e) {
                    // BouncyCastle parses the inner ASN.1 lazily: a malformed CRL fails here with
                    // ASN1ParsingException (a RuntimeException), found by KeysFuzzTest
                    throw new PkiException(name + ": bad CRL: " + e.getMessage(), e);
                }
            }
        }
        if (crls.isEmpty()) throw new PkiException(name + ": no CRL in the file");
        return List.copyOf(crls);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new PkiException(file + ": file not found");
        } catch (IOException e) {
            throw new PkiException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static List<Object> objects(String name, String pem) {
        List<Object> out = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) out.add(o);
        } catch (IOException | RuntimeException e) {
            throw new PkiException(name + ": not valid PEM: " + e.getMessage(), e);
        }
        return out;
    }

    // ---- writing

    public static String encode(List<X509Certificate> certificates) {
        StringWriter out = new StringWriter();
        try (PemWriter w = new PemWriter(out)) {
            for (X509Certificate c : certificates) w.writeObject(new PemObject("CERTIFICATE", c.getEncoded()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (CertificateEncodingException e) {
            throw new PkiException("cannot encode certificate: " + e.getMessage(), e);
        }
        return out.toString();
    }

    public static String encode(PrivateKey key) {
        // getEncoded() of a JCA private key is its PKCS#8 PrivateKeyInfo
        return encodeObject(new PemObject("PRIVATE KEY", key.getEncoded()));
    }

    public static String encode(X509CRL crl) {
        try {
            return encodeObject(new PemObject("X509 CRL", crl.getEncoded()));
        } catch (CRLException e) {
            throw new PkiException("cannot encode CRL: " + e.getMessage(), e);
        }
    }

    private static String encodeObject(PemObject object) {
        StringWriter out = new StringWriter();
        try (PemWriter w = new PemWriter(out)) {
            w.writeObject(object);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    public static void writeCertificates(Path file, List<X509Certificate> certificates) {
        writeAtomically(file, encode(certificates), false);
    }

    /** Mode 0600 from the moment the file exists (the temp file is created with it). */
    public static void writePrivateKey(Path file, PrivateKey key) {
        writeAtomically(file, encode(key), true);
    }

    public static void writeCrl(Path file, X509CRL crl) {
        writeAtomically(file, encode(crl), false);
    }

    static void writeAtomically(Path file, String text, boolean secret) {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = secret
                    ? Files.createTempFile(dir, "." + abs.getFileName(), ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                    : Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
            try {
                if (!secret) Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
                Files.writeString(tmp, text, StandardCharsets.US_ASCII);
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (FileAlreadyExistsException e) {
            throw new PkiException(file + ": exists and is not a file");
        } catch (IOException e) {
            throw new PkiException(file + ": cannot write: " + e, e);
        }
    }

    /** True when the private key is the one of the certificate (a sign/verify round trip, algorithm-neutral). */
    public static boolean matches(X509Certificate certificate, PrivateKey key) {
        try {
            KeyType type = KeyType.of(certificate.getPublicKey());
            java.security.Signature s = java.security.Signature.getInstance(type.signatureAlgorithm());
            s.initSign(key);
            byte[] probe = "cmon key check".getBytes(StandardCharsets.US_ASCII);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(certificate.getPublicKey());
            s.update(probe);
            return s.verify(sig);
        } catch (GeneralSecurityException | PkiException e) {
            return false;
        }
    }
}
