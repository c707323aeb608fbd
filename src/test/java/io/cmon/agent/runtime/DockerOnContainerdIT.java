package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;
import io.cmon.testing.DockerCli;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * dockerd runs its containers in containerd's namespace {@code moby}: with both sources following a private dockerd
 * and its own containerd, a Docker container is one instance, in Docker's view.
 */
class DockerOnContainerdIT {

    private static final AgentConfig.Labels LABELS = new AgentConfig.Labels(null, null, null);

    private PrivateDockerd dockerd;
    private Vertx vertx;
    private DockerSource docker;
    private ContainerdSource containerd;
    private final InstanceInventory inventory = new InstanceInventory();

    @BeforeEach
    void start() throws Exception {
        dockerd = new PrivateDockerd();
        dockerd.start();
        dockerd.loadBusybox();
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        docker = new DockerSource(vertx, dockerd.socket.toString(), LABELS, null);
        // dockerd's own containerd: its socket is under dockerd's exec root
        containerd = new ContainerdSource(new AgentConfig.Containerd(
                dockerd.dir.resolve("exec/containerd/containerd.sock").toString(), List.of()),
                LABELS, null, new AgentConfig.Kubernetes(null));
        docker.start(inventory);
        containerd.start(inventory);
        await().atMost(Duration.ofSeconds(60)).until(() -> docker.up() && containerd.up());
    }

    @AfterEach
    void stop() throws Exception {
        if (containerd != null) containerd.close();
        if (docker != null) docker.close();
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().join();
        dockerd.close();
    }

    @Test
    void aDockerContainerThatContainerdReportsTooIsOneInstanceInDockersView() throws Exception {
        String uuid = UUID.randomUUID().toString();
        String id = dockerd.cli.runDetached(List.of("--label", "cmon.uuid=" + uuid, "--label", "cmon.owner=alice"),
                "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(uuid).isPresent());
        containerd.refresh().toCompletableFuture().get(30, TimeUnit.SECONDS); // containerd has reported moby/<id>

        assertThat(inventory.snapshot().instances()).singleElement().satisfies(i -> {
            assertThat(i.uuid()).isEqualTo(uuid);
            assertThat(i.source()).isEqualTo("docker");
            assertThat(i.owner()).isEqualTo("alice");
        });
        assertThat(inventory.byUuid(DockerCli.uuidOf(id))).isEmpty(); // containerd's uuid for it: the id's
        assertThat(inventory.conflicts()).isEmpty();
        assertThat(containerd.health().eventsSeen()).isPositive();

        dockerd.cli.run("rm", "-f", id);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.snapshot().instances().isEmpty());
        containerd.refresh().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(inventory.snapshot().instances()).isEmpty();
    }
}
