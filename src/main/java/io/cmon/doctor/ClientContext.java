package io.cmon.doctor;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A TLS client context that behaves as Prometheus's does: it always sends the configured certificate (Go does not
 * filter by the CA names the server lists, the JDK's default key manager does), and trusts the given CA bundle, or
 * the system's roots when none is given.
 */
final class ClientContext {

    private ClientContext() {}

    /**
     * @param chain the client certificate chain to send, or null for none
     * @param key its private key, or null
     * @param trust the CA bundle to verify the server with, or null for the JDK's default roots
     */
    static SSLContext of(List<X509Certificate> chain, PrivateKey key, List<X509Certificate> trust)
            throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        if (trust == null) {
            tmf.init((KeyStore) null);
        } else {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            try {
                ks.load(null, null);
            } catch (java.io.IOException e) {
                throw new GeneralSecurityException(e);
            }
            for (int i = 0; i < trust.size(); i++) ks.setCertificateEntry("ca-" + i, trust.get(i));
            tmf.init(ks);
        }
        KeyManager[] keys = chain == null ? null : new KeyManager[] {new Always(chain, key)};
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keys, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Offers the one certificate whatever the server asks for. */
    private static final class Always extends X509ExtendedKeyManager {
        private static final String ALIAS = "client";
        private final X509Certificate[] chain;
        private final PrivateKey key;

        Always(List<X509Certificate> chain, PrivateKey key) {
            this.chain = chain.toArray(new X509Certificate[0]);
            this.key = key;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return chain.clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return key;
        }
    }
}
