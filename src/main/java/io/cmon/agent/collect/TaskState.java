package io.cmon.agent.collect;

/**
 * The state letter of a task from {@code /proc/<tid>/stat}. The command name (field 2) is in parentheses and may
 * itself contain spaces and parentheses, so the state is the first field after the <em>last</em> {@code ')'}.
 */
public final class TaskState {

    private TaskState() {
    }

    public static char parse(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0 || close + 2 >= stat.length()) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line");
        }
        return stat.charAt(close + 2);
    }

    /**
     * Whether Linux's loadavg counts a task in this state: running/runnable (R) and uninterruptible sleep (D).
     * Idle kernel threads show as I (TASK_IDLE) and are excluded, as the kernel excludes them.
     */
    public static boolean countsForLoad(char state) {
        return state == 'R' || state == 'D';
    }
}
