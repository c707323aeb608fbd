package io.cmon.proxy.auth;

import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.cmon.pki.Pem;
import io.vertx.core.net.TrustOptions;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The proxy's side of mTLS to agents: it presents its proxy certificate ({@code cmon cert issue --proxy}) and checks
 * the agent's against the agent-link CA, host name included (the agent's side is
 * {@code io.cmon.agent.http.ProxyCertificateTrust}) (issue agent certificates with {@code --ip}/{@code --dns} matching the
 * address proxies use, e.g. {@code 127.0.0.1:9164} needs {@code --ip 127.0.0.1}).
 */
public final class AgentTls {

    private AgentTls() {}

    /**
     * Proxy side calling agents: trusts {@code ca} only, verifies the agent's host name, and presents
     * {@code cert}/{@code key} when given (null for agents that do not require a client certificate).
     */
    public static HttpClientOptions client(HttpClientOptions options, Path cert, Path key, Path ca) {
        options.setSsl(true)
                .setSslEngineOptions(ProxyTls.engine())
                .setVerifyHost(true)
                .setTrustOptions(TrustOptions.wrap(new NamingTrustManager(caTrust(ca))))
                .setEnabledSecureTransportProtocols(ProxyTls.PROTOCOLS);
        if (cert != null && key != null) {
            options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()));
        }
        return options;
    }

    /** The JDK's PKIX trust manager over the CA file's certificates (it also checks the host name, as Vert.x asks). */
    static X509ExtendedTrustManager caTrust(Path ca) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (X509Certificate c : Pem.readCertificates(ca)) store.setCertificateEntry("ca-" + i++, c);
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) return x;
            }
            throw new IllegalStateException("no X509 trust manager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new io.cmon.pki.PkiException(ca + ": cannot be used as a trust store: " + e.getMessage(), e);
        }
    }

    /**
     * Delegates every check; a refused agent certificate's error then names the agent, the name the proxy expected
     * and what the certificate holds (subject, SANs, issuer): the TLS layer alone says only "Failed to create SSL
     * connection", and an operator cannot tell a wrong --ip/--dns from a wrong CA.
     */
    static final class NamingTrustManager extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager delegate;

        NamingTrustManager(X509ExtendedTrustManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            try {
                delegate.checkServerTrusted(chain, authType, engine);
            } catch (CertificateException e) {
                String where = engine == null ? "agent" : "agent " + engine.getPeerHost() + ":" + engine.getPeerPort();
                throw new CertificateException(where + " refused: " + e.getMessage() + "; expected name "
                        + (engine == null ? "?" : engine.getPeerHost()) + ", the certificate has "
                        + describe(chain.length == 0 ? null : chain[0]), e);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            delegate.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            delegate.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            delegate.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }

    /** "subject CN=a, SANs [DNS:a.example, IP:10.0.0.7], issuer CN=cmon CA". */
    static String describe(X509Certificate c) {
        if (c == null) return "no certificate";
        List<String> sans = new ArrayList<>();
        try {
            Collection<List<?>> all = c.getSubjectAlternativeNames();
            if (all != null) {
                for (List<?> san : all) {
                    int type = (Integer) san.get(0);
                    sans.add((type == 2 ? "DNS:" : type == 7 ? "IP:" : type + ":") + san.get(1));
                }
            }
        } catch (CertificateParsingException e) {
            sans.add("unreadable: " + e.getMessage());
        }
        return "subject " + c.getSubjectX500Principal().getName() + ", SANs " + sans + ", issuer "
                + c.getIssuerX500Principal().getName();
    }
}
