package io.cmon.pki;

import org.bouncycastle.asn1.x509.KeyPurposeId;

/** What an issued certificate is for: fixes its extended key usages and whether it carries SANs. */
public enum Profile {
    /** A tenant (or operator) calling the proxy: CN = account login. */
    CLIENT(false, KeyPurposeId.id_kp_clientAuth),
    /** A proxy's front door: SANs cover the endpoint and {@code *.<dnsSuffix>}. */
    SERVER(true, KeyPurposeId.id_kp_serverAuth),
    /** Agent mTLS: the agent serves with it, proxies present it when they call agents. */
    AGENT(true, KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);

    private final boolean hasNames;
    private final KeyPurposeId[] purposes;

    Profile(boolean hasNames, KeyPurposeId... purposes) {
        this.hasNames = hasNames;
        this.purposes = purposes;
    }

    boolean hasNames() {
        return hasNames;
    }

    KeyPurposeId[] purposes() {
        return purposes.clone();
    }
}
