package io.cmon.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AgentContainerdConfigTest {

    private static AgentConfig parse(String yaml) {
        return ConfigLoader.parse("agent.yaml", yaml, AgentConfig.class);
    }

    @Test
    void containerdIsOffUnlessConfiguredAndTakesTheDefaultSocketAndAllNamespaces() {
        AgentConfig none = parse("listen: 127.0.0.1:9164\n");
        assertThat(none.containerd()).isNull();
        assertThat(none.kubernetes().ownerFrom()).isEqualTo("namespace");

        AgentConfig defaults = parse("containerd: {}\n");
        assertThat(defaults.containerd().socket()).isEqualTo("/run/containerd/containerd.sock");
        assertThat(defaults.containerd().namespaces()).isEmpty();

        AgentConfig some = parse("containerd: {socket: /run/k.sock, namespaces: [k8s.io, moby]}\n"
                + "kubernetes: {ownerFrom: 'label:tenant'}\n");
        assertThat(some.containerd().namespaces()).containsExactly("k8s.io", "moby");
        assertThat(some.kubernetes().ownerLabel()).isEqualTo("tenant");
        assertThat(some.withListen("127.0.0.1:1").containerd()).isEqualTo(some.containerd());
    }

    @Test
    void badContainerdAndKubernetesValuesNameFileKeyAndProblem() {
        assertThatThrownBy(() -> parse("containerd: {socket: ''}\n"))
                .hasMessageStartingWith("agent.yaml: key 'containerd.socket': empty");
        assertThatThrownBy(() -> parse("containerd: {namespaces: [k8s.io, '']}\n"))
                .hasMessageStartingWith("agent.yaml: key 'containerd.namespaces[1]': empty namespace");
        assertThatThrownBy(() -> parse("kubernetes: {ownerFrom: pod}\n"))
                .hasMessageStartingWith("agent.yaml: key 'kubernetes.ownerFrom': 'pod' is neither");
        assertThatThrownBy(() -> parse("kubernetes: {ownerFrom: 'label:'}\n"))
                .hasMessageStartingWith("agent.yaml: key 'kubernetes.ownerFrom'");
        assertThatThrownBy(() -> parse("containerd: {sock: /x}\n"))
                .hasMessageStartingWith("agent.yaml: key 'containerd.sock': unknown key");
    }

    @Test
    void theConstructorWithoutContainerdKeepsItOff() {
        AgentConfig c = new AgentConfig("127.0.0.1:1", null, null, null, null, null, null, false, null);
        assertThat(c.containerd()).isNull();
        assertThat(c.kubernetes()).isEqualTo(new AgentConfig.Kubernetes("namespace"));
        assertThat(List.of(c.labels().owner())).containsExactly("cmon.owner");
    }
}
