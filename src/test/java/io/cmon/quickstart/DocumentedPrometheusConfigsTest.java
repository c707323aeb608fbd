package io.cmon.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cmon.quickstart.TenantPrometheusConfig.Addressing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The configs in examples/ and docs/tenant-guide.md are exactly what {@link TenantPrometheusConfig} renders (and the
 * end-to-end tests run). Regenerate the files with {@code -Dcmon.regenerate=true}.
 */
class DocumentedPrometheusConfigsTest {

    static final Path EXAMPLES = Path.of("examples");

    /** The documented configs, by file name under examples/. */
    static Map<String, TenantPrometheusConfig> documented() {
        Map<String, TenantPrometheusConfig> m = new LinkedHashMap<>();
        m.put("prometheus-host.yml", example(Addressing.HOST, "alice", false));
        m.put("prometheus-path.yml", example(Addressing.PATH, "alice", false));
        m.put("prometheus-http-sd.yml", example(Addressing.HTTP_SD, "alice", false));
        m.put("prometheus-operator.yml", example(Addressing.HOST, "operator", true));
        return m;
    }

    private static TenantPrometheusConfig example(Addressing addressing, String login, boolean operator) {
        return TenantPrometheusConfig.of(addressing, login, operator, "cmon.example.com", "cmon.example.com",
                "certs/ca.pem", "certs/" + login + ".pem", "certs/" + login + "-key.pem");
    }

    @Test
    void examplesAreWhatTheGeneratorRenders() throws IOException {
        for (var e : documented().entrySet()) {
            Path file = EXAMPLES.resolve(e.getKey());
            if (Boolean.getBoolean("cmon.regenerate")) Files.writeString(file, e.getValue().yaml());
            assertThat(file).as("regenerate with -Dcmon.regenerate=true").hasContent(e.getValue().yaml());
        }
    }

    @Test
    void tenantGuideShowsEachExampleVerbatim() throws IOException {
        Path guideFile = Path.of("docs/tenant-guide.md");
        String guide = Files.readString(guideFile);
        if (Boolean.getBoolean("cmon.regenerate")) {
            for (var e : documented().entrySet()) {
                guide = java.util.regex.Pattern.compile("(<!-- example: " + java.util.regex.Pattern.quote(e.getKey())
                                + " -->\n```yaml\n).*?(```)", java.util.regex.Pattern.DOTALL).matcher(guide)
                        .replaceFirst(m -> java.util.regex.Matcher.quoteReplacement(
                                m.group(1) + e.getValue().yaml() + m.group(2)));
            }
            Files.writeString(guideFile, guide);
        }
        for (var e : documented().entrySet()) {
            assertThat(guide).as(e.getKey()).contains("```yaml\n" + e.getValue().yaml() + "```");
        }
    }

    @Test
    void pathModeNamesTargetsByUuidBeforeRedirectingThemToTheProxy() throws IOException {
        JsonNode job = parse(documented().get("prometheus-path.yml").yaml()).path("scrape_configs").get(0);
        assertThat(job.path("scheme").asText()).isEqualTo("https");
        assertThat(job.path("tls_config").path("cert_file").asText()).isEqualTo("certs/alice.pem");
        JsonNode rules = job.path("relabel_configs");
        assertThat(rules.get(0).path("source_labels").get(0).asText()).isEqualTo("__meta_triton_machine_id");
        assertThat(rules.get(0).path("target_label").asText()).isEqualTo("instance");
        assertThat(rules.get(1).path("target_label").asText()).isEqualTo("__metrics_path__");
        assertThat(rules.get(1).path("replacement").asText()).isEqualTo("/v1/${1}/metrics");
        assertThat(rules.get(2).path("target_label").asText()).isEqualTo("__address__");
        assertThat(rules.get(2).path("replacement").asText()).isEqualTo("cmon.example.com:9163");
        assertThat(rules.get(3).path("source_labels").get(0).asText()).isEqualTo("__meta_triton_machine_alias");
    }

    @Test
    void operatorConfigAddsAServersJobWithRoleCn() throws IOException {
        JsonNode jobs = parse(documented().get("prometheus-operator.yml").yaml()).path("scrape_configs");
        assertThat(jobs).hasSize(2);
        assertThat(jobs.get(1).path("job_name").asText()).isEqualTo("cmon-servers");
        assertThat(jobs.get(1).path("triton_sd_configs").get(0).path("role").asText()).isEqualTo("cn");
    }

    @Test
    void groupsShardAndPathsWithSpacesAreQuoted() throws IOException {
        var c = TenantPrometheusConfig.of(Addressing.HTTP_SD, "bob", false, "localhost", "cmon.localhost",
                "/tmp/my dir/ca.pem", "bob.pem", "bob-key.pem").withGroups(java.util.List.of("web", "db"));
        JsonNode job = parse(c.yaml()).path("scrape_configs").get(0);
        assertThat(job.path("http_sd_configs").get(0).path("url").asText())
                .isEqualTo("https://localhost:9163/v1/http_sd?groups=web%2Cdb");
        assertThat(job.path("tls_config").path("ca_file").asText()).isEqualTo("/tmp/my dir/ca.pem");
        var triton = parse(c.withAddressing(Addressing.HOST).yaml()).path("scrape_configs").get(0);
        assertThat(triton.path("triton_sd_configs").get(0).path("groups").toString()).isEqualTo("[\"web\",\"db\"]");
    }

    @Test
    void scrapeTimeoutNeverExceedsTheInterval() throws IOException {
        var c = documented().get("prometheus-path.yml")
                .withIntervals(java.time.Duration.ofSeconds(1), java.time.Duration.ofMillis(1500));
        JsonNode global = parse(c.yaml()).path("global");
        assertThat(global.path("scrape_interval").asText()).isEqualTo("1s");
        assertThat(global.path("scrape_timeout").asText()).isEqualTo("1s");
        assertThat(parse(c.yaml()).path("scrape_configs").get(0).path("triton_sd_configs").get(0)
                .path("refresh_interval").asText()).isEqualTo("1500ms");
    }

    private static JsonNode parse(String yaml) throws IOException {
        return new ObjectMapper(new YAMLFactory()).readTree(yaml);
    }
}
