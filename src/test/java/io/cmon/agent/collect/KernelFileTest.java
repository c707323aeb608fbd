package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading real kernel files of this host. */
class KernelFileTest {

    @Test
    void sysctlFileIsReadWhole() throws Exception {
        // a sysctl answers reads at a non-zero offset with EOF: a reader that takes one byte first gets "3" of 32768
        String pidMax = KernelFile.read(Path.of("/proc/sys/kernel/pid_max")).orElseThrow();

        assertThat(pidMax).endsWith("\n");
        assertThat(Long.parseLong(pidMax.trim())).isGreaterThanOrEqualTo(301); // the kernel's lowest pid_max
    }

    @Test
    void multiLineProcFileIsReadWhole() throws Exception {
        String meminfo = KernelFile.read(Path.of("/proc/meminfo")).orElseThrow();

        assertThat(meminfo).startsWith("MemTotal:").contains("\nSwapTotal:");
    }

    @Test
    void missingFileIsEmpty() throws Exception {
        assertThat(KernelFile.read(Path.of("/proc/no-such-file"))).isEmpty();
    }
}
