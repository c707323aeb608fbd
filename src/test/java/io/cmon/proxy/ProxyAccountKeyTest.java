package io.cmon.proxy;

import io.cmon.api.InstancesPage;
import io.cmon.cli.Main;
import io.cmon.config.ProxyConfig;
import io.cmon.testing.SshKeygen;
import io.cmon.testing.TestPki;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The proxy in-process in {@code auth.mode: account-key}, real TLS, tenants' certificates made from ssh-keygen keys
 * by {@code cmon cert from-ssh-key}, in front of a stand-in agent.
 */
class ProxyAccountKeyTest {

    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String SERVER = "aaaaaaaa-0000-4000-8000-000000000001";
    static final String A1 = "11111111-0000-4000-8000-0000000000a1";
    static final String B1 = "11111111-0000-4000-8000-0000000000b1";

    @TempDir
    static Path dir;
    static Vertx vertx;
    static TestPki pki;
    static FakeAgent agent;
    static Proxy proxy;
    static Path accountsFile;
    static String aliceEcdsa;
    static String aliceEd25519;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        pki = TestPki.create(dir);
        pki.server("proxy", "cmon.test", "*.cmon.test");
        Path ssh = Files.createDirectories(dir.resolve("ssh"));
        aliceEcdsa = SshKeygen.publicLine(SshKeygen.generate(ssh, "ecdsa", "alice_ecdsa"));
        aliceEd25519 = SshKeygen.publicLine(SshKeygen.generate(ssh, "ed25519", "alice_ed25519"));
        SshKeygen.generate(ssh, "ecdsa", "stranger");
        for (String key : List.of("alice_ecdsa", "alice_ed25519", "stranger")) {
            StringWriter out = new StringWriter();
            picocli.CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(out, true));
            int exit = cl.execute("cert", "from-ssh-key", "--key", ssh.resolve(key).toString(), "--account", "alice",
                    "--out", dir.resolve("certs-" + key).toString(), "--days", "2");
            assertThat(exit).as(out.toString()).isZero();
        }
        accountsFile = dir.resolve("accounts.yaml");
        writeAccounts(List.of(aliceEcdsa, aliceEd25519));
        agent = new FakeAgent(vertx, new InstancesPage(new InstancesPage.Server(SERVER, "cn-1"), 1, List.of(
                new InstancesPage.Entry(A1, "a1", ALICE, null, "docker", List.of(), "running"),
                new InstancesPage.Entry(B1, "b1", "bob", null, "docker", List.of(), "running"))), 0);
        ProxyConfig config = new ProxyConfig("127.0.0.1:0", "127.0.0.1:0", "cmon.test", "cmon.test",
                new ProxyConfig.Tls(dir.resolve("proxy.pem").toString(), dir.resolve("proxy-key.pem").toString()),
                new ProxyConfig.Auth("account-key", null, null), accountsFile.toString(),
                new ProxyConfig.Agents(List.of("127.0.0.1:" + agent.port()), null, null), null,
                null, new ProxyConfig.Timeouts("3s"), "1MiB");
        config.validate();
        proxy = Proxy.start(vertx, config).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.inventory().synced());
    }

    static void writeAccounts(List<String> aliceKeys) throws Exception {
        StringBuilder y = new StringBuilder("accounts:\n  - login: alice\n    uuid: " + ALICE + "\n    keys:\n");
        for (String k : aliceKeys) y.append("      - \"").append(k).append("\"\n");
        Files.writeString(accountsFile, y.toString());
    }

    static TlsClient client(String key) {
        Path certs = dir.resolve("certs-" + key);
        return new TlsClient(vertx, key == null ? null
                : new TestPki.Issued(certs.resolve("alice.pem"), certs.resolve("alice-key.pem"), null, null),
                pki.caCert(), proxy.port());
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) proxy.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (agent != null) agent.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void ecdsaCertificateFromSshKeyDiscoversAliceInstances() throws Exception {
        try (TlsClient alice = client("alice_ecdsa")) {
            TlsClient.Response r = alice.get("cmon.test", "/v1/discover");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains(A1).doesNotContain(B1);
            assertThat(alice.get(A1 + ".cmon.test", "/metrics").status()).isEqualTo(200);
        }
    }

    /**
     * BoringSSL leaves ed25519 out of the signature algorithms of its CertificateRequest, so clients would not send
     * an Ed25519 certificate; an account-key proxy therefore runs the JDK's TLS engine, which requests and accepts
     * it. The client is curl (OpenSSL) because Vert.x's PEM key loader reads RSA and EC keys only.
     */
    @Test
    void ed25519CertificateIsAcceptedOnTls12And13() throws Exception {
        for (String tls : List.of("--tlsv1.3", "--tlsv1.2")) {
            Path certs = dir.resolve("certs-alice_ed25519");
            Path body = dir.resolve("body" + tls);
            Process p = new ProcessBuilder("curl", "-sS", tls, "--max-time", "10", "--cacert", pki.caCert().toString(),
                    "--cert", certs.resolve("alice.pem").toString(), "--key", certs.resolve("alice-key.pem").toString(),
                    "--resolve", "cmon.test:" + proxy.port() + ":127.0.0.1", "-o", body.toString(), "-w", "%{http_code}",
                    "https://cmon.test:" + proxy.port() + "/v1/discover").redirectErrorStream(true).start();
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
            String status = new String(p.getInputStream().readAllBytes());
            assertThat(status).as(tls + ": " + Files.readString(body)).isEqualTo("200");
            assertThat(Files.readString(body)).contains(A1).doesNotContain(B1);
        }
    }

    @Test
    void unregisteredKeyAndNoCertificateAre401() throws Exception {
        try (TlsClient stranger = client("stranger"); TlsClient none = client(null)) {
            assertThat(stranger.get("cmon.test", "/v1/discover").status()).isEqualTo(401);
            assertThat(none.get("cmon.test", "/v1/discover").status()).isEqualTo(401);
        }
    }

    @Test
    void removingTheKeyRefusesTheNextRequestOnTheSameConnection() throws Exception {
        try (TlsClient alice = client("alice_ecdsa")) {
            TlsClient.Response before = alice.get("cmon.test", "/v1/discover");
            assertThat(before.status()).isEqualTo(200);
            writeAccounts(List.of(aliceEd25519));
            assertThat(proxy.reload().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS))
                    .startsWith("accounts changed");
            TlsClient.Response after = alice.get("cmon.test", "/v1/discover");
            assertThat(after.connection()).as("same keep-alive connection").isSameAs(before.connection());
            assertThat(after.status()).isEqualTo(401);
        } finally {
            writeAccounts(List.of(aliceEcdsa, aliceEd25519));
            proxy.reload().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
