package io.cmon.agent.runtime;

import java.util.Collection;

/** Where an {@link InstanceSource} reports what it sees; the {@link InstanceInventory} merges all sources. */
public interface InstanceSink {

    /** Everything this source knows now; instances of this source absent from the list are forgotten. */
    void replaceAll(String source, Collection<Instance> instances);

    void upsert(Instance instance);

    void remove(String source, String uuid);
}
