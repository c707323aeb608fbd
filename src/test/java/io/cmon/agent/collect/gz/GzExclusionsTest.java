package io.cmon.agent.collect.gz;

import io.cmon.agent.collect.NetDev;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The server view's exclusions against captured host files ({@code fixtures/proc-containers}: this host's mount
 * table with Docker containers running and containerd's test rootfs; /proc/net/dev of a network namespace with two
 * veth pairs, as a bridge-networked host has one per container).
 */
class GzExclusionsTest {

    static Path capture() throws URISyntaxException {
        return Path.of(GzExclusionsTest.class.getResource("/fixtures/proc-containers/net/dev").toURI())
                .getParent().getParent();
    }

    @Test
    void containersMountsAreLeftOutOfTheCapturedHostAndTheRealFilesystemsKept() throws Exception {
        List<Mounts.Mount> all = Mounts.parse(Files.readString(capture().resolve("self/mountinfo")));

        List<Mounts.Mount> kept = Mounts.monitored(all, GzExclusions.DEFAULT);

        // the capture has containers: their overlays and netns files are in the table, and none is kept
        assertThat(all).filteredOn(m -> m.mountpoint().startsWith("/var/lib/docker/overlay2/")).isNotEmpty();
        assertThat(all).filteredOn(m -> m.mountpoint().startsWith("/run/docker/netns/")).isNotEmpty();
        assertThat(kept).containsExactly(
                new Mounts.Mount("/dev/vda", "/", "ext4"),
                new Mounts.Mount("/dev/vda", "/var/lib/docker", "ext4"));
    }

    @Test
    void podmanAndCrioPerContainerMountsAreLeftOutByPath() {
        // mountinfo lines in the kernel's format for what Podman mounts per container (paths as Podman lays them out)
        String text = "90 26 0:60 / /run/containers/storage/overlay-containers/4a1b/userdata/shm rw - tmpfs shm rw\n"
                + "91 26 254:0 /x /var/lib/containers/cache/blob rw - ext4 /dev/vda rw\n"
                + "92 26 0:4 net:[4026532400] /run/netns/cni-1c2d rw - nsfs nsfs rw\n"
                + "93 26 0:61 / /run/docker/containerd/daemon rw - tmpfs tmpfs rw\n"
                + "94 26 8:17 / /srv/data rw - xfs /dev/sdb1 rw\n";

        assertThat(Mounts.monitored(Mounts.parse(text), GzExclusions.DEFAULT)).extracting(Mounts.Mount::mountpoint)
                .containsExactly("/srv/data");
    }

    @Test
    void vethInterfacesAreLeftOutOfTheCapturedNetDevAndTheOthersKept() throws Exception {
        List<NetDev.Device> devices = NetDev.parseDevices(Files.readString(capture().resolve("net/dev")));

        assertThat(devices).extracting(NetDev.Device::name)
                .containsExactly("lo", "eth0", "veth1a2b3c4", "eth1", "vethd00dfee");
        assertThat(devices.stream().map(NetDev.Device::name).filter(n -> !GzExclusions.DEFAULT.excludesDevice(n)))
                .containsExactly("lo", "eth0", "eth1");
    }

    @Test
    void eachExpressionCanBeReplacedAndANullOneKeepsItsDefault() {
        GzExclusions own = GzExclusions.of("^/scratch($|/)", null, "eth1|veth.*");

        assertThat(own.excludesMount(new Mounts.Mount("/dev/sdb1", "/scratch/a", "xfs"))).isTrue();
        // the mount point expression was replaced: Docker's directory is no longer left out by path
        assertThat(own.excludesMount(new Mounts.Mount("/dev/vda", "/var/lib/docker/volumes/v", "ext4"))).isFalse();
        // the fs types kept their default
        assertThat(own.excludesMount(new Mounts.Mount("overlay", "/merged", "overlay"))).isTrue();
        assertThat(own.excludesDevice("eth1")).isTrue();
        assertThat(own.excludesDevice("eth0")).isFalse();
        // device and fs type expressions match the whole name, not a part of it
        assertThat(own.excludesDevice("eth10")).isFalse();
        assertThat(GzExclusions.DEFAULT.excludesMount(new Mounts.Mount("x", "/m", "overlayish"))).isFalse();
    }

    @Test
    void aBadExpressionIsRefused() {
        assertThatThrownBy(() -> GzExclusions.of("(", null, null))
                .isInstanceOf(java.util.regex.PatternSyntaxException.class);
    }
}
