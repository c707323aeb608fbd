package io.cmon.agent.collect;

import io.cmon.agent.runtime.Instance;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class InstanceMetricsTest {

    private static final Instance WEB = Fixtures.running("6f1c0000-0000-4000-8000-000000000001", 1);
    private final ExecutorService workers = Executors.newFixedThreadPool(4);
    private final long[] now = {0};

    @AfterEach
    void stop() {
        workers.shutdownNow();
    }

    /** A collector that counts its calls and, optionally, throws or waits for a gate. */
    private static final class Counting implements Collector {
        final String name;
        final Duration ttl;
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean failing;
        volatile CountDownLatch gate;

        Counting(String name, Duration ttl) {
            this.name = name;
            this.ttl = ttl;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Duration ttl() {
            return ttl;
        }

        @Override
        public List<MetricSnapshot> collect(Instance instance) throws Exception {
            int call = calls.incrementAndGet();
            if (gate != null) {
                gate.await(5, TimeUnit.SECONDS);
            }
            if (failing) {
                throw new IllegalStateException("kernel said no");
            }
            return List.of(new Metrics.Gauge(name + "_calls", "calls").of(call));
        }
    }

    private InstanceMetrics metrics(Collector... collectors) {
        return new InstanceMetrics(List.of(collectors), workers, () -> now[0], Duration.ofSeconds(2));
    }

    private static Double value(MetricSnapshots snapshots, String name) {
        return snapshots.stream().filter(s -> s.getMetadata().getName().equals(name)).findFirst()
                .map(s -> ((GaugeSnapshot) s).getDataPoints().get(0).getValue()).orElse(null);
    }

    @Test
    void aThrowingCollectorIsUnavailableWhileTheOthersAreReported() throws Exception {
        Counting broken = new Counting("broken", Duration.ofSeconds(1));
        broken.failing = true;
        Counting fine = new Counting("fine", Duration.ofSeconds(1));

        MetricSnapshots out = metrics(broken, fine).collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(value(out, "broken_metrics_available_boolean")).isEqualTo(0.0);
        assertThat(value(out, "broken_calls")).isNull();
        assertThat(value(out, "fine_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(out, "fine_calls")).isEqualTo(1.0);
        assertThat(value(out, "fine_metrics_timer_seconds")).isGreaterThanOrEqualTo(0.0);
    }

    @Test
    void aSecondScrapeWithinTheTtlIsServedFromCacheAndSaysSo() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        InstanceMetrics metrics = metrics(cpu);

        MetricSnapshots first = metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        now[0] += Duration.ofMillis(999).toNanos();
        MetricSnapshots second = metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        now[0] += Duration.ofMillis(2).toNanos();
        MetricSnapshots third = metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(value(first, "cpu_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(value(second, "cpu_metrics_cached_boolean")).isEqualTo(1.0);
        assertThat(value(second, "cpu_calls")).isEqualTo(1.0);
        assertThat(value(third, "cpu_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(value(third, "cpu_calls")).isEqualTo(2.0);
    }

    @Test
    void concurrentScrapesOfOneInstanceShareOneCollection() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        cpu.gate = new CountDownLatch(1);
        InstanceMetrics metrics = metrics(cpu);

        List<CompletableFuture<MetricSnapshots>> scrapes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            scrapes.add(metrics.collect(WEB));
        }
        cpu.gate.countDown();

        for (CompletableFuture<MetricSnapshots> scrape : scrapes) {
            assertThat(value(scrape.get(1, TimeUnit.SECONDS), "cpu_calls")).isEqualTo(1.0);
        }
        assertThat(cpu.calls).hasValue(1);
    }

    @Test
    void otherInstancesHaveTheirOwnCollection() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        InstanceMetrics metrics = metrics(cpu);

        metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        MetricSnapshots other = metrics.collect(Fixtures.running("other", 2)).get(1, TimeUnit.SECONDS);

        assertThat(value(other, "cpu_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(cpu.calls).hasValue(2);
    }

    @Test
    void aFailingCollectorIsRetriedAfterItsTtlAndRecovers() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        cpu.failing = true;
        InstanceMetrics metrics = metrics(cpu);

        MetricSnapshots failed = metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        MetricSnapshots cachedFailure = metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        cpu.failing = false;
        now[0] += Duration.ofSeconds(2).toNanos();
        MetricSnapshots retried = metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(value(failed, "cpu_metrics_available_boolean")).isEqualTo(0.0);
        assertThat(value(cachedFailure, "cpu_metrics_available_boolean")).isEqualTo(0.0);
        assertThat(cpu.calls).hasValue(2);
        assertThat(value(retried, "cpu_metrics_available_boolean")).isEqualTo(1.0);
        assertThat(value(retried, "cpu_calls")).isEqualTo(2.0);
    }

    @Test
    void expiredResultsOfInstancesNotScrapedAgainAreDroppedByALaterScrape() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        Counting fs = new Counting("filesystem", Duration.ofSeconds(10));
        InstanceMetrics metrics = metrics(cpu, fs);
        Instance other = Fixtures.running("other", 2);

        metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        metrics.collect(other).get(1, TimeUnit.SECONDS);
        assertThat(metrics.cachedResults()).isEqualTo(4);
        now[0] += Duration.ofSeconds(2).toNanos(); // cpu's results expired, filesystem's not
        metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        // WEB: a fresh cpu result and its cached filesystem one; other: only its filesystem result, still fresh
        // (the sweep runs on the worker right after the collection has completed the scrape's future)
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(metrics.cachedResults()).isEqualTo(3));
        MetricSnapshots otherAgain = metrics.collect(other).get(1, TimeUnit.SECONDS);
        assertThat(value(otherAgain, "cpu_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(value(otherAgain, "filesystem_metrics_cached_boolean")).isEqualTo(1.0);
    }

    @Test
    void forgottenInstanceIsCollectedAfresh() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofHours(1));
        InstanceMetrics metrics = metrics(cpu);

        metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        metrics.forget(WEB.uuid());
        MetricSnapshots again = metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(value(again, "cpu_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(cpu.calls).hasValue(2);
    }

    @Test
    void aHungCollectorIsUnavailableAfterTheTimeoutAndTheOthersAreStillReported() throws Exception {
        Counting hung = new Counting("hung", Duration.ofSeconds(1));
        hung.gate = new CountDownLatch(1);
        Counting fine = new Counting("fine", Duration.ofSeconds(1));
        InstanceMetrics metrics = new InstanceMetrics(List.of(hung, fine), workers, () -> now[0],
                Duration.ofMillis(100));

        MetricSnapshots out = metrics.collect(WEB).get(1, TimeUnit.SECONDS);
        hung.gate.countDown();

        assertThat(value(out, "hung_metrics_available_boolean")).isEqualTo(0.0);
        assertThat(value(out, "fine_calls")).isEqualTo(1.0);
    }

    @Test
    void theCollectorsOfOneUncachedScrapeRunInOneWorkerTask() throws Exception {
        AtomicInteger tasks = new AtomicInteger();
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        Counting mem = new Counting("mem", Duration.ofSeconds(1));
        Counting net = new Counting("net", Duration.ofSeconds(1));
        InstanceMetrics metrics = new InstanceMetrics(List.of(cpu, mem, net), task -> {
            tasks.incrementAndGet();
            workers.execute(task);
        }, () -> now[0], Duration.ofSeconds(2));

        MetricSnapshots out = metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(tasks).hasValue(1);
        assertThat(value(out, "cpu_calls")).isEqualTo(1.0);
        assertThat(value(out, "mem_calls")).isEqualTo(1.0);
        assertThat(value(out, "net_calls")).isEqualTo(1.0);
    }

    @Test
    void aFullyCachedScrapeIsAnsweredAtOnceWithoutAWorkerTask() throws Exception {
        AtomicInteger tasks = new AtomicInteger();
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        InstanceMetrics metrics = new InstanceMetrics(List.of(cpu), task -> {
            tasks.incrementAndGet();
            workers.execute(task);
        }, () -> now[0], Duration.ofSeconds(2));
        metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        CompletableFuture<MetricSnapshots> cached = metrics.collect(WEB);

        assertThat(cached).isDone();
        assertThat(value(cached.get(), "cpu_metrics_cached_boolean")).isEqualTo(1.0);
        assertThat(tasks).hasValue(1);
    }

    @Test
    void aScrapeDeadlineShorterThanTheTimeoutReportsTheLateCollectorUnavailable() throws Exception {
        Counting slow = new Counting("slow", Duration.ofSeconds(1));
        slow.gate = new CountDownLatch(1);
        Counting fine = new Counting("fine", Duration.ofSeconds(1));
        InstanceMetrics metrics = new InstanceMetrics(List.of(slow, fine), workers, () -> now[0],
                Duration.ofHours(1));

        MetricSnapshots out = metrics.collect(WEB, Duration.ofMillis(100)).get(2, TimeUnit.SECONDS);
        slow.gate.countDown();

        assertThat(value(out, "slow_metrics_available_boolean")).isEqualTo(0.0);
        assertThat(value(out, "fine_metrics_available_boolean")).isEqualTo(1.0);
    }

    @Test
    void aSaturatedWorkerPoolMakesTheCollectorUnavailableNotTheScrapeFail() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        InstanceMetrics metrics = new InstanceMetrics(List.of(cpu), task -> {
            throw new java.util.concurrent.RejectedExecutionException("full");
        });

        MetricSnapshots out = metrics.collect(WEB).get(1, TimeUnit.SECONDS);

        assertThat(value(out, "cpu_metrics_available_boolean")).isEqualTo(0.0);
    }
    @Test
    void aFinishedScrapesResultsAreNotHeldByItsSecondRunnerTimer() throws Exception {
        List<java.lang.ref.WeakReference<MetricSnapshot>> produced = new java.util.concurrent.CopyOnWriteArrayList<>();
        Collector tracked = new Collector() {
            @Override
            public String name() {
                return "tracked";
            }

            @Override
            public Duration ttl() {
                return Duration.ofSeconds(1);
            }

            @Override
            public List<MetricSnapshot> collect(Instance instance) {
                MetricSnapshot snapshot = new Metrics.Gauge("tracked_value", "tracked").of(1);
                produced.add(new java.lang.ref.WeakReference<>(snapshot));
                return List.of(snapshot);
            }
        };
        // an hour's deadline: the second runner's timer fires after half an hour, long after this test
        InstanceMetrics metrics = new InstanceMetrics(List.of(tracked, new Counting("other", Duration.ofSeconds(1))),
                workers, () -> now[0], Duration.ofHours(1));
        assertThat(value(metrics.collect(WEB).get(1, TimeUnit.SECONDS), "tracked_value")).isEqualTo(1.0);
        metrics.forget(WEB.uuid()); // the cache lets go of the result

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            System.gc();
            assertThat(produced).hasSize(1);
            assertThat(produced.get(0).get()).isNull();
        });
    }

    /** The clock: its own thread is fine. */
    private static final class Inline implements Collector {
        final AtomicInteger calls = new AtomicInteger();
        volatile Thread lastThread;

        @Override
        public String name() {
            return "clock";
        }

        @Override
        public Duration ttl() {
            return Duration.ZERO;
        }

        @Override
        public boolean runsInline() {
            return true;
        }

        @Override
        public List<MetricSnapshot> collect(Instance instance) {
            lastThread = Thread.currentThread();
            return List.of(new Metrics.Gauge("clock_calls", "calls").of(calls.incrementAndGet()));
        }
    }

    @Test
    void aScrapeWhoseOnlyUncachedCollectorRunsInlineIsAnsweredWithoutTheWorkers() throws Exception {
        AtomicInteger handOffs = new AtomicInteger();
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        Inline clock = new Inline();
        InstanceMetrics m = new InstanceMetrics(List.of(cpu, clock), task -> {
            handOffs.incrementAndGet();
            workers.execute(task);
        }, () -> now[0], Duration.ofSeconds(2));

        MetricSnapshots first = m.collect(WEB).get(2, TimeUnit.SECONDS);
        assertThat(handOffs).hasValue(1); // cpu went to a worker
        assertThat(clock.lastThread).isSameAs(Thread.currentThread()); // the clock did not
        assertThat(value(first, "clock_calls")).isEqualTo(1.0);

        now[0] += 500_000_000L; // cpu still cached, the clock (TTL 0) is not
        CompletableFuture<MetricSnapshots> second = m.collect(WEB);

        assertThat(second).isDone(); // answered on the caller's thread
        assertThat(handOffs).hasValue(1);
        assertThat(value(second.get(), "clock_calls")).isEqualTo(2.0);
        assertThat(value(second.get(), "cpu_calls")).isEqualTo(1.0);
        assertThat(value(second.get(), "clock_metrics_cached_boolean")).isEqualTo(0.0);
        assertThat(value(second.get(), "cpu_metrics_cached_boolean")).isEqualTo(1.0);
    }

    @Test
    void aScrapeThatJoinsAnothersCollectionDoesNotHoldTheScrapeThatRanIt() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        cpu.gate = new CountDownLatch(1);
        InstanceMetrics m = metrics(cpu);
        CompletableFuture<MetricSnapshots> first = m.collect(WEB);
        CompletableFuture<MetricSnapshots> joined = m.collect(WEB); // the collection is in flight: joins it
        CountDownLatch joinedRendered = new CountDownLatch(1);
        // the joined scrape's rendering, slow: it must not run before the first scrape is answered
        CompletableFuture<Void> joinedConsumer = joined.thenAccept(s -> {
            try {
                joinedRendered.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        cpu.gate.countDown();

        assertThat(value(first.get(2, TimeUnit.SECONDS), "cpu_calls")).isEqualTo(1.0);
        assertThat(joinedConsumer).isNotDone();
        joinedRendered.countDown();
        joinedConsumer.get(2, TimeUnit.SECONDS);
        assertThat(value(joined.get(), "cpu_calls")).isEqualTo(1.0);
        assertThat(cpu.calls).hasValue(1);
    }

    @Test
    void aJoinedScrapeIsStillAnsweredWhenThePoolRefusesItsHandOff() throws Exception {
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        cpu.gate = new CountDownLatch(1);
        AtomicInteger accepted = new AtomicInteger();
        InstanceMetrics m = new InstanceMetrics(List.of(cpu), task -> {
            if (accepted.incrementAndGet() > 1) throw new java.util.concurrent.RejectedExecutionException("full");
            workers.execute(task);
        }, () -> now[0], Duration.ofSeconds(2));
        CompletableFuture<MetricSnapshots> first = m.collect(WEB);
        CompletableFuture<MetricSnapshots> joined = m.collect(WEB);

        cpu.gate.countDown();

        assertThat(value(first.get(2, TimeUnit.SECONDS), "cpu_calls")).isEqualTo(1.0);
        assertThat(value(joined.get(2, TimeUnit.SECONDS), "cpu_calls")).isEqualTo(1.0);
    }

    @Test
    void expiredResultsAreSweptByTheWorkerAfterACollectionNotOnTheThreadTheScrapeArrivesOn() throws Exception {
        // the scrape arrives on the event loop: walking every instance's results there (~1 ms for 200
        // instances) delayed one scrape a second; the worker does it once the collection's answer is rendered
        Counting cpu = new Counting("cpu", Duration.ofSeconds(1));
        java.util.ArrayDeque<Runnable> queued = new java.util.ArrayDeque<>();
        InstanceMetrics m = new InstanceMetrics(List.of(cpu), queued::add, () -> now[0], Duration.ofSeconds(2));
        Instance other = Fixtures.running("other", 2);
        CompletableFuture<MetricSnapshots> first = m.collect(other);
        queued.poll().run();
        assertThat(first).isDone();
        now[0] += Duration.ofSeconds(2).toNanos(); // other's result has expired and a sweep is due

        CompletableFuture<MetricSnapshots> web = m.collect(WEB);

        assertThat(m.cachedResults()).as("other's expired result and WEB's in flight").isEqualTo(2);
        queued.poll().run(); // the worker: WEB's collection, its answer, then the sweep
        assertThat(web).isDone();
        assertThat(m.cachedResults()).as("only WEB's fresh result").isEqualTo(1);
        assertThat(queued).isEmpty();
    }
}
