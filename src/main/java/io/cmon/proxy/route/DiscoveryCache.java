package io.cmon.proxy.route;

import io.cmon.proxy.inventory.FleetInventory;
import io.vertx.core.Future;

import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Discovery answers ({@code /v1/discover}, {@code /v1/http_sd}) kept per (format, account, groups) until the
 * account's instances change: Prometheus asks every refresh interval, and the instances of an account change far
 * less often than that. An answer is valid while {@link FleetInventory#ownerStamp} is the one it was made under; the
 * stamp is read before the instances, so a cached answer is never older than its stamp says.
 *
 * <p>Bounded: past {@code maxEntries} (accounts × groups filters in use) the cache starts over, which costs one
 * rebuild per answer and no memory.
 *
 * <p>{@link #lookup} is what the event loop calls: a valid cached answer at once, a rebuild on {@code offLoop} (a
 * worker). A rebuild walks all the account's instances and writes them as JSON, tens of milliseconds for an account
 * with thousands of instances on a cold JIT: on the event loop it would hold every other request of that loop, the
 * admin listener's {@code /-/healthy} among them when they share one.
 */
public final class DiscoveryCache {

    /** Which discovery document. */
    public enum Format { TRITON, HTTP_SD }

    private record Key(Format format, String accountUuid, String login, Groups groups) {}

    private record Cached(FleetInventory.OwnerStamp stamp, String address, byte[] body) {}

    private final FleetInventory inventory;
    private final Supplier<String> advertisedAddress;
    private final int maxEntries;
    /** Runs a rebuild off the event loop; the future completes on the caller's context. */
    private final Function<Callable<byte[]>, Future<byte[]>> offLoop;
    private final Map<Key, Cached> cache = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    /** A cache whose rebuilds run on the caller's thread (tests, tools). */
    public DiscoveryCache(FleetInventory inventory, Supplier<String> advertisedAddress, int maxEntries) {
        this(inventory, advertisedAddress, maxEntries, build -> Future.future(p -> {
            try {
                p.complete(build.call());
            } catch (Exception e) {
                p.fail(e);
            }
        }));
    }

    /** @param offLoop runs a rebuild off the event loop, e.g. {@code build -> vertx.executeBlocking(build, false)} */
    public DiscoveryCache(FleetInventory inventory, Supplier<String> advertisedAddress, int maxEntries,
                          Function<Callable<byte[]>, Future<byte[]>> offLoop) {
        this.inventory = inventory;
        this.advertisedAddress = advertisedAddress;
        this.maxEntries = maxEntries;
        this.offLoop = offLoop;
    }

    /**
     * The account's discovery document in {@code format}, filtered by {@code groups}: completed at once when the
     * cached one is valid, else rebuilt on {@code offLoop}. The caller owns no copy.
     */
    public Future<byte[]> lookup(Format format, String accountUuid, String login, Groups groups) {
        Key key = new Key(format, accountUuid, login, groups);
        byte[] valid = valid(key);
        return valid != null ? Future.succeededFuture(valid) : offLoop.apply(() -> answer(key));
    }

    /** The same, built on the caller's thread when not cached. */
    public byte[] answer(Format format, String accountUuid, String login, Groups groups) {
        Key key = new Key(format, accountUuid, login, groups);
        byte[] valid = valid(key);
        return valid != null ? valid : answer(key);
    }

    /** The cached answer if the account's instances and the advertised address are still those it was made of. */
    private byte[] valid(Key key) {
        Cached c = cache.get(key);
        if (c != null && c.stamp().equals(inventory.ownerStamp(key.accountUuid(), key.login()))
                && java.util.Objects.equals(c.address(), address(key.format()))) {
            hits.increment();
            return c.body();
        }
        return null;
    }

    private String address(Format format) {
        return format == Format.HTTP_SD ? advertisedAddress.get() : null;
    }

    /** Builds the answer and caches it: walks all the account's instances. */
    private byte[] answer(Key key) {
        // the stamp before the instances: a cached answer is never older than its stamp says
        FleetInventory.OwnerStamp stamp = inventory.ownerStamp(key.accountUuid(), key.login());
        String address = address(key.format());
        misses.increment();
        var instances = inventory.ownedBy(key.accountUuid(), key.login());
        byte[] body = key.format() == Format.TRITON ? Discovery.triton(instances, key.groups(), key.accountUuid())
                : Discovery.httpSd(instances, key.groups(), address);
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
