package io.cmon.agent.plugin;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one plugin process within its limits: a deadline, a cap on its standard output, an empty environment but
 * for what the agent gives it. The process starts as the leader of a session of its own ({@code setsid}), so that
 * when it must die, on its deadline, on a flood, or once it has exited, its whole process group dies with it
 * ({@code kill(-pgid, SIGKILL)}): a plugin's children and grandchildren never outlive its run.
 *
 * <p>{@link #run} blocks the calling thread until the result or the deadline, whichever comes first; the pipes are
 * read by threads of this runner, so that the caller is released at the deadline even if a pipe stays open.
 */
public final class PluginRunner implements AutoCloseable {

    /** What cmon-agent's plugins may print is bounded; past this the run is killed and fails. */
    public static final int MAX_OUTPUT = 500 * 1024;
    /** What is kept of standard error for the log line of a failed run. */
    static final int STDERR_KEPT = 2048;
    /** How long a failed run's log line waits for the end of its standard error. */
    static final Duration STDERR_WAIT = Duration.ofMillis(200);

    private static final Logger log = LoggerFactory.getLogger(PluginRunner.class);
    private static final int SIGKILL = 9;

    /** Why a run produced no output to parse; the message is for the operator's log. */
    public static final class Failure extends Exception {
        public Failure(String message) {
            super(message);
        }
    }

    private interface LibC extends Library {
        int kill(int pid, int signal);
    }

    private final ExecutorService pipes;
    private final LibC libc;
    private final int maxOutput;

    public PluginRunner() {
        this(MAX_OUTPUT);
    }

    PluginRunner(int maxOutput) {
        this.maxOutput = maxOutput;
        AtomicInteger n = new AtomicInteger();
        // as many threads as pipes open: two per running plugin, which the plugin pool bounds
        this.pipes = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "cmon-plugin-pipe-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        LibC loaded;
        try {
            loaded = Native.load("c", LibC.class);
        } catch (LinkageError e) {
            // without libc's kill the group cannot be signalled; the process and its current descendants still are
            log.warn("plugins: cannot load libc through JNA ({}); a plugin's daemonised children may survive a kill",
                    e.toString());
            loaded = null;
        }
        this.libc = loaded;
    }

    /**
     * @param command the plugin and its arguments (with any nsenter in front)
     * @param env     the whole environment of the plugin
     * @return standard output, at most {@link #MAX_OUTPUT} bytes, decoded as UTF-8
     * @throws Failure on a non-zero exit, the deadline, an output flood, or a start failure
     */
    public String run(List<String> command, Map<String, String> env, Duration timeout)
            throws Failure, InterruptedException {
        List<String> full = new ArrayList<>(List.of("setsid", "--wait"));
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full)
                .directory(new File("/"))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().clear();
        pb.environment().putAll(env);
        long deadline = System.nanoTime() + timeout.toNanos();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new Failure("cannot start: " + e.getMessage());
        }
        CompletableFuture<byte[]> stdout = read(p.getInputStream(), maxOutput + 1, true);
        CompletableFuture<byte[]> stderr = read(p.getErrorStream(), STDERR_KEPT, false);
        try {
            // whichever comes first: the exit, the end of its output, or a flood (which fails at once)
            CompletableFuture.anyOf(p.onExit(), stdout).get(remaining(deadline), TimeUnit.NANOSECONDS);
            if (!p.waitFor(remaining(deadline), TimeUnit.NANOSECONDS)) {
                throw new Failure("timed out after " + timeout.toMillis() + " ms; killed with its children"
                        + tail(stderr));
            }
            // the plugin has exited: whatever it left running goes too (it would hold the pipe open); not through
            // Process.destroy, which would close the pipe before its last bytes are read
            killLeftovers(p);
            byte[] out = stdout.get(remaining(deadline), TimeUnit.NANOSECONDS);
            if (out.length > maxOutput) {
                throw new Failure("printed more than " + maxOutput / 1024 + " KiB; killed");
            }
            if (p.exitValue() != 0) {
                try {
                    stderr.get(Math.min(remaining(deadline), STDERR_WAIT.toNanos()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    // the log line goes without it
                }
                throw new Failure("exited with status " + p.exitValue() + tail(stderr));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (TimeoutException e) {
            throw new Failure("timed out after " + timeout.toMillis() + " ms; killed with its children"
                    + tail(stderr));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Flood) {
                throw new Failure("printed more than " + maxOutput / 1024 + " KiB; killed");
            }
            throw new Failure("reading its output failed: " + cause);
        } finally {
            if (p.isAlive()) {
                killGroup(p);
            } else {
                killLeftovers(p);
            }
        }
    }

    /** Reads a pipe to its end, keeping {@code keep} bytes; past that a flood of stdout fails the run at once. */
    private CompletableFuture<byte[]> read(InputStream in, int keep, boolean floodFails) {
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        pipes.execute(() -> {
            ByteArrayOutputStream kept = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            try (in) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    int room = keep - kept.size();
                    kept.write(buf, 0, Math.min(n, Math.max(room, 0)));
                    if (floodFails && n > room) {
                        done.completeExceptionally(new Flood());
                        return; // closing the pipe: the writer gets SIGPIPE, and killGroup follows
                    }
                }
                done.complete(kept.toByteArray());
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    private static final class Flood extends Exception {
        Flood() {
            super(null, null, false, false);
        }
    }

    /**
     * SIGKILL to a plugin still running, its process group (its session), and any descendant that left the group.
     * Listing descendants walks every process of the host, so it is done only here, on a timeout or a flood.
     */
    private void killGroup(Process p) {
        List<ProcessHandle> descendants = p.descendants().toList();
        killLeftovers(p);
        descendants.forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /**
     * SIGKILL to the process group of a plugin that has exited, leaving the Process object and its pipes be. Its
     * children were handed to init when it exited, so they are no longer its descendants; the group finds them.
     */
    private void killLeftovers(Process p) {
        if (libc != null) {
            libc.kill((int) -p.pid(), SIGKILL); // ESRCH when the group is already gone: nothing to do
        }
    }

    private static String tail(CompletableFuture<byte[]> stderr) {
        byte[] err = stderr.getNow(null);
        if (err == null || err.length == 0) return "";
        String text = new String(err, StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
        return text.isEmpty() ? "" : "; stderr: " + text;
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    @Override
    public void close() {
        pipes.shutdownNow();
    }
}
