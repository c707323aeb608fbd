package io.cmon.proxy.inventory;

import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The proxy's in-memory view of the fleet, fed by one {@link AgentWatcher} per agent (DESIGN §3.3).
 * Lookups by instance uuid, by owner and by server uuid are O(1) map reads, lock-free; writers (one per agent
 * answer) serialise on this object and update the indexes incrementally, so an answer from one agent costs in
 * proportion to that agent's instances only.
 *
 * <p>Owners are indexed as labelled on the host (uuid or login); {@link #ownedBy} looks up both keys of an
 * account, so an edited accounts.yaml needs no reindexing. Instances without an owner are in the uuid index
 * (operators may scrape them) but in no owner's list.
 */
public final class FleetInventory {

    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private final Map<String, FleetInstance> byUuid = new ConcurrentHashMap<>();
    private final Map<String, Map<String, FleetInstance>> byOwner = new ConcurrentHashMap<>();
    private final Map<String, HostPort> byServer = new ConcurrentHashMap<>();
    private final Map<HostPort, AgentState> agents = new ConcurrentHashMap<>();

    private static final class AgentState {
        volatile boolean up;
        volatile boolean attempted;
        volatile String serverUuid;
        volatile String hostname;
        volatile long generation;
        volatile long lastAnswerMs;
        volatile String lastError;
        Map<String, FleetInstance> instances = Map.of();
    }

    /** Starts tracking an agent; until its first attempt finishes the inventory is not {@link #synced()}. */
    public synchronized void addAgent(HostPort agent) {
        agents.putIfAbsent(agent, new AgentState());
    }

    /** Forgets an agent and its instances (they become unknown: 404). */
    public synchronized void removeAgent(HostPort agent) {
        AgentState s = agents.remove(agent);
        if (s == null) return;
        for (FleetInstance i : s.instances.values()) unindex(i);
        if (s.serverUuid != null) byServer.remove(s.serverUuid, agent);
    }

    /** An agent answered {@code /v1/instances}: its full list replaces what it had, and it is up. */
    public synchronized void update(HostPort agent, InstancesPage page, long nowMs) {
        AgentState s = agents.get(agent);
        if (s == null) return; // removed while the answer was in flight
        String serverUuid = page.server() == null || page.server().uuid() == null ? null
                : page.server().uuid().toLowerCase(Locale.ROOT);
        if (s.serverUuid != null && !s.serverUuid.equals(serverUuid)) byServer.remove(s.serverUuid, agent);
        s.serverUuid = serverUuid;
        s.hostname = page.server() == null ? null : page.server().hostname();
        if (serverUuid != null) byServer.put(serverUuid, agent);

        Map<String, FleetInstance> next = new HashMap<>(page.instances().size() * 2);
        for (InstancesPage.Entry e : page.instances()) {
            if (e.vmUuid() == null || !UUID.matcher(e.vmUuid()).matches()) continue; // not addressable by Host
            String uuid = e.vmUuid().toLowerCase(Locale.ROOT);
            next.put(uuid, new FleetInstance(uuid, e.vmAlias(), ownerKey(e.vmOwnerUuid()), e.vmImageUuid(),
                    e.vmBrand(), e.groups(), e.state(), serverUuid, agent, nowMs));
        }
        for (FleetInstance old : s.instances.values()) {
            FleetInstance now = next.get(old.vmUuid());
            if (now == null || !sameOwner(old, now)) unindex(old);
        }
        for (FleetInstance i : next.values()) index(i);
        s.instances = next;
        s.generation = page.generation();
        s.lastAnswerMs = nowMs;
        s.lastError = null;
        s.up = true;
        s.attempted = true;
    }

    /** An attempt to reach the agent failed: its instances stay listed but answer 503 until it is back. */
    public void markDown(HostPort agent, String reason) {
        AgentState s = agents.get(agent);
        if (s == null) return;
        s.up = false;
        s.lastError = reason;
        s.attempted = true;
    }

    /** True once every agent has answered or failed at least once: before that, discovery would be incomplete. */
    public boolean synced() {
        for (AgentState s : agents.values()) {
            if (!s.attempted) return false;
        }
        return true;
    }

    public Optional<FleetInstance> instance(String uuid) {
        return Optional.ofNullable(byUuid.get(uuid));
    }

    /** The agent serving a server uuid (lower case). */
    public Optional<HostPort> server(String serverUuid) {
        return Optional.ofNullable(byServer.get(serverUuid));
    }

    public boolean isUp(HostPort agent) {
        AgentState s = agents.get(agent);
        return s != null && s.up;
    }

    /** The instances of an account, known by its uuid or its login, sorted by uuid (stable discovery answers). */
    public List<FleetInstance> ownedBy(String accountUuid, String login) {
        List<FleetInstance> out = new ArrayList<>();
        String key = ownerKey(accountUuid);
        if (key != null) out.addAll(byOwner.getOrDefault(key, Map.of()).values());
        if (login != null && !login.isEmpty() && !login.equals(key)) {
            out.addAll(byOwner.getOrDefault(login, Map.of()).values());
        }
        out.sort(Comparator.comparing(FleetInstance::vmUuid));
        return out;
    }

    /** True when the instance belongs to the account named by either of its keys. */
    public static boolean owns(FleetInstance i, String accountUuid, String login) {
        return i.owner() != null
                && (i.owner().equals(ownerKey(accountUuid)) || i.owner().equals(login));
    }

    public List<AgentView> agents() {
        List<AgentView> out = new ArrayList<>();
        agents.forEach((hp, s) -> out.add(new AgentView(hp, s.up, s.attempted, s.serverUuid, s.hostname,
                s.instances.size(), s.generation, s.lastAnswerMs, s.lastError)));
        out.sort(Comparator.comparing(AgentView::endpoint, Comparator.comparing(HostPort::toString)));
        return out;
    }

    public Collection<HostPort> agentEndpoints() {
        return List.copyOf(agents.keySet());
    }

    public int instanceCount() {
        return byUuid.size();
    }

    public int ownerCount() {
        return byOwner.size();
    }

    static String ownerKey(String owner) {
        if (owner == null || owner.isBlank()) return null;
        return UUID.matcher(owner).matches() ? owner.toLowerCase(Locale.ROOT) : owner;
    }

    private static boolean sameOwner(FleetInstance a, FleetInstance b) {
        return a.owner() == null ? b.owner() == null : a.owner().equals(b.owner());
    }

    private void index(FleetInstance i) {
        byUuid.put(i.vmUuid(), i);
        if (i.owner() != null) byOwner.computeIfAbsent(i.owner(), k -> new ConcurrentHashMap<>()).put(i.vmUuid(), i);
    }

    private void unindex(FleetInstance i) {
        // another agent may have claimed the same uuid since: only remove our own entry
        FleetInstance current = byUuid.get(i.vmUuid());
        if (current != null && current.agent().equals(i.agent())) byUuid.remove(i.vmUuid());
        if (i.owner() != null) {
            Map<String, FleetInstance> owned = byOwner.get(i.owner());
            if (owned != null) {
                FleetInstance o = owned.get(i.vmUuid());
                if (o != null && o.agent().equals(i.agent())) owned.remove(i.vmUuid());
                if (owned.isEmpty()) byOwner.remove(i.owner(), owned);
            }
        }
    }
}
