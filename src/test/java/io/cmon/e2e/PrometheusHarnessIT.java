package io.cmon.e2e;

import com.sun.net.httpserver.HttpServer;
import io.cmon.testing.PrometheusProcess;
import io.cmon.testing.WildcardDns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The test harness itself: a real Prometheus that resolves a wildcard name without touching the machine's resolver. */
class PrometheusHarnessIT {

    @TempDir
    Path tmp;

    @Test
    void prometheusInItsNamespaceResolvesWildcardNamesAndScrapesByHost() throws Exception {
        String suffix = "harness.cmon.test";
        String uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        Set<String> hostsSeen = ConcurrentHashMap.newKeySet();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/metrics", exchange -> {
            hostsSeen.add(exchange.getRequestHeaders().getFirst("Host"));
            byte[] body = "# TYPE harness_value gauge\nharness_value 42\n".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        int port = server.getAddress().getPort();
        String target = uuid + "." + suffix + ":" + port;
        try (WildcardDns dns = WildcardDns.start(suffix, tmp.resolve("dns"));
             PrometheusProcess prom = PrometheusProcess.start(tmp.resolve("prom"), """
                     global: {scrape_interval: 1s, scrape_timeout: 1s}
                     scrape_configs:
                       - job_name: harness
                         static_configs: [{targets: ["%s"]}]
                     """.formatted(target), dns)) {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(prom.value("harness_value{instance=\"" + target + "\"}")).hasValue(42.0));
            assertThat(prom.value("up{instance=\"" + target + "\"}")).hasValue(1.0);
            assertThat(hostsSeen).containsExactly(target);
        } finally {
            server.stop(0);
        }
        // the machine's own resolver never learnt the name
        assertThatThrownBy(() -> InetAddress.getByName(uuid + "." + suffix)).isInstanceOf(UnknownHostException.class);
    }
}
