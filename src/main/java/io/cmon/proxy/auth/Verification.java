package io.cmon.proxy.auth;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * The expensive half of authentication: what a certificate chain proves, independent of the account store.
 * The proxy caches it per certificate chain ({@link ChainAuthCache}) and turns it into an {@link AuthResult} on every
 * request with {@link Authenticator#resolve}, which is cheap.
 */
public sealed interface Verification {

    /**
     * The chain verified: the subject CN is {@code login}. {@code path} is the verified chain, leaf first, without the
     * trust anchor; {@code notAfter} is the earliest end of validity along it (a keep-alive connection can outlive a
     * certificate.
     */
    record Verified(String login, List<X509Certificate> path, Instant notAfter)
            implements Verification {
        public Verified {
            path = List.copyOf(path);
        }
    }

    /**
     * Account-key mode: the leaf's CN is {@code login} and the certificate is self-signed by, or signed by, the SSH key
     * with this OpenSSH fingerprint; whether that key is (still) registered to the login is checked per request.
     */
    record KeyVerified(String login, String keyFingerprint, Instant notAfter) implements Verification {}

    /** The chain does not prove anyone. */
    record Refused(AuthResult.Reason reason, String detail) implements Verification {}
}
