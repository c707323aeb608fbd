package io.cmon.cli;

import picocli.CommandLine.Command;

@Command(name = "quickstart", description = "(not built yet)")
final class QuickstartCommand implements Runnable {
    @Override
    public void run() {
        throw new ErrorHandler.UserError("'cmon quickstart' is not built yet");
    }
}
