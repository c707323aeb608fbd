package io.cmon.agent.collect.gz;

import java.util.regex.Pattern;

/**
 * What the server view leaves out: mounts (by mount point and by filesystem type) and network devices, by regular
 * expression. The defaults leave out what containers add to the host (their overlay, shm and bind mounts under
 * Docker's and Podman's directories, their network namespaces' nsfs mounts, their veth interfaces), so the server
 * view has the same series with 1 container as with 200, and costs the same. agent.yaml {@code gz:} overrides each.
 *
 * @param mountPoints mount points left out, matched with {@code find} (anchor it)
 * @param fsTypes     filesystem types left out, matched whole
 * @param netDevices  network devices left out, matched whole
 */
public record GzExclusions(Pattern mountPoints, Pattern fsTypes, Pattern netDevices) {

    /**
     * node_exporter's default {@code --collector.filesystem.mount-points-exclude}, plus the other places container
     * runtimes mount into: Podman's and CRI-O's {@code /run/containers/…} (per-container shm, secrets),
     * {@code /var/lib/containers/…} beyond storage, Docker's {@code /run/docker/…} (netns files).
     */
    public static final String DEFAULT_MOUNT_POINTS = "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+"
            + "|var/lib/containers/.+|run/containers/.+|run/docker/.+|run/netns/.+)($|/)";

    /** node_exporter's default {@code --collector.filesystem.fs-types-exclude} (nsfs: the netns bind mounts). */
    public static final String DEFAULT_FS_TYPES = "autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs"
            + "|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs"
            + "|squashfs|sysfs|tracefs";

    /** One veth end per container on the host (Docker, Podman, CNI bridges). */
    public static final String DEFAULT_NET_DEVICES = "veth.*";

    public static final GzExclusions DEFAULT = of(DEFAULT_MOUNT_POINTS, DEFAULT_FS_TYPES, DEFAULT_NET_DEVICES);

    /** From the three expressions; null takes the default. Throws PatternSyntaxException for a bad one. */
    public static GzExclusions of(String mountPoints, String fsTypes, String netDevices) {
        return new GzExclusions(Pattern.compile(mountPoints == null ? DEFAULT_MOUNT_POINTS : mountPoints),
                Pattern.compile(fsTypes == null ? DEFAULT_FS_TYPES : fsTypes),
                Pattern.compile(netDevices == null ? DEFAULT_NET_DEVICES : netDevices));
    }

    public boolean excludesMount(Mounts.Mount m) {
        return fsTypes.matcher(m.fstype()).matches() || mountPoints.matcher(m.mountpoint()).find();
    }

    public boolean excludesDevice(String name) {
        return netDevices.matcher(name).matches();
    }
}
