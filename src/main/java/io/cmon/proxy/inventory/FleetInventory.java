package io.cmon.proxy.inventory;

import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
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
 *
 * <p>An instance uuid claimed by two agents (or twice by one) is served to nobody: it leaves both indexes and is
 * kept apart as a {@link Conflict} until all but one claim are gone, so no owner can take over another's target by
 * reusing its uuid.
 *
 * <p>Readiness ({@link #notReadyReason()}): the agent list must be known (set by the proxy once its static list,
 * agents file and DNS answer are in), every listed agent must have answered or failed once, and, when agents are
 * listed, at least one must have answered: an empty answer because nothing could be reached would make every
 * tenant's Prometheus drop all its targets (DESIGN §3.2).
 */
public final class FleetInventory {

    private static final Logger LOG = LoggerFactory.getLogger(FleetInventory.class);

    /** An instance uuid claimed by several agents (or twice by one), with the agents that claim it. */
    public record Conflict(String vmUuid, List<HostPort> agents) {}

    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private final Map<String, FleetInstance> byUuid = new ConcurrentHashMap<>();
    private final Map<String, Map<String, FleetInstance>> byOwner = new ConcurrentHashMap<>();
    private final Map<String, HostPort> byServer = new ConcurrentHashMap<>();
    private final Map<HostPort, AgentState> agents = new ConcurrentHashMap<>();
    /** Contested uuids: every claim, by agent. Guarded by this. */
    private final Map<String, Map<HostPort, FleetInstance>> contested = new HashMap<>();
    private volatile List<Conflict> conflicts = List.of();
    /** Agents not yet attempted, agents that answered at least once: readiness in O(1). Guarded by this. */
    private int unattempted;
    private int everAnswered;
    private volatile String agentListUnknown = "the agent list has not been read yet";

    private static final class AgentState {
        volatile boolean up;
        volatile boolean attempted;
        volatile String serverUuid;
        volatile String hostname;
        volatile long generation;
        volatile long lastAnswerMs;
        volatile String lastError;
        volatile boolean answered;
        volatile List<String> duplicates = List.of();
        volatile List<InstancesPage.Source> sources = List.of();
        volatile String version;
        Map<String, FleetInstance> instances = Map.of();
    }

    /**
     * The proxy says whether it knows its agent list: null once static agents, the agents file and the DNS answer
     * are all in; else why not (the agents file cannot be read, DNS has not answered). Until then: not ready.
     */
    public void agentListUnknown(String reason) {
        agentListUnknown = reason;
    }

    /** Starts tracking an agent; until its first attempt finishes the inventory is not {@link #synced()}. */
    public synchronized void addAgent(HostPort agent) {
        if (agents.putIfAbsent(agent, new AgentState()) == null) unattempted++;
    }

    /** Forgets an agent and its instances (they become unknown: 404). */
    public synchronized void removeAgent(HostPort agent) {
        AgentState s = agents.remove(agent);
        if (s == null) return;
        if (!s.attempted) unattempted--;
        if (s.answered) everAnswered--;
        for (FleetInstance i : s.instances.values()) unindex(i);
        if (s.serverUuid != null) byServer.remove(s.serverUuid, agent);
        publishConflicts();
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
        s.sources = page.server() == null ? List.of() : page.server().sources();
        s.version = page.server() == null ? null : page.server().version();
        if (serverUuid != null) byServer.put(serverUuid, agent);

        Map<String, FleetInstance> next = new HashMap<>(page.instances().size() * 2);
        Set<String> twice = null;
        for (InstancesPage.Entry e : page.instances()) {
            if (e.vmUuid() == null || !UUID.matcher(e.vmUuid()).matches()) continue; // not addressable by Host
            String uuid = e.vmUuid().toLowerCase(Locale.ROOT);
            FleetInstance before = next.put(uuid, new FleetInstance(uuid, e.vmAlias(), ownerKey(e.vmOwnerUuid()),
                    e.vmImageUuid(), e.vmBrand(), e.groups(), e.state(), serverUuid, agent, nowMs));
            if (before != null) {
                if (twice == null) twice = new HashSet<>();
                twice.add(uuid);
            }
        }
        List<String> duplicates = List.of();
        if (twice != null) { // an agent of an older version listed one uuid twice: which one is meant is unknown
            next.keySet().removeAll(twice);
            duplicates = twice.stream().sorted().toList();
            if (!duplicates.equals(s.duplicates)) {
                LOG.warn("agent {} lists instance uuid(s) {} more than once: served to nobody", agent, duplicates);
            }
        }
        s.duplicates = duplicates;
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
        if (!s.attempted) unattempted--;
        s.attempted = true;
        if (!s.answered) everAnswered++;
        s.answered = true;
        publishConflicts();
    }

    /** An attempt to reach the agent failed: its instances stay listed but answer 503 until it is back. */
    public synchronized void markDown(HostPort agent, String reason) {
        AgentState s = agents.get(agent);
        if (s == null) return;
        s.up = false;
        s.lastError = reason;
        if (!s.attempted) unattempted--;
        s.attempted = true;
    }

    /** True when discovery may answer: see {@link #notReadyReason()}. O(1). */
    public boolean synced() {
        return notReadyReason() == null;
    }

    /** Null when discovery answers are complete; else why not, for a 503 body and /-/ready. O(1). */
    public synchronized String notReadyReason() {
        String unknown = agentListUnknown;
        if (unknown != null) return unknown;
        if (unattempted > 0) return unattempted + " of " + agents.size() + " agent(s) not reached yet";
        if (!agents.isEmpty() && everAnswered == 0) {
            return "none of the " + agents.size() + " agent(s) has answered yet";
        }
        return null;
    }

    /** Instance uuids claimed more than once, served to nobody; sorted by uuid. */
    public List<Conflict> conflicts() {
        return conflicts;
    }

    /** True when the uuid is claimed more than once (the instance is then served to nobody). */
    public synchronized boolean contested(String uuid) {
        return contested.containsKey(uuid);
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
                s.instances.size(), s.generation, s.lastAnswerMs, s.lastError, s.duplicates, s.sources, s.version)));
        out.sort(Comparator.comparing(AgentView::endpoint, Comparator.comparing(HostPort::toString)));
        return out;
    }

    /** Every instance served (contested ones excluded), in no particular order: for status views, O(n). */
    public Collection<FleetInstance> instances() {
        return List.copyOf(byUuid.values());
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
        Map<HostPort, FleetInstance> claims = contested.get(i.vmUuid());
        if (claims == null) {
            FleetInstance current = byUuid.get(i.vmUuid());
            if (current != null && !current.agent().equals(i.agent())) {
                // a second claim: neither is served until one is gone
                unindexServed(current);
                claims = new TreeMap<>(java.util.Comparator.comparing(HostPort::toString));
                claims.put(current.agent(), current);
                contested.put(i.vmUuid(), claims);
                LOG.warn("instance uuid {} is claimed by agents {} and {}: served to nobody until one is gone",
                        i.vmUuid(), current.agent(), i.agent());
            }
        }
        if (claims != null) {
            claims.put(i.agent(), i);
            return;
        }
        byUuid.put(i.vmUuid(), i);
        if (i.owner() != null) byOwner.computeIfAbsent(i.owner(), k -> new ConcurrentHashMap<>()).put(i.vmUuid(), i);
    }

    private void unindex(FleetInstance i) {
        Map<HostPort, FleetInstance> claims = contested.get(i.vmUuid());
        if (claims != null) {
            claims.remove(i.agent());
            if (claims.size() <= 1) {
                contested.remove(i.vmUuid());
                for (FleetInstance last : claims.values()) {
                    LOG.info("instance uuid {} is claimed by agent {} alone again: served", last.vmUuid(), last.agent());
                    index(last);
                }
            }
            return;
        }
        unindexServed(i);
    }

    private void publishConflicts() {
        if (contested.isEmpty() && conflicts.isEmpty()) return;
        List<Conflict> out = new ArrayList<>(contested.size());
        new TreeMap<>(contested).forEach((uuid, claims) -> out.add(new Conflict(uuid, List.copyOf(claims.keySet()))));
        conflicts = List.copyOf(out);
    }

    private void unindexServed(FleetInstance i) {
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
