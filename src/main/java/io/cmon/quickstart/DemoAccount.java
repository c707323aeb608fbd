package io.cmon.quickstart;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/** The quickstart's accounts: an operator and two tenants. Uuids derive from the login, so reruns agree. */
public record DemoAccount(String login, UUID uuid, boolean operator) {

    public static final List<DemoAccount> ALL = List.of(
            of("operator", true), of("alice", false), of("bob", false));

    static DemoAccount of(String login, boolean operator) {
        return new DemoAccount(login, UUID.nameUUIDFromBytes(("cmon-quickstart:" + login).getBytes(StandardCharsets.UTF_8)),
                operator);
    }
}
