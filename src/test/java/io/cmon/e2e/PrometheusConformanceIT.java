package io.cmon.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.TestCgroup;
import io.cmon.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every scrape route of agent and proxy asked as each Prometheus release asks (its exact {@code Accept} header),
 * and each answer checked by a strict parser of the format its {@code Content-Type} names: the Python
 * {@code prometheus_client} OpenMetrics parser, and {@code promtool check metrics} for text 0.0.4. Prometheus 3
 * fails a scrape whose Content-Type is missing or unknown, so every answer must name one of the two. The discovery
 * routes answer JSON, {@code http_sd} exactly {@code application/json} (Prometheus's http_sd refuses anything else).
 * Real processes: the jar as agent (one declared instance, a real process) and proxy, real mTLS, curl as client.
 */
class PrometheusConformanceIT {

    /** What each release sends, from its scrape code (2.49 made the list configurable; 3.0 added escaping). */
    enum Release {
        P2_42("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
        P2_55("application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
                + "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"),
        P3_0("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                + "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,"
                + "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
                + "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1"),
        P3_4("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                + "application/openmetrics-text;version=0.0.1;q=0.5,"
                + "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"),
        /** {@code scrape_protocols: [PrometheusText0.0.4]}: text only. */
        TEXT_ONLY("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
        /** Native histograms on: protobuf first, which cmon does not serve; text or OpenMetrics must follow. */
        PROTOBUF_FIRST("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
                + "q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2");

        final String accept;

        Release(String accept) {
            this.accept = accept;
        }

        String expectedType() {
            return this == TEXT_ONLY ? TEXT : OPENMETRICS;
        }
    }

    static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    static final String SUFFIX = "cmon.test";
    static final String INSTANCE = UUID.randomUUID().toString();
    static final String SERVER = UUID.randomUUID().toString();
    static final ObjectMapper JSON = new ObjectMapper();

    static Path tmp;
    static TestPki pki;
    static TestCgroup workloadCgroup;
    static Process workload;
    static AgentProcess agent;
    static CmonServerProcess proxy;
    static int proxyPort;
    static int adminPort;

    @BeforeAll
    static void start() throws Exception {
        tmp = Files.createTempDirectory("cmon-conformance-");
        pki = TestPki.create(tmp.resolve("pki"));
        TestPki.Issued server = pki.server("localhost", SUFFIX, "*." + SUFFIX);
        pki.client("alice");
        pki.client("operator");
        // in a cgroup of its own: a process in a hierarchy's root cgroup has no metrics of its own there
        workloadCgroup = TestCgroup.create("cpu", "cpuacct", "memory");
        workload = workloadCgroup.startInside("sleep", "600");
        Path instances = Files.writeString(tmp.resolve("instances.yaml"), "instances:\n  - {uuid: " + INSTANCE
                + ", alias: web-1, owner: alice, groups: [web], pid: " + workload.pid() + "}\n");
        Path agentConfig = Files.writeString(tmp.resolve("agent.yaml"), "listen: 127.0.0.1:0\ndocker: null\n"
                + "server: {uuid: " + SERVER + ", hostname: conformance}\ninstancesFile: " + instances + "\n");
        agent = AgentProcess.start(agentConfig);
        Path accounts = Files.writeString(tmp.resolve("accounts.yaml"), """
                accounts:
                  - {login: operator, uuid: 0b1e6a52-7c8d-4b0e-9f0a-1c2d3e4f5a60, operator: true}
                  - {login: alice, uuid: 2b8e4f1a-3c5d-4e6f-8a9b-0c1d2e3f4a5b, operator: false}
                """);
        proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        Path proxyConfig = Files.writeString(tmp.resolve("proxy.yaml"), """
                listen: 127.0.0.1:%d
                adminListen: 127.0.0.1:%d
                endpoint: localhost
                dnsSuffix: %s
                tls: {cert: %s, key: %s}
                auth: {mode: ca, tenantCa: %s}
                accounts: %s
                agents: {static: ["127.0.0.1:%d"]}
                """.formatted(proxyPort, adminPort, SUFFIX, server.cert(), server.key(), pki.caCert(), accounts,
                agent.port()));
        proxy = CmonServerProcess.start("proxy", proxyConfig, proxyPort, tmp.resolve("proxy.log"));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> curl(List.of("-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "http://127.0.0.1:" + adminPort + "/-/ready")).out().equals("200"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) proxy.close();
        if (agent != null) agent.close();
        if (workload != null) workload.destroyForcibly();
        if (workloadCgroup != null) workloadCgroup.close();
    }

    /** A route and how to reach it: plain HTTP to the agent, mTLS to the proxy as a tenant, or the proxy's admin. */
    record Target(String name, List<String> curlArgs) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Target> scrapeTargets() {
        String agentUrl = "http://127.0.0.1:" + agent.port();
        String host = INSTANCE + "." + SUFFIX;
        return List.of(
                new Target("agent /v1/<uuid>/metrics", List.of(agentUrl + "/v1/" + INSTANCE + "/metrics")),
                new Target("agent /v1/gz/metrics", List.of(agentUrl + "/v1/gz/metrics")),
                new Target("agent /metrics (self)", List.of(agentUrl + "/metrics")),
                new Target("proxy <uuid>." + SUFFIX + "/metrics (alice)", tenant("alice", host, "/metrics")),
                new Target("proxy /v1/<uuid>/metrics (alice)",
                        tenant("alice", "localhost", "/v1/" + INSTANCE + "/metrics")),
                new Target("proxy /v1/<server>/metrics (operator, gz)",
                        tenant("operator", "localhost", "/v1/" + SERVER + "/metrics")),
                new Target("proxy admin /metrics (self)", List.of("http://127.0.0.1:" + adminPort + "/metrics")));
    }

    static List<String> tenant(String login, String host, String path) {
        return List.of("--cacert", pki.caCert().toString(), "--cert", pki.dir().resolve(login + ".pem").toString(),
                "--key", pki.dir().resolve(login + "-key.pem").toString(),
                "--resolve", host + ":" + proxyPort + ":127.0.0.1", "https://" + host + ":" + proxyPort + path);
    }

    static Stream<Arguments> everyScrapeRouteAsEveryRelease() {
        List<Arguments> all = new ArrayList<>();
        for (Target t : scrapeTargets()) for (Release r : Release.values()) all.add(Arguments.of(t, r));
        return all.stream();
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("everyScrapeRouteAsEveryRelease")
    void everyScrapeAnswersAKnownContentTypeAndABodyItsStrictParserAccepts(Target target, Release release)
            throws Exception {
        Answer a = get(target, release.accept);

        assertThat(a.status()).as(target + ": " + a.body()).isEqualTo(200);
        assertThat(a.contentType()).as(target + " Content-Type").isEqualTo(release.expectedType());
        if (a.contentType().startsWith("application/openmetrics-text")) {
            assertThat(a.body()).endsWith("# EOF\n");
            Result parsed = run(List.of("/usr/bin/python3", "-c", """
                    import sys
                    from prometheus_client.openmetrics.parser import text_string_to_metric_families
                    families = list(text_string_to_metric_families(sys.stdin.read()))
                    print(len(families))
                    """), a.body());
            assertThat(parsed.exit()).as(target + " OpenMetrics parser:\n" + parsed.out()).isZero();
            assertThat(Integer.parseInt(parsed.out().trim())).as(target + " families").isPositive();
        } else {
            Result checked = run(List.of("promtool", "check", "metrics"), a.body());
            // promtool exits 1 on a parse error and 3 on lint advice only (e.g. the Triton-compatible counter names
            // without _total, which the seed fixed); advice is fine, a parse error is not
            assertThat(checked.exit()).as(target + " promtool:\n" + checked.out()).isIn(0, 3);
            assertThat(checked.out()).doesNotContain("error while linting").doesNotContain("parsing error");
        }
    }

    @ParameterizedTest(name = "as {0}")
    @MethodSource("releases")
    void gzipAsPrometheusAsksKeepsTheContentTypeAndTheBodyParses(Release release) throws Exception {
        Target t = scrapeTargets().get(3);
        List<String> args = new ArrayList<>(List.of("--compressed", "-H", "Accept-Encoding: gzip"));
        args.addAll(t.curlArgs());
        Answer a = get(new Target(t.name() + " gzip", args), release.accept);

        assertThat(a.status()).isEqualTo(200);
        assertThat(a.header("content-encoding")).isEqualTo("gzip");
        assertThat(a.contentType()).isEqualTo(release.expectedType());
        assertThat(a.body()).contains("cpu_user_usage");
    }

    static Stream<Release> releases() {
        return Stream.of(Release.values());
    }

    @Test
    void httpSdAnswersExactlyApplicationJsonWithTheTenantsTargets() throws Exception {
        Answer a = get(new Target("http_sd", tenant("alice", "localhost", "/v1/http_sd")), "application/json");

        assertThat(a.status()).isEqualTo(200);
        assertThat(a.contentType()).isEqualTo("application/json");
        JsonNode groups = JSON.readTree(a.body());
        assertThat(groups.isArray()).isTrue();
        assertThat(groups.toString()).contains(INSTANCE);
    }

    @Test
    void tritonDiscoveryAnswersJsonWithTheTenantsContainers() throws Exception {
        Answer a = get(new Target("discover", tenant("alice", "localhost", "/v1/discover")), "application/json");

        assertThat(a.status()).isEqualTo(200);
        assertThat(a.contentType()).startsWith("application/json");
        assertThat(JSON.readTree(a.body()).path("containers").toString()).contains(INSTANCE);
    }

    // ---- plumbing

    record Result(int exit, String out) {}

    record Answer(int status, List<String> headers, String body) {
        String header(String name) {
            String prefix = name.toLowerCase(Locale.ROOT) + ":";
            return headers.stream().filter(h -> h.toLowerCase(Locale.ROOT).startsWith(prefix))
                    .map(h -> h.substring(prefix.length()).trim()).reduce((a, b) -> b).orElse("");
        }

        String contentType() {
            return header("content-type");
        }
    }

    static Answer get(Target target, String accept) throws Exception {
        Path headers = Files.createTempFile(tmp, "headers-", ".txt");
        Path body = Files.createTempFile(tmp, "body-", ".txt");
        List<String> args = new ArrayList<>(List.of("-sS", "--max-time", "15", "-D", headers.toString(),
                "-o", body.toString(), "-w", "%{http_code}", "-H", "Accept: " + accept));
        args.addAll(target.curlArgs());
        Result r = curl(args);
        assertThat(r.exit()).as("curl " + target + ": " + r.out()).isZero();
        return new Answer(Integer.parseInt(r.out().trim()), Files.readAllLines(headers, StandardCharsets.ISO_8859_1),
                Files.readString(body));
    }

    static Result curl(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl"));
        cmd.addAll(args);
        return run(cmd, null);
    }

    static Result run(List<String> cmd, String stdin) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) {
            try (var in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } else {
            p.getOutputStream().close();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd + " did not finish");
        }
        return new Result(p.exitValue(), out);
    }
}
