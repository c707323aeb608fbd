package io.cmon.agent.collect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** Reading a file of /proc or /sys: its text, or empty when it does not exist (a controller absent, a pid gone). */
final class KernelFile {

    private KernelFile() {
    }

    static Optional<String> read(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file));
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
