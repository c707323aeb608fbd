package io.cmon.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Rootful Podman for tests: Debian's {@code podman}, its Docker-compatible API served by {@code podman system service
 * --time=0} on a socket of the test's own (so that a test may kill and start it again without touching anyone else),
 * and the {@code podman} command line on the host's store. Every container it runs is {@code --network none},
 * labelled {@code cmon.test=<owner>} (so that {@link #removeAll()} removes exactly this test's containers), and has
 * rlimits this sandbox allows: Podman's defaults (nofile 1048576) exceed its hard limits and {@code podman run} fails.
 *
 * <pre>{@code
 * try (PodmanService podman = PodmanService.start("podmanit")) {
 *     String id = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
 *     ... podman.socket() ...
 * }
 * }</pre>
 */
public final class PodmanService implements AutoCloseable {

    public static final String IMAGE = "cmon-busybox:latest";

    private final Path dir;
    private final Path socket;
    private final String testLabel;
    private Process service;

    private PodmanService(Path dir, String owner) {
        this.dir = dir;
        this.socket = dir.resolve("podman.sock");
        this.testLabel = "cmon.test=" + owner;
    }

    /** Loads the test image into Podman's store when missing, removes leftovers of {@code owner}, starts the API. */
    public static PodmanService start(String owner) throws IOException, InterruptedException {
        PodmanService p = new PodmanService(Files.createTempDirectory("cmon-podman-"), owner);
        p.loadImage();
        p.removeAll();
        p.startService();
        return p;
    }

    /** The API socket, for {@code docker: {socket: …}} or {@code podman: {socket: …}}. */
    public Path socket() {
        return socket;
    }

    /** Starts (or starts again) {@code podman system service} and waits until {@code /_ping} answers. */
    public void startService() throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        service = new ProcessBuilder("podman", "system", "service", "--time=0", "unix://" + socket)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("service.log").toFile()))
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!ping()) {
            if (!service.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("podman system service did not answer on " + socket + ":\n"
                        + Files.readString(dir.resolve("service.log")));
            }
            Thread.sleep(50);
        }
    }

    /** SIGKILL to the API service, as a crash; the containers keep running under their conmon. */
    public void killService() throws InterruptedException {
        service.destroyForcibly();
        service.waitFor(30, TimeUnit.SECONDS);
    }

    private boolean ping() throws IOException, InterruptedException {
        Process curl = new ProcessBuilder("curl", "-sf", "-m", "2", "--unix-socket", socket.toString(),
                "http://podman/_ping").redirectErrorStream(true).start();
        curl.getOutputStream().close();
        return curl.waitFor(5, TimeUnit.SECONDS) && curl.exitValue() == 0;
    }

    private void loadImage() throws IOException, InterruptedException {
        if (exitCode("image", "exists", IMAGE) == 0) return;
        // images cannot be pulled here: the one .ci/run built for Docker, copied over
        Process p = new ProcessBuilder("sh", "-c", "docker save " + IMAGE + " | podman load")
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("cannot load " + IMAGE + " into podman: " + out);
        }
    }

    /** {@code podman <args>}: trimmed stdout; throws with stderr when it exits non-zero or takes over 60 s. */
    public String run(String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd, java.time.Duration.ofSeconds(60));
    }

    private int exitCode(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        return p.exitValue();
    }

    /**
     * {@code podman run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --label cmon.test=<owner>
     * <options> cmon-busybox:latest <command>}.
     *
     * @return the full container id
     */
    public String runDetached(List<String> options, String... command) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--network", "none",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--label", testLabel));
        args.addAll(options);
        args.add(IMAGE);
        args.addAll(List.of(command));
        return run(args.toArray(String[]::new));
    }

    /** {@code podman rm -f -t 0 <id>}: no grace period (busybox sh ignores SIGTERM as pid 1). */
    public void remove(String id) {
        run("rm", "-f", "-t", "0", id);
    }

    /** Removes every container labelled for this owner; never throws (cleanup). */
    public void removeAll() {
        try {
            String ids = run("ps", "-aq", "--filter", "label=" + testLabel);
            if (!ids.isBlank()) {
                List<String> args = new ArrayList<>(List.of("rm", "-f", "-t", "0"));
                args.addAll(List.of(ids.split("\\s+")));
                run(args.toArray(String[]::new));
            }
        } catch (RuntimeException e) {
            System.err.println("podman cleanup: " + e.getMessage());
        }
    }

    /** Removes this owner's containers and stops the API service. */
    @Override
    public void close() throws InterruptedException {
        removeAll();
        if (service != null && service.isAlive()) {
            service.destroy();
            if (!service.waitFor(10, TimeUnit.SECONDS)) {
                service.destroyForcibly();
                service.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
