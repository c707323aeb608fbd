package io.cmon.pki;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.params.RSAPrivateCrtKeyParameters;
import org.bouncycastle.crypto.util.OpenSSHPrivateKeyUtil;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.util.Base64;
import java.util.Date;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tenant's SSH key pair read from an OpenSSH private key file ({@code openssh-key-v1}, what ssh-keygen writes;
 * also the older PEM {@code EC/RSA PRIVATE KEY}), for making the self-signed client certificate of account-key mode
 * ({@link #selfSigned}). Unencrypted keys only: a passphrase would need a prompt and bcrypt-pbkdf.
 */
public record SshKeyPair(SshPublicKey publicKey, PrivateKey privateKey) {

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final String MAGIC = "openssh-key-v1\0";

    public static SshKeyPair read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new PkiException(file + ": no such file");
        } catch (IOException e) {
            throw new PkiException(file + ": " + e.getMessage(), e);
        }
        return parse(file.toString(), text);
    }

    public static SshKeyPair parse(String name, String text) {
        Matcher m = PEM.matcher(text);
        if (!m.find()) {
            throw new PkiException(name + ": not an OpenSSH private key (expected '-----BEGIN OPENSSH PRIVATE KEY-----';"
                    + " give the private key file, not the .pub)");
        }
        String label = m.group(1);
        String body = m.group(2);
        if (!label.equals("OPENSSH PRIVATE KEY") && !label.equals("EC PRIVATE KEY") && !label.equals("RSA PRIVATE KEY")) {
            throw new PkiException(name + ": '" + label + "' is not an SSH private key (OPENSSH, EC or RSA PRIVATE KEY)");
        }
        if (body.contains("ENCRYPTED")) throw encrypted(name);
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(body.strip());
        } catch (IllegalArgumentException e) {
            throw new PkiException(name + ": the key is not valid base64");
        }
        if (label.equals("OPENSSH PRIVATE KEY") && !"none".equals(cipherOf(name, der))) throw encrypted(name);
        AsymmetricKeyParameter priv;
        AsymmetricKeyParameter pub;
        try {
            priv = OpenSSHPrivateKeyUtil.parsePrivateKeyBlob(der);
            // BouncyCastle checks the key's numbers only here (an even RSA exponent: found by KeysFuzzTest)
            pub = publicOf(name, priv);
        } catch (PkiException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new PkiException(name + ": cannot parse the private key: " + e.getMessage(), e);
        }
        try {
            PrivateKey jcaPrivate = new JcaPEMKeyConverter().getPrivateKey(PrivateKeyInfoFactory.createPrivateKeyInfo(priv));
            PublicKey jcaPublic = SshPublicKey.toJca(pub);
            String type = typeOf(jcaPublic);
            SshPublicKey publicKey = new SshPublicKey(type, jcaPublic, SshPublicKey.fingerprint(pub), "");
            return new SshKeyPair(publicKey, jcaPrivate);
        } catch (IOException e) {
            throw new PkiException(name + ": cannot convert the key: " + e.getMessage(), e);
        }
    }

    private static PkiException encrypted(String name) {
        return new PkiException(name + ": the key is protected by a passphrase; cmon reads unencrypted keys only."
                + " Use an unencrypted copy: cp KEY /tmp/k && ssh-keygen -p -N '' -f /tmp/k (and delete it afterwards)");
    }

    /** The cipher name of an openssh-key-v1 blob: magic, then string ciphername. */
    private static String cipherOf(String name, byte[] der) {
        byte[] magic = MAGIC.getBytes(StandardCharsets.US_ASCII);
        if (der.length < magic.length + 4 || !new String(der, 0, magic.length, StandardCharsets.US_ASCII).equals(MAGIC)) {
            throw new PkiException(name + ": not an openssh-key-v1 key");
        }
        int at = magic.length;
        int n = ((der[at] & 0xff) << 24) | ((der[at + 1] & 0xff) << 16) | ((der[at + 2] & 0xff) << 8) | (der[at + 3] & 0xff);
        if (n < 0 || n > der.length - at - 4) throw new PkiException(name + ": the key is truncated");
        return new String(der, at + 4, n, StandardCharsets.US_ASCII);
    }

    private static AsymmetricKeyParameter publicOf(String name, AsymmetricKeyParameter priv) {
        if (priv instanceof Ed25519PrivateKeyParameters p) return p.generatePublicKey();
        if (priv instanceof ECPrivateKeyParameters p) {
            return new ECPublicKeyParameters(
                    new FixedPointCombMultiplier().multiply(p.getParameters().getG(), p.getD()).normalize(), p.getParameters());
        }
        if (priv instanceof RSAPrivateCrtKeyParameters p) return new RSAKeyParameters(false, p.getModulus(), p.getPublicExponent());
        throw new PkiException(name + ": unsupported key type " + priv.getClass().getSimpleName()
                + " (use ed25519, ecdsa or rsa)");
    }

    private static String typeOf(PublicKey key) {
        if (key instanceof ECPublicKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return "ecdsa-sha2-nistp" + bits;
        }
        return key.getAlgorithm().equals("RSA") ? "ssh-rsa" : "ssh-ed25519";
    }

    /**
     * The certificate account-key mode accepts: self-signed by this key, subject CN = {@code login}, the key itself as
     * subject key, for client authentication.
     */
    public X509Certificate selfSigned(String login, Validity validity) {
        if (login == null || login.isBlank()) throw new PkiException("the account login is empty");
        try {
            X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, login).build();
            PublicKey key = publicKey.publicKey();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(127, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(validity.notBefore()), Date.from(validity.notAfter()), name, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                    .addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(key));
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder(signatureAlgorithm()).build(privateKey)));
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new PkiException("cannot make a certificate for '" + login + "': " + e.getMessage(), e);
        }
    }

    /** The algorithm this key signs certificates with. */
    public String signatureAlgorithm() {
        return switch (publicKey.type()) {
            case "ssh-ed25519" -> "Ed25519";
            case "ssh-rsa" -> "SHA256withRSA";
            case "ecdsa-sha2-nistp384" -> "SHA384withECDSA";
            case "ecdsa-sha2-nistp521" -> "SHA512withECDSA";
            default -> "SHA256withECDSA";
        };
    }
}
