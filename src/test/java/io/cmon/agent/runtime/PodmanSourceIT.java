package io.cmon.agent.runtime;

import io.cmon.api.InstancesPage;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import io.cmon.testing.PodmanService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rootful Podman for real: the agent jar as a process follows Podman's Docker-compatible API ({@code podman system
 * service} on this test's own socket, the agent's {@code podman:} key) on this cgroup v1 host, where Podman (cgroupfs
 * manager) puts a container in {@code /libpod_parent/libpod-<id>} of every hierarchy.
 */
class PodmanSourceIT {

    static final Duration ONE_SECOND = Duration.ofSeconds(1);
    static PodmanService podman;
    static AgentProcess agent;

    @BeforeAll
    static void start() throws Exception {
        podman = PodmanService.start("podmanit");
        Path dir = Files.createTempDirectory("cmon-podman-it-");
        Path config = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "server: {uuid: 00000000-0000-4000-8000-0000000090d4, hostname: podman-it}",
                "podman: {socket: " + podman.socket() + "}", ""));
        agent = AgentProcess.start(config);
        await().atMost(Duration.ofSeconds(10)).until(() -> source().map(InstancesPage.Source::up).orElse(false));
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.stop();
            System.out.println("agent log:\n" + agent.logText());
        }
        if (podman != null) podman.close();
    }

    @AfterEach
    void removeContainers() {
        podman.removeAll();
    }

    static Optional<InstancesPage.Source> source() throws IOException, InterruptedException {
        return agent.instances().server().sources().stream().filter(s -> s.name().equals("podman")).findFirst();
    }

    @Test
    void containerLabelledForAliceIsListedWithinOneSecondWithOwnerAliasAndBrandPodman() throws Exception {
        String name = "cmon-podman-" + UUID.randomUUID().toString().substring(0, 8);
        String id = podman.runDetached(List.of("--name", name, "--label", "cmon.owner=alice",
                "--label", "cmon.groups=web,db"), "sleep", "300");
        long returned = System.nanoTime();
        String uuid = DockerCli.uuidOf(id);

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.listed(uuid).map(e -> e.state().equals("running")).orElse(false));
        System.out.printf("podman run returned → listed running: %d ms%n", (System.nanoTime() - returned) / 1_000_000);

        InstancesPage.Entry e = agent.listed(uuid).orElseThrow();
        assertThat(e.vmOwnerUuid()).isEqualTo("alice");
        assertThat(e.vmAlias()).isEqualTo(name);
        assertThat(e.vmBrand()).isEqualTo("podman");
        assertThat(e.groups()).containsExactly("web", "db");
        String image = podman.run("inspect", "--format", "{{.Image}}", id);
        assertThat(e.vmImageUuid()).isEqualTo(image);
    }

    @Test
    void busyContainersCpuUserUsageGrowsFromItsLibpodCgroup() throws Exception {
        String id = podman.runDetached(List.of("--cpus", "0.2", "--label", "cmon.owner=alice"),
                "sh", "-c", "while :; do :; done");
        String uuid = DockerCli.uuidOf(id);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> agent.listed(uuid).isPresent());
        // where Podman put it: the cgroupfs manager's libpod_parent on this v1 host
        String pid = podman.run("inspect", "--format", "{{.State.Pid}}", id);
        assertThat(Files.readString(Path.of("/proc", pid, "cgroup")))
                .contains("cpuacct:/libpod_parent/libpod-" + id);

        double first = AgentProcess.sample(agent.metrics(uuid), "cpu_user_usage");
        Thread.sleep(1500); // > the cpu collector's 1 s TTL
        String second = agent.metrics(uuid);

        double grown = AgentProcess.sample(second, "cpu_user_usage") - first;
        System.out.printf("cpu_user_usage grew %.0f ns over 1.5 s%n", grown);
        assertThat(grown).isGreaterThan(50_000_000); // ≥ 50 ms of the ~300 ms allowed
        assertThat(AgentProcess.sample(second, "cpu_quota_seconds")).isEqualTo(0.02); // --cpus 0.2 of a 100 ms period
        assertThat(second).contains("cpu_metrics_available_boolean 1.0", "mem_agg_usage ");
    }

    @Test
    void removedContainerAnswers404WithinOneSecond() throws Exception {
        String id = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
        String uuid = DockerCli.uuidOf(id);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20)).until(() -> agent.listed(uuid).isPresent());
        assertThat(agent.get("/v1/" + uuid + "/metrics").statusCode()).isEqualTo(200);

        podman.remove(id);
        long removed = System.nanoTime();

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.get("/v1/" + uuid + "/metrics").statusCode() == 404);
        System.out.printf("podman rm returned → 404: %d ms%n", (System.nanoTime() - removed) / 1_000_000);
    }

    @Test
    void stoppedContainerIsReportedExitedAfterPodmansDieEvent() throws Exception {
        String id = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
        String uuid = DockerCli.uuidOf(id);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(uuid).map(e -> e.state().equals("running")).orElse(false));

        podman.run("stop", "-t", "0", id);

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(uuid).map(e -> e.state().equals("exited")).orElse(false));
    }

    @Test
    void inventoryRecoversByItselfWhenTheServiceIsKilledAndStartedAgain() throws Exception {
        String keptId = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
        String goneId = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
        String kept = DockerCli.uuidOf(keptId);
        String gone = DockerCli.uuidOf(goneId);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(kept).isPresent() && agent.listed(gone).isPresent());
        long resyncsBefore = source().orElseThrow().resyncs();

        podman.killService();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> !source().orElseThrow().up());
        assertThat(source().orElseThrow().lastError()).isNotBlank();
        // while the API is away: one container goes, one comes (the CLI works on the store without the service)
        podman.remove(goneId);
        String bornId = podman.runDetached(List.of("--label", "cmon.owner=bob"), "sleep", "300");
        String born = DockerCli.uuidOf(bornId);
        assertThat(agent.listed(gone)).isPresent(); // last known state is kept while the API is away

        long restarting = System.nanoTime();
        podman.startService();
        long answering = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(born).isPresent() && agent.listed(gone).isEmpty() && agent.listed(kept).isPresent()
                        && source().orElseThrow().up());
        System.out.printf("podman service restarted → answers after %d ms → inventory matches %d ms later%n",
                (answering - restarting) / 1_000_000, (System.nanoTime() - answering) / 1_000_000);
        assertThat(agent.listed(born).orElseThrow().vmOwnerUuid()).isEqualTo("bob");
        assertThat(source().orElseThrow().resyncs()).isGreaterThan(resyncsBefore);

        // followed live again
        String freshId = podman.runDetached(List.of("--label", "cmon.owner=alice"), "sleep", "300");
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.listed(DockerCli.uuidOf(freshId)).isPresent());
    }
}
