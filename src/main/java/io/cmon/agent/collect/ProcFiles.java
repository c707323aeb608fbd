package io.cmon.agent.collect;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** Thin reader of {@code /proc} (root configurable, for fixtures or a host /proc mounted elsewhere). */
public final class ProcFiles {

    private final Path root;

    public ProcFiles(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** A server-wide file, e.g. {@code read("meminfo")}. */
    public Optional<String> read(String file) throws IOException {
        return KernelFile.read(root.resolve(file));
    }

    /** A file of one process or thread, e.g. {@code read(pid, "net/dev")}; empty when the pid is gone. */
    public Optional<String> read(long pid, String file) throws IOException {
        return KernelFile.read(root.resolve(Long.toString(pid)).resolve(file));
    }

    public MemInfo memInfo() throws IOException {
        return MemInfo.parse(read("meminfo").orElseThrow(() -> new IOException("no " + root + "/meminfo")));
    }
}
