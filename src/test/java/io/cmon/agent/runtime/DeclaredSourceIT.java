package io.cmon.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** DeclaredSource with real files, real processes and a real v1 cgroup created by the test. */
class DeclaredSourceIT {

    @TempDir
    Path dir;
    private Path file;
    private final InstanceInventory inventory = new InstanceInventory();
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> cgroups = new ArrayList<>();
    private DeclaredSource source;

    @BeforeEach
    void start() {
        file = dir.resolve("instances.yaml");
        source = new DeclaredSource(file, "ops");
        source.start(inventory);
    }

    @AfterEach
    void stop() throws Exception {
        source.close();
        for (Process p : processes) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        for (Path cg : cgroups) {
            Files.deleteIfExists(cg);
        }
    }

    private Process sleep() throws IOException {
        Process p = new ProcessBuilder("sleep", "300").start();
        processes.add(p);
        return p;
    }

    /** Written whole and moved into place, as editors and config management do. */
    private void write(String yaml) throws IOException {
        Path tmp = dir.resolve("instances.yaml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void fileAppearingAndEditedIsPickedUpWithinAPoll() throws Exception {
        Process p = sleep();
        String u1 = UUID.randomUUID().toString();
        String u2 = UUID.randomUUID().toString();
        Thread.sleep(200); // the source has polled the missing file
        assertThat(inventory.snapshot().instances()).isEmpty();

        write("instances:\n  - {uuid: " + u1 + ", alias: db-1, owner: alice, groups: [db], brand: lxc, pid: "
                + p.pid() + "}\n");
        long written = System.nanoTime();
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(u1).isPresent());
        System.out.printf("declared file written → in inventory: %d ms%n", (System.nanoTime() - written) / 1_000_000);
        Instance i = inventory.byUuid(u1).orElseThrow();
        assertThat(i).isEqualTo(new Instance(u1, "db-1", "alice", null, "lxc", List.of("db"), "running", p.pid(),
                null, null, "declared"));

        // edit in place (same inode): alias changes, a second entry appears without an owner
        Files.writeString(file, "instances:\n"
                + "  - {uuid: " + u1 + ", alias: db-renamed, owner: alice, groups: [db], brand: lxc, pid: " + p.pid() + "}\n"
                + "  - {uuid: " + u2 + ", pid: " + p.pid() + "}\n");
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(u2).isPresent()
                        && inventory.byUuid(u1).map(x -> x.alias().equals("db-renamed")).orElse(false));
        assertThat(inventory.byUuid(u2).orElseThrow().owner()).isEqualTo("ops");
        assertThat(inventory.byUuid(u2).orElseThrow().brand()).isEqualTo("declared");

        // the file removed: its instances are forgotten
        Files.delete(file);
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.snapshot().instances().isEmpty());
    }

    @Test
    void processThatExitsTurnsItsInstanceStopped() throws Exception {
        Process p = sleep();
        String u = UUID.randomUUID().toString();
        write("instances:\n  - {uuid: " + u + ", pid: " + p.pid() + "}\n");
        await().atMost(Duration.ofMillis(1500)).until(() -> inventory.byUuid(u).map(Instance::running).orElse(false));

        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(u).map(i -> i.state().equals("stopped")).orElse(false));
        assertThat(inventory.byUuid(u).orElseThrow().pid()).isZero();
    }

    @Test
    void cgroupEntryTakesTheFirstPidOfItsCgroupAsItComesAndGoes() throws Exception {
        String name = "cmon-test-runtime-" + UUID.randomUUID().toString().substring(0, 8);
        Path cg = Path.of("/sys/fs/cgroup/pids", name);
        Files.createDirectory(cg);
        cgroups.add(cg);
        String u = UUID.randomUUID().toString();
        write("instances:\n  - {uuid: " + u + ", alias: demo, cgroup: /" + name + "}\n");
        await().atMost(Duration.ofMillis(1500)).until(() -> inventory.byUuid(u).isPresent());
        assertThat(inventory.byUuid(u).orElseThrow()).extracting(Instance::state, Instance::pid, Instance::cgroup)
                .containsExactly("stopped", 0L, "/" + name);

        Process p = sleep();
        Files.writeString(cg.resolve("cgroup.procs"), Long.toString(p.pid()));
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(u).map(Instance::running).orElse(false));
        assertThat(inventory.byUuid(u).orElseThrow().pid()).isEqualTo(p.pid());

        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofMillis(1500)).pollInterval(Duration.ofMillis(10))
                .until(() -> inventory.byUuid(u).map(i -> i.state().equals("stopped") && i.pid() == 0).orElse(false));
    }

    @Test
    void brokenEditKeepsTheInstancesAndABadEntrySkipsOnlyItself() throws Exception {
        Process p = sleep();
        String u1 = UUID.randomUUID().toString();
        String u2 = UUID.randomUUID().toString();
        write("instances:\n  - {uuid: " + u1 + ", pid: " + p.pid() + "}\n");
        await().atMost(Duration.ofMillis(1500)).until(() -> inventory.byUuid(u1).isPresent());

        write("instances:\n  - {uuid: " + u1 + ", pid: [\n"); // half-written
        Thread.sleep(1300);
        assertThat(inventory.byUuid(u1)).isPresent();

        write("instances:\n  - {uuid: " + u1 + ", pid: " + p.pid() + "}\n  - {uuid: oops, pid: 1}\n"
                + "  - {uuid: " + u2 + ", cgroup: /nonexistent-cmon-test}\n");
        await().atMost(Duration.ofMillis(1500)).until(() -> inventory.byUuid(u2).isPresent());
        assertThat(inventory.snapshot().instances()).extracting(Instance::uuid).containsExactlyInAnyOrder(u1, u2);
    }

    @Test
    void brokenFileAtStartDeclaresNothingAndRefreshRereads() throws Exception {
        source.close();
        Files.writeString(file, "instances: [ {uuid: \n");
        InstanceInventory inv = new InstanceInventory();
        source = new DeclaredSource(file, null);
        source.start(inv);
        source.refresh().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(inv.snapshot().instances()).isEmpty();

        String u = UUID.randomUUID().toString();
        Files.writeString(file, "instances: [ {uuid: " + u + ", pid: 1} ]\n");
        source.refresh().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(inv.byUuid(u)).map(Instance::pid).contains(1L);
    }

    /**
     * Real pid reuse: the declared process exits, then the test makes the kernel give its number to a new process
     * (as root, {@code /proc/sys/kernel/ns_last_pid} = pid - 1, then fork: retried when another process on the
     * machine takes the number first).
     */
    @Test
    void aDeclaredPidReusedByAnotherProcessIsNotServed() throws Exception {
        Process first = sleep();
        long pid = first.pid();
        String u = UUID.randomUUID().toString();
        write("instances:\n  - {uuid: " + u + ", alias: db-1, pid: " + pid + "}\n");
        source.refresh().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(inventory.byUuid(u).map(Instance::pid)).contains(pid);
        first.destroyForcibly().waitFor(5, TimeUnit.SECONDS);

        long reused = -1;
        for (int attempt = 0; attempt < 50 && reused != pid; attempt++) {
            Process sh = new ProcessBuilder("sh", "-c", "echo " + (pid - 1)
                    + " > /proc/sys/kernel/ns_last_pid; sleep 300 </dev/null >/dev/null 2>&1 & echo $!").start();
            reused = Long.parseLong(new String(sh.getInputStream().readAllBytes()).trim());
            sh.waitFor(5, TimeUnit.SECONDS);
            if (reused != pid) new ProcessBuilder("kill", Long.toString(reused)).start().waitFor(5, TimeUnit.SECONDS);
        }
        assertThat(reused).as("the kernel gave pid %d to a new process", pid).isEqualTo(pid);
        try {
            assertThat(Files.readString(Path.of("/proc/" + pid + "/cmdline"))).startsWith("sleep");

            source.refresh().toCompletableFuture().get(5, TimeUnit.SECONDS); // a whole scan with the new process

            Instance i = inventory.byUuid(u).orElseThrow();
            assertThat(i.state()).isEqualTo("stopped");
            assertThat(i.pid()).isZero();
        } finally {
            new ProcessBuilder("kill", Long.toString(pid)).start().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
