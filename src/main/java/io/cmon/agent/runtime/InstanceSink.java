package io.cmon.agent.runtime;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Where an {@link InstanceSource} reports what it sees; the {@link InstanceInventory} merges all sources. Each report
 * is keyed by the source's own name for the container (Docker: the container id), so that two containers that claim
 * the same instance uuid stay two claims, and the inventory can refuse both.
 */
public interface InstanceSink {

    /** Everything this source knows now, by its key; instances of this source absent from the map are forgotten. */
    void replaceAll(String source, Map<String, Instance> byKey);

    /** One container, new or changed. */
    void upsert(String key, Instance instance);

    /** The container of {@code key} is gone. */
    void remove(String source, String key);

    /**
     * For sources whose key is the uuid: each element is one claim. A uuid listed twice is two claims (keys
     * {@code uuid}, {@code uuid#2}, …), hence a conflict.
     */
    default void replaceAll(String source, Collection<Instance> instances) {
        Map<String, Instance> byKey = new HashMap<>();
        Map<String, Integer> seen = new HashMap<>();
        for (Instance i : instances) {
            int n = seen.merge(i.uuid(), 1, Integer::sum);
            byKey.put(n == 1 ? i.uuid() : i.uuid() + "#" + n, i);
        }
        replaceAll(source, byKey);
    }

    /** For sources whose key is the uuid. */
    default void upsert(Instance instance) {
        upsert(instance.uuid(), instance);
    }
}
