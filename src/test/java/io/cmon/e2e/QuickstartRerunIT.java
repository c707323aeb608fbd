package io.cmon.e2e;

import io.cmon.testing.AgentProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A second {@code cmon quickstart} in the same directory, as a new user runs one: refused while the first runs
 * (which keeps its agent, proxy and ports), and after the first was killed with SIGKILL it stops the agent and
 * proxy left behind and comes back on the same ports. Demo processes instead of containers (--no-containers).
 */
class QuickstartRerunIT {

    @TempDir
    Path tmp;

    final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (Process p : started) {
            if (p.isAlive()) {
                p.destroy();
                p.waitFor(60, TimeUnit.SECONDS);
            }
        }
        // what a SIGKILLed quickstart left (only when the test failed before its rerun stopped them)
        for (String child : List.of("agent", "proxy")) {
            Path pidFile = tmp.resolve("qs/run/" + child + ".pid");
            if (Files.exists(pidFile)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip()))
                        .filter(h -> h.info().commandLine().orElse("").contains(tmp.toString()))
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    Process quickstart(Path dir) throws IOException {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar",
                AgentProcess.jar().toString(), "quickstart", "--dir", dir.toString(), "--no-containers")
                .redirectErrorStream(true).start();
        started.add(p);
        return p;
    }

    /** What the quickstart printed up to its last line of instructions. */
    static List<String> untilReady(Process p) throws Exception {
        BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> lines = CompletableFuture.supplyAsync(() -> {
            List<String> read = new ArrayList<>();
            try {
                for (String line; (line = reader.readLine()) != null; ) {
                    read.add(line);
                    if (line.startsWith("Grafana dashboards")) return read;
                }
            } catch (IOException e) {
                read.add(e.toString());
            }
            throw new IllegalStateException("quickstart ended:\n" + String.join("\n", read));
        }).get(180, TimeUnit.SECONDS);
        CompletableFuture.runAsync(() -> { // drain: the process never blocks on a full pipe
            try {
                while (reader.readLine() != null) { }
            } catch (IOException ignored) {
            }
        });
        return lines;
    }

    static List<String> addresses(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("Proxy:") || l.startsWith("Agent:")).toList();
    }

    static long pid(Path dir, String child) throws IOException {
        return Long.parseLong(Files.readString(dir.resolve("run/" + child + ".pid")).strip());
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void aSecondRunIsRefusedWhileTheFirstRunsAndAfterSigkillTheRerunStopsLeftoversAndKeepsPorts() throws Exception {
        Path dir = tmp.resolve("qs");
        Process first = quickstart(dir);
        List<String> firstLines = untilReady(first);
        List<String> firstAddresses = addresses(firstLines);
        assertThat(firstAddresses).as(String.join("\n", firstLines)).hasSize(2);
        long agent = pid(dir, "agent");
        long proxy = pid(dir, "proxy");
        byte[] proxyConfig = Files.readAllBytes(dir.resolve("proxy.yaml"));
        byte[] agentConfig = Files.readAllBytes(dir.resolve("agent.yaml"));

        // a second run while the first is live: refused, nothing of the first touched
        Process second = quickstart(dir);
        String refused = new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).as(refused).isEqualTo(2);
        assertThat(refused).isEqualTo("cmon: quickstart: another cmon quickstart (pid " + first.pid() + ") is running in "
                + dir.toAbsolutePath() + ": stop it first (Ctrl-C where it runs, or kill " + first.pid()
                + "), or give this one another --dir\n");
        assertThat(first.isAlive()).isTrue();
        assertThat(alive(agent)).isTrue();
        assertThat(alive(proxy)).isTrue();
        assertThat(pid(dir, "agent")).isEqualTo(agent);
        assertThat(Files.readAllBytes(dir.resolve("proxy.yaml"))).isEqualTo(proxyConfig);
        assertThat(Files.readAllBytes(dir.resolve("agent.yaml"))).isEqualTo(agentConfig);

        // SIGKILL: no shutdown hook runs, the agent and proxy stay behind holding the ports
        first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertThat(alive(agent)).isTrue();
        assertThat(alive(proxy)).isTrue();

        Process rerun = quickstart(dir);
        List<String> rerunLines = untilReady(rerun);
        String text = String.join("\n", rerunLines);
        assertThat(text).contains("stopped the agent (pid " + agent + ") an earlier quickstart left running",
                "stopped the proxy (pid " + proxy + ") an earlier quickstart left running");
        assertThat(alive(agent)).isFalse();
        assertThat(alive(proxy)).isFalse();
        assertThat(addresses(rerunLines)).as(text).isEqualTo(firstAddresses);
        assertThat(Files.readAllBytes(dir.resolve("proxy.yaml"))).isEqualTo(proxyConfig);
        assertThat(pid(dir, "agent")).isNotEqualTo(agent);
        assertThat(Optional.of(alive(pid(dir, "agent")))).contains(true);
    }
}
