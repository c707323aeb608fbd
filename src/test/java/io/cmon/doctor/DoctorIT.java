package io.cmon.doctor;

import io.cmon.cli.Main;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code cmon doctor} against a real {@code cmon proxy} and {@code cmon agent} (processes of the jar, real TLS with
 * certificates made here, one declared instance that is a {@code sleep} of this test): a good tenant certificate
 * passes and gets a working config, an expired one, a wrong key and a stopped proxy are each named; the operator
 * mode passes the running proxy's and agent's configs and names a swapped key pair and a missing Docker socket.
 */
class DoctorIT {

    static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    static final String ALICE = "alice-" + RUN;
    static final String INSTANCE = UUID.randomUUID().toString();
    static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    static Path dir;
    static TestPki pki;
    static Process workload;
    static Process agent;
    static Process proxy;
    static Path agentConfig;
    static Path proxyConfig;
    static int proxyPort;
    static int adminPort;
    static TestPki.Issued server;

    record Result(int exit, String out) {}

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("cmon-doctor-it-");
        pki = TestPki.create(dir);
        server = pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n  - {login: " + ALICE + ", uuid: "
                + UUID.randomUUID() + ", operator: false}\n");
        workload = new ProcessBuilder("sleep", "600").start();
        Path instances = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + INSTANCE
                + ", alias: web-1, owner: " + ALICE + ", brand: lxc, pid: " + workload.pid() + "}\n");
        int agentPort = AgentProcess.freePort();
        agentConfig = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + agentPort,
                "server: {uuid: 00000000-0000-4000-8000-0000000d0c70, hostname: doctor-it}",
                "docker: null",
                "instancesFile: " + instances, ""));
        agent = java(dir.resolve("agent.log"), "agent", "--config", agentConfig.toString());
        awaitOk(agent, dir.resolve("agent.log"), "http://127.0.0.1:" + agentPort + "/v1/instances");

        proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        proxyConfig = proxyYaml("proxy.yaml", server.cert(), server.key());
        proxy = java(dir.resolve("proxy.log"), "proxy", "--config", proxyConfig.toString());
        awaitOk(proxy, dir.resolve("proxy.log"), "http://127.0.0.1:" + adminPort + "/-/ready");
    }

    static Path proxyYaml(String name, Path cert, Path key) throws IOException {
        return Files.writeString(dir.resolve(name), String.join("\n",
                "listen: 127.0.0.1:" + proxyPort,
                "adminListen: 127.0.0.1:" + adminPort,
                "endpoint: cmon.test",
                "tls: {cert: " + cert + ", key: " + key + "}",
                "auth: {mode: ca, tenantCa: " + pki.caCert() + "}",
                "accounts: " + dir.resolve("accounts.yaml"),
                "agents: {static: [\"" + agentConfigListen() + "\"]}", ""));
    }

    static String agentConfigListen() throws IOException {
        return Files.readAllLines(agentConfig).get(0).substring("listen: ".length());
    }

    @AfterAll
    static void stop() throws Exception {
        for (Process p : new Process[] {proxy, agent, workload}) {
            if (p == null) continue;
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    static Process java(Path log, String... args) throws IOException {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                AgentProcess.jar().toString()));
        cmd.addAll(java.util.List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static void awaitOk(Process p, Path log, String url) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
                    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                });
    }

    /** {@code cmon doctor ARGS}, in this JVM, through the real command line. */
    static Result doctor(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        int exit = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(all);
        return new Result(exit, out + err.toString());
    }

    static Result tenant(TestPki.Issued cert, Path key, int port) {
        return doctor("--cert", cert.cert().toString(), "--key", key.toString(), "--endpoint", "127.0.0.1:" + port,
                "--ca", pki.caCert().toString(), "--dns-suffix", "cmon.test");
    }

    @Test
    void goodCertificatePassesEveryCheckAndPrintsAWorkingConfig() {
        // a month: a day's certificate is a warning ("expires in 23 hours")
        TestPki.Issued alice = pki.client(ALICE + "-month", ALICE, io.cmon.pki.Validity.days(30));

        Result r = tenant(alice, alice.key(), proxyPort);

        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).doesNotContain("FAIL ")
                .containsPattern("PASS +certificate dates +valid from")
                .containsPattern("PASS +key matches")
                .containsPattern("PASS +account \\(CN\\) +the proxy will look up account '" + ALICE + "'")
                .containsPattern("PASS +chain to CA")
                .containsPattern("PASS +TLS handshake +connected to 127.0.0.1:" + proxyPort)
                .containsPattern("PASS +discovery +1 target\\(s\\), e.g. web-1 \\(" + INSTANCE + "\\)")
                .containsPattern("PASS +scrape +/v1/" + INSTANCE + "/metrics: \\d+ samples")
                // no wildcard DNS here: a warning, and the config uses path mode
                .containsPattern("WARN +DNS +" + INSTANCE + ".cmon.test does not resolve")
                .contains("All checks passed.")
                .contains("triton_sd_configs:")
                .contains("account: " + ALICE)
                .contains("cert_file: " + alice.cert().toAbsolutePath())
                .contains("__metrics_path__");
    }

    @Test
    void expiredCertificateIsNamedWithItsDateAndTheProxysReason() {
        TestPki.Issued expired = pki.expiredClient(ALICE);

        Result r = tenant(expired, expired.key(), proxyPort);

        assertThat(r.exit()).as(r.out()).isEqualTo(1);
        assertThat(r.out())
                .containsPattern("FAIL +certificate dates +expired on "
                        + java.util.regex.Pattern.quote(DATE.format(expired.certificate().getNotAfter().toInstant())))
                .containsPattern("FAIL +discovery +401 'client certificate required or not accepted: expired'")
                .contains("invalid character 'c' looking for beginning of value")
                .contains("check(s) failed: see FAIL above.");
    }

    @Test
    void keyOfAnotherCertificateIsNamed() {
        TestPki.Issued alice = pki.client(ALICE);
        TestPki.Issued other = pki.client("other-" + RUN);

        Result r = tenant(alice, other.key(), proxyPort);

        assertThat(r.exit()).as(r.out()).isEqualTo(1);
        assertThat(r.out()).containsPattern("FAIL +key matches +" + java.util.regex.Pattern.quote(other.key().toString())
                + " is NOT the key of " + java.util.regex.Pattern.quote(alice.cert().toString()));
    }

    @Test
    void proxyThatDoesNotAnswerIsNamed() throws IOException {
        TestPki.Issued alice = pki.client(ALICE);
        int nothing = AgentProcess.freePort();

        Result r = tenant(alice, alice.key(), nothing);

        assertThat(r.exit()).as(r.out()).isEqualTo(1);
        assertThat(r.out()).containsPattern("FAIL +TLS handshake +nothing answers on 127.0.0.1:" + nothing)
                .containsPattern("SKIP +discovery");
    }

    @Test
    void operatorChecksPassForTheRunningProxyAndAgent() {
        Result proxyCheck = doctor("--proxy-config", proxyConfig.toString());
        Result agentCheck = doctor("--agent-config", agentConfig.toString());

        assertThat(proxyCheck.exit()).as(proxyCheck.out()).isZero();
        assertThat(proxyCheck.out()).containsPattern("PASS +tls +certificate and key match")
                .containsPattern("PASS +accounts +1 account\\(s\\)")
                .containsPattern("PASS +adminListen +127.0.0.1:" + adminPort + " is in use: a proxy answers")
                .containsPattern("PASS +agent 127.0.0.1:\\d+ +answers: server doctor-it .*1 instance\\(s\\)");
        assertThat(agentCheck.exit()).as(agentCheck.out()).isZero();
        assertThat(agentCheck.out()).containsPattern("PASS +listen +.* is in use: an agent answers")
                .containsPattern("SKIP +docker");
    }

    @Test
    void operatorChecksNameASwappedKeyPairAndAMissingDockerSocket() throws IOException {
        TestPki.Issued other = pki.server("other", "cmon.test");
        Path swapped = proxyYaml("proxy-swapped.yaml", server.cert(), other.key());
        Path noDocker = Files.writeString(dir.resolve("agent-docker.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + AgentProcess.freePort(),
                "docker: {socket: " + dir.resolve("no-such-docker.sock") + "}", ""));

        Result proxyCheck = doctor("--proxy-config", swapped.toString());
        Result agentCheck = doctor("--agent-config", noDocker.toString());

        assertThat(proxyCheck.exit()).as(proxyCheck.out()).isEqualTo(1);
        assertThat(proxyCheck.out()).containsPattern("FAIL +tls +tls.key \\(.*other-key.pem\\) is not the key of tls.cert");
        assertThat(agentCheck.exit()).as(agentCheck.out()).isEqualTo(1);
        assertThat(agentCheck.out()).containsPattern("PASS +listen +127.0.0.1:\\d+ is free")
                .containsPattern("FAIL +docker +cannot talk to .*no-such-docker.sock");
    }
}
