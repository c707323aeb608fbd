package io.cmon.agent.runtime;

import io.cmon.testing.DockerCli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A dockerd of the test's own (own socket, data and exec roots under a temp dir, the shared daemon's safe flags),
 * so that a test may kill and restart it. The shared daemon is never touched.
 */
final class PrivateDockerd implements AutoCloseable {

    final Path dir;
    final Path socket;
    final DockerCli cli;
    private Process process;

    PrivateDockerd() throws IOException {
        dir = Files.createTempDirectory("cmon-rt-dockerd-");
        socket = dir.resolve("d.sock");
        cli = new DockerCli("runtime", "unix://" + socket);
    }

    /** Starts (or starts again) the daemon and waits until it answers. */
    void start() throws Exception {
        process = new ProcessBuilder("dockerd", "-H", "unix://" + socket,
                "--data-root", dir.resolve("data").toString(),
                "--exec-root", dir.resolve("exec").toString(),
                "--pidfile", dir.resolve("dockerd.pid").toString(),
                "--bridge=none", "--iptables=false", "--ip6tables=false", "--config-file", writeEmptyConfig())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("dockerd.log").toFile()))
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                cli.run("version", "--format", "{{.Server.Version}}");
                return;
            } catch (IllegalStateException notYet) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("private dockerd did not come up; see " + dir.resolve("dockerd.log"));
                }
                Thread.sleep(100);
            }
        }
    }

    /** The image the tests use, copied from the shared daemon (images cannot be pulled here). */
    void loadBusybox() throws Exception {
        Path tar = dir.resolve("busybox.tar");
        new DockerCli("runtime").run("save", "-o", tar.toString(), "cmon-busybox:latest");
        cli.run("load", "-i", tar.toString());
        Files.delete(tar);
    }

    /**
     * SIGKILL to dockerd and to its containerd, as a crash: no graceful shutdown, no events about it. The containers
     * keep running under their shims; the next start finds them again. (Killing dockerd alone leaves its containerd
     * exiting slowly, and a dockerd started meanwhile waits forever on that containerd's socket.)
     */
    void kill() throws Exception {
        ProcessHandle containerd = containerd();
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        if (containerd != null) {
            containerd.destroyForcibly();
            containerd.onExit().get(30, TimeUnit.SECONDS);
        }
    }

    private ProcessHandle containerd() throws IOException {
        Path pidFile = dir.resolve("exec/containerd/containerd.pid");
        if (!Files.exists(pidFile)) {
            return null;
        }
        return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim()))
                .filter(p -> p.info().command().orElse("").endsWith("containerd"))
                .orElse(null);
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            cli.removeAll();
            process.destroy(); // SIGTERM: dockerd stops its containers and its containerd
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        // whatever this daemon left running (its containerd, shims and their containers after a failed start):
        // they all name this test's own directory on their command line
        ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(dir.toString()))
                .forEach(p -> {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                });
        // unmount whatever is left under the dir (overlays, netns) before deleting it
        new ProcessBuilder("sh", "-c", "grep -o ' " + dir + "/[^ ]*' /proc/self/mounts | sort -r | "
                + "xargs -r -n1 umount -l; rm -rf " + dir).inheritIO().start().waitFor(60, TimeUnit.SECONDS);
    }

    private String writeEmptyConfig() throws IOException {
        Path config = dir.resolve("daemon.json");
        Files.writeString(config, "{}");
        return config.toString();
    }

    List<String> log() throws IOException {
        return Files.readAllLines(dir.resolve("dockerd.log"));
    }
}
