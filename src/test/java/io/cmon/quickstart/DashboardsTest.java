package io.cmon.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The Grafana dashboards: templated on a Prometheus data source, querying only metrics cmon serves. */
class DashboardsTest {

    /** Metrics the agent serves (DESIGN §2.2, §2.3) plus Prometheus's own {@code up}. */
    static final Set<String> KNOWN = Set.of(
            "up",
            "cpu_user_usage", "cpu_sys_usage", "cpu_wait_time", "load_average",
            "mem_agg_usage", "mem_limit", "mem_swap", "mem_swap_limit",
            "net_agg_packets_in", "net_agg_packets_out", "net_agg_bytes_in", "net_agg_bytes_out",
            "fs_used", "fs_available", "time_of_day",
            "node_cpu_seconds_total", "node_load1", "node_load5", "node_load15",
            "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
            "node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes",
            "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
            "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
            "node_time_seconds", "cmon_instances", "cmon_agent_up");

    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "and", "or", "unless", "bool", "offset", "e9", "inf", "nan");
    private static final Pattern IDENT = Pattern.compile("(?<![\\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*(\\()?");

    static List<Path> dashboards() throws IOException {
        try (var files = Files.list(Path.of("dashboards"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Metric names an expression reads: identifiers outside label matchers, groupings and calls' names. */
    static Set<String> metricNames(String expr) {
        String e = expr.replaceAll("\\$\\{?\\w+}?", "")       // Grafana variables
                .replaceAll("\"[^\"]*\"", "\"\"")              // strings
                .replaceAll("\\{[^}]*}", "")                    // label matchers
                .replaceAll("\\[[^]]*]", "")                    // ranges
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENT.matcher(e);
        while (m.find()) {
            if (m.group(2) != null) continue; // a function
            if (!KEYWORDS.contains(m.group(1).toLowerCase())) names.add(m.group(1));
        }
        return names;
    }

    @Test
    void metricNamesAreReadFromExpressions() {
        assertThat(metricNames("sum by (instance, mode) (rate(node_cpu_seconds_total{job=\"$job\",mode!=\"idle\"}"
                + "[$__rate_interval])) / 1e9")).containsExactly("node_cpu_seconds_total");
        assertThat(metricNames("mem_agg_usage{a=\"b\"} / on (x) mem_limit")).containsExactly("mem_agg_usage", "mem_limit");
    }

    @Test
    void everyPanelQueriesOnlyMetricsCmonServes() throws IOException {
        Set<String> known = new TreeSet<>(KNOWN);
        Path metricsDoc = Path.of("docs/metrics.md");
        if (Files.exists(metricsDoc)) {
            Matcher m = Pattern.compile("`([a-zA-Z_:][a-zA-Z0-9_:]*)`").matcher(Files.readString(metricsDoc));
            while (m.find()) known.add(m.group(1));
        }
        for (Path file : dashboards()) {
            for (JsonNode panel : readTree(file).path("panels")) {
                assertThat(panel.path("targets")).as(file + " " + panel.path("title")).isNotEmpty();
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText();
                    assertThat(metricNames(expr)).as(file + " " + panel.path("title") + ": " + expr)
                            .isNotEmpty().isSubsetOf(known);
                }
            }
        }
    }

    @Test
    void dashboardsAreTemplatedOnAPrometheusDataSource() throws IOException {
        assertThat(dashboards()).extracting(p -> p.getFileName().toString())
                .containsExactly("cmon-instances.json", "cmon-servers.json");
        for (Path file : dashboards()) {
            JsonNode d = readTree(file);
            JsonNode ds = d.path("templating").path("list").get(0);
            assertThat(ds.path("type").asText()).isEqualTo("datasource");
            assertThat(ds.path("query").asText()).isEqualTo("prometheus");
            List<String> panelSources = new ArrayList<>();
            for (JsonNode panel : d.path("panels")) {
                panelSources.add(panel.path("datasource").path("uid").asText());
                for (JsonNode t : panel.path("targets")) panelSources.add(t.path("datasource").path("uid").asText());
            }
            assertThat(panelSources).isNotEmpty().containsOnly("${datasource}");
            assertThat(d.path("uid").asText()).startsWith("cmon-");
        }
    }

    static JsonNode readTree(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }
}
