package io.cmon.agent.collect;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** Reading a file of /proc or /sys: its text, or empty when it does not exist (a controller absent, a pid gone). */
final class KernelFile {

    private KernelFile() {
    }

    static Optional<String> read(Path file) throws IOException {
        // Not Files.readString: for a file that reports size 0, as /proc files do, it reads a single byte first and
        // then the rest at offset 1, and a sysctl file (/proc/sys/...) answers a read at a non-zero offset with EOF:
        // /proc/sys/kernel/pid_max read as "3". One buffered read from offset 0 gets the whole value.
        try (InputStream in = Files.newInputStream(file)) {
            return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (NoSuchFileException missing) {
            return Optional.empty();
        } catch (IOException e) {
            // a task that exited between listing and reading answers ESRCH, which Java reports as a plain IOException
            if (e.getMessage() != null && e.getMessage().contains("No such process")) {
                return Optional.empty();
            }
            throw e;
        }
    }
}
