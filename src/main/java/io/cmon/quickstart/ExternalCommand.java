package io.cmon.quickstart;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** One run of an external program (docker, tar): its exit code and output, bounded in time. */
record ExternalCommand(List<String> command, int exitCode, String stdout, String stderr) {

    static ExternalCommand run(List<String> command, Duration timeout) {
        try {
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return new ExternalCommand(command, -1, "", "timed out after " + timeout);
            }
            return new ExternalCommand(command, p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            return new ExternalCommand(command, -1, "", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ExternalCommand(command, -1, "", "interrupted");
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    boolean ok() {
        return exitCode == 0;
    }

    /** Fails with what the program said. */
    ExternalCommand orThrow() {
        if (!ok()) {
            throw new QuickstartException(String.join(" ", command) + " failed (" + exitCode + "): "
                    + (stderr.isBlank() ? stdout : stderr).strip());
        }
        return this;
    }
}
