package io.cmon.proxy.route;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Pure parsing of a proxy request into a {@link Route} (DESIGN §3.2). Nothing is normalised but case and a
 * trailing dot of the Host: paths must match exactly, so {@code ..} and percent-encoding cannot reach another
 * route. Host: case-insensitive, port ignored, first label an instance/server uuid, else the proxy's endpoint
 * name (or an IP literal: a client addressing the proxy by address cannot mean an instance); anything else 404.
 */
public final class RouteParser {

    public static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("\\[[0-9a-fA-F:.]{2,45}]");
    private static final Pattern PORT = Pattern.compile("\\d{1,5}");
    /** Longest DNS name plus a port: anything longer is not a name we answer to. */
    private static final int MAX_HOST = 260;

    private final String endpoint;

    public RouteParser(String endpoint) {
        this.endpoint = canonicalName(endpoint);
    }

    /** The uuid (lower case) named by the Host header, or the reason the Host is not ours. */
    sealed interface HostName {
        record Instance(String uuid) implements HostName {}

        record Proxy() implements HostName {}

        record Foreign() implements HostName {}
    }

    public Route parse(String method, String host, String path, String rawQuery) {
        if (path == null) return new Route.Rejected(Failure.NOT_FOUND, null);
        if ("/_ping".equals(path)) return new Route.Ping();
        if (!"GET".equals(method)) return new Route.Rejected(Failure.METHOD_NOT_ALLOWED, "only GET");
        HostName h = host(host);
        if (h instanceof HostName.Foreign) return new Route.Rejected(Failure.NOT_FOUND, null);
        switch (path) {
            case "/v1/discover", "/v1/http_sd" -> {
                Groups groups;
                try {
                    groups = Groups.parse(queryValues(rawQuery, "groups"));
                } catch (IllegalArgumentException e) {
                    return new Route.Rejected(Failure.BAD_REQUEST, e.getMessage());
                }
                return path.equals("/v1/discover") ? new Route.Discover(groups) : new Route.HttpSd(groups);
            }
            case "/v1/gz/discover" -> {
                return new Route.GzDiscover();
            }
            case "/metrics" -> {
                return h instanceof HostName.Instance i ? new Route.Metrics(i.uuid(), true)
                        : new Route.Rejected(Failure.NOT_FOUND, null);
            }
            default -> {
                return metricsByPath(path);
            }
        }
    }

    private static Route metricsByPath(String path) {
        String prefix = "/v1/";
        String suffix = "/metrics";
        if (!path.startsWith(prefix) || !path.endsWith(suffix) || path.length() <= prefix.length() + suffix.length()) {
            return new Route.Rejected(Failure.NOT_FOUND, null);
        }
        String id = path.substring(prefix.length(), path.length() - suffix.length());
        if (id.indexOf('/') >= 0) return new Route.Rejected(Failure.NOT_FOUND, null);
        if (!UUID.matcher(id).matches()) return new Route.Rejected(Failure.BAD_REQUEST, "not an instance uuid");
        return new Route.Metrics(id.toLowerCase(Locale.ROOT), false);
    }

    HostName host(String header) {
        if (header == null || header.isEmpty() || header.length() > MAX_HOST) return new HostName.Foreign();
        String name = header;
        if (name.startsWith("[")) {
            int close = name.indexOf(']');
            if (close < 0) return new HostName.Foreign();
            String rest = name.substring(close + 1);
            if (!rest.isEmpty() && !(rest.startsWith(":") && PORT.matcher(rest.substring(1)).matches())) {
                return new HostName.Foreign();
            }
            return IPV6.matcher(name.substring(0, close + 1)).matches() ? new HostName.Proxy() : new HostName.Foreign();
        }
        int colon = name.indexOf(':');
        if (colon >= 0) {
            if (!PORT.matcher(name.substring(colon + 1)).matches()) return new HostName.Foreign();
            name = name.substring(0, colon);
        }
        name = canonicalName(name);
        if (name.isEmpty()) return new HostName.Foreign();
        if (name.equals(endpoint) || IPV4.matcher(name).matches()) return new HostName.Proxy();
        int dot = name.indexOf('.');
        String first = dot < 0 ? name : name.substring(0, dot);
        return UUID.matcher(first).matches() ? new HostName.Instance(first) : new HostName.Foreign();
    }

    /** Lower case without one trailing dot: {@code Cmon.Example.COM.} names the same host as {@code cmon.example.com}. */
    static String canonicalName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /**
     * Every value of one query parameter, URL-decoded ({@code a%2Cb} is {@code a,b}).
     *
     * @throws IllegalArgumentException on malformed percent-encoding
     */
    static List<String> queryValues(String rawQuery, String name) {
        List<String> out = new ArrayList<>();
        if (rawQuery == null || rawQuery.isEmpty()) return out;
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String key = decode(eq < 0 ? pair : pair.substring(0, eq));
            if (key.equals(name)) out.add(eq < 0 ? "" : decode(pair.substring(eq + 1)));
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed percent-encoding in the query");
        }
    }
}
