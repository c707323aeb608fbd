package io.cmon.agent.collect;

/**
 * Tasks of a cgroup and their limit ({@code pids.current}, {@code pids.max}; same files on v1 and v2). The pids
 * controller counts tasks, i.e. threads as well as processes.
 *
 * @param limit {@code pids.max}, or the server's {@code kernel.pid_max} when it is {@code max}: no cgroup can have
 *              more tasks than the server can number (as {@code mem_limit} is the server's memory when unlimited)
 */
public record Pids(long current, long limit) {

    public static Pids parse(String current, String max, long pidMax) {
        String m = max.trim();
        long limit = m.equals("max") ? pidMax : Math.min(Long.parseLong(m), pidMax);
        return new Pids(KeyedValues.single(current), limit);
    }
}
