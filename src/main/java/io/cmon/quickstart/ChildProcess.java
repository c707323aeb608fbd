package io.cmon.quickstart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A cmon server (agent or proxy) run as a child JVM of the quickstart, from the same jar, logging to a file. Its
 * pid is kept in a file so that a rerun after a hard kill stops the orphan first.
 */
final class ChildProcess {

    private final String name;
    private final Process process;
    private final Path log;
    private final Path pidFile;

    private ChildProcess(String name, Process process, Path log, Path pidFile) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.pidFile = pidFile;
    }

    /** Starts {@code cmon <args>} in {@code workDir}. */
    static ChildProcess start(String name, List<String> cmonArgs, Path workDir, Path logs, Path runDir) {
        try {
            Files.createDirectories(logs);
            Files.createDirectories(runDir);
            Path pidFile = runDir.resolve(name + ".pid");
            stopOrphan(pidFile, workDir);
            List<String> command = new ArrayList<>();
            command.add(ProcessHandle.current().info().command().orElse("java"));
            if (!cmonArgs.isEmpty()) command.addAll(io.cmon.cli.JvmOptions.of(cmonArgs.get(0)));
            command.add("-cp");
            // absolute: the child runs in the quickstart directory
            command.add(java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                    .map(e -> Path.of(e).toAbsolutePath().toString())
                    .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator)));
            command.add("io.cmon.cli.Main");
            command.addAll(cmonArgs);
            Path log = logs.resolve(name + ".log");
            ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            if (!cmonArgs.isEmpty()) { // the role's environment (the agent's malloc arenas), unless already set
                io.cmon.cli.JvmOptions.environment(cmonArgs.get(0)).forEach(builder.environment()::putIfAbsent);
            }
            Process p = builder.start();
            Files.writeString(pidFile, Long.toString(p.pid()));
            return new ChildProcess(name, p, log, pidFile);
        } catch (IOException e) {
            throw new QuickstartException("cannot start the " + name + ": " + e.getMessage(), e);
        }
    }

    private static void stopOrphan(Path pidFile, Path workDir) throws IOException {
        stopLeftover(pidFile, workDir);
    }

    /**
     * A previous quickstart killed with SIGKILL leaves its children running: stops the one {@code pidFile} names if
     * it is still ours, that is a cmon process whose command line ({@code /proc/<pid>/cmdline}) names this
     * directory; a pid the kernel has since given to another process is left alone. Returns the pid stopped.
     */
    static Optional<Long> stopLeftover(Path pidFile, Path workDir) throws IOException {
        if (!Files.exists(pidFile)) return Optional.empty();
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).strip());
        } catch (NumberFormatException e) {
            Files.deleteIfExists(pidFile);
            return Optional.empty();
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        String commandLine = h.flatMap(p -> p.info().commandLine()).orElse("");
        if (h.isEmpty() || !commandLine.contains("io.cmon.cli.Main") || !commandLine.contains(workDir.toString())) {
            Files.deleteIfExists(pidFile);
            return Optional.empty();
        }
        h.get().destroy();
        try {
            h.get().onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            h.get().destroyForcibly();
            try {
                h.get().onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception gone) {
                // reported by the port check that follows
            }
        }
        Files.deleteIfExists(pidFile);
        return Optional.of(pid);
    }

    String name() {
        return name;
    }

    Path log() {
        return log;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    Process process() {
        return process;
    }

    /** SIGTERM (graceful shutdown), then SIGKILL after the grace period. */
    void stop() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException ignored) {
            // a stale pid file is checked before use
        }
    }

    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "";
        }
    }
}
