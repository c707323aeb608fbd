package io.cmon.agent.runtime;

import io.cmon.api.InstancesPage;
import io.cmon.testing.AgentProcess;
import io.cmon.testing.LxcContainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real LXC container (Debian's lxc, busybox template, no network) declared by name ({@code lxc: NAME}) is found
 * by the agent jar as a process, its metrics are its {@code lxc.payload.NAME} cgroup's, and across
 * {@code lxc-stop}/{@code lxc-start} it stays one instance (same uuid) with the new init pid. The pid is checked on
 * a {@link DeclaredSource} in this JVM reading the same file, since {@code /v1/instances} does not show pids.
 */
class LxcDeclaredIT {

    static final String UUID_ALICE = UUID.randomUUID().toString();
    static LxcContainer lxc;
    static AgentProcess agent;
    static DeclaredSource source;
    static final InstanceInventory inventory = new InstanceInventory();

    @BeforeAll
    static void start() throws Exception {
        lxc = LxcContainer.create("cmon-lxcit");
        lxc.start();
        Path dir = Files.createTempDirectory("cmon-lxc-it-");
        Path instances = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + UUID_ALICE
                + ", owner: alice, groups: [web], lxc: " + lxc.name() + "}\n");
        Path config = Files.writeString(dir.resolve("agent.yaml"), String.join("\n",
                "server: {uuid: 00000000-0000-4000-8000-00000000c0c0, hostname: lxc-it}",
                "instancesFile: " + instances, ""));
        agent = AgentProcess.start(config);
        source = new DeclaredSource(instances, null);
        source.start(inventory);
    }

    @AfterAll
    static void stop() throws Exception {
        if (source != null) source.close();
        if (agent != null) {
            agent.stop();
            System.out.println("agent log:\n" + agent.logText());
        }
        if (lxc != null) lxc.close();
    }

    @Test
    void containerDeclaredByNameHasMetricsAndStaysOneInstanceWithANewPidAcrossStopAndStart() throws Exception {
        long firstPid = lxc.initPid();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(() -> agent.listed(UUID_ALICE).map(e -> e.state().equals("running")).orElse(false));
        InstancesPage.Entry e = agent.listed(UUID_ALICE).orElseThrow();
        assertThat(e.vmAlias()).isEqualTo(lxc.name());
        assertThat(e.vmOwnerUuid()).isEqualTo("alice");
        assertThat(e.vmBrand()).isEqualTo("lxc");
        assertThat(e.groups()).containsExactly("web");
        await().atMost(Duration.ofSeconds(3)).until(() -> inventory.byUuid(UUID_ALICE)
                .map(i -> i.pid() == firstPid).orElse(false));
        assertThat(inventory.byUuid(UUID_ALICE).orElseThrow().cgroup()).isEqualTo("/lxc.payload." + lxc.name());

        // cpu counters are the container's: work done inside (lxc-attach joins its cgroup) shows in them
        double before = AgentProcess.sample(agent.metrics(UUID_ALICE), "cpu_user_usage");
        lxc.attach("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
        Thread.sleep(1100); // > the cpu collector's 1 s TTL
        String after = agent.metrics(UUID_ALICE);
        System.out.printf("cpu_user_usage: %.0f → %.0f ns%n", before, AgentProcess.sample(after, "cpu_user_usage"));
        assertThat(AgentProcess.sample(after, "cpu_user_usage") - before).isGreaterThan(10_000_000);
        assertThat(after).contains("cpu_metrics_available_boolean 1.0", "mem_agg_usage ");

        lxc.stop();
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(UUID_ALICE).map(x -> x.state().equals("stopped")).orElse(false));
        System.out.printf("lxc-stop returned → stopped: %d ms%n", (System.nanoTime() - stopped) / 1_000_000);

        lxc.start();
        long secondPid = lxc.initPid();
        long started = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.listed(UUID_ALICE).map(x -> x.state().equals("running")).orElse(false));
        System.out.printf("lxc-start returned → running: %d ms%n", (System.nanoTime() - started) / 1_000_000);
        await().atMost(Duration.ofSeconds(3)).until(() -> inventory.byUuid(UUID_ALICE)
                .map(i -> i.pid() == secondPid).orElse(false));
        assertThat(secondPid).isNotEqualTo(firstPid).isPositive();
        assertThat(agent.metrics(UUID_ALICE)).contains("cpu_user_usage ");

        InstancesPage.Source health = agent.instances().server().sources().stream()
                .filter(s -> s.name().equals("declared")).findFirst().orElseThrow();
        assertThat(health.up()).isTrue();
        assertThat(health.lastError()).isNull();
        assertThat(health.resyncs()).isGreaterThan(3); // a poll a second
    }
}
