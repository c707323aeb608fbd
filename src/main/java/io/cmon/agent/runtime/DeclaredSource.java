package io.cmon.agent.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Instances declared in a YAML file (DESIGN §4), for runtimes without an API (LXC, nspawn, VMs, plain cgroups).
 *
 * <p>Polls the file's modification time, size and inode every second and reloads it when they change; on every
 * poll it also re-evaluates each entry's state (is the pid alive, which pid is first in the cgroup), so that a
 * declared workload that starts or stops is seen within a poll. A missing file declares nothing until it appears.
 *
 * <p>An entry may name a container by its runtime instead ({@code lxc: NAME}, {@code nspawn: NAME}): every poll
 * finds its cgroup and init pid again ({@link NamedInstances}), so a container that stops is reported stopped and one
 * that starts again is the same instance (same uuid) with its new pid.
 *
 * <p>{@link #health()}: down while the file is missing or cannot be read or parsed as a whole; the last error is the
 * last such problem, a skipped entry's warning, or a failure reading the cgroup tree; resyncs count polls.
 *
 * <p>A declared {@code pid} is tied to its process's start time ({@code /proc/<pid>/stat} field 22), read when the
 * pid is first seen alive after the file was (re)loaded: a process that exits and whose number the kernel gives to
 * another process is not that instance any more (reported stopped, logged once), until the file changes.
 */
public final class DeclaredSource implements InstanceSource {

    static final String SOURCE = "declared";
    private static final Logger LOG = LoggerFactory.getLogger(DeclaredSource.class);
    /** v1 hierarchies that hold every process of a cgroup, in order of preference; "unified" is v1-hybrid's v2. */
    private static final List<String> V1_HIERARCHIES = List.of("pids", "memory", "cpu", "cpuacct", "cpu,cpuacct",
            "systemd", "unified");

    private final Path file;
    private final String defaultOwner;
    private final Path procRoot;
    private final Path cgroupRoot;
    private final Duration poll;
    private final ScheduledExecutorService executor;

    // only touched on the executor's thread
    private InstanceSink sink;
    private Object fileVersion = "never read";
    private List<DeclaredFile.Entry> entries = List.of();
    /** uuid → the declared pid and the start time of the process it was when first seen. */
    private final Map<String, PidIdentity> pidIdentities = new HashMap<>();
    private final Set<String> reuseLogged = new HashSet<>();
    private final NamedInstances named;
    /** uuid → the last resolution problem logged, so that a failing lookup is logged once, not every poll. */
    private final Map<String, String> namedProblems = new HashMap<>();

    // health: written on the executor's thread, read from any
    private volatile boolean up = true;
    private volatile String lastError;
    private volatile long polls;

    private record PidIdentity(long pid, long startTime) {}

    public DeclaredSource(Path file, String defaultOwner) {
        this(file, defaultOwner, Path.of("/proc"), Path.of("/sys/fs/cgroup"), Duration.ofSeconds(1));
    }

    DeclaredSource(Path file, String defaultOwner, Path procRoot, Path cgroupRoot, Duration poll) {
        this.file = file;
        this.defaultOwner = defaultOwner;
        this.procRoot = procRoot;
        this.cgroupRoot = cgroupRoot;
        this.poll = poll;
        this.named = new NamedInstances(procRoot, cgroupRoot);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cmon-declared-instances");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return SOURCE;
    }

    @Override
    public void start(InstanceSink sink) {
        executor.execute(() -> this.sink = sink);
        executor.scheduleWithFixedDelay(() -> scan(false), 0, poll.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public boolean up() {
        return up;
    }

    @Override
    public SourceHealth health() {
        return new SourceHealth(SOURCE, up, lastError, 0, polls);
    }

    private void problem(String message) {
        LOG.warn(message);
        lastError = message;
    }

    @Override
    public CompletionStage<Void> refresh() {
        return CompletableFuture.runAsync(() -> scan(true), executor);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    /** One poll: reload the file when it changed (or when forced), then report every entry's current state. */
    private void scan(boolean force) {
        polls++; // only on the executor's thread
        try {
            Object version = version();
            boolean changed = !Objects.equals(version, fileVersion);
            if (force || changed) {
                fileVersion = version;
                reload(version == null);
                if (changed) {
                    // a changed file re-binds every declared pid to the process it names now
                    pidIdentities.clear();
                    reuseLogged.clear();
                }
            }
            List<Instance> instances = new ArrayList<>(entries.size());
            for (DeclaredFile.Entry e : entries) {
                instances.add(toInstance(e));
            }
            if (sink != null) {
                sink.replaceAll(SOURCE, instances);
            }
        } catch (RuntimeException e) {
            LOG.warn("declared instances: scan of {} failed: {}", file, e.toString(), e); // next poll retries
            lastError = "scan of " + file + " failed: " + e;
        }
    }

    private void reload(boolean missing) {
        if (missing) {
            if (!entries.isEmpty()) {
                LOG.warn("declared instances: {} is gone; forgetting its {} instances", file, entries.size());
            }
            entries = List.of();
            up = false;
            lastError = file + ": no such file";
            return;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            problem("declared instances: cannot read " + file + ": " + e + "; keeping the " + entries.size()
                    + " instances read before");
            up = false;
            fileVersion = "unreadable"; // try again next poll
            return;
        }
        try {
            DeclaredFile.Parsed parsed = DeclaredFile.parse(text, file.toString(), defaultOwner);
            parsed.warnings().forEach(this::problem);
            entries = parsed.entries();
            namedProblems.clear();
            up = true;
            LOG.info("declared instances: {} instances from {}", entries.size(), file);
        } catch (DeclaredFile.Unreadable e) {
            // a half-written file must not empty the inventory: keep what was declared until it is fixed
            problem(e.getMessage() + "; keeping the " + entries.size() + " instances read before");
            up = false;
        }
    }

    /** What identifies a version of the file cheaply; null when it does not exist. */
    private Object version() {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return List.of(a.lastModifiedTime(), a.size(), String.valueOf(a.fileKey()));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return "unreadable: " + e;
        }
    }

    private Instance toInstance(DeclaredFile.Entry e) {
        if (e.runtime() != null) {
            NamedInstances.Found found = findNamed(e);
            return new Instance(e.uuid(), e.alias(), e.owner(), e.image(), e.brand(), e.groups(),
                    found != null ? "running" : "stopped", found != null ? found.pid() : 0,
                    found != null ? found.cgroup() : null, e.rootfs(), SOURCE);
        }
        long pid = 0;
        if (e.pid() > 0) {
            pid = declaredPidStillItsProcess(e) ? e.pid() : 0;
        } else if (e.cgroup() != null) {
            pid = firstPidIn(e.cgroup());
        }
        return new Instance(e.uuid(), e.alias(), e.owner(), e.image(), e.brand(), e.groups(),
                pid > 0 ? "running" : "stopped", pid, e.cgroup(), e.rootfs(), SOURCE);
    }

    /** The named container's cgroup and init pid now; null when it is not running (or cannot be looked up). */
    private NamedInstances.Found findNamed(DeclaredFile.Entry e) {
        try {
            NamedInstances.Found found = named.find(e.runtime(), e.name()).orElse(null);
            namedProblems.remove(e.uuid());
            return found;
        } catch (IOException ex) {
            String message = "declared instances: cannot look up " + e.runtime().key + " container '" + e.name()
                    + "' (instance " + e.uuid() + ", " + file + "): " + ex.getMessage();
            if (!message.equals(namedProblems.put(e.uuid(), message))) {
                problem(message);
            }
            return null;
        }
    }

    /** Whether the declared pid is alive and still the process first seen under it (not a reused number). */
    private boolean declaredPidStillItsProcess(DeclaredFile.Entry e) {
        OptionalLong start = startTime(e.pid());
        if (start.isEmpty()) return false; // not running (the identity stays: a reuse later is still caught)
        PidIdentity known = pidIdentities.get(e.uuid());
        if (known == null || known.pid() != e.pid()) {
            pidIdentities.put(e.uuid(), new PidIdentity(e.pid(), start.getAsLong()));
            reuseLogged.remove(e.uuid());
            return true;
        }
        if (known.startTime() == start.getAsLong()) return true;
        if (reuseLogged.add(e.uuid())) {
            LOG.warn("declared instances: instance {} ({}) declares pid {}, whose process exited; the pid now belongs"
                    + " to another process (started at {} ticks, not {}): not serving it; update {} to re-bind it",
                    e.uuid(), e.alias(), e.pid(), start.getAsLong(), known.startTime(), file);
        }
        return false;
    }

    private OptionalLong startTime(long pid) {
        try {
            return startTimeOf(Files.readString(procRoot.resolve(Long.toString(pid)).resolve("stat")));
        } catch (IOException e) {
            return OptionalLong.empty(); // gone (or never there)
        }
    }

    /**
     * Field 22 of {@code /proc/<pid>/stat}, the process's start time in clock ticks since boot. The command (field
     * 2) is in parentheses and may itself hold spaces and parentheses: fields are counted after the last ')'.
     */
    static OptionalLong startTimeOf(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) return OptionalLong.empty();
        String[] fields = stat.substring(close + 1).trim().split("\\s+");
        int index = 22 - 3; // fields[0] is field 3 (state)
        if (fields.length <= index) return OptionalLong.empty();
        try {
            return OptionalLong.of(Long.parseLong(fields[index]));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** The first process of a cgroup (v2, or the first v1 hierarchy that has it); 0 when it has none. */
    long firstPidIn(String cgroup) {
        String relative = cgroup.startsWith("/") ? cgroup.substring(1) : cgroup;
        List<Path> candidates = new ArrayList<>();
        if (Files.exists(cgroupRoot.resolve("cgroup.controllers"))) {
            candidates.add(cgroupRoot.resolve(relative).resolve("cgroup.procs"));
        } else {
            for (String h : V1_HIERARCHIES) {
                candidates.add(cgroupRoot.resolve(h).resolve(relative).resolve("cgroup.procs"));
            }
        }
        for (Path procs : candidates) {
            try {
                for (String line : Files.readAllLines(procs)) {
                    String t = line.trim();
                    if (!t.isEmpty()) {
                        return Long.parseLong(t);
                    }
                }
            } catch (NoSuchFileException e) {
                // not in this hierarchy
            } catch (IOException | NumberFormatException e) {
                LOG.debug("declared instances: reading {}: {}", procs, e.toString());
            }
        }
        return 0;
    }
}
