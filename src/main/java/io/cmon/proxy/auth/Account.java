package io.cmon.proxy.auth;

import java.util.List;

/** A tenant (or an operator) as listed in accounts.yaml. */
public record Account(String login, String uuid, boolean operator, List<String> keys) {

    public Account {
        keys = keys == null ? List.of() : List.copyOf(keys);
    }
}
