package io.cmon.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Proxies share nothing: two proxy processes following the same two agents answer every tenant identically
 * (discovery, http_sd, scrapes, refusals), so an operator can run as many as load needs behind one DNS name.
 * Real processes: the jar as two agents (declared instances, real processes) and two proxies, real mTLS, curl.
 */
class TwoProxiesIT {

    static final String SUFFIX = "cmon.test";
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> ALICE = List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString());
    static final List<String> BOB = List.of(UUID.randomUUID().toString());

    static Path tmp;
    static TestPki pki;
    static final List<Process> workloads = new ArrayList<>();
    static final List<AgentProcess> agents = new ArrayList<>();
    static final List<CmonServerProcess> proxies = new ArrayList<>();
    static final List<Integer> ports = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        tmp = Files.createTempDirectory("cmon-two-proxies-");
        pki = TestPki.create(tmp.resolve("pki"));
        TestPki.Issued server = pki.server("localhost", SUFFIX, "*." + SUFFIX);
        for (String login : List.of("alice", "bob", "operator")) pki.client(login);
        // agent 1: alice's first and bob's; agent 2: alice's second
        agents.add(agent(1, List.of(entry(ALICE.get(0), "alice", "web"), entry(BOB.get(0), "bob", "web"))));
        agents.add(agent(2, List.of(entry(ALICE.get(1), "alice", "db"))));
        Path accounts = Files.writeString(tmp.resolve("accounts.yaml"), """
                accounts:
                  - {login: operator, uuid: 0b1e6a52-7c8d-4b0e-9f0a-1c2d3e4f5a60, operator: true}
                  - {login: alice, uuid: 2b8e4f1a-3c5d-4e6f-8a9b-0c1d2e3f4a5b, operator: false}
                  - {login: bob, uuid: 7c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f, operator: false}
                """);
        for (int p = 1; p <= 2; p++) {
            int port = AgentProcess.freePort();
            int admin = AgentProcess.freePort();
            Path config = Files.writeString(tmp.resolve("proxy-" + p + ".yaml"), """
                    listen: 127.0.0.1:%d
                    adminListen: 127.0.0.1:%d
                    endpoint: localhost
                    dnsSuffix: %s
                    tls: {cert: %s, key: %s}
                    auth: {mode: ca, tenantCa: %s}
                    accounts: %s
                    agents: {static: ["127.0.0.1:%d", "127.0.0.1:%d"]}
                    """.formatted(port, admin, SUFFIX, server.cert(), server.key(), pki.caCert(), accounts,
                    agents.get(0).port(), agents.get(1).port()));
            proxies.add(CmonServerProcess.start("proxy", config, port, tmp.resolve("proxy-" + p + ".log")));
            ports.add(port);
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .until(() -> curl(List.of("-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:" + admin + "/-/ready")).equals("200"));
        }
    }

    static String entry(String uuid, String owner, String group) throws IOException {
        Process p = new ProcessBuilder("sleep", "600").start();
        workloads.add(p);
        return "  - {uuid: " + uuid + ", alias: " + owner + "-" + group + ", owner: " + owner + ", groups: [" + group
                + "], pid: " + p.pid() + "}\n";
    }

    static AgentProcess agent(int n, List<String> entries) throws Exception {
        Path instances = Files.writeString(tmp.resolve("instances-" + n + ".yaml"),
                "instances:\n" + String.join("", entries));
        Path config = Files.writeString(tmp.resolve("agent-" + n + ".yaml"), "listen: 127.0.0.1:0\ndocker: null\n"
                + "server: {uuid: " + UUID.randomUUID() + ", hostname: agent-" + n + "}\ninstancesFile: " + instances
                + "\n");
        return AgentProcess.start(config);
    }

    @AfterAll
    static void stop() throws Exception {
        for (CmonServerProcess p : proxies) p.close();
        for (AgentProcess a : agents) a.close();
        for (Process w : workloads) w.destroyForcibly();
    }

    @Test
    void discoveryAndHttpSdAreTheSameFromEitherProxyForEveryTenant() throws Exception {
        for (String login : List.of("alice", "bob", "operator")) {
            for (String path : List.of("/v1/discover", "/v1/http_sd", "/v1/discover?groups=web")) {
                // each proxy advertises its own listen port in http_sd targets; in a fleet they share one (9163)
                JsonNode first = JSON.readTree(get(0, login, "localhost", path).replace(":" + ports.get(0), ":PORT"));
                JsonNode second = JSON.readTree(get(1, login, "localhost", path).replace(":" + ports.get(1), ":PORT"));
                assertThat(canonical(second)).as(login + " " + path).isEqualTo(canonical(first));
            }
        }
        assertThat(uuids(JSON.readTree(get(0, "alice", "localhost", "/v1/discover"))))
                .containsExactlyInAnyOrderElementsOf(ALICE);
        assertThat(uuids(JSON.readTree(get(1, "bob", "localhost", "/v1/discover"))))
                .containsExactlyInAnyOrderElementsOf(BOB);
    }

    @Test
    void scrapesAndRefusalsAreTheSameFromEitherProxy() throws Exception {
        for (int p = 0; p < 2; p++) {
            for (String uuid : ALICE) {
                assertThat(status(p, "alice", uuid + "." + SUFFIX, "/metrics")).as("proxy " + p).isEqualTo("200");
                assertThat(status(p, "bob", uuid + "." + SUFFIX, "/metrics")).as("proxy " + p).isEqualTo("404");
            }
            assertThat(status(p, "bob", BOB.get(0) + "." + SUFFIX, "/metrics")).isEqualTo("200");
            assertThat(status(p, "alice", BOB.get(0) + "." + SUFFIX, "/metrics")).isEqualTo("404");
        }
    }

    /**
     * The answer with every array sorted (two proxies may list the same set in another order) and without
     * {@code cached_date}, which says when this proxy last heard from the agent: its own observation, not state.
     */
    static String canonical(JsonNode node) {
        if (node.isArray()) {
            TreeSet<String> items = new TreeSet<>();
            node.forEach(n -> items.add(canonical(n)));
            return items.toString();
        }
        if (node.isObject()) {
            TreeSet<String> fields = new TreeSet<>();
            node.fields().forEachRemaining(e -> {
                if (!e.getKey().equals("cached_date")) fields.add(e.getKey() + "=" + canonical(e.getValue()));
            });
            return fields.toString();
        }
        return node.toString();
    }

    static List<String> uuids(JsonNode discover) {
        List<String> out = new ArrayList<>();
        discover.path("containers").forEach(c -> out.add(c.path("vm_uuid").asText()));
        return out;
    }

    static String get(int proxy, String login, String host, String path) throws Exception {
        return curl(tenant(proxy, login, host, path, List.of("-sS", "--fail")));
    }

    static String status(int proxy, String login, String host, String path) throws Exception {
        return curl(tenant(proxy, login, host, path, List.of("-sS", "-o", "/dev/null", "-w", "%{http_code}")));
    }

    static List<String> tenant(int proxy, String login, String host, String path, List<String> options) {
        int port = ports.get(proxy);
        List<String> args = new ArrayList<>(options);
        args.addAll(List.of("--cacert", pki.caCert().toString(), "--cert",
                pki.dir().resolve(login + ".pem").toString(), "--key", pki.dir().resolve(login + "-key.pem").toString(),
                "--resolve", host + ":" + port + ":127.0.0.1", "https://" + host + ":" + port + path));
        return args;
    }

    static String curl(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "--max-time", "15"));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(cmd + " failed: " + out);
        }
        return out;
    }
}
