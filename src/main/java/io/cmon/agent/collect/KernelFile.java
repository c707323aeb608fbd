package io.cmon.agent.collect;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/** Reading a file of /proc or /sys: its text, or empty when it does not exist (a controller absent, a pid gone). */
public final class KernelFile {

    /**
     * Per thread, reused for every read: collections read tens of small files per scrape on a few pool threads,
     * and a fresh 8 KiB array per file (what {@code readAllBytes} allocates) was most of a scrape's garbage. A
     * scratch array, never shared between threads, grown for the rare large file (mountinfo, a big tasks list).
     */
    private static final ThreadLocal<byte[][]> SCRATCH = ThreadLocal.withInitial(() -> new byte[][] {new byte[16384]});
    /** Larger arrays are not kept: one huge file must not pin its size on a pool thread for good. */
    private static final int KEEP_AT_MOST = 256 * 1024;
    /**
     * Bytes asked of one read(2): the JDK reads up to 8 KiB through a buffer on the native stack; a larger request
     * costs a malloc and a free per call.
     */
    private static final int CHUNK = 8192;

    private KernelFile() {
    }

    public static Optional<String> read(Path file) throws IOException {
        // Not Files.readString: for a file that reports size 0, as /proc files do, it reads a single byte first and
        // then the rest at offset 1, and a sysctl file (/proc/sys/...) answers a read at a non-zero offset with EOF:
        // /proc/sys/kernel/pid_max read as "3". The first read here asks for 8 KiB from offset 0: the whole value.
        // A FileInputStream, not a FileChannel: a channel costs per file a temporary direct buffer and a copy per
        // read, its thread bookkeeping and interruptible-I/O set-up; ~27 files per uncached scrape
        // (InstanceCollectionBenchmark, docs/PERFORMANCE.md "Uncached scrape, step 2").
        FileInputStream in;
        try {
            in = new FileInputStream(file.toString());
        } catch (FileNotFoundException e) {
            // the JDK's one exception for every failed open: only a file that is not there is "empty"
            if (Files.notExists(file)) return Optional.empty();
            throw e;
        }
        try (in) {
            byte[][] holder = SCRATCH.get();
            byte[] buf = holder[0];
            int length = 0;
            while (true) {
                if (length == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                    if (buf.length <= KEEP_AT_MOST) holder[0] = buf;
                }
                int n = in.read(buf, length, Math.min(CHUNK, buf.length - length));
                if (n < 0) break;
                length += n;
            }
            return Optional.of(new String(buf, 0, length, StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a task that exited between listing and reading answers ESRCH, which Java reports as a plain IOException
            if (e.getMessage() != null && e.getMessage().contains("No such process")) {
                return Optional.empty();
            }
            throw e;
        }
    }
}
