package io.cmon.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Debian package {@code mvn package} builds: its control data and contents as {@code dpkg-deb} reads them, then
 * installed with {@code dpkg -i} into a scratch copy of this machine (an overlay of / on a tmpfs, in its own mount,
 * network and process namespaces: its own dpkg database, users and loopback; nothing reaches the real system), where
 * {@code /usr/bin/cmon}, the units, the agent and proxy started as their units start them, and {@code dpkg -r} and
 * {@code dpkg -P} are checked. Needs root (CI is), unshare, overlayfs, systemd-analyze (package systemd) and curl.
 */
class DebianPackageIT {

    static final Path DEB = Path.of(System.getProperty("cmon.deb", "target/cmon.deb"));

    /** Steps of {@code in-scratch-root.sh} by name, in order. */
    static Map<String, Step> steps;

    record Step(String output, int rc) {}

    @BeforeAll
    static void installIntoScratchRoot() throws Exception {
        assertThat(DEB).as("the package mvn package builds").isRegularFile();
        assertThat(run(List.of("id", "-u")).strip())
                .as("installing into a scratch root needs root").isEqualTo("0");
        Path script = Path.of(DebianPackageIT.class.getResource("/io/cmon/deb/in-scratch-root.sh").toURI());
        String out = run(List.of("unshare", "--mount", "--propagation", "private", "--net", "--pid", "--fork",
                "--kill-child", "sh", script.toString(), DEB.toAbsolutePath().toString()));
        steps = parseSteps(out);
        assertThat(steps).as(out).containsKeys("install", "remove", "purge");
    }

    @Test
    void controlDependsOnAHeadlessJre17AndAdduser() throws Exception {
        String control = run(List.of("dpkg-deb", "--field", DEB.toString()));
        assertThat(control)
                .contains("Package: cmon\n")
                .contains("Architecture: all\n")
                .contains("Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless, adduser\n")
                .containsPattern("(?m)^Version: " + Pattern.quote(debianVersion()) + "$");
    }

    @Test
    void packageShipsLauncherJarOptionsUnitsAndConfigs() throws Exception {
        String contents = run(List.of("dpkg-deb", "--contents", DEB.toString()));
        assertThat(contents)
                .containsPattern("-rwxr-xr-x root/root .* \\./usr/bin/cmon\n")
                .containsPattern("-rw-r--r-- root/root .* \\./usr/share/cmon/cmon\\.jar\n")
                .containsPattern("-rw-r--r-- root/root .* \\./usr/share/cmon/cmon-containerd\\.jar\n")
                .contains("./usr/share/cmon/jvm/agent.options\n", "./usr/share/cmon/jvm/proxy.options\n",
                        "./usr/lib/systemd/system/cmon-agent.service\n", "./usr/lib/systemd/system/cmon-proxy.service\n",
                        "./etc/cmon/agent.yaml\n", "./etc/cmon/proxy.yaml\n", "./etc/cmon/accounts.yaml\n",
                        "./etc/cmon/instances.yaml\n", "./etc/default/cmon-agent\n", "./etc/default/cmon-proxy\n",
                        "./usr/share/doc/cmon/operator-guide.md\n");
    }

    @Test
    void installsAndEveryConfigIsAConffile() {
        assertThat(step("install").rc()).as(step("install").output()).isZero();
        assertThat(step("conffiles").output().lines().toList()).containsExactlyInAnyOrder(
                "/etc/cmon/accounts.yaml", "/etc/cmon/agent.yaml", "/etc/cmon/instances.yaml", "/etc/cmon/proxy.yaml",
                "/etc/default/cmon-agent", "/etc/default/cmon-proxy");
    }

    @Test
    void installedCmonPrintsThePomVersion() {
        assertThat(step("version")).isEqualTo(new Step("cmon " + pomVersion() + "\n", 0));
    }

    @Test
    void postinstCreatesTheCmonSystemUserWhoAloneMayReadEtcCmon() {
        Step user = step("user");
        assertThat(user.rc()).as(user.output()).isZero();
        assertThat(user.output()).containsPattern("(?m)^cmon:x:\\d{3}:\\d+:[^:]*:/nonexistent:/usr/sbin/nologin$")
                .contains("root:cmon 750\n");
    }

    @Test
    void unitsPassSystemdAnalyzeVerify() {
        assertThat(step("verify")).as("no warnings, no errors").isEqualTo(new Step("", 0));
    }

    @Test
    void proxyUnitIsHardenedToSystemdsOkExposureBand() {
        Matcher m = Pattern.compile("Overall exposure level for cmon-proxy.service: (\\d+\\.\\d)")
                .matcher(step("security").output());
        assertThat(m.find()).as(step("security").output()).isTrue();
        // systemd-analyze security: below 4.0 is "OK"; root services without sandboxing score 9.6
        assertThat(Double.parseDouble(m.group(1))).isLessThan(4.0);
    }

    @Test
    void launcherPassesEachRolesJvmOptionsAndCmonJavaOptsWins() throws IOException {
        assertThat(step("heap-agent").output()).contains("Max. Heap Size: " + maxHeapOf("agent"));
        assertThat(step("heap-agent-override").output()).contains("Max. Heap Size: 100.00M");
        assertThat(step("heap-proxy").output()).contains("Max. Heap Size: " + maxHeapOf("proxy"));
        for (String s : List.of("heap-agent", "heap-agent-override", "heap-proxy")) {
            assertThat(step(s).rc()).as(step(s).output()).isZero();
            assertThat(step(s).output()).contains("cmon " + pomVersion());
        }
    }

    @Test
    void agentStartsAsItsUnitStartsItWithTheShippedConfig() {
        Step agent = step("agent");
        assertThat(agent.output()).as(agent.output())
                .contains("started: /usr/bin/cmon agent --config /etc/cmon/agent.yaml", "agent answered /_ping",
                        "cmon agent listening on http://127.0.0.1:9164");
    }

    @Test
    void proxyStartsAsUserCmonWithTheShippedConfigAndLogsItsStop() {
        Step proxy = step("proxy");
        assertThat(proxy.rc()).as(proxy.output()).isZero();
        assertThat(proxy.output()).as(proxy.output())
                .contains("started as cmon: /usr/bin/cmon proxy --config /etc/cmon/proxy.yaml",
                        "proxy answered /-/healthy", "running as cmon", "proxy listening on https://0.0.0.0:9163",
                        "proxy stopped (https port 9163, admin 127.0.0.1:9166)",
                        // 128 + SIGTERM after a graceful stop: the unit's SuccessExitStatus
                        "exit status 143");
    }

    @Test
    void removeKeepsTheConfigsAndTheKeysButNotTheProgram() {
        String out = step("remove").output();
        assertThat(out).contains("deinstall ok config-files\n", "/etc/default/cmon-agent\n", "/etc/default/cmon-proxy\n")
                .contains("\nagent.yaml\n", "\nproxy.yaml\n", "\naccounts.yaml\n", "\ninstances.yaml\n",
                        "\ncmon.example.com-key.pem\n")
                .contains("cannot access '/usr/bin/cmon'", "cannot access '/usr/share/cmon'");
    }

    @Test
    void purgeRemovesTheShippedConfigsAndTheUser() {
        Step purge = step("purge");
        assertThat(purge.output()).contains("Purging configuration files for cmon")
                .contains("cannot access '/etc/default/cmon-agent'", "cannot access '/etc/cmon/proxy.yaml'")
                .doesNotContain("cmon:x:");
    }

    /** The -Xmx of a role's options file in the source tree, as -XshowSettings:vm prints it ("64.00M"). */
    static String maxHeapOf(String role) throws IOException {
        String options = java.nio.file.Files.readString(Path.of("src/main/resources/io/cmon/jvm/" + role + ".options"));
        Matcher m = Pattern.compile("(?m)^-Xmx(\\d+)([mMgG])$").matcher(options);
        String last = null;
        while (m.find()) last = m.group(1) + ".00" + m.group(2).toUpperCase();
        assertThat(last).as(role + ".options sets -Xmx").isNotNull();
        return last;
    }

    static Step step(String name) {
        assertThat(steps).containsKey(name);
        return steps.get(name);
    }

    static Map<String, Step> parseSteps(String out) {
        Map<String, Step> parsed = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?ms)^=== (\\S+)\n(.*?)^=== rc (\\d+)\n").matcher(out);
        while (m.find()) parsed.put(m.group(1), new Step(m.group(2), Integer.parseInt(m.group(3))));
        return parsed;
    }

    /** The POM's version (failsafe passes it), which the jar's manifest and the package carry. */
    static String pomVersion() {
        String version = System.getProperty("cmon.version");
        assertThat(version).as("system property cmon.version").isNotBlank();
        return version;
    }

    /** jdeb's Debian form of a Maven version: a SNAPSHOT sorts before its release. */
    static String debianVersion() {
        return pomVersion().replace("-SNAPSHOT", "~SNAPSHOT");
    }

    static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(command + "\n" + text).isZero();
        return text;
    }
}
