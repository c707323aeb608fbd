package io.cmon.quickstart;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo containers of one quickstart directory: started, or adopted when a previous run left them, and removed
 * when the quickstart stops. Each is labelled {@code cmon.quickstart=<dir id>} so that only its own are touched.
 */
final class DemoContainers {

    static final String QUICKSTART_LABEL = "cmon.quickstart";

    private final ContainerEngine engine;
    private final String id;
    private final List<String> extraLabels;
    private final List<String> names = new ArrayList<>();

    DemoContainers(ContainerEngine engine, String id, List<String> extraLabels) {
        this.engine = engine;
        this.id = id;
        this.extraLabels = List.copyOf(extraLabels);
    }

    /** Starts (or adopts) every workload; returns alias → what happened. */
    Map<String, String> start(List<DemoWorkload> workloads) {
        Map<String, String> existing = new HashMap<>();
        String ps = engine.run("ps", "-a", "--filter", "label=" + QUICKSTART_LABEL + "=" + id,
                "--format", "{{.Names}}\t{{.State}}").orThrow().stdout();
        for (String line : ps.split("\n")) {
            String[] f = line.strip().split("\t");
            if (f.length == 2) existing.put(f[0], f[1]);
        }
        Map<String, String> done = new java.util.LinkedHashMap<>();
        for (DemoWorkload w : workloads) {
            String name = w.alias();
            String state = existing.get(name);
            if (state != null && state.equalsIgnoreCase("running")) {
                done.put(name, "adopted");
            } else if (state != null) {
                engine.run("start", name).orThrow();
                done.put(name, "restarted");
            } else {
                List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "none",
                        "--memory", "64m",
                        "--label", "cmon.owner=" + w.owner(),
                        "--label", "cmon.groups=" + String.join(",", w.groups()),
                        "--label", QUICKSTART_LABEL + "=" + id));
                for (String l : extraLabels) args.addAll(List.of("--label", l));
                args.addAll(List.of(ContainerEngine.IMAGE, "sh", "-c", w.script()));
                ExternalCommand r = engine.run(args.toArray(String[]::new));
                if (!r.ok() && r.stderr().contains("already in use")) {
                    throw new QuickstartException("a container named '" + name + "' exists and is not this"
                            + " quickstart's: remove it (" + engine.cliName() + " rm -f " + name + ") and run again");
                }
                r.orThrow();
                done.put(name, "started");
            }
            names.add(name);
        }
        return done;
    }

    /** Removes the containers this run started or adopted. */
    void removeAll() {
        if (names.isEmpty()) return;
        List<String> args = new ArrayList<>(List.of("rm", "-f"));
        args.addAll(names);
        engine.run(args.toArray(String[]::new));
        names.clear();
    }
}
