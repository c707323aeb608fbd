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
        assertThat(p.full()).map(Pressure.Line::totalUs).contains(6_761_719L);
    }

    @Test
    void parsesV2Fixture() {
        Pressure p = Pressure.parse(Fixtures.v2("cpu.pressure"));

        assertThat(p.some()).isEqualTo(new Pressure.Line(77.01, 40.10, 11.62, 38_697_481));
        assertThat(p.full()).map(Pressure.Line::totalUs).contains(37_865_606L);
    }

    @Test
    void parsesMemoryAndIoPressureOfTheV2Fixture() {
        assertThat(Pressure.parse(Fixtures.v2("cmon-it/oom", "memory.pressure")).some().totalUs()).isEqualTo(135_209);
        assertThat(Pressure.parse(Fixtures.v2("io.pressure")).full()).map(Pressure.Line::totalUs).contains(34_297L);
    }

    @Test
    void cpuPressureOfKernelsBefore513HasNoFullLineAndNoFullValue() {
        Pressure p = Pressure.parse("some avg10=0.10 avg60=0.00 avg300=0.00 total=77\n");

        assertThat(p.some().totalUs()).isEqualTo(77);
        assertThat(p.full()).isEmpty();
    }

    @Test
    void blankAndUnknownLinesAreSkipped() {
        Pressure p = Pressure.parse("\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=5\n\n"
                + "later avg10=0.00 avg60=0.00 avg300=0.00 total=9\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");

        assertThat(p.some().totalUs()).isEqualTo(5);
        assertThat(p.full()).map(Pressure.Line::totalUs).contains(3L);
    }

    @Test
    void aMalformedTotalIsRejectedNotReadAsZero() {
        assertThatThrownBy(() -> Pressure.parse("some avg10=0.00 avg60=0.00 avg300=0.00 sum=5\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("total");
    }

    @Test
    void textWithoutSomeLineIsRejected() {
        assertThatThrownBy(() -> Pressure.parse("")).isInstanceOf(IllegalArgumentException.class);
    }
}
