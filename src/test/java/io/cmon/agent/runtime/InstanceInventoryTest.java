package io.cmon.agent.runtime;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class InstanceInventoryTest {

    private static Instance instance(String uuid, String source, String state) {
        return new Instance(uuid, "alias-" + uuid.charAt(0), "alice", null, source, List.of("web"), state,
                "running".equals(state) ? 42 : 0, null, null, source);
    }

    private static final String A = "aaaaaaaa-0000-0000-0000-000000000000";
    private static final String B = "bbbbbbbb-0000-0000-0000-000000000000";
    private static final String C = "cccccccc-0000-0000-0000-000000000000";

    @Test
    void snapshotIsSortedByUuidAndLookupFindsEach() {
        InstanceInventory inv = new InstanceInventory();
        inv.replaceAll("docker", List.of(instance(C, "docker", "running"), instance(A, "docker", "running")));
        inv.upsert(instance(B, "declared", "stopped"));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(A, B, C);
        assertThat(inv.byUuid(B)).map(Instance::source).contains("declared");
        assertThat(inv.byUuid("nope")).isEmpty();
        assertThat(inv.byUuid(null)).isEmpty();
    }

    @Test
    void generationMovesOnlyOnVisibleChange() {
        InstanceInventory inv = new InstanceInventory();
        assertThat(inv.snapshot().generation()).isZero();
        inv.upsert(instance(A, "docker", "running"));
        assertThat(inv.snapshot().generation()).isEqualTo(1);

        inv.upsert(instance(A, "docker", "running"));
        inv.replaceAll("docker", List.of(instance(A, "docker", "running")));
        inv.remove("docker", B);
        inv.remove("declared", A);
        assertThat(inv.snapshot().generation()).isEqualTo(1);

        inv.upsert(instance(A, "docker", "exited"));
        assertThat(inv.snapshot().generation()).isEqualTo(2);
        assertThat(inv.byUuid(A)).map(Instance::state).contains("exited");

        inv.replaceAll("docker", List.of());
        assertThat(inv.snapshot().generation()).isEqualTo(3);
        assertThat(inv.snapshot().instances()).isEmpty();
    }

    @Test
    void replaceAllForgetsOnlyThatSourcesMissingInstances() {
        InstanceInventory inv = new InstanceInventory();
        inv.replaceAll("docker", List.of(instance(A, "docker", "running"), instance(B, "docker", "running")));
        inv.replaceAll("declared", List.of(instance(C, "declared", "running")));
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);

        inv.replaceAll("docker", List.of(instance(B, "docker", "running")));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(B, C);
        assertThat(removed).containsExactly(A);
    }

    @Test
    void oneContainerReportedByTwoSourcesIsShownFromTheFirstAndTheSecondShowsWhenTheFirstLetsGo() {
        InstanceInventory inv = new InstanceInventory();
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);
        inv.upsert(instance(A, "docker", "running"));
        long g = inv.generation();

        inv.upsert(instance(A, "declared", "running")); // same pid 42: the same container
        assertThat(inv.byUuid(A)).map(Instance::source).contains("docker");
        assertThat(inv.conflicts()).isEmpty();
        assertThat(inv.generation()).isEqualTo(g);

        inv.remove("docker", A);
        assertThat(inv.byUuid(A)).map(Instance::source).contains("declared");
        assertThat(inv.generation()).isEqualTo(g + 1);
        assertThat(removed).isEmpty();

        inv.remove("declared", A);
        assertThat(inv.byUuid(A)).isEmpty();
        assertThat(removed).containsExactly(A);
    }

    private static Instance container(String uuid, String alias, String owner, long pid) {
        return new Instance(uuid, alias, owner, null, "docker", List.of(), "running", pid, null, null, "docker");
    }

    @Test
    void twoContainersClaimingOneUuidAreServedToNobodyAndShownAsAConflict() {
        InstanceInventory inv = new InstanceInventory();
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);
        inv.upsert("c0ffee0000000000000000000000000000000000000000000000000000000001", container(A, "alice-db", "alice", 10));
        long g = inv.generation();
        assertThat(inv.byUuid(A)).map(Instance::owner).contains("alice");

        // bob labels his container cmon.uuid=A
        inv.upsert("baddad0000000000000000000000000000000000000000000000000000000002", container(A, "bob-x", "bob", 20));

        assertThat(inv.byUuid(A)).isEmpty();
        assertThat(inv.snapshot().instances()).isEmpty();
        assertThat(inv.conflicts()).containsExactly(new InstanceInventory.Conflict(A,
                List.of("docker alice-db (c0ffee000000)", "docker bob-x (baddad000000)")));
        assertThat(inv.conflictCount()).isEqualTo(1);
        assertThat(inv.generation()).isEqualTo(g + 1);
        assertThat(removed).containsExactly(A); // its cached metrics are dropped

        inv.remove("docker", "baddad0000000000000000000000000000000000000000000000000000000002");

        assertThat(inv.byUuid(A)).map(Instance::alias).contains("alice-db");
        assertThat(inv.conflicts()).isEmpty();
        assertThat(inv.conflictCount()).isZero();
        assertThat(inv.generation()).isEqualTo(g + 2);
    }

    @Test
    void aUuidListedTwiceInOneFullReportIsAConflictUntilTheNextReportListsItOnce() {
        InstanceInventory inv = new InstanceInventory();
        inv.replaceAll("declared", List.of(instance(A, "declared", "running"), instance(B, "declared", "stopped"),
                new Instance(A, "twin", "bob", null, "lxc", List.of(), "running", 43, null, null, "declared")));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(B);
        assertThat(inv.snapshot().conflicts()).extracting(InstanceInventory.Conflict::uuid).containsExactly(A);
        assertThat(inv.byUuid(A)).isEmpty();

        inv.replaceAll("declared", List.of(instance(A, "declared", "running"), instance(B, "declared", "stopped")));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(A, B);
        assertThat(inv.snapshot().conflicts()).isEmpty();
    }

    @Test
    void twoSourcesClaimingOneUuidForDifferentContainersIsAConflict() {
        InstanceInventory inv = new InstanceInventory();
        inv.upsert("c0ffee01", container(A, "web", "alice", 10));
        inv.replaceAll("declared", List.of(new Instance(A, "lxc-web", "bob", null, "lxc", List.of(), "running", 99,
                "/lxc/web", null, "declared")));

        assertThat(inv.byUuid(A)).isEmpty();
        assertThat(inv.conflicts()).singleElement().satisfies(c -> assertThat(c.claimants())
                .containsExactly("declared lxc-web", "docker web (c0ffee01)"));
    }

    @Test
    void aContainerWhoseUuidLabelChangesLeavesItsOldUuid() {
        InstanceInventory inv = new InstanceInventory();
        inv.upsert("id-1", container(A, "web", "alice", 10));
        inv.upsert("id-1", container(B, "web", "alice", 10));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(B);
        assertThat(inv.conflicts()).isEmpty();
    }

    @Test
    void aConflictIsLoggedOnceWhileItLasts() {
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(InstanceInventory.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
                new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        log.addAppender(lines);
        try {
            InstanceInventory inv = new InstanceInventory();
            inv.upsert("id-1", container(A, "one", "alice", 10));
            inv.upsert("id-2", container(A, "two", "bob", 20));
            inv.upsert("id-2", container(A, "two", "bob", 21)); // still in conflict: no new line
            inv.upsert("id-3", container(A, "three", "carol", 30)); // a third claimant: listed, not logged again

            assertThat(lines.list).filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .singleElement().extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .asString().contains(A, "claimed by 2 containers", "served to nobody");
            assertThat(inv.conflicts().get(0).claimants()).hasSize(3);
        } finally {
            log.detachAppender(lines);
        }
    }

    @Test
    void changedAfterAnOlderGenerationIsAlreadyComplete() {
        InstanceInventory inv = new InstanceInventory();
        inv.upsert(instance(A, "docker", "running"));
        CompletableFuture<InstanceInventory.Snapshot> f = inv.changedAfter(0);
        assertThat(f).isCompleted();
        assertThat(f.join().generation()).isEqualTo(1);
        assertThat(f.join().instances()).extracting(Instance::uuid).containsExactly(A);
    }

    @Test
    void changedAfterAGenerationNotReachedYetAnswersAtOnce() {
        InstanceInventory inv = new InstanceInventory();
        assertThat(inv.changedAfter(57)).isCompletedWithValueMatching(s -> s.generation() == 0);
    }

    @Test
    void changedAfterTheCurrentGenerationCompletesOnTheNextVisibleChangeOnly() {
        InstanceInventory inv = new InstanceInventory();
        inv.upsert(instance(A, "docker", "running"));
        CompletableFuture<InstanceInventory.Snapshot> f = inv.changedAfter(1);
        assertThat(f).isNotDone();

        inv.upsert(instance(A, "docker", "running"));
        assertThat(f).isNotDone();

        inv.upsert(instance(B, "docker", "running"));
        assertThat(f).isCompleted();
        assertThat(f.join().generation()).isEqualTo(2);
        assertThat(f.join().instances()).extracting(Instance::uuid).containsExactly(A, B);
        assertThat(inv.waiting()).isZero();
    }

    @Test
    void waitersCompletedOrCancelledByTheirCallersAreDropped() {
        InstanceInventory inv = new InstanceInventory();
        for (int i = 0; i < 10_000; i++) {
            CompletableFuture<InstanceInventory.Snapshot> f = inv.changedAfter(0);
            if (i % 2 == 0) {
                f.cancel(false);
            } else {
                f.complete(inv.snapshot());
            }
        }
        assertThat(inv.waiting()).isZero();
    }

    @Test
    void concurrentWritersAndWaitersNeverMissAChange() throws Exception {
        InstanceInventory inv = new InstanceInventory();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        int writes = 2_000;
        CountDownLatch done = new CountDownLatch(2);
        for (int t = 0; t < 2; t++) {
            String prefix = t == 0 ? "aaaaaaaa" : "bbbbbbbb";
            pool.submit(() -> {
                for (int i = 0; i < writes; i++) {
                    inv.upsert(instance(String.format("%s-0000-0000-0000-%012d", prefix, i), "docker", "running"));
                }
                done.countDown();
            });
        }
        // a waiter at any generation completes with a newer one
        long seen = 0;
        while (seen < 2L * writes) {
            InstanceInventory.Snapshot s = inv.changedAfter(seen).get(5, TimeUnit.SECONDS);
            assertThat(s.generation()).isGreaterThan(seen);
            seen = s.generation();
        }
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
        assertThat(inv.snapshot().instances()).hasSize(2 * writes);
        assertThat(inv.generation()).isEqualTo(2L * writes);
        assertThat(inv.waiting()).isZero();
    }
}
