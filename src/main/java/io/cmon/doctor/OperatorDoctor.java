package io.cmon.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.config.AgentConfig;
import io.cmon.config.ConfigException;
import io.cmon.config.ConfigLoader;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.pki.Pem;
import io.cmon.pki.PkiException;
import io.cmon.proxy.auth.AccountStore;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * {@code cmon doctor --proxy-config | --agent-config}: for operators, whether a config loads, its files exist and
 * belong together (certificate and key, CA), its ports are free or already served by cmon, and what it talks to
 * answers (a proxy's agents, an agent's Docker socket).
 */
public final class OperatorDoctor {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Clock clock;
    private final Duration timeout;

    public OperatorDoctor(Clock clock, Duration timeout) {
        this.clock = clock;
        this.timeout = timeout;
    }

    public OperatorDoctor() {
        this(Clock.systemUTC(), Duration.ofSeconds(5));
    }

    public Report proxy(Path file) {
        Report r = new Report();
        ProxyConfig c;
        try {
            c = ConfigLoader.load(file, ProxyConfig.class);
            r.add(Check.pass("config", file + " loads"));
        } catch (ConfigException e) {
            r.add(Check.fail("config", e.getMessage()));
            return r;
        }
        pair(r, "tls", c.tls().cert(), c.tls().key());
        if ("ca".equals(c.auth().mode())) caFile(r, "auth.tenantCa", c.auth().tenantCa());
        try {
            AccountStore accounts = AccountStore.load(Path.of(c.accounts()));
            long operators = accounts.all().stream().filter(io.cmon.proxy.auth.Account::operator).count();
            r.add(Check.pass("accounts", accounts.size() + " account(s), " + operators + " operator(s) in "
                    + c.accounts()));
        } catch (RuntimeException e) {
            r.add(Check.fail("accounts", e.getMessage()));
        }
        SSLContext agentTls = null;
        if (c.agentTls() != null) {
            pair(r, "agentTls", c.agentTls().cert(), c.agentTls().key());
            caFile(r, "agentTls.ca", c.agentTls().ca());
            try {
                agentTls = ClientContext.of(Pem.readCertificates(Path.of(c.agentTls().cert())),
                        Pem.readPrivateKey(Path.of(c.agentTls().key())), Pem.readCertificates(Path.of(c.agentTls().ca())));
            } catch (GeneralSecurityException | PkiException e) {
                r.add(Check.fail("agentTls", "cannot use the agent link's files: " + e.getMessage()));
            }
        }
        boolean adminAnswers = answers(URI.create("http://" + hostForUri(c.adminAddress()) + "/-/healthy"), null);
        port(r, "adminListen", c.adminAddress(), adminAnswers, "a proxy answers /-/healthy there");
        port(r, "listen", c.listenAddress(), adminAnswers, "the proxy on adminListen answers: it holds this port");
        List<HostPort> agents = new ArrayList<>();
        for (String s : c.agents().staticAgents()) agents.add(HostPort.parse(s));
        if (c.agents().file() != null) {
            r.add(Check.skip("agents.file", "the agents of " + c.agents().file() + " are not checked here; the "
                    + "proxy's /status and status page show each"));
        }
        if (c.agents().dns() != null) {
            r.add(Check.skip("agents.dns", "agents from DNS (" + c.agents().dns() + ") are not resolved here; the "
                    + "proxy's /status shows them"));
        }
        agents(r, agents, agentTls, c.agentTls() != null);
        return r;
    }

    public Report agent(Path file) {
        Report r = new Report();
        AgentConfig c;
        try {
            c = ConfigLoader.load(file, AgentConfig.class);
            c.requireSafeExposure();
            r.add(Check.pass("config", file + " loads"));
        } catch (ConfigException e) {
            r.add(Check.fail("config", e.getMessage()));
            return r;
        }
        if (c.tls() != null) {
            pair(r, "tls", c.tls().cert(), c.tls().key());
            if (c.tls().clientCa() != null) caFile(r, "tls.clientCa", c.tls().clientCa());
        }
        boolean answers = c.tls() == null && answers(URI.create("http://" + hostForUri(c.listenAddress())
                + "/v1/instances"), null);
        port(r, "listen", c.listenAddress(), answers, "an agent answers /v1/instances there");
        if (c.docker() != null) docker(r, Path.of(c.docker().socket()));
        else r.add(Check.skip("docker", "docker: null in the config"));
        if (c.instancesFile() != null) {
            Path f = Path.of(c.instancesFile());
            if (Files.isReadable(f)) r.add(Check.pass("instancesFile", f + " is readable"));
            else r.add(Check.fail("instancesFile", f + " cannot be read (the agent waits for it to appear)"));
        }
        return r;
    }

    /** Certificate and key files of one TLS block: readable, within their dates, and belonging together. */
    private void pair(Report r, String key, String certFile, String keyFile) {
        try {
            List<X509Certificate> chain = Pem.readCertificates(Path.of(certFile));
            if (chain.isEmpty()) throw new PkiException(certFile + ": no certificate in it");
            PrivateKey k = Pem.readPrivateKey(Path.of(keyFile));
            X509Certificate leaf = chain.get(0);
            if (!Pem.matches(leaf, k)) {
                r.add(Check.fail(key, key + ".key (" + keyFile + ") is not the key of " + key + ".cert (" + certFile
                        + "); swapped or from another issue"));
                return;
            }
            if (clock.instant().isAfter(leaf.getNotAfter().toInstant())) {
                r.add(Check.fail(key, certFile + " expired on " + TenantDoctor.date(leaf.getNotAfter())));
            } else if (clock.instant().isBefore(leaf.getNotBefore().toInstant())) {
                r.add(Check.fail(key, certFile + " is not valid before " + TenantDoctor.date(leaf.getNotBefore())));
            } else {
                r.add(Check.pass(key, "certificate and key match; valid until " + TenantDoctor.date(leaf.getNotAfter())));
            }
        } catch (PkiException e) {
            r.add(Check.fail(key, e.getMessage()));
        }
    }

    private void caFile(Report r, String key, String file) {
        try {
            List<X509Certificate> cas = Pem.readCertificates(Path.of(file));
            if (cas.isEmpty()) throw new PkiException(file + ": no certificate in it");
            List<String> expired = cas.stream().filter(c -> clock.instant().isAfter(c.getNotAfter().toInstant()))
                    .map(c -> c.getSubjectX500Principal().getName() + " expired on " + TenantDoctor.date(c.getNotAfter()))
                    .toList();
            if (!expired.isEmpty()) r.add(Check.fail(key, file + ": " + String.join("; ", expired)));
            else r.add(Check.pass(key, cas.size() + " CA certificate(s) in " + file));
        } catch (PkiException e) {
            r.add(Check.fail(key, e.getMessage()));
        }
    }

    /** A listen address must be free, or already served by this very service. */
    private void port(Report r, String key, HostPort at, boolean served, String servedMeans) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(at.host()), at.port()));
            r.add(Check.pass(key, at + " is free"));
        } catch (IOException e) {
            if (served) r.add(Check.pass(key, at + " is in use: " + servedMeans));
            else r.add(Check.fail(key, "cannot listen on " + at + " (" + e.getMessage() + "): another program holds "
                    + "it, or the address is not this machine's; change " + key + " or stop that program"));
        }
    }

    private void agents(Report r, Collection<HostPort> agents, SSLContext tls, boolean useTls) {
        if (agents.isEmpty()) {
            r.add(Check.warn("agents", "no agents listed"));
            return;
        }
        for (HostPort a : agents) {
            String name = "agent " + a;
            URI uri = URI.create((useTls ? "https://" : "http://") + hostForUri(a) + "/v1/instances");
            try {
                HttpResponse<String> resp = client(tls).send(HttpRequest.newBuilder(uri).timeout(timeout)
                        .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() != 200) {
                    r.add(Check.fail(name, "answered " + resp.statusCode() + " '" + resp.body().strip() + "'"));
                    continue;
                }
                JsonNode page = JSON.readTree(resp.body());
                r.add(Check.pass(name, "answers: server " + page.path("server").path("hostname").asText("?") + " ("
                        + page.path("server").path("uuid").asText("?") + "), " + page.path("instances").size()
                        + " instance(s)"));
            } catch (java.net.ConnectException e) {
                r.add(Check.fail(name, "nothing answers on " + a + " (connection refused): the agent is down or "
                        + "listens elsewhere"));
            } catch (javax.net.ssl.SSLException e) {
                r.add(Check.fail(name, "TLS with the agent failed (" + e.getMessage() + "): check agentTls against "
                        + "the agent's tls block (its certificate must name " + a.host() + ")"));
            } catch (IOException e) {
                r.add(Check.fail(name, "unreachable: " + e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The Docker (or Podman) API socket answers {@code GET /_ping} with OK. */
    private void docker(Report r, Path socket) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer buf = ByteBuffer.allocate(4096);
            ch.socket(); // blocking channel: read until the daemon closes (HTTP/1.0)
            while (buf.hasRemaining() && ch.read(buf) >= 0) { }
            String answer = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
            if (answer.startsWith("HTTP/1.") && answer.contains(" 200 ")) {
                r.add(Check.pass("docker", socket + " answers /_ping"));
            } else {
                r.add(Check.fail("docker", socket + " answered '" + answer.lines().findFirst().orElse("") + "'"));
            }
        } catch (IOException | UnsupportedOperationException e) {
            r.add(Check.fail("docker", "cannot talk to " + socket + " (" + e.getMessage() + "): is the daemon "
                    + "running, and does the agent run as root (or in the docker group)?"));
        }
    }

    private boolean answers(URI uri, SSLContext tls) {
        try {
            return client(tls).send(HttpRequest.newBuilder(uri).timeout(timeout).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private HttpClient client(SSLContext tls) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(timeout);
        if (tls != null) b.sslContext(tls);
        return b.build();
    }

    private static String hostForUri(HostPort a) {
        String h = a.host().equals("0.0.0.0") ? "127.0.0.1" : a.host().equals("::") ? "::1" : a.host();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.port();
    }
}
