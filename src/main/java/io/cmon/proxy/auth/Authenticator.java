package io.cmon.proxy.auth;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Decides who a caller is from the certificate chain it presented (leaf first; empty when it presented none).
 * CA mode now ({@link CaAuthenticator}); account-key mode (Triton's SSH-key certificates) plugs in behind the same
 * seam. Split in two so that the proxy can cache the expensive half per certificate chain ({@link ChainAuthCache}) while
 * the account lookup is redone per request, so that an edited accounts.yaml applies to open connections.
 */
public interface Authenticator {

    /** The expensive half: signatures, chain, validity, subject. Never consults the account store. */
    Verification verify(List<X509Certificate> chain);

    /** The cheap half, per request: expiry since verification, revocation, the account lookup. */
    AuthResult resolve(Verification verification);

    /**
     * Changes whenever the trust material is replaced (a new CA bundle): verifications made under another
     * generation are stale and must be redone. Read it before {@link #verify}.
     */
    default long trustGeneration() {
        return 0;
    }

    default AuthResult authenticate(List<X509Certificate> chain) {
        return resolve(verify(chain));
    }
}
