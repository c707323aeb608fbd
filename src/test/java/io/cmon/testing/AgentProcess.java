package io.cmon.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.api.InstancesPage;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real {@code cmon agent} as a separate JVM running the shaded jar (failsafe's {@code cmon.jar} property, else
 * {@code target/cmon.jar}), on a free loopback port, started and ready ({@code /_ping} answers 200). Its output goes
 * to {@link #log()}; {@link #close()} sends SIGTERM and waits for a graceful exit.
 *
 * <pre>{@code
 * try (AgentProcess agent = AgentProcess.start(configFile)) {
 *     HttpResponse<String> r = agent.get("/v1/instances");
 * }
 * }</pre>
 */
public final class AgentProcess implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final boolean tls;

    private AgentProcess(Process process, int port, Path log, boolean tls) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.tls = tls;
    }

    /** Starts {@code cmon agent --config <config> --listen 127.0.0.1:<free port> <extraArgs>} and waits for ping. */
    public static AgentProcess start(Path config, String... extraArgs) throws IOException, InterruptedException {
        return start(config, false, extraArgs);
    }

    /**
     * For a config with {@code tls}: the agent then wants a client certificate, so readiness is its port accepting
     * connections, and {@link #get} and friends (plain HTTP) do not apply; talk to it with your own TLS client.
     */
    public static AgentProcess startTls(Path config, String... extraArgs) throws IOException, InterruptedException {
        return start(config, true, extraArgs);
    }

    private static AgentProcess start(Path config, boolean tls, String... extraArgs)
            throws IOException, InterruptedException {
        int port = freePort();
        Path log = Files.createTempFile("cmon-agent-", ".log");
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-jar", jar().toString(), "agent",
                "--config", config.toString(), "--listen", "127.0.0.1:" + port));
        cmd.addAll(List.of(extraArgs));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        AgentProcess agent = new AgentProcess(p, port, log, tls);
        agent.awaitReady();
        return agent;
    }

    /** The jar under test: failsafe's {@code cmon.jar} system property, else {@code target/cmon.jar}. */
    public static Path jar() {
        Path jar = Path.of(System.getProperty("cmon.jar", "target/cmon.jar"));
        if (!Files.isRegularFile(jar)) throw new IllegalStateException("no jar at " + jar + "; run mvn package");
        return jar;
    }

    /**
     * A dynamic class data sharing archive of the agent jar ({@code -XX:SharedArchiveFile=<it>}), made by running
     * the agent once on this host with {@code -XX:ArchiveClassesAtExit}: a scrape of a declared instance (this JVM)
     * and of {@code /v1/gz/metrics} loads the collectors' classes too. Only worth it where a JVM start is costly
     * (a TCG guest: it halves the agent's start there); the archive fits only this JDK and this jar.
     */
    public static Path classDataArchive(Path dir) throws IOException, InterruptedException {
        return classDataArchive(dir, jar().toAbsolutePath());
    }

    /** As {@link #classDataArchive(Path)}, for the agent run from {@code jar} (an archive is tied to its jar's path). */
    public static Path classDataArchive(Path dir, Path jar) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path archive = dir.resolve("agent.jsa");
        Files.deleteIfExists(archive);
        String uuid = "00000000-0000-4000-8000-00000000cd50";
        Path instances = Files.writeString(dir.resolve("cds-instances.yaml"),
                "instances:\n  - {uuid: " + uuid + ", pid: " + ProcessHandle.current().pid() + "}\n");
        Path config = Files.writeString(dir.resolve("cds-agent.yaml"),
                "server: {uuid: 00000000-0000-4000-8000-00000000cd5a, hostname: cds}\ninstancesFile: " + instances
                        + "\n");
        int port = freePort();
        Path log = dir.resolve("cds-agent.log");
        Process p = new ProcessBuilder(javaBin(), "-XX:ArchiveClassesAtExit=" + archive, "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-XX:-UsePerfData", "-jar", jar.toString(), "agent",
                "--config", config.toString(), "--listen", "127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        AgentProcess agent = new AgentProcess(p, port, log, false);
        agent.awaitReady();
        for (int i = 0; i < 100 && agent.get("/v1/" + uuid + "/metrics").statusCode() != 200; i++) {
            Thread.sleep(100); // listed at the declared source's first poll
        }
        agent.get("/v1/gz/metrics");
        agent.stop(); // the archive is written as the JVM exits
        if (!Files.isRegularFile(archive)) {
            throw new IllegalStateException("no class data archive at " + archive + ":\n" + agent.logText());
        }
        return archive;
    }

    /** A port nothing listens on now (a small race with other processes is accepted). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public int port() {
        return port;
    }

    /** {@code http://127.0.0.1:<port><path>} ({@code https} when started with {@link #startTls}). */
    public URI uri(String path) {
        return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port + path);
    }

    /** The agent's stdout and stderr so far. */
    public Path log() {
        return log;
    }

    public String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    public HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code GET /v1/instances}, which must answer 200, as the page it lists. */
    public InstancesPage instances() throws IOException, InterruptedException {
        HttpResponse<String> r = get("/v1/instances");
        if (r.statusCode() != 200) throw new AssertionError("/v1/instances: HTTP " + r.statusCode() + ": " + r.body());
        return JSON.readValue(r.body(), InstancesPage.class);
    }

    /** The instance with this uuid as {@code /v1/instances} lists it now, if it does. */
    public Optional<InstancesPage.Entry> listed(String uuid) throws IOException, InterruptedException {
        return instances().instances().stream().filter(e -> e.vmUuid().equals(uuid)).findFirst();
    }

    /** {@code GET /v1/<uuid>/metrics}, which must answer 200: the exposition text. */
    public String metrics(String uuid) throws IOException, InterruptedException {
        HttpResponse<String> r = get("/v1/" + uuid + "/metrics");
        if (r.statusCode() != 200) throw new AssertionError(uuid + " metrics: HTTP " + r.statusCode() + ": " + r.body());
        return r.body();
    }

    /** The value of one sample (its name and labels as written) in a Prometheus text; NaN when it is not there. */
    public static double sample(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    public HttpResponse<byte[]> getBytes(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    public HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** SIGTERM, then waits up to 10 s (then SIGKILL); the exit code. */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) stop();
    }

    private void awaitReady() throws InterruptedException, IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("agent exited (" + process.exitValue() + "):\n" + logText());
            }
            try {
                if (tls) {
                    new java.net.Socket(InetAddress.getLoopbackAddress(), port).close();
                    return;
                }
                if (get("/_ping").statusCode() == 200) return;
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        close();
        throw new IllegalStateException("agent did not answer /_ping within " + READY_TIMEOUT + ":\n" + logText());
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
