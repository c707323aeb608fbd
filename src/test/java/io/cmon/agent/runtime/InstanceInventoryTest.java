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
    void firstSourceWinsAUuidAndTheSecondShowsWhenTheFirstLetsGo() {
        InstanceInventory inv = new InstanceInventory();
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);
        inv.upsert(instance(A, "docker", "running"));
        long g = inv.generation();

        inv.upsert(instance(A, "declared", "stopped"));
        assertThat(inv.byUuid(A)).map(Instance::source).contains("docker");
        assertThat(inv.generation()).isEqualTo(g);

        inv.remove("docker", A);
        assertThat(inv.byUuid(A)).map(Instance::source).contains("declared");
        assertThat(inv.generation()).isEqualTo(g + 1);
        assertThat(removed).isEmpty();

        inv.remove("declared", A);
        assertThat(inv.byUuid(A)).isEmpty();
        assertThat(removed).containsExactly(A);
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
