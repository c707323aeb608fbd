package io.cmon.cli;

import io.cmon.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code cmon proxy} refusing to start: one line that names the file and the config key, and nothing else. */
class ProxyCommandConfigTest {

    @TempDir
    Path dir;

    TestPki pki;
    TestPki.Issued server;
    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream realErr;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(dir);
        server = pki.server("localhost");
        // the logs (Logback's console appender writes to whatever System.err is at the time)
        realErr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setErr(realErr);
    }

    record Run(int exit, String err) {}

    Run run(Path config) {
        StringWriter err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute("proxy", "--config", config.toString()), err.toString());
    }

    Path config(String listen, String admin, Path cert, Path key) throws IOException {
        Files.writeString(dir.resolve("accounts.yaml"), "accounts: []\n");
        return Files.writeString(dir.resolve("proxy.yaml"), "listen: " + listen + "\nadminListen: " + admin
                + "\nendpoint: localhost\ndnsSuffix: localhost\ntls: {cert: " + cert + ", key: " + key + "}\n"
                + "auth: {mode: ca, tenantCa: " + pki.caCert() + "}\naccounts: " + dir.resolve("accounts.yaml")
                + "\nagents: {static: [\"127.0.0.1:9\"]}\n");
    }

    @Test
    void adminPortInUseIsOneLineNamingAdminListen() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path file = config("127.0.0.1:0", "127.0.0.1:" + taken.getLocalPort(), server.cert(), server.key());

            Run r = run(file);

            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).isEqualTo("cmon: " + file + ": key 'adminListen': cannot listen on 127.0.0.1:"
                    + taken.getLocalPort() + ": address already in use (another process listens there)\n");
            assertThat(log.toString(StandardCharsets.UTF_8)).doesNotContain("\tat ", "Exception");
        }
    }

    @Test
    void tenantPortInUseNamesListen() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path file = config("127.0.0.1:" + taken.getLocalPort(), "127.0.0.1:0", server.cert(), server.key());

            Run r = run(file);

            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).startsWith("cmon: " + file + ": key 'listen': cannot listen on 127.0.0.1:"
                    + taken.getLocalPort() + ": address already in use").doesNotContain("\tat ");
            assertThat(log.toString(StandardCharsets.UTF_8)).doesNotContain("\tat ");
        }
    }

    @Test
    void swappedCertificateAndKeyAreCalledSwapped() throws IOException {
        Path file = config("127.0.0.1:0", "127.0.0.1:0", server.key(), server.cert());

        Run r = run(file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("cmon: " + file + ": key 'tls.cert': " + server.key() + " holds a private key and "
                + server.cert() + " (tls.key) a certificate: tls.cert and tls.key are swapped\n");
    }

    @Test
    void aKeyOfAnotherCertificateNamesTlsKey() throws IOException {
        TestPki.Issued other = pki.client("alice");
        Path file = config("127.0.0.1:0", "127.0.0.1:0", server.cert(), other.key());

        Run r = run(file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("cmon: " + file + ": key 'tls.key': " + other.key()
                + ": this key does not belong to the certificate in " + server.cert() + "\n");
    }
}
