package io.cmon.agent.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The change log behind inventory protocol v2: which generations a delta can start from, and what it holds. */
class InstanceChangeLogTest {

    private static final String A = "aaaaaaaa-0000-0000-0000-000000000000";
    private static final String B = "bbbbbbbb-0000-0000-0000-000000000000";
    private static final String C = "cccccccc-0000-0000-0000-000000000000";

    private static Instance instance(String uuid, String state) {
        return new Instance(uuid, "alias", "alice", null, "docker", List.of("web"), state, 42, null, null, "docker");
    }

    @Test
    void aDeltaHoldsTheChangedInstancesAndTheRemovedUuidsSinceTheGeneration() {
        InstanceInventory inv = new InstanceInventory("e1", 1024, 65_536);
        inv.upsert(instance(A, "running"));
        inv.upsert(instance(B, "running"));
        long since = inv.generation();
        inv.upsert(instance(C, "running"));
        inv.upsert(instance(A, "exited"));
        inv.remove("docker", B);

        InstanceInventory.Delta d = inv.changesSince(since).orElseThrow();
        assertThat(d.generation()).isEqualTo(inv.generation()).isEqualTo(since + 3);
        assertThat(d.changed()).extracting(Instance::uuid).containsExactly(A, C);
        assertThat(d.changed()).extracting(Instance::state).containsExactly("exited", "running");
        assertThat(d.removed()).containsExactly(B);
    }

    @Test
    void anInstanceRemovedThenAddedAgainIsListedAsChangedOnly() {
        InstanceInventory inv = new InstanceInventory("e1", 1024, 65_536);
        inv.upsert(instance(A, "running"));
        long since = inv.generation();
        inv.remove("docker", A);
        inv.upsert(instance(A, "running"));

        InstanceInventory.Delta d = inv.changesSince(since).orElseThrow();
        assertThat(d.changed()).extracting(Instance::uuid).containsExactly(A);
        assertThat(d.removed()).isEmpty();
    }

    @Test
    void theCurrentGenerationIsAnEmptyDeltaAndAFutureOneCannotBeAnswered() {
        InstanceInventory inv = new InstanceInventory("e1", 1024, 65_536);
        assertThat(inv.changesSince(0)).hasValueSatisfying(d -> {
            assertThat(d.generation()).isZero();
            assertThat(d.changed()).isEmpty();
            assertThat(d.removed()).isEmpty();
        });
        inv.upsert(instance(A, "running"));
        assertThat(inv.changesSince(0)).hasValueSatisfying(d ->
                assertThat(d.changed()).extracting(Instance::uuid).containsExactly(A));
        assertThat(inv.changesSince(2)).isEmpty(); // a generation of another process: only a full page helps
    }

    @Test
    void generationsOlderThanTheLogKeepsCannotBeAnsweredWithADelta() {
        InstanceInventory inv = new InstanceInventory("e1", 4, 65_536);
        for (int i = 0; i < 10; i++) inv.upsert(instance(A, i % 2 == 0 ? "running" : "exited"));
        assertThat(inv.generation()).isEqualTo(10);
        assertThat(inv.changesSince(5)).isEmpty();
        assertThat(inv.changesSince(6)).hasValueSatisfying(d ->
                assertThat(d.changed()).extracting(Instance::uuid).containsExactly(A));
    }

    @Test
    void theLogIsAlsoBoundedByTheUuidsItHolds() {
        InstanceInventory inv = new InstanceInventory("e1", 1024, 2);
        inv.upsert(instance(A, "running"));
        inv.upsert(instance(B, "running"));
        inv.upsert(instance(C, "running")); // three uuids logged: the oldest generation goes
        assertThat(inv.changesSince(0)).isEmpty();
        assertThat(inv.changesSince(1)).hasValueSatisfying(d ->
                assertThat(d.changed()).extracting(Instance::uuid).containsExactly(B, C));
        inv.replaceAll("docker", java.util.Map.of()); // one generation of three removals: over the bound alone
        assertThat(inv.changesSince(3)).isEmpty();
        assertThat(inv.changesSince(4)).hasValueSatisfying(d -> assertThat(d.removed()).isEmpty());
    }

    @Test
    void aUuidThatFallsIntoConflictIsRemovedAndListedAmongTheConflicts() {
        InstanceInventory inv = new InstanceInventory("e1", 1024, 65_536);
        inv.upsert("k1", instance(A, "running"));
        long since = inv.generation();
        inv.upsert("k2", new Instance(A, "other", "bob", null, "docker", List.of(), "running", 43, null, null,
                "docker"));
        InstanceInventory.Delta d = inv.changesSince(since).orElseThrow();
        assertThat(d.removed()).containsExactly(A);
        assertThat(d.conflicts()).extracting(InstanceInventory.Conflict::uuid).containsExactly(A);
    }

    @Test
    void eachInventoryDrawsItsOwnEpoch() {
        assertThat(new InstanceInventory().epoch()).isNotBlank().isNotEqualTo(new InstanceInventory().epoch());
    }
}
