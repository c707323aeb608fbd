package io.cmon.cli;

import picocli.CommandLine.Command;

@Command(name = "cert", description = "(not built yet)")
final class CertCommand implements Runnable {
    @Override
    public void run() {
        throw new ErrorHandler.UserError("'cmon cert' is not built yet");
    }
}
