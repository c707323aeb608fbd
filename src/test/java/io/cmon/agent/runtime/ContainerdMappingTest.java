package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ContainerdMappingTest {

    private static final String ID = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70";
    private static final AgentConfig.Labels LABELS = new AgentConfig.Labels(null, null, null);
    private static final ContainerdMapping.Task RUNNING = new ContainerdMapping.Task(4242, "running");

    private static ContainerdMapping mapping(String ownerFrom) {
        return new ContainerdMapping(LABELS, null, new AgentConfig.Kubernetes(ownerFrom));
    }

    private static Map<String, String> pod(String... more) {
        Map<String, String> labels = new java.util.HashMap<>(Map.of(
                "io.kubernetes.pod.namespace", "alice-prod",
                "io.kubernetes.pod.name", "web-7d9f.x",
                "io.kubernetes.pod.uid", "uid-1",
                "io.kubernetes.container.name", "app"));
        for (int i = 0; i < more.length; i += 2) labels.put(more[i], more[i + 1]);
        return labels;
    }

    @Test
    void podContainerIsOwnedByItsNamespaceAliasedPodSlashContainerAndGroupedByNamespaceAndPod() {
        Instance i = mapping("namespace").toInstance("k8s.io", ID, pod(), "docker.io/library/nginx:1", RUNNING,
                uid -> null);
        assertThat(i.uuid()).isEqualTo("3f2a9c0d-4e5b-6a7f-8091-a2b3c4d5e6f7");
        assertThat(i.owner()).isEqualTo("alice-prod");
        assertThat(i.alias()).isEqualTo("web-7d9f.x/app");
        assertThat(i.groups()).containsExactly("alice-prod", "web-7d9f_x"); // groups: letters, digits, _ and -
        assertThat(i.brand()).isEqualTo("containerd");
        assertThat(i.image()).isEqualTo("docker.io/library/nginx:1");
        assertThat(i.pid()).isEqualTo(4242);
        assertThat(i.running()).isTrue();
        assertThat(i.source()).isEqualTo("containerd");
    }

    /** CRI copies image labels onto the container: an image must not be able to name its owner or uuid. */
    @Test
    void podContainersCmonLabelsAreIgnored() {
        Instance i = mapping("namespace").toInstance("k8s.io", ID,
                pod("cmon.owner", "mallory", "cmon.uuid", "11111111-2222-3333-4444-555555555555",
                        "cmon.groups", "x"), null, RUNNING, uid -> null);
        assertThat(i.owner()).isEqualTo("alice-prod");
        assertThat(i.uuid()).isEqualTo("3f2a9c0d-4e5b-6a7f-8091-a2b3c4d5e6f7");
        assertThat(i.groups()).containsExactly("alice-prod", "web-7d9f_x");
    }

    @Test
    void ownerFromALabelIsTheContainersElseItsPodSandboxes() {
        ContainerdMapping m = mapping("label:tenant");
        assertThat(m.toInstance("k8s.io", ID, pod("tenant", "bob"), null, RUNNING, uid -> null).owner())
                .isEqualTo("bob");
        assertThat(m.toInstance("k8s.io", ID, pod(), null, RUNNING,
                uid -> uid.equals("uid-1") ? Map.of("tenant", "carol") : null).owner()).isEqualTo("carol");
        assertThat(m.toInstance("k8s.io", ID, pod(), null, RUNNING, uid -> null).owner()).isNull();
    }

    @Test
    void sandboxContainerIsNoInstance() {
        assertThat(mapping("namespace").toInstance("k8s.io", ID, pod("io.cri-containerd.kind", "sandbox"), null,
                RUNNING, uid -> null)).isNull();
    }

    @Test
    void plainContainerIsLabelledLikeDockers() {
        Instance i = mapping("namespace").toInstance("default", "web-1",
                Map.of("cmon.owner", " alice ", "cmon.groups", "web, db"), "", null, uid -> null);
        assertThat(i.owner()).isEqualTo("alice");
        assertThat(i.alias()).isEqualTo("web-1");
        assertThat(i.groups()).containsExactly("web", "db");
        assertThat(i.image()).isNull();
        assertThat(i.state()).isEqualTo("stopped"); // no task
        assertThat(i.pid()).isZero();
    }

    @Test
    void uuidIsTheLabelElseTheHexIdElseStableAndNameBased() {
        assertThat(ContainerdMapping.uuidOf("AAAAAAAA-2222-3333-4444-555555555555", "default", "web-1"))
                .isEqualTo("aaaaaaaa-2222-3333-4444-555555555555");
        assertThat(ContainerdMapping.uuidOf(null, "default", ID)).isEqualTo("3f2a9c0d-4e5b-6a7f-8091-a2b3c4d5e6f7");
        String named = ContainerdMapping.uuidOf("not-a-uuid", "default", "web-1");
        assertThat(named).isEqualTo(ContainerdMapping.uuidOf(null, "default", "web-1"))
                .isEqualTo(java.util.UUID.nameUUIDFromBytes("containerd:default/web-1".getBytes(
                        java.nio.charset.StandardCharsets.UTF_8)).toString())
                .isNotEqualTo(ContainerdMapping.uuidOf(null, "other", "web-1"));
    }

    @Test
    void stoppedTaskHasNoPid() {
        Instance i = mapping("namespace").toInstance("k8s.io", ID, pod(), null,
                new ContainerdMapping.Task(4242, "stopped"), uid -> null);
        assertThat(i.state()).isEqualTo("stopped");
        assertThat(i.pid()).isZero();
    }
}
