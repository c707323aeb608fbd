package io.cmon.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** What a new user types first: --help and help on every command, and where the help sends them. */
class CliHelpTest {

    final StringWriter err = new StringWriter();
    final StringWriter out = new StringWriter();

    int cmon(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        return cl.execute(args);
    }

    @Test
    void caAndCertAcceptHelpAndListTheirSubcommands() {
        assertThat(cmon("ca", "--help")).isZero();
        assertThat(out.toString()).startsWith("Usage: cmon ca ").contains("init");
        assertThat(cmon("cert", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: cmon cert ").contains("issue", "from-ssh-key");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void helpFollowsTheWholeCommandPath() {
        assertThat(cmon("help", "cert", "issue")).isZero();
        assertThat(out.toString()).startsWith("Usage: cmon cert issue ").contains("--account", "--force");
        out.getBuffer().setLength(0);
        assertThat(cmon("cert", "issue", "--help")).isZero();
        String viaOption = out.toString();
        out.getBuffer().setLength(0);
        cmon("help", "cert", "issue");
        assertThat(out.toString()).isEqualTo(viaOption);
    }

    @Test
    void helpOfAnUnknownCommandNamesTheChoices() {
        assertThat(cmon("help", "cert", "revoke")).isEqualTo(2);
        assertThat(err.toString()).contains("unknown command 'cert revoke'", "issue, from-ssh-key");
    }

    @Test
    void everyCommandAcceptsVersion() {
        for (String[] args : new String[][] {{"--version"}, {"agent", "--version"}, {"proxy", "--version"},
                {"ca", "--version"}, {"cert", "issue", "--version"}}) {
            out.getBuffer().setLength(0);
            assertThat(cmon(args)).isZero();
            // outside the jar (this test runs on target/classes) the manifest's version is absent
            assertThat(out.toString()).as(String.join(" ", args)).startsWith("cmon ");
        }
    }

    @Test
    void helpPointsToTheShippedGuidesNotToTheDesignDocument() {
        StringBuilder all = new StringBuilder();
        for (String[] args : new String[][] {{"--help"}, {"agent", "--help"}, {"proxy", "--help"}, {"ca", "init", "--help"},
                {"cert", "issue", "--help"}, {"quickstart", "--help"}}) {
            out.getBuffer().setLength(0);
            assertThat(cmon(args)).isZero();
            all.append(out);
        }
        assertThat(all.toString()).doesNotContain("DESIGN").contains("operator-guide.md");
    }
}
