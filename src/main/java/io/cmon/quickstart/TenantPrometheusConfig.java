package io.cmon.quickstart;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A tenant's {@code prometheus.yml} for scraping through a cmon proxy (DESIGN §5): the one place the documented
 * configs come from. {@code examples/prometheus-*.yml}, the tenant guide, the quickstart's files and the end-to-end
 * tests all render through here, so what is shown is what is tested.
 *
 * @param addressing    how targets are reached (see {@link Addressing})
 * @param account       the account login (the CN of the tenant's certificate)
 * @param operator      adds a job for the servers ({@code role: cn}), which only operators may discover
 * @param endpoint      the proxies' name, as tenants resolve it
 * @param dnsSuffix     targets are {@code <uuid>.<dnsSuffix>}
 * @param port          the proxies' port (9163)
 * @param caFile        the CA that signed the proxy's server certificate
 * @param certFile      the tenant's certificate
 * @param keyFile       the tenant's key
 * @param groups        when not empty, only instances in any of these groups (sharding across Prometheus servers)
 * @param scrapeInterval how often each target is scraped
 * @param refreshInterval how often discovery is asked
 */
public record TenantPrometheusConfig(
        Addressing addressing,
        String account,
        boolean operator,
        String endpoint,
        String dnsSuffix,
        int port,
        String caFile,
        String certFile,
        String keyFile,
        List<String> groups,
        Duration scrapeInterval,
        Duration refreshInterval) {

    /** The three ways a stock Prometheus reaches cmon's targets. */
    public enum Addressing {
        /** {@code triton_sd_configs}; targets {@code <uuid>.<dnsSuffix>:<port>} need wildcard DNS to the proxies. */
        HOST,
        /** {@code triton_sd_configs} plus relabelling to {@code <endpoint>:<port>/v1/<uuid>/metrics}: no DNS. */
        PATH,
        /** {@code http_sd_configs} against {@code /v1/http_sd}: the proxy names address and path itself. */
        HTTP_SD
    }

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./@:+-]+");
    private static final Pattern LOGIN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}");
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})");
    private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9_-]{1,100}");

    public TenantPrometheusConfig {
        Objects.requireNonNull(addressing, "addressing");
        if (account == null || !LOGIN.matcher(account).matches()) {
            throw new IllegalArgumentException("not an account login: " + account);
        }
        for (String name : new String[] {endpoint, dnsSuffix}) {
            if (name == null || !HOSTNAME.matcher(name).matches()) {
                throw new IllegalArgumentException("not a host name: " + name);
            }
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        Objects.requireNonNull(caFile, "caFile");
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
        groups = groups == null ? List.of() : List.copyOf(groups);
        for (String g : groups) {
            if (!GROUP.matcher(g).matches()) throw new IllegalArgumentException("not a group: " + g);
        }
        Objects.requireNonNull(scrapeInterval, "scrapeInterval");
        Objects.requireNonNull(refreshInterval, "refreshInterval");
    }

    /** A config with the documented defaults: port 9163, scrape every 15 s, discovery every 30 s, no groups. */
    public static TenantPrometheusConfig of(Addressing addressing, String account, boolean operator, String endpoint,
                                            String dnsSuffix, String caFile, String certFile, String keyFile) {
        return new TenantPrometheusConfig(addressing, account, operator, endpoint, dnsSuffix, 9163, caFile, certFile,
                keyFile, List.of(), Duration.ofSeconds(15), Duration.ofSeconds(30));
    }

    public TenantPrometheusConfig withPort(int newPort) {
        return new TenantPrometheusConfig(addressing, account, operator, endpoint, dnsSuffix, newPort, caFile,
                certFile, keyFile, groups, scrapeInterval, refreshInterval);
    }

    public TenantPrometheusConfig withIntervals(Duration scrape, Duration refresh) {
        return new TenantPrometheusConfig(addressing, account, operator, endpoint, dnsSuffix, port, caFile,
                certFile, keyFile, groups, scrape, refresh);
    }

    public TenantPrometheusConfig withGroups(List<String> newGroups) {
        return new TenantPrometheusConfig(addressing, account, operator, endpoint, dnsSuffix, port, caFile,
                certFile, keyFile, newGroups, scrapeInterval, refreshInterval);
    }

    public TenantPrometheusConfig withAddressing(Addressing newAddressing) {
        return new TenantPrometheusConfig(newAddressing, account, operator, endpoint, dnsSuffix, port, caFile,
                certFile, keyFile, groups, scrapeInterval, refreshInterval);
    }

    /** The job name of the tenant's instances. */
    public static final String INSTANCES_JOB = "cmon";
    /** The job name of the servers (operators only). */
    public static final String SERVERS_JOB = "cmon-servers";

    /** The proxy as tenants address it in path and http_sd modes. */
    public String proxyAddress() {
        return endpoint + ":" + port;
    }

    public String yaml() {
        StringBuilder y = new StringBuilder();
        y.append("# Prometheus for cmon account ").append(account).append(": ").append(describe()).append('\n');
        y.append("# Reference: docs/tenant-guide.md. Relative paths are relative to this file.\n");
        y.append("global:\n");
        y.append("  scrape_interval: ").append(duration(scrapeInterval)).append('\n');
        y.append("  scrape_timeout: ").append(duration(scrapeTimeout())).append('\n');
        y.append("scrape_configs:\n");
        switch (addressing) {
            case HOST, PATH -> tritonJob(y, INSTANCES_JOB, "container");
            case HTTP_SD -> httpSdJob(y);
        }
        if (operator) {
            // http_sd lists instances only; servers come from triton SD's cn role in any mode
            tritonJob(y, SERVERS_JOB, "cn");
        }
        return y.toString();
    }

    private String describe() {
        return switch (addressing) {
            case HOST -> "triton_sd_configs, host mode (needs DNS *." + dnsSuffix + " -> the proxies)";
            case PATH -> "triton_sd_configs, path mode (no wildcard DNS needed)";
            case HTTP_SD -> "http_sd_configs against /v1/http_sd (no wildcard DNS, no routing relabels)";
        };
    }

    // A scrape may not outlast its interval; the proxy's own limit is 10 s.
    private Duration scrapeTimeout() {
        Duration tenSeconds = Duration.ofSeconds(10);
        return scrapeInterval.compareTo(tenSeconds) < 0 ? scrapeInterval : tenSeconds;
    }

    private void tritonJob(StringBuilder y, String job, String role) {
        boolean servers = role.equals("cn");
        y.append("  - job_name: ").append(job).append('\n');
        y.append("    # triton SD sets neither the scheme nor TLS of the scrapes: the job must\n");
        y.append("    scheme: https\n");
        tls(y, "    ");
        y.append("    triton_sd_configs:\n");
        y.append("      - account: ").append(account).append('\n');
        if (servers) y.append("        role: cn                 # the servers (operators only)\n");
        y.append("        endpoint: ").append(endpoint).append("   # discovery: https://")
                .append(endpoint).append(':').append(port).append(servers ? "/v1/gz/discover\n" : "/v1/discover\n");
        y.append("        dns_suffix: ").append(dnsSuffix).append("   # targets: <uuid>.").append(dnsSuffix)
                .append(':').append(port).append('\n');
        y.append("        port: ").append(port).append('\n');
        y.append("        version: 1\n");
        y.append("        refresh_interval: ").append(duration(refreshInterval)).append('\n');
        if (!servers) groups(y, "        ");
        tls(y, "        ");
        y.append("    relabel_configs:\n");
        if (addressing == Addressing.PATH || (addressing == Addressing.HTTP_SD)) {
            y.append("      # path mode: name each target by its uuid BEFORE __address__ becomes the proxy's,\n");
            y.append("      # else every target would be instance=\"").append(proxyAddress()).append("\"\n");
            relabel(y, "__meta_triton_machine_id", "instance", null, null);
            y.append("      # scrape https://").append(proxyAddress()).append("/v1/<uuid>/metrics\n");
            relabel(y, "__meta_triton_machine_id", "__metrics_path__", null, "/v1/${1}/metrics");
            y.append("      - target_label: __address__\n");
            y.append("        replacement: ").append(proxyAddress()).append('\n');
        }
        y.append("      # readable names: the ").append(servers ? "server's hostname" : "instance's alias")
                .append(" (when it has one) as instance, the uuid as its own label\n");
        relabel(y, "__meta_triton_machine_alias", "instance", "(.+)", null);
        relabel(y, "__meta_triton_machine_id", servers ? "server_uuid" : "vm_uuid", null, null);
        if (!servers) {
            y.append("      # groups as Triton's ,a,b, list: filter with =~\".*,web,.*\"\n");
            relabel(y, "__meta_triton_groups", "groups", null, null);
        }
    }

    private void httpSdJob(StringBuilder y) {
        y.append("  - job_name: ").append(INSTANCES_JOB).append('\n');
        y.append("    scheme: https\n");
        tls(y, "    ");
        y.append("    http_sd_configs:\n");
        y.append("      - url: https://").append(proxyAddress()).append("/v1/http_sd");
        if (!groups.isEmpty()) y.append("?groups=").append(String.join("%2C", groups));
        y.append('\n');
        y.append("        refresh_interval: ").append(duration(refreshInterval)).append('\n');
        tls(y, "        ");
        y.append("    relabel_configs:\n");
        y.append("      # every target has the proxy's address: name each by its uuid, then by its alias\n");
        relabel(y, "__meta_cmon_vm_uuid", "instance", null, null);
        relabel(y, "__meta_cmon_vm_alias", "instance", "(.+)", null);
        relabel(y, "__meta_cmon_vm_uuid", "vm_uuid", null, null);
        relabel(y, "__meta_cmon_groups", "groups", null, null);
    }

    private void groups(StringBuilder y, String indent) {
        if (groups.isEmpty()) {
            y.append(indent).append("# groups: [web, db]   # only instances in any of these groups (shard a big fleet)\n");
        } else {
            y.append(indent).append("groups: [").append(String.join(", ", groups)).append("]\n");
        }
    }

    private void tls(StringBuilder y, String indent) {
        y.append(indent).append("tls_config:\n");
        y.append(indent).append("  ca_file: ").append(scalar(caFile)).append('\n');
        y.append(indent).append("  cert_file: ").append(scalar(certFile)).append('\n');
        y.append(indent).append("  key_file: ").append(scalar(keyFile)).append('\n');
    }

    private static void relabel(StringBuilder y, String source, String target, String regex, String replacement) {
        y.append("      - source_labels: [").append(source).append("]\n");
        if (regex != null) y.append("        regex: '").append(regex).append("'\n");
        y.append("        target_label: ").append(target).append('\n');
        if (replacement != null) y.append("        replacement: '").append(replacement).append("'\n");
    }

    /** Plain when safe, else a double-quoted scalar (JSON string syntax is valid YAML). */
    static String scalar(String value) {
        if (PLAIN.matcher(value).matches()) return value;
        StringBuilder q = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                default -> {
                    if (c < 0x20) q.append(String.format("\\u%04x", (int) c));
                    else q.append(c);
                }
            }
        }
        return q.append('"').toString();
    }

    static String duration(Duration d) {
        long ms = d.toMillis();
        if (ms % 60_000 == 0 && ms >= 60_000) return (ms / 60_000) + "m";
        if (ms % 1000 == 0) return (ms / 1000) + "s";
        return ms + "ms";
    }
}
