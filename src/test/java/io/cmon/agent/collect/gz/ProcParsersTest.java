package io.cmon.agent.collect.gz;

import io.cmon.agent.collect.MemInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Parsers of /proc files over fixtures captured from the Debian 12 build host (2 CPUs). */
class ProcParsersTest {

    static String fixture(String name) throws IOException {
        try (InputStream in = ProcParsersTest.class.getResourceAsStream("/fixtures/proc/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void statGivesSecondsPerCpuAndModeInUserHzAndSkipsTheAggregateLine() throws IOException {
        ProcStat stat = ProcStat.parse(fixture("stat"));

        assertThat(stat.cpus()).extracting(ProcStat.Cpu::cpu).containsExactly("0", "1");
        // cpu0 2547 0 821 35609 13 0 18 3
        assertThat(stat.cpus().get(0).seconds()).containsExactly(25.47, 0, 8.21, 356.09, 0.13, 0, 0.18, 0.03);
        assertThat(stat.cpus().get(1).seconds()[ProcStat.MODES.indexOf("system")]).isEqualTo(12.45);
        assertThat(stat.bootTime()).isEqualTo(1795598438L);
    }

    @Test
    void statOfAnOldKernelWithFewerColumnsLeavesTheMissingModesAtZero() {
        ProcStat stat = ProcStat.parse("cpu  1 2 3 4\ncpu0 100 200 300 400\nbtime 7\n");

        assertThat(stat.cpus().get(0).seconds()).containsExactly(1, 2, 3, 4, 0, 0, 0, 0);
        assertThat(stat.bootTime()).isEqualTo(7);
    }

    @Test
    void loadavgGivesTheThreeAverages() throws IOException {
        assertThat(LoadAvg.parse(fixture("loadavg"))).isEqualTo(new LoadAvg(0.09, 0.13, 0.06));
    }

    @Test
    void loadavgThatIsNotThreeNumbersIsRefused() {
        assertThatThrownBy(() -> LoadAvg.parse("0.1\n")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void meminfoScalesKilobytesToBytesAndKeepsCountsAsTheyAre() throws IOException {
        MemInfo m = MemInfo.parse(fixture("meminfo"));

        assertThat(m.bytes("MemTotal")).isEqualTo(24684096L * 1024);
        assertThat(m.bytes("MemAvailable")).isEqualTo(24304780L * 1024);
        assertThat(m.bytes("SwapTotal")).isZero();
        assertThat(m.bytes("HugePages_Total")).isZero();
        assertThat(m.bytes("NoSuchField")).isEqualTo(-1);
    }

    /** Found by KernelParsersFuzzTest: a name of only blanks or NULs before the colon became the field "". */
    @Test
    void meminfoLinesWithoutAFieldNameAreSkipped() {
        MemInfo info = MemInfo.parse(
                "MemTotal:       16 kB\n\0\0: 224 kB\n   : 5 kB\nSwapTotal: 0 kB\n");

        assertThat(info.fields()).containsOnlyKeys("MemTotal", "SwapTotal");
    }
}
