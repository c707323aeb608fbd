package io.cmon.proxy;

import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The proxy's admin /metrics keeps the JVM metric names it served with client_java's {@code JvmMetrics}. */
class ProxyJvmMetricsTest {

    @Test
    void theAdminMetricsServeClientJavasJvmMetricNames() {
        PrometheusRegistry clientJava = new PrometheusRegistry();
        JvmMetrics.builder().register(clientJava);

        Set<String> proxy = names(new ProxyMetrics(ProxyMetricsTest.downAgents(1), () -> 0).registry());
        Set<String> notCmon = proxy.stream().filter(n -> !n.startsWith("cmon_"))
                .collect(Collectors.toCollection(TreeSet::new));

        assertThat(notCmon).isEqualTo(names(clientJava))
                .contains("jvm_memory_used_bytes", "jvm_gc_collection_seconds", "process_resident_memory_bytes");
    }

    private static Set<String> names(PrometheusRegistry registry) {
        return registry.scrape().stream().map(s -> s.getMetadata().getPrometheusName())
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
