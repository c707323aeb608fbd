package io.cmon.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code agents.dns} against a real dnsmasq on a free 127.x address and port (the machine's resolver untouched),
 * in front of the stand-in agent: the fleet follows the records, and a silent DNS server keeps it.
 */
class AgentDnsIT {

    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String SERVER = "aaaaaaaa-0000-4000-8000-000000000002";
    static final String A1 = "11111111-0000-4000-8000-0000000000d1";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Vertx vertx;
    static TestPki pki;
    static FakeAgent agent;
    Dnsmasq dns;
    Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n  - {login: alice, uuid: " + ALICE + "}\n");
        agent = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(SERVER, "cn-dns"), 1, List.of(
                new InstancesPage.Entry(A1, "db-1", "alice", null, "docker", List.of(), "running"))), 0);
    }

    @AfterEach
    void stopEach() throws Exception {
        if (proxy != null) proxy.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (dns != null) dns.close();
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) agent.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    Proxy proxyAsking(String query) throws Exception {
        ProxyConfig config = new ProxyConfig("127.0.0.1:0", "127.0.0.1:0", "cmon.test", "cmon.test",
                new ProxyConfig.Tls(dir.resolve("proxy.pem").toString(), dir.resolve("proxy-key.pem").toString()),
                new ProxyConfig.Auth("ca", pki.caCert().toString(), null), dir.resolve("accounts.yaml").toString(),
                new ProxyConfig.Agents(List.of(), null, query, "500ms", dns.address + ":" + dns.port), null,
                null, new ProxyConfig.Timeouts("3s"), "1MiB");
        config.validate();
        return Proxy.start(vertx, config).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    Set<HostPort> agentEndpoints() {
        return proxy.inventory().agents().stream().map(AgentView::endpoint).collect(Collectors.toSet());
    }

    JsonNode status() throws Exception {
        return JSON.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + proxy.adminPort() + "/status")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + proxy.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void addressRecordsDriveTheFleetAndASilentServerKeepsIt() throws Exception {
        dns = Dnsmasq.start(dir.resolve("a"), "127.0.0.1 agents.fleet.test\n", List.of());
        proxy = proxyAsking("agents.fleet.test:" + agent.port());
        HostPort local = new HostPort("127.0.0.1", agent.port());

        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.inventory().instance(A1).isPresent());
        try (TlsClient alice = new TlsClient(vertx, pki.client("alice"), pki.caCert(), proxy.port())) {
            assertThat(alice.get("cmon.test", "/v1/discover").text()).contains(A1);
        }
        JsonNode s = status().get("agents_dns");
        assertThat(s.get("agents").asInt()).isEqualTo(1);
        assertThat(s.get("server").asText()).isEqualTo(dns.address + ":" + dns.port);
        assertThat(Instant.parse(s.get("last_success").asText())).isAfter(Instant.now().minusSeconds(5));
        assertThat(metrics()).contains("cmon_proxy_dns_agents 1.0", "cmon_proxy_dns_last_success_timestamp_seconds");

        // a DNS server that stops answering: lookups time out, the fleet stays
        dns.signal("STOP");
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> status().get("agents_dns").get("failures").asInt() >= 2);
            assertThat(agentEndpoints()).containsExactly(local);
            assertThat(proxy.inventory().instance(A1)).isPresent();
            assertThat(status().get("agents_dns").get("last_error").asText()).isNotEmpty();
        } finally {
            dns.signal("CONT");
        }

        // the record now points elsewhere: the old agent and its instances go
        HostPort elsewhere = new HostPort("127.0.0.2", agent.port());
        dns.rewriteHosts("127.0.0.2 agents.fleet.test\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> agentEndpoints().equals(Set.of(elsewhere)));
        assertThat(proxy.inventory().instance(A1)).isEmpty();

        // the name is gone (NXDOMAIN is an answer, not a failure): no agents from DNS
        dns.rewriteHosts("");
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.inventory().agents().isEmpty());
        assertThat(status().get("agents_dns").get("agents").asInt()).isZero();
        assertThat(status().get("agents_dns").has("last_error")).isFalse();
    }

    @Test
    void srvRecordsGiveTargetsAndPorts() throws Exception {
        List<String> srv = List.of("--srv-host=_cmon-agent._tcp.fleet.test,agents.fleet.test," + agent.port());
        dns = Dnsmasq.start(dir.resolve("srv"), "127.0.0.1 agents.fleet.test\n", srv);
        proxy = proxyAsking("_cmon-agent._tcp.fleet.test");

        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.inventory().instance(A1).isPresent());
        assertThat(agentEndpoints()).containsExactly(new HostPort("127.0.0.1", agent.port()));

        dns = dns.restartWith(List.of());
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.inventory().agents().isEmpty());
        assertThat(proxy.inventory().instance(A1)).isEmpty();
    }

    @Test
    void notReadyUntilDnsHasAnsweredOnce() throws Exception {
        dns = Dnsmasq.start(dir.resolve("ready"), "127.0.0.1 agents.fleet.test\n", List.of());
        dns.signal("STOP");
        HttpRequest ready;
        try {
            proxy = proxyAsking("agents.fleet.test:" + agent.port());
            ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.adminPort() + "/-/ready")).build();
            HttpResponse<String> r = HttpClient.newHttpClient().send(ready, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).contains("agents.dns has not answered yet");
        } finally {
            dns.signal("CONT");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> HttpClient.newHttpClient()
                .send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        assertThat(proxy.inventory().instance(A1)).isPresent();
    }

    /** dnsmasq authoritative for fleet.test (unknown names: NXDOMAIN), names from a hosts file SIGHUP re-reads. */
    static final class Dnsmasq implements AutoCloseable {
        final Path dir;
        final String address;
        final int port;
        final Path hosts;
        final Process process;

        private Dnsmasq(Path dir, String address, int port, Path hosts, Process process) {
            this.dir = dir;
            this.address = address;
            this.port = port;
            this.hosts = hosts;
            this.process = process;
        }

        static Dnsmasq start(Path dir, String hostsText, List<String> extra) throws Exception {
            Files.createDirectories(dir);
            Path hosts = Files.writeString(dir.resolve("hosts"), hostsText);
            for (int attempt = 0; attempt < 20; attempt++) {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                String address = "127." + r.nextInt(1, 255) + "." + r.nextInt(0, 256) + "." + r.nextInt(2, 255);
                int port;
                try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(address), 0))) {
                    port = s.getLocalPort();
                }
                Dnsmasq d = launch(dir, address, port, hosts, extra);
                if (d != null) return d;
            }
            throw new IOException("dnsmasq did not start on any free 127.x address");
        }

        /** Null when dnsmasq could not bind (someone took the port in between). */
        private static Dnsmasq launch(Path dir, String address, int port, Path hosts, List<String> extra)
                throws Exception {
            Path log = dir.resolve("dnsmasq-" + port + "-" + System.nanoTime() + ".log");
            List<String> cmd = new ArrayList<>(List.of("dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                    "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=" + address,
                    "--port=" + port, "--pid-file=", "--user=root", "--local=/fleet.test/", "--cache-size=0",
                    "--addn-hosts=" + hosts, "--log-facility=-"));
            cmd.addAll(extra);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
            while (!Files.readString(log).contains("started")) {
                if (!p.isAlive()) return null;
                if (Instant.now().isAfter(deadline)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    throw new IOException("dnsmasq did not start: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
            return new Dnsmasq(dir, address, port, hosts, p);
        }

        void rewriteHosts(String text) throws Exception {
            Files.writeString(hosts, text);
            signal("HUP");
        }

        void signal(String name) throws Exception {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            assertThat(kill.waitFor()).isZero();
        }

        /** The same address and port with other options (SRV records are command-line only). */
        Dnsmasq restartWith(List<String> extra) throws Exception {
            close();
            Dnsmasq d = launch(dir, address, port, hosts, extra);
            if (d == null) throw new IOException("dnsmasq could not bind " + address + ":" + port + " again");
            return d;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
