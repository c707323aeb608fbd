package io.cmon.proxy.route;

/** What a proxy request asks for, decided from method, Host, path and query alone (no state, no I/O). */
public sealed interface Route {

    /** Label for metrics and the access log: a closed set, never caller input. */
    String label();

    /** {@code GET /_ping}: liveness, the only route that needs no certificate. */
    record Ping() implements Route {
        public String label() {
            return "ping";
        }
    }

    /** {@code GET /v1/discover}: the caller's instances in Triton's discovery JSON. */
    record Discover(Groups groups) implements Route {
        public String label() {
            return "discover";
        }
    }

    /** {@code GET /v1/gz/discover}: the servers; operators only. */
    record GzDiscover() implements Route {
        public String label() {
            return "gz_discover";
        }
    }

    /** {@code GET /v1/http_sd}: the caller's instances in Prometheus http_sd format. */
    record HttpSd(Groups groups) implements Route {
        public String label() {
            return "http_sd";
        }
    }

    /** Metrics of an instance (or, for an operator, a server) by lower-case uuid, from Host or path. */
    record Metrics(String uuid, boolean byHost) implements Route {
        public String label() {
            return "metrics";
        }
    }

    /** The request is refused before any lookup. */
    record Rejected(Failure failure, String detail) implements Route {
        public String label() {
            return "rejected";
        }
    }
}
