package io.cmon.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;

/**
 * The real Debian {@code prometheus} binary on a free loopback port, with a config and a TSDB in a directory of the
 * test's. Optionally inside a mount namespace whose resolver is a {@link WildcardDns}, for Host-mode targets
 * {@code <uuid>.<dnsSuffix>}.
 */
public final class PrometheusProcess implements AutoCloseable {

    public static final String BINARY = "/usr/bin/prometheus";

    /** One entry of {@code /api/v1/targets} (active targets). */
    public record Target(String scrapePool, String scrapeUrl, String health, String lastError,
                         Map<String, String> labels, Map<String, String> discoveredLabels) {
        public String label(String name) {
            return labels.get(name);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final URI url;
    private final Path dir;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private PrometheusProcess(Process process, URI url, Path dir, Path log) {
        this.process = process;
        this.url = url;
        this.dir = dir;
        this.log = log;
    }

    public static PrometheusProcess start(Path dir, String configYaml) throws IOException, InterruptedException {
        return start(dir, configYaml, null);
    }

    /**
     * Writes {@code dir/prometheus.yml}, starts Prometheus on {@code 127.0.0.1:<free port>} with its TSDB under
     * {@code dir/data}, and waits until {@code /-/ready}. Relative paths in the config resolve against {@code dir}.
     *
     * @param dns when not null, Prometheus runs in a mount namespace that resolves through it
     */
    public static PrometheusProcess start(Path dir, String configYaml, WildcardDns dns)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, configYaml);
        return startWithConfig(dir, config, dns);
    }

    /** Starts Prometheus with an existing config file (say, one the quickstart wrote). */
    public static PrometheusProcess startWithConfig(Path dir, Path config, WildcardDns dns)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freePort();
            List<String> command = List.of(BINARY,
                    "--config.file=" + config.toAbsolutePath(),
                    "--storage.tsdb.path=" + dir.resolve("data").toAbsolutePath(),
                    "--web.listen-address=127.0.0.1:" + port,
                    "--web.enable-lifecycle",
                    "--log.level=info");
            Path log = dir.resolve("prometheus-" + port + ".log");
            Process p = new ProcessBuilder(dns == null ? command : dns.inNamespace(command))
                    .directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            PrometheusProcess prom = new PrometheusProcess(p, URI.create("http://127.0.0.1:" + port), dir, log);
            try {
                prom.awaitReady(Duration.ofSeconds(30));
                return prom;
            } catch (IOException e) {
                prom.close();
                last = e;
                if (!Files.readString(log).contains("address already in use")) throw e;
            }
        }
        throw last;
    }

    /**
     * Runs a Prometheus command line as a user would type it ({@code sh -c}), e.g. one the quickstart printed, that
     * listens on {@code 127.0.0.1:port}; its output goes to {@code dir}.
     */
    public static PrometheusProcess fromShell(String commandLine, int port, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path log = dir.resolve("prometheus-" + port + ".log");
        Process p = new ProcessBuilder("sh", "-c", "exec " + commandLine).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PrometheusProcess prom = new PrometheusProcess(p, URI.create("http://127.0.0.1:" + port), dir, log);
        try {
            prom.awaitReady(Duration.ofSeconds(30));
        } catch (IOException e) {
            prom.close();
            throw e;
        }
        return prom;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitReady(Duration timeout) throws IOException, InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) throw new IOException("prometheus exited " + process.exitValue() + ":\n" + log());
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(url.resolve("/-/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IOException("prometheus not ready after " + timeout + ":\n" + log());
    }

    public URI url() {
        return url;
    }

    public Path dir() {
        return dir;
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** {@code /api/v1/query}: the {@code data.result} array of an instant query. */
    public JsonNode query(String promql) throws IOException, InterruptedException {
        JsonNode body = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        return body.path("data").path("result");
    }

    /** The value of a query that yields one sample; empty when it yields none. */
    public OptionalDouble value(String promql) throws IOException, InterruptedException {
        JsonNode result = query(promql);
        if (result.size() == 0) return OptionalDouble.empty();
        if (result.size() > 1) throw new IllegalStateException(promql + " yields " + result.size() + " series");
        return OptionalDouble.of(Double.parseDouble(result.get(0).path("value").get(1).asText()));
    }

    /** For each series of an instant vector, the value by the given label. */
    public Map<String, Double> valuesBy(String label, String promql) throws IOException, InterruptedException {
        Map<String, Double> values = new LinkedHashMap<>();
        for (JsonNode s : query(promql)) {
            values.put(s.path("metric").path(label).asText(), Double.parseDouble(s.path("value").get(1).asText()));
        }
        return values;
    }

    /** {@code /api/v1/targets?state=active}. */
    public List<Target> activeTargets() throws IOException, InterruptedException {
        JsonNode body = get("/api/v1/targets?state=active");
        List<Target> targets = new ArrayList<>();
        for (JsonNode t : body.path("data").path("activeTargets")) {
            targets.add(new Target(t.path("scrapePool").asText(), t.path("scrapeUrl").asText(),
                    t.path("health").asText(), t.path("lastError").asText(),
                    strings(t.path("labels")), strings(t.path("discoveredLabels"))));
        }
        return targets;
    }

    /** Reloads the config file ({@code POST /-/reload}). */
    public void reload() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(url.resolve("/-/reload"))
                .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("reload: " + r.statusCode() + " " + r.body());
    }

    private static Map<String, String> strings(JsonNode object) {
        Map<String, String> m = new LinkedHashMap<>();
        object.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }

    private JsonNode get(String pathAndQuery) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + pathAndQuery))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("GET " + pathAndQuery + ": " + r.statusCode() + " " + r.body());
        return JSON.readTree(r.body());
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
