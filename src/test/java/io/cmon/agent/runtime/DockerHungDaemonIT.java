package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;
import io.cmon.testing.DockerCli;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Finding 7 of issue 9: a Docker daemon that accepts connections and never answers must not wedge the agent's
 * Docker source. Two kinds of hung daemon, both real sockets: a unix socket whose server accepts and never reads
 * (a daemon hung from the start), and socat relaying to the real dockerd, then stopped with SIGSTOP (a daemon that
 * hangs while followed: the event stream just goes silent), then continued.
 */
class DockerHungDaemonIT {

    static final DockerSource.Timing FAST = new DockerSource.Timing(Duration.ofSeconds(1), Duration.ofSeconds(1),
            Duration.ofSeconds(60));
    static final DockerCli DOCKER = new DockerCli("hungdaemon");

    @TempDir
    Path dir;
    Vertx vertx;
    DockerSource source;
    Process socat;
    ServerSocketChannel hung;
    final List<SocketChannel> held = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (source != null) source.close();
        if (socat != null) {
            signal("CONT");
            signal("KILL");
            socat.waitFor(5, TimeUnit.SECONDS);
        }
        if (hung != null) hung.close();
        for (SocketChannel c : held) c.close();
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        DOCKER.removeAll();
    }

    /** A unix socket server that accepts every connection and never reads or writes. */
    void hungServer(Path socket) throws IOException {
        hung = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        hung.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(() -> {
            try {
                while (true) held.add(hung.accept());
            } catch (IOException closed) {
                // the test is over
            }
        }, "hung-dockerd");
        t.setDaemon(true);
        t.start();
    }

    /** socat relaying {@code socket} to the real dockerd, in a process group of its own (setsid) for SIGSTOP. */
    void relay(Path socket) throws Exception {
        socat = new ProcessBuilder("setsid", "socat", "UNIX-LISTEN:" + socket + ",fork",
                "UNIX-CONNECT:/var/run/docker.sock").redirectErrorStream(true)
                .redirectOutput(dir.resolve("socat.log").toFile()).start();
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(socket));
    }

    void signal(String sig) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + sig, "--", "-" + socat.pid()).start();
        assertThat(kill.waitFor(5, TimeUnit.SECONDS)).isTrue();
    }

    DockerSource source(Path socket, InstanceInventory inventory) {
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        source = new DockerSource(vertx, socket.toString(), new AgentConfig.Labels(null, null, null), null, FAST);
        source.start(inventory);
        return source;
    }

    @Test
    void aDaemonThatNeverAnswersLeavesTheSourceDownRetryingAndRefreshFailsAtItsDeadline() throws Exception {
        Path socket = dir.resolve("docker.sock");
        hungServer(socket);
        InstanceInventory inventory = new InstanceInventory();
        source(socket, inventory);

        long start = System.nanoTime();
        assertThatThrownBy(() -> source.refresh().toCompletableFuture().get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasMessageContaining("timeout");
        double ms = (System.nanoTime() - start) / 1e6;

        assertThat(ms).isBetween(900.0, 5000.0); // the call deadline is 1 s
        assertThat(source.up()).isFalse();
        assertThat(source.health().up()).isFalse();
        assertThat(source.health().lastError()).as("the operator sees why").contains("imeout");
        // not wedged: it keeps reconnecting (/_ping, then again after its backoff)
        await().atMost(Duration.ofSeconds(10)).until(() -> held.size() >= 3);
        assertThat(source.up()).isFalse();
    }

    @Test
    void aDaemonThatHangsWhileFollowedIsReportedDownAndFollowedAgainWhenItAnswers() throws Exception {
        Path socket = dir.resolve("relay.sock");
        relay(socket);
        InstanceInventory inventory = new InstanceInventory();
        source(socket, inventory);
        await().atMost(Duration.ofSeconds(15)).until(source::up);
        String uuid = UUID.randomUUID().toString();
        DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        await().atMost(Duration.ofSeconds(5)).until(() -> inventory.byUuid(uuid).isPresent());

        signal("STOP"); // the daemon (as the agent sees it) hangs: no answer, no event, no close
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> !source.up());
        double downAfterMs = (System.nanoTime() - stopped) / 1e6;
        assertThatThrownBy(() -> source.refresh().toCompletableFuture().get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
        assertThat(inventory.byUuid(uuid)).as("a hung daemon keeps the last known instances").isPresent();

        signal("CONT");
        await().atMost(Duration.ofSeconds(20)).until(source::up);
        DOCKER.removeAll(); // followed again: the removal reaches the inventory
        await().atMost(Duration.ofSeconds(10)).until(() -> inventory.byUuid(uuid).isEmpty());
        System.out.printf("hung daemon detected after %.0f ms (ping every 1 s, call deadline 1 s)%n", downAfterMs);
    }

    @Test
    void anAgentWhoseDockerNeverAnswersStartsServesAndReportsTheSourceDown() throws Exception {
        Path socket = dir.resolve("agent-docker.sock");
        hungServer(socket);
        AgentConfig config = new AgentConfig("127.0.0.1:0", null, new AgentConfig.Docker(socket.toString()), null,
                null, null, null, false, null);
        try (io.cmon.agent.Agent agent = io.cmon.agent.Agent.start(config,
                new io.cmon.agent.ServerIdentity("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-hung"), "test")) {
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + agent.address().port();
            java.util.function.Function<String, java.net.http.HttpResponse<String>> get = path -> {
                try {
                    return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + path))
                            .timeout(Duration.ofSeconds(20)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };

            assertThat(get.apply("/_ping").statusCode()).isEqualTo(200);
            assertThat(get.apply("/v1/instances").statusCode()).isEqualTo(200);
            long start = System.nanoTime();
            java.net.http.HttpResponse<String> refresh = http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(base + "/v1/refresh")).timeout(Duration.ofSeconds(40))
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            double s = (System.nanoTime() - start) / 1e9;
            assertThat(refresh.statusCode()).isEqualTo(503);
            assertThat(refresh.body()).startsWith("refresh failed: docker: ");
            assertThat(s).isLessThan(15); // the default call deadline is 10 s
            assertThat(get.apply("/metrics").body()).contains("cmon_agent_source_up{source=\"docker\"} 0.0");
            System.out.printf("refresh against a hung dockerd answered 503 after %.1f s%n", s);
        }
    }
}
