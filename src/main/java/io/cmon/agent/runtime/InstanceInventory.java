package io.cmon.agent.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The agent's merged view of all {@link InstanceSource}s, with a generation that moves only when something visible
 * changes. Reads ({@link #byUuid}, {@link #snapshot}) are lock-free; writes are serialized and cheap (per-uuid merge).
 *
 * <p>Every report is a <em>claim</em> of a uuid by one container (a source and the source's own key for it). A uuid
 * claimed by two containers is served to nobody (DESIGN §2.1): a label is all it takes to claim a uuid, so serving
 * either would let one container's owner take another's target. The conflict is logged once, listed in
 * {@link #conflicts()}, and ends when all but one claim go. One exception: two <em>sources</em> reporting the same
 * container (the same running process or the same cgroup) are one instance, shown from the source that reported
 * first. And a container of containerd's namespace {@code moby} that Docker reports under the same id is Docker's:
 * its containerd claim is set aside while Docker's exists, whatever uuid each gives it (dockerd passes neither names
 * nor labels to containerd, so the two may disagree) and whether or not it runs.
 */
public final class InstanceInventory implements InstanceSink {

    private static final Logger LOG = LoggerFactory.getLogger(InstanceInventory.class);

    /** The inventory at one generation; {@code instances} sorted by uuid, {@code conflicts} by uuid too. */
    public record Snapshot(long generation, List<Instance> instances, List<Conflict> conflicts) {
        public Snapshot {
            instances = List.copyOf(instances);
            conflicts = List.copyOf(conflicts);
        }

        public Snapshot(long generation, List<Instance> instances) {
            this(generation, instances, List.of());
        }
    }

    /** A uuid that two or more containers claim; {@code claimants} describe them ("docker web-1 (3f2a…)"). */
    public record Conflict(String uuid, List<String> claimants) {
        public Conflict {
            claimants = List.copyOf(claimants);
        }
    }

    /**
     * What changed after a generation (inventory protocol v2): the instances added or changed, sorted by uuid, the
     * uuids no longer served (gone, or now in conflict), sorted, and the complete current conflicts. {@code
     * generation} equal to the asked one: nothing changed.
     */
    public record Delta(long generation, List<Instance> changed, List<String> removed, List<Conflict> conflicts) {
        public Delta {
            changed = List.copyOf(changed);
            removed = List.copyOf(removed);
            conflicts = List.copyOf(conflicts);
        }
    }

    /** Generations kept in the change log: a proxy further behind than this gets a full page. */
    public static final int LOG_GENERATIONS = 1024;
    /** uuids kept in the change log over all its generations: bounds its memory when whole hosts churn. */
    public static final int LOG_UUIDS = 65_536;

    /** The uuids whose visible state changed at one generation. */
    private record LogEntry(long generation, String[] uuids) {}

    private record Claim(String source, String key, Instance instance) {
        String describe() {
            if (key.equals(instance.uuid()) || key.startsWith(instance.uuid() + "#")) {
                return source + " " + instance.alias(); // keyed by uuid: the alias says which entry
            }
            return source + " " + instance.alias() + " (" + (key.length() > 12 ? key.substring(0, 12) : key) + ")";
        }
    }

    private final Object lock = new Object();
    /** source → (key → instance), sources in the order they first reported. Guarded by lock. */
    private final Map<String, Map<String, Instance>> bySource = new LinkedHashMap<>();
    /** The visible record per uuid; read without the lock. */
    private final ConcurrentHashMap<String, Instance> visible = new ConcurrentHashMap<>();
    /** The same, in uuid order, so that a snapshot is a copy and not a sort. Guarded by lock. */
    private final TreeMap<String, Instance> sorted = new TreeMap<>();
    /** uuid → its claims, keyed "source\0key": finds a uuid's claimants without a scan. Guarded by lock. */
    private final Map<String, Map<String, Claim>> claims = new HashMap<>();
    /** Each source's rank in first-report order. Guarded by lock. */
    private final Map<String, Integer> sourceRank = new HashMap<>();
    /** uuids claimed by two or more containers now. Guarded by lock. */
    private final TreeMap<String, Conflict> conflicts = new TreeMap<>();
    /** waiter → the generation it waits to pass. */
    private final ConcurrentHashMap<CompletableFuture<Snapshot>, Long> waiters = new ConcurrentHashMap<>();
    private final List<Consumer<String>> removalListeners = new CopyOnWriteArrayList<>();
    /** Drawn once per process: a generation means something only with the epoch it was counted in. */
    private final String epoch;
    private final int logGenerations;
    private final int logUuids;
    /** The change log, oldest first; deltas can be computed for any generation from {@link #logFloor} on. Guarded by lock. */
    private final ArrayDeque<LogEntry> log = new ArrayDeque<>();
    private int loggedUuids;
    /** The oldest generation a delta can start from: the change log holds every generation after it. Guarded by lock. */
    private long logFloor;

    private volatile long generation;
    private volatile int conflictCount;
    /** Built lazily: copying on every change would make a burst of events O(n²). */
    private volatile Snapshot snapshot = new Snapshot(0, List.of(), List.of());

    public InstanceInventory() {
        this(UUID.randomUUID().toString(), LOG_GENERATIONS, LOG_UUIDS);
    }

    /** @param epoch this process's epoch; @param logGenerations, logUuids the change log's bounds */
    public InstanceInventory(String epoch, int logGenerations, int logUuids) {
        this.epoch = epoch;
        this.logGenerations = logGenerations;
        this.logUuids = logUuids;
    }

    /** This process's epoch (inventory protocol v2): random, drawn at start. */
    public String epoch() {
        return epoch;
    }

    /**
     * What changed after generation {@code since}, at the current generation; empty when the change log cannot say
     * (older than the log keeps, or newer than this inventory has reached): the caller then sends everything.
     */
    public Optional<Delta> changesSince(long since) {
        synchronized (lock) {
            if (since < logFloor || since > generation) return Optional.empty();
            if (since == generation) return Optional.of(new Delta(generation, List.of(), List.of(), List.of()));
            TreeMap<String, Boolean> touched = new TreeMap<>();
            // newest first: stop at the first entry at or before since
            for (var it = log.descendingIterator(); it.hasNext(); ) {
                LogEntry e = it.next();
                if (e.generation() <= since) break;
                for (String uuid : e.uuids()) touched.put(uuid, Boolean.TRUE);
            }
            List<Instance> changed = new ArrayList<>();
            List<String> removed = new ArrayList<>();
            for (String uuid : touched.keySet()) {
                Instance now = sorted.get(uuid);
                if (now != null) changed.add(now);
                else removed.add(uuid);
            }
            return Optional.of(new Delta(generation, changed, removed, List.copyOf(conflicts.values())));
        }
    }

    public Optional<Instance> byUuid(String uuid) {
        return uuid == null ? Optional.empty() : Optional.ofNullable(visible.get(uuid));
    }

    public Snapshot snapshot() {
        Snapshot s = snapshot;
        if (s.generation() == generation) {
            return s;
        }
        synchronized (lock) {
            if (snapshot.generation() != generation) {
                snapshot = new Snapshot(generation, List.copyOf(sorted.values()), List.copyOf(conflicts.values()));
            }
            return snapshot;
        }
    }

    public long generation() {
        return generation;
    }

    /** The uuids served to nobody because two containers claim them. */
    public List<Conflict> conflicts() {
        return snapshot().conflicts();
    }

    /** How many uuids are in conflict now (cheap, for the agent's own metrics). */
    public int conflictCount() {
        return conflictCount;
    }

    /**
     * Completes with a snapshot newer than {@code afterGeneration}: at once when there is one, else at the next
     * visible change. A generation this inventory has not reached yet (a caller that knew a previous agent process)
     * also answers at once, so that such a caller resynchronizes instead of waiting. Callers may complete or cancel
     * the future themselves (timeouts); it is then forgotten.
     */
    public CompletableFuture<Snapshot> changedAfter(long afterGeneration) {
        CompletableFuture<Snapshot> waiter;
        synchronized (lock) {
            if (generation != afterGeneration) {
                return CompletableFuture.completedFuture(snapshot());
            }
            waiter = new CompletableFuture<>();
            waiters.put(waiter, afterGeneration);
        }
        waiter.whenComplete((s, e) -> waiters.remove(waiter));
        return waiter;
    }

    /** Number of long-polls waiting now (for the agent's own metrics and tests). */
    public int waiting() {
        return waiters.size();
    }

    public void addRemovalListener(Consumer<String> uuidRemoved) {
        removalListeners.add(uuidRemoved);
    }

    @Override
    public void replaceAll(String source, Map<String, Instance> byKey) {
        apply(source, byKey, true);
    }

    @Override
    public void upsert(String key, Instance instance) {
        apply(instance.source(), Map.of(key, instance), false);
    }

    @Override
    public void remove(String source, String key) {
        List<String> removed = new ArrayList<>(1);
        boolean changed = false;
        synchronized (lock) {
            Map<String, Instance> own = bySource.get(source);
            Instance gone = own == null ? null : own.remove(key);
            if (gone == null) {
                return;
            }
            unindex(source, key, gone);
            Set<String> touched = new HashSet<>();
            touched.add(gone.uuid());
            restoreShadow(source, key, touched);
            boolean visibleChange = false;
            for (String uuid : touched) {
                visibleChange |= recompute(uuid, removed);
            }
            if (visibleChange) {
                generation++;
                logChange(new String[] {gone.uuid()});
                changed = true;
            }
        }
        notifyAfterChange(changed, removed);
    }

    private void apply(String source, Map<String, Instance> incoming, boolean replace) {
        List<String> removed = new ArrayList<>();
        boolean changed = false;
        synchronized (lock) {
            Map<String, Instance> own = bySource.computeIfAbsent(source, s -> new HashMap<>());
            sourceRank.putIfAbsent(source, sourceRank.size());
            Set<String> touched = new HashSet<>();
            if (replace) {
                for (var it = own.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    if (!incoming.containsKey(e.getKey())) {
                        it.remove();
                        unindex(source, e.getKey(), e.getValue());
                        touched.add(e.getValue().uuid());
                        restoreShadow(source, e.getKey(), touched);
                    }
                }
            }
            for (Map.Entry<String, Instance> e : incoming.entrySet()) {
                Instance before = own.put(e.getKey(), e.getValue());
                if (!e.getValue().equals(before)) {
                    if (before != null) {
                        unindex(source, e.getKey(), before);
                        touched.add(before.uuid()); // its uuid label may have changed
                    }
                    index(source, e.getKey(), e.getValue(), touched);
                }
            }
            List<String> visibleChanges = new ArrayList<>();
            for (String uuid : touched) {
                if (recompute(uuid, removed)) visibleChanges.add(uuid);
            }
            if (!visibleChanges.isEmpty()) {
                generation++;
                logChange(visibleChanges.toArray(String[]::new));
                changed = true;
            }
        }
        notifyAfterChange(changed, removed);
    }

    /** Records the uuids of the generation just made, and drops the oldest entries past the bounds. Caller holds the lock. */
    private void logChange(String[] uuids) {
        log.addLast(new LogEntry(generation, uuids));
        loggedUuids += uuids.length;
        while (log.size() > logGenerations || (loggedUuids > logUuids && log.size() > 1)) {
            LogEntry oldest = log.removeFirst();
            loggedUuids -= oldest.uuids().length;
            logFloor = oldest.generation();
        }
        if (loggedUuids > logUuids) { // one generation alone is over the bound: only a full page can say it
            LogEntry only = log.removeFirst();
            loggedUuids -= only.uuids().length;
            logFloor = only.generation();
        }
    }

    /** Re-decides one uuid: served, in conflict, or gone; true when what readers see changed. Caller holds the lock. */
    private boolean recompute(String uuid, List<String> removed) {
        Instance winner = null;
        List<Claim> distinct = new ArrayList<>();
        for (Claim c : claimsOf(uuid)) {
            boolean sameContainer = distinct.stream().anyMatch(d -> sameContainer(d, c));
            if (!sameContainer) distinct.add(c);
        }
        Conflict conflict = null;
        if (distinct.size() == 1) {
            winner = distinct.get(0).instance();
        } else if (distinct.size() > 1) {
            conflict = new Conflict(uuid, distinct.stream().map(Claim::describe).sorted().toList());
        }

        Conflict conflictBefore = conflict == null ? conflicts.remove(uuid) : conflicts.put(uuid, conflict);
        conflictCount = conflicts.size();
        if (conflict != null && conflictBefore == null) {
            LOG.warn("instance {} is claimed by {} containers: {}; served to nobody until only one claims it",
                    uuid, distinct.size(), String.join(", ", conflict.claimants()));
        } else if (conflict == null && conflictBefore != null) {
            LOG.info("instance {}: conflict over, {}", uuid,
                    winner == null ? "no container claims it" : "served from " + winner.source() + " again");
        }

        Instance before = winner == null ? visible.remove(uuid) : visible.put(uuid, winner);
        if (winner == null) {
            sorted.remove(uuid);
        } else {
            sorted.put(uuid, winner);
        }
        if (winner == null && before != null) {
            removed.add(uuid);
        }
        return !Objects.equals(winner, before) || !Objects.equals(conflict, conflictBefore);
    }

    /**
     * Makes a reported container a claim of its uuid, unless another source's report of the same container wins
     * (then it is kept aside, see {@link #shadowOf}); a claim that wins sets the other aside. Caller holds the lock.
     */
    private void index(String source, String key, Instance instance, Set<String> touched) {
        Claim claim = new Claim(source, key, instance);
        touched.add(instance.uuid());
        Claim winner = preferredOver(claim);
        if (winner != null) {
            return; // Docker reports this container: containerd's view of it stays aside
        }
        claims.computeIfAbsent(instance.uuid(), u -> new HashMap<>()).put(source + '\0' + key, claim);
        Claim shadow = shadowOf(source, key);
        if (shadow != null) {
            unindex(shadow.source(), shadow.key(), shadow.instance());
            touched.add(shadow.instance().uuid());
        }
    }

    /** The claim of another source that describes the container {@code claim} describes, and wins over it. */
    private Claim preferredOver(Claim claim) {
        if (!claim.source().equals(ContainerdMapping.SOURCE)) return null;
        String prefix = ContainerdSource.DOCKER_NAMESPACE + "/";
        if (!claim.key().startsWith(prefix)) return null;
        String dockerKey = claim.key().substring(prefix.length());
        Map<String, Instance> docker = bySource.get(ContainerMapping.SOURCE);
        Instance d = docker == null ? null : docker.get(dockerKey);
        return d == null ? null : new Claim(ContainerMapping.SOURCE, dockerKey, d);
    }

    /** containerd's report (namespace moby) of the container Docker reports as {@code key}, if any. */
    private Claim shadowOf(String source, String key) {
        if (!source.equals(ContainerMapping.SOURCE)) return null;
        Map<String, Instance> containerd = bySource.get(ContainerdMapping.SOURCE);
        String shadowKey = ContainerdSource.DOCKER_NAMESPACE + "/" + key;
        Instance c = containerd == null ? null : containerd.get(shadowKey);
        return c == null ? null : new Claim(ContainerdMapping.SOURCE, shadowKey, c);
    }

    /** Docker forgot {@code key}: containerd's report of the same container, if any, becomes a claim again. */
    private void restoreShadow(String source, String key, Set<String> touched) {
        Claim shadow = shadowOf(source, key);
        if (shadow != null) {
            index(shadow.source(), shadow.key(), shadow.instance(), touched);
        }
    }

    private void unindex(String source, String key, Instance instance) {
        Map<String, Claim> of = claims.get(instance.uuid());
        if (of != null) {
            of.remove(source + '\0' + key);
            if (of.isEmpty()) claims.remove(instance.uuid());
        }
    }

    /** Every report of this uuid, sources in first-report order, then by key (stable). */
    private List<Claim> claimsOf(String uuid) {
        Map<String, Claim> of = claims.get(uuid);
        if (of == null) return List.of();
        List<Claim> list = new ArrayList<>(of.values());
        if (list.size() > 1) {
            list.sort(java.util.Comparator.<Claim>comparingInt(c -> sourceRank.get(c.source()))
                    .thenComparing(Claim::key));
        }
        return list;
    }

    /** Two sources describing one container: the same running process or the same cgroup. One source never does. */
    private static boolean sameContainer(Claim a, Claim b) {
        if (a.source().equals(b.source())) return false;
        Instance x = a.instance();
        Instance y = b.instance();
        return (x.pid() > 0 && x.pid() == y.pid()) || (x.cgroup() != null && x.cgroup().equals(y.cgroup()));
    }

    /** Outside the lock: waiters and listeners run foreign code. */
    private void notifyAfterChange(boolean changed, List<String> removed) {
        for (String uuid : removed) {
            for (Consumer<String> listener : removalListeners) {
                try {
                    listener.accept(uuid);
                } catch (RuntimeException e) {
                    LOG.warn("removal listener failed for {}", uuid, e);
                }
            }
        }
        if (changed && !waiters.isEmpty()) {
            Snapshot now = snapshot();
            // a waiter may have registered after this change at the new generation: it waits for the next one
            waiters.forEach((w, after) -> {
                if (now.generation() > after) {
                    w.complete(now); // whenComplete removes it
                }
            });
        }
    }
}
