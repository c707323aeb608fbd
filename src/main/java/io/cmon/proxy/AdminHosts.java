package io.cmon.proxy;

import io.cmon.config.ProxyConfig;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Host names the admin listener answers to (a DNS-rebinding guard: a page in an operator's browser that makes
 * its own name resolve to 127.0.0.1 would otherwise read /status and call /-/reload). Allowed: no Host at all
 * (HTTP/1.0 tools; browsers always send one), IP literals, {@code localhost}, the admin listen host, the proxy's
 * endpoint, this machine's host name, and the names in {@code adminHosts}. Case-insensitive; the port is ignored.
 */
record AdminHosts(Set<String> names) {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Reads the machine's host name: may block on a resolver, so only from a constructor off the event loop. */
    static AdminHosts of(ProxyConfig config) {
        Set<String> names = new HashSet<>();
        names.add("localhost");
        names.add(config.adminAddress().host().toLowerCase(Locale.ROOT));
        names.add(config.endpoint().toLowerCase(Locale.ROOT));
        for (String n : config.adminHosts()) names.add(n.toLowerCase(Locale.ROOT));
        try {
            InetAddress self = InetAddress.getLocalHost();
            names.add(self.getHostName().toLowerCase(Locale.ROOT));
            names.add(self.getCanonicalHostName().toLowerCase(Locale.ROOT));
        } catch (UnknownHostException e) {
            // no resolvable name: the other names still work
        }
        return new AdminHosts(Set.copyOf(names));
    }

    static AdminHosts of(List<String> names) {
        return new AdminHosts(Set.copyOf(names.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList()));
    }

    boolean allows(String hostHeader) {
        if (hostHeader == null) return true;
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) return h.indexOf(']') > 0; // an IPv6 literal, with or without port
        int colon = h.lastIndexOf(':');
        if (colon >= 0) h = h.substring(0, colon);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        return IPV4.matcher(h).matches() || names.contains(h);
    }

    /** A Host header as it may be echoed in an answer: short, printable ASCII. */
    static String printable(String host) {
        if (host == null) return "";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < host.length() && b.length() < 100; i++) {
            char c = host.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
