package io.cmon.cli;

import io.cmon.quickstart.Quickstart;
import io.cmon.quickstart.QuickstartException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Everything on this machine: certificates, an agent, a proxy, demo tenants (operator, alice, bob)"
                + " with demo containers, and a ready prometheus.yml per tenant. Ctrl-C stops it all.")
final class QuickstartCommand implements Runnable {

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".cmon-quickstart",
            description = "where certificates, configs and logs go; a second run reuses it (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--endpoint", defaultValue = "localhost", description = "the proxy's name for tenants (default: ${DEFAULT-VALUE})")
    String endpoint;

    @Option(names = "--dns-suffix", defaultValue = "cmon.localhost",
            description = "host-mode targets are <uuid>.SUFFIX (default: ${DEFAULT-VALUE})")
    String dnsSuffix;

    @Option(names = "--proxy-port", defaultValue = "0", description = "default 9163, or a free port when taken")
    int proxyPort;

    @Option(names = "--agent-port", defaultValue = "0", description = "default 9164, or a free port when taken")
    int agentPort;

    @Option(names = "--admin-port", defaultValue = "0", description = "default 9166, or a free port when taken")
    int adminPort;

    @Option(names = "--no-containers", description = "declare demo processes instead of using Docker/Podman")
    boolean noContainers;

    @Option(names = "--container-label", paramLabel = "K=V", hidden = true, description = "an extra label on demo containers")
    List<String> containerLabels = new ArrayList<>();

    @Override
    public void run() {
        Quickstart q = new Quickstart(new Quickstart.Options(dir, endpoint, dnsSuffix, proxyPort, agentPort, adminPort,
                !noContainers, containerLabels, Duration.ofSeconds(90)), System.out);
        // Ctrl-C and SIGTERM run shutdown hooks: stop the children, remove the demo containers
        Thread hook = new Thread(q::stop, "cmon-quickstart-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            q.start();
            q.awaitStop();
        } catch (QuickstartException e) {
            throw new ErrorHandler.UserError("quickstart: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            q.stop();
        }
    }
}
