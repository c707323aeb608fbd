package io.cmon.agent.collect;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TaskStateTest {

    @Test
    void capturedBusyAndSleepingTasks() {
        assertThat(TaskState.parse(Fixtures.text("cgroup-v1", "proc/8283/stat"))).isEqualTo('R');
        assertThat(TaskState.parse(Fixtures.text("cgroup-v1", "proc/8248/stat"))).isEqualTo('S');
    }

    @Test
    void commandNameWithParenthesesAndSpaces() {
        assertThat(TaskState.parse("77 (a) b (c) D 1 77 77 0 -1")).isEqualTo('D');
    }

    @Test
    void loadCountsRunnableAndUninterruptibleOnly() {
        assertThat("RDSIZTt".chars().filter(c -> TaskState.countsForLoad((char) c)).count()).isEqualTo(2);
    }
}
