package io.cmon.proxy.route;

import io.cmon.api.InstancesAnswer;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.cmon.proxy.inventory.FleetInventory;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DiscoveryCacheTest {

    static final HostPort A1 = new HostPort("127.0.0.1", 9164);
    static final HostPort A2 = new HostPort("127.0.0.2", 9164);
    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String I1 = "11111111-0000-4000-8000-000000000001";
    static final String I2 = "11111111-0000-4000-8000-000000000002";
    static final String I3 = "11111111-0000-4000-8000-000000000003";
    static final InstancesPage.Server S1 = new InstancesPage.Server("aaaaaaaa-0000-4000-8000-000000000001", "cn1");
    static final InstancesPage.Server S2 = new InstancesPage.Server("aaaaaaaa-0000-4000-8000-000000000002", "cn2");

    static InstancesPage.Entry entry(String uuid, String owner, String state) {
        return new InstancesPage.Entry(uuid, "alias", owner, null, "docker", List.of("web"), state);
    }

    final FleetInventory inv = new FleetInventory();
    final DiscoveryCache cache = new DiscoveryCache(inv, () -> "cmon.example:9163", 100);

    DiscoveryCacheTest() {
        inv.agentListUnknown(null);
        inv.addAgent(A1);
        inv.addAgent(A2);
        inv.update(A1, new InstancesPage(S1, 1, List.of(entry(I1, "alice", "running"))), 10);
        inv.update(A2, new InstancesPage(S2, 1, List.of(entry(I3, "bob", "running"))), 10);
    }

    String triton() {
        return new String(cache.answer(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL),
                StandardCharsets.UTF_8);
    }

    @Test
    void aRepeatedQueryIsServedFromTheCacheWhileTheAccountsInstancesStayTheSame() {
        byte[] first = cache.answer(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL);
        inv.unchanged(A1, InstancesAnswer.unchanged("e", 1, S1), 50);
        inv.update(A2, new InstancesPage(S2, 2, List.of(entry(I3, "bob", "stopped"))), 60); // another account

        assertThat(cache.answer(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL)).isSameAs(first);
        assertThat(cache.hits()).isEqualTo(1);
        assertThat(cache.misses()).isEqualTo(1);
    }

    @Test
    void aChangeToTheAccountsInstancesInvalidatesItsAnswers() {
        assertThat(triton()).contains(I1).doesNotContain(I2);
        inv.applyDelta(A1, InstancesAnswer.delta("e", 2, S1, List.of(entry(I2, "alice", "running")), List.of(),
                List.of()), 20);
        assertThat(triton()).contains(I1, I2);
        inv.applyDelta(A1, InstancesAnswer.delta("e", 3, S1, List.of(entry(I2, "alice", "stopped")), List.of(),
                List.of()), 30);
        assertThat(triton()).contains("\"vm_state\":\"stopped\"");
        inv.removeAgent(A1);
        assertThat(triton()).isEqualTo("{\"containers\":[]}");
        assertThat(cache.hits()).isZero();
    }

    @Test
    void answersAreKeptApartByFormatAndGroups() {
        String web = new String(cache.answer(DiscoveryCache.Format.TRITON, ALICE, "alice",
                new Groups(Set.of("web"))), StandardCharsets.UTF_8);
        String db = new String(cache.answer(DiscoveryCache.Format.TRITON, ALICE, "alice",
                new Groups(Set.of("db"))), StandardCharsets.UTF_8);
        String sd = new String(cache.answer(DiscoveryCache.Format.HTTP_SD, ALICE, "alice", Groups.ALL),
                StandardCharsets.UTF_8);
        assertThat(web).contains(I1);
        assertThat(db).doesNotContain(I1);
        assertThat(sd).contains("cmon.example:9163", "/v1/" + I1 + "/metrics");
        assertThat(cache.size()).isEqualTo(3);
    }

    @Test
    void aLookupRebuildsOffTheLoopOnlyWhenTheCachedAnswerIsStale() {
        java.util.List<Object> offLoop = new java.util.ArrayList<>(); // one entry per rebuild handed off
        DiscoveryCache c = new DiscoveryCache(inv, () -> "x:1", 100, build -> {
            offLoop.add(build);
            try {
                return io.vertx.core.Future.succeededFuture(build.call());
            } catch (Exception e) {
                return io.vertx.core.Future.failedFuture(e);
            }
        });

        var first = c.lookup(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL);
        assertThat(offLoop).hasSize(1);
        assertThat(new String(first.result(), StandardCharsets.UTF_8)).contains(I1);

        var again = c.lookup(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL);
        assertThat(again.isComplete()).as("a valid cached answer is there at once").isTrue();
        assertThat(again.result()).isSameAs(first.result());
        assertThat(offLoop).hasSize(1);

        inv.applyDelta(A1, InstancesAnswer.delta("e", 2, S1, List.of(entry(I2, "alice", "running")), List.of(),
                List.of()), 20);
        var changed = c.lookup(DiscoveryCache.Format.TRITON, ALICE, "alice", Groups.ALL);
        assertThat(offLoop).hasSize(2);
        assertThat(new String(changed.result(), StandardCharsets.UTF_8)).contains(I1, I2);
    }

    @Test
    void theCacheStartsOverPastItsBound() {
        DiscoveryCache small = new DiscoveryCache(inv, () -> "x:1", 2);
        for (int i = 0; i < 5; i++) small.answer(DiscoveryCache.Format.TRITON, ALICE, "login" + i, Groups.ALL);
        assertThat(small.size()).isLessThanOrEqualTo(2);
    }
}
