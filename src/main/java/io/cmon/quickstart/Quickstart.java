package io.cmon.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.cmon.quickstart.TenantPrometheusConfig.Addressing;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * {@code cmon quickstart}: everything on this machine (DESIGN §4). Certificates, accounts, an agent and a proxy as
 * child processes, demo workloads for two tenants, a ready {@code prometheus.yml} per account, and the commands to
 * try it. {@link #stop} (Ctrl-C) undoes what the run started; the directory stays for the next run.
 */
public final class Quickstart {

    /** What the command line decides. Ports 0 mean "the default when free, else any free port". */
    public record Options(Path dir, String endpoint, String dnsSuffix, int proxyPort, int agentPort, int adminPort,
                          boolean containers, List<String> containerLabels, Duration readyTimeout) {}

    static final String HOST = "127.0.0.1";

    private final Options options;
    private final QuickstartFiles files;
    private final PrintStream out;
    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private final ObjectMapper json = new ObjectMapper();
    private final List<ChildProcess> children = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private DemoContainers containers;
    private DeclaredWorkloads declared;
    private volatile String failure;
    private QuickstartLock lock;

    public Quickstart(Options options, PrintStream out) {
        this.options = options;
        this.files = new QuickstartFiles(options.dir());
        this.out = out;
    }

    /** Sets everything up and prints how to use it; returns once all is running. */
    public void start() {
        try {
            Files.createDirectories(files.dir());
            lock = QuickstartLock.acquire(files.dir(), files.run());
            // an earlier run ended by SIGKILL leaves its agent and proxy running on the ports this run wants
            for (String child : List.of("agent", "proxy")) {
                ChildProcess.stopLeftover(files.run().resolve(child + ".pid"), files.dir()).ifPresent(pid ->
                        out.println("stopped the " + child + " (pid " + pid + ") an earlier quickstart left running"));
            }
            int workloadsLeft = DeclaredWorkloads.stopLeftovers(files.id());
            if (workloadsLeft > 0) out.println("stopped " + workloadsLeft + " demo process(es) an earlier quickstart left");
            List<String> issued = new DemoPki(files).ensure(options.endpoint(), options.dnsSuffix(), DemoAccount.ALL);
            // the ports of the last run when they are free again, so tenants' prometheus.yml files keep working
            int proxyPort = port(options.proxyPort(), previousPort(files.proxyConfig(), "listen", 9163));
            int agentPort = port(options.agentPort(), previousPort(files.agentConfig(), "listen", 9164));
            int adminPort = port(options.adminPort(), previousPort(files.proxyConfig(), "adminListen", 9166));

            Optional<ContainerEngine> engine = options.containers() ? ContainerEngine.find(System.getenv()) : Optional.empty();
            Map<String, String> workloads;
            if (engine.isPresent()) {
                if (engine.get().ensureImage()) out.println("built the demo image " + ContainerEngine.IMAGE);
                containers = new DemoContainers(engine.get(), files.id(), options.containerLabels());
                workloads = containers.start(DemoWorkload.ALL);
                writeYaml(files.instances(), "# declared instances (none: the demo runs containers)\n",
                        Map.of("instances", List.of()));
            } else {
                declared = new DeclaredWorkloads(files.id());
                List<Map<String, Object>> entries = declared.start(DemoWorkload.ALL);
                writeYaml(files.instances(), "# demo workloads: processes in cgroups of their own, declared to the agent\n",
                        Map.of("instances", entries));
                workloads = new LinkedHashMap<>();
                for (Map<String, Object> e : entries) workloads.put((String) e.get("alias"), "pid " + e.get("pid"));
            }

            writeAccounts();
            writeAgentConfig(agentPort, engine.map(ContainerEngine::socket).orElse(null));
            writeProxyConfig(proxyPort, adminPort, agentPort);
            writePrometheusConfigs(proxyPort);

            ChildProcess agent = startChild("agent", List.of("agent", "--config", files.agentConfig().toString()));
            awaitPort("agent", agent, agentPort);
            ChildProcess proxy = startChild("proxy", List.of("proxy", "--config", files.proxyConfig().toString()));
            awaitPort("proxy", proxy, proxyPort);
            String aliceUuid = awaitDiscovery(proxy, proxyPort);

            printInstructions(issued, proxyPort, adminPort, agentPort, workloads, engine, aliceUuid);
        } catch (IOException e) {
            stop();
            throw new QuickstartException(e.getMessage(), e);
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
    }

    /** Blocks until {@link #stop} or until a child dies; a child's death is a failure with its log's tail. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
        if (failure != null) throw new QuickstartException(failure);
    }

    /** Stops the proxy and the agent, removes the demo containers (or workloads). Idempotent. */
    public void stop() {
        if (!stopping.compareAndSet(false, true)) {
            // another thread (Ctrl-C's hook, or a child's exit) is stopping: let it finish before the JVM exits
            try {
                stopped.await(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        for (int i = children.size() - 1; i >= 0; i--) children.get(i).stop();
        if (containers != null) containers.removeAll();
        if (declared != null) declared.stopAll();
        if (!children.isEmpty()) {
            out.println("cmon quickstart stopped" + (containers != null ? "; demo containers removed." : ".")
                    + " Files stay in " + files.dir() + " for the next run.");
            out.flush();
        }
        if (lock != null) lock.close();
        stopped.countDown();
    }

    private ChildProcess startChild(String name, List<String> args) {
        ChildProcess c = ChildProcess.start(name, args, files.dir(), files.logs(), files.run());
        children.add(c);
        c.process().onExit().thenRun(() -> {
            if (!stopping.get()) {
                failure = "the " + name + " exited (" + c.process().exitValue() + "); " + c.log() + ":\n" + c.tail(20);
                stop();
            }
        });
        return c;
    }

    /** The port of {@code key} ({@code host:port}) in a config an earlier run wrote, else {@code fallback}. */
    private int previousPort(Path config, String key, int fallback) {
        if (!Files.isRegularFile(config)) return fallback;
        try {
            String listen = yaml.readTree(config.toFile()).path(key).asText("");
            int port = Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
            return port > 0 && port < 65536 ? port : fallback;
        } catch (IOException | RuntimeException e) {
            return fallback; // an unreadable old config: it is rewritten below
        }
    }

    private int port(int requested, int preferred) throws IOException {
        if (requested > 0) return requested;
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), preferred));
            return preferred;
        } catch (IOException busy) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                return s.getLocalPort();
            }
        }
    }

    private void awaitPort(String name, ChildProcess child, int port) {
        Instant deadline = Instant.now().plus(options.readyTimeout());
        while (Instant.now().isBefore(deadline)) {
            if (!child.isAlive()) {
                throw new QuickstartException("the " + name + " did not start; " + child.log() + ":\n" + child.tail(20));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(HOST, port), 500);
                return;
            } catch (IOException notYet) {
                sleep(100);
            }
        }
        throw new QuickstartException("the " + name + " does not listen on " + HOST + ":" + port + " after "
                + options.readyTimeout().toSeconds() + "s; " + child.log() + ":\n" + child.tail(20));
    }

    /** Asks discovery as alice until it lists her demo workloads: the whole chain works. Returns one uuid. */
    private String awaitDiscovery(ChildProcess proxy, int proxyPort) {
        HttpClient client = HttpClient.newBuilder()
                .sslContext(new ClientTls(files.caCert(), files.cert("alice"), files.key("alice")).context())
                .connectTimeout(Duration.ofSeconds(2)).build();
        URI uri = URI.create("https://" + options.endpoint() + ":" + proxyPort + "/v1/discover");
        List<String> wanted = DemoWorkload.ALL.stream().filter(w -> w.owner().equals("alice"))
                .map(DemoWorkload::alias).toList();
        Instant deadline = Instant.now().plus(options.readyTimeout());
        String last = "no answer";
        while (Instant.now().isBefore(deadline)) {
            if (!proxy.isAlive()) break;
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                last = r.statusCode() + " " + r.body().strip();
                if (r.statusCode() == 200) {
                    Map<String, String> byAlias = new LinkedHashMap<>();
                    for (JsonNode c : json.readTree(r.body()).path("containers")) {
                        byAlias.put(c.path("vm_alias").asText(), c.path("vm_uuid").asText());
                    }
                    if (byAlias.keySet().containsAll(wanted)) return byAlias.get(wanted.get(0));
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QuickstartException("interrupted");
            }
            sleep(250);
        }
        throw new QuickstartException("alice's discovery " + uri + " does not list " + wanted + " after "
                + options.readyTimeout().toSeconds() + "s (last: " + last + "); see " + files.logs());
    }

    private void writeAccounts() throws IOException {
        List<Map<String, Object>> accounts = new ArrayList<>();
        for (DemoAccount a : DemoAccount.ALL) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("login", a.login());
            m.put("uuid", a.uuid().toString());
            m.put("operator", a.operator());
            m.put("keys", List.of());
            accounts.add(m);
        }
        writeYaml(files.accounts(), "# accounts: the CN of a client certificate is the login (reloaded on change)\n",
                Map.of("accounts", accounts));
    }

    private void writeAgentConfig(int agentPort, Path socket) throws IOException {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("listen", HOST + ":" + agentPort);
        c.put("docker", socket == null ? null : Map.of("socket", socket.toString()));
        c.put("instancesFile", files.instances().toString());
        c.put("tls", tls("agent", "clientCa", files.agentCaCert()));
        writeYaml(files.agentConfig(), "# cmon agent of the quickstart: HTTPS; only proxy certificates of the agent link CA"
                + " may call, never a tenant's\n", c);
    }

    private void writeProxyConfig(int proxyPort, int adminPort, int agentPort) throws IOException {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("listen", HOST + ":" + proxyPort);
        c.put("adminListen", HOST + ":" + adminPort);
        c.put("endpoint", options.endpoint());
        c.put("dnsSuffix", options.dnsSuffix());
        // ordered: Map.of's order changes from one JVM to the next, and a rerun must write the same file
        Map<String, Object> tls = new LinkedHashMap<>();
        tls.put("cert", files.cert(DemoPki.PROXY).toString());
        tls.put("key", files.key(DemoPki.PROXY).toString());
        c.put("tls", tls);
        Map<String, Object> auth = new LinkedHashMap<>();
        auth.put("mode", "ca");
        auth.put("tenantCa", files.caCert().toString());
        c.put("auth", auth);
        c.put("accounts", files.accounts().toString());
        c.put("agents", Map.of("static", List.of(HOST + ":" + agentPort)));
        c.put("agentTls", tls(DemoPki.PROXY_CLIENT, "ca", files.agentCaCert()));
        writeYaml(files.proxyConfig(), "# cmon proxy of the quickstart: tenants connect here with their certificates\n", c);
    }

    private Map<String, Object> tls(String name, String caKey, Path ca) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("cert", files.cert(name).toString());
        t.put("key", files.key(name).toString());
        t.put(caKey, ca.toString());
        return t;
    }

    /** Path mode by default (no DNS needed); an http_sd variant; a host-mode variant for those with the DNS. */
    private void writePrometheusConfigs(int proxyPort) throws IOException {
        for (DemoAccount a : DemoAccount.ALL) {
            Path dir = Files.createDirectories(files.prometheusDir(a.login()));
            TenantPrometheusConfig c = prometheusConfig(a, Addressing.PATH, proxyPort);
            Files.writeString(dir.resolve("prometheus.yml"), c.yaml());
            Files.writeString(dir.resolve("prometheus-http-sd.yml"), c.withAddressing(Addressing.HTTP_SD).yaml());
            Files.writeString(dir.resolve("prometheus-host.yml"), c.withAddressing(Addressing.HOST).yaml());
        }
    }

    TenantPrometheusConfig prometheusConfig(DemoAccount a, Addressing addressing, int proxyPort) {
        return new TenantPrometheusConfig(addressing, a.login(), a.operator(), options.endpoint(), options.dnsSuffix(),
                proxyPort, files.caCert().toString(), files.cert(a.login()).toString(), files.key(a.login()).toString(),
                List.of(), Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    private void writeYaml(Path file, String header, Object value) throws IOException {
        Files.writeString(file, header + yaml.writeValueAsString(value));
    }

    private void printInstructions(List<String> issued, int proxyPort, int adminPort, int agentPort,
                                   Map<String, String> workloads, Optional<ContainerEngine> engine, String aliceUuid) {
        String d = files.dir().toString();
        String base = "https://" + options.endpoint() + ":" + proxyPort;
        String curl = "curl -sS --cacert " + files.caCert() + " --cert " + files.cert("alice") + " --key " + files.key("alice");
        Path alice = files.prometheusDir("alice");
        out.println();
        out.println("cmon quickstart is running. Ctrl-C stops it all" + (engine.isPresent()
                ? " and removes the demo containers." : " and the demo workloads."));
        out.println();
        out.println("Files in " + d + (issued.isEmpty() ? " (certificates reused)" : " (issued now: "
                + String.join(", ", issued) + ")") + ":");
        out.println("  ca/ca.pem, agent-ca/ca.pem       tenant CA; agent link CA (agent and proxy-client only)");
        out.println("  certs/                           proxy, agent, proxy-client and account certificates");
        out.println("  proxy.yaml agent.yaml accounts.yaml instances.yaml");
        out.println("  prometheus/<account>/prometheus.yml          path mode: works without DNS");
        out.println("  prometheus/<account>/prometheus-http-sd.yml  http_sd_configs against /v1/http_sd");
        out.println("  prometheus/<account>/prometheus-host.yml     host mode: needs *." + options.dnsSuffix()
                + " -> " + HOST);
        out.println("  logs/agent.log logs/proxy.log");
        out.println();
        out.println("Proxy:  " + base + "   (admin: http://" + HOST + ":" + adminPort + "/metrics)");
        out.println("Agent:  https://" + HOST + ":" + agentPort + "   (mTLS: proxy only)");
        out.println("Demo " + (engine.isPresent() ? "containers (" + engine.get().cliName() + " "
                + engine.get().socket() + ")" : "workloads (declared processes)") + ": "
                + workloads.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        out.println();
        out.println("Discover alice's containers:");
        out.println("  " + curl + " " + base + "/v1/discover");
        out.println("Scrape alice-web as alice:");
        out.println("  " + curl + " " + base + "/v1/" + aliceUuid + "/metrics");
        out.println();
        out.println("Run Prometheus for alice, then open http://127.0.0.1:9090/targets:");
        out.println("  prometheus --config.file=" + alice.resolve("prometheus.yml") + " --storage.tsdb.path="
                + alice.resolve("data") + " --web.listen-address=127.0.0.1:9090");
        out.println("(bob and operator: the same with prometheus/bob/, prometheus/operator/ and another port.)");
        out.println("Grafana dashboards: dashboards/cmon-instances.json, dashboards/cmon-servers.json.");
        out.flush();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuickstartException("interrupted");
        }
    }
}
