package io.cmon.agent.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cmon.config.AgentConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Fixtures: inspections captured from Docker 20.10 (API 1.41) and Podman 4.3.1 (its Docker-compatible API) on this
 * project's test host.
 */
class ContainerMappingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ContainerMapping defaults = new ContainerMapping(new AgentConfig.Labels(null, null, null), null);

    private static JsonNode fixture(String name) throws IOException {
        try (InputStream in = ContainerMappingTest.class.getResourceAsStream("/runtime/" + name)) {
            return JSON.readTree(in);
        }
    }

    @Test
    void uuidIsTheFirst32HexDigitsOfTheIdAs8_4_4_4_12() {
        assertThat(ContainerMapping.uuidOfContainerId(
                "F0EDD36773387d6f326c29bea618eebf75f5ca2d20e3b9cb24121dd1fa3dd8bf"))
                .isEqualTo("f0edd367-7338-7d6f-326c-29bea618eebf");
    }

    @Test
    void uuidLabelWinsWhenItIsAUuidAndIsLowercased() {
        assertThat(ContainerMapping.uuidOf(" 6F1C2A3B-0000-4000-8000-00000000ABCD ", "f0edd36773387d6f326c29bea618eebf"))
                .isEqualTo("6f1c2a3b-0000-4000-8000-00000000abcd");
    }

    @Test
    void uuidLabelThatIsNotAUuidIsIgnored() {
        assertThat(ContainerMapping.uuidOf("db-1", "f0edd36773387d6f326c29bea618eebf75f5"))
                .isEqualTo("f0edd367-7338-7d6f-326c-29bea618eebf");
        assertThat(ContainerMapping.uuidOf("6f1c2a3b-0000-4000-8000-00000000abc", "f0edd36773387d6f326c29bea618eebf"))
                .isEqualTo("f0edd367-7338-7d6f-326c-29bea618eebf");
    }

    @Test
    void containerIdShorterThan32HexDigitsIsRejected() {
        assertThatThrownBy(() -> ContainerMapping.uuidOfContainerId("f0edd367"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ContainerMapping.uuidOfContainerId("zzedd36773387d6f326c29bea618eebf"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void groupsAreSplitOnCommasTrimmedWithoutEmptiesOrRepeats() {
        assertThat(ContainerMapping.splitGroups(" web, db,,web , ")).containsExactly("web", "db");
        assertThat(ContainerMapping.splitGroups("")).isEmpty();
        assertThat(ContainerMapping.splitGroups(null)).isEmpty();
    }

    @Test
    void runningContainerMapsEveryField() throws IOException {
        Instance i = defaults.toInstance(fixture("docker-inspect-running.json"), "docker");

        assertThat(i.uuid()).isEqualTo("f0edd367-7338-7d6f-326c-29bea618eebf");
        assertThat(i.alias()).isEqualTo("cmon-fixture-web");
        assertThat(i.owner()).isEqualTo("alice");
        assertThat(i.groups()).containsExactly("web", "db");
        assertThat(i.image()).isEqualTo("4d2b14b6ff08884d57541e292f9bab872189b2dbe0b119d0fa53b0f5acd11e6b");
        assertThat(i.brand()).isEqualTo("docker");
        assertThat(i.state()).isEqualTo("running");
        assertThat(i.pid()).isPositive();
        assertThat(i.cgroup()).isNull();
        assertThat(i.rootfs()).isEqualTo("/var/lib/docker/overlay2/"
                + "77cba393c46f78c83bfa3340bfa022026b4d26e4d4406e26087e7b3fda286912/diff");
        assertThat(i.source()).isEqualTo("docker");
    }

    @Test
    void podmansCompatInspectionMapsLikeDockers() throws IOException {
        Instance i = new ContainerMapping(new AgentConfig.Labels(null, null, null), null, "podman")
                .toInstance(fixture("podman-inspect-running.json"), "podman");

        assertThat(i.uuid()).isEqualTo("bd8b62d6-a8f6-6c23-89a3-94b5edbbe50a");
        assertThat(i.alias()).isEqualTo("cmon-fixture-web");
        assertThat(i.owner()).isEqualTo("alice");
        assertThat(i.groups()).containsExactly("web", "db");
        assertThat(i.image()).isEqualTo("2186e62de13598c2a11116e92f2522cbe57c4a04359fc64fa0d920ad97de8884");
        assertThat(i.state()).isEqualTo("running");
        assertThat(i.pid()).isEqualTo(4939);
        assertThat(i.rootfs()).isEqualTo("/var/lib/containers/storage/overlay/"
                + "c2d8eae18dc23a7d82d3e7e7314e99b73f101eba159edb59eb500b98d3660b20/diff");
        assertThat(i.brand()).isEqualTo("podman");
        assertThat(i.source()).isEqualTo("podman");
    }

    @Test
    void exitedContainerHasNoPid() throws IOException {
        Instance i = defaults.toInstance(fixture("docker-inspect-exited.json"), "docker");
        assertThat(i.state()).isEqualTo("exited");
        assertThat(i.pid()).isZero();
        assertThat(i.running()).isFalse();
    }

    @Test
    void configuredLabelKeysAndDefaultOwnerApply() throws IOException {
        ObjectNode inspect = (ObjectNode) fixture("docker-inspect-running.json");
        ObjectNode labels = (ObjectNode) inspect.path("Config").path("Labels");
        labels.put("triton.cmon.groups", "a,b");
        labels.put("io.example.id", "11111111-2222-3333-4444-555555555555");
        ContainerMapping custom = new ContainerMapping(
                new AgentConfig.Labels("io.example.owner", "triton.cmon.groups", "io.example.id"), "ops");

        Instance i = custom.toInstance(inspect, "podman");

        assertThat(i.owner()).isEqualTo("ops");
        assertThat(i.groups()).containsExactly("a", "b");
        assertThat(i.uuid()).isEqualTo("11111111-2222-3333-4444-555555555555");
        assertThat(i.brand()).isEqualTo("podman");
    }

    @Test
    void containerWithoutLabelsOrUpperDirMapsToNulls() throws IOException {
        ObjectNode inspect = (ObjectNode) fixture("docker-inspect-running.json");
        ((ObjectNode) inspect.path("Config")).putNull("Labels");
        inspect.remove("GraphDriver");
        Instance i = defaults.toInstance(inspect, "docker");
        assertThat(i.owner()).isNull();
        assertThat(i.groups()).isEmpty();
        assertThat(i.rootfs()).isNull();
    }

    @Test
    void brandIsPodmanWhenThePingAnswerComesFromLibpod() {
        // headers of GET /_ping as captured from Docker 20.10 and Podman 4.3.1 on this project's test host
        assertThat(ContainerMapping.brandOf(null, "Docker/20.10.24+dfsg1 (linux)")).isEqualTo("docker");
        assertThat(ContainerMapping.brandOf("4.3.1", "Libpod/4.3.1 (linux)")).isEqualTo("podman");
        assertThat(ContainerMapping.brandOf(null, "Libpod/5.0.0 (linux)")).isEqualTo("podman");
        assertThat(ContainerMapping.brandOf(null, null)).isEqualTo("docker");
    }

    @Test
    void eventTimestampIsSecondsDotNanos() {
        assertThat(DockerSource.timestamp(1_690_000_000_012_345_678L)).isEqualTo("1690000000.012345678");
    }
}
