package io.cmon.proxy.auth;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Decides who a caller is from the certificate chain it presented (leaf first; empty when it presented none).
 * CA mode now; account-key mode (Triton's SSH-key certificates) plugs in behind the same seam. Must be cheap
 * to call repeatedly: the proxy caches the result per TLS session, but the account lookup is redone per call so
 * that an edited accounts.yaml applies to open connections.
 */
public interface Authenticator {

    AuthResult authenticate(List<X509Certificate> chain);
}
