package io.cmon.proxy.auth;

import io.cmon.pki.IssuedCertificate;
import io.cmon.pki.KeyType;
import io.cmon.pki.Validity;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** mTLS between a proxy (Vert.x client) and an agent (Vert.x server), both configured by {@link AgentTls}. */
class AgentTlsTest {

    @TempDir
    Path dir;

    TestPki pki;
    Vertx vertx;
    int port;

    @BeforeEach
    void start() throws Exception {
        pki = TestPki.create(dir);
        TestPki.Issued agent = pki.agent("agent-1");
        vertx = Vertx.vertx();
        HttpServer server = vertx.createHttpServer(requiringClientCertificates(
                        new HttpServerOptions().setHost("127.0.0.1").setPort(0), agent.cert(), agent.key(), pki.caCert()))
                .requestHandler(req -> {
                    try {
                        req.response().end("caller " + ((java.security.cert.X509Certificate) req.connection()
                                .peerCertificates().get(0)).getSubjectX500Principal().getName());
                    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                        req.response().setStatusCode(401).end(); // unreachable: the handshake requires a certificate
                    }
                });
        server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        port = server.actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    String get(HttpClientOptions options) throws Exception {
        HttpClient client = vertx.createHttpClient(options);
        try {
            return client.request(HttpMethod.GET, port, "127.0.0.1", "/")
                    .compose(req -> req.send().compose(resp -> resp.body()))
                    .map(Object::toString)
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            client.close();
        }
    }

    @Test
    void proxyWithAProxyCertificateIsServedAndSeesTheProxysName() throws Exception {
        TestPki.Issued proxy = pki.proxy("proxy-1");
        assertThat(get(AgentTls.client(new HttpClientOptions(), proxy.cert(), proxy.key(), pki.caCert())))
                .isEqualTo("caller CN=proxy-1");
    }

    @Test
    void agentRequiresAClientCertificateAtTheHandshake() {
        assertThatThrownBy(() -> get(AgentTls.client(new HttpClientOptions(), null, null, pki.caCert())))
                .isInstanceOf(ExecutionException.class);
    }

    @Test
    void proxyRefusesAnAgentOfAnotherCa() {
        TestPki other = TestPki.create(dir.resolve("other"));
        TestPki.Issued proxy = other.agent("proxy-1");
        assertThatThrownBy(() -> get(AgentTls.client(new HttpClientOptions(), proxy.cert(), proxy.key(), other.caCert())))
                .isInstanceOf(ExecutionException.class);
    }

    @Test
    void anAgentCertificateForAnotherNameIsRefusedNamingTheAgentTheExpectedNameAndTheCertificatesNames()
            throws Exception {
        IssuedCertificate issued = pki.ca().issueAgent("agent-9", List.of("agent-9.example"), List.of(),
                KeyType.EC, Validity.days(1));
        IssuedCertificate.Files files = issued.writeTo(dir, "agent-9");
        HttpServer other = vertx.createHttpServer(requiringClientCertificates(
                        new HttpServerOptions().setHost("127.0.0.1").setPort(0), files.cert(), files.key(), pki.caCert()))
                .requestHandler(req -> req.response().end("unreachable"));
        other.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        TestPki.Issued proxy = pki.proxy("proxy-1");
        HttpClient client = vertx.createHttpClient(AgentTls.client(new HttpClientOptions(), proxy.cert(), proxy.key(),
                pki.caCert()));
        Throwable failure = client.request(HttpMethod.GET, other.actualPort(), "127.0.0.1", "/")
                .compose(req -> req.send()).toCompletionStage().toCompletableFuture()
                .handle((ok, e) -> e).get(10, TimeUnit.SECONDS);

        assertThat(failure).isNotNull();
        assertThat(io.cmon.proxy.inventory.AgentWatcher.reason(failure))
                .startsWith("agent 127.0.0.1:" + other.actualPort() + " refused: ")
                .contains("expected name 127.0.0.1", "the certificate has subject CN=agent-9, SANs [DNS:agent-9, DNS:agent-9.example], issuer CN=");
    }

    /** A stand-in agent: HTTPS requiring any client certificate of {@code clientCa} (the proxy side is under test). */
    static HttpServerOptions requiringClientCertificates(HttpServerOptions options, Path cert, Path key, Path clientCa) {
        return options.setSsl(true)
                .setSslEngineOptions(ProxyTls.engine())
                .setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(cert.toString())
                        .setKeyPath(key.toString()))
                .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(clientCa.toString()))
                .setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED)
                .setEnabledSecureTransportProtocols(ProxyTls.PROTOCOLS);
    }
}
