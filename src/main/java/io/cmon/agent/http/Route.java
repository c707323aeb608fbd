package io.cmon.agent.http;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What a request asks of the agent (DESIGN §2.5), decided from method and path alone. Client mistakes are routes
 * too ({@link Rejected}), so that every request gets an answer and none reaches a handler half-understood.
 */
public sealed interface Route {

    Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** {@code GET /v1/<uuid>/metrics}; uuid in lower case. */
    record InstanceMetrics(String uuid) implements Route {}

    /** {@code GET /v1/gz/metrics}. */
    record GzMetrics() implements Route {}

    /** {@code GET /v1/instances[?since=N&wait=D]}. */
    record Instances() implements Route {}

    /** {@code POST /v1/refresh}. */
    record Refresh() implements Route {}

    /** {@code GET /_ping}. */
    record Ping() implements Route {}

    /** {@code GET /metrics}: the agent's own metrics. */
    record SelfMetrics() implements Route {}

    /** Answered at once with {@code status} and a one-line text {@code message}; {@code allow} set for 405. */
    record Rejected(int status, String message, String allow) implements Route {}

    /** Label of the route in the agent's own request metrics (bounded set). */
    default String label() {
        if (this instanceof InstanceMetrics) return "instance_metrics";
        if (this instanceof GzMetrics) return "gz_metrics";
        if (this instanceof Instances) return "instances";
        if (this instanceof Refresh) return "refresh";
        if (this instanceof Ping) return "ping";
        if (this instanceof SelfMetrics) return "metrics";
        return "rejected";
    }

    static Route match(String method, String path) {
        if (path == null) return notFound();
        Route route;
        String allow = "GET";
        if (path.equals("/_ping")) {
            route = new Ping();
        } else if (path.equals("/metrics")) {
            route = new SelfMetrics();
        } else if (path.equals("/v1/instances")) {
            route = new Instances();
        } else if (path.equals("/v1/refresh")) {
            route = new Refresh();
            allow = "POST";
        } else if (path.startsWith("/v1/") && path.endsWith("/metrics")
                && path.length() > "/v1//metrics".length()) {
            String segment = path.substring(4, path.length() - "/metrics".length());
            if (segment.equals("gz")) {
                route = new GzMetrics();
            } else if (UUID.matcher(segment).matches()) {
                route = new InstanceMetrics(segment.toLowerCase(Locale.ROOT));
            } else if (segment.contains("/")) {
                return notFound();
            } else {
                return new Rejected(400, "invalid uuid", null);
            }
        } else {
            return notFound();
        }
        boolean allowed = allow.equals(method) || (allow.equals("GET") && "HEAD".equals(method));
        return allowed ? route : new Rejected(405, "method not allowed; use " + allow, allow);
    }

    private static Route notFound() {
        return new Rejected(404, "not found", null);
    }
}
