package io.cmon.quickstart;

import io.cmon.pki.Pem;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;

/** A TLS client context from PEM files: trust one CA, present one certificate (a tenant calling the proxy). */
record ClientTls(Path caFile, Path certFile, Path keyFile) {

    SSLContext context() {
        try {
            char[] none = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, none);
            keys.setKeyEntry("client", Pem.readPrivateKey(keyFile), none,
                    Pem.readCertificates(certFile).toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, none);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, none);
            trust.setCertificateEntry("ca", Pem.readCertificate(caFile));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new QuickstartException("cannot load the TLS client files " + certFile + ": " + e.getMessage(), e);
        }
    }
}
