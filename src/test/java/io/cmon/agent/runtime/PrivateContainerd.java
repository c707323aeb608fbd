package io.cmon.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A containerd of the test's own: its own config, socket, root and state under a temp dir, the CRI plugin off. The
 * containerd that dockerd uses is never touched. Containers are made with Debian's {@code ctr} from the local busybox
 * image (imported from the shared Docker daemon: nothing can be pulled here) and get no network but their own
 * namespace's loopback.
 */
final class PrivateContainerd implements AutoCloseable {

    static final String IMAGE = "docker.io/library/cmon-busybox:latest";

    final Path dir;
    final Path socket;
    private Process process;

    PrivateContainerd() throws IOException {
        dir = Files.createTempDirectory("cmon-ctrd-");
        socket = dir.resolve("containerd.sock");
        Files.writeString(dir.resolve("config.toml"), String.join("\n",
                "version = 2",
                "root = \"" + dir.resolve("root") + "\"",
                "state = \"" + dir.resolve("state") + "\"",
                "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]",
                "[grpc]",
                "  address = \"" + socket + "\"",
                "[ttrpc]",
                "  address = \"" + socket + ".ttrpc\"",
                "[debug]",
                "  address = \"\"",
                "[metrics]",
                "  address = \"\"",
                ""));
    }

    /** Starts (or starts again) the daemon and waits until it answers. */
    void start() throws Exception {
        process = new ProcessBuilder("containerd", "--config", dir.resolve("config.toml").toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("containerd.log").toFile()))
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                ctr("version");
                return;
            } catch (IllegalStateException notYet) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("private containerd did not come up; see "
                            + dir.resolve("containerd.log"));
                }
                Thread.sleep(100);
            }
        }
    }

    /** SIGKILL, as a crash: the containers keep running under their shims, and the next start finds them. */
    void kill() throws Exception {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("containerd did not die");
        }
    }

    /** The busybox image of the shared Docker daemon, in namespace {@code ns}. */
    void importBusybox(String ns) throws Exception {
        Path tar = dir.resolve("busybox.tar");
        run(List.of("docker", "save", "-o", tar.toString(), "cmon-busybox:latest"));
        ctr("-n", ns, "images", "import", tar.toString());
        Files.delete(tar);
    }

    /** {@code ctr -n ns run -d [options] IMAGE id command…}: a started container with its own network namespace. */
    void runDetached(String ns, String id, List<String> options, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("-n", ns, "run", "-d"));
        args.addAll(options);
        args.add(IMAGE);
        args.add(id);
        args.addAll(List.of(command));
        ctr(args.toArray(String[]::new));
    }

    /** Kills the task, deletes it and the container. */
    void remove(String ns, String id) throws Exception {
        ctr("-n", ns, "tasks", "kill", "-s", "SIGKILL", id);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                ctr("-n", ns, "tasks", "delete", id);
                break;
            } catch (IllegalStateException stillRunning) {
                if (System.nanoTime() > deadline) throw stillRunning;
                Thread.sleep(20);
            }
        }
        ctr("-n", ns, "containers", "delete", id);
    }

    /** The pid of a container's task, as ctr lists it. */
    long pid(String ns, String id) throws Exception {
        for (String line : ctr("-n", ns, "tasks", "list").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].equals(id)) return Long.parseLong(f[1]);
        }
        throw new IllegalStateException("no task " + id);
    }

    String ctr(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ctr", "-a", socket.toString()));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.trim());
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
        }
        // its shims and their containers: the shims name this test's socket on their command line
        ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(dir.toString()))
                .forEach(p -> {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                });
        Thread.sleep(200);
        // runc leaves the namespace's parent cgroup (/k8s.io) in each hierarchy; rmdir removes it only when empty
        new ProcessBuilder("sh", "-c", "grep -o ' " + dir + "/[^ ]*' /proc/self/mounts | sort -r | "
                + "xargs -r -n1 umount -l; rm -rf " + dir + "; rmdir /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io"
                + " 2>/dev/null; true").inheritIO().start().waitFor(60, TimeUnit.SECONDS);
    }
}
