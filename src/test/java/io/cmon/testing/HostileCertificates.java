package io.cmon.testing;

import io.cmon.pki.KeyType;
import io.cmon.pki.Pem;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates an attacker would present, as PEM files for real TLS clients (curl, openssl): the ones the JDK
 * refuses to parse (made by the real openssl), subjects BouncyCastle cannot decode (DER patched after building,
 * then signed properly, so they verify up to the point where the subject is read), and very large chains.
 */
public final class HostileCertificates {

    /** A key and certificate file pair; {@code cert} may hold a whole chain. */
    public record KeyAndCert(Path cert, Path key) {}

    private HostileCertificates() {}

    /**
     * Self-signed by the real openssl with a critical policyConstraints extension whose value is an ASN.1 NULL:
     * openssl and BoringSSL carry it, the JDK's certificate parser throws on it.
     */
    public static KeyAndCert unparseableByJdk(Path dir, String cn) throws IOException, InterruptedException {
        Path cert = dir.resolve(cn + "-unparseable.pem");
        Path key = dir.resolve(cn + "-unparseable-key.pem");
        run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-subj", "/CN=" + cn, "-days", "1",
                "-addext", "2.5.29.36=critical,DER:05:00");
        return new KeyAndCert(cert, key);
    }

    /** A valid chain (leaf first) with the unparseable certificate appended, for the same key. */
    public static KeyAndCert validChainWithUnparseableAppended(Path dir, TestPki.Issued valid) throws IOException,
            InterruptedException {
        KeyAndCert bad = unparseableByJdk(dir, "appended");
        Path chain = dir.resolve("valid-plus-unparseable.pem");
        java.nio.file.Files.writeString(chain, java.nio.file.Files.readString(valid.cert())
                + java.nio.file.Files.readString(bad.cert()));
        return new KeyAndCert(chain, valid.key());
    }

    /**
     * Signed by {@code caCert}/{@code caKey}, for client auth, with a subject of CN {@code cn} and an OU whose value
     * is tagged ASN.1 REAL (a type BouncyCastle's X500Name does not decode) when {@code realOu}, or with the CN's
     * UTF8String bytes replaced by invalid UTF-8 when not.
     */
    public static KeyAndCert badSubject(Path dir, String name, X509Certificate caCert, PrivateKey caKey, boolean realOu)
            throws Exception {
        KeyPair pair = KeyType.EC.generate();
        String placeholderOu = "OUOUOU";
        String cn = realOu ? "alice" : "CNCNCN";
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(Duration.ofMinutes(5))),
                Date.from(now.plus(Duration.ofDays(1))), new X500Name("CN=" + cn + ",OU=" + placeholderOu),
                pair.getPublic());
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        X509Certificate template = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey)));
        byte[] tbs = template.getTBSCertificate();
        // same length in, same length out: no DER length to fix up
        byte[] from = realOu ? tlv(0x0c, placeholderOu.getBytes(StandardCharsets.US_ASCII))
                : tlv(0x0c, cn.getBytes(StandardCharsets.US_ASCII));
        byte[] to = realOu ? tlv(0x09, new byte[] {0x03, '1', '.', '5', 'E', '0'}) // NR3 "1.5E0", then junk-free
                : tlv(0x0c, new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xc0, (byte) 0x80, (byte) 0xed, (byte) 0xa0});
        if (to.length != from.length) throw new IllegalStateException("patch must keep the length");
        int at = indexOf(tbs, from);
        if (at < 0) throw new IllegalStateException("placeholder not found in the TBS certificate");
        System.arraycopy(to, 0, tbs, at, to.length);
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(caKey);
        s.update(tbs);
        byte[] sig = s.sign();
        byte[] algId = org.bouncycastle.asn1.x509.Certificate.getInstance(template.getEncoded())
                .getSignatureAlgorithm().getEncoded();
        byte[] bitString = new byte[sig.length + 1];
        System.arraycopy(sig, 0, bitString, 1, sig.length);
        byte[] der = tlv(0x30, concat(tbs, algId, tlv(0x03, bitString)));
        Path cert = dir.resolve(name + ".pem");
        Path key = dir.resolve(name + "-key.pem");
        java.nio.file.Files.writeString(cert, pem(der));
        Pem.writePrivateKey(key, pair.getPrivate());
        return new KeyAndCert(cert, key);
    }

    /** A self-signed client certificate of about {@code bytes} bytes (a large non-critical extension). */
    public static KeyAndCert large(Path dir, String name, int bytes) throws Exception {
        KeyPair pair = KeyType.EC.generate();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(System.nanoTime()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), subject,
                pair.getPublic());
        byte[] filler = new byte[bytes];
        new java.util.Random(name.hashCode()).nextBytes(filler);
        b.addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1"), false,
                new DEROctetString(filler));
        X509Certificate c = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
        Path cert = dir.resolve(name + ".pem");
        Path key = dir.resolve(name + "-key.pem");
        java.nio.file.Files.writeString(cert, pem(c.getEncoded()));
        Pem.writePrivateKey(key, pair.getPrivate());
        return new KeyAndCert(cert, key);
    }

    /** {@code curl} with a client certificate: the HTTP status, or -1 when no HTTP answer came. */
    public static int curlStatus(KeyAndCert client, int port, String path) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("curl", "-sSk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                "--cert", client.cert().toString(), "--key", client.key().toString(),
                "https://127.0.0.1:" + port + path).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        try {
            int code = Integer.parseInt(out);
            return code == 0 ? -1 : code;
        } catch (NumberFormatException e) {
            throw new IOException("curl: " + out);
        }
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", List.of(command)) + " failed: " + out);
        }
    }

    private static String pem(byte[] der) {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END CERTIFICATE-----\n";
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >>> 8);
            out.write(n & 0xff);
        } else {
            out.write(0x83);
            out.write(n >>> 16);
            out.write((n >>> 8) & 0xff);
            out.write(n & 0xff);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
