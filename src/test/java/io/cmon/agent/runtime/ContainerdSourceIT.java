package io.cmon.agent.runtime;

import io.cmon.api.InstancesPage;
import io.cmon.testing.AgentProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The agent (the shaded jar) follows a real containerd of the test's own, as on a Kubernetes node: containers made
 * with {@code ctr} in namespace {@code k8s.io} carry the CRI pod labels a kubelet would give them (no kubelet needed).
 */
class ContainerdSourceIT {

    private static final String NS = "k8s.io";
    private static final Duration ONE_SECOND = Duration.ofSeconds(1);

    private static PrivateContainerd containerd;
    private static AgentProcess agent;
    private final List<String> created = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        containerd = new PrivateContainerd();
        containerd.start();
        containerd.importBusybox(NS);
        Path config = Files.writeString(containerd.dir.resolve("agent.yaml"), String.join("\n",
                "server: {uuid: 00000000-0000-4000-8000-0000000c7d00, hostname: containerd-it}",
                "containerd: {socket: " + containerd.socket + "}", // every namespace: the default
                "kubernetes: {ownerFrom: namespace}",
                ""));
        agent = AgentProcess.start(config);
        // the agent answers before its first listing is done (a cold JVM on a loaded machine takes seconds)
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> health().up());
        // one container followed from start to deletion first: a cold agent on this shared 2-core machine spends
        // seconds loading and compiling the event path once; the bounds below are those of an agent that has run
        String warmId = criId();
        String warm = ContainerMapping.uuidOfContainerId(warmId);
        containerd.runDetached(NS, warmId, podLabels("warm", "up", "c", "warm-up"), "sleep", "300");
        long t1 = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> agent.listed(warm).isPresent());
        long t2 = System.nanoTime();
        containerd.remove(NS, warmId);
        long t3 = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> agent.listed(warm).isEmpty());
        System.out.printf("cold agent: listed %d ms after ctr run returned, forgotten %d ms after deletion%n",
                (t2 - t1) / 1_000_000, (System.nanoTime() - t3) / 1_000_000);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (agent != null) agent.close();
        } finally {
            if (containerd != null) containerd.close();
        }
    }

    @AfterEach
    void removeContainers() throws Exception {
        for (String id : created) {
            try {
                containerd.remove(NS, id);
            } catch (IllegalStateException alreadyGone) {
                // removed by the test itself
            }
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------

    /** A container id as CRI makes them: 64 hex digits. */
    private static String criId() {
        byte[] b = new byte[32];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static List<String> podLabels(String namespace, String pod, String container, String podUid) {
        List<String> labels = new ArrayList<>(List.of(
                "--label", "io.kubernetes.pod.namespace=" + namespace,
                "--label", "io.kubernetes.pod.name=" + pod,
                "--label", "io.kubernetes.pod.uid=" + podUid));
        if (container != null) labels.addAll(List.of("--label", "io.kubernetes.container.name=" + container));
        return labels;
    }

    private String run(String id, List<String> options, String... command) throws Exception {
        created.add(id);
        containerd.runDetached(NS, id, options, command);
        return ContainerMapping.uuidOfContainerId(id);
    }

    private static InstancesPage.Source health() throws IOException, InterruptedException {
        return agent.instances().server().sources().stream().filter(s -> s.name().equals("containerd")).findFirst()
                .orElseThrow();
    }

    // --- tests ---------------------------------------------------------------------------------------------

    @Test
    void podContainerIsListedWithinOneSecondAsAliceWithPodAliasAndItsCpuGrows() throws Exception {
        String podUid = java.util.UUID.randomUUID().toString();
        String sandboxId = criId();
        String sandboxUuid = run(sandboxId, concat(podLabels("alice", "web-0", null, podUid),
                List.of("--label", "io.cri-containerd.kind=sandbox")), "sleep", "300");
        String appId = criId();
        long started = System.nanoTime();
        // a fifth of a CPU: the machine is shared
        String uuid = run(appId, concat(podLabels("alice", "web-0", "app", podUid),
                List.of("--label", "io.cri-containerd.kind=container", "--cpu-quota", "20000",
                        "--cpu-period", "100000")), "sh", "-c", "while :; do :; done");
        long returned = System.nanoTime();

        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> agent.listed(uuid).isPresent());
        System.out.printf("ctr run took %d ms → listed %d ms after it returned%n", (returned - started) / 1_000_000,
                (System.nanoTime() - returned) / 1_000_000);

        InstancesPage.Entry e = agent.listed(uuid).orElseThrow();
        assertThat(e.vmOwnerUuid()).isEqualTo("alice");
        assertThat(e.vmAlias()).isEqualTo("web-0/app");
        assertThat(e.groups()).containsExactly("alice", "web-0");
        assertThat(e.vmBrand()).isEqualTo("containerd");
        assertThat(e.state()).isEqualTo("running");
        assertThat(e.vmImageUuid()).isEqualTo(PrivateContainerd.IMAGE);
        // the pod's sandbox (pause) container started first, and is no instance
        assertThat(agent.listed(sandboxUuid)).isEmpty();
        assertThat(agent.get("/v1/" + sandboxUuid + "/metrics").statusCode()).isEqualTo(404);

        String first = agent.metrics(uuid);
        Thread.sleep(1500); // > the cpu collector's 1 s TTL
        String second = agent.metrics(uuid);
        System.out.printf("cpu_user_usage: %.0f → %.0f ns over 1.5 s%n", AgentProcess.sample(first, "cpu_user_usage"),
                AgentProcess.sample(second, "cpu_user_usage"));
        assertThat(AgentProcess.sample(second, "cpu_user_usage") - AgentProcess.sample(first, "cpu_user_usage")).isGreaterThan(50_000_000);
        assertThat(AgentProcess.sample(second, "cpu_quota_seconds")).isEqualTo(0.02);
        assertThat(health().up()).isTrue();
        assertThat(health().eventsSeen()).isPositive();
    }

    @Test
    void removedContainerAnswers404WithinOneSecond() throws Exception {
        String id = criId();
        String uuid = run(id, podLabels("alice", "job-1", "worker", java.util.UUID.randomUUID().toString()),
                "sleep", "300");
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> agent.listed(uuid).isPresent());
        // the first scrape of a cold agent on a loaded machine may take more than a second: not what is timed here
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> agent.get("/v1/" + uuid + "/metrics").statusCode() == 200);

        containerd.remove(NS, id);
        long removed = System.nanoTime();
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.get("/v1/" + uuid + "/metrics").statusCode() == 404);
        System.out.printf("container deleted → 404: %d ms%n", (System.nanoTime() - removed) / 1_000_000);
        assertThat(agent.listed(uuid)).isEmpty();
    }

    @Test
    void containerdRestartedTheInventoryRecoversByItselfAndHealthShowsItDownMeanwhile() throws Exception {
        String keptId = criId();
        String kept = run(keptId, podLabels("alice", "db-0", "db", java.util.UUID.randomUUID().toString()),
                "sleep", "300");
        String goneId = criId();
        String gone = run(goneId, podLabels("alice", "db-1", "db", java.util.UUID.randomUUID().toString()),
                "sleep", "300");
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10))
                .until(() -> agent.listed(kept).isPresent() && agent.listed(gone).isPresent());
        long resyncsBefore = health().resyncs();

        containerd.kill();
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() -> !health().up());
        InstancesPage.Source down = health();
        System.out.printf("containerd down: %s%n", down);
        assertThat(down.lastError()).contains("UNAVAILABLE");
        assertThat(agent.listed(kept)).isPresent(); // the last known state stays while the daemon is away

        long restarting = System.nanoTime();
        containerd.start();
        long answering = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> health().up());
        System.out.printf("containerd restarted → answers after %d ms → source up %d ms later%n",
                (answering - restarting) / 1_000_000, (System.nanoTime() - answering) / 1_000_000);
        assertThat(health().resyncs()).isGreaterThan(resyncsBefore);
        // the containers ran on under their shims
        assertThat(agent.listed(kept)).map(InstancesPage.Entry::state).contains("running");
        assertThat(agent.get("/v1/" + kept + "/metrics").statusCode()).isEqualTo(200);

        // and the event stream is followed again
        containerd.remove(NS, goneId);
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> agent.listed(gone).isEmpty());
        String freshId = criId();
        String fresh = run(freshId, podLabels("alice", "db-2", "db", java.util.UUID.randomUUID().toString()),
                "sleep", "300");
        await().atMost(ONE_SECOND).pollInterval(Duration.ofMillis(10)).until(() -> agent.listed(fresh).isPresent());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
