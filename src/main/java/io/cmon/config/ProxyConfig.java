package io.cmon.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** proxy.yaml (DESIGN §4). Paths are taken as written (relative to the working directory). */
public record ProxyConfig(
        String listen,
        String adminListen,
        String endpoint,
        String dnsSuffix,
        Tls tls,
        Auth auth,
        String accounts,
        Agents agents,
        AgentTls agentTls,
        RateLimit rateLimit,
        Timeouts timeouts,
        String maxResponseBytes,
        Limits limits,
        List<String> adminHosts,
        Fleet fleet) implements ConfigLoader.Validated {

    /** The configuration without {@code fleet}: its defaults. */
    public ProxyConfig(String listen, String adminListen, String endpoint, String dnsSuffix, Tls tls, Auth auth,
                       String accounts, Agents agents, AgentTls agentTls, RateLimit rateLimit, Timeouts timeouts,
                       String maxResponseBytes, Limits limits, List<String> adminHosts) {
        this(listen, adminListen, endpoint, dnsSuffix, tls, auth, accounts, agents, agentTls, rateLimit, timeouts,
                maxResponseBytes, limits, adminHosts, null);
    }

    /**
     * Fleet scale (docs/operator-guide.md, "Fleet scale"). {@code fdReserve}: file descriptors kept for the
     * listeners and forwarding, on top of the JVM's own; the agents followed get the rest of the limit, one each.
     * {@code perAgentMetricsMax}: up to this many agents, /metrics has series per agent; above, fleet-wide
     * summaries only.
     */
    public record Fleet(Integer fdReserve, Integer perAgentMetricsMax) {
        public Fleet {
            fdReserve = fdReserve == null ? 1024 : fdReserve;
            perAgentMetricsMax = perAgentMetricsMax == null ? 1000 : perAgentMetricsMax;
        }
    }

    /** The configuration without {@code limits} and {@code adminHosts}: their defaults. */
    public ProxyConfig(String listen, String adminListen, String endpoint, String dnsSuffix, Tls tls, Auth auth,
                       String accounts, Agents agents, AgentTls agentTls, RateLimit rateLimit, Timeouts timeouts,
                       String maxResponseBytes) {
        this(listen, adminListen, endpoint, dnsSuffix, tls, auth, accounts, agents, agentTls, rateLimit, timeouts,
                maxResponseBytes, null, null, null);
    }

    /**
     * What a stranger may cost the proxy, on both listeners (the admin listener takes a tenth of the connections).
     * {@code headerTimeout}: a connection's first request must have arrived (headers complete) this long after the
     * TLS handshake; later ones within {@code idleTimeout} plus the request timeout of the one before.
     * {@code authFailures}: per source address, failed authentications allowed at {@code rate}/s with
     * {@code burst}; past it the source gets 429 before any certificate is looked at.
     */
    public record Limits(Integer maxConnections, Integer maxConnectionsPerSource, String headerTimeout,
                         String idleTimeout, String maxHeaderBytes, Double authFailureRate,
                         Integer authFailureBurst) {
        public Limits {
            maxConnections = maxConnections == null ? 10_000 : maxConnections;
            maxConnectionsPerSource = maxConnectionsPerSource == null ? 512 : maxConnectionsPerSource;
            headerTimeout = headerTimeout == null ? "10s" : headerTimeout;
            idleTimeout = idleTimeout == null ? "120s" : idleTimeout;
            maxHeaderBytes = maxHeaderBytes == null ? "16KiB" : maxHeaderBytes;
            authFailureRate = authFailureRate == null ? 1.0 : authFailureRate;
            authFailureBurst = authFailureBurst == null ? 30 : authFailureBurst;
        }

        public Duration headerTimeoutDuration() {
            return Durations.parse(headerTimeout);
        }

        public Duration idleTimeoutDuration() {
            return Durations.parse(idleTimeout);
        }

        public int maxHeaderSize() {
            return (int) Math.min(1 << 20, ByteSizes.parse(maxHeaderBytes));
        }
    }

    public record Tls(String cert, String key) {}

    public record Auth(String mode, String tenantCa, String crl) {
        public Auth {
            mode = mode == null ? "ca" : mode.toLowerCase(Locale.ROOT);
        }
    }

    /**
     * {@code dns}: see {@link DnsQuery}; {@code dnsInterval} (default 30s) between lookups; {@code dnsServer}
     * ({@code address[:port]}, default the first nameserver of /etc/resolv.conf) the server asked.
     */
    public record Agents(List<String> static_, String file, String dns, String dnsInterval, String dnsServer) {
        @com.fasterxml.jackson.annotation.JsonCreator
        public Agents(@com.fasterxml.jackson.annotation.JsonProperty("static") List<String> static_,
                      @com.fasterxml.jackson.annotation.JsonProperty("file") String file,
                      @com.fasterxml.jackson.annotation.JsonProperty("dns") String dns,
                      @com.fasterxml.jackson.annotation.JsonProperty("dnsInterval") String dnsInterval,
                      @com.fasterxml.jackson.annotation.JsonProperty("dnsServer") String dnsServer) {
            this.static_ = static_ == null ? List.of() : List.copyOf(static_);
            this.file = file;
            this.dns = dns;
            this.dnsInterval = dnsInterval == null ? "30s" : dnsInterval;
            this.dnsServer = dnsServer;
        }

        public Agents(List<String> static_, String file, String dns) {
            this(static_, file, dns, null, null);
        }

        public List<String> staticAgents() {
            return static_;
        }

        /** Time between DNS lookups of {@code dns}. */
        public Duration dnsIntervalDuration() {
            return Durations.parse(dnsInterval);
        }
    }

    public record AgentTls(String cert, String key, String ca) {}

    public record RateLimit(Double rate, Integer burst) {
        public RateLimit {
            rate = rate == null ? 100.0 : rate;
            burst = burst == null ? 1000 : burst;
        }
    }

    public record Timeouts(String request) {
        public Timeouts {
            request = request == null ? "10s" : request;
        }
    }

    public ProxyConfig {
        listen = listen == null ? "0.0.0.0:9163" : listen;
        adminListen = adminListen == null ? "127.0.0.1:9166" : adminListen;
        endpoint = endpoint == null ? "cmon.example.com" : endpoint;
        dnsSuffix = dnsSuffix == null ? endpoint : dnsSuffix;
        auth = auth == null ? new Auth(null, null, null) : auth;
        agents = agents == null ? new Agents(List.of("127.0.0.1:9164"), null, null) : agents;
        rateLimit = rateLimit == null ? new RateLimit(null, null) : rateLimit;
        timeouts = timeouts == null ? new Timeouts(null) : timeouts;
        maxResponseBytes = maxResponseBytes == null ? "64MiB" : maxResponseBytes;
        limits = limits == null ? new Limits(null, null, null, null, null, null, null) : limits;
        adminHosts = adminHosts == null ? List.of() : List.copyOf(adminHosts);
        fleet = fleet == null ? new Fleet(null, null) : fleet;
    }

    public HostPort listenAddress() {
        return HostPort.parse(listen);
    }

    public HostPort adminAddress() {
        return HostPort.parse(adminListen);
    }

    public Duration requestTimeout() {
        return Durations.parse(timeouts.request());
    }

    public long maxResponseSize() {
        return ByteSizes.parse(maxResponseBytes);
    }

    public ProxyConfig withListen(String newListen, String newAdminListen) {
        return new ProxyConfig(newListen == null ? listen : newListen,
                newAdminListen == null ? adminListen : newAdminListen, endpoint, dnsSuffix, tls, auth, accounts,
                agents, agentTls, rateLimit, timeouts, maxResponseBytes, limits, adminHosts, fleet);
    }

    @Override
    public void validate() {
        check("listen", () -> HostPort.parse(listen));
        check("adminListen", () -> HostPort.parse(adminListen));
        check("timeouts.request", () -> Durations.parse(timeouts.request()));
        check("maxResponseBytes", () -> ByteSizes.parse(maxResponseBytes));
        if (tls == null) {
            throw ConfigException.key("tls", "missing; the proxy serves HTTPS only: give {cert, key}");
        }
        AgentConfig.requireFile("tls.cert", tls.cert());
        AgentConfig.requireFile("tls.key", tls.key());
        switch (auth.mode()) {
            case "ca" -> AgentConfig.requireFile("auth.tenantCa", auth.tenantCa());
            case "account-key" -> { }
            default -> throw ConfigException.key("auth.mode", "'" + auth.mode() + "' is not one of: ca, account-key");
        }
        if (auth.crl() != null) AgentConfig.requireFile("auth.crl", auth.crl());
        AgentConfig.requireFile("accounts", accounts);
        if (agents.staticAgents().isEmpty() && agents.file() == null && agents.dns() == null) {
            throw ConfigException.key("agents", "no agents: give agents.static, agents.file or agents.dns");
        }
        for (int i = 0; i < agents.staticAgents().size(); i++) {
            String a = agents.staticAgents().get(i);
            check("agents.static[" + i + "]", () -> HostPort.parse(a));
        }
        if (agents.dns() != null) {
            check("agents.dns", () -> DnsQuery.parse(agents.dns()));
            check("agents.dnsInterval", () -> {
                if (agents.dnsIntervalDuration().toMillis() < 100) throw new IllegalArgumentException("must be >= 100ms");
            });
            if (agents.dnsServer() != null) check("agents.dnsServer", () -> DnsQuery.parseServer(agents.dnsServer()));
        }
        if (agentTls != null) {
            AgentConfig.requireFile("agentTls.cert", agentTls.cert());
            AgentConfig.requireFile("agentTls.key", agentTls.key());
            AgentConfig.requireFile("agentTls.ca", agentTls.ca());
        }
        if (rateLimit.rate() <= 0) throw ConfigException.key("rateLimit.rate", "must be > 0");
        if (rateLimit.burst() < 1) throw ConfigException.key("rateLimit.burst", "must be >= 1");
        if (limits.maxConnections() < 1) throw ConfigException.key("limits.maxConnections", "must be >= 1");
        if (limits.maxConnectionsPerSource() < 1) {
            throw ConfigException.key("limits.maxConnectionsPerSource", "must be >= 1");
        }
        check("limits.headerTimeout", () -> {
            if (limits.headerTimeoutDuration().toMillis() < 100) throw new IllegalArgumentException("must be >= 100ms");
        });
        check("limits.idleTimeout", () -> {
            if (limits.idleTimeoutDuration().toSeconds() < 1) throw new IllegalArgumentException("must be >= 1s");
        });
        check("limits.maxHeaderBytes", () -> {
            if (ByteSizes.parse(limits.maxHeaderBytes()) < 1024) throw new IllegalArgumentException("must be >= 1KiB");
        });
        if (limits.authFailureRate() <= 0) throw ConfigException.key("limits.authFailureRate", "must be > 0");
        if (limits.authFailureBurst() < 1) throw ConfigException.key("limits.authFailureBurst", "must be >= 1");
        if (fleet.fdReserve() < 0) throw ConfigException.key("fleet.fdReserve", "must be >= 0");
        if (fleet.perAgentMetricsMax() < 0) throw ConfigException.key("fleet.perAgentMetricsMax", "must be >= 0");
        for (int i = 0; i < adminHosts.size(); i++) {
            if (adminHosts.get(i) == null || adminHosts.get(i).isBlank()) {
                throw ConfigException.key("adminHosts[" + i + "]", "empty name");
            }
        }
        if (dnsSuffix.isBlank() || endpoint.isBlank()) {
            throw ConfigException.key(endpoint.isBlank() ? "endpoint" : "dnsSuffix", "empty name");
        }
    }

    private static void check(String key, Runnable parse) {
        try {
            parse.run();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw ConfigException.key(key, e.getMessage());
        }
    }
}
