package io.cmon.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code docker} command line for tests, against the shared daemon (or another via {@code -H}). Every container
 * it runs is {@code --network none} and labelled {@code cmon.test=<owner>}, so that {@link #removeAll()} removes
 * exactly this test's containers, also after a failure.
 *
 * <pre>{@code
 * DockerCli docker = new DockerCli("agenthttp");
 * String id = docker.runDetached(List.of("-m", "64m"), "sleep", "300");
 * ...
 * docker.removeAll();   // in @AfterEach/@AfterAll
 * }</pre>
 */
public final class DockerCli {

    public static final String IMAGE = "cmon-busybox:latest";

    private final String testLabel;
    private final String host;

    /** @param owner who runs it (e.g. {@code agenthttp}): the value of the {@code cmon.test} label */
    public DockerCli(String owner) {
        this(owner, null);
    }

    /** @param host a {@code -H} daemon address such as {@code unix:///tmp/x/docker.sock}, or null for the default */
    public DockerCli(String owner, String host) {
        this.testLabel = "cmon.test=" + owner;
        this.host = host;
    }

    /** {@code docker <args>}: trimmed stdout; throws with stderr when it exits non-zero or takes over 60 s. */
    public String run(String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker"));
        if (host != null) cmd.addAll(List.of("-H", host));
        cmd.addAll(List.of(args));
        return Commands.run(cmd, java.time.Duration.ofSeconds(60));
    }

    /**
     * {@code docker run -d --network none --label cmon.test=<owner> <options> cmon-busybox:latest <command>}.
     *
     * @return the full container id
     */
    public String runDetached(List<String> options, String... command) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--network", "none", "--label", testLabel));
        args.addAll(options);
        args.add(IMAGE);
        args.addAll(List.of(command));
        return run(args.toArray(String[]::new));
    }

    /** {@code docker exec <id> <command>}: stdout. */
    public String exec(String id, String... command) {
        List<String> args = new ArrayList<>(List.of("exec", id));
        args.addAll(List.of(command));
        return run(args.toArray(String[]::new));
    }

    /** {@code docker rm -f <id>}. */
    public void remove(String id) {
        run("rm", "-f", id);
    }

    /** Removes every container labelled for this owner; never throws (cleanup). */
    public void removeAll() {
        try {
            String ids = run("ps", "-aq", "--filter", "label=" + testLabel);
            if (!ids.isBlank()) {
                List<String> args = new ArrayList<>(List.of("rm", "-f"));
                args.addAll(List.of(ids.split("\\s+")));
                run(args.toArray(String[]::new));
            }
        } catch (RuntimeException e) {
            System.err.println("docker cleanup: " + e.getMessage());
        }
    }

    /** vm_uuid of a container without a {@code cmon.uuid} label: its id's first 32 hex digits as 8-4-4-4-12. */
    public static String uuidOf(String containerId) {
        String h = containerId.substring(0, 32);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20)
                + "-" + h.substring(20);
    }
}
