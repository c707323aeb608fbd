package io.cmon.agent.collect.gz;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArcStatsTest {

    @Test
    void kstatRowsByName() throws Exception {
        var arc = ArcStats.parse(Files.readString(GzMetricsTest.fixtures().resolve("spl/kstat/zfs/arcstats")));

        assertThat(arc.get("size")).isEqualTo(2_893_176_064L);
        assertThat(arc.get("c_max")).isEqualTo(8_389_787_648L);
        assertThat(arc.get("hits")).isEqualTo(8_772_612L);
        assertThat(arc.get("memory_available_bytes")).isEqualTo(8_881_152_000L); // type 3, int64
        assertThat(arc.get("no_such_stat")).isEqualTo(-1);
    }

    @Test
    void somethingElseIsRefused() {
        assertThatThrownBy(() -> ArcStats.parse("hits 4 1\n")).isInstanceOf(IllegalArgumentException.class);
    }
}
