package io.cmon.agent.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The declared source's own health: what an operator sees in /v1/instances' sources and cmon_agent_source_*. */
class DeclaredSourceHealthTest {

    static final String U1 = "6f1c2a3b-0000-4000-8000-000000000001";
    @TempDir
    Path dir;
    private DeclaredSource source;

    private DeclaredSource start(Path file) throws Exception {
        Files.createDirectories(dir.resolve("cgroup/pids"));
        Files.writeString(dir.resolve("cgroup/pids/cgroup.procs"), "1\n");
        source = new DeclaredSource(file, null, dir.resolve("proc"), dir.resolve("cgroup"), Duration.ofMillis(20));
        source.start(new InstanceInventory());
        return source;
    }

    @AfterEach
    void stop() {
        if (source != null) source.close();
    }

    @Test
    void missingFileIsDownWithItsNameAndPollsCountAsResyncs() throws Exception {
        Path file = dir.resolve("instances.yaml");
        start(file);

        await().atMost(Duration.ofSeconds(5)).until(() -> source.health().resyncs() >= 3);
        SourceHealth h = source.health();
        assertThat(h.name()).isEqualTo("declared");
        assertThat(h.up()).isFalse();
        assertThat(h.lastError()).isEqualTo(file + ": no such file");
        assertThat(h.eventsSeen()).isZero();

        Files.writeString(file, "instances:\n  - {uuid: " + U1 + ", lxc: web-1}\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> source.health().up());
    }

    @Test
    void fileThatIsNotYamlIsDownAndABadEntryIsTheLastError() throws Exception {
        Path file = Files.writeString(dir.resolve("instances.yaml"), "instances: [\n");
        start(file);

        await().atMost(Duration.ofSeconds(5)).until(() -> source.health().lastError() != null);
        assertThat(source.health().up()).isFalse();
        assertThat(source.health().lastError()).startsWith(file + ": not valid YAML");

        Files.writeString(file, "instances:\n  - {uuid: " + U1 + ", pid: 42, lxc: web-1}\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> source.health().up());
        assertThat(source.health().lastError()).isEqualTo(file + ": instances[0]: 'pid' and 'lxc' both say which"
                + " processes it is; give only one of 'pid', 'cgroup', 'lxc', 'nspawn'; entry skipped");
    }

    @Test
    void namedInstanceThatCannotBeLookedUpIsTheLastErrorOnceAndTheSourceStaysUp() throws Exception {
        Path file = Files.writeString(dir.resolve("instances.yaml"), "instances:\n  - {uuid: " + U1
                + ", lxc: web-1}\n");
        start(file);
        Files.delete(dir.resolve("cgroup/pids/cgroup.procs")); // no hierarchy left to look in

        await().atMost(Duration.ofSeconds(5)).until(() -> source.health().lastError() != null);
        assertThat(source.health().lastError()).contains("cannot look up lxc container 'web-1' (instance " + U1,
                "no cgroup hierarchy under " + dir.resolve("cgroup"));
        assertThat(source.health().up()).isTrue(); // the file is fine; the instance is reported stopped
    }
}
