package io.cmon.cli;

import picocli.CommandLine.Command;

@Command(name = "agent", description = "(not built yet)")
final class AgentCommand implements Runnable {
    @Override
    public void run() {
        throw new ErrorHandler.UserError("'cmon agent' is not built yet");
    }
}
