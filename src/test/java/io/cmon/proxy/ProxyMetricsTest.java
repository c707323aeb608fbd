package io.cmon.proxy;

import io.cmon.config.HostPort;
import io.cmon.proxy.inventory.FleetInventory;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyMetricsTest {

    static String scrape(ProxyMetrics m) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PrometheusTextFormatWriter(false).write(out, m.registry().scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    static FleetInventory downAgents(int n) {
        FleetInventory inv = new FleetInventory();
        for (int i = 0; i < n; i++) {
            HostPort a = new HostPort("127.10.0." + (1 + i), 9164);
            inv.addAgent(a);
            inv.markDown(a, "connection refused");
        }
        return inv;
    }

    @Test
    void perAgentSeriesUpToTheConfiguredSizeSummariesAlways() throws IOException {
        String small = scrape(new ProxyMetrics(downAgents(3), () -> 0, 3));
        assertThat(small).contains("cmon_proxy_agent_up{agent=\"127.10.0.1:9164\"",
                "cmon_proxy_agents{state=\"down\"} 3.0", "cmon_proxy_agents{state=\"up\"} 0.0");

        String large = scrape(new ProxyMetrics(downAgents(4), () -> 0, 3));
        assertThat(large).as("4 agents > perAgentMetricsMax 3: no series per agent")
                .doesNotContain("cmon_proxy_agent_up{")
                .doesNotContain("cmon_proxy_agent_watch_lag_seconds{")
                .contains("cmon_proxy_agents{state=\"down\"} 4.0");
    }
}
