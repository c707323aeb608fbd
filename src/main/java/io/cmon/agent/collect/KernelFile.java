package io.cmon.agent.collect;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** Reading a file of /proc or /sys: its text, or empty when it does not exist (a controller absent, a pid gone). */
public final class KernelFile {

    /**
     * Per thread, reused for every read: collections read tens of small files per scrape on a few pool threads,
     * and a fresh 8 KiB array per file (what {@code readAllBytes} allocates) was most of a scrape's garbage. A
     * scratch buffer, never shared between threads, grown for the rare large file (mountinfo, a big tasks list).
     */
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(() -> ByteBuffer.allocate(16384));
    /** Larger buffers are not kept: one huge file must not pin its size on a pool thread for good. */
    private static final int KEEP_AT_MOST = 256 * 1024;

    private KernelFile() {
    }

    public static Optional<String> read(Path file) throws IOException {
        // Not Files.readString: for a file that reports size 0, as /proc files do, it reads a single byte first and
        // then the rest at offset 1, and a sysctl file (/proc/sys/...) answers a read at a non-zero offset with EOF:
        // /proc/sys/kernel/pid_max read as "3". One read from offset 0 into a large buffer gets the whole value.
        try (SeekableByteChannel in = Files.newByteChannel(file)) {
            ByteBuffer buf = SCRATCH.get();
            buf.clear();
            while (in.read(buf) >= 0) {
                if (!buf.hasRemaining()) {
                    ByteBuffer bigger = ByteBuffer.allocate(buf.capacity() * 2);
                    buf.flip();
                    bigger.put(buf);
                    buf = bigger;
                    if (buf.capacity() <= KEEP_AT_MOST) SCRATCH.set(buf);
                }
            }
            return Optional.of(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
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
