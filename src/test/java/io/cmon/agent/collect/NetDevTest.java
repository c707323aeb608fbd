package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class NetDevTest {

    @Test
    void capturedContainerWithOnlyLoopback() {
        var interfaces = NetDev.parse(Fixtures.text("cgroup-v1", "proc/" + Fixtures.V1_PID + "/net/dev"));

        assertThat(interfaces).containsExactly(new NetDev.Interface("lo", 1456, 8, 1456, 8));
    }

    @Test
    void capturedV2NamespaceWithLoopbackTraffic() {
        var interfaces = NetDev.parse(Fixtures.text("cgroup-v2", "proc/" + Fixtures.V2_PID + "/net/dev"));

        assertThat(interfaces).containsExactly(new NetDev.Interface("lo", 1_011_348, 218, 1_011_348, 218));
    }

    @Test
    void everyInterfaceOfTheNamespace() {
        String text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n"
                + "    lo:   52040     412    0    0    0     0          0         0    52040     412    0    0    0     0       0          0\n"
                + "  eth0: 8839222    6113    0    0    0     0          0         0   310428    4120    0    0    0     0       0          0\n";

        assertThat(NetDev.parse(text)).containsExactly(
                new NetDev.Interface("lo", 52040, 412, 52040, 412),
                new NetDev.Interface("eth0", 8_839_222, 6113, 310_428, 4120));
    }

    @Test
    void counterGluedToTheColon() {
        String text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n"
                + "  eth0:123456789012 99 0 0 0 0 0 0 5 6 0 0 0 0 0 0\n";

        assertThat(NetDev.parse(text)).containsExactly(new NetDev.Interface("eth0", 123_456_789_012L, 99, 5, 6));
    }
}
