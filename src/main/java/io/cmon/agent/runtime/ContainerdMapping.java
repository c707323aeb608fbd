package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * How a containerd container (its labels) and its task (pid, status) become an {@link Instance} (DESIGN §2.1).
 *
 * <p>Plain containers are labelled like Docker's ({@code cmon.owner}, {@code cmon.groups}, {@code cmon.uuid}). A
 * Kubernetes pod's container (CRI labels {@code io.kubernetes.pod.*}) takes its owner from the pod's namespace or a
 * label ({@code kubernetes.ownerFrom}), its alias {@code <pod>/<container>}, its groups the pod's namespace and name;
 * its {@code cmon.*} labels are ignored, because CRI copies the image's labels onto the container, so any image
 * could otherwise name an owner or claim a uuid. The pod's sandbox (pause) container is no instance.
 */
final class ContainerdMapping {

    static final String SOURCE = "containerd";
    static final String BRAND = "containerd";
    static final String POD_NAMESPACE = "io.kubernetes.pod.namespace";
    static final String POD_NAME = "io.kubernetes.pod.name";
    static final String POD_UID = "io.kubernetes.pod.uid";
    static final String CONTAINER_NAME = "io.kubernetes.container.name";
    static final String CRI_KIND = "io.cri-containerd.kind";
    private static final Pattern HEX32 = Pattern.compile("[0-9a-fA-F]{32,}");
    private static final Pattern NOT_GROUP_CHAR = Pattern.compile("[^A-Za-z0-9_-]");

    /** A task's state as the source read it: null task means the container has no task (never started, or deleted). */
    record Task(long pid, String status) {}

    private final AgentConfig.Labels labels;
    private final String defaultOwner;
    private final AgentConfig.Kubernetes kubernetes;

    ContainerdMapping(AgentConfig.Labels labels, String defaultOwner, AgentConfig.Kubernetes kubernetes) {
        this.labels = labels;
        this.defaultOwner = defaultOwner;
        this.kubernetes = kubernetes;
    }

    /** The key of a container in the sink: its namespace and id (ids are unique per namespace only). */
    static String key(String namespace, String id) {
        return namespace + "/" + id;
    }

    static boolean isSandbox(Map<String, String> containerLabels) {
        return "sandbox".equals(containerLabels.get(CRI_KIND));
    }

    static boolean isPodContainer(Map<String, String> containerLabels) {
        return containerLabels.containsKey(POD_NAMESPACE) && containerLabels.containsKey(POD_NAME);
    }

    /**
     * The instance of one container, or null for a pod's sandbox container.
     *
     * @param podLabels the labels of the container's pod (its sandbox container), for {@code ownerFrom: label:<key>};
     *                  called with the pod uid, answers null when the sandbox is unknown
     */
    Instance toInstance(String namespace, String id, Map<String, String> containerLabels, String image, Task task,
                        Function<String, Map<String, String>> podLabels) {
        if (isSandbox(containerLabels)) {
            return null;
        }
        String state = task == null ? "stopped" : task.status();
        long pid = task != null && ("running".equals(state) || "paused".equals(state)) ? task.pid() : 0;
        String imageRef = image == null || image.isEmpty() ? null : image;
        if (isPodContainer(containerLabels)) {
            String podNamespace = containerLabels.get(POD_NAMESPACE);
            String pod = containerLabels.get(POD_NAME);
            String container = containerLabels.getOrDefault(CONTAINER_NAME, id);
            return new Instance(uuidOf(null, namespace, id), pod + "/" + container,
                    podOwner(podNamespace, containerLabels, podLabels), imageRef, BRAND,
                    groups(podNamespace, pod), state, pid, null, null, SOURCE);
        }
        String owner = containerLabels.get(labels.owner());
        return new Instance(
                uuidOf(containerLabels.get(labels.uuid()), namespace, id),
                id,
                owner == null || owner.isBlank() ? defaultOwner : owner.trim(),
                imageRef,
                BRAND,
                ContainerMapping.splitGroups(containerLabels.get(labels.groups())),
                state, pid, null, null, SOURCE);
    }

    private String podOwner(String podNamespace, Map<String, String> containerLabels,
                            Function<String, Map<String, String>> podLabels) {
        String key = kubernetes.ownerLabel();
        if (key == null) {
            return podNamespace;
        }
        String owner = containerLabels.get(key);
        if (owner == null || owner.isBlank()) {
            String uid = containerLabels.get(POD_UID);
            Map<String, String> pod = uid == null ? null : podLabels.apply(uid);
            owner = pod == null ? null : pod.get(key);
        }
        return owner == null || owner.isBlank() ? defaultOwner : owner.trim();
    }

    /**
     * The labelled uuid when it is one; else, as for Docker, the first 32 hex digits of an id of 32+ hex digits (CRI's
     * and Docker's ids are 64); else a name-based (version 3) uuid of {@code containerd:<namespace>/<id>}, stable
     * across restarts of the container and of the agent.
     */
    static String uuidOf(String label, String namespace, String id) {
        if (label != null && ContainerMapping.isUuid(label.trim())) {
            return label.trim().toLowerCase(Locale.ROOT);
        }
        if (HEX32.matcher(id).matches()) {
            return ContainerMapping.uuidOfContainerId(id);
        }
        return UUID.nameUUIDFromBytes(("containerd:" + key(namespace, id)).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    /** The pod's namespace and name, as groups (letters, digits, _ and -: any other character becomes _). */
    static List<String> groups(String podNamespace, String pod) {
        List<String> groups = new ArrayList<>(2);
        for (String g : new String[] {podNamespace, pod}) {
            if (g == null || g.isBlank()) continue;
            String clean = NOT_GROUP_CHAR.matcher(g.trim()).replaceAll("_");
            clean = clean.length() > 100 ? clean.substring(0, 100) : clean;
            if (!groups.contains(clean)) groups.add(clean);
        }
        return groups;
    }

    /** containerd's task status enum name as the state the agent reports (running, paused, created, stopped, …). */
    static String state(String statusEnumName) {
        return statusEnumName == null ? "unknown" : statusEnumName.toLowerCase(Locale.ROOT);
    }
}
