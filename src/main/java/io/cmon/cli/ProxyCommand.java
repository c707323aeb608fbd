package io.cmon.cli;

import picocli.CommandLine.Command;

@Command(name = "proxy", description = "(not built yet)")
final class ProxyCommand implements Runnable {
    @Override
    public void run() {
        throw new ErrorHandler.UserError("'cmon proxy' is not built yet");
    }
}
