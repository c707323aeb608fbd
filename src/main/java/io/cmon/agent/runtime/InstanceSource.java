package io.cmon.agent.runtime;

import java.util.concurrent.CompletionStage;

/** A runtime that knows containers: Docker/Podman, the declared instances file, … */
public interface InstanceSource extends AutoCloseable {

    String name();

    /** Begin following the runtime; report into the sink from now on, until {@link #close()}. */
    void start(InstanceSink sink);

    /**
     * Whether the runtime answers now (Docker: its API answered recently within the timeouts). A source that is down
     * keeps its last known instances; the agent reports it in {@code cmon_agent_source_up}.
     */
    default boolean up() {
        return true;
    }

    /** Up/down, last error, events seen and resyncs; sources with more to say than {@link #up()} override it. */
    default SourceHealth health() {
        return new SourceHealth(name(), up(), null, 0, 0);
    }

    /** Rescan everything now (POST /v1/refresh); completes when the sink has the result. */
    CompletionStage<Void> refresh();

    @Override
    void close();
}
