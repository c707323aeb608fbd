package io.cmon.proxy.auth;

import io.cmon.pki.SshPublicKey;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * Account-key mode (DESIGN §3.1, Triton compatible): the caller's leaf certificate has CN = login and is either
 * self-signed by one of that account's registered SSH public keys (its subject key is that key; what
 * {@code openssl req -x509 -key ~/.ssh/id_ecdsa} or {@code cmon cert from-ssh-key} makes) or signed by one of them
 * (what Triton's {@code cmon-certgen} makes: a fresh key certified by the SSH key). Within its validity. No CA.
 * <p>
 * {@link #verify} checks the signature and remembers which key made it (its fingerprint); {@link #resolve} checks, per
 * request, that the account exists and that key is still registered to it, so removing a key from accounts.yaml locks
 * its certificates out of connections that are already open. Verifying a certificate signed by (not self-signed by)
 * a key consults the registered keys, so cached verifications are stale whenever the keys change
 * ({@link #trustGeneration()} follows {@link AccountStore#keysGeneration()}).
 */
public final class AccountKeyAuthenticator implements Authenticator {

    private final AccountStore accounts;
    private final Clock clock;

    public AccountKeyAuthenticator(AccountStore accounts, Clock clock) {
        this.accounts = accounts;
        this.clock = clock;
    }

    public AccountKeyAuthenticator(AccountStore accounts) {
        this(accounts, Clock.systemUTC());
    }

    @Override
    public Verification verify(List<X509Certificate> chain) {
        if (chain == null || chain.isEmpty()) {
            return new Verification.Refused(AuthResult.Reason.NO_CERTIFICATE, "no client certificate");
        }
        X509Certificate leaf = chain.get(0); // more certificates in the chain play no part: only SSH keys are trusted
        String login = CaAuthenticator.commonName(leaf);
        if (login == null) {
            return new Verification.Refused(AuthResult.Reason.BAD_SUBJECT,
                    "subject '" + CaAuthenticator.subjectOf(leaf) + "' needs exactly one decodable CN (the login)");
        }
        try {
            leaf.checkValidity(Date.from(clock.instant()));
        } catch (CertificateExpiredException e) {
            return new Verification.Refused(AuthResult.Reason.EXPIRED, "certificate expired at " + leaf.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            return new Verification.Refused(AuthResult.Reason.NOT_YET_VALID,
                    "certificate not valid before " + leaf.getNotBefore().toInstant());
        }
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (signedBy(leaf, leaf.getPublicKey())) {
            String fingerprint = SshPublicKey.fingerprintOf(leaf.getPublicKey());
            if (fingerprint == null) {
                return new Verification.Refused(AuthResult.Reason.UNTRUSTED,
                        "a " + leaf.getPublicKey().getAlgorithm() + " key cannot be an SSH key");
            }
            return new Verification.KeyVerified(login, fingerprint, notAfter);
        }
        for (SshPublicKey key : accounts.keysOf(login)) {
            if (signedBy(leaf, key.publicKey())) return new Verification.KeyVerified(login, key.fingerprint(), notAfter);
        }
        if (accounts.byLogin(login).isEmpty()) {
            return new Verification.Refused(AuthResult.Reason.UNKNOWN_ACCOUNT, "no account '" + login + "'");
        }
        return new Verification.Refused(AuthResult.Reason.UNTRUSTED,
                "certificate is neither self-signed nor signed by a key registered to '" + login + "'");
    }

    private static boolean signedBy(X509Certificate cert, PublicKey key) {
        try {
            cert.verify(key);
            return true;
        } catch (GeneralSecurityException | RuntimeException e) { // wrong key, or a key of another algorithm
            return false;
        }
    }

    @Override
    public AuthResult resolve(Verification verification) {
        if (verification instanceof Verification.Refused r) {
            return new AuthResult.Rejected(r.reason(), r.detail());
        }
        if (!(verification instanceof Verification.KeyVerified v)) {
            return new AuthResult.Rejected(AuthResult.Reason.UNTRUSTED, "not verified in account-key mode");
        }
        if (clock.instant().isAfter(v.notAfter())) {
            return new AuthResult.Rejected(AuthResult.Reason.EXPIRED, "certificate expired at " + v.notAfter());
        }
        Account account = accounts.byLogin(v.login()).orElse(null);
        if (account == null) {
            return new AuthResult.Rejected(AuthResult.Reason.UNKNOWN_ACCOUNT, "no account '" + v.login() + "'");
        }
        for (SshPublicKey key : accounts.keysOf(v.login())) {
            if (key.fingerprint().equals(v.keyFingerprint())) return new AuthResult.Authenticated(account);
        }
        return new AuthResult.Rejected(AuthResult.Reason.UNTRUSTED,
                "key " + v.keyFingerprint() + " is not registered to account '" + v.login() + "'");
    }

    @Override
    public long trustGeneration() {
        return accounts.keysGeneration();
    }
}
