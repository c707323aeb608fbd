package io.cmon.proxy.auth;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.nio.file.Path;

/**
 * mTLS between proxies and agents: the agent serves with an agent certificate and requires a client certificate
 * from the agent CA; the proxy presents its agent certificate (serverAuth + clientAuth) and checks the agent's
 * against the same CA, host name included (issue agent certificates with {@code --ip}/{@code --dns} matching the
 * address proxies use, e.g. {@code 127.0.0.1:9164} needs {@code --ip 127.0.0.1}).
 */
public final class AgentTls {

    private AgentTls() {}

    /** Agent side: HTTPS, TLS 1.2+, a client certificate signed by {@code clientCa} required at the handshake. */
    public static HttpServerOptions server(HttpServerOptions options, Path cert, Path key, Path clientCa) {
        options.setSsl(true)
                .setSslEngineOptions(ProxyTls.engine())
                .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()))
                .setTrustOptions(new PemTrustOptions().addCertPath(clientCa.toString()))
                .setClientAuth(ClientAuth.REQUIRED)
                .setEnabledSecureTransportProtocols(ProxyTls.PROTOCOLS);
        return options;
    }

    /**
     * Proxy side calling agents: trusts {@code ca} only, verifies the agent's host name, and presents
     * {@code cert}/{@code key} when given (null for agents that do not require a client certificate).
     */
    public static HttpClientOptions client(HttpClientOptions options, Path cert, Path key, Path ca) {
        options.setSsl(true)
                .setSslEngineOptions(ProxyTls.engine())
                .setVerifyHost(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
                .setEnabledSecureTransportProtocols(ProxyTls.PROTOCOLS);
        if (cert != null && key != null) {
            options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()));
        }
        return options;
    }
}
