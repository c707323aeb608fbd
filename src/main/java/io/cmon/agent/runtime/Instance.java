package io.cmon.agent.runtime;

import java.util.List;

/**
 * One container (or declared cgroup) on this server, as the agent knows it.
 *
 * @param uuid      vm_uuid: the {@code cmon.uuid} label, else the first 32 hex digits of the container id as 8-4-4-4-12
 * @param alias     vm_alias (container name without the leading slash)
 * @param owner     owner account as labelled: a uuid or a login (the proxy resolves logins); null when unowned
 * @param image     vm_image_uuid (image id as given by the runtime), may be null
 * @param brand     docker, podman, lxc, nspawn, …
 * @param groups    cmon.groups, split on commas, trimmed, empty entries dropped
 * @param state     running, paused, stopped, …
 * @param pid       init pid in the host pid namespace; 0 when not running
 * @param cgroup    cgroup path relative to the hierarchy root (e.g. /docker/&lt;id&gt;), null to derive from the pid
 * @param rootfs    the writable layer (Docker UpperDir, or the declared rootfs), may be null
 * @param source    which InstanceSource reported it
 */
public record Instance(
        String uuid,
        String alias,
        String owner,
        String image,
        String brand,
        List<String> groups,
        String state,
        long pid,
        String cgroup,
        String rootfs,
        String source) {

    public Instance {
        groups = groups == null ? List.of() : List.copyOf(groups);
    }

    public boolean running() {
        return "running".equals(state) && pid > 0;
    }
}
