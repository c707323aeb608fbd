package io.cmon.e2e;

import io.cmon.testing.AgentProcess;
import io.cmon.testing.DockerCli;
import io.cmon.testing.PrometheusProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code cmon quickstart} as a new user runs it: what it prints works as printed, and Ctrl-C undoes it. */
class QuickstartIT {

    static final DockerCli DOCKER = new DockerCli("quickstart");

    @TempDir
    Path tmp;

    Process quickstart;

    @AfterEach
    void cleanUp() throws Exception {
        if (quickstart != null && quickstart.isAlive()) {
            quickstart.destroy();
            quickstart.waitFor(30, TimeUnit.SECONDS);
        }
        DOCKER.removeAll();
    }

    /** Starts the quickstart and returns what it printed up to its last line of instructions. */
    List<String> startQuickstart(Path dir) throws Exception {
        quickstart = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                AgentProcess.jar().toString(), "quickstart", "--dir", dir.toString(),
                "--container-label", "cmon.test=quickstart")
                .redirectErrorStream(true).start();
        BufferedReader reader = new BufferedReader(new InputStreamReader(quickstart.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<List<String>> printed = CompletableFuture.supplyAsync(() -> {
            List<String> lines = new ArrayList<>();
            try {
                for (String line; (line = reader.readLine()) != null; ) {
                    lines.add(line);
                    if (line.startsWith("Grafana dashboards")) return lines;
                }
            } catch (IOException e) {
                lines.add(e.toString());
            }
            throw new IllegalStateException("quickstart ended:\n" + String.join("\n", lines));
        });
        List<String> lines = printed.get(150, TimeUnit.SECONDS);
        // keep draining so that the process never blocks on a full pipe
        CompletableFuture.runAsync(() -> {
            try {
                while (reader.readLine() != null) { }
            } catch (IOException ignored) {
            }
        });
        return lines;
    }

    static List<String> printedCommands(List<String> lines, String program) {
        return lines.stream().filter(l -> l.startsWith("  " + program + " ")).map(String::strip).toList();
    }

    static String sh(String commandLine) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", commandLine).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(commandLine + "\n" + out).isZero();
        return out;
    }

    @Test
    void printedCommandsWorkAsPrintedAndCtrlCRemovesEverything() throws Exception {
        Path dir = tmp.resolve("qs");
        List<String> lines = startQuickstart(dir);
        String text = String.join("\n", lines);

        List<String> curls = printedCommands(lines, "curl");
        assertThat(curls).as(text).hasSize(2);
        String discovered = sh(curls.get(0) + " --fail --silent --show-error");
        assertThat(discovered).contains("\"vm_alias\":\"alice-web\"", "\"vm_alias\":\"alice-db\"")
                .doesNotContain("bob");
        String scraped = sh(curls.get(1) + " --fail --silent --show-error");
        assertThat(scraped).contains("cpu_user_usage", "mem_agg_usage");

        // the agent link has its own CA: the proxy's client certificate opens the agent, alice's never does
        String agentUrl = lines.stream().filter(l -> l.startsWith("Agent:")).findFirst().orElseThrow()
                .replaceAll("^Agent:\\s+(\\S+).*$", "$1") + "/v1/instances";
        String linkCurl = "curl -sS --max-time 10 --cacert " + dir.resolve("agent-ca/ca.pem");
        assertThat(sh(linkCurl + " --cert " + dir.resolve("certs/proxy-client.pem") + " --key "
                + dir.resolve("certs/proxy-client-key.pem") + " --fail " + agentUrl)).contains("alice-web");
        Process tenant = new ProcessBuilder("sh", "-c", linkCurl + " --cert " + dir.resolve("certs/alice.pem")
                + " --key " + dir.resolve("certs/alice-key.pem") + " " + agentUrl).redirectErrorStream(true).start();
        String refused = new String(tenant.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(tenant.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tenant.exitValue()).as(refused).isNotZero();
        assertThat(refused).doesNotContain("alice-web");

        List<String> proms = printedCommands(lines, "prometheus");
        assertThat(proms).as(text).hasSize(1);
        int port = PrometheusProcess.freePort();
        String command = proms.get(0)
                .replace("127.0.0.1:9090", "127.0.0.1:" + port)
                .replaceAll("--storage.tsdb.path=\\S+", "--storage.tsdb.path=" + tmp.resolve("tsdb"));
        try (PrometheusProcess prom = PrometheusProcess.fromShell(command, port, tmp.resolve("prom"))) {
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                    assertThat(prom.valuesBy("instance", "up{job=\"cmon\"}"))
                            .as(prom.log()).isEqualTo(Map.of("alice-web", 1.0, "alice-db", 1.0)));
        }

        List<Long> children = List.of(pid(dir, "agent"), pid(dir, "proxy"));
        assertThat(demoContainers()).hasSize(4);
        new ProcessBuilder("kill", "-INT", Long.toString(quickstart.pid())).start().waitFor();
        assertThat(quickstart.waitFor(60, TimeUnit.SECONDS)).isTrue();
        for (long pid : children) assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(java.util.Optional.of(true));
        assertThat(demoContainers()).isEmpty();

        // a second run reuses the directory: same CA, certificates kept
        byte[] ca = Files.readAllBytes(dir.resolve("ca/ca.pem"));
        List<String> again = startQuickstart(dir);
        assertThat(String.join("\n", again)).contains("(certificates reused)");
        assertThat(Files.readAllBytes(dir.resolve("ca/ca.pem"))).isEqualTo(ca);
        assertThat(demoContainers()).hasSize(4);
        new ProcessBuilder("kill", "-INT", Long.toString(quickstart.pid())).start().waitFor();
        assertThat(quickstart.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(demoContainers()).isEmpty();
    }

    static long pid(Path dir, String child) throws IOException {
        return Long.parseLong(Files.readString(dir.resolve("run/" + child + ".pid")).strip());
    }

    static List<String> demoContainers() {
        String names = DOCKER.run("ps", "-a", "--filter", "label=cmon.test=quickstart", "--format", "{{.Names}}");
        return names.isBlank() ? List.of() : List.of(names.split("\\s+"));
    }
}
