package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class KeyedValuesTest {

    @Test
    void capturedMemoryStatOfAV1Container() {
        KeyedValues stat = KeyedValues.parse(Fixtures.v1("memory", "memory.stat"));

        assertThat(stat.get("hierarchical_memory_limit")).hasValue(67_108_864);
        assertThat(stat.get("total_rss")).hasValue(114_688);
    }

    @Test
    void v2MemoryStat() {
        KeyedValues stat = KeyedValues.parse(Fixtures.v2("memory.stat"));

        assertThat(stat.get("anon")).hasValue(221_184);
        assertThat(stat.get("file")).hasValue(16_449_536);
    }

    @Test
    void linesThatAreNotKeyAndIntegerAreSkipped() {
        KeyedValues values = KeyedValues.parse("a 1\nb two\nc 1 2\n\n  d   4  \ne 9223372036854771712");

        assertThat(values.values()).containsOnly(
                org.assertj.core.api.Assertions.entry("a", 1L),
                org.assertj.core.api.Assertions.entry("d", 4L),
                org.assertj.core.api.Assertions.entry("e", 9_223_372_036_854_771_712L));
    }
}
