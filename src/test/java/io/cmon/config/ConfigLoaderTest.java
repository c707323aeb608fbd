package io.cmon.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    /** Path.of refuses a NUL character with InvalidPathException, which escaped config loading unnamed. */
    @Test
    void aFilePathWithANulCharacterIsAConfigErrorNamingFileAndKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml",
                "tls: {cert: \"a\\0b.pem\", key: k.pem, clientCa: ca.pem}\n", AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("agent.yaml: key 'tls.cert': ")
                .hasMessageContaining("not a valid path");
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml",
                "tls: {cert: \"\\0\", key: k.pem}\naccounts: a.yaml\n", ProxyConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("proxy.yaml: key 'tls.cert': ");
    }

    @Test
    void gzExclusionsAreReadFromAgentYamlAndABadExpressionNamesItsKey() {
        AgentConfig c = ConfigLoader.parse("agent.yaml",
                "gz: {filesystems: {excludeMountPoints: '^/scratch($|/)'}, network: {excludeDevices: 'veth.*|tap.*'}}\n",
                AgentConfig.class);
        org.assertj.core.api.Assertions.assertThat(c.gz().filesystems().excludeMountPoints()).isEqualTo("^/scratch($|/)");
        org.assertj.core.api.Assertions.assertThat(c.gz().filesystems().excludeFsTypes()).isNull();
        org.assertj.core.api.Assertions.assertThat(c.gz().network().excludeDevices()).isEqualTo("veth.*|tap.*");
        org.assertj.core.api.Assertions.assertThat(ConfigLoader.parse("agent.yaml", "listen: 127.0.0.1:1\n",
                AgentConfig.class).gz().network().excludeDevices()).isNull();

        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", "gz: {network: {excludeDevices: 'veth[0-'}}\n",
                AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("agent.yaml: key 'gz.network.excludeDevices': 'veth[0-' is not a regular expression");
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", "gz: {filesystems: {excludeFsType: x}}\n",
                AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("gz.filesystems.excludeFsType").hasMessageContaining("unknown key");
    }

    @Test
    void anEmptyPluginDirectoryIsAConfigErrorNamingTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", "plugins: {vmDir: \"  \"}\n", AgentConfig.class))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("agent.yaml: key 'plugins.vmDir': empty path");
        assertThatThrownBy(() -> ConfigLoader.parse("agent.yaml", "plugins: {gzDir: \"\"}\n", AgentConfig.class))
                .hasMessageStartingWith("agent.yaml: key 'plugins.gzDir': empty path");
    }
}
