package io.cmon.config;

import io.netty.util.NetUtil;

import java.util.Locale;

/**
 * What {@code agents.dns} asks DNS for (DESIGN §3.3): {@code name:port} asks A and AAAA records, every address an
 * agent on that port; a name starting with {@code _} ({@code _cmon-agent._tcp.fleet.example}) asks SRV records,
 * whose targets and ports are the agents.
 */
public sealed interface DnsQuery {

    /** The name as asked (lower case, no trailing dot). */
    String name();

    /** A and AAAA records of {@code name}, each address with {@code port}. */
    record Addresses(String name, int port) implements DnsQuery {}

    /** SRV records of {@code name}; their targets' A and AAAA records with the records' ports. */
    record Service(String name) implements DnsQuery {}

    /** Parses {@code agents.dns}; {@link IllegalArgumentException} says what is wrong. */
    static DnsQuery parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty; expected name:port or _service._tcp.name");
        String s = text.strip();
        if (s.startsWith("_")) {
            if (s.contains(":")) {
                throw new IllegalArgumentException("'" + text + "' is an SRV name (starts with _): it takes no port, "
                        + "the SRV records give each agent's port");
            }
            return new Service(checkName(s, text));
        }
        HostPort hp = HostPort.parse(s);
        if (NetUtil.isValidIpV4Address(hp.host()) || NetUtil.isValidIpV6Address(hp.host())) {
            throw new IllegalArgumentException("'" + text + "' is an address, not a DNS name; list addresses in agents.static");
        }
        if (hp.port() == 0) throw new IllegalArgumentException("'" + text + "': port 0 is not an agent's port");
        return new Addresses(checkName(hp.host(), text), hp.port());
    }

    /**
     * Parses {@code agents.dnsServer}: an IP address with an optional port (default 53). A name would need DNS to
     * find DNS.
     */
    static HostPort parseServer(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty; expected address[:port]");
        String s = text.strip();
        if (NetUtil.isValidIpV4Address(s) || NetUtil.isValidIpV6Address(s)) return new HostPort(s, 53);
        HostPort hp = HostPort.parse(s);
        if (!NetUtil.isValidIpV4Address(hp.host()) && !NetUtil.isValidIpV6Address(hp.host())) {
            throw new IllegalArgumentException("'" + text + "': give the DNS server as an IP address, e.g. 10.0.0.2:53");
        }
        if (hp.port() == 0) throw new IllegalArgumentException("'" + text + "': port 0");
        return hp;
    }

    /**
     * The first {@code nameserver} of a resolv.conf text, port 53; glibc's own default (the local host) when there is
     * none. Scope ids ({@code fe80::1%eth0}) are dropped with the rest of link-local subtleties.
     */
    static HostPort systemServer(String resolvConf) {
        for (String line : resolvConf.split("\n")) {
            String[] words = line.strip().split("\\s+");
            if (words.length >= 2 && words[0].equals("nameserver")) {
                String address = words[1];
                int scope = address.indexOf('%');
                if (scope >= 0) address = address.substring(0, scope);
                if (NetUtil.isValidIpV4Address(address) || NetUtil.isValidIpV6Address(address)) {
                    return new HostPort(address, 53);
                }
            }
        }
        return new HostPort("127.0.0.1", 53);
    }

    private static String checkName(String name, String text) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) n = n.substring(0, n.length() - 1);
        if (n.isEmpty() || n.length() > 253) throw new IllegalArgumentException("'" + text + "': not a DNS name");
        for (String label : n.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")
                    || !label.matches("[a-z0-9_-]+")) {
                throw new IllegalArgumentException("'" + text + "': '" + label + "' is not a DNS label");
            }
        }
        return n;
    }
}
