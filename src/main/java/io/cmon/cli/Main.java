package io.cmon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code cmon} launcher: one jar, one subcommand per role (DESIGN §4). */
@Command(name = "cmon",
        // every subcommand gets --help and --version (with this version provider) and the help footer
        scope = CommandLine.ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Multi-tenant container monitoring: agents on container hosts, proxies facing tenants.",
        footer = {"", "Operator guide: /usr/share/doc/cmon/operator-guide.md (Debian package) or docs/operator-guide.md"
                + " (source); tenant guide: docs/tenant-guide.md."},
        subcommands = {
                AgentCommand.class,
                ProxyCommand.class,
                CaCommand.class,
                CertCommand.class,
                QuickstartCommand.class,
                DoctorCommand.class,
                HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(new ErrorHandler());
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: agent, proxy, ca, cert, quickstart or doctor");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"cmon " + (v == null ? "dev" : v)};
        }
    }
}
