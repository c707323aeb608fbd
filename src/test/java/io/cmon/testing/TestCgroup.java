package io.cmon.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A cgroup of the test's own on this host's v1 hierarchies ({@code /sys/fs/cgroup/<controller>/cmon-test-<random>}),
 * with the processes the test starts in it. {@link #close()} kills those processes and removes the directories.
 *
 * <pre>{@code
 * try (TestCgroup cg = TestCgroup.create("cpu", "cpuacct", "memory", "pids")) {
 *     cg.set("memory", "memory.limit_in_bytes", "67108864");
 *     Process busy = cg.startInside("sh", "-c", "while :; do :; done");
 *     ... new Instance(..., busy.pid(), cg.path(), ...)
 * }
 * }</pre>
 */
public final class TestCgroup implements AutoCloseable {

    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private final String name = "cmon-test-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<String> controllers;
    private final List<Process> processes = new ArrayList<>();

    private TestCgroup(List<String> controllers) {
        this.controllers = List.copyOf(controllers);
    }

    public static TestCgroup create(String... controllers) throws IOException {
        TestCgroup cg = new TestCgroup(List.of(controllers));
        for (String c : controllers) Files.createDirectory(cg.dir(c));
        return cg;
    }

    /** The path relative to each hierarchy's root, as an instance declares it ({@code /cmon-test-…}). */
    public String path() {
        return "/" + name;
    }

    public Path dir(String controller) {
        return ROOT.resolve(controller).resolve(name);
    }

    public TestCgroup set(String controller, String file, String value) throws IOException {
        Files.writeString(dir(controller).resolve(file), value);
        return this;
    }

    /** Starts a process (output discarded) that {@link #close()} kills; it is not in the cgroup yet. */
    public Process start(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        return p;
    }

    /** Starts a process and moves it into every controller of this cgroup. */
    public Process startInside(String... command) throws IOException {
        Process p = start(command);
        for (String c : controllers) set(c, "cgroup.procs", Long.toString(p.pid()));
        return p;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (String c : controllers) {
            Path dir = dir(c);
            for (int attempt = 0; attempt < 50 && Files.exists(dir); attempt++) {
                try {
                    Files.delete(dir); // rmdir: EBUSY until the killed processes are reaped
                } catch (IOException busy) {
                    Thread.sleep(100);
                }
            }
        }
    }
}
