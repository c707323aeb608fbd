package io.cmon.agent.collect.gz;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class GzMetricsTest {

    static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(1_795_600_000_500L), ZoneOffset.UTC);

    static Path fixtures() throws URISyntaxException {
        return Path.of(GzMetricsTest.class.getResource("/fixtures/proc/stat").toURI()).getParent();
    }

    static String text(GzMetrics gz) throws IOException {
        return PrometheusTextFormatWriter.create().toDebugString(gz.collect());
    }

    @Test
    void serverMetricsUseNodeExporterNamesAndValues() throws Exception {
        GzMetrics gz = new GzMetrics(fixtures(), CLOCK, () -> Map.of("running", 3L, "stopped", 1L), "1.2.3");

        String text = text(gz);

        assertThat(text).contains(
                "# TYPE node_cpu_seconds_total counter",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 25.47",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 345.25",
                "node_boot_time_seconds 1.795598438E9",
                "node_load1 0.09", "node_load5 0.13", "node_load15 0.06",
                "node_memory_MemTotal_bytes 2.5276514304E10",
                "node_memory_SwapFree_bytes 0.0",
                "node_time_seconds 1.7956000005E9",
                "cmon_instances{state=\"running\"} 3.0",
                "cmon_instances{state=\"stopped\"} 1.0",
                "cmon_agent_up 1.0",
                "cmon_agent_build_info{version=\"1.2.3\"} 1",
                "node_scrape_collector_success{collector=\"cpu\"} 1.0");
    }

    @Test
    void filesystemsNetworkAndZfsArcWithNodeExporterNames() throws Exception {
        GzMetrics gz = new GzMetrics(fixtures(), CLOCK, Map::of, "dev");

        String text = text(gz);

        // the mountinfo fixture lists this host's "/", statfs'ed for real
        assertThat(text).containsPattern(
                "node_filesystem_size_bytes\\{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} [1-9]");
        assertThat(text).contains(
                "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0.0",
                "node_filesystem_avail_bytes{", "node_filesystem_free_bytes{", "node_filesystem_files{",
                "node_filesystem_files_free{",
                "# TYPE node_network_receive_bytes_total counter",
                "node_network_receive_bytes_total{device=\"lo\"} 2.698488647E9",
                "node_network_transmit_bytes_total{device=\"eth0\"} 460042.0",
                "node_network_receive_packets_total{device=\"eth0\"} 3932.0",
                "node_network_transmit_errs_total{device=\"eth0\"} 0.0",
                "node_network_receive_drop_total{device=\"ifb0\"} 0.0",
                "node_zfs_arc_size 2.893176064E9", "node_zfs_arc_c_max 8.389787648E9",
                "node_zfs_arc_hits_total 8772612.0", "node_zfs_arc_misses_total 604635.0",
                "node_scrape_collector_success{collector=\"filesystem\"} 1.0",
                "node_scrape_collector_success{collector=\"netdev\"} 1.0",
                "node_scrape_collector_success{collector=\"zfs\"} 1.0");
        assertThat(text).doesNotContain("mountpoint=\"/proc\"", "fstype=\"overlay\"", "fstype=\"cgroup\"");
    }

    @Test
    void theMountTableIsReadAgainOnlyWhenTheListInHandIsOld(@TempDir Path proc) throws Exception {
        for (String f : new String[] {"stat", "loadavg", "meminfo", "net/dev"}) {
            Files.createDirectories(proc.resolve(f).getParent());
            Files.copy(fixtures().resolve(f), proc.resolve(f));
        }
        Files.createDirectories(proc.resolve("self"));
        Files.writeString(proc.resolve("self/mountinfo"), "26 1 254:0 / / rw - ext4 /dev/vda rw\n");
        long[] millis = {1_795_600_000_000L};
        Clock clock = new Clock() {
            public java.time.ZoneId getZone() { return ZoneOffset.UTC; }
            public Clock withZone(java.time.ZoneId zone) { return this; }
            public Instant instant() { return Instant.ofEpochMilli(millis[0]); }
        };
        FilesystemStats statfs = new FilesystemStats(Runnable::run, java.time.Duration.ofSeconds(1),
                mountpoint -> new FilesystemStats.Usage(100, 50, 40, 10, 5));
        GzMetrics gz = new GzMetrics(proc, clock, Map::of, "dev", statfs, GzExclusions.DEFAULT, Runnable::run);

        assertThat(text(gz)).contains("mountpoint=\"/\"").doesNotContain("mountpoint=\"/srv\"");
        Files.writeString(proc.resolve("self/mountinfo"), "26 1 254:0 / / rw - ext4 /dev/vda rw\n"
                + "27 26 8:17 / /srv rw - xfs /dev/sdb1 rw\n");
        millis[0] += GzMetrics.MOUNTS_TTL.toMillis() - 1;
        assertThat(text(gz)).doesNotContain("mountpoint=\"/srv\"");
        millis[0] += 1;
        assertThat(text(gz)).contains("node_filesystem_size_bytes{device=\"/dev/sdb1\",fstype=\"xfs\",mountpoint=\"/srv\"} 100.0");
    }

    @Test
    void vethDevicesAreNotInTheServerView(@TempDir Path proc) throws Exception {
        for (String f : new String[] {"stat", "loadavg", "meminfo", "self/mountinfo"}) {
            Files.createDirectories(proc.resolve(f).getParent());
            Files.copy(fixtures().resolve(f), proc.resolve(f));
        }
        Files.createDirectories(proc.resolve("net"));
        Files.copy(GzExclusionsTest.capture().resolve("net/dev"), proc.resolve("net/dev"));

        String text = text(new GzMetrics(proc, CLOCK, Map::of, "dev"));

        assertThat(text).contains("node_network_receive_bytes_total{device=\"eth1\"}")
                .doesNotContain("veth");
    }

    @Test
    void noZfsPartWithoutArcstats() throws Exception {
        GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), Map::of, "dev");

        assertThat(text(gz)).contains("node_filesystem_size_bytes{", "node_network_transmit_bytes_total{device=\"lo\"}")
                .doesNotContain("node_zfs_", "collector=\"zfs\"");
    }

    @Test
    void anUnreadableFileDropsOnlyItsOwnMetricsAndIsReportedAsFailed(@TempDir Path proc) throws Exception {
        Files.copy(fixtures().resolve("stat"), proc.resolve("stat"));
        Files.writeString(proc.resolve("loadavg"), "garbage");
        GzMetrics gz = new GzMetrics(proc, CLOCK, Map::of, "dev");

        String text = text(gz);

        assertThat(text).contains("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 25.47",
                "node_scrape_collector_success{collector=\"cpu\"} 1.0",
                "node_scrape_collector_success{collector=\"loadavg\"} 0.0",
                "cmon_instances{state=\"running\"} 0.0",
                "node_scrape_collector_success{collector=\"meminfo\"} 0.0",
                "cmon_agent_up 1.0");
        assertThat(text).doesNotContain("node_load1 ", "node_memory_");
    }

    @Test
    void readsTheLiveProcOfThisMachine() {
        GzMetrics gz = new GzMetrics(Path.of("/proc"), Clock.systemUTC(), Map::of, "dev");

        assertThat(gz.collect().stream().map(s -> s.getMetadata().getName()))
                .contains("node_cpu_seconds", "node_load1", "node_memory_MemAvailable_bytes");
    }
}
