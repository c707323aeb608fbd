package io.cmon.agent.runtime;

import io.cmon.testing.AgentProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real {@code systemd-nspawn} container declared by name ({@code nspawn: NAME}). This host has no systemd as PID 1,
 * so no machined registers it: the test makes the cgroup machined would ({@code /machine.slice/machine-NAME.scope},
 * NAME unit-escaped) and starts {@code systemd-nspawn --register=no --keep-unit} inside it. What is real: nspawn, its
 * supervisor process beside the container's init in that cgroup, the pid namespace; what is not: who made the cgroup.
 */
class NspawnDeclaredIT {

    static final List<String> CONTROLLERS = List.of("pids", "cpu", "cpuacct", "memory");
    private final String name = "cmon-ns-" + UUID.randomUUID().toString().substring(0, 6);
    private final String marker = "cmon-nspawn-payload-" + UUID.randomUUID().toString().substring(0, 8);
    private final List<Path> created = new ArrayList<>();
    private Path dir;
    private Process nspawn;

    @BeforeEach
    void rootAndCgroup() throws IOException {
        dir = Files.createTempDirectory("cmon-nspawn-it-");
        Path root = dir.resolve("root");
        for (String d : List.of("bin", "usr", "etc", "proc", "sys", "dev", "tmp", "run", "var")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        for (String applet : List.of("sh", "sleep", "true")) {
            Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        Files.writeString(root.resolve("etc/os-release"), "ID=busybox\n"); // nspawn wants an OS tree
        for (String c : CONTROLLERS) {
            Path slice = Path.of("/sys/fs/cgroup", c, "machine.slice");
            if (!Files.isDirectory(slice)) {
                Files.createDirectory(slice);
                created.add(slice);
            }
            Path scope = slice.resolve("machine-" + NamedInstances.unitEscape(name) + ".scope");
            Files.createDirectory(scope);
            created.add(scope);
        }
    }

    /** nspawn in the scope (the shell joins it, then execs nspawn); its payload loops with the marker in argv. */
    private void startNspawn() throws IOException {
        StringBuilder join = new StringBuilder();
        for (String c : CONTROLLERS) {
            join.append("echo $$ > '/sys/fs/cgroup/").append(c).append("/machine.slice/machine-")
                    .append(NamedInstances.unitEscape(name)).append(".scope/cgroup.procs'; "); // '\x2d' stays literal
        }
        nspawn = new ProcessBuilder("sh", "-c", join + "exec systemd-nspawn --register=no --keep-unit -q -D "
                + dir.resolve("root") + " -M " + name + " /bin/sh -c 'while :; do sleep 1; done; : " + marker + "'")
                .redirectErrorStream(true).redirectOutput(dir.resolve("nspawn-" + System.nanoTime() + ".log").toFile())
                .start();
    }

    /**
     * The container's init as the host sees it: nspawn's descendant that runs busybox with the marker in
     * its arguments (nspawn's short-lived outer child has the marker too, but runs nspawn; the payload's sleeps run
     * busybox without it).
     */
    private long payloadPid() {
        return nspawn.descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/bin/busybox")).orElse(false))
                .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains(marker)).orElse(false))
                .mapToLong(ProcessHandle::pid).min().orElse(0);
    }

    private void stopNspawn() throws InterruptedException {
        nspawn.descendants().forEach(ProcessHandle::destroyForcibly);
        nspawn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void cleanup() throws Exception {
        if (nspawn != null) stopNspawn();
        for (int i = created.size() - 1; i >= 0; i--) {
            Path cg = created.get(i);
            for (int attempt = 0; attempt < 50 && Files.exists(cg); attempt++) {
                try {
                    Files.delete(cg); // EBUSY until the killed processes are reaped
                } catch (IOException busy) {
                    Thread.sleep(100);
                }
            }
        }
    }

    @Test
    void containerDeclaredByNameIsItsPidNamespaceInitNotNspawnAndKeepsItsUuidAcrossRestart() throws Exception {
        String uuid = UUID.randomUUID().toString();
        Path instances = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + uuid
                + ", owner: alice, nspawn: " + name + "}\n");
        InstanceInventory inventory = new InstanceInventory();
        DeclaredSource source = new DeclaredSource(instances, null);
        Path config = Files.writeString(dir.resolve("agent.yaml"),
                "server: {uuid: 00000000-0000-4000-8000-0000000005a0, hostname: nspawn-it}\ninstancesFile: "
                        + instances + "\n");
        try (AgentProcess agent = AgentProcess.start(config)) {
            source.start(inventory);
            startNspawn();
            await().atMost(Duration.ofSeconds(20)).until(() -> payloadPid() > 0);
            long first = payloadPid();

            await().atMost(Duration.ofSeconds(3)).until(() -> inventory.byUuid(uuid)
                    .map(i -> i.running() && i.pid() == first).orElse(false));
            Instance i = inventory.byUuid(uuid).orElseThrow();
            assertThat(i.cgroup()).isEqualTo("/machine.slice/machine-" + NamedInstances.unitEscape(name) + ".scope");
            assertThat(i.brand()).isEqualTo("nspawn");
            assertThat(i.pid()).as("not nspawn's supervisor").isNotEqualTo(nspawn.pid());
            await().atMost(Duration.ofSeconds(3)).until(() -> agent.get("/v1/" + uuid + "/metrics").statusCode() == 200);
            HttpResponse<String> metrics = agent.get("/v1/" + uuid + "/metrics");
            assertThat(metrics.body()).contains("cpu_user_usage ", "cpu_metrics_available_boolean 1.0");

            stopNspawn();
            await().atMost(Duration.ofSeconds(3)).until(() -> inventory.byUuid(uuid)
                    .map(x -> x.state().equals("stopped")).orElse(false));

            startNspawn();
            await().atMost(Duration.ofSeconds(20)).until(() -> payloadPid() > 0);
            long second = payloadPid();
            await().atMost(Duration.ofSeconds(3)).until(() -> inventory.byUuid(uuid)
                    .map(x -> x.running() && x.pid() == second).orElse(false));
            assertThat(second).isNotEqualTo(first);
        } finally {
            source.close();
        }
    }
}
