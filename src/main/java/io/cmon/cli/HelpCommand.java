package io.cmon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cmon help [COMMAND [SUBCOMMAND]]}: picocli's own help command looks up only its first argument, so
 * {@code cmon help cert issue} showed the help of {@code cert}; this one follows the whole path.
 */
@Command(name = "help", helpCommand = true,
        description = "Show the help of a command, e.g. 'cmon help cert issue' (same as 'cmon cert issue --help').")
final class HelpCommand implements CommandLine.IHelpCommandInitializable2, Runnable {

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "a command and its subcommands")
    List<String> commands = new ArrayList<>();

    private CommandLine self;
    private CommandLine.Help.ColorScheme colorScheme;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, CommandLine.Help.ColorScheme colorScheme,
                     PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colorScheme = colorScheme;
        this.out = out;
    }

    @Override
    public void run() {
        CommandLine target = self.getParent();
        List<String> path = new ArrayList<>();
        for (String name : commands) {
            path.add(name);
            CommandLine sub = target.getSubcommands().get(name);
            if (sub == null) {
                throw new CommandLine.ParameterException(self, "unknown command '" + String.join(" ", path)
                        + "'; commands of '" + target.getCommandSpec().qualifiedName() + "': "
                        + String.join(", ", target.getSubcommands().keySet()));
            }
            target = sub;
        }
        target.usage(out, colorScheme);
    }
}
