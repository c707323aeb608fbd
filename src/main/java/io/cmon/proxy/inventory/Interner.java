package io.cmon.proxy.inventory;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.WeakHashMap;

/**
 * One shared copy of each equal value (owners, images, brands, states, server uuids, group lists): a million
 * instances name a few thousand distinct values, and each answer parsed from an agent brings fresh copies of them.
 * Weak: a value no instance refers to any more is collected, so the table is bounded by the live inventory, whatever
 * agents send (unlike {@link String#intern}, which keeps everything for the JVM's life). Not thread-safe: the
 * {@link FleetInventory} calls it under its lock.
 */
final class Interner {

    private final WeakHashMap<Object, WeakReference<Object>> table = new WeakHashMap<>();

    @SuppressWarnings("unchecked")
    <T> T intern(T value) {
        if (value == null) return null;
        WeakReference<Object> ref = table.get(value);
        Object shared = ref == null ? null : ref.get();
        if (shared != null) return (T) shared;
        table.put(value, new WeakReference<>(value));
        return value;
    }

    /** The list, its strings interned, as one shared immutable list. */
    List<String> internList(List<String> values) {
        if (values == null || values.isEmpty()) return List.of();
        List<String> known = intern0(values);
        if (known != null) return known;
        String[] copy = new String[values.size()];
        for (int i = 0; i < copy.length; i++) copy[i] = intern(values.get(i));
        return intern(List.of(copy));
    }

    @SuppressWarnings("unchecked")
    private List<String> intern0(List<String> values) {
        WeakReference<Object> ref = table.get(values);
        return ref == null ? null : (List<String>) ref.get();
    }

    /** Distinct values held now (for tests and status). */
    int size() {
        return table.size();
    }
}
