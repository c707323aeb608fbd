package io.cmon.proxy.forward;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ScrapeDeadlineTest {

    final Duration ten = Duration.ofSeconds(10);

    @Test
    void withoutHeaderTheConfiguredTimeoutApplies() {
        assertThat(ScrapeDeadline.of(ten, null)).isEqualTo(ten);
    }

    @Test
    void prometheusTimeoutMinusMarginWhenShorter() {
        assertThat(ScrapeDeadline.of(ten, "2")).isEqualTo(Duration.ofMillis(1800));
        assertThat(ScrapeDeadline.of(ten, "9.5")).isEqualTo(Duration.ofMillis(9000));
        assertThat(ScrapeDeadline.of(ten, "0.5")).isEqualTo(Duration.ofMillis(450));
    }

    @Test
    void configuredTimeoutWhenPrometheusAllowsMore() {
        assertThat(ScrapeDeadline.of(ten, "60")).isEqualTo(ten);
    }

    @Test
    void malformedOrHostileHeadersAreIgnored() {
        for (String h : new String[] {"", "abc", "-1", "0", "NaN", "Infinity", "1e400", "1".repeat(40)}) {
            assertThat(ScrapeDeadline.of(ten, h)).as(h).isEqualTo(ten);
        }
        assertThat(ScrapeDeadline.of(ten, "0.001")).isEqualTo(Duration.ofMillis(100));
    }
}
