package io.cmon.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The {@code docker} command line, for setting up test containers (against the shared or a private daemon). */
final class DockerCli {

    static final String TEST_LABEL = "cmon.test=runtime";
    private final String host; // null: the default socket

    DockerCli(String host) {
        this.host = host;
    }

    /** Runs {@code docker <args>}; returns trimmed stdout; throws with stderr when it fails. */
    String run(String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker"));
        if (host != null) {
            cmd.add("-H");
            cmd.add(host);
        }
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " failed (" + p.exitValue() + "): " + err);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code docker run -d --network none --label cmon.test=runtime <args> cmon-busybox:latest <command>}: the id. */
    String runDetached(List<String> options, String... command) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--network", "none", "--label", TEST_LABEL));
        args.addAll(options);
        args.add("cmon-busybox:latest");
        args.addAll(List.of(command));
        return run(args.toArray(String[]::new));
    }

    /** Removes every container this test class created (by label); never fails. */
    void removeTestContainers() {
        try {
            String ids = run("ps", "-aq", "--filter", "label=" + TEST_LABEL);
            if (!ids.isBlank()) {
                List<String> args = new ArrayList<>(List.of("rm", "-f"));
                args.addAll(List.of(ids.split("\\s+")));
                run(args.toArray(String[]::new));
            }
        } catch (RuntimeException e) {
            System.err.println("cleanup: " + e.getMessage());
        }
    }
}
