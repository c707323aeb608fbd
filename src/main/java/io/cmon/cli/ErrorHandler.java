package io.cmon.cli;

import io.cmon.config.ConfigException;
import picocli.CommandLine;

/** Turns the failures a user can fix (bad config, missing file, port in use) into one clear line and exit 2. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        if (ex instanceof ConfigException || ex instanceof UserError) {
            cmd.getErr().println("cmon: " + ex.getMessage());
            return 2;
        }
        cmd.getErr().println("cmon: " + ex);
        ex.printStackTrace(cmd.getErr());
        return 1;
    }

    /** A failure whose message is the whole story for the user (no stack trace). */
    static final class UserError extends RuntimeException {
        UserError(String message) {
            super(message);
        }

        UserError(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
