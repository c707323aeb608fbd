package io.cmon.proxy.inventory;

import io.cmon.api.InstancesAnswer;
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
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
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
 *
 * <p>Compact and quiet when nothing changes: an entry equal to the one held keeps the held {@link FleetInstance}
 * (an agent's unchanged answer allocates nothing per instance, a delta touches only its instances); the values
 * many instances share (owner, image, brand, state, groups, server) are one copy each ({@link Interner}); each
 * owner's instances are kept sorted by uuid with a version that moves when any of them changes
 * ({@link #ownerStamp}), so discovery answers can be cached until then.
 */
public final class FleetInventory {

    private static final Logger LOG = LoggerFactory.getLogger(FleetInventory.class);

    /** An instance uuid claimed by several agents (or twice by one), with the agents that claim it. */
    public record Conflict(String vmUuid, List<HostPort> agents) {}

    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /**
     * The versions of an account's two owner keys (uuid, login) at one moment: equal stamps, equal
     * {@link #ownedBy} answers. 0 is an owner with no instances.
     */
    public record OwnerStamp(long byUuid, long byLogin) {}

    /** One owner's instances, sorted by uuid, and the version of its last change. */
    private static final class Owned {
        final ConcurrentSkipListMap<String, FleetInstance> instances = new ConcurrentSkipListMap<>();
        volatile long version;
    }

    private final Map<String, FleetInstance> byUuid = new ConcurrentHashMap<>();
    private final Map<String, Owned> byOwner = new ConcurrentHashMap<>();
    private final Interner interner = new Interner();
    /** The last owner version handed out: versions only grow, so a stamp never comes back. Guarded by this. */
    private long ownerVersions;
    /** {@link #notReadyReason()}'s answer, recomputed on every change under the lock and read without it. */
    private volatile String notReady = "the agent list has not been read yet";
    private final Map<String, HostPort> byServer = new ConcurrentHashMap<>();
    private final Map<HostPort, AgentState> agents = new ConcurrentHashMap<>();
    /** Contested uuids: every claim, by agent. Guarded by this. */
    private final Map<String, Map<HostPort, FleetInstance>> contested = new HashMap<>();
    private volatile List<Conflict> conflicts = List.of();
    /** The uuids of {@link #conflicts}, for lock-free lookups. */
    private volatile Set<String> contestedUuids = Set.of();
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
        volatile int count;
        volatile int protocol;
        /** Guarded by the inventory. */
        Map<String, FleetInstance> instances = new HashMap<>();
    }

    /**
     * The proxy says whether it knows its agent list: null once static agents, the agents file and the DNS answer
     * are all in; else why not (the agents file cannot be read, DNS has not answered). Until then: not ready.
     */
    public synchronized void agentListUnknown(String reason) {
        agentListUnknown = reason;
        publishReadiness();
    }

    /** Starts tracking an agent; until its first attempt finishes the inventory is not {@link #synced()}. */
    public synchronized void addAgent(HostPort agent) {
        if (agents.putIfAbsent(agent, new AgentState()) == null) unattempted++;
        publishReadiness();
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
        publishReadiness();
    }

    /**
     * An agent answered {@code /v1/instances} with its full list (a v1 page, or a v2 {@code full} answer): it
     * replaces what the agent had, and the agent is up. Entries equal to those held keep their objects.
     */
    public synchronized void update(HostPort agent, InstancesPage page, long nowMs) {
        replace(agent, page, nowMs, 1);
    }

    /** An agent answered a v2 {@code full}: as {@link #update}. */
    public synchronized void applyFull(HostPort agent, InstancesAnswer full, long nowMs) {
        replace(agent, full.asPage(), nowMs, 2);
    }

    private void replace(HostPort agent, InstancesPage page, long nowMs, int protocol) {
        AgentState s = agents.get(agent);
        if (s == null) return; // removed while the answer was in flight
        String serverUuid = server(s, agent, page.server());

        Map<String, FleetInstance> next = new HashMap<>(Math.max(16, page.instances().size() * 2));
        Set<String> twice = null;
        for (InstancesPage.Entry e : page.instances()) {
            String uuid = addressable(e.vmUuid());
            if (uuid == null) continue;
            FleetInstance held = s.instances.get(uuid);
            FleetInstance i = same(held, e, serverUuid) ? held : instance(uuid, held, e, serverUuid, agent, nowMs);
            // keyed by the instance's own uuid string: the entry's is a fresh copy from the answer, and keeping it
            // would hold every uuid twice after an agent's full answer (80 MB at a million instances)
            if (next.put(i.vmUuid(), i) != null) {
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
            if (now == null || (now != old && !sameOwner(old, now))) unindex(old);
        }
        for (FleetInstance i : next.values()) {
            if (s.instances.get(i.vmUuid()) != i) index(i);
        }
        s.instances = next;
        answered(s, page.generation(), nowMs, protocol);
    }

    /**
     * An agent answered a v2 {@code delta}: its added or changed entries and removed uuids apply to what it had;
     * nothing else is touched.
     */
    public synchronized void applyDelta(HostPort agent, InstancesAnswer delta, long nowMs) {
        AgentState s = agents.get(agent);
        if (s == null) return;
        String before = s.serverUuid;
        String serverUuid = server(s, agent, delta.server());
        if (!Objects.equals(before, serverUuid)) { // not expected within an epoch; kept right all the same
            for (FleetInstance old : List.copyOf(s.instances.values())) {
                FleetInstance moved = new FleetInstance(old.vmUuid(), old.alias(), old.owner(), old.imageUuid(),
                        old.brand(), old.groups(), old.state(), serverUuid, agent, nowMs);
                s.instances.put(old.vmUuid(), moved);
                index(moved);
            }
        }
        for (InstancesPage.Entry e : delta.entries()) {
            String uuid = addressable(e.vmUuid());
            if (uuid == null) continue;
            FleetInstance held = s.instances.get(uuid);
            if (same(held, e, serverUuid)) continue;
            FleetInstance i = instance(uuid, held, e, serverUuid, agent, nowMs);
            if (held != null && !sameOwner(held, i)) unindex(held);
            s.instances.put(i.vmUuid(), i);
            index(i);
        }
        for (String removed : delta.removedUuids()) {
            FleetInstance old = removed == null ? null : s.instances.remove(removed.toLowerCase(Locale.ROOT));
            if (old != null) unindex(old);
        }
        answered(s, delta.generation(), nowMs, 2);
    }

    /** An agent answered v2 {@code unchanged}: it is up, at the same generation; no instance is touched. */
    public synchronized void unchanged(HostPort agent, InstancesAnswer answer, long nowMs) {
        AgentState s = agents.get(agent);
        if (s == null) return;
        server(s, agent, answer.server());
        answered(s, answer.generation(), nowMs, 2);
    }

    /** Records the agent's server; returns its uuid (lower case) or null. Caller holds the lock. */
    private String server(AgentState s, HostPort agent, InstancesPage.Server server) {
        String serverUuid = server == null || server.uuid() == null ? null
                : interner.intern(server.uuid().toLowerCase(Locale.ROOT));
        if (s.serverUuid != null && !s.serverUuid.equals(serverUuid)) byServer.remove(s.serverUuid, agent);
        s.serverUuid = serverUuid;
        String hostname = server == null ? null : server.hostname();
        if (!Objects.equals(hostname, s.hostname)) s.hostname = hostname;
        if (server != null) { // the agent's own report of its sources and version, for the status page
            s.sources = server.sources();
            s.version = server.version();
        }
        if (serverUuid != null) byServer.put(serverUuid, agent);
        return serverUuid;
    }

    private void answered(AgentState s, long generation, long nowMs, int protocol) {
        s.count = s.instances.size();
        s.protocol = protocol;
        s.generation = generation;
        s.lastAnswerMs = nowMs;
        s.lastError = null;
        s.up = true;
        if (!s.attempted) unattempted--;
        s.attempted = true;
        if (!s.answered) everAnswered++;
        s.answered = true;
        publishConflicts();
        publishReadiness();
    }

    /** The lower-case uuid, or null when it is none (not addressable by Host). */
    private static String addressable(String vmUuid) {
        if (vmUuid == null || !UUID.matcher(vmUuid).matches()) return null;
        return vmUuid.toLowerCase(Locale.ROOT);
    }

    /** True when the held instance says what the entry says (the agent's answer time aside). */
    private static boolean same(FleetInstance held, InstancesPage.Entry e, String serverUuid) {
        return held != null
                && Objects.equals(held.alias(), e.vmAlias())
                && Objects.equals(held.owner(), ownerKey(e.vmOwnerUuid()))
                && Objects.equals(held.imageUuid(), e.vmImageUuid())
                && Objects.equals(held.brand(), e.vmBrand())
                && held.groups().equals(e.groups())
                && Objects.equals(held.state(), e.state())
                && Objects.equals(held.serverUuid(), serverUuid);
    }

    /** A new instance from an entry, its shared values interned and what the held one has reused. */
    private FleetInstance instance(String uuid, FleetInstance held, InstancesPage.Entry e, String serverUuid,
                                   HostPort agent, long nowMs) {
        String alias = held != null && Objects.equals(held.alias(), e.vmAlias()) ? held.alias() : e.vmAlias();
        return new FleetInstance(held != null ? held.vmUuid() : uuid, alias, interner.intern(ownerKey(e.vmOwnerUuid())),
                interner.intern(e.vmImageUuid()), interner.intern(e.vmBrand()), interner.internList(e.groups()),
                interner.intern(e.state()), serverUuid, agent, nowMs);
    }

    /** An attempt to reach the agent failed: its instances stay listed but answer 503 until it is back. */
    public synchronized void markDown(HostPort agent, String reason) {
        AgentState s = agents.get(agent);
        if (s == null) return;
        s.up = false;
        s.lastError = reason;
        if (!s.attempted) unattempted--;
        s.attempted = true;
        publishReadiness();
    }

    /** True when discovery may answer: see {@link #notReadyReason()}. O(1). */
    public boolean synced() {
        return notReadyReason() == null;
    }

    /**
     * Null when discovery answers are complete; else why not, for a 503 body and /-/ready. O(1) and lock-free: a
     * tenant request never waits for an agent's answer being applied.
     */
    public String notReadyReason() {
        return notReady;
    }

    /** Recomputes {@link #notReady} from the counters. Caller holds the lock. */
    private void publishReadiness() {
        String unknown = agentListUnknown;
        String reason = null;
        if (unknown != null) reason = unknown;
        else if (unattempted > 0) reason = unattempted + " of " + agents.size() + " agent(s) not reached yet";
        else if (!agents.isEmpty() && everAnswered == 0) {
            reason = "none of the " + agents.size() + " agent(s) has answered yet";
        }
        if (!Objects.equals(reason, notReady)) notReady = reason;
    }

    /** Instance uuids claimed more than once, served to nobody; sorted by uuid. */
    public List<Conflict> conflicts() {
        return conflicts;
    }

    /** True when the uuid is claimed more than once (the instance is then served to nobody). Lock-free. */
    public boolean contested(String uuid) {
        return contestedUuids.contains(uuid);
    }

    public Optional<FleetInstance> instance(String uuid) {
        return Optional.ofNullable(byUuid.get(uuid));
    }

    /** The agent serving a server uuid (lower case). */
    public Optional<HostPort> server(String serverUuid) {
        return Optional.ofNullable(byServer.get(serverUuid));
    }

    /** How many instances the agent's last answer listed (0 when unknown). */
    public int agentInstances(HostPort agent) {
        AgentState s = agents.get(agent);
        return s == null ? 0 : s.count;
    }

    public boolean isUp(HostPort agent) {
        AgentState s = agents.get(agent);
        return s != null && s.up;
    }

    /**
     * The instances of an account, known by its uuid or its login, sorted by uuid (stable discovery answers): each
     * owner's are kept sorted, so this is a copy (and a merge when both keys own some), not a sort.
     */
    public List<FleetInstance> ownedBy(String accountUuid, String login) {
        String key = ownerKey(accountUuid);
        Owned a = key == null ? null : byOwner.get(key);
        Owned b = login == null || login.isEmpty() || login.equals(key) ? null : byOwner.get(login);
        if (a == null && b == null) return List.of();
        if (b == null) return List.copyOf(a.instances.values());
        if (a == null) return List.copyOf(b.instances.values());
        List<FleetInstance> out = new ArrayList<>(a.instances.size() + b.instances.size());
        var x = a.instances.values().iterator();
        var y = b.instances.values().iterator();
        FleetInstance i = x.hasNext() ? x.next() : null;
        FleetInstance j = y.hasNext() ? y.next() : null;
        while (i != null || j != null) {
            if (j == null || (i != null && i.vmUuid().compareTo(j.vmUuid()) <= 0)) {
                out.add(i);
                i = x.hasNext() ? x.next() : null;
            } else {
                out.add(j);
                j = y.hasNext() ? y.next() : null;
            }
        }
        return out;
    }

    /**
     * The versions of the account's instances now; read it <em>before</em> {@link #ownedBy}, so that an answer
     * cached under a stamp is never older than the stamp.
     */
    public OwnerStamp ownerStamp(String accountUuid, String login) {
        String key = ownerKey(accountUuid);
        Owned a = key == null ? null : byOwner.get(key);
        Owned b = login == null || login.isEmpty() || login.equals(key) ? null : byOwner.get(login);
        return new OwnerStamp(a == null ? 0 : a.version, b == null ? 0 : b.version);
    }

    /** Distinct shared values (owners, images, brands, states, group lists, servers) held now. */
    public synchronized int internedValues() {
        return interner.size();
    }

    /** True when the instance belongs to the account named by either of its keys. */
    public static boolean owns(FleetInstance i, String accountUuid, String login) {
        return i.owner() != null
                && (i.owner().equals(ownerKey(accountUuid)) || i.owner().equals(login));
    }

    public List<AgentView> agents() {
        List<AgentView> out = new ArrayList<>();
        agents.forEach((hp, s) -> out.add(new AgentView(hp, s.up, s.attempted, s.serverUuid, s.hostname,
                s.count, s.generation, s.lastAnswerMs, s.lastError, s.duplicates, s.sources, s.version,
                s.protocol)));
        out.sort(Comparator.comparing(AgentView::endpoint, Comparator.comparing(HostPort::toString)));
        return out;
    }

    /** Every instance served (contested ones excluded), in no particular order: for status views, O(n). */
    public Collection<FleetInstance> instances() {
        return List.copyOf(byUuid.values());
    }

    /**
     * How many agents are followed and up, and the oldest last answer among those that answered (ms since epoch; 0
     * when none has): one walk of the agents, nothing copied or sorted, for self-metrics scraped at any fleet size.
     */
    public record AgentSummary(int all, int up, long oldestAnswerMs) {}

    public AgentSummary agentSummary() {
        int all = 0;
        int up = 0;
        long oldest = Long.MAX_VALUE;
        for (AgentState s : agents.values()) {
            all++;
            if (s.up) up++;
            long last = s.lastAnswerMs;
            if (last > 0 && last < oldest) oldest = last;
        }
        return new AgentSummary(all, up, oldest == Long.MAX_VALUE ? 0 : oldest);
    }

    public int agentCount() {
        return agents.size();
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
        if (i.owner() != null) {
            Owned owned = byOwner.computeIfAbsent(i.owner(), k -> new Owned());
            owned.instances.put(i.vmUuid(), i);
            owned.version = ++ownerVersions;
        }
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
        contestedUuids = Set.copyOf(contested.keySet());
    }

    private void unindexServed(FleetInstance i) {
        // another agent may have claimed the same uuid since: only remove our own entry
        FleetInstance current = byUuid.get(i.vmUuid());
        if (current != null && current.agent().equals(i.agent())) byUuid.remove(i.vmUuid());
        if (i.owner() != null) {
            Owned owned = byOwner.get(i.owner());
            if (owned != null) {
                FleetInstance o = owned.instances.get(i.vmUuid());
                if (o != null && o.agent().equals(i.agent())) {
                    owned.instances.remove(i.vmUuid());
                    owned.version = ++ownerVersions;
                }
                if (owned.instances.isEmpty()) byOwner.remove(i.owner(), owned);
            }
        }
    }
}
