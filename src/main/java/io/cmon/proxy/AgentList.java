package io.cmon.proxy;

import io.cmon.config.HostPort;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code agents.file} format: one {@code host:port} per line; blank lines and {@code #} comments ignored,
 * a leading {@code - } (YAML list item) tolerated. Bad lines are reported, the good ones still used.
 */
record AgentList(Set<HostPort> agents, List<String> problems) {

    static AgentList parse(String text) {
        Set<HostPort> agents = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            line = line.strip();
            if (line.startsWith("- ")) line = line.substring(2).strip();
            if (line.isEmpty()) continue;
            try {
                agents.add(HostPort.parse(line));
            } catch (IllegalArgumentException e) {
                problems.add("line " + (n + 1) + ": " + e.getMessage());
            }
        }
        return new AgentList(Set.copyOf(agents), List.copyOf(problems));
    }
}
