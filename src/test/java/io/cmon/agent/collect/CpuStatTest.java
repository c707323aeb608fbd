package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CpuStatTest {

    @Test
    void v1UsageFilesGiveNanosecondsAndThrottledTimeIsTheWait() {
        CpuStat stat = CpuStat.parseV1(Fixtures.v1("cpuacct", "cpuacct.usage_user"),
                Fixtures.v1("cpuacct", "cpuacct.usage_sys"), Fixtures.v1("cpu", "cpu.stat"));

        assertThat(stat).isEqualTo(new CpuStat(1_959_605_222L, 19_912_741L, 6_632_871_626L, 87, 84,
                6_632_871_626L));
    }

    @Test
    void v1CpuacctStatTicksAreTenMilliseconds() {
        CpuStat stat = CpuStat.parseV1(Fixtures.v1("cpuacct", "cpuacct.stat"), Fixtures.v1("cpu", "cpu.stat"));

        assertThat(stat.userNs()).isEqualTo(170 * 10_000_000L);
        assertThat(stat.sysNs()).isEqualTo(10_000_000L);
        assertThat(stat.waitNs()).isEqualTo(6_632_871_626L);
    }

    @Test
    void v1WithoutCpuControllerHasNoWait() {
        CpuStat stat = CpuStat.parseV1("user 5\nsystem 2\n", null);

        assertThat(stat.waitNs()).isZero();
        assertThat(stat.periods()).isZero();
    }

    @Test
    void v2MicrosecondsBecomeNanosecondsAndPsiSomeTotalIsTheWait() {
        CpuStat stat = CpuStat.parseV2(Fixtures.v2("cpu.stat"), Fixtures.v2("cpu.pressure"));

        // a busy loop under cpu.max "20000 100000" sharing a vCPU with two others
        assertThat(stat).isEqualTo(new CpuStat(7_507_125_000L, 2_542_321_000L, 38_697_481_000L, 508, 501,
                34_065_268_000L));
    }

    @Test
    void v2WithoutPsiFallsBackToThrottledTime() {
        CpuStat stat = CpuStat.parseV2(Fixtures.v2("cpu.stat"), null);

        assertThat(stat.waitNs()).isEqualTo(34_065_268_000L);
    }

    @Test
    void v2WithoutCpuControllerStillHasUsage() {
        // the cgroup2 tree of a hybrid host, captured: core cpu.stat fields only
        String captured = Fixtures.text("cgroup-v1", "sys/fs/cgroup/unified/docker/" + Fixtures.V1_ID + "/cpu.stat");

        CpuStat stat = CpuStat.parseV2(captured, null);

        assertThat(stat.userNs()).isEqualTo(1_727_002_000L);
        assertThat(stat.sysNs()).isEqualTo(17_371_000L);
        assertThat(stat.waitNs()).isZero();
    }

    @Test
    void v2WithoutUserUsecIsRejected() {
        assertThatThrownBy(() -> CpuStat.parseV2("usage_usec 12\n", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user_usec");
    }
}
