package io.cmon.jvm;

import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class JvmSelfMetricsTest {

    @Test
    void withoutTrackingTheSameJvmMetricsAsClientJavasJvmMetrics() {
        assertThat(JvmSelfMetrics.nativeMemoryTracking()).isFalse(); // surefire's JVM runs without it
        PrometheusRegistry all = new PrometheusRegistry();
        JvmMetrics.builder().register(all);
        PrometheusRegistry ours = new PrometheusRegistry();

        JvmSelfMetrics.register(ours);

        assertThat(names(ours)).isEqualTo(names(all))
                .contains("jvm_memory_used_bytes", "jvm_threads_current", "process_resident_memory_bytes")
                .noneMatch(n -> n.startsWith("jvm_native_memory"));
    }

    @Test
    void aJvmWithTrackingServesTheNativeMemoryMetrics() throws IOException, InterruptedException {
        assertThat(probe("-XX:NativeMemoryTracking=summary"))
                .isEqualTo("tracking=true jvm_native_memory_committed_bytes=true jvm_memory_used_bytes=true");
        assertThat(probe("-XX:NativeMemoryTracking=off"))
                .isEqualTo("tracking=false jvm_native_memory_committed_bytes=false jvm_memory_used_bytes=true");
    }

    @Test
    void registeredAtFirstScrapeServesTheSameJvmMetricsAsRegisteredAtOnce() {
        PrometheusRegistry atOnce = new PrometheusRegistry();
        JvmSelfMetrics.register(atOnce);
        PrometheusRegistry deferred = new PrometheusRegistry();

        JvmSelfMetrics.registerAtFirstScrape(deferred);

        assertThat(names(deferred)).isEqualTo(names(atOnce)).contains("jvm_memory_pool_allocated_bytes");
        assertThat(names(deferred)).as("a second scrape, from the same registration").isEqualTo(names(atOnce));
    }

    @Test
    void registeredAtFirstScrapeLoadsNoJvmInstrumentationUntilTheFirstScrape() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xshare:off", "-Xlog:class+load=info:stdout",
                "-cp", System.getProperty("java.class.path"), DeferredProbe.class.getName())
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> lines = new String(out, StandardCharsets.UTF_8).lines().toList();

        int registered = lines.indexOf("registered");
        int scraped = lines.indexOf("scraped");
        assertThat(registered).as("probe output: %s", lines).isPositive();
        assertThat(scraped).as("probe output: %s", lines).isGreaterThan(registered);
        assertThat(lines.subList(0, registered)).noneMatch(JvmSelfMetricsTest::jvmInstrumentationLoad)
                .noneMatch(l -> l.contains("[class,load] java.lang.management.ManagementFactory "));
        assertThat(lines.subList(registered, scraped)).anyMatch(JvmSelfMetricsTest::jvmInstrumentationLoad);
        assertThat(lines.subList(scraped, lines.size())).contains("jvm_threads_current=true");
    }

    private static boolean jvmInstrumentationLoad(String line) {
        return line.contains("[class,load] io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics ");
    }

    /** What {@link Probe} prints in a JVM started with the given option. */
    private static String probe(String option) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), option, "-cp", System.getProperty("java.class.path"),
                Probe.class.getName()).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    }

    private static Set<String> names(PrometheusRegistry registry) {
        return registry.scrape().stream().map(s -> s.getMetadata().getPrometheusName())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** Run in a child JVM by {@link #aJvmWithTrackingServesTheNativeMemoryMetrics}. */
    static final class Probe {
        public static void main(String[] args) {
            PrometheusRegistry registry = new PrometheusRegistry();
            JvmSelfMetrics.register(registry);
            Set<String> names = names(registry);
            System.out.println("tracking=" + JvmSelfMetrics.nativeMemoryTracking()
                    + " jvm_native_memory_committed_bytes=" + names.contains("jvm_native_memory_committed_bytes")
                    + " jvm_memory_used_bytes=" + names.contains("jvm_memory_used_bytes"));
        }
    }

    /** Run in a child JVM by {@link #registeredAtFirstScrapeLoadsNoJvmInstrumentationUntilTheFirstScrape}. */
    static final class DeferredProbe {
        public static void main(String[] args) {
            PrometheusRegistry registry = new PrometheusRegistry();
            JvmSelfMetrics.registerAtFirstScrape(registry);
            System.out.println("registered");
            System.out.flush();
            Set<String> names = names(registry);
            System.out.println("scraped");
            System.out.println("jvm_threads_current=" + names.contains("jvm_threads_current"));
        }
    }
}
