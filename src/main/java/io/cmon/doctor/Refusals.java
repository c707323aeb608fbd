package io.cmon.doctor;

import io.cmon.proxy.auth.AuthResult;

import java.util.Locale;

/**
 * The proxy's 401 answers in plain words. A 401 body is {@code text/plain} ("client certificate required or not
 * accepted: expired"), which Prometheus's triton discovery tries to read as JSON: its log then says only
 * {@code invalid character 'c' looking for beginning of value} and the tenant's targets vanish. This class turns the
 * reason at the end of that body into what it means and what to do (docs/tenant-guide.md lists the same).
 */
public final class Refusals {

    private Refusals() {}

    /** The reason label at the end of a 401 body, or null when the body has none. */
    public static AuthResult.Reason reasonOf(String body) {
        if (body == null) return null;
        String text = body.strip();
        int colon = text.lastIndexOf(": ");
        String label = colon < 0 ? text : text.substring(colon + 2);
        for (AuthResult.Reason r : AuthResult.Reason.values()) {
            if (r.label().equals(label.toLowerCase(Locale.ROOT))) return r;
        }
        return null;
    }

    /** What the reason means and what to do about it. */
    public static String explain(AuthResult.Reason reason) {
        return switch (reason) {
            case NO_CERTIFICATE -> "the proxy received no client certificate: the job's tls_config lacks cert_file "
                    + "and key_file, or they point at other files";
            case MALFORMED -> "the proxy could not parse the certificate: re-issue it (cmon cert issue)";
            case UNTRUSTED -> "the certificate is not signed by the CA the proxy trusts for tenants (or, in "
                    + "account-key mode, not by a key registered for the account): ask the operator for a "
                    + "certificate from the proxy's tenant CA, or to register your key";
            case EXPIRED -> "the certificate (or its CA) is past its end date: ask the operator for a new one; "
                    + "Prometheus keeps no targets meanwhile";
            case NOT_YET_VALID -> "the certificate's start date is in the future: check this machine's and the "
                    + "proxy's clocks, or wait until it starts";
            case REVOKED -> "the operator revoked this certificate (it is on the tenant CA's CRL): ask for a new one";
            case CRL_STALE -> "the proxy's copy of the CA's revocation list is out of date, so it refuses every "
                    + "certificate of that CA: the operator must install a fresh CRL (nothing to change on your side)";
            case BAD_SUBJECT -> "the certificate's subject has no single CN, and the CN is the account login: "
                    + "re-issue it with CN = your login";
            case UNKNOWN_ACCOUNT -> "the certificate is fine but the proxy has no account with its CN as login: "
                    + "ask the operator to add the account (accounts.yaml), or use the right certificate";
            case THROTTLED -> "too many failed authentications came from your address: the proxy refuses it for a "
                    + "while (see Retry-After); fix the failing certificate first";
        };
    }
}
