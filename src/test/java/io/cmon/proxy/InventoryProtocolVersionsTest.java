package io.cmon.proxy;

import io.cmon.agent.ServerIdentity;
import io.cmon.agent.collect.gz.GzMetrics;
import io.cmon.agent.http.AgentHttpServer;
import io.cmon.agent.http.Exposition;
import io.cmon.agent.runtime.Instance;
import io.cmon.agent.runtime.InstanceInventory;
import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.AgentWatcher;
import io.cmon.proxy.inventory.FleetInstance;
import io.cmon.proxy.inventory.FleetInventory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Mixed versions of the inventory protocol, with real parts: the proxy's {@link AgentWatcher} against the real agent
 * HTTP server (v2) and against {@link FakeAgent}, which answers only the v1 page as agents before v2 did.
 */
class InventoryProtocolVersionsTest {

    static final String SERVER = "3d1219c7-c4c5-404a-aa1f-6d2a48adfda4";
    static final String I1 = "11111111-0000-4000-8000-000000000001";
    static final String I2 = "11111111-0000-4000-8000-000000000002";
    static final String I3 = "11111111-0000-4000-8000-000000000003";
    /** Long-polls of one second: an "unchanged" answer comes every second. */
    static final AgentWatcher.Timing FAST = new AgentWatcher.Timing(Duration.ofSeconds(1), Duration.ofMillis(50),
            Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofMillis(20));

    final Vertx vertx = Vertx.vertx();
    final ExecutorService workers = Executors.newFixedThreadPool(1);
    /** One client per proxy, as each proxy has: one connection per agent, held by its long-poll. */
    final Map<FleetInventory, HttpClient> clients = new java.util.IdentityHashMap<>();
    final List<AgentWatcher> watchers = new ArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        watchers.forEach(AgentWatcher::stop);
        for (AutoCloseable c : closing) c.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        workers.shutdownNow();
    }

    static Instance instance(String uuid, String owner, String state) {
        return new Instance(uuid, "web", owner, "img", "docker", List.of("web"), state, 42, null, null, "test");
    }

    /** A real agent HTTP server (the v2 side) on loopback, serving this inventory. */
    HostPort agent(InstanceInventory inventory) throws Exception {
        GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), () -> Map.of("running", 1L), "test");
        AgentHttpServer server = new AgentHttpServer(vertx, new ServerIdentity(SERVER, "cn-1"), inventory,
                (i, deadline) -> CompletableFuture.completedFuture(MetricSnapshots.of()), gz, List.of(), workers,
                new Exposition(), new PrometheusRegistry());
        int port = server.listen(new HostPort("127.0.0.1", 0), null).toCompletionStage().toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
        closing.add(() -> server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS));
        return new HostPort("127.0.0.1", port);
    }

    FakeAgent v1Agent(InstancesPage page) throws Exception {
        FakeAgent fake = new FakeAgent(vertx, page, 0);
        closing.add(fake);
        return fake;
    }

    static HostPort at(FakeAgent fake) {
        return new HostPort("127.0.0.1", fake.port());
    }

    void watch(FleetInventory fleet, HostPort agent) {
        fleet.agentListUnknown(null);
        HttpClient client = clients.computeIfAbsent(fleet, f -> vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true), new PoolOptions().setHttp1MaxSize(1)));
        AgentWatcher w = new AgentWatcher(vertx, vertx.getOrCreateContext(), client, agent, fleet, FAST,
                System::currentTimeMillis, new SplittableRandom(7));
        watchers.add(w);
        w.start(Duration.ZERO);
    }

    static AgentView view(FleetInventory fleet) {
        return fleet.agents().get(0);
    }

    @Test
    void aNewProxyFollowsANewAgentByDeltasAndUnchangedAnswersKeepItsInstances() {
        InstanceInventory agentSide = new InstanceInventory();
        agentSide.upsert(instance(I1, "alice", "running"));
        FleetInventory fleet = new FleetInventory();
        watch(fleet, uncheck(() -> agent(agentSide)));

        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.instance(I1).isPresent());
        FleetInstance i1 = fleet.instance(I1).orElseThrow();
        assertThat(view(fleet).protocol()).isEqualTo(2);

        agentSide.upsert(instance(I2, "alice", "running"));
        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.instance(I2).isPresent());
        long answered = view(fleet).lastAnswerMs();
        // a long-poll of one second ends unchanged at least once in the next three
        await().atMost(Duration.ofSeconds(20)).until(() -> view(fleet).lastAnswerMs() > answered + 900);

        assertThat(fleet.instance(I1)).containsSame(i1);
        assertThat(view(fleet).generation()).isEqualTo(agentSide.generation());

        agentSide.remove("test", I1);
        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.instance(I1).isEmpty());
        assertThat(fleet.ownedBy(null, "alice")).extracting(FleetInstance::vmUuid).containsExactly(I2);
    }

    @Test
    void aStoppedWatcherClosesItsLongPollInsteadOfHoldingItForTheWholeWait() {
        InstanceInventory agentSide = new InstanceInventory();
        agentSide.upsert(instance(I1, "alice", "running"));
        FleetInventory fleet = new FleetInventory();
        fleet.agentListUnknown(null);
        HostPort at = uncheck(() -> agent(agentSide));
        HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(1));
        AgentWatcher w = new AgentWatcher(vertx, vertx.getOrCreateContext(), client, at, fleet,
                AgentWatcher.Timing.DEFAULT, System::currentTimeMillis, new SplittableRandom(7));
        watchers.add(w);
        w.start(Duration.ZERO);
        // the product's poll: the agent holds it for 300 s
        await().atMost(Duration.ofSeconds(10)).until(() -> fleet.isUp(at) && agentSide.waiting() == 1);

        w.stop(); // the agent left the proxy's list

        // its connection (and descriptor) is closed now, not when the poll would have ended
        await().atMost(Duration.ofSeconds(5)).until(() -> agentSide.waiting() == 0);
    }

    @Test
    void aNewProxyFollowsAnAgentThatSpeaksOnlyV1() throws Exception {
        InstancesPage.Server server = new InstancesPage.Server(SERVER, "cn-1");
        FakeAgent old = v1Agent(new InstancesPage(server, 1, List.of(entry(I1, "alice"))));
        FleetInventory fleet = new FleetInventory();
        watch(fleet, at(old));

        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.instance(I1).isPresent());
        assertThat(view(fleet).protocol()).isEqualTo(1);
        assertThat(fleet.synced()).isTrue();

        old.publish(new InstancesPage(server, 2, List.of(entry(I2, "alice"))));
        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.instance(I2).isPresent());
        assertThat(fleet.instance(I1)).isEmpty();
        assertThat(view(fleet).generation()).isEqualTo(2);
    }

    @Test
    void twoProxiesFollowingTheSameAgentsKnowTheSameInstances() throws Exception {
        InstanceInventory agentSide = new InstanceInventory();
        agentSide.upsert(instance(I1, "alice", "running"));
        HostPort v2 = agent(agentSide);
        HostPort v1 = at(v1Agent(new InstancesPage(new InstancesPage.Server("aaaaaaaa-0000-4000-8000-000000000009",
                "cn-9"), 4, List.of(entry(I3, "alice")))));
        FleetInventory first = new FleetInventory();
        FleetInventory second = new FleetInventory();
        for (FleetInventory fleet : List.of(first, second)) {
            watch(fleet, v2);
            watch(fleet, v1);
        }
        agentSide.upsert(instance(I2, "alice", "stopped"));

        for (FleetInventory fleet : List.of(first, second)) {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(describe(fleet))
                    .as("%s", fleet.agents()).hasSize(3));
        }
        assertThat(describe(first)).isEqualTo(describe(second)).hasSize(3);
        assertThat(first.agents()).extracting(AgentView::serverUuid)
                .isEqualTo(second.agents().stream().map(AgentView::serverUuid).toList());
    }

    @Test
    void aDeltaOfAnotherEpochIsAProtocolErrorAndTheWatcherStartsOverFromAPlainRequest() throws Exception {
        List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<String> accepts = new java.util.concurrent.CopyOnWriteArrayList<>();
        String server = "{\"uuid\":\"" + SERVER + "\",\"hostname\":\"cn-1\"}";
        String full = "{\"protocol\":2,\"epoch\":\"e1\",\"generation\":1,\"kind\":\"full\",\"server\":" + server
                + ",\"instances\":[{\"vm_uuid\":\"" + I1 + "\",\"vm_owner_uuid\":\"alice\",\"state\":\"running\"}],"
                + "\"removed\":[],\"conflicts\":[]}";
        String foreignDelta = "{\"protocol\":2,\"epoch\":\"e2\",\"generation\":2,\"kind\":\"delta\",\"server\":"
                + server + ",\"instances\":[],\"removed\":[\"" + I1 + "\"],\"conflicts\":[]}";
        io.vertx.core.http.HttpServer scripted = vertx.createHttpServer().requestHandler(req -> {
            asked.add(req.uri());
            accepts.add(req.getHeader("Accept"));
            boolean first = req.getParam("since") == null;
            req.response().putHeader("Content-Type", "application/vnd.cmon.instances.v2+json")
                    .end(first ? full : foreignDelta);
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        closing.add(() -> scripted.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS));
        FleetInventory fleet = new FleetInventory();
        watch(fleet, new HostPort("127.0.0.1", scripted.actualPort()));

        await().atMost(Duration.ofSeconds(20)).until(() -> asked.size() >= 3);
        watchers.forEach(AgentWatcher::stop);

        assertThat(asked.get(0)).isEqualTo("/v1/instances");
        assertThat(asked.get(1)).isEqualTo("/v1/instances?since=1&wait=1s&epoch=e1");
        assertThat(asked.get(2)).as("after the error: everything again").isEqualTo("/v1/instances");
        assertThat(accepts).allMatch(a -> a.equals("application/vnd.cmon.instances.v2+json, application/json;q=0.5"));
        assertThat(fleet.instance(I1)).as("the foreign delta was not applied").isPresent();
    }

    /** What a tenant sees of an instance; cached_date aside (each proxy's own clock). */
    static List<String> describe(FleetInventory fleet) {
        return fleet.ownedBy(null, "alice").stream().map(i -> String.join("|", i.vmUuid(), i.alias(), i.owner(),
                i.imageUuid(), i.brand(), String.join(",", i.groups()), i.state(), i.serverUuid(),
                i.agent().toString())).toList();
    }

    static InstancesPage.Entry entry(String uuid, String owner) {
        return new InstancesPage.Entry(uuid, "web", owner, "img", "docker", List.of("web"), "running");
    }

    interface Check<T> {
        T get() throws Exception;
    }

    static <T> T uncheck(Check<T> c) {
        try {
            return c.get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
