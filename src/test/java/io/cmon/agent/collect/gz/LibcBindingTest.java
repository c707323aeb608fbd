package io.cmon.agent.collect.gz;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gz collectors bind libc through JNA on their first read, not when the agent builds them: an idle agent does
 * not pay for JNA's classes, its stub library, its cleaner thread and its fork of {@code ldconfig}.
 */
class LibcBindingTest {

    @Test
    void jnaIsLoadedByTheFirstReadNotByBuildingTheCollectors() throws IOException, InterruptedException {
        List<String> lines = probe();

        int built = lines.indexOf("built");
        int read = lines.indexOf("read");
        assertThat(built).as("probe output: %s", lines).isPositive();
        assertThat(read).as("probe output: %s", lines).isGreaterThan(built);
        assertThat(lines.subList(0, built)).noneMatch(LibcBindingTest::jnaClassLoad);
        assertThat(lines.subList(built, read)).anyMatch(LibcBindingTest::jnaClassLoad);
        assertThat(lines.subList(read, lines.size())).contains("timex=true statfs=true");
    }

    private static boolean jnaClassLoad(String line) {
        return line.contains("[class,load] com.sun.jna.Native ");
    }

    /** {@link Probe}'s output in a child JVM that logs every class it loads. */
    private static List<String> probe() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xshare:off", "-Xlog:class+load=info:stdout",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName())
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new String(out, StandardCharsets.UTF_8).lines().toList();
    }

    /** Builds both collectors, prints "built", reads each once, prints "read" and whether each answered. */
    static final class Probe {
        public static void main(String[] args) throws IOException {
            Timex.Source timex = new Timex.Kernel();
            FilesystemStats.Statfs statfs = new FilesystemStats.HostStatfs(Duration.ofSeconds(5));
            System.out.println("built");
            System.out.flush();
            Timex t = timex.read();
            FilesystemStats.Usage root = statfs.stat("/");
            System.out.println("read");
            System.out.println("timex=" + (t.tick() > 0) + " statfs=" + (root.size() > 0 && root.files() >= 0));
        }
    }
}
