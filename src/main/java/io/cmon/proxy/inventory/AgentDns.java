package io.cmon.proxy.inventory;

import io.cmon.config.DnsQuery;
import io.cmon.config.HostPort;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.dns.DnsClient;
import io.vertx.core.dns.DnsClientOptions;
import io.vertx.core.dns.DnsException;
import io.vertx.core.dns.DnsResponseCode;
import io.vertx.core.dns.SrvRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Agents from DNS (DESIGN §3.3): asks {@link DnsQuery} every interval with Vert.x's non-blocking DNS client and
 * reports when the answer changes. An answer is the set of agents only when every query got a real answer (records,
 * no records, or NXDOMAIN); a timeout or a server failure keeps the previous set, so a DNS hiccup never drops the
 * fleet.
 *
 * <pre>{@code
 * AgentDns dns = new AgentDns(vertx, DnsQuery.parse("agents.fleet.example:9164"), server, Duration.ofSeconds(30),
 *         System::currentTimeMillis, () -> reconcile());
 * dns.start(); dns.agents(); dns.stop();
 * }</pre>
 */
public final class AgentDns {

    private static final Logger LOG = LoggerFactory.getLogger(AgentDns.class);

    private final Vertx vertx;
    private final DnsQuery query;
    private final HostPort server;
    private final Duration interval;
    private final LongSupplier clock;
    private final Runnable onChange;
    private volatile DnsClient client;
    private volatile long timer = -1;
    private volatile boolean stopped;
    private volatile Set<HostPort> agents = Set.of();
    private volatile boolean answered;
    private volatile long lastSuccessMs;
    private volatile String lastError;
    private volatile long failures;

    /** {@code onChange} runs (on a Vert.x thread) after {@link #agents()} changed. */
    public AgentDns(Vertx vertx, DnsQuery query, HostPort server, Duration interval, LongSupplier clock,
                    Runnable onChange) {
        this.vertx = vertx;
        this.query = query;
        this.server = server;
        this.interval = interval;
        this.clock = clock;
        this.onChange = onChange;
    }

    /** Starts looking up now, then every interval after each lookup ends (lookups never overlap). */
    public void start() {
        // a lookup slower than the interval is as good as failed: the next one asks again
        long timeout = Math.max(200, Math.min(5000, interval.toMillis()));
        client = vertx.createDnsClient(new DnsClientOptions().setHost(server.host()).setPort(server.port())
                .setQueryTimeout(timeout).setRecursionDesired(true));
        resolveNow();
    }

    private void resolveNow() {
        if (stopped) return;
        lookup().onComplete(ar -> {
            if (stopped) return;
            if (ar.succeeded()) {
                Set<HostPort> found = Set.copyOf(ar.result());
                boolean changed = !found.equals(agents);
                agents = found;
                answered = true;
                lastSuccessMs = clock.getAsLong();
                lastError = null;
                if (changed) {
                    LOG.info("agents.dns {}: {} agent(s) {}", query.name(), found.size(), found);
                    onChange.run();
                }
            } else {
                failures++;
                lastError = String.valueOf(ar.cause().getMessage());
                LOG.warn("agents.dns {}: lookup at {} failed, keeping the {} agent(s) it gave before: {}",
                        query.name(), server, agents.size(), lastError);
            }
            timer = vertx.setTimer(interval.toMillis(), t -> resolveNow());
        });
    }

    private Future<Set<HostPort>> lookup() {
        if (query instanceof DnsQuery.Addresses a) return addresses(a.name(), a.port());
        return orNothing(client.resolveSRV(query.name())).compose(this::targets);
    }

    private Future<Set<HostPort>> targets(List<SrvRecord> records) {
        List<Future<Set<HostPort>>> each = new ArrayList<>();
        for (SrvRecord r : records) {
            String target = r.target() == null ? "" : r.target();
            if (target.endsWith(".")) target = target.substring(0, target.length() - 1);
            // RFC 2782: a target of "." says the service is decidedly not available there
            if (target.isEmpty() || r.port() == 0) continue;
            each.add(addresses(target, r.port()));
        }
        return Future.all(each).map(cf -> {
            Set<HostPort> all = new LinkedHashSet<>();
            for (int i = 0; i < cf.size(); i++) all.addAll(cf.<Set<HostPort>>resultAt(i));
            return all;
        });
    }

    private Future<Set<HostPort>> addresses(String name, int port) {
        Future<List<String>> a = orNothing(client.resolveA(name));
        Future<List<String>> aaaa = orNothing(client.resolveAAAA(name));
        return Future.all(a, aaaa).map(cf -> {
            Set<HostPort> found = new LinkedHashSet<>();
            for (String ip : a.result()) found.add(new HostPort(ip, port));
            for (String ip : aaaa.result()) found.add(new HostPort(ip, port));
            return found;
        });
    }

    /** NXDOMAIN is an answer (the name is gone: no agents); every other failure is not. */
    private static <T> Future<List<T>> orNothing(Future<List<T>> f) {
        return f.recover(e -> e instanceof DnsException d && d.code() == DnsResponseCode.NXDOMAIN
                ? Future.succeededFuture(List.of())
                : Future.failedFuture(e));
    }

    /** The agents of the last real answer (empty before the first). */
    public Set<HostPort> agents() {
        return agents;
    }

    /** Whether a lookup has answered yet: until then the fleet from DNS is unknown, not empty. */
    public boolean answered() {
        return answered;
    }

    /** Wall-clock ms of the last real answer, 0 before the first. */
    public long lastSuccessMs() {
        return lastSuccessMs;
    }

    /** Why the last lookup failed, or null when it answered. */
    public String lastError() {
        return lastError;
    }

    public long failures() {
        return failures;
    }

    public DnsQuery query() {
        return query;
    }

    public HostPort server() {
        return server;
    }

    /** {@code cmon_proxy_dns_agents}, {@code cmon_proxy_dns_last_success_timestamp_seconds}. */
    public void register(PrometheusRegistry registry) {
        GaugeWithCallback.builder().name("cmon_proxy_dns_agents")
                .help("Agents found by the last successful agents.dns lookup")
                .callback(cb -> cb.call(agents.size())).register(registry);
        GaugeWithCallback.builder().name("cmon_proxy_dns_last_success_timestamp_seconds")
                .help("Unix time of the last successful agents.dns lookup (0: none yet)")
                .callback(cb -> cb.call(lastSuccessMs / 1000.0)).register(registry);
    }

    public void stop() {
        stopped = true;
        if (timer >= 0) vertx.cancelTimer(timer);
        if (client != null) client.close();
    }
}
