package io.cmon.proxy;

import io.cmon.config.HostPort;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.AgentWatcher;
import io.cmon.proxy.inventory.FleetInventory;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.Commands;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A proxy's long-poll lasts five minutes, so an agent whose host vanishes (powered off, cable pulled: no FIN, no
 * RST) says nothing for that long: the proxy must notice it by TCP keep-alive ({@link AgentWatcher.KeepAlive}). The
 * real agent runs in a network namespace this test creates, reached over a veth pair on link-local addresses;
 * taking the namespace's end of the link down makes the agent silent without closing anything, as a vanished host
 * is. The watcher's client has short keep-alive times (1 s idle, 1 s between probes, 2 probes) so the test takes
 * seconds: the product's are 30 s / 10 s / 3, and the mechanism is the same.
 */
class AgentKeepAliveIT {

    static final String HOST_ADDRESS = "169.254.213.1";
    static final String AGENT_ADDRESS = "169.254.213.2";
    static final String UUID = "5e1f0000-0000-4000-8000-00000000ca11";
    /** Long-polls as long as the product's: without keep-alive, nothing would be noticed for 310 s. */
    static final AgentWatcher.Timing PRODUCT_POLLS = new AgentWatcher.Timing(Duration.ofSeconds(300),
            Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofMillis(100));
    static final AgentWatcher.KeepAlive SHORT = new AgentWatcher.KeepAlive(Duration.ofSeconds(1),
            Duration.ofSeconds(1), 2);

    final String id = Long.toString(ProcessHandle.current().pid() % 100_000);
    final String netns = "cmon-ka-" + id;
    final String hostLink = "cmkah" + id;
    final String agentLink = "cmkan" + id;
    Vertx vertx;
    Process agent;
    Process workload;
    Path dir;
    Path agentLog;
    final List<AgentWatcher> watchers = new ArrayList<>();
    final java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(1)).build();

    static String ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd, Duration.ofSeconds(10));
    }

    @BeforeEach
    void network() throws Exception {
        ip("netns", "add", netns);
        ip("link", "add", hostLink, "type", "veth", "peer", "name", agentLink);
        ip("link", "set", agentLink, "netns", netns);
        ip("addr", "add", HOST_ADDRESS + "/30", "dev", hostLink);
        ip("link", "set", hostLink, "up");
        ip("netns", "exec", netns, "ip", "addr", "add", AGENT_ADDRESS + "/30", "dev", agentLink);
        ip("netns", "exec", netns, "ip", "link", "set", agentLink, "up");
        ip("netns", "exec", netns, "ip", "link", "set", "lo", "up");
        dir = Files.createTempDirectory("cmon-keepalive-it-");
    }

    @AfterEach
    void cleanUp() throws Exception {
        watchers.forEach(AgentWatcher::stop);
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        for (Process p : new Process[] {agent, workload}) {
            if (p != null) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
        if (agentLog != null) System.out.println("agent log:\n" + Files.readString(agentLog));
        ip("netns", "del", netns); // takes the veth pair with it
    }

    /** The real agent inside the namespace, one declared instance, listening on the namespace's address. */
    HostPort startAgentInNamespace() throws Exception {
        workload = new ProcessBuilder("sleep", "600").start();
        Path instances = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + UUID
                + ", alias: ka, owner: alice, pid: " + workload.pid() + "}\n");
        Path config = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "server: {uuid: 00000000-0000-4000-8000-0000000ca11e, hostname: keepalive-it}",
                "insecure: true # plain HTTP off loopback: the address is in this test's own namespace",
                "instancesFile: " + instances, ""));
        agentLog = dir.resolve("agent.log");
        HostPort at = new HostPort(AGENT_ADDRESS, 9164);
        agent = new ProcessBuilder("ip", "netns", "exec", netns, javaBin(), "-jar", AgentProcess.jar().toString(),
                "agent", "--config", config.toString(), "--listen", at.host() + ":" + at.port())
                .redirectErrorStream(true).redirectOutput(agentLog.toFile()).start();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> get("/_ping").statusCode() == 200);
        return at;
    }

    /** A plain GET of the agent in the namespace, on the test's own client (not the watcher's connection). */
    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://" + AGENT_ADDRESS + ":9164" + path))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void anAgentThatFallsSilentMidLongPollIsMarkedDownByKeepAliveAndFollowedAgainWhenItIsBack() throws Exception {
        HostPort at = startAgentInNamespace();
        // the proxy's own set-up (AgentSet): native transport, keep-alive on the client, one connection per agent
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        assertThat(vertx.isNativeTransportEnabled()).as("epoll: keep-alive times need it").isTrue();
        HttpClient client = vertx.createHttpClient(SHORT.applyTo(new HttpClientOptions().setKeepAlive(true)),
                new PoolOptions().setHttp1MaxSize(1));
        FleetInventory fleet = new FleetInventory();
        fleet.agentListUnknown(null);
        AgentWatcher watcher = new AgentWatcher(vertx, vertx.getOrCreateContext(), client, at, fleet,
                PRODUCT_POLLS, System::currentTimeMillis, new SplittableRandom(3));
        watchers.add(watcher);
        watcher.start(Duration.ZERO);
        await().atMost(Duration.ofSeconds(10)).until(() -> fleet.isUp(at) && fleet.instance(UUID).isPresent());
        // the watcher now holds a five-minute long-poll on the link (the agent's own count of waiting polls)
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> get("/metrics").body().contains("\ncmon_agent_long_polls 1.0\n"));

        ip("netns", "exec", netns, "ip", "link", "set", agentLink, "down");
        long cut = System.nanoTime();

        // idle 1 s + 2 probes 1 s apart: ~3 s; a build without keep-alive waits out the 300 s poll and fails here
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> !fleet.isUp(at));
        System.out.printf("silent agent marked down %.1f s after its link went down%n", (System.nanoTime() - cut) / 1e9);
        AgentView down = fleet.agents().get(0);
        assertThat(down.lastError()).startsWith("connection timed out: no answer to TCP keep-alive probes");
        assertThat(fleet.instance(UUID)).as("its instances stay listed while it is down").isPresent();

        ip("netns", "exec", netns, "ip", "link", "set", agentLink, "up");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> fleet.isUp(at));
        assertThat(fleet.agents().get(0).lastError()).isNull();
    }
}
