package io.cmon.agent.http;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class InstancesQueryTest {

    @Test
    void noParametersAnswersAtOnce() {
        InstancesQuery q = InstancesQuery.parse(null, null);
        assertThat(q.longPoll()).isFalse();
        assertThat(q.since()).isEqualTo(-1);
    }

    @Test
    void sinceAndWaitMakeALongPoll() {
        InstancesQuery q = InstancesQuery.parse("42", "30s");
        assertThat(q).isEqualTo(new InstancesQuery(42, Duration.ofSeconds(30)));
        assertThat(q.longPoll()).isTrue();
    }

    @Test
    void sinceWithoutWaitAnswersAtOnce() {
        assertThat(InstancesQuery.parse("3", null).longPoll()).isFalse();
    }

    @Test
    void waitIsCappedAtFiveMinutes() {
        assertThat(InstancesQuery.parse("0", "2h").maxWait()).isEqualTo(Duration.ofSeconds(300));
        assertThat(InstancesQuery.parse("0", "301s").maxWait()).isEqualTo(Duration.ofSeconds(300));
        assertThat(InstancesQuery.parse("0", "300s").maxWait()).isEqualTo(Duration.ofSeconds(300));
    }

    @Test
    void badValuesSayWhichParameterAndWhy() {
        assertThatThrownBy(() -> InstancesQuery.parse("x", "30s")).isInstanceOf(InstancesQuery.BadQuery.class)
                .hasMessage("since: 'x' is not a generation (a whole number >= 0)");
        assertThatThrownBy(() -> InstancesQuery.parse("-1", null)).hasMessageStartingWith("since: '-1'");
        assertThatThrownBy(() -> InstancesQuery.parse("1", "30")).isInstanceOf(InstancesQuery.BadQuery.class)
                .hasMessageStartingWith("wait: '30' is not a duration");
        assertThatThrownBy(() -> InstancesQuery.parse(null, "30s")).hasMessage("wait: needs since=<generation>");
        assertThatThrownBy(() -> InstancesQuery.parse("1", "99999999999999999d"))
                .isInstanceOf(InstancesQuery.BadQuery.class);
        assertThatThrownBy(() -> InstancesQuery.parse("99999999999999999999", null))
                .isInstanceOf(InstancesQuery.BadQuery.class);
    }
}
