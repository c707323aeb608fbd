package io.cmon.proxy.route;

import io.cmon.proxy.inventory.FleetInventory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Discovery answers ({@code /v1/discover}, {@code /v1/http_sd}) kept per (format, account, groups) until the
 * account's instances change: Prometheus asks every refresh interval, and the instances of an account change far
 * less often than that. An answer is valid while {@link FleetInventory#ownerStamp} is the one it was made under; the
 * stamp is read before the instances, so a cached answer is never older than its stamp says.
 *
 * <p>Bounded: past {@code maxEntries} (accounts × groups filters in use) the cache starts over, which costs one
 * rebuild per answer and no memory.
 */
public final class DiscoveryCache {

    /** Which discovery document. */
    public enum Format { TRITON, HTTP_SD }

    private record Key(Format format, String accountUuid, String login, Groups groups) {}

    private record Cached(FleetInventory.OwnerStamp stamp, String address, byte[] body) {}

    private final FleetInventory inventory;
    private final Supplier<String> advertisedAddress;
    private final int maxEntries;
    private final Map<Key, Cached> cache = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    public DiscoveryCache(FleetInventory inventory, Supplier<String> advertisedAddress, int maxEntries) {
        this.inventory = inventory;
        this.advertisedAddress = advertisedAddress;
        this.maxEntries = maxEntries;
    }

    /** The account's discovery document in {@code format}, filtered by {@code groups}. The caller owns no copy. */
    public byte[] answer(Format format, String accountUuid, String login, Groups groups) {
        Key key = new Key(format, accountUuid, login, groups);
        FleetInventory.OwnerStamp stamp = inventory.ownerStamp(accountUuid, login);
        String address = format == Format.HTTP_SD ? advertisedAddress.get() : null;
        Cached c = cache.get(key);
        if (c != null && c.stamp().equals(stamp) && java.util.Objects.equals(c.address(), address)) {
            hits.increment();
            return c.body();
        }
        misses.increment();
        var instances = inventory.ownedBy(accountUuid, login);
        byte[] body = format == Format.TRITON ? Discovery.triton(instances, groups, accountUuid)
                : Discovery.httpSd(instances, groups, address);
        if (cache.size() >= maxEntries && !cache.containsKey(key)) cache.clear();
        cache.put(key, new Cached(stamp, address, body));
        return body;
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    public int size() {
        return cache.size();
    }
}
