package io.cmon.agent.plugin;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PluginOptionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void defaultsAreThreeSecondsAndOneMinute() {
        assertThat(PluginOptions.DEFAULTS.timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(PluginOptions.DEFAULTS.ttl()).isEqualTo(Duration.ofSeconds(60));
        assertThat(PluginOptions.DEFAULTS.namespaces()).isEmpty();
    }

    @Test
    void optionLinesInTheFileHeadSetDurationsAndNamespaces() {
        PluginOptions o = PluginOptions.DEFAULTS.withHeader("""
                #!/bin/sh
                # OPTION timeout=5s
                #OPTION ttl = 2m
                # OPTION namespaces=net,uts
                echo '# OPTION ttl=1s'   (not a comment line: ignored)
                """);
        assertThat(o.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(o.ttl()).isEqualTo(Duration.ofMinutes(2));
        assertThat(o.namespaces()).isEqualTo(Set.of("net", "uts"));
    }

    @Test
    void pluginJsonNumbersAreCmonAgentsUnitsAndOverrideTheHead() throws Exception {
        PluginOptions o = PluginOptions.DEFAULTS.withHeader("# OPTION timeout=5s\n# OPTION ttl=10s\n")
                .withJson(JSON.readTree("{\"timeout\": 1500, \"ttl\": 120, \"namespaces\": [\"net\"]}"));
        assertThat(o.timeout()).isEqualTo(Duration.ofMillis(1500)); // ms, as cmon-agent's plugin.json
        assertThat(o.ttl()).isEqualTo(Duration.ofSeconds(120)); // s
        assertThat(o.namespaces()).containsExactly("net");
        assertThat(PluginOptions.DEFAULTS.withJson(JSON.readTree("{\"ttl\": \"90s\"}")).ttl())
                .isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void anOutputTtlOptionIsInSeconds() {
        assertThat(PluginOptions.DEFAULTS.withOutputTtl("300").ttl()).isEqualTo(Duration.ofSeconds(300));
        assertThatThrownBy(() -> PluginOptions.DEFAULTS.withOutputTtl("5m"))
                .hasMessageContaining("ttl: '5m' is not a number");
    }

    @Test
    void badOptionsAreNamed() {
        assertThatThrownBy(() -> PluginOptions.DEFAULTS.withHeader("# OPTION namespaces=mnt\n"))
                .hasMessageContaining("namespaces: 'mnt'").hasMessageContaining("would not be found");
        assertThatThrownBy(() -> PluginOptions.DEFAULTS.withHeader("# OPTION timeout=2m\n"))
                .hasMessageContaining("timeout: 2m is not within (0, 30s]");
        assertThatThrownBy(() -> PluginOptions.DEFAULTS.withHeader("# OPTION colour=blue\n"))
                .hasMessageContaining("unknown option 'colour'");
        assertThatThrownBy(() -> PluginOptions.DEFAULTS.withJson(JSON.readTree("{\"ttl\": true}")))
                .hasMessageContaining("ttl: expected a number or a duration string");
    }

    @Test
    void pluginNamesAreTheFileNameUpToItsFirstDot() {
        assertThat(PluginMetrics.pluginName("mysql.prom.sh")).isEqualTo("mysql");
        assertThat(PluginMetrics.pluginName("disk-health")).isEqualTo("disk_health");
        assertThat(PluginMetrics.pluginName("zpool.sh")).isEqualTo("zpool");
    }
}
