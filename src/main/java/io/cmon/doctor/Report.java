package io.cmon.doctor;

import java.util.ArrayList;
import java.util.List;

/** What {@code cmon doctor} found: its checks in order, and for tenants the Prometheus config that works. */
public final class Report {

    private final List<Check> checks = new ArrayList<>();
    private String prometheusConfig;

    Check add(Check c) {
        checks.add(c);
        return c;
    }

    void prometheusConfig(String yaml) {
        this.prometheusConfig = yaml;
    }

    public List<Check> checks() {
        return List.copyOf(checks);
    }

    /** The scrape config to use, or null when the checks did not get far enough to know one. */
    public String prometheusConfig() {
        return prometheusConfig;
    }

    /** True when no check failed (warnings allowed). */
    public boolean ok() {
        return checks.stream().noneMatch(c -> c.outcome() == Check.Outcome.FAIL);
    }

    /** Exit code of the command: 0 when {@link #ok()}, else 1. */
    public int exitCode() {
        return ok() ? 0 : 1;
    }

    /** The checks one per line, a verdict, then the Prometheus config when there is one. */
    public String text() {
        StringBuilder out = new StringBuilder();
        for (Check c : checks) {
            out.append(String.format("%-4s  %-22s %s%n", c.outcome(), c.name(), c.detail()));
        }
        long failed = checks.stream().filter(c -> c.outcome() == Check.Outcome.FAIL).count();
        out.append('\n').append(failed == 0 ? "All checks passed." : failed + " check(s) failed: see FAIL above.")
                .append('\n');
        if (prometheusConfig != null) {
            out.append('\n').append(failed == 0 ? "A prometheus.yml that works with these files:"
                    : "Once the failures above are fixed, this prometheus.yml works:").append("\n\n");
            out.append(prometheusConfig);
        }
        return out.toString();
    }
}
