package io.cmon.pki;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A certificate authority: a self-signed CA certificate and its key, issuing client, server and agent certificates.
 * On disk it is {@code DIR/ca.pem} + {@code DIR/ca-key.pem} (DESIGN §4).
 */
public final class CertificateAuthority {

    public static final String CERT_FILE = "ca.pem";
    public static final String KEY_FILE = "ca-key.pem";
    public static final String DEFAULT_NAME = "cmon CA";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;
    private final PrivateKey privateKey;

    public CertificateAuthority(X509Certificate certificate, PrivateKey privateKey) {
        if (certificate.getBasicConstraints() < 0) {
            throw new PkiException("'" + certificate.getSubjectX500Principal().getName() + "' is not a CA certificate");
        }
        if (!Pem.matches(certificate, privateKey)) {
            throw new PkiException("the CA key does not belong to the CA certificate");
        }
        this.certificate = certificate;
        this.privateKey = privateKey;
    }

    /** A new self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign|cRLSign (critical). */
    public static CertificateAuthority create(String commonName, KeyType keyType, Validity validity) {
        KeyPair keys = keyType.generate();
        X500Name name = cn(commonName);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(validity.notBefore()), Date.from(validity.notAfter()), name, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new CertificateAuthority(sign(b, keys.getPrivate(), keyType), keys.getPrivate());
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot create CA: " + e.getMessage(), e);
        }
    }

    public static boolean existsIn(Path dir) {
        return Files.exists(dir.resolve(CERT_FILE)) || Files.exists(dir.resolve(KEY_FILE));
    }

    /** Reads {@code dir/ca.pem} and {@code dir/ca-key.pem}. */
    public static CertificateAuthority load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new PkiException(dir + ": no such CA directory (create one with 'cmon ca init --dir " + dir + "')");
        }
        Path certFile = dir.resolve(CERT_FILE);
        Path keyFile = dir.resolve(KEY_FILE);
        X509Certificate cert = Pem.readCertificate(certFile);
        PrivateKey key = Pem.readPrivateKey(keyFile);
        try {
            return new CertificateAuthority(cert, key);
        } catch (PkiException e) {
            throw new PkiException(dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code dir/ca.pem} and {@code dir/ca-key.pem} (0600); refuses to replace an existing CA unless forced. */
    public IssuedCertificate.Files writeTo(Path dir, boolean force) {
        if (!force && existsIn(dir)) {
            throw new PkiException(dir + ": a CA exists there already (use --force to replace it, which invalidates"
                    + " every certificate it issued)");
        }
        Path key = dir.resolve(KEY_FILE);
        Path cert = dir.resolve(CERT_FILE);
        Pem.writePrivateKey(key, privateKey);
        Pem.writeCertificates(cert, List.of(certificate));
        return new IssuedCertificate.Files(cert, key);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public IssuedCertificate issueClient(String login, KeyType keyType, Validity validity) {
        return issue(Profile.CLIENT, login, List.of(), List.of(), keyType, validity);
    }

    public IssuedCertificate issueServer(String name, List<String> dnsNames, List<String> ips, KeyType keyType,
                                         Validity validity) {
        return issue(Profile.SERVER, name, dnsNames, ips, keyType, validity);
    }

    public IssuedCertificate issueAgent(String name, List<String> dnsNames, List<String> ips, KeyType keyType,
                                        Validity validity) {
        return issue(Profile.AGENT, name, dnsNames, ips, keyType, validity);
    }

    /** A proxy's client certificate for the agent link (the only kind an agent accepts), CN = {@code name}. */
    public IssuedCertificate issueProxy(String name, KeyType keyType, Validity validity) {
        return issue(Profile.PROXY, name, List.of(), List.of(), keyType, validity);
    }

    /**
     * Issues a leaf certificate, subject CN = {@code commonName}. For {@link Profile#SERVER} and {@link Profile#AGENT}
     * the SANs are the name itself (an IP SAN when it is an address literal), then every DNS name and every IP.
     */
    public IssuedCertificate issue(Profile profile, String commonName, Collection<String> dnsNames,
                                   Collection<String> ips, KeyType keyType, Validity validity) {
        if (commonName == null || commonName.isBlank()) throw new PkiException("the certificate name is empty");
        if (!profile.hasNames() && (!dnsNames.isEmpty() || !ips.isEmpty())) {
            throw new PkiException("--dns and --ip apply to server and agent certificates only");
        }
        KeyPair keys = keyType.generate();
        return new IssuedCertificate(build(profile, commonName, dnsNames, ips, keys.getPublic(), validity,
                X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()), certificate, privateKey),
                keys.getPrivate());
    }

    /** A self-signed leaf (not a CA): what a stranger or a Triton account-key client presents. */
    public static IssuedCertificate selfSigned(Profile profile, String commonName, KeyType keyType, Validity validity) {
        KeyPair keys = keyType.generate();
        return new IssuedCertificate(build(profile, commonName, List.of(), List.of(), keys.getPublic(), validity,
                cn(commonName), null, keys.getPrivate()), keys.getPrivate());
    }

    /** A CRL of this CA revoking the given serial numbers. */
    public X509CRL crl(Collection<BigInteger> revokedSerials, Instant thisUpdate, Instant nextUpdate) {
        try {
            X509v2CRLBuilder b = new JcaX509v2CRLBuilder(certificate, Date.from(thisUpdate))
                    .setNextUpdate(Date.from(nextUpdate))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
            for (BigInteger serial : revokedSerials) b.addCRLEntry(serial, Date.from(thisUpdate), CRLReason.keyCompromise);
            ContentSigner signer = new JcaContentSignerBuilder(KeyType.of(certificate.getPublicKey()).signatureAlgorithm())
                    .build(privateKey);
            return new JcaX509CRLConverter().getCRL(b.build(signer));
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new PkiException("cannot sign CRL: " + e.getMessage(), e);
        }
    }

    private static X509Certificate build(Profile profile, String commonName, Collection<String> dnsNames,
                                         Collection<String> ips, PublicKey subjectKey, Validity validity,
                                         X500Name issuer, X509Certificate issuerCert, PrivateKey signingKey) {
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            KeyType subjectType = KeyType.of(subjectKey);
            int usage = KeyUsage.digitalSignature | (subjectType == KeyType.RSA ? KeyUsage.keyEncipherment : 0);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, serial(),
                    Date.from(validity.notBefore()), Date.from(validity.notAfter()), cn(commonName), subjectKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(usage))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(profile.purposes()))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
            if (issuerCert != null) {
                b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
            }
            if (profile.hasNames()) {
                b.addExtension(Extension.subjectAlternativeName, false, sans(commonName, dnsNames, ips));
            }
            return sign(b, signingKey, KeyType.of(issuerCert == null ? subjectKey : issuerCert.getPublicKey()));
        } catch (IOException | GeneralSecurityException e) {
            throw new PkiException("cannot issue certificate for '" + commonName + "': " + e.getMessage(), e);
        }
    }

    private static GeneralNames sans(String name, Collection<String> dnsNames, Collection<String> ips) {
        Set<GeneralName> names = new LinkedHashSet<>();
        names.add(isIp(name) ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name));
        for (String dns : dnsNames) {
            if (dns.isBlank() || isIp(dns)) throw new PkiException("--dns '" + dns + "' is not a DNS name (use --ip for addresses)");
            names.add(new GeneralName(GeneralName.dNSName, dns));
        }
        for (String ip : ips) {
            if (!isIp(ip)) throw new PkiException("--ip '" + ip + "' is not an IPv4 or IPv6 address");
            names.add(new GeneralName(GeneralName.iPAddress, ip));
        }
        return new GeneralNames(new ArrayList<>(names).toArray(GeneralName[]::new));
    }

    private static boolean isIp(String s) {
        return IPAddress.isValid(s);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key, KeyType keyType)
            throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(keyType.signatureAlgorithm()).build(key);
            X509CertificateHolder holder = b.build(signer);
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static X500Name cn(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).setBit(126); // positive, 16 bytes, never leading zeros
    }
}
