package io.cmon.jvm;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.prometheus.metrics.instrumentation.jvm.JvmBufferPoolMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmClassLoadingMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmCompilationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryPoolAllocationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmNativeMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.lang.management.ManagementFactory;

/**
 * The JVM metrics of the agent's {@code /metrics} and of the proxy's admin {@code /metrics}: what client_java's
 * {@code JvmMetrics} registers, except that {@code jvm_native_memory_*} is registered only when native memory
 * tracking is on. Those metrics exist only then (the JVM answers "not enabled" otherwise), but asking for them goes
 * through the platform MBean server, which loads ~430 classes (JMX, the platform MXBeans, JFR's management bean)
 * that nothing else in the agent needs: ~2-3 MiB of class metadata for every idle agent (docs/PERFORMANCE.md,
 * "Idle memory, step 2"; the proxy's saving: "step 3").
 */
public final class JvmSelfMetrics {

    private JvmSelfMetrics() {}

    public static void register(PrometheusRegistry registry) {
        register(registry, nativeMemoryTracking());
    }

    static void register(PrometheusRegistry registry, boolean nativeMemoryTracking) {
        JvmThreadsMetrics.builder().register(registry);
        JvmBufferPoolMetrics.builder().register(registry);
        JvmClassLoadingMetrics.builder().register(registry);
        JvmCompilationMetrics.builder().register(registry);
        JvmGarbageCollectorMetrics.builder().register(registry);
        JvmMemoryPoolAllocationMetrics.builder().register(registry);
        JvmMemoryMetrics.builder().register(registry);
        if (nativeMemoryTracking) JvmNativeMemoryMetrics.builder().register(registry);
        JvmRuntimeInfoMetric.builder().register(registry);
        ProcessMetrics.builder().register(registry);
    }

    /**
     * The same metrics, set up by the first scrape of {@code registry} rather than now: until a scrape asks for them
     * the process loads none of client_java's JVM instrumentation nor the platform MXBeans behind it (~170 classes,
     * ~1 MiB of an idle agent's memory; docs/PERFORMANCE.md, "Idle memory, step 4"). Every value is read from the JVM
     * at scrape time as before, except {@code jvm_memory_pool_allocated_bytes_total}, which counts from the first
     * scrape (it sums what each garbage collection found allocated, seen by a listener registered then) instead of
     * from the start: a counter that starts later, as after a restart; its rate is the same.
     */
    public static void registerAtFirstScrape(PrometheusRegistry registry) {
        registry.register(new AtFirstScrape());
    }

    /** Holds the JVM metrics in a registry of its own, built by the first {@link #collect()}. */
    static final class AtFirstScrape implements MultiCollector {
        private PrometheusRegistry jvm; // guarded by this

        @Override
        public MetricSnapshots collect() {
            return jvm().scrape();
        }

        private synchronized PrometheusRegistry jvm() {
            if (jvm == null) {
                PrometheusRegistry built = new PrometheusRegistry();
                register(built);
                jvm = built;
            }
            return jvm;
        }
    }

    /** {@code -XX:NativeMemoryTracking=summary|detail} (off by default), read without the MBean server. */
    static boolean nativeMemoryTracking() {
        try {
            String value = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("NativeMemoryTracking").getValue();
            return !"off".equals(value);
        } catch (RuntimeException e) { // not HotSpot, or no such option: the metrics would be empty anyway
            return false;
        }
    }
}
