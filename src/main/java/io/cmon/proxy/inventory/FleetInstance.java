package io.cmon.proxy.inventory;

import io.cmon.config.HostPort;

import java.util.List;

/**
 * One instance as the proxy knows it: the agent's entry plus where it lives.
 *
 * @param owner the owner key as labelled on the host (an account uuid, lower-cased, or a login); null when none
 * @param cachedDate ms since epoch of the agent answer that brought this entry as it is now (Triton's
 *                   {@code cached_date}): answers that repeat it keep the object, and this date, unchanged
 */
public record FleetInstance(
        String vmUuid,
        String alias,
        String owner,
        String imageUuid,
        String brand,
        List<String> groups,
        String state,
        String serverUuid,
        HostPort agent,
        long cachedDate) {

    public FleetInstance {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }
}
