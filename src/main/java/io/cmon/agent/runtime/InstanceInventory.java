package io.cmon.agent.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The agent's merged view of all {@link InstanceSource}s, with a generation that moves only when something visible
 * changes. Reads ({@link #byUuid}, {@link #snapshot}) are lock-free; writes are serialized and cheap (per-uuid merge).
 *
 * <p>A uuid reported by two sources is shown from the source that reported first (sources keep the order in which
 * they first reported); the conflict is logged once per uuid.
 */
public final class InstanceInventory implements InstanceSink {

    private static final Logger LOG = LoggerFactory.getLogger(InstanceInventory.class);

    /** The inventory at one generation; {@code instances} sorted by uuid. */
    public record Snapshot(long generation, List<Instance> instances) {
        public Snapshot {
            instances = List.copyOf(instances);
        }
    }

    private final Object lock = new Object();
    /** source → (uuid → instance), sources in the order they first reported. Guarded by lock. */
    private final Map<String, Map<String, Instance>> bySource = new LinkedHashMap<>();
    /** The visible (winning) record per uuid; read without the lock. */
    private final ConcurrentHashMap<String, Instance> visible = new ConcurrentHashMap<>();
    /** The same, in uuid order, so that a snapshot is a copy and not a sort. Guarded by lock. */
    private final TreeMap<String, Instance> sorted = new TreeMap<>();
    private final Set<String> conflictsLogged = new HashSet<>();
    /** waiter → the generation it waits to pass. */
    private final ConcurrentHashMap<CompletableFuture<Snapshot>, Long> waiters = new ConcurrentHashMap<>();
    private final List<Consumer<String>> removalListeners = new CopyOnWriteArrayList<>();

    private volatile long generation;
    /** Built lazily: copying on every change would make a burst of events O(n²). */
    private volatile Snapshot snapshot = new Snapshot(0, List.of());

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
                snapshot = new Snapshot(generation, List.copyOf(sorted.values()));
            }
            return snapshot;
        }
    }

    public long generation() {
        return generation;
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
    public void replaceAll(String source, Collection<Instance> instances) {
        Map<String, Instance> fresh = new HashMap<>();
        for (Instance i : instances) {
            fresh.put(i.uuid(), i);
        }
        apply(source, fresh, true);
    }

    @Override
    public void upsert(Instance instance) {
        apply(instance.source(), Map.of(instance.uuid(), instance), false);
    }

    @Override
    public void remove(String source, String uuid) {
        List<String> removed = new ArrayList<>(1);
        boolean changed = false;
        synchronized (lock) {
            Map<String, Instance> own = bySource.get(source);
            if (own == null || own.remove(uuid) == null) {
                return;
            }
            if (recompute(uuid, removed)) {
                generation++;
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
            Set<String> touched = new HashSet<>();
            if (replace) {
                for (var it = own.keySet().iterator(); it.hasNext(); ) {
                    String uuid = it.next();
                    if (!incoming.containsKey(uuid)) {
                        it.remove();
                        touched.add(uuid);
                    }
                }
            }
            for (Instance i : incoming.values()) {
                if (!i.equals(own.put(i.uuid(), i))) {
                    touched.add(i.uuid());
                }
            }
            boolean visibleChange = false;
            for (String uuid : touched) {
                visibleChange |= recompute(uuid, removed);
            }
            if (visibleChange) {
                generation++;
                changed = true;
            }
        }
        notifyAfterChange(changed, removed);
    }

    /** Re-picks the winner for one uuid; true when what readers see changed. Caller holds the lock. */
    private boolean recompute(String uuid, List<String> removed) {
        Instance winner = null;
        String winnerSource = null;
        for (Map.Entry<String, Map<String, Instance>> e : bySource.entrySet()) {
            Instance candidate = e.getValue().get(uuid);
            if (candidate == null) {
                continue;
            }
            if (winner == null) {
                winner = candidate;
                winnerSource = e.getKey();
            } else if (conflictsLogged.add(uuid)) {
                LOG.warn("instance {} is reported by sources '{}' and '{}'; showing the one from '{}'",
                        uuid, winnerSource, e.getKey(), winnerSource);
            }
        }
        Instance before = winner == null ? visible.remove(uuid) : visible.put(uuid, winner);
        if (winner == null) {
            sorted.remove(uuid);
        } else {
            sorted.put(uuid, winner);
        }
        if (winner == null) {
            if (before != null) {
                removed.add(uuid);
                conflictsLogged.remove(uuid);
                return true;
            }
            return false;
        }
        return !winner.equals(before);
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
