package io.cmon.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.List;

/**
 * Inventory protocol v2: the agent's {@code GET /v1/instances} answer when the request's {@code Accept} names
 * {@link #MEDIA_TYPE} (docs/ARCHITECTURE.md, "Inventory protocol v2"). It says what changed since the generation the
 * proxy has, so a long-poll that ends with nothing new costs a few bytes instead of the whole page.
 *
 * <p>{@link Kind#FULL}: {@code instances} is everything (as the v1 {@link InstancesPage}), {@code removed} empty.
 * {@link Kind#DELTA}: {@code instances} are the entries added or changed after the request's {@code since},
 * {@code removed} the uuids gone since; {@code conflicts} is always the complete current list. {@link Kind#UNCHANGED}:
 * the generation is still {@code since}; no lists (absent on the wire), {@code server} present.
 *
 * <p>A generation only means something together with the {@code epoch}: a random string an agent draws when its
 * process starts, so that a proxy never applies a delta computed against another process's generations.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"protocol", "epoch", "generation", "kind", "server", "instances", "removed", "conflicts"})
public record InstancesAnswer(
        @JsonProperty("protocol") int protocol,
        @JsonProperty("epoch") String epoch,
        @JsonProperty("generation") long generation,
        @JsonProperty("kind") Kind kind,
        @JsonProperty("server") InstancesPage.Server server,
        @JsonProperty("instances") List<InstancesPage.Entry> instances,
        @JsonProperty("removed") List<String> removed,
        @JsonProperty("conflicts") List<InstancesPage.Conflict> conflicts) {

    /** The media type a proxy asks for and a v2 agent answers with. */
    public static final String MEDIA_TYPE = "application/vnd.cmon.instances.v2+json";
    /** What a v2 proxy sends as {@code Accept}: v2 first, the v1 page (of an older agent) accepted too. */
    public static final String ACCEPT = MEDIA_TYPE + ", application/json;q=0.5";
    public static final int PROTOCOL = 2;

    /** Which of the three answers this is. */
    public enum Kind {
        @JsonProperty("full") FULL,
        @JsonProperty("delta") DELTA,
        @JsonProperty("unchanged") UNCHANGED
    }

    /** Lists stay null when absent (an {@code unchanged} answer has none): {@link #entries()} and co. read them. */
    public InstancesAnswer {
        instances = instances == null ? null : List.copyOf(instances);
        removed = removed == null ? null : List.copyOf(removed);
        conflicts = conflicts == null ? null : List.copyOf(conflicts);
    }

    public static InstancesAnswer full(String epoch, long generation, InstancesPage.Server server,
                                       List<InstancesPage.Entry> instances, List<InstancesPage.Conflict> conflicts) {
        return new InstancesAnswer(PROTOCOL, epoch, generation, Kind.FULL, server, instances, List.of(), conflicts);
    }

    public static InstancesAnswer delta(String epoch, long generation, InstancesPage.Server server,
                                        List<InstancesPage.Entry> changed, List<String> removed,
                                        List<InstancesPage.Conflict> conflicts) {
        return new InstancesAnswer(PROTOCOL, epoch, generation, Kind.DELTA, server, changed, removed, conflicts);
    }

    public static InstancesAnswer unchanged(String epoch, long generation, InstancesPage.Server server) {
        return new InstancesAnswer(PROTOCOL, epoch, generation, Kind.UNCHANGED, server, null, null, null);
    }

    /**
     * True when an {@code Accept} header lists {@link #MEDIA_TYPE} with a non-zero quality: only then does an agent
     * answer v2 (a proxy of an older version sends {@code application/json} and gets the v1 page).
     */
    public static boolean accepts(String accept) {
        if (accept == null) return false;
        for (String range : accept.split(",")) {
            String[] parts = range.split(";");
            if (!parts[0].trim().equalsIgnoreCase(MEDIA_TYPE)) continue;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (p.startsWith("q=") || p.startsWith("Q=")) {
                    try {
                        if (Double.parseDouble(p.substring(2).trim()) <= 0) return false;
                    } catch (NumberFormatException e) {
                        return false;
                    }
                }
            }
            return true;
        }
        return false;
    }

    /** True when a {@code Content-Type} is {@link #MEDIA_TYPE} (parameters ignored). */
    public static boolean isV2(String contentType) {
        if (contentType == null) return false;
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().equalsIgnoreCase(MEDIA_TYPE);
    }

    /** The entries of a full answer or the added/changed ones of a delta; empty when absent. */
    public List<InstancesPage.Entry> entries() {
        return instances == null ? List.of() : instances;
    }

    /** The uuids a delta removes; empty when absent. */
    public List<String> removedUuids() {
        return removed == null ? List.of() : removed;
    }

    /** A v1 page with the same content, for a full answer. */
    public InstancesPage asPage() {
        return new InstancesPage(server, generation, entries(), conflicts);
    }
}
