package io.cmon.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.quickstart.TenantPrometheusConfig;
import io.cmon.quickstart.TenantPrometheusConfig.Addressing;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import io.cmon.testing.PrometheusProcess;
import io.cmon.testing.TestPki;
import io.cmon.testing.WildcardDns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stock Prometheus (Debian's 2.42) per tenant, configured exactly as docs/tenant-guide.md shows
 * ({@link TenantPrometheusConfig}), against a real proxy, agent and Docker containers of alice and bob: in host mode
 * (wildcard DNS in Prometheus's own mount namespace), path mode and http_sd.
 */
class TenantPrometheusIT {

    static final String SUFFIX = "cmon.test";
    static final String ENDPOINT = "localhost";
    static final Duration WAIT = Duration.ofSeconds(40);
    static final DockerCli DOCKER = new DockerCli("quickstart");
    static final String PREFIX = "qse2e-";

    static Path tmp;
    static TestPki pki;
    static WildcardDns dns;
    static AgentProcess agent;
    static CmonServerProcess proxy;
    static int proxyPort;
    static Path proxyConfig;

    @BeforeAll
    static void fleet() throws Exception {
        tmp = Files.createTempDirectory("cmon-e2e");
        DOCKER.removeAll();
        pki = TestPki.create(tmp.resolve("pki"));
        TestPki.Issued server = pki.server(ENDPOINT, SUFFIX, "*." + SUFFIX);
        for (String login : List.of("operator", "alice", "bob")) pki.client(login);
        busy("alice", "web");
        idle("alice", "db");
        busy("bob", "web");
        idle("bob", "cache");

        Path accounts = tmp.resolve("accounts.yaml");
        Files.writeString(accounts, """
                accounts:
                  - {login: operator, uuid: 0b1e6a52-7c8d-4b0e-9f0a-1c2d3e4f5a60, operator: true}
                  - {login: alice, uuid: 2b8e4f1a-3c5d-4e6f-8a9b-0c1d2e3f4a5b, operator: false}
                  - {login: bob, uuid: 7c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f, operator: false}
                """);
        Path agentConfig = tmp.resolve("agent.yaml");
        Files.writeString(agentConfig, "listen: 127.0.0.1:0\ndocker: {socket: /var/run/docker.sock}\n");
        agent = AgentProcess.start(agentConfig);

        proxyPort = AgentProcess.freePort();
        proxyConfig = tmp.resolve("proxy.yaml");
        Files.writeString(proxyConfig, """
                listen: 127.0.0.1:%d
                adminListen: 127.0.0.1:%d
                endpoint: %s
                dnsSuffix: %s
                tls: {cert: %s, key: %s}
                auth: {mode: ca, tenantCa: %s}
                accounts: %s
                agents: {static: ["127.0.0.1:%d"]}
                """.formatted(proxyPort, AgentProcess.freePort(), ENDPOINT, SUFFIX, server.cert(), server.key(),
                pki.caCert(), accounts, agent.port()));
        proxy = CmonServerProcess.start("proxy", proxyConfig, proxyPort, tmp.resolve("proxy.log"));
        dns = WildcardDns.start(SUFFIX, tmp.resolve("dns"));
    }

    @AfterAll
    static void down() throws Exception {
        if (proxy != null) proxy.close();
        if (agent != null) agent.close();
        if (dns != null) dns.close();
        DOCKER.removeAll();
    }

    static void busy(String owner, String name) {
        DOCKER.runDetached(labels(owner, name), "sh", "-c",
                "while true; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1; done");
    }

    static void idle(String owner, String name) {
        DOCKER.runDetached(labels(owner, name), "sleep", "3600");
    }

    static List<String> labels(String owner, String name) {
        return List.of("--name", PREFIX + owner + "-" + name, "--label", "cmon.owner=" + owner,
                "--label", "cmon.groups=" + name);
    }

    static TenantPrometheusConfig config(Addressing addressing, String login) {
        return new TenantPrometheusConfig(addressing, login, login.equals("operator"), ENDPOINT, SUFFIX, proxyPort,
                pki.caCert().toString(), pki.dir().resolve(login + ".pem").toString(),
                pki.dir().resolve(login + "-key.pem").toString(), List.of(), Duration.ofSeconds(1),
                Duration.ofSeconds(1));
    }

    static PrometheusProcess prometheus(Addressing addressing, String login) throws Exception {
        return PrometheusProcess.start(tmp.resolve("prom-" + addressing + "-" + login), config(addressing, login).yaml(),
                addressing == Addressing.HOST ? dns : null);
    }

    static Set<String> aliases(String owner) {
        return Set.of(PREFIX + owner + "-web", PREFIX + owner + "-" + (owner.equals("alice") ? "db" : "cache"));
    }

    /** up by instance of the job's targets, once every one of them has been scraped. */
    static void assertScrapesExactly(PrometheusProcess prom, Set<String> instances) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Map<String, Double> up = prom.valuesBy("instance", "up{job=\"cmon\"}");
            assertThat(up).as(prom.log()).containsOnlyKeys(instances);
            assertThat(new HashSet<>(up.values())).containsExactly(1.0);
        });
    }

    @Test
    void eachTenantsPrometheusScrapesExactlyItsOwnContainersInEveryMode() throws Exception {
        for (Addressing addressing : Addressing.values()) {
            try (PrometheusProcess alice = prometheus(addressing, "alice");
                 PrometheusProcess bob = prometheus(addressing, "bob")) {
                assertScrapesExactly(alice, aliases("alice"));
                assertScrapesExactly(bob, aliases("bob"));
                for (PrometheusProcess.Target t : alice.activeTargets()) {
                    assertThat(t.scrapeUrl()).as(addressing.toString()).startsWith(switch (addressing) {
                        case HOST -> "https://" + t.label("vm_uuid") + "." + SUFFIX + ":" + proxyPort + "/metrics";
                        case PATH, HTTP_SD -> "https://" + ENDPOINT + ":" + proxyPort + "/v1/" + t.label("vm_uuid")
                                + "/metrics";
                    });
                }
                // the busy container's CPU counter rises, as Prometheus sees it
                String cpu = "cpu_user_usage{instance=\"" + PREFIX + "alice-web\"}";
                await().atMost(WAIT).untilAsserted(() -> assertThat(alice.value(cpu)).isPresent());
                double first = alice.value(cpu).orElseThrow();
                await().atMost(WAIT).untilAsserted(() ->
                        assertThat(alice.value(cpu).orElseThrow()).isGreaterThan(first));
                assertThat(alice.query("cpu_user_usage{instance=~\"" + PREFIX + "bob.*\"}")).isEmpty();
                if (addressing == Addressing.PATH) assertDashboardHasData(alice, "dashboards/cmon-instances.json");
            }
        }
    }

    @Test
    void operatorsPrometheusScrapesTheServersWithRoleCn() throws Exception {
        for (Addressing addressing : List.of(Addressing.HOST, Addressing.PATH)) {
            try (PrometheusProcess operator = prometheus(addressing, "operator")) {
                await().atMost(WAIT).untilAsserted(() -> {
                    Map<String, Double> up = operator.valuesBy("server_uuid", "up{job=\"cmon-servers\"}");
                    assertThat(up).as(operator.log()).hasSize(1).containsValue(1.0);
                    assertThat(operator.query("node_load1{job=\"cmon-servers\"}")).hasSize(1);
                });
                if (addressing == Addressing.PATH) assertDashboardHasData(operator, "dashboards/cmon-servers.json");
            }
        }
    }

    @Test
    void restartingTheProxyNeverEmptiesPrometheusTargets() throws Exception {
        try (PrometheusProcess alice = prometheus(Addressing.PATH, "alice")) {
            assertScrapesExactly(alice, aliases("alice"));
            List<Integer> counts = new ArrayList<>();
            proxy.close();
            Instant downUntil = Instant.now().plus(Duration.ofSeconds(3));
            while (Instant.now().isBefore(downUntil)) {
                counts.add(alice.activeTargets().size());
                Thread.sleep(200);
            }
            proxy = CmonServerProcess.start("proxy", proxyConfig, proxyPort, tmp.resolve("proxy.log"));
            Instant watchUntil = Instant.now().plus(Duration.ofSeconds(5));
            while (Instant.now().isBefore(watchUntil)) {
                counts.add(alice.activeTargets().size());
                Thread.sleep(200);
            }
            assertThat(counts).as("active targets, polled through the restart").containsOnly(2);
            assertScrapesExactly(alice, aliases("alice"));
        }
    }

    /** Every panel's query, with the dashboard's variables filled in, returns data. */
    static void assertDashboardHasData(PrometheusProcess prom, String file) throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(Path.of(file).toFile());
        Set<String> empty = new TreeSet<>();
        await().atMost(WAIT).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            empty.clear();
            for (JsonNode panel : dashboard.path("panels")) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText()
                            .replace("$__rate_interval", "5s").replace("$job", "")
                            .replace("job=\"\"", "job=~\".+\"").replace("$instance", ".*");
                    if (prom.query(expr).isEmpty()) empty.add(panel.path("title").asText() + ": " + expr);
                }
            }
            assertThat(empty).as(file).isEmpty();
        });
    }

    static String names(Set<String> s) {
        return s.stream().sorted().collect(Collectors.joining(","));
    }
}
