package io.cmon.cli;

import io.cmon.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PkiCommandsTest {

    @TempDir
    Path dir;

    final StringWriter err = new StringWriter();
    final StringWriter out = new StringWriter();

    int cmon(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        return cl.execute(args);
    }

    @Test
    void caInitWritesCaPemAndOwnerOnlyKey() throws Exception {
        Path ca = dir.resolve("ca");
        assertThat(cmon("ca", "init", "--dir", ca.toString())).isZero();
        assertThat(Pem.readCertificate(ca.resolve("ca.pem")).getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(Files.getPosixFilePermissions(ca.resolve("ca-key.pem"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(out.toString()).contains(ca.resolve("ca.pem").toString());
    }

    @Test
    void caInitRefusesAnExistingCaWithoutForce() throws Exception {
        Path ca = dir.resolve("ca");
        assertThat(cmon("ca", "init", "--dir", ca.toString())).isZero();
        byte[] before = Files.readAllBytes(ca.resolve("ca.pem"));
        assertThat(cmon("ca", "init", "--dir", ca.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("a CA exists there already").contains("--force");
        assertThat(Files.readAllBytes(ca.resolve("ca.pem"))).isEqualTo(before);
        assertThat(cmon("ca", "init", "--dir", ca.toString(), "--force", "--key-type", "rsa")).isZero();
        assertThat(Pem.readCertificate(ca.resolve("ca.pem")).getPublicKey().getAlgorithm()).isEqualTo("RSA");
    }

    @Test
    void certIssueWritesAccountServerAndAgentPairs() throws Exception {
        Path ca = dir.resolve("ca");
        Path o = dir.resolve("out");
        cmon("ca", "init", "--dir", ca.toString());
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "alice", "--out", o.toString())).isZero();
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--server", "cmon.example.com",
                "--dns", "*.cmon.example.com", "--ip", "127.0.0.1", "--out", o.toString())).isZero();
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--agent", "node-1", "--dns", "node-1.internal",
                "--out", o.toString(), "--days", "7")).isZero();
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--proxy", "proxy-1", "--out", o.toString())).isZero();
        assertThat(err.toString()).isEmpty();
        X509Certificate caCert = Pem.readCertificate(ca.resolve("ca.pem"));
        for (String name : List.of("alice", "cmon.example.com", "node-1", "proxy-1")) {
            X509Certificate c = Pem.readCertificate(o.resolve(name + ".pem"));
            c.verify(caCert.getPublicKey());
            assertThat(c.getSubjectX500Principal().getName()).isEqualTo("CN=" + name);
            assertThat(Pem.matches(c, Pem.readPrivateKey(o.resolve(name + "-key.pem")))).isTrue();
            assertThat(Files.getPosixFilePermissions(o.resolve(name + "-key.pem"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        }
        assertThat(Pem.readCertificate(o.resolve("cmon.example.com.pem")).getSubjectAlternativeNames())
                .containsExactly(List.of(2, "cmon.example.com"), List.of(2, "*.cmon.example.com"), List.of(7, "127.0.0.1"));
        X509Certificate agent = Pem.readCertificate(o.resolve("node-1.pem"));
        assertThat(agent.getNotAfter().getTime() - System.currentTimeMillis()).isBetween(7 * 86_400_000L - 60_000, 7 * 86_400_000L);
        assertThat(agent.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(Pem.readCertificate(o.resolve("proxy-1.pem")).getExtendedKeyUsage())
                .containsExactly("1.3.6.1.5.5.7.3.2", io.cmon.pki.Profile.AGENT_LINK);
    }

    @Test
    void outDefaultsToTheCurrentDirectory() {
        Path ca = dir.resolve("ca");
        cmon("ca", "init", "--dir", ca.toString());
        String cwd = System.getProperty("user.dir");
        Path target = Path.of(cwd, "zz-pki-test-" + ProcessHandle.current().pid() + ".pem");
        try {
            assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", target.getFileName().toString().replace(".pem", ""))).isZero();
            assertThat(target).exists();
        } finally {
            target.toFile().delete();
            Path.of(cwd, target.getFileName().toString().replace(".pem", "-key.pem")).toFile().delete();
        }
    }

    @Test
    void notBeforeAndNotAfterMakeAnExpiredCertificate() {
        Path ca = dir.resolve("ca");
        cmon("ca", "init", "--dir", ca.toString());
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "old", "--out", dir.toString(),
                "--not-before", "2020-01-01", "--not-after", "2020-06-01T12:00:00Z")).isZero();
        X509Certificate c = Pem.readCertificate(dir.resolve("old.pem"));
        assertThat(c.getNotBefore().toInstant()).hasToString("2020-01-01T00:00:00Z");
        assertThat(c.getNotAfter().toInstant()).hasToString("2020-06-01T12:00:00Z");
    }

    @Test
    void missingCaDirectoryExits2NamingThePath() {
        Path missing = dir.resolve("no-such-ca");
        assertThat(cmon("cert", "issue", "--ca", missing.toString(), "--account", "alice", "--out", dir.toString())).isEqualTo(2);
        assertThat(err.toString()).startsWith("cmon: " + missing).doesNotContain("Exception");
    }

    @Test
    void badInputsExit2WithOneLine() {
        Path ca = dir.resolve("ca");
        cmon("ca", "init", "--dir", ca.toString());
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "alice", "--dns", "x.example", "--out", dir.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--dns");
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "../evil", "--out", dir.toString())).isEqualTo(2);
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "a", "--not-after", "tomorrow")).isEqualTo(2);
        assertThat(err.toString()).contains("'tomorrow' is not an ISO date");
        // picocli usage errors: both --account and --server
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "a", "--server", "b")).isEqualTo(2);
    }

    @Test
    void certIssueRefusesToReplaceAnExistingKeyWithoutForce() throws Exception {
        Path ca = dir.resolve("ca");
        Path o = dir.resolve("out");
        cmon("ca", "init", "--dir", ca.toString());
        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "alice", "--out", o.toString())).isZero();
        byte[] key = Files.readAllBytes(o.resolve("alice-key.pem"));
        byte[] cert = Files.readAllBytes(o.resolve("alice.pem"));

        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "alice", "--out", o.toString())).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("cmon: " + o.resolve("alice.pem") + " or " + o.resolve("alice-key.pem")
                + " exists already (use --force to replace them)\n");
        assertThat(Files.readAllBytes(o.resolve("alice-key.pem"))).isEqualTo(key);
        assertThat(Files.readAllBytes(o.resolve("alice.pem"))).isEqualTo(cert);

        assertThat(cmon("cert", "issue", "--ca", ca.toString(), "--account", "alice", "--out", o.toString(), "--force"))
                .isZero();
        assertThat(Files.readAllBytes(o.resolve("alice-key.pem"))).isNotEqualTo(key);
        assertThat(Pem.matches(Pem.readCertificate(o.resolve("alice.pem")), Pem.readPrivateKey(o.resolve("alice-key.pem"))))
                .isTrue();
    }
}
