package io.cmon.cli;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class JvmOptionsTest {

    @Test
    void theAgentsOptionsCapItsHeapAndUseTheSerialCollector_withoutComments() {
        assertThat(JvmOptions.of("agent")).contains("-XX:+UseSerialGC").anyMatch(o -> o.startsWith("-Xmx"))
                .noneMatch(o -> o.startsWith("#") || o.isBlank());
    }

    @Test
    void theAgentStartsWithTwoMallocArenas_theProxyWithTheEnvironmentAsIs() {
        assertThat(JvmOptions.environment("agent")).isEqualTo(Map.of("MALLOC_ARENA_MAX", "2"));
        assertThat(JvmOptions.environment("proxy")).isEmpty();
    }

    @Test
    void aRoleWithoutAnOptionsFileHasNone() {
        assertThat(JvmOptions.of("ca")).isEmpty();
    }
}
