package io.cmon.agent;

import io.cmon.testing.AgentProcess;
import io.cmon.testing.CgroupV2Host;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent jar on a real cgroup v2 kernel ({@link CgroupV2Host}: Debian's kernel under qemu, cgroup2 only, every
 * controller on). One boot runs src/test/resources/io/cmon/agent/cgroup-v2-agent-it.sh in the guest: it creates
 * cgroups in Docker's systemd-driver layout ({@code system.slice/docker-<id>.scope}, "web", declared by pid, in a
 * network namespace of its own) and cgroupfs layout ({@code /docker/<id>}, "cgfs", declared by cgroup path), an
 * OOM victim and a swapping cgroup, starts the agent once, scrapes it three times with curl over the guest's
 * loopback, and copies the kernel's files to {@code out/fixtures}. The tests assert on those scrapes.
 *
 * <p>{@code -Dcmon.captureFixtures=true} also replaces src/test/resources/fixtures/cgroup-v2 with the captured
 * files (see fixtures/README.md).
 */
class CgroupV2AgentIT {

    static final String WEB_ID = "9d3c1a7e5b2f48c6a0e1d7b3f5c9a2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5";
    static final String CGFS_ID = "4f6b0c2d8e1a3b5c7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
    static final long MIB = 1 << 20;
    static final Path FIXTURES = Path.of("src/test/resources/fixtures/cgroup-v2");

    static CgroupV2Host.Run run;
    static Path out;

    @BeforeAll
    static void runTheGuest() throws Exception {
        String script;
        try (InputStream in = CgroupV2AgentIT.class.getResourceAsStream("cgroup-v2-agent-it.sh")) {
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // a checkout under /tmp is invisible in the guest (its own tmpfs): jar and archive go where it can see them
        Path work = CgroupV2Host.visibleInGuest(Path.of("target/v2host"));
        Files.createDirectories(work);
        Path jar = work.resolve("cmon.jar");
        Files.copy(AgentProcess.jar(), jar, StandardCopyOption.REPLACE_EXISTING);
        Path cds = AgentProcess.classDataArchive(work.resolve("cds"), jar);
        String header = "JAVA='" + java + "'\nJAR='" + jar + "'\nCDS='" + cds
                + "'\nWEB_ID=" + WEB_ID + "\nCGFS_ID=" + CGFS_ID + "\n";
        try (CgroupV2Host host = CgroupV2Host.builder(work.resolve("CgroupV2AgentIT"))
                .swapMiB(256).diskMiB(16).timeout(Duration.ofMinutes(5)).build()) {
            run = host.run(header + script);
        }
        out = run.file("out");
        System.out.printf("v2 guest (kernel %s): %d s wall, exit %d%n", capture().getProperty("kernel"),
                run.wall().toSeconds(), run.exitCode());
        System.out.println(run.log());
        assertThat(run.exitCode()).as("run.sh exit code; run.log:\n" + run.log()).isZero();
        printCollectorTimers();
        if (Boolean.getBoolean("cmon.captureFixtures")) {
            replaceFixtures();
        }
    }

    // --- helpers ---------------------------------------------------------------------------------------------

    static String scrape(String alias, int round) {
        return read(out.resolve(alias + "-" + round + ".prom"));
    }

    /** The value of one series ({@code name} or {@code name{labels}}) in text format; fails when absent. */
    static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        if (!m.find()) throw new AssertionError(series + " missing from:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    static String captured(String file) {
        return read(out.resolve("fixtures").resolve(file));
    }

    static long kernelValue(String keyedFile, String key) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + " (\\d+)$").matcher(keyedFile);
        if (!m.find()) throw new AssertionError(key + " missing from:\n" + keyedFile);
        return Long.parseLong(m.group(1));
    }

    static Properties capture() {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(out.resolve("fixtures/capture.properties"))) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final String WEB = "sys/fs/cgroup/system.slice/docker-" + WEB_ID + ".scope/";

    // --- tests -----------------------------------------------------------------------------------------------

    @Test
    void busyInstancesCpuUserUsageGrowsBetweenScrapes() {
        double first = value(scrape("web", 1), "cpu_user_usage");
        double second = value(scrape("web", 2), "cpu_user_usage");

        // a busy loop held to a fifth of a CPU by cpu.max ("20000 100000"), scrapes seconds apart under TCG
        assertThat(second - first).isGreaterThan(100_000_000);
        assertThat(value(scrape("web", 2), "cpu_quota_cores")).isEqualTo(0.2);
        assertThat(value(scrape("web", 2), "cpu_quota_seconds")).isEqualTo(0.02);
        assertThat(value(scrape("web", 2), "cpu_period_seconds")).isEqualTo(0.1);
    }

    @Test
    void memoryMaxIsTheMemoryLimitAndSwapMaxTheSwapLimit() {
        String web = scrape("web", 2);

        assertThat(value(web, "mem_limit")).isEqualTo(67_108_864);
        assertThat(value(web, "mem_swap_limit")).isEqualTo(33_554_432);
        // no memory.max: the guest's memory
        assertThat(value(scrape("cgfs", 2), "mem_limit"))
                .isEqualTo(kernelValue(captured("proc/meminfo").replace(" kB", "").replaceAll(":\\s+", " "),
                        "MemTotal") * 1024.0);
    }

    @Test
    void tmpfsPagesThatDoNotFitSwapOutAndShowAsMemSwap() {
        String swap = scrape("swap", 2);

        assertThat(value(swap, "mem_limit")).isEqualTo(33_554_432);
        assertThat(value(swap, "mem_swap_limit")).isEqualTo(67_108_864);
        // 48 MiB of tmpfs under a 32 MiB limit: at least the difference went to swap
        assertThat(value(swap, "mem_swap")).isGreaterThanOrEqualTo(16 * MIB)
                .isEqualTo(Long.parseLong(captured("sys/fs/cgroup/cmon-it/swap/memory.swap.current").trim()));
        assertThat(value(swap, "mem_agg_usage")).isLessThanOrEqualTo(32 * MIB);
    }

    @Test
    void loopbackBytesOfTheInstancesOwnNamespaceShowOnLo() {
        String web = scrape("web", 1);

        // 1,000,000 bytes of payload plus TCP/IP headers, and what leaves a loopback arrives on it
        assertThat(value(web, "net_agg_bytes_out{interface=\"lo\"}")).isBetween(1_000_000.0, 1_200_000.0);
        assertThat(value(web, "net_agg_bytes_in{interface=\"lo\"}"))
                .isEqualTo(value(web, "net_agg_bytes_out{interface=\"lo\"}"));
        assertThat(web).doesNotContain("interface=\"eth0\""); // its namespace has lo only
    }

    @Test
    void cpuWaitTimeFromPsiGrowsWhenTwoBusyLoopsShareOneCpu() {
        double first = value(scrape("cgfs", 1), "cpu_wait_time");
        double second = value(scrape("cgfs", 2), "cpu_wait_time");

        // two runnable tasks on one vCPU: one of them waits all the time, so "some" grows about as fast as the clock
        assertThat(second - first).isGreaterThan(1e9);
        String pressure = captured("sys/fs/cgroup/docker/" + CGFS_ID + "/cpu.pressure");
        long someTotalUs = Long.parseLong(pressure.replaceAll("(?s)^some .*?total=(\\d+).*", "$1"));
        assertThat(someTotalUs * 1000.0).isGreaterThanOrEqualTo(value(scrape("cgfs", 3), "cpu_wait_time"));
    }

    @Test
    void processExceedingMemoryMaxIsCountedAsAnOomKill() {
        String oom = scrape("oom", 2);

        assertThat(value(oom, "mem_oom_kills_total")).isEqualTo(1);
        assertThat(value(oom, "mem_max_events_total")).isPositive();
        assertThat(value(oom, "mem_oom_events_total")).isGreaterThanOrEqualTo(1);
        assertThat(value(oom, "mem_limit")).isEqualTo(33_554_432);
        assertThat(kernelValue(captured("sys/fs/cgroup/cmon-it/oom/memory.events"), "oom_kill")).isEqualTo(1);
    }

    @Test
    void tmpfsWritesAreChargedAsShmemPageCacheNotDiskIo() {
        String web = scrape("web", 2);
        long shmem = kernelValue(captured(WEB + "memory.stat"), "shmem");

        assertThat(shmem).isGreaterThanOrEqualTo(8 * MIB); // the 8 MiB file on /tmp
        assertThat(value(web, "mem_cache_bytes")).isGreaterThanOrEqualTo(8.0 * MIB);
        assertThat(value(web, "mem_shmem_bytes")).isGreaterThanOrEqualTo(8.0 * MIB);
    }

    @Test
    void directIoOnTheVirtioDiskIsChargedToTheWritersCgroup() {
        String web = scrape("web", 2);

        // dd: 40 × 64 KiB written and read with O_DIRECT on /dev/vda; nothing else of web touches a block device
        assertThat(value(web, "disk_written_bytes_total")).isEqualTo(40 * 65536);
        assertThat(value(web, "disk_read_bytes_total")).isEqualTo(40 * 65536);
        assertThat(value(web, "disk_writes_total")).isGreaterThanOrEqualTo(40);
        // the guest's /sys/dev/block names the device io.stat numbers
        assertThat(value(web, "disk_device_written_bytes_total{device=\"254:0\",device_name=\"vda\"}"))
                .isEqualTo(40 * 65536);
        // the direct reads and writes wait on the device: PSI io of the cgroup
        assertThat(value(web, "pressure_io_waiting_seconds_total")).isPositive();
        assertThat(captured(WEB + "io.stat")).contains("wbytes=2621440");
    }

    @Test
    void pidsMaxIsTheProcessLimitAndUnlimitedIsThePidMax() {
        assertThat(value(scrape("web", 2), "processes_limit")).isEqualTo(64);
        assertThat(value(scrape("web", 2), "processes_current")).isEqualTo(2); // the namespace's shell, busy loop
        assertThat(value(scrape("cgfs", 2), "processes_limit"))
                .isEqualTo(Long.parseLong(captured("proc/sys/kernel/pid_max").trim()));
    }

    @Test
    void everyCollectorIsAvailableOnV2() {
        for (String alias : new String[] {"web", "cgfs", "swap"}) {
            String text = scrape(alias, 3);
            for (String collector : new String[] {"cpu", "mem", "mem_detail", "net", "disk", "processes", "tcp",
                    "pressure"}) {
                assertThat(value(text, collector + "_metrics_available_boolean")).as(alias + " " + collector)
                        .isEqualTo(1);
            }
        }
    }

    @Test
    void capturedProcCgroupShowsBothDockerLayoutsAsOneUnifiedLine() {
        Properties p = capture();
        assertThat(captured("proc/" + p.getProperty("webPid") + "/cgroup"))
                .isEqualTo("0::/system.slice/docker-" + WEB_ID + ".scope\n");
        assertThat(captured("proc/" + p.getProperty("cgfsPid") + "/cgroup")).isEqualTo("0::/docker/" + CGFS_ID + "\n");
    }

    /** The median of each collector's own timer over web's uncached scrapes 2–7 (round 1 runs cold code). */
    static void printCollectorTimers() {
        java.util.Map<String, java.util.List<Double>> timers = new java.util.TreeMap<>();
        for (int round = 2; round <= 7; round++) {
            String text = scrape("web", round);
            Matcher m = Pattern.compile("(?m)^(\\w+)_metrics_timer_seconds (\\S+)$").matcher(text);
            while (m.find()) {
                if (value(text, m.group(1) + "_metrics_cached_boolean") == 0) {
                    timers.computeIfAbsent(m.group(1), k -> new java.util.ArrayList<>())
                            .add(Double.parseDouble(m.group(2)));
                }
            }
        }
        StringBuilder line = new StringBuilder("collector timers on v2 (TCG guest), median ms of uncached scrapes:");
        timers.forEach((collector, values) -> {
            java.util.Collections.sort(values);
            line.append(String.format(" %s %.2f (n=%d)", collector, values.get((values.size() - 1) / 2) * 1000,
                    values.size()));
        });
        System.out.println(line);
    }

    // --- capture ---------------------------------------------------------------------------------------------

    /** Replaces the v2 fixture tree with this run's capture (only with -Dcmon.captureFixtures=true). */
    static void replaceFixtures() throws IOException {
        if (Files.exists(FIXTURES)) {
            try (Stream<Path> walk = Files.walk(FIXTURES)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        Path from = out.resolve("fixtures");
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path to = FIXTURES.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        System.out.println("fixtures replaced: " + FIXTURES.toAbsolutePath());
    }
}
