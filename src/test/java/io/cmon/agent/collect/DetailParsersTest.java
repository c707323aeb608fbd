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

        assertThat(v1).isEqualTo(new CpuQuota(OptionalLong.of(20_000), 100_000));
        assertThat(v1.cores()).hasValue(0.2);
        assertThat(v2).isEqualTo(new CpuQuota(OptionalLong.of(20_000), 100_000));
        assertThat(v2.cores()).hasValue(0.2);
    }

    @Test
    void noCpuCapIsNoQuotaRatherThanZeroCoresButKeepsThePeriod() {
        assertThat(CpuQuota.parseV1("-1\n", "100000\n")).isEqualTo(new CpuQuota(OptionalLong.empty(), 100_000));
        assertThat(CpuQuota.parseV2(Fixtures.v2("cmon-it/oom", "cpu.max")))
                .isEqualTo(new CpuQuota(OptionalLong.empty(), 100_000));
        assertThat(CpuQuota.parseV2("max 100000\n").cores()).isEmpty();
        assertThat(CpuQuota.parseV2("150000 50000\n").cores()).hasValue(3.0);
        assertThatThrownBy(() -> CpuQuota.parseV2("max")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CpuQuota.parseV2("max 0")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void memoryDetailOnV1TakesHierarchicalTotalsPeakKmemOomKillAndFailcnt() {
        var d = MemoryDetail.parseV1(Fixtures.v1("memory", "memory.stat"), Fixtures.v1("memory", "memory.oom_control"),
                Fixtures.v1("memory", "memory.failcnt"), Fixtures.v1("memory", "memory.max_usage_in_bytes"),
                Fixtures.v1("memory", "memory.kmem.usage_in_bytes"));

        assertThat(d.cacheBytes()).isZero();
        assertThat(d.rssBytes()).isEqualTo(114_688);
        assertThat(d.shmemBytes()).hasValue(0);
        assertThat(d.peakBytes()).hasValue(4_087_808);
        assertThat(d.kernelBytes()).hasValue(352_256);
        assertThat(d.failcnt()).hasValue(0);
        assertThat(d.paging()).isEqualTo(new MemoryDetail.Paging(OptionalLong.of(1456), OptionalLong.of(0),
                OptionalLong.of(0), OptionalLong.of(0), OptionalLong.empty(), OptionalLong.empty()));
        assertThat(d.events()).isEqualTo(new MemoryDetail.Events(OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(0), OptionalLong.empty()));
    }

    @Test
    void memoryDetailOnV1PrefersTheHierarchicalTotalOverTheCgroupsOwn() {
        var d = MemoryDetail.parseV1("cache 1\nrss 2\npgfault 10\ntotal_pgfault 30\nshmem 4\n", null, null, null, null);

        assertThat(d.paging().faults()).hasValue(30);
        assertThat(d.shmemBytes()).hasValue(4);
    }

    @Test
    void memoryDetailOnV1WithoutTotalsOrOomKillLineOrOptionalFiles() {
        var d = MemoryDetail.parseV1("cache 4096\nrss 8192\n", "oom_kill_disable 0\nunder_oom 0\n", null, null,
                null);

        assertThat(d).isEqualTo(new MemoryDetail(4096, 8192, OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), new MemoryDetail.Paging(OptionalLong.empty(), OptionalLong.empty(),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty()),
                MemoryDetail.Events.NONE, OptionalLong.empty()));
    }

    @Test
    void memoryDetailOnV2TakesMemoryStatMemoryEventsAndPeak() {
        // a shell that grew past memory.max 32 MiB without swap and was OOM-killed; a sleeper remains
        var d = MemoryDetail.parseV2(Fixtures.v2("cmon-it/oom", "memory.stat"),
                Fixtures.v2("cmon-it/oom", "memory.events"), Fixtures.v2("cmon-it/oom", "memory.peak"));

        assertThat(d).isEqualTo(new MemoryDetail(57_344, 110_592, OptionalLong.of(0),
                OptionalLong.of(77_824), OptionalLong.of(33_554_432),
                new MemoryDetail.Paging(OptionalLong.of(2793), OptionalLong.of(3), OptionalLong.of(0),
                        OptionalLong.of(18), OptionalLong.of(0), OptionalLong.of(0)),
                new MemoryDetail.Events(OptionalLong.of(0), OptionalLong.of(0), OptionalLong.of(66),
                        OptionalLong.of(2), OptionalLong.of(1), OptionalLong.of(0)),
                OptionalLong.empty()));
    }

    @Test
    void tmpfsPagesOfTheV2InstanceAreItsShmem() {
        // captured after the instance wrote 8 MiB to a tmpfs
        var d = MemoryDetail.parseV2(Fixtures.v2("memory.stat"), Fixtures.v2("memory.events"),
                Fixtures.v2("memory.peak"));

        assertThat(d.shmemBytes()).hasValue(8_388_608);
        assertThat(d.cacheBytes()).isGreaterThanOrEqualTo(8_388_608);
        assertThat(d.kernelBytes()).hasValue(335_872);
        assertThat(d.peakBytes()).hasValue(17_514_496);
    }

    @Test
    void memoryEventsOfKernelsBefore517HaveNoGroupKillLine() {
        var e = MemoryDetail.Events.parseV2("low 0\nhigh 12\nmax 4\noom 2\noom_kill 1\n");

        assertThat(e.high()).hasValue(12);
        assertThat(e.oom()).hasValue(2);
        assertThat(e.oomGroupKill()).isEmpty();
    }

    @Test
    void kernelMemoryWithoutTheKernelFieldIsTheSumOfItsParts() {
        // a 5.15 memory.stat: no "kernel" line yet, slab split in two
        String stat = "anon 4096\nfile 8192\nkernel_stack 16384\npagetables 8192\npercpu 960\nsock 0\n"
                + "shmem 0\nslab_reclaimable 20000\nslab_unreclaimable 10000\n";

        assertThat(MemoryDetail.parseV2(stat, null, null).kernelBytes()).hasValue(16384 + 8192 + 960 + 30000);
        assertThat(MemoryDetail.parseV2("anon 1\nfile 2\n", null, null).kernelBytes()).isEmpty();
        assertThat(MemoryDetail.parseV2("anon 1\nfile 2\n", null, null).peakBytes()).isEmpty();
        assertThat(MemoryDetail.parseV2("anon 1\nfile 2\n", null, null).events()).isEqualTo(MemoryDetail.Events.NONE);
    }

    @Test
    void workingSetOfKernelsBefore59IsFilePagesUnderTheUnsplitNames() {
        var p = MemoryDetail.parseV2("anon 1\nfile 2\nworkingset_refault 70\nworkingset_activate 30\n", null, null)
                .paging();

        assertThat(p.refaultFile()).hasValue(70);
        assertThat(p.activateFile()).hasValue(30);
        assertThat(p.refaultAnon()).isEmpty();
        assertThat(p.activateAnon()).isEmpty();
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
    void selectingFieldsOfOneProtocolAgreesWithTheFullParse() {
        for (String fixture : new String[] {"snmp", "netstat"}) {
            String text = Fixtures.text("cgroup-v1", V1_NS + fixture);
            var all = SnmpCounters.parse(text);
            for (var protocol : all.protocols().entrySet()) {
                String[] fields = protocol.getValue().keySet().toArray(String[]::new);
                var selected = SnmpCounters.select(text, protocol.getKey(), fields);
                for (int i = 0; i < fields.length; i++) {
                    assertThat(selected[i]).as(protocol.getKey() + " " + fields[i])
                            .isEqualTo(all.get(protocol.getKey(), fields[i]));
                }
            }
        }
        var tcp = SnmpCounters.select(Fixtures.text("cgroup-v1", V1_NS + "snmp"), "Tcp", "MaxConn", "NoSuchField");
        assertThat(tcp[0]).hasValue(-1);
        assertThat(tcp[1]).isEmpty();
        // "Tcp:" is not "TcpExt:": the protocol is matched whole
        assertThat(SnmpCounters.select("TcpExt: A\nTcpExt: 7\n", "Tcp", "A")[0]).isEmpty();
        assertThatThrownBy(() -> SnmpCounters.select("Tcp: A B\nUdp: 1 2\n", "Tcp", "A"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SnmpCounters.select("Tcp: A B\nTcp: 1\n", "Tcp", "A"))
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
        assertThat(DiskIo.devicesV1(Fixtures.v1("blkio", "blkio.throttle.io_service_bytes"),
                Fixtures.v1("blkio", "blkio.throttle.io_serviced")))
                .containsExactly(new DiskIo.Device("254:0", 2_621_440, 2_650_112, 40, 48));
    }

    @Test
    void v1BlkioOverTwoDevices() {
        String bytes = "8:0 Read 100\n8:0 Write 10\n8:0 Sync 110\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 110\n"
                + "8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 113\n";
        String ops = "8:16 Read 5\n8:16 Write 6\nTotal 11\n";

        assertThat(DiskIo.parseV1(bytes, "Total 0\n")).isEqualTo(new DiskIo(101, 12, 0, 0));
        assertThat(DiskIo.devicesV1(bytes, ops)).containsExactly(
                new DiskIo.Device("8:0", 100, 10, 0, 0), new DiskIo.Device("8:16", 1, 2, 5, 6));
        assertThat(DiskIo.devicesV1("Total 0\n", "Total 0\n")).isEmpty();
    }

    @Test
    void v2IoStatPerDeviceAndSummed() {
        // captured: 40 × 64 KiB written and read with O_DIRECT on the guest's virtio disk (254:0)
        assertThat(DiskIo.devicesV2(Fixtures.v2("io.stat")))
                .containsExactly(new DiskIo.Device("254:0", 2_621_440, 2_621_440, 40, 40));
        assertThat(DiskIo.parseV2(Fixtures.v2("io.stat"))).isEqualTo(new DiskIo(2_621_440, 2_621_440, 40, 40));
        String twoDevices = "254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
                + "8:0 rbytes=100 wbytes=200 rios=10 wios=20 dbytes=0 dios=0\n";
        assertThat(DiskIo.devicesV2(twoDevices)).containsExactly(
                new DiskIo.Device("254:0", 10, 20, 1, 2), new DiskIo.Device("8:0", 100, 200, 10, 20));
        assertThat(DiskIo.parseV2(twoDevices)).isEqualTo(new DiskIo(110, 220, 11, 22));
        // captured: a cgroup that did no block I/O has an empty io.stat
        assertThat(DiskIo.devicesV2(Fixtures.v2("cmon-it/oom", "io.stat"))).isEmpty();
        assertThat(DiskIo.parseV2("")).isEqualTo(new DiskIo(0, 0, 0, 0));
    }

    @Test
    void v2IoStatSkipsBlankLinesAndOtherControllersKeys() {
        // io.latency and io.cost append their own keys; a device line may carry nothing of ours
        String ioStat = "\n8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0 use_delay=0 delay_nsec=0"
                + " cost.vrate=100.00 cost.usage=0\n   \n8:16\n8:32 use_delay=0 delay_nsec=0\n";

        assertThat(DiskIo.devicesV2(ioStat)).containsExactly(new DiskIo.Device("8:0", 10, 20, 1, 2));
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
