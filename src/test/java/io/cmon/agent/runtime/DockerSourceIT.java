package io.cmon.agent.runtime;

import io.cmon.testing.DockerCli;
import io.cmon.config.AgentConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** DockerSource against the shared dockerd on /var/run/docker.sock, with real containers. */
class DockerSourceIT {

    private static final DockerCli DOCKER = new DockerCli("runtime");
    private static Vertx vertx;
    private static InstanceInventory inventory;
    private static DockerSource source;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        inventory = new InstanceInventory();
        source = new DockerSource(vertx, "/var/run/docker.sock", new AgentConfig.Labels(null, null, null), null);
        source.start(inventory);
        source.refresh().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        source.close();
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    @AfterEach
    void removeContainers() {
        DOCKER.removeAll();
    }

    @Test
    void startedContainerIsKnownWithinOneSecondWithItsLabels() {
        String uuid = UUID.randomUUID().toString();
        String name = "cmon-rt-" + uuid.substring(0, 8);
        String id = DOCKER.runDetached(List.of("--name", name, "--label", "cmon.uuid=" + uuid.toUpperCase(),
                "--label", "cmon.owner=alice", "--label", "cmon.groups= web, db,,web"), "sleep", "300");
        long returned = System.nanoTime();

        // the create event may show it as "created" first; docker run returns once it is started
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(Instance::running).orElse(false));
        System.out.printf("docker run returned → running in inventory: %d ms%n", (System.nanoTime() - returned) / 1_000_000);

        Instance i = inventory.byUuid(uuid).orElseThrow();
        String image = DOCKER.run("inspect", "--format", "{{.Image}}", id);
        String pid = DOCKER.run("inspect", "--format", "{{.State.Pid}}", id);
        String upper = DOCKER.run("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", id);
        assertThat(i.alias()).isEqualTo(name);
        assertThat(i.owner()).isEqualTo("alice");
        assertThat(i.groups()).containsExactly("web", "db");
        assertThat(i.image()).isEqualTo(image.substring("sha256:".length()));
        assertThat(i.brand()).isEqualTo("docker");
        assertThat(i.state()).isEqualTo("running");
        assertThat(i.pid()).isEqualTo(Long.parseLong(pid)).isPositive();
        assertThat(i.rootfs()).isEqualTo(upper).isNotBlank();
        assertThat(i.cgroup()).isNull();
        assertThat(i.source()).isEqualTo("docker");
        assertThat(i.running()).isTrue();
    }

    @Test
    void healthCountsEventsAndResyncsWithNoErrorWhileTheDaemonAnswers() {
        SourceHealth before = source.health();
        DOCKER.runDetached(List.of(), "sleep", "300");

        await().atMost(Duration.ofSeconds(2)).until(() -> source.health().eventsSeen() > before.eventsSeen());
        source.refresh().toCompletableFuture().join();
        SourceHealth after = source.health();
        assertThat(after.name()).isEqualTo("docker");
        assertThat(after.up()).isTrue();
        assertThat(after.lastError()).isNull();
        assertThat(after.resyncs()).isGreaterThan(before.resyncs()).isGreaterThanOrEqualTo(2); // start + refresh
    }

    @Test
    void unlabelledContainerTakesItsUuidFromItsIdAndHasNoOwner() {
        String id = DOCKER.runDetached(List.of(), "sleep", "300");
        String uuid = id.substring(0, 8) + "-" + id.substring(8, 12) + "-" + id.substring(12, 16) + "-"
                + id.substring(16, 20) + "-" + id.substring(20, 32);

        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).isPresent());
        Instance i = inventory.byUuid(uuid).orElseThrow();
        assertThat(i.owner()).isNull();
        assertThat(i.groups()).isEmpty();
        assertThat(i.alias()).isEqualTo(DOCKER.run("inspect", "--format", "{{.Name}}", id).substring(1));
    }

    @Test
    void invalidUuidLabelFallsBackToTheContainerId() {
        String id = DOCKER.runDetached(List.of("--label", "cmon.uuid=not-a-uuid"), "sleep", "300");
        String uuid = ContainerMapping.uuidOfContainerId(id);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).isPresent());
    }

    @Test
    void stoppedContainerStaysKnownAsExitedWithoutPid() {
        String uuid = UUID.randomUUID().toString();
        String id = DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(Instance::running).orElse(false));

        DOCKER.run("stop", "-t", "0", id);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(i -> "exited".equals(i.state())).orElse(false));
        assertThat(inventory.byUuid(uuid).orElseThrow().pid()).isZero();

        DOCKER.run("start", id);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(Instance::running).orElse(false));
    }

    @Test
    void pausedContainerShowsPausedAndRenamedContainerItsNewAlias() {
        String uuid = UUID.randomUUID().toString();
        String id = DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid, "--name", "cmon-rt-old-" + uuid.substring(0, 8)),
                "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).until(() -> inventory.byUuid(uuid).isPresent());

        DOCKER.run("pause", id);
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(i -> "paused".equals(i.state())).orElse(false));
        DOCKER.run("rename", id, "cmon-rt-new-" + uuid.substring(0, 8));
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).map(i -> i.alias().equals("cmon-rt-new-" + uuid.substring(0, 8)))
                        .orElse(false));
    }

    @Test
    void removedContainerIsForgottenWithinOneSecondAndListenersHear() {
        String uuid = UUID.randomUUID().toString();
        String id = DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        await().atMost(Duration.ofSeconds(1)).until(() -> inventory.byUuid(uuid).isPresent());
        java.util.Set<String> removed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        inventory.addRemovalListener(removed::add);

        DOCKER.run("rm", "-f", id);
        long returned = System.nanoTime();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> inventory.byUuid(uuid).isEmpty());
        System.out.printf("docker rm returned → gone: %d ms%n", (System.nanoTime() - returned) / 1_000_000);
        assertThat(removed).contains(uuid);
        assertThat(inventory.snapshot().instances()).extracting(Instance::uuid).doesNotContain(uuid);
    }

    @Test
    void longPollWakesWhenAContainerStarts() throws Exception {
        long generation = inventory.snapshot().generation();
        var change = inventory.changedAfter(generation);
        String uuid = UUID.randomUUID().toString();
        DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        InstanceInventory.Snapshot s = change.get(1, TimeUnit.SECONDS);
        assertThat(s.generation()).isGreaterThan(generation);
    }

    @Test
    void refreshCompletesWithTheCurrentListInTheInventory() throws Exception {
        String uuid = UUID.randomUUID().toString();
        DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid), "sleep", "300");
        source.refresh().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(inventory.byUuid(uuid)).isPresent();
    }

    @Test
    void twoContainersLabelledWithOneUuidAreServedToNobodyUntilOneIsRemoved() {
        String uuid = UUID.randomUUID().toString();
        String alice = DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid, "--label", "cmon.owner=alice"),
                "sleep", "300");
        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.byUuid(uuid).isPresent());

        String bob = DOCKER.runDetached(List.of("--label", "cmon.uuid=" + uuid, "--label", "cmon.owner=bob"),
                "sleep", "300");

        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.byUuid(uuid).isEmpty());
        assertThat(inventory.conflicts()).filteredOn(c -> c.uuid().equals(uuid)).singleElement()
                .satisfies(c -> assertThat(c.claimants()).hasSize(2)
                        .anyMatch(d -> d.contains(alice.substring(0, 12))).anyMatch(d -> d.contains(bob.substring(0, 12))));
        // a full resync sees both too: still nobody's
        source.refresh().toCompletableFuture().join();
        assertThat(inventory.byUuid(uuid)).isEmpty();

        DOCKER.remove(bob);

        await().atMost(Duration.ofSeconds(2)).until(() -> inventory.byUuid(uuid).isPresent());
        assertThat(inventory.byUuid(uuid).orElseThrow().owner()).isEqualTo("alice");
        assertThat(inventory.conflicts()).noneMatch(c -> c.uuid().equals(uuid));
    }
}
