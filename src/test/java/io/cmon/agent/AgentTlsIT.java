package io.cmon.agent;

import io.cmon.testing.AgentProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent with {@code tls}: HTTPS that requires a proxy certificate (clientAuth plus the cmon agent-link purpose)
 * signed by {@code tls.clientCa}. Certificates are made here with openssl (EC P-256), so the agent-link purpose is
 * shown to work with standard tooling; the client is curl.
 */
class AgentTlsIT {

    static Path dir;
    static AgentProcess agent;

    record Result(int exit, String out) {}

    static Result run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    static void ok(String... cmd) throws IOException, InterruptedException {
        Result r = run(cmd);
        assertThat(r.exit()).as(String.join(" ", cmd) + "\n" + r.out()).isZero();
    }

    /** A key and a certificate {@code <name>.pem}, {@code <name>-key.pem} signed by CA {@code ca}. */
    static void issue(String ca, String name, String extensions) throws IOException, InterruptedException {
        Files.writeString(dir.resolve(name + ".ext"), extensions + "\n");
        ok("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + name);
        ok("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
                "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile", name + ".ext");
    }

    static void ca(String name) throws IOException, InterruptedException {
        ok("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + "-key.pem", "-out", name + ".pem", "-days", "1", "-subj", "/CN=" + name);
    }

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("cmon-agent-tls-");
        ca("cluster-ca");
        ca("other-ca");
        issue("cluster-ca", "agent", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
        issue("cluster-ca", "proxy", "extendedKeyUsage=clientAuth," + io.cmon.pki.Profile.AGENT_LINK);
        issue("cluster-ca", "tenant", "extendedKeyUsage=clientAuth"); // a tenant's certificate from the same CA
        issue("other-ca", "stranger", "extendedKeyUsage=clientAuth");
        Path config = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "docker: null",
                "tls: {cert: " + dir.resolve("agent.pem") + ", key: " + dir.resolve("agent-key.pem")
                        + ", clientCa: " + dir.resolve("cluster-ca.pem") + "}", ""));
        agent = AgentProcess.startTls(config);
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) agent.close();
    }

    static Result curl(String... auth) throws IOException, InterruptedException {
        return curlPath("/_ping", auth);
    }

    static Result curlPath(String path, String... auth) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "5", "--cacert", "cluster-ca.pem"));
        cmd.addAll(List.of(auth));
        cmd.add(agent.uri(path).toString());
        return run(cmd.toArray(String[]::new));
    }

    @Test
    void aTenantCertificateOfTheSameCaIsRefusedInTheHandshake() throws Exception {
        for (String path : List.of("/_ping", "/v1/instances", "/v1/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/metrics")) {
            Result r = curlPath(path, "--cert", "tenant.pem", "--key", "tenant-key.pem");
            assertThat(r.exit()).as(path + ": " + r.out()).isNotZero();
            assertThat(r.out()).doesNotContain("OK").doesNotContain("generation").doesNotContain("not found");
        }
    }

    @Test
    void aProxyCertificateListsTheInstances() throws Exception {
        Result r = curlPath("/v1/instances", "--cert", "proxy.pem", "--key", "proxy-key.pem");
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).contains("\"generation\"");
    }

    @Test
    void aClientWithAProxyCertificateIsAnswered() throws Exception {
        Result r = curl("--cert", "proxy.pem", "--key", "proxy-key.pem");
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).isEqualTo("OK\n");
    }

    @Test
    void aClientWithoutACertificateIsRefusedInTheHandshake() throws Exception {
        Result r = curl();
        assertThat(r.exit()).as(r.out()).isNotZero();
        assertThat(r.out()).doesNotContain("OK");
    }

    @Test
    void aClientWithACertificateOfAnotherCaIsRefused() throws Exception {
        Result r = curl("--cert", "stranger.pem", "--key", "stranger-key.pem");
        assertThat(r.exit()).as(r.out()).isNotZero();
        assertThat(r.out()).doesNotContain("OK");
    }

    @Test
    void plainHttpGetsNoAnswer() throws Exception {
        Result r = run("curl", "-sS", "--max-time", "5", "http://127.0.0.1:" + agent.port() + "/_ping");
        assertThat(r.out()).doesNotContain("OK\n");
    }
}
