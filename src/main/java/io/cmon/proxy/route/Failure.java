package io.cmon.proxy.route;

/**
 * Every way a proxy request can fail, and the one place that maps each to its status code and text/plain body.
 * {@link #NOT_FOUND} has a fixed body: an unknown uuid and another tenant's uuid must be indistinguishable.
 */
public enum Failure {
    BAD_REQUEST(400, "bad request"),
    UNAUTHENTICATED(401, "client certificate required or not accepted"),
    FORBIDDEN(403, "operators only"),
    NOT_FOUND(404, "not found"),
    METHOD_NOT_ALLOWED(405, "method not allowed"),
    /** Operators only: tenants get {@link #NOT_FOUND} for a contested uuid. */
    CONFLICT(409, "instance uuid claimed by more than one container; served to nobody (see /status on the admin listener)"),
    THROTTLED(429, "too many requests"),
    NOT_SYNCED(503, "inventory not synced yet, retry shortly"),
    AGENT_DOWN(503, "the instance's agent is unavailable"),
    AGENT_ERROR(502, "the instance's agent refused or failed the request"),
    AGENT_TOO_LARGE(502, "the instance's agent sent more than the allowed response size"),
    AGENT_TIMEOUT(504, "the instance's agent did not answer in time");

    private final int status;
    private final String message;

    Failure(int status, String message) {
        this.status = status;
        this.message = message;
    }

    public int status() {
        return status;
    }

    /** The response body, newline-terminated; the detail is dropped for 404 so that nothing can tell them apart. */
    public String body(String detail) {
        if (this == NOT_FOUND || detail == null || detail.isEmpty()) return message + "\n";
        return message + ": " + detail + "\n";
    }

    /** The metrics/access-log label, e.g. {@code agent_timeout}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
