package io.cmon.quickstart;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One quickstart per directory: an exclusive lock on {@code run/quickstart.lock} with the holder's pid written in it.
 * The kernel drops the lock however the holder ends (Ctrl-C, {@code kill -9}), so a live holder is exactly a held
 * lock and a stale pid file never blocks a rerun; a second run while one is live is refused instead of taking over
 * its ports and its agent.
 */
final class QuickstartLock implements AutoCloseable {

    private final FileChannel channel;
    private final FileLock lock;

    private QuickstartLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** @throws QuickstartException when another live quickstart holds {@code dir} */
    static QuickstartLock acquire(Path dir, Path runDir) {
        Path file = runDir.resolve("quickstart.lock");
        FileChannel channel = null;
        try {
            Files.createDirectories(runDir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameJvm) {
                lock = null;
            }
            if (lock == null) {
                String holder = Files.readString(file, StandardCharsets.US_ASCII).strip();
                channel.close();
                throw new QuickstartException("another cmon quickstart (pid " + holder + ") is running in " + dir
                        + ": stop it first (Ctrl-C where it runs, or kill " + holder + "), or give this one"
                        + " another --dir");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(false);
            return new QuickstartLock(channel, lock);
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // the open failure is the story
                }
            }
            throw new QuickstartException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the process is ending: the kernel releases the lock anyway
        }
    }
}
