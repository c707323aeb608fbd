package io.cmon.cli;

import picocli.CommandLine.Command;

@Command(name = "ca", description = "(not built yet)")
final class CaCommand implements Runnable {
    @Override
    public void run() {
        throw new ErrorHandler.UserError("'cmon ca' is not built yet");
    }
}
