package io.cmon.proxy;

import io.cmon.config.HostPort;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AgentListTest {

    @Test
    void oneAgentPerLineWithCommentsAndYamlDashes() {
        AgentList list = AgentList.parse("# fleet\n10.0.0.7:9164\n\n- cn-8.example.com:9164  # rack 2\n[::1]:9164\n");
        assertThat(list.agents()).containsExactlyInAnyOrder(new HostPort("10.0.0.7", 9164),
                new HostPort("cn-8.example.com", 9164), new HostPort("::1", 9164));
        assertThat(list.problems()).isEmpty();
    }

    @Test
    void badLinesAreReportedAndTheRestUsed() {
        AgentList list = AgentList.parse("10.0.0.7:9164\nno-port\n10.0.0.8:99999\n");
        assertThat(list.agents()).containsExactly(new HostPort("10.0.0.7", 9164));
        assertThat(list.problems()).hasSize(2).first().asString().startsWith("line 2:");
    }
}
