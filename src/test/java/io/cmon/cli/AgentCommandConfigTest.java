package io.cmon.cli;

import io.cmon.config.AgentConfig;
import io.cmon.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A config a user got wrong stops {@code cmon agent} with exit 2 before it listens, naming file, key and problem. */
class AgentCommandConfigTest {

    @TempDir
    Path dir;

    record Run(int exit, String err) {}

    Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, err.toString());
    }

    Path config(String yaml) throws IOException {
        return Files.writeString(dir.resolve("agent.yaml"), yaml);
    }

    @Test
    void badListenValueNamesFileAndKey() throws IOException {
        Path file = config("listen: nowhere\n");

        Run r = run("agent", "--config", file.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(file.toString(), "key 'listen'", "no port");
    }

    @Test
    void unknownKeyNamesItAndTheKnownOnes() throws IOException {
        Path file = config("listen: 127.0.0.1:0\ndocker: {sockett: /x}\n");

        Run r = run("agent", "--config", file.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(file.toString(), "key 'docker.sockett'", "unknown key", "socket");
    }

    @Test
    void serverUuidThatIsNotAUuidIsRefused() throws IOException {
        Path file = config("server: {uuid: 1234}\n");

        Run r = run("agent", "--config", file.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(file.toString(), "key 'server.uuid'", "not a uuid");
    }

    @Test
    void missingConfigFileIsNamed() {
        Run r = run("agent", "--config", dir.resolve("absent.yaml").toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("absent.yaml", "file not found");
    }

    @Test
    void badListenFlagIsRefused() throws IOException {
        Path file = config("docker: null\n");

        Run r = run("agent", "--config", file.toString(), "--listen", "127.0.0.1:99999");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--listen", "out of range");
    }

    @Test
    void addressInUseIsAClearErrorNotAStackTrace() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path file = config("listen: 127.0.0.1:" + taken.getLocalPort() + "\ndocker: null\n");

            Run r = run("agent", "--config", file.toString());

            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains(file + ": key 'listen': cannot listen on 127.0.0.1:" + taken.getLocalPort()
                            + ": address already in use")
                    .doesNotContain("\tat ");
        }
    }

    @Test
    void swappedTlsCertificateAndKeyAreCalledSwappedBeforeListening() throws IOException {
        io.cmon.testing.TestPki pki = io.cmon.testing.TestPki.create(dir.resolve("pki"));
        io.cmon.testing.TestPki.Issued agent = pki.agent("agent-1");
        Path file = config("listen: 127.0.0.1:0\ndocker: null\ntls: {cert: " + agent.key() + ", key: " + agent.cert()
                + ", clientCa: " + pki.caCert() + "}\n");

        Run r = run("agent", "--config", file.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("cmon: " + file + ": key 'tls.cert': " + agent.key() + " holds a private key and "
                + agent.cert() + " (tls.key) a certificate: tls.cert and tls.key are swapped\n");
    }

    @Test
    void plainHttpOnANonLoopbackAddressIsRefusedNamingInsecure() throws IOException {
        Path file = config("docker: null\n"); // listen defaults to 0.0.0.0:9164

        Run r = run("agent", "--config", file.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(file.toString(), "key 'insecure'", "plain HTTP on 0.0.0.0:9164", "'tls'",
                "127.0.0.1", "insecure: true").doesNotContain("\tat ");
    }

    @Test
    void plainHttpOnANonLoopbackListenFlagIsRefusedToo() throws IOException {
        Path file = config("listen: 127.0.0.1:0\ndocker: null\n");

        Run r = run("agent", "--config", file.toString(), "--listen", "[::]:0");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("key 'insecure'", "plain HTTP on [::]:0");
    }

    @Test
    void insecureTrueAcceptsPlainHttpOnAnyAddress() throws IOException {
        Path file = config("listen: 0.0.0.0:0\ninsecure: true\ndocker: null\n");

        AgentCommand command = new AgentCommand();
        command.config = file;
        AgentConfig cfg = command.load();

        assertThat(cfg.insecure()).isTrue();
        assertThat(cfg.listenAddress().host()).isEqualTo("0.0.0.0");
    }

    @Test
    void loopbackAddressesNeedNeitherTlsNorInsecure() {
        for (String listen : List.of("127.0.0.1:9164", "127.3.4.5:1", "[::1]:9164", "localhost:9164")) {
            AgentConfig cfg = new AgentConfig(listen, null, null, null, null, null, null, false, null);
            cfg.requireSafeExposure();
        }
        for (String listen : List.of("0.0.0.0:9164", "10.0.0.7:9164", "[::]:9164", "agent.example.com:9164")) {
            AgentConfig cfg = new AgentConfig(listen, null, null, null, null, null, null, false, null);
            assertThatThrownBy(cfg::requireSafeExposure).as(listen).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("key 'insecure'");
        }
    }
}
