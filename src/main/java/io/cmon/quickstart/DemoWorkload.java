package io.cmon.quickstart;

import java.util.List;

/** A demo container (or declared process): who owns it, its groups, and whether it keeps a CPU a little busy. */
record DemoWorkload(String alias, String owner, List<String> groups, boolean busy) {

    static final List<DemoWorkload> ALL = List.of(
            new DemoWorkload("alice-web", "alice", List.of("web"), true),
            new DemoWorkload("alice-db", "alice", List.of("db"), false),
            new DemoWorkload("bob-web", "bob", List.of("web"), true),
            new DemoWorkload("bob-cache", "bob", List.of("cache"), false));

    /**
     * What runs inside: a light, endless load (a short count every second: a few percent of one core) or sleep.
     * It ends with the container when the quickstart stops.
     */
    String script() {
        return busy
                ? "while true; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1; done"
                : "while true; do sleep 3600; done";
    }
}
