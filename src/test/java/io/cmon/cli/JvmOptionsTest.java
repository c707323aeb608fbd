package io.cmon.cli;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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

    @Test
    void theAgentsOptionsKeepClientJavaFromStartingItsExemplarThread() throws IOException, InterruptedException {
        assertThat(metricsThreads(List.of())).isEqualTo("scheduler=true");
        assertThat(metricsThreads(JvmOptions.of("agent"))).isEqualTo("scheduler=false");
    }

    /** What {@link MetricsProbe} prints in a JVM started with these options. */
    private static String metricsThreads(List<String> options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), MetricsProbe.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new String(out, StandardCharsets.UTF_8).strip();
    }

    /** Uses a counter and a histogram as the agent's HTTP server does, then says whether client_java's thread runs. */
    static final class MetricsProbe {
        public static void main(String[] args) {
            Counter requests = Counter.builder().name("probe_requests_total").labelNames("code").register();
            Histogram durations = Histogram.builder().name("probe_duration_seconds").register();
            for (int i = 0; i < 100; i++) {
                requests.labelValues("200").inc();
                durations.observe(0.001 * i);
            }
            boolean scheduler = Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().startsWith("prometheus-metrics-scheduler"));
            System.out.println("scheduler=" + scheduler);
        }
    }
}
