package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The Docker source outlives its daemon: a private dockerd is killed and started again under it. */
class DockerRestartIT {

    private PrivateDockerd dockerd;
    private Vertx vertx;
    private DockerSource source;
    private final InstanceInventory inventory = new InstanceInventory();

    @BeforeEach
    void start() throws Exception {
        dockerd = new PrivateDockerd();
        dockerd.start();
        dockerd.loadBusybox();
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        source = new DockerSource(vertx, dockerd.socket.toString(), new AgentConfig.Labels(null, null, null), null);
        source.start(inventory);
    }

    @AfterEach
    void stop() throws Exception {
        if (source != null) {
            source.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().join();
        }
        dockerd.close();
    }

    private boolean matchesDaemon(String uuid, String id) {
        String[] stateAndPid = dockerd.cli.run("inspect", "--format", "{{.State.Status}} {{.State.Pid}}", id).split(" ");
        return inventory.byUuid(uuid)
                .map(i -> i.state().equals(stateAndPid[0]) && i.pid() == Long.parseLong(stateAndPid[1]))
                .orElse(false);
    }

    @Test
    void inventoryRecoversByItselfWhenTheDaemonIsKilledAndStartedAgain() throws Exception {
        String always = UUID.randomUUID().toString();
        String once = UUID.randomUUID().toString();
        String alwaysId = dockerd.cli.runDetached(List.of("--restart", "always", "--label", "cmon.uuid=" + always),
                "sleep", "300");
        String onceId = dockerd.cli.runDetached(List.of("--label", "cmon.uuid=" + once), "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(always).isPresent() && inventory.byUuid(once).isPresent());
        long pidBefore = inventory.byUuid(always).orElseThrow().pid();

        dockerd.kill();
        Thread.sleep(1_000); // the source notices and backs off while the socket is dead
        assertThat(inventory.byUuid(always)).isPresent(); // last known state is kept while the daemon is away

        long restarting = System.nanoTime();
        dockerd.start();
        long answering = System.nanoTime();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> matchesDaemon(always, alwaysId) && matchesDaemon(once, onceId));
        System.out.printf("dockerd restarted → answers after %d ms → inventory matches it %d ms later%n",
                (answering - restarting) / 1_000_000, (System.nanoTime() - answering) / 1_000_000);
        Instance back = inventory.byUuid(always).orElseThrow();
        assertThat(back.running()).isTrue();
        assertThat(back.pid()).isNotEqualTo(pidBefore);

        // the event stream is followed again: new containers and removals show within a second
        String fresh = UUID.randomUUID().toString();
        dockerd.cli.runDetached(List.of("--label", "cmon.uuid=" + fresh), "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(fresh).isPresent());
        dockerd.cli.run("rm", "-f", onceId);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(once).isEmpty());
    }

    @Test
    void containerRemovedWhileTheSourceWasDisconnectedIsForgottenOnReconnect() throws Exception {
        String uuid = UUID.randomUUID().toString();
        String id = dockerd.cli.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).until(() -> inventory.byUuid(uuid).isPresent());

        dockerd.kill();
        dockerd.start();
        dockerd.cli.run("rm", "-f", id);

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> inventory.byUuid(uuid).isEmpty());
    }
}
