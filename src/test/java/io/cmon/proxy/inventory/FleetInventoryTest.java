package io.cmon.proxy.inventory;

import io.cmon.api.InstancesAnswer;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FleetInventoryTest {

    static final HostPort A1 = new HostPort("127.0.0.1", 9164);
    static final HostPort A2 = new HostPort("127.0.0.2", 9164);
    static final String ALICE = "2b8e0000-0000-4000-8000-00000000000a";
    static final String I1 = "11111111-0000-4000-8000-000000000001";
    static final String I2 = "11111111-0000-4000-8000-000000000002";
    static final String I3 = "11111111-0000-4000-8000-000000000003";

    static InstancesPage page(String server, long gen, InstancesPage.Entry... entries) {
        return new InstancesPage(new InstancesPage.Server(server, "cn"), gen, List.of(entries));
    }

    static InstancesPage.Entry entry(String uuid, String owner) {
        return new InstancesPage.Entry(uuid, "alias", owner, null, "docker", List.of("g"), "running");
    }

    static FleetInventory known(FleetInventory inv) {
        inv.agentListUnknown(null);
        return inv;
    }

    @Test
    void notReadyUntilTheAgentListIsKnown() {
        FleetInventory inv = new FleetInventory();
        assertThat(inv.synced()).as("no agents yet, but the list is not known").isFalse();
        inv.agentListUnknown("agents.dns has not answered yet");
        assertThat(inv.notReadyReason()).isEqualTo("agents.dns has not answered yet");
        inv.agentListUnknown(null);
        assertThat(inv.synced()).as("a known, empty fleet").isTrue();
    }

    @Test
    void notReadyWhileNoListedAgentHasEverAnswered() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.addAgent(A2);
        inv.markDown(A1, "connection refused");
        inv.markDown(A2, "connection refused");
        assertThat(inv.synced()).isFalse();
        assertThat(inv.notReadyReason()).isEqualTo("none of the 2 agent(s) has answered yet");
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 1), 10);
        inv.markDown(A2, "gone again");
        assertThat(inv.synced()).as("one answered once: what it said stays").isTrue();
    }

    @Test
    void aUuidClaimedByTwoAgentsIsServedToNobodyUntilOneLetsGo() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.addAgent(A2);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice")), 10);
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 1, entry(I1.toUpperCase(), "mallory")), 20);
        assertThat(inv.instance(I1)).isEmpty();
        assertThat(inv.ownedBy(null, "alice")).isEmpty();
        assertThat(inv.ownedBy(null, "mallory")).isEmpty();
        assertThat(inv.conflicts()).containsExactly(new FleetInventory.Conflict(I1, List.of(A1, A2)));
        // the newcomer re-reporting does not win either
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 2, entry(I1, "mallory")), 30);
        assertThat(inv.instance(I1)).isEmpty();
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 3), 40);
        assertThat(inv.instance(I1)).get().extracting(FleetInstance::owner).isEqualTo("alice");
        assertThat(inv.ownedBy(null, "alice")).hasSize(1);
        assertThat(inv.conflicts()).isEmpty();
    }

    @Test
    void aUuidListedTwiceByOneAgentIsServedToNobody() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice"), entry(I1, "mallory"),
                entry(I2, "alice")), 10);
        assertThat(inv.instance(I1)).isEmpty();
        assertThat(inv.ownedBy(null, "alice")).extracting(FleetInstance::vmUuid).containsExactly(I2);
        assertThat(inv.agents().get(0).duplicateUuids()).containsExactly(I1);
    }

    @Test
    void notSyncedUntilEveryAgentAnsweredOrFailedOnce() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.addAgent(A2);
        assertThat(inv.synced()).isFalse();
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1), 10);
        assertThat(inv.synced()).isFalse();
        inv.markDown(A2, "connection refused");
        assertThat(inv.synced()).isTrue();
    }

    @Test
    void ownersByUuidOrLoginBothFindTheAccountsInstances() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1,
                entry(I1, ALICE.toUpperCase()), entry(I2, "alice"), entry(I3, null)), 10);
        assertThat(inv.ownedBy(ALICE, "alice")).extracting(FleetInstance::vmUuid).containsExactly(I1, I2);
        assertThat(inv.ownedBy("00000000-0000-4000-8000-00000000000b", "bob")).isEmpty();
        assertThat(inv.instance(I3)).isPresent(); // ownerless: addressable by operators, listed for no one
        assertThat(inv.ownerCount()).isEqualTo(2);
    }

    @Test
    void anAnswerReplacesTheAgentsListAndReindexesOwners() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice"), entry(I2, "alice")), 10);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 2, entry(I1, "bob")), 20);
        assertThat(inv.ownedBy(ALICE, "alice")).isEmpty();
        assertThat(inv.ownedBy("b", "bob")).extracting(FleetInstance::cachedDate).containsExactly(20L);
        assertThat(inv.instance(I2)).isEmpty();
        assertThat(inv.instanceCount()).isEqualTo(1);
    }

    @Test
    void theAgentSummaryCountsUpAndDownAgentsAndFindsTheOldestAnswer() {
        FleetInventory inv = known(new FleetInventory());
        assertThat(inv.agentSummary()).isEqualTo(new FleetInventory.AgentSummary(0, 0, 0));
        inv.addAgent(A1);
        inv.addAgent(A2);
        inv.addAgent(new HostPort("127.0.0.3", 9164)); // never answers
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice")), 500);
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 1, entry(I2, "alice")), 200);
        inv.markDown(A2, "refused");
        assertThat(inv.agentSummary()).isEqualTo(new FleetInventory.AgentSummary(3, 1, 200));
        assertThat(inv.agentCount()).isEqualTo(3);
    }

    @Test
    void downAgentKeepsItsInstancesListed() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice")), 10);
        inv.markDown(A1, "refused");
        assertThat(inv.isUp(A1)).isFalse();
        assertThat(inv.ownedBy(null, "alice")).hasSize(1);
        assertThat(inv.instance(I1)).isPresent();
        assertThat(inv.server("aaaaaaaa-0000-4000-8000-000000000001")).contains(A1);
    }

    @Test
    void removedAgentTakesItsInstancesAndServer() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice")), 10);
        inv.removeAgent(A1);
        assertThat(inv.instance(I1)).isEmpty();
        assertThat(inv.ownedBy(null, "alice")).isEmpty();
        assertThat(inv.server("aaaaaaaa-0000-4000-8000-000000000001")).isEmpty();
        assertThat(inv.synced()).isTrue();
    }

    @Test
    void instanceMovingBetweenAgentsIsNotLostWhenTheOldAgentForgetsIt() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.addAgent(A2);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 1, entry(I1, "alice")), 10);
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 1, entry(I1, "alice")), 20);
        inv.update(A1, page("aaaaaaaa-0000-4000-8000-000000000001", 2), 30);
        assertThat(inv.instance(I1)).get().extracting(FleetInstance::agent).isEqualTo(A2);
        assertThat(inv.ownedBy(null, "alice")).hasSize(1);
    }

    @Test
    void entriesWithoutAUuidAreSkipped() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(null, 1, entry("not-a-uuid", "alice"), entry(null, "alice")), 10);
        assertThat(inv.instanceCount()).isZero();
    }

    // --- protocol v2 and the compact inventory ---

    static final InstancesPage.Server S1 = new InstancesPage.Server("aaaaaaaa-0000-4000-8000-000000000001", "cn");

    static InstancesAnswer delta(long gen, List<InstancesPage.Entry> changed, String... removed) {
        return InstancesAnswer.delta("e1", gen, S1, changed, List.of(removed), List.of());
    }

    @Test
    void anUnchangedAnswerKeepsTheSameInstanceObjectsAndMovesTheAgentsAnswerTime() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1, entry(I1, "alice"), entry(I2, "alice")), 10);
        FleetInstance i1 = inv.instance(I1).orElseThrow();
        FleetInventory.OwnerStamp stamp = inv.ownerStamp(ALICE, "alice");

        inv.unchanged(A1, InstancesAnswer.unchanged("e1", 1, S1), 40);

        assertThat(inv.instance(I1)).containsSame(i1);
        assertThat(inv.ownedBy(ALICE, "alice").get(0)).isSameAs(i1);
        assertThat(inv.ownerStamp(ALICE, "alice")).isEqualTo(stamp);
        assertThat(inv.agents().get(0).lastAnswerMs()).isEqualTo(40);
        assertThat(inv.agents().get(0).instances()).isEqualTo(2);
    }

    @Test
    void aFullAnswerEqualToWhatIsHeldKeepsTheSameObjects() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1, entry(I1, "alice")), 10);
        FleetInstance i1 = inv.instance(I1).orElseThrow();
        FleetInventory.OwnerStamp stamp = inv.ownerStamp(ALICE, "alice");

        inv.update(A1, page(S1.uuid(), 1, entry(I1, "alice")), 20); // a v1 agent's long-poll that timed out

        assertThat(inv.instance(I1)).containsSame(i1);
        assertThat(inv.ownerStamp(ALICE, "alice")).isEqualTo(stamp);
    }

    @Test
    void aDeltaTouchesOnlyItsInstances() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1, entry(I1, "alice"), entry(I2, "alice"), entry(I3, "bob")), 10);
        FleetInstance i1 = inv.instance(I1).orElseThrow();
        FleetInventory.OwnerStamp bob = inv.ownerStamp(null, "bob");
        InstancesPage.Entry stopped = new InstancesPage.Entry(I2, "alias", "alice", null, "docker", List.of("g"),
                "stopped");

        inv.applyDelta(A1, delta(3, List.of(stopped), I3.toUpperCase()), 20);

        assertThat(inv.instance(I1)).containsSame(i1);
        assertThat(inv.instance(I2)).hasValueSatisfying(i -> {
            assertThat(i.state()).isEqualTo("stopped");
            assertThat(i.cachedDate()).isEqualTo(20);
        });
        assertThat(inv.instance(I3)).isEmpty();
        assertThat(inv.ownedBy(null, "bob")).isEmpty();
        assertThat(inv.ownerStamp(null, "bob")).isNotEqualTo(bob);
        assertThat(inv.agents().get(0).generation()).isEqualTo(3);
        assertThat(inv.agents().get(0).instances()).isEqualTo(2);
    }

    @Test
    void aDeltaMovingAnInstanceToAnotherOwnerReindexesIt() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1, entry(I1, "alice")), 10);

        inv.applyDelta(A1, delta(2, List.of(entry(I1, "bob"))), 20);

        assertThat(inv.ownedBy(ALICE, "alice")).isEmpty();
        assertThat(inv.ownedBy(null, "bob")).extracting(FleetInstance::vmUuid).containsExactly(I1);
        assertThat(inv.ownerCount()).isEqualTo(1);
    }

    @Test
    void sharedValuesAreOneCopyAcrossInstancesAndAgents() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.addAgent(A2);
        // fresh strings, as a JSON parser makes them
        inv.update(A1, page(S1.uuid(), 1, new InstancesPage.Entry(I1, "a", new String("alice"), new String("img"),
                new String("docker"), List.of(new String("web")), new String("running"))), 10);
        inv.update(A2, page("aaaaaaaa-0000-4000-8000-000000000002", 1, new InstancesPage.Entry(I2, "b",
                new String("alice"), new String("img"), new String("docker"), List.of(new String("web")),
                new String("running"))), 10);

        FleetInstance a = inv.instance(I1).orElseThrow();
        FleetInstance b = inv.instance(I2).orElseThrow();
        assertThat(b.owner()).isSameAs(a.owner());
        assertThat(b.imageUuid()).isSameAs(a.imageUuid());
        assertThat(b.brand()).isSameAs(a.brand());
        assertThat(b.state()).isSameAs(a.state());
        assertThat(b.groups()).isSameAs(a.groups());
    }

    @Test
    void anAccountsInstancesByUuidAndByLoginComeMergedInUuidOrder() {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1, entry(I3, ALICE), entry(I2, "alice"), entry(I1, ALICE)), 10);
        assertThat(inv.ownedBy(ALICE, "alice")).extracting(FleetInstance::vmUuid).containsExactly(I1, I2, I3);
    }

    @Test
    void readinessIsAnsweredWithoutTakingTheInventorysLock() throws Exception {
        FleetInventory inv = known(new FleetInventory());
        inv.addAgent(A1);
        inv.update(A1, page(S1.uuid(), 1), 10);
        java.util.concurrent.CompletableFuture<String> reason;
        synchronized (inv) { // an answer being applied holds the lock
            reason = java.util.concurrent.CompletableFuture.supplyAsync(inv::notReadyReason);
            assertThat(reason.get(2, java.util.concurrent.TimeUnit.SECONDS)).isNull();
        }
    }
}
