package io.cmon.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import io.cmon.config.AgentConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

// public, and the three helpers ContainerdMapping calls: the containerd source is loaded by a class loader of its own
// (ContainerdJar), i.e. from another runtime package, where package-private members are not accessible
/** How a Docker/Podman container inspection becomes an {@link Instance} (DESIGN §2.1): labels, uuid, fields. */
public final class ContainerMapping {

    static final String SOURCE = "docker";
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern HEX32 = Pattern.compile("[0-9a-fA-F]{32,}");

    private final AgentConfig.Labels labels;
    private final String defaultOwner;
    private final String source;

    ContainerMapping(AgentConfig.Labels labels, String defaultOwner) {
        this(labels, defaultOwner, SOURCE);
    }

    /** @param source the reporting source's name: {@code docker}, or {@code podman} for the agent's second socket */
    ContainerMapping(AgentConfig.Labels labels, String defaultOwner, String source) {
        this.labels = labels;
        this.defaultOwner = defaultOwner;
        this.source = source;
    }

    /** The instance of {@code GET /containers/<id>/json}; brand is docker or podman. */
    Instance toInstance(JsonNode inspect, String brand) {
        String id = inspect.path("Id").asText();
        JsonNode containerLabels = inspect.path("Config").path("Labels");
        String owner = text(containerLabels.get(labels.owner()));
        String name = inspect.path("Name").asText("");
        JsonNode state = inspect.path("State");
        String status = text(state.get("Status"));
        long pid = state.path("Pid").asLong(0);
        return new Instance(
                uuidOf(text(containerLabels.get(labels.uuid())), id),
                name.startsWith("/") ? name.substring(1) : name,
                owner == null || owner.isBlank() ? defaultOwner : owner.trim(),
                imageId(text(inspect.get("Image"))),
                brand,
                splitGroups(text(containerLabels.get(labels.groups()))),
                status == null ? "unknown" : status,
                "running".equals(status) || "paused".equals(status) ? pid : 0,
                null,
                text(inspect.path("GraphDriver").path("Data").get("UpperDir")),
                source);
    }

    /** The labelled uuid when it is one (lowercased), else the first 32 hex digits of the container id. */
    static String uuidOf(String label, String containerId) {
        if (label != null && isUuid(label.trim())) {
            return label.trim().toLowerCase(Locale.ROOT);
        }
        return uuidOfContainerId(containerId);
    }

    public static String uuidOfContainerId(String containerId) {
        if (containerId == null || !HEX32.matcher(containerId).matches()) {
            throw new IllegalArgumentException("not a container id: '" + containerId + "'");
        }
        String h = containerId.substring(0, 32).toLowerCase(Locale.ROOT);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-"
                + h.substring(16, 20) + "-" + h.substring(20, 32);
    }

    public static boolean isUuid(String s) {
        return s != null && UUID.matcher(s).matches();
    }

    /** Comma-separated groups, trimmed, empty entries dropped, first occurrence kept. */
    public static List<String> splitGroups(String label) {
        List<String> groups = new ArrayList<>();
        if (label == null) {
            return groups;
        }
        for (String g : label.split(",")) {
            String t = g.trim();
            if (!t.isEmpty() && !groups.contains(t)) {
                groups.add(t);
            }
        }
        return groups;
    }

    static String imageId(String image) {
        if (image == null || image.isEmpty()) {
            return null;
        }
        return image.startsWith("sha256:") ? image.substring("sha256:".length()) : image;
    }

    /**
     * The brand of the daemon that answered {@code GET /_ping}: Podman's compat API sends {@code Libpod-Api-Version}
     * and {@code Server: Libpod/<version>} on every answer, Docker {@code Server: Docker/<version>}.
     */
    static String brandOf(String libpodApiVersion, String server) {
        boolean libpod = (libpodApiVersion != null && !libpodApiVersion.isBlank())
                || (server != null && server.startsWith("Libpod/"));
        return libpod ? "podman" : "docker";
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }
}
