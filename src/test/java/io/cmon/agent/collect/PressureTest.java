package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PressureTest {

    @Test
    void parsesSomeAndFullOfACgroupCapturedFromTheKernel() {
        Pressure p = Pressure.parse(Fixtures.text("cgroup-v1",
                "sys/fs/cgroup/unified/docker/" + Fixtures.V1_ID + "/cpu.pressure"));

        assertThat(p.some()).isEqualTo(new Pressure.Line(42.09, 9.40, 2.03, 6_763_724));
        assertThat(p.full().totalUs()).isEqualTo(6_761_719);
    }

    @Test
    void parsesV2Fixture() {
        Pressure p = Pressure.parse(Fixtures.v2("cpu.pressure"));

        assertThat(p.some()).isEqualTo(new Pressure.Line(77.01, 40.10, 11.62, 38_697_481));
        assertThat(p.full().totalUs()).isEqualTo(37_865_606);
    }

    @Test
    void olderKernelsWithoutFullLineReadAsZeroFull() {
        Pressure p = Pressure.parse("some avg10=0.10 avg60=0.00 avg300=0.00 total=77\n");

        assertThat(p.some().totalUs()).isEqualTo(77);
        assertThat(p.full().totalUs()).isZero();
    }

    @Test
    void textWithoutSomeLineIsRejected() {
        assertThatThrownBy(() -> Pressure.parse("")).isInstanceOf(IllegalArgumentException.class);
    }
}
