package io.cmon.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command-line tool for a test (docker, podman, lxc-*): its trimmed stdout, or an exception with stderr. */
public final class Commands {

    private Commands() {}

    public static String run(List<String> cmd, Duration timeout) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) throw new IllegalStateException(cmd + " failed (" + p.exitValue() + "): " + err);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
