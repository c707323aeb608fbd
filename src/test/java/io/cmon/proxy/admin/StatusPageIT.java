package io.cmon.proxy.admin;

import io.cmon.testing.AgentProcess;
import io.cmon.testing.HeadlessChromium;
import io.cmon.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The fleet status page as an operator's browser shows it: a {@code cmon proxy} process following two
 * {@code cmon agent} processes with declared instances (each a {@code sleep} this test runs), one agent then
 * stopped; headless Chromium takes a screenshot and dumps the DOM it built from the page.
 *
 * <p>{@code -Dcmon.captureScreenshot=true} also copies the screenshot to {@code docs/images/status-page.png}.
 */
class StatusPageIT {

    static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    static final String ALICE = "alice-" + RUN;
    static final String BOB = "bob-" + RUN;
    static final String ALICE_UUID = UUID.randomUUID().toString();
    static final String BOB_UUID = UUID.randomUUID().toString();
    static final String HOSTILE_ALIAS = "<script>alert('owned')</script>";

    static Path dir;
    static final List<Process> workloads = new ArrayList<>();
    static Agent running;
    static Agent stopped;
    static Process proxy;
    static Path proxyLog;
    static int adminPort;
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("cmon-status-page-it-");
        TestPki pki = TestPki.create(dir);
        TestPki.Issued server = pki.server("proxy", "cmon.test", "*.cmon.test");
        Files.writeString(dir.resolve("accounts.yaml"), "accounts:\n"
                + "  - {login: " + ALICE + ", uuid: " + ALICE_UUID + ", operator: false}\n"
                + "  - {login: " + BOB + ", uuid: " + BOB_UUID + ", operator: false}\n");

        // agent 1: alice has two instances (one by login, one by uuid), bob one, and one names no account
        running = agent("agent-running", "00000000-0000-4000-8000-0000005a7e01",
                instance("web-1", ALICE) + instance("web-2", ALICE_UUID) + instance("db-1", BOB)
                        + instance(HOSTILE_ALIAS, "nobody-" + RUN));
        // agent 2: bob's second instance; stopped below
        stopped = agent("agent-stopped", "00000000-0000-4000-8000-0000005a7e02", instance("batch-1", BOB));

        int proxyPort = AgentProcess.freePort();
        adminPort = AgentProcess.freePort();
        Path config = Files.writeString(dir.resolve("proxy.yaml"), String.join("\n",
                "listen: 127.0.0.1:" + proxyPort,
                "adminListen: 127.0.0.1:" + adminPort,
                "endpoint: cmon.test",
                "tls: {cert: " + server.cert() + ", key: " + server.key() + "}",
                "auth: {mode: ca, tenantCa: " + pki.caCert() + "}",
                "accounts: " + dir.resolve("accounts.yaml"),
                "agents: {static: [\"127.0.0.1:" + running.port() + "\", \"127.0.0.1:" + stopped.port() + "\"]}",
                "limits: {maxConnections: 200}", ""));
        proxyLog = dir.resolve("proxy.log");
        proxy = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "proxy", "--config",
                config.toString()).redirectErrorStream(true).redirectOutput(proxyLog.toFile()).start();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    assertThat(proxy.isAlive()).as(Files.readString(proxyLog)).isTrue();
                    return admin("/status").body().contains("\"instances\" : 5");
                });

        stopped.stop();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> admin("/status").body().replaceAll("\\s", "").contains("\"up\":false"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.destroy();
            if (!proxy.waitFor(15, TimeUnit.SECONDS)) proxy.destroyForcibly();
        }
        if (running != null) running.stop();
        if (stopped != null) stopped.stop();
        for (Process p : workloads) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    /** A declared instance of its own: a sleep this test started (killed in {@link #stop()}). */
    static String instance(String alias, String owner) throws IOException {
        Process sleep = new ProcessBuilder("sleep", "600").start();
        workloads.add(sleep);
        return "  - {uuid: " + UUID.randomUUID() + ", alias: \"" + alias + "\", owner: \"" + owner
                + "\", brand: lxc, pid: " + sleep.pid() + "}\n";
    }

    /** An agent process; started with a minute to come up (JVM starts are slow on a loaded CI machine). */
    record Agent(Process process, int port, Path log) {
        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    static Agent agent(String name, String serverUuid, String instances) throws Exception {
        Path file = Files.writeString(dir.resolve(name + "-instances.yaml"), "instances:\n" + instances);
        int port = AgentProcess.freePort();
        Path config = Files.writeString(dir.resolve(name + ".yaml"), String.join("\n",
                "listen: 127.0.0.1:" + port,
                "server: {uuid: " + serverUuid + ", hostname: " + name + "}",
                "docker: null",
                "instancesFile: " + file, ""));
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(java(), "-jar", AgentProcess.jar().toString(), "agent", "--config",
                config.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Agent agent = new Agent(p, port, log);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
                    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/instances"))
                            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).statusCode()
                            == 200;
                });
        return agent;
    }

    static HttpResponse<String> admin(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static URI page() {
        return URI.create("http://127.0.0.1:" + adminPort + "/");
    }

    @Test
    void chromiumShowsTheStoppedAgentDownTheRunningOneUpAndInstancesPerOwner() throws Exception {
        String dom = HeadlessChromium.find().dumpDom(page());

        assertThat(agentState(dom, running.port())).isEqualTo("up");
        assertThat(agentState(dom, stopped.port())).isEqualTo("down");
        assertThat(dom).contains("agent-running").contains("agent-stopped");
        // alice's instances are labelled by login and by uuid: the page keeps the labels apart and names the account
        assertThat(ownerCount(dom, ALICE)).isEqualTo(1);
        assertThat(ownerCount(dom, ALICE_UUID)).isEqualTo(1);
        // bob: one on the running agent, one on the stopped one (listed until the agent is removed: 503, not 404)
        assertThat(ownerCount(dom, BOB)).isEqualTo(2);
        assertThat(ownerCount(dom, "nobody-" + RUN)).isEqualTo(1);
        // the hostile alias is text in the orphans table, never an element the browser built
        assertThat(dom).contains("&lt;script&gt;alert('owned')&lt;/script&gt;");
        assertThat(Pattern.compile("<script", Pattern.CASE_INSENSITIVE).matcher(dom).find()).isFalse();
        assertThat(dom).contains("identity conflicts").contains("Authentication failures")
                .contains("tenant connections (limits.maxConnections)").contains("<td class=\"num\">200</td>");
    }

    @Test
    void screenshotIsAFullRenderedPage() throws Exception {
        Path png = Path.of("target", "status-page", "status-page.png");
        Files.createDirectories(png.getParent());

        HeadlessChromium.find().screenshot(page(), png, 1280, 900);

        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("a PNG ImageIO can decode").isNotNull();
        assertThat(image.getWidth()).isEqualTo(1280);
        assertThat(image.getHeight()).isEqualTo(900);
        Set<Integer> colours = new HashSet<>();
        int dark = 0;
        int green = 0;
        int red = 0;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                int r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
                if (r + g + b < 200) dark++;
                if (rgb == 0x1f8a4c) green++; // the "up" badge
                if (rgb == 0xc0392b) red++;   // the "down" badge
            }
        }
        assertThat(colours).as("distinct colours: text, tables and badges, not a blank page").hasSizeGreaterThan(50);
        assertThat(dark).as("pixels of text").isGreaterThan(1000);
        assertThat(green).as("pixels of the up badge").isGreaterThan(20);
        assertThat(red).as("pixels of the down badge").isGreaterThan(20);
        if (Boolean.getBoolean("cmon.captureScreenshot")) {
            Path doc = Path.of("docs", "images", "status-page.png");
            Files.createDirectories(doc.getParent());
            Files.copy(png, doc, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void pageKeepsTheAdminListenersDnsRebindingGuard() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), adminPort)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: attacker.example:" + adminPort + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 403").contains("adminHosts").doesNotContain("<html");
        }
        HttpResponse<String> ok = admin("/status.html");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(admin("/status").headers().firstValue("Content-Type")).hasValue("application/json");
    }

    static String agentState(String dom, int port) {
        Matcher m = Pattern.compile("data-agent=\"127\\.0\\.0\\.1:" + port + "\" data-state=\"(\\w+)\"").matcher(dom);
        assertThat(m.find()).as("agent row for port " + port + " in\n" + dom).isTrue();
        return m.group(1);
    }

    static int ownerCount(String dom, String owner) {
        Matcher m = Pattern.compile("data-owner=\"" + Pattern.quote(owner) + "\" data-count=\"(\\d+)\"").matcher(dom);
        assertThat(m.find()).as("owner row for " + owner + " in\n" + dom).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
