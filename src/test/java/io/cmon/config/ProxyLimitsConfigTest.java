package io.cmon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxyLimitsConfigTest {

    @TempDir
    Path dir;

    private String yaml(String more) throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        return "tls: {cert: " + cert + ", key: " + cert + "}\n"
                + "auth: {mode: ca, tenantCa: " + cert + "}\n"
                + "accounts: " + cert + "\n" + more + "\n";
    }

    @Test
    void limitsDefaultToProductionValues() throws Exception {
        ProxyConfig c = ConfigLoader.parse("proxy.yaml", yaml(""), ProxyConfig.class);
        assertThat(c.limits().maxConnections()).isEqualTo(10_000);
        assertThat(c.limits().maxConnectionsPerSource()).isEqualTo(512);
        assertThat(c.limits().headerTimeoutDuration()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.limits().idleTimeoutDuration()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.limits().maxHeaderSize()).isEqualTo(16 * 1024);
        assertThat(c.adminHosts()).isEmpty();
    }

    @Test
    void limitsAndAdminHostsAreRead() throws Exception {
        ProxyConfig c = ConfigLoader.parse("proxy.yaml", yaml("limits: {maxConnections: 50, headerTimeout: 2s,"
                + " authFailureRate: 0.5, authFailureBurst: 5}\nadminHosts: [proxy-1.ops.example]"), ProxyConfig.class);
        assertThat(c.limits().maxConnections()).isEqualTo(50);
        assertThat(c.limits().maxConnectionsPerSource()).isEqualTo(512);
        assertThat(c.limits().headerTimeoutDuration()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.limits().authFailureBurst()).isEqualTo(5);
        assertThat(c.adminHosts()).containsExactly("proxy-1.ops.example");
    }

    @Test
    void badLimitsNameTheKey() throws Exception {
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml", yaml("limits: {headerTimeout: soon}"),
                ProxyConfig.class)).isInstanceOf(ConfigException.class).hasMessageContaining("limits.headerTimeout");
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml", yaml("limits: {maxConnectionsPerSource: 0}"),
                ProxyConfig.class)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("limits.maxConnectionsPerSource");
    }
}
