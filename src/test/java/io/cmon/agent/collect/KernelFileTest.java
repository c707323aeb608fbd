package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    @Test
    void fileOfAGonePidIsEmpty() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertThat(KernelFile.read(Path.of("/proc/" + gone.pid() + "/stat"))).isEmpty();
    }

    @Test
    void fileLargerThanTheScratchBufferIsReadWhole(@TempDir Path dir) throws Exception {
        // several read(2) chunks and two growths of the per-thread array, then a small file reusing it
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 70_000; i++) {
            text.append("line ").append(i).append(" caf\u00e9\n");
        }
        Path big = Files.writeString(dir.resolve("big"), text, StandardCharsets.UTF_8);
        Path exact = Files.write(dir.resolve("exact"), "x".repeat(8192).getBytes(StandardCharsets.US_ASCII));

        assertThat(KernelFile.read(big)).contains(text.toString());
        assertThat(KernelFile.read(exact)).contains("x".repeat(8192));
        assertThat(KernelFile.read(Path.of("/proc/sys/kernel/pid_max")).orElseThrow()).doesNotContain("line");
    }

    @Test
    void aDirectoryIsAnErrorNotEmpty() {
        assertThatThrownBy(() -> KernelFile.read(Path.of("/proc/self"))).isInstanceOf(IOException.class);
    }
}
