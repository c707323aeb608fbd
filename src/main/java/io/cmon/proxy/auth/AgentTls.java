package io.cmon.proxy.auth;

import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.nio.file.Path;

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
                .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
                .setEnabledSecureTransportProtocols(ProxyTls.PROTOCOLS);
        if (cert != null && key != null) {
            options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()));
        }
        return options;
    }
}
