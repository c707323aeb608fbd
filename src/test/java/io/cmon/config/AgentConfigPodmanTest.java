package io.cmon.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** agent.yaml's {@code podman:} key: a second Docker-API socket, for hosts that run Docker and Podman. */
class AgentConfigPodmanTest {

    @Test
    void podmanSocketIsReadBesideDockers() {
        AgentConfig c = ConfigLoader.parse("agent.yaml", """
                docker: {socket: /var/run/docker.sock}
                podman: {socket: /run/podman/podman.sock}
                """, AgentConfig.class);

        assertThat(c.docker().socket()).isEqualTo("/var/run/docker.sock");
        assertThat(c.podman().socket()).isEqualTo("/run/podman/podman.sock");
    }

    @Test
    void podmanIsOffWhenAbsent() {
        assertThat(ConfigLoader.parse("agent.yaml", "listen: 127.0.0.1:9164\n", AgentConfig.class).podman()).isNull();
    }

    @Test
    void podmanWithoutSocketNamesFileAndKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", "podman: {}\n", AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("agent.yaml: key 'podman.socket': missing");
    }

    @Test
    void theSameSocketAsDockerAndPodmanIsRefused() {
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", """
                docker: {socket: /run/podman/podman.sock}
                podman: {socket: /run/podman/podman.sock}
                """, AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("agent.yaml: key 'podman.socket': ")
                .hasMessageContaining("followed twice");
    }
}
