package io.cmon.proxy.auth;

/** The outcome of checking a caller's client certificate. */
public sealed interface AuthResult {

    record Authenticated(Account account) implements AuthResult {}

    record Rejected(Reason reason, String detail) implements AuthResult {}

    /** Why a caller was refused; also the label of the proxy's auth-failure counter. */
    enum Reason {
        NO_CERTIFICATE, MALFORMED, UNTRUSTED, EXPIRED, NOT_YET_VALID, REVOKED, CRL_STALE, BAD_SUBJECT,
        UNKNOWN_ACCOUNT, THROTTLED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
