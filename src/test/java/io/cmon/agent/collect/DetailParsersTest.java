package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The parsers behind the collectors beyond the baseline, on the captured v1 and the v2 fixtures. */
class DetailParsersTest {

    private static final String V2_NS = "proc/" + Fixtures.V2_PID + "/net/";
    private static final String V1_NS = "proc/" + Fixtures.V1_PID + "/net/";

    @Test
    void cpuQuotaOfTwentyPercentOfACpuOnV1AndV2() {
        var v1 = CpuQuota.parseV1(Fixtures.v1("cpu", "cpu.cfs_quota_us"), Fixtures.v1("cpu", "cpu.cfs_period_us"));
        var v2 = CpuQuota.parseV2(Fixtures.v2("cpu.max"));

        assertThat(v1).contains(new CpuQuota(20_000, 100_000));
        assertThat(v1.orElseThrow().cores()).isEqualTo(0.2);
        assertThat(v2.orElseThrow().cores()).isEqualTo(0.2);
    }

    @Test
    void noCpuCapIsNoQuotaRatherThanZeroCores() {
        assertThat(CpuQuota.parseV1("-1\n", "100000\n")).isEmpty();
        assertThat(CpuQuota.parseV2("max 100000\n")).isEmpty();
        assertThat(CpuQuota.parseV2("150000 50000\n")).map(CpuQuota::cores).contains(3.0);
        assertThatThrownBy(() -> CpuQuota.parseV2("max")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void memoryDetailOnV1TakesHierarchicalTotalsOomKillAndFailcnt() {
        var d = MemoryDetail.parseV1(Fixtures.v1("memory", "memory.stat"), Fixtures.v1("memory", "memory.oom_control"),
                Fixtures.v1("memory", "memory.failcnt"));

        assertThat(d).isEqualTo(new MemoryDetail(0, 114_688, OptionalLong.of(0), OptionalLong.of(0),
                OptionalLong.empty()));
    }

    @Test
    void memoryDetailOnV1WithoutTotalsOrOomKillLine() {
        var d = MemoryDetail.parseV1("cache 4096\nrss 8192\n", "oom_kill_disable 0\nunder_oom 0\n", null);

        assertThat(d).isEqualTo(new MemoryDetail(4096, 8192, OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty()));
    }

    @Test
    void memoryDetailOnV2TakesFileAnonAndMemoryEvents() {
        // a shell that grew past memory.max 32 MiB without swap and was OOM-killed; a sleeper remains
        var d = MemoryDetail.parseV2(Fixtures.v2("cmon-it/oom", "memory.stat"),
                Fixtures.v2("cmon-it/oom", "memory.events"));

        assertThat(d).isEqualTo(new MemoryDetail(57_344, 110_592, OptionalLong.of(1), OptionalLong.empty(),
                OptionalLong.of(66)));
    }

    @Test
    void snmpPairsHeaderAndValueLinesPerProtocol() {
        var snmp = SnmpCounters.parse(Fixtures.text("cgroup-v1", V1_NS + "snmp"));

        assertThat(snmp.get("Tcp", "MaxConn")).hasValue(-1);
        assertThat(snmp.get("Udp", "InDatagrams")).isPresent();
        assertThat(snmp.get("Tcp", "NoSuchField")).isEmpty();
        assertThatThrownBy(() -> SnmpCounters.parse("Tcp: A B\nUdp: 1 2\n"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tcpOfANamespaceWithOneAcceptedAndOneRefusedConnection() {
        // captured in an `unshare -n` namespace: one connection over loopback, one to a closed port
        var tcp = TcpStats.parse(Fixtures.text("cgroup-v2", V2_NS + "snmp"), Fixtures.text("cgroup-v2",
                V2_NS + "netstat"));

        assertThat(tcp).isEqualTo(new TcpStats(2, 1, 1, 0, 0, OptionalLong.of(0)));
    }

    @Test
    void tcpOfTheCapturedHostNamespace() {
        var tcp = TcpStats.parse(Fixtures.text("cgroup-v1", V1_NS + "snmp"), Fixtures.text("cgroup-v1",
                V1_NS + "netstat"));

        assertThat(tcp.activeOpens()).isEqualTo(1832);
        assertThat(tcp.passiveOpens()).isEqualTo(722);
        assertThat(tcp.attemptFails()).isEqualTo(1040);
        assertThat(tcp.retransSegs()).isEqualTo(193);
        assertThat(tcp.currEstab()).isEqualTo(10);
        assertThat(tcp.listenDrops()).isPresent();
        assertThat(TcpStats.parse(Fixtures.text("cgroup-v1", V1_NS + "snmp"), null).listenDrops()).isEmpty();
    }

    @Test
    void v1BlkioSumsReadAndWriteLinesNotSyncAsyncOrTotals() {
        var io = DiskIo.parseV1(Fixtures.v1("blkio", "blkio.throttle.io_service_bytes"),
                Fixtures.v1("blkio", "blkio.throttle.io_serviced"));

        assertThat(io).isEqualTo(new DiskIo(2_621_440, 2_650_112, 40, 48));
    }

    @Test
    void v1BlkioOverTwoDevices() {
        String bytes = "8:0 Read 100\n8:0 Write 10\n8:0 Sync 110\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 110\n"
                + "8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 113\n";

        assertThat(DiskIo.parseV1(bytes, "Total 0\n")).isEqualTo(new DiskIo(101, 12, 0, 0));
    }

    @Test
    void v2IoStatSumsDevices() {
        // captured: 40 × 64 KiB written and read with O_DIRECT on the guest's virtio disk (254:0)
        assertThat(DiskIo.parseV2(Fixtures.v2("io.stat"))).isEqualTo(new DiskIo(2_621_440, 2_621_440, 40, 40));
        assertThat(DiskIo.parseV2("254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
                + "8:0 rbytes=100 wbytes=200 rios=10 wios=20 dbytes=0 dios=0\n")).isEqualTo(new DiskIo(110, 220, 11, 22));
        assertThat(DiskIo.parseV2("")).isEqualTo(new DiskIo(0, 0, 0, 0));
    }

    @Test
    void pidsLimitIsPidMaxWhenUnlimited() {
        assertThat(Pids.parse(Fixtures.v1("pids", "pids.current"), Fixtures.v1("pids", "pids.max"), 32768))
                .isEqualTo(new Pids(2, 32768));
        assertThat(Pids.parse(Fixtures.v2("pids.current"), Fixtures.v2("pids.max"), 32768))
                .isEqualTo(new Pids(2, 64));
        String cgfs = "docker/" + Fixtures.V2_CGFS_ID;
        assertThat(Pids.parse(Fixtures.v2(cgfs, "pids.current"), Fixtures.v2(cgfs, "pids.max"), 32768))
                .isEqualTo(new Pids(2, 32768));
        assertThat(Optional.of(Pids.parse("1", "99999999", 4194304).limit())).contains(4194304L);
    }
}
