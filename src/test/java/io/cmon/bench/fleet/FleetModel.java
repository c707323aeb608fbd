package io.cmon.bench.fleet;

import java.util.List;

/**
 * The simulated fleet's names, all derived from a seed: agent addresses, server/instance/tenant/image uuids, the
 * owner of every instance. Two simulators with the same model describe the same fleet, byte for byte.
 *
 * <p>Instance uuids encode the agent and the slot ({@code xxxxxxxx-iiii-4iii-8xxx-xxxxssssssss}: i = agent index,
 * s = slot, x = hash of seed, agent and slot), so an agent can answer {@code /v1/<uuid>/metrics} without a map.
 *
 * @param seed          every hash starts from it
 * @param totalAgents   agents of the whole fleet (over every simulator process): the big tenant's instances are
 *                      spread over all of them
 * @param perAgent      instances each agent starts with
 * @param tenants       owners (tenant 0 is the big one)
 * @param bigInstances  instances tenant 0 owns at start, spread evenly over the fleet
 * @param port          the port every agent listens on, each on its own loopback address
 */
public record FleetModel(long seed, int totalAgents, int perAgent, int tenants, int bigInstances, int port) {

    /** Agent index of tenant, server and image uuids: never an agent's (agents stay below 2^28 - 2). */
    private static final int TENANT_SPACE = 0x0fffffff;
    private static final int IMAGE_SPACE = 0x0ffffffe;
    private static final int IMAGES = 20;
    public static final int MAX_AGENTS = 254 * 256 * 100;

    public FleetModel {
        if (totalAgents < 1 || totalAgents > MAX_AGENTS) throw new IllegalArgumentException("agents: 1.." + MAX_AGENTS);
        if (perAgent < 0) throw new IllegalArgumentException("instances per agent must be >= 0");
        if (tenants < 1) throw new IllegalArgumentException("tenants must be >= 1");
        if (bigInstances < 0 || bigInstances > (long) totalAgents * perAgent) {
            throw new IllegalArgumentException("big tenant's instances: 0.." + (long) totalAgents * perAgent);
        }
    }

    /** Agent i's address: 127.(10 + i / 65024).(i / 254 % 256).(1 + i % 254), never a .0 or .255. */
    public String address(int i) {
        return "127." + (10 + i / (254 * 256)) + "." + (i / 254 % 256) + "." + (1 + i % 254);
    }

    public String endpoint(int i) {
        return address(i) + ":" + port;
    }

    public String uuid(int agent, int slot) {
        long h = mix(seed ^ (agent * 0x9E3779B97F4A7C15L) ^ ((slot + 1L) * 0xC2B2AE3D27D4EB4FL));
        char[] c = new char[36];
        hex(c, 0, h & 0xffffffffL, 8);
        c[8] = '-';
        hex(c, 9, (agent >>> 12) & 0xffff, 4);
        c[13] = '-';
        hex(c, 14, 0x4000 | (agent & 0xfff), 4);
        c[18] = '-';
        hex(c, 19, 0x8000 | ((h >>> 32) & 0x3fff), 4);
        c[23] = '-';
        hex(c, 24, (h >>> 48) & 0xffff, 4);
        hex(c, 28, slot & 0xffffffffL, 8);
        return new String(c);
    }

    private static void hex(char[] into, int at, long value, int digits) {
        for (int d = digits - 1; d >= 0; d--) {
            into[at + d] = Character.forDigit((int) (value & 0xf), 16);
            value >>>= 4;
        }
    }

    /** The slot of {@code uuid} when it is one of agent {@code agent}'s uuids (live or not), else -1. */
    public long slotOf(int agent, String uuid) {
        if (uuid.length() != 36) return -1;
        try {
            int hi = Integer.parseInt(uuid.substring(9, 13), 16);
            int lo = Integer.parseInt(uuid.substring(15, 18), 16) & 0xfff;
            if (((hi << 12) | lo) != agent) return -1;
            long slot = Long.parseLong(uuid.substring(28, 36), 16);
            return uuid.equalsIgnoreCase(uuid(agent, (int) slot)) ? slot : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public String serverUuid(int agent) {
        return uuid(agent, -1);
    }

    public String hostname(int agent) {
        return "sim-agent-" + agent;
    }

    public String tenantUuid(int tenant) {
        return uuid(TENANT_SPACE, tenant);
    }

    public String tenantLogin(int tenant) {
        return String.format("t%05d", tenant);
    }

    public int imageIndex(int agent, int slot) {
        return (int) Math.floorMod(mix(seed + agent * 31L + slot), IMAGES);
    }

    public String image(int index) {
        return uuid(IMAGE_SPACE, index);
    }

    public String[] tenantUuids() {
        String[] all = new String[tenants];
        for (int t = 0; t < tenants; t++) all[t] = tenantUuid(t);
        return all;
    }

    public String[] imageUuids() {
        String[] all = new String[IMAGES];
        for (int i = 0; i < IMAGES; i++) all[i] = image(i);
        return all;
    }

    public List<String> groups(int slot) {
        return List.of("g" + (slot % 4));
    }

    /** Whether the instance in {@code slot} of agent {@code agent} starts owned by tenant 0. */
    public boolean initiallyBig(int agent, int slot) {
        if (bigInstances == 0 || slot >= perAgent) return false;
        long all = (long) totalAgents * perAgent;
        long stride = Math.max(1, all / bigInstances);
        long g = (long) agent * perAgent + slot;
        return g % stride == 0 && g / stride < bigInstances;
    }

    /** The tenant of an instance not owned by tenant 0: any of the others, by hash. */
    public int smallOwner(int agent, int slot) {
        if (tenants == 1) return 0;
        return 1 + (int) Math.floorMod(mix(seed ^ (agent * 0xD6E8FEB86659FD93L) ^ slot), tenants - 1);
    }

    /** accounts.yaml for the proxy: every tenant, by login and uuid. */
    public String accountsYaml() {
        StringBuilder b = new StringBuilder("accounts:\n");
        for (int t = 0; t < tenants; t++) {
            b.append("  - {login: ").append(tenantLogin(t)).append(", uuid: ").append(tenantUuid(t))
                    .append(", operator: false}\n");
        }
        return b.toString();
    }

    /** SplitMix64's finaliser: a fixed, well-spread hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
