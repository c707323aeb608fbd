package io.cmon.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A declared pid is tied to its process's start time. Here the process table is a directory written by the test
 * (the source's {@code procRoot} seam), so that "the same pid, another process" can be staged exactly; the real
 * kernel version of the same story is {@code DeclaredSourceIT#aDeclaredPidReusedByAnotherProcessIsNotServed}.
 */
class DeclaredPidIdentityTest {

    static final String U = "6f1c2a3b-0000-4000-8000-000000000001";

    @TempDir
    Path dir;
    DeclaredSource source;

    @AfterEach
    void stop() {
        if (source != null) source.close();
    }

    /** A stat line as the kernel writes it, with a command that holds ") " to trip naive parsers. */
    static String stat(long pid, long startTime) {
        return pid + " (evil) 1 2 3) S 1 " + pid + " " + pid + " 0 -1 4194560 500 0 0 0 10 5 0 0 20 0 1 0 "
                + startTime + " 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    }

    void process(Path proc, long pid, long startTime) throws Exception {
        Files.createDirectories(proc.resolve(Long.toString(pid)));
        Files.writeString(proc.resolve(Long.toString(pid)).resolve("stat"), stat(pid, startTime));
    }

    @Test
    void startTimeIsField22CountedAfterTheLastParenthesis() {
        assertThat(DeclaredSource.startTimeOf(stat(4242, 987654))).isEqualTo(OptionalLong.of(987654));
        assertThat(DeclaredSource.startTimeOf("4242 (sleep) S 1 4242")).isEmpty();
        assertThat(DeclaredSource.startTimeOf("garbage")).isEmpty();
    }

    @Test
    void aPidWhoseProcessChangedIsNotServedUntilTheFileChanges() throws Exception {
        Path proc = Files.createDirectories(dir.resolve("proc"));
        Path file = dir.resolve("instances.yaml");
        process(proc, 4242, 1000);
        Files.writeString(file, "instances:\n  - {uuid: " + U + ", alias: db-1, pid: 4242}\n");
        InstanceInventory inventory = new InstanceInventory();
        source = new DeclaredSource(file, null, proc, dir.resolve("cgroup"), Duration.ofHours(1)); // polls: by hand
        source.start(inventory);
        source.refresh().toCompletableFuture().get();
        assertThat(inventory.byUuid(U)).map(Instance::pid).contains(4242L);

        process(proc, 4242, 2000); // the process exited and the kernel gave 4242 to another one
        source.refresh().toCompletableFuture().get();

        assertThat(inventory.byUuid(U)).map(Instance::state).contains("stopped");
        assertThat(inventory.byUuid(U)).map(Instance::pid).contains(0L);

        // the operator re-declares it (the file changes): bound to the process that has the pid now
        Files.writeString(file, "instances:\n  - {uuid: " + U + ", alias: db-1, pid: 4242, brand: lxc}\n");
        source.refresh().toCompletableFuture().get(); // a refresh re-reads the file; only a change re-binds
        assertThat(inventory.byUuid(U)).map(Instance::pid).contains(4242L);
    }
}
