package io.cmon.e2e;

import io.cmon.testing.AgentProcess;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code java -jar cmon.jar <role> --config <file>} as a child process, ready when its port accepts connections. */
final class CmonServerProcess implements AutoCloseable {

    private final Process process;
    private final Path log;

    private CmonServerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static CmonServerProcess start(String role, Path config, int port, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                AgentProcess.jar().toString(), role, "--config", config.toString()))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        CmonServerProcess s = new CmonServerProcess(p, log);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60)); // a JVM start on a busy 2-core machine
        while (true) {
            if (!p.isAlive()) throw new IOException(role + " exited " + p.exitValue() + ":\n" + Files.readString(log));
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return s;
            } catch (IOException notYet) {
                if (Instant.now().isAfter(deadline)) {
                    s.close();
                    throw new IOException(role + " not listening on " + port + ":\n" + Files.readString(log));
                }
                Thread.sleep(100);
            }
        }
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
}
