package io.cmon.pki;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/** What an issued certificate is for: fixes its extended key usages and whether it carries SANs. */
public enum Profile {
    /** A tenant (or operator) calling the proxy: CN = account login. */
    CLIENT(false, KeyPurposeId.id_kp_clientAuth),
    /** A proxy's front door: SANs cover the endpoint and {@code *.<dnsSuffix>}. */
    SERVER(true, KeyPurposeId.id_kp_serverAuth),
    /** An agent's HTTPS listener: serverAuth only, so that an agent's key never opens another agent. */
    AGENT(true, KeyPurposeId.id_kp_serverAuth),
    /**
     * A proxy calling agents: clientAuth plus {@link #AGENT_LINK}, the mark agents require. A tenant certificate
     * never carries it, so it cannot open an agent even when the same CA signed both.
     */
    PROXY(false, KeyPurposeId.id_kp_clientAuth, KeyPurposeId.getInstance(new ASN1ObjectIdentifier(Profile.AGENT_LINK)));

    /**
     * The key purpose "cmon proxy → agent link". An OID derived from a UUID (ITU-T X.667, arc 2.25), so it needs no
     * registration and collides with nothing: 00f10e28-73ae-4da2-877d-5a7af9121d3c.
     */
    public static final String AGENT_LINK = "2.25.1251630701569340994857696953415900476";

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
