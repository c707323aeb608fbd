package io.cmon.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * The agent's {@code GET /v1/instances} answer, which every proxy long-polls: the wire contract between them
 * (DESIGN §2.5).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record InstancesPage(
        @JsonProperty("server") Server server,
        @JsonProperty("generation") long generation,
        @JsonProperty("instances") List<Entry> instances,
        @JsonProperty("conflicts") List<Conflict> conflicts) {

    public InstancesPage {
        instances = instances == null ? List.of() : List.copyOf(instances);
        conflicts = conflicts == null ? List.of() : List.copyOf(conflicts);
    }

    public InstancesPage(Server server, long generation, List<Entry> instances) {
        this(server, generation, instances, List.of());
    }

    /**
     * A uuid that two or more containers of this agent claim: absent from {@code instances} (served to nobody), listed
     * here for operators. Proxies ignore it.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Conflict(@JsonProperty("vm_uuid") String vmUuid, @JsonProperty("claimants") List<String> claimants) {
        public Conflict {
            claimants = claimants == null ? List.of() : List.copyOf(claimants);
        }
    }

    /**
     * The agent's server; {@code sources} (absent from older agents) says how each instance source is doing,
     * {@code version} (absent from older agents, null when the jar carries none) is the agent's cmon version.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Server(@JsonProperty("uuid") String uuid, @JsonProperty("hostname") String hostname,
                         @JsonProperty("sources") List<Source> sources, @JsonProperty("version") String version) {
        public Server {
            sources = sources == null ? List.of() : List.copyOf(sources);
        }

        public Server(String uuid, String hostname, List<Source> sources) {
            this(uuid, hostname, sources, null);
        }

        public Server(String uuid, String hostname) {
            this(uuid, hostname, List.of());
        }
    }

    /** One instance source of an agent: whether its runtime answers, its last error, events seen, resyncs. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Source(@JsonProperty("name") String name, @JsonProperty("up") boolean up,
                         @JsonProperty("last_error") String lastError,
                         @JsonProperty("events_seen") long eventsSeen, @JsonProperty("resyncs") long resyncs) {}

    /** vm_owner_uuid is the owner as labelled on the host: an account uuid or a login; the proxy resolves it. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Entry(
            @JsonProperty("vm_uuid") String vmUuid,
            @JsonProperty("vm_alias") String vmAlias,
            @JsonProperty("vm_owner_uuid") String vmOwnerUuid,
            @JsonProperty("vm_image_uuid") String vmImageUuid,
            @JsonProperty("vm_brand") String vmBrand,
            @JsonProperty("groups") List<String> groups,
            @JsonProperty("state") String state) {

        public Entry {
            groups = groups == null ? List.of() : List.copyOf(groups);
        }
    }
}
