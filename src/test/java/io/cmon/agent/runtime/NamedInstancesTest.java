package io.cmon.agent.runtime;

import io.cmon.agent.runtime.NamedInstances.Found;
import io.cmon.agent.runtime.NamedInstances.Runtime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Finding LXC and nspawn containers by name in cgroup trees laid out as each runtime does (LXC 5's as captured from
 * Debian 12's lxc on this project's v1 host: {@code /lxc.payload.NAME} beside {@code /lxc.monitor.NAME}).
 */
class NamedInstancesTest {

    @TempDir
    Path root;

    private Path proc() {
        return root.resolve("proc");
    }

    private Path cgroups() {
        return root.resolve("cgroup");
    }

    private void process(long pid, String nspid) throws IOException {
        Path dir = Files.createDirectories(proc().resolve(Long.toString(pid)));
        Files.writeString(dir.resolve("status"), "Name:\tx\nPid:\t" + pid + "\nNSpid:\t" + nspid + "\n");
    }

    private void cgroup(String hierarchyAndPath, long... pids) throws IOException {
        Path dir = Files.createDirectories(cgroups().resolve(hierarchyAndPath));
        StringBuilder b = new StringBuilder();
        for (long p : pids) b.append(p).append('\n');
        Files.writeString(dir.resolve("cgroup.procs"), b.toString());
    }

    private Optional<Found> find(Runtime runtime, String name) throws IOException {
        return new NamedInstances(proc(), cgroups()).find(runtime, name);
    }

    @Test
    void lxcPayloadCgroupOnV1GivesTheContainersInitNotItsMonitor() throws IOException {
        cgroup("pids", 1, 100);
        cgroup("pids/lxc.monitor.web-1", 12190);
        cgroup("pids/lxc.payload.web-1", 12195, 12201);
        process(12190, "12190");
        process(12195, "12195\t1");
        process(12201, "12201\t7");

        assertThat(find(Runtime.LXC, "web-1")).contains(new Found("/lxc.payload.web-1", 12195));
    }

    @Test
    void initInANestedCgroupIsFoundBelowThePayload() throws IOException {
        cgroup("pids");
        cgroup("pids/lxc.payload.sd", 500); // a helper first, systemd in init.scope below
        cgroup("pids/lxc.payload.sd/init.scope", 501);
        process(500, "500\t40");
        process(501, "501\t1");

        assertThat(find(Runtime.LXC, "sd")).contains(new Found("/lxc.payload.sd", 501));
    }

    @Test
    void theWalkIsBoundedAndFallsBackToTheFirstProcessSeen() throws IOException {
        cgroup("pids");
        cgroup("pids/lxc.payload.big", 600);
        process(600, "600\t12");
        for (int i = 0; i < NamedInstances.MAX_CGROUPS + 10; i++) {
            cgroup("pids/lxc.payload.big/c" + (1000 + i)); // many empty children, the init past the bound
        }
        cgroup("pids/lxc.payload.big/c" + (1000 + NamedInstances.MAX_CGROUPS + 9) + "/init.scope", 601);
        process(601, "601\t1");

        assertThat(find(Runtime.LXC, "big")).contains(new Found("/lxc.payload.big", 600));
    }

    @Test
    void olderLxcLayoutAndCgroupV2AreFoundToo() throws IOException {
        Files.createDirectories(cgroups());
        Files.writeString(cgroups().resolve("cgroup.controllers"), "cpu memory pids\n");
        Files.writeString(cgroups().resolve("cgroup.procs"), "1\n");
        cgroup("lxc/old", 77);
        process(77, "77\t1");

        assertThat(find(Runtime.LXC, "old")).contains(new Found("/lxc/old", 77));
    }

    @Test
    void nspawnMachineScopeIsFoundByItsEscapedNameSkippingTheSupervisor() throws IOException {
        cgroup("pids");
        cgroup("pids/machine.slice/machine-db\\x2d1.scope", 300, 301);
        process(300, "300"); // systemd-nspawn itself
        process(301, "301\t1");

        assertThat(find(Runtime.NSPAWN, "db-1")).contains(new Found("/machine.slice/machine-db\\x2d1.scope", 301));
    }

    @Test
    void containerWithoutCgroupOrWithAnEmptyOneIsNotRunning() throws IOException {
        cgroup("pids");
        cgroup("pids/lxc.payload.empty");

        assertThat(find(Runtime.LXC, "absent")).isEmpty();
        assertThat(find(Runtime.LXC, "empty")).isEmpty();
    }

    @Test
    void noCgroupHierarchyAtAllIsAnErrorNotAStoppedContainer() throws IOException {
        Files.createDirectories(cgroups());

        assertThatThrownBy(() -> find(Runtime.LXC, "web-1")).isInstanceOf(IOException.class)
                .hasMessageContaining("no cgroup hierarchy under " + cgroups());
    }

    @Test
    void unitNamesAreEscapedAsSystemdDoes() {
        assertThat(NamedInstances.unitEscape("db-1")).isEqualTo("db\\x2d1");
        assertThat(NamedInstances.unitEscape("web_2.example")).isEqualTo("web_2.example");
        assertThat(NamedInstances.unitEscape(".hidden")).isEqualTo("\\x2ehidden");
    }
}
