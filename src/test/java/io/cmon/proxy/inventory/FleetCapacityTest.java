package io.cmon.proxy.inventory;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cmon.config.HostPort;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class FleetCapacityTest {

    /** A settable descriptor limit and count. */
    static final class FakeFds implements FleetCapacity.Fds {
        long max;
        long open;

        FakeFds(long max, long open) {
            this.max = max;
            this.open = open;
        }

        @Override
        public long max() {
            return max;
        }

        @Override
        public long open() {
            return open;
        }
    }

    static Set<HostPort> agents(int from, int count) {
        Set<HostPort> s = new LinkedHashSet<>();
        for (int i = from; i < from + count; i++) s.add(new HostPort("127.10." + (i / 254) + "." + (1 + i % 254), 9164));
        return s;
    }

    final AtomicLong now = new AtomicLong(1_000_000);

    @Test
    void capacityIsTheLimitLessTheJvmsAndTheListenersReserveOneDescriptorPerAgent() {
        FleetCapacity c = new FleetCapacity(new FakeFds(20_000, 50), 1024, now::get);
        assertThat(c.agents()).isEqualTo(20_000 - FleetCapacity.BASE_FDS - 1024);
        assertThat(new FleetCapacity(new FakeFds(1000, 50), 1024, now::get).agents())
                .as("a limit below the reserve: nothing to follow, never negative").isZero();
        assertThat(new FleetCapacity(new FakeFds(-1, -1), 1024, now::get).agents())
                .as("unknown limit (not Unix)").isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void theJvmsOwnLimitIsRead() {
        FleetCapacity.Fds jvm = FleetCapacity.Fds.jvm();
        assertThat(jvm.max()).as("this test runs on Linux").isPositive();
        assertThat(jvm.open()).isPositive().isLessThanOrEqualTo(jvm.max());
    }

    @Test
    void agentsPastTheBudgetAreRefusedInListOrderAndFollowedAgainWhenOthersLeave() {
        FakeFds fds = new FakeFds(FleetCapacity.BASE_FDS + 100 + 10, 0); // reserve 100: room for 10 agents
        FleetCapacity c = new FleetCapacity(fds, 100, now::get);
        Set<HostPort> want = agents(0, 15);

        FleetCapacity.Plan first = c.plan(want, Set.of());
        assertThat(first.follow()).containsExactlyElementsOf(agents(0, 10));
        assertThat(first.refuse()).containsExactlyElementsOf(agents(10, 5));
        assertThat(first.forget()).isEmpty();
        assertThat(first.reason()).contains("15 agents listed", "can follow 10", "shard");
        assertThat(c.refused()).isEqualTo(5);
        assertThat(c.degraded()).isTrue();

        // the same list again: followed ones stay, nothing new to start, the same five refused
        FleetCapacity.Plan again = c.plan(want, agents(0, 10));
        assertThat(again.follow()).isEmpty();
        assertThat(again.refuse()).containsExactlyElementsOf(agents(10, 5));

        // the first eight agents leave the list (their watchers stopped): the five refused ones get their room
        Set<HostPort> smaller = agents(8, 7);
        FleetCapacity.Plan recovered = c.plan(smaller, agents(8, 2));
        assertThat(recovered.follow()).containsExactlyElementsOf(agents(10, 5));
        assertThat(recovered.refuse()).isEmpty();
        assertThat(c.refused()).isZero();
        assertThat(c.degraded()).isFalse();

        // a refused agent that leaves the list is to be forgotten by the inventory
        c.plan(agents(0, 12), agents(0, 10));
        FleetCapacity.Plan forget = c.plan(agents(0, 10), agents(0, 10));
        assertThat(forget.forget()).containsExactlyInAnyOrderElementsOf(agents(10, 2));
    }

    @Test
    void runningOutOfDescriptorsBacksOffLongWithJitterIsCountedAndDegradesForAMinute() {
        FleetCapacity c = new FleetCapacity(new FakeFds(1024, 1024), 100, now::get);
        // as Netty's native transport reports EMFILE, wrapped by the client
        Throwable emfile = new IllegalStateException("connect failed",
                new IOException("newSocketStream(..) failed: Too many open files"));
        assertThat(FleetCapacity.isFdExhaustion(emfile)).as(String.valueOf(emfile.getCause().getMessage())).isTrue();

        Set<Long> waits = new java.util.HashSet<>();
        for (int i = 0; i < 50; i++) {
            long w = c.backoffMs(emfile, 200, 5000);
            assertThat(w).isBetween(5000L, 20_000L);
            waits.add(w);
        }
        assertThat(waits).as("jittered: watchers do not come back in step").hasSizeGreaterThan(10);
        assertThat(c.exhaustions()).isEqualTo(50);
        assertThat(c.degraded()).isTrue();
        now.addAndGet(61_000);
        assertThat(c.degraded()).as("a minute without exhaustion").isFalse();
    }

    @Test
    void otherFailuresKeepTheExponentialWaitJitteredDownByUpToHalf() {
        FleetCapacity c = new FleetCapacity(new FakeFds(20_000, 10), 100, now::get);
        Throwable refused = new ConnectException("Connection refused: /127.10.0.1:9164");
        assertThat(FleetCapacity.isFdExhaustion(refused)).isFalse();
        Set<Long> waits = new java.util.HashSet<>();
        for (int i = 0; i < 50; i++) {
            long w = c.backoffMs(refused, 1600, 5000);
            assertThat(w).isBetween(800L, 1600L);
            waits.add(w);
        }
        assertThat(waits).hasSizeGreaterThan(10);
        assertThat(c.exhaustions()).isZero();
    }

    @Test
    void metricsAndStatusSayHowManyAgentsFitAndHowManyAreRefused() throws IOException {
        FakeFds fds = new FakeFds(FleetCapacity.BASE_FDS + 100 + 10, 77);
        FleetCapacity c = new FleetCapacity(fds, 100, now::get);
        c.plan(agents(0, 15), Set.of());
        PrometheusRegistry registry = new PrometheusRegistry();
        c.register(registry);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PrometheusTextFormatWriter(false).write(out, registry.scrape());
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("cmon_proxy_fleet_capacity_agents 10.0", "cmon_proxy_fleet_refused_agents 5.0",
                "cmon_proxy_fleet_degraded 1.0", "cmon_proxy_max_fds 238.0", "cmon_proxy_open_fds 77.0",
                "cmon_proxy_fd_exhaustion_total 0.0");

        ObjectNode status = new ObjectMapper().createObjectNode();
        c.describe(status);
        assertThat(status.get("agents").asInt()).isEqualTo(10);
        assertThat(status.get("listed_agents").asInt()).isEqualTo(15);
        assertThat(status.get("refused_agents").asInt()).isEqualTo(5);
        assertThat(status.get("degraded").asBoolean()).isTrue();
    }
}
