package io.cmon.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A private resolver that answers {@code <suffix>} and {@code *.<suffix>} with 127.0.0.1, for processes that run in
 * a mount namespace of their own where {@code /etc/resolv.conf} points at it: the machine's resolver files stay
 * untouched. dnsmasq listens on a random 127.x.y.z address, port 53 (the only port resolv.conf can name).
 */
public final class WildcardDns implements AutoCloseable {

    private final String suffix;
    private final String address;
    private final Path resolvConf;
    private final Process dnsmasq;

    private WildcardDns(String suffix, String address, Path resolvConf, Process dnsmasq) {
        this.suffix = suffix;
        this.address = address;
        this.resolvConf = resolvConf;
        this.dnsmasq = dnsmasq;
    }

    /** Starts dnsmasq answering {@code *.suffix}; its files go to {@code dir}. Needs root (port 53). */
    public static WildcardDns start(String suffix, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String address = freeLoopbackAddressForPort53();
        Path log = dir.resolve("dnsmasq.log");
        Process p = new ProcessBuilder("dnsmasq", "--no-daemon", "--port=53", "--listen-address=" + address,
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                "--address=/" + suffix + "/127.0.0.1", "--log-facility=-")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path resolv = dir.resolve("resolv.conf");
        Files.writeString(resolv, "nameserver " + address + "\noptions timeout:1 attempts:2\n");
        WildcardDns dns = new WildcardDns(suffix, address, resolv, p);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (!Files.readString(log).contains("started")) {
            if (!p.isAlive() || Instant.now().isAfter(deadline)) {
                dns.close();
                throw new IOException("dnsmasq did not start: " + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return dns;
    }

    private static String freeLoopbackAddressForPort53() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            String candidate = "127." + r.nextInt(1, 255) + "." + r.nextInt(0, 256) + "." + r.nextInt(2, 255);
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(candidate), 53))) {
                return candidate;
            } catch (IOException busy) {
                // another test's resolver: try another address
            }
        }
        throw new IOException("no free 127.x.y.z address for port 53");
    }

    public String suffix() {
        return suffix;
    }

    public String address() {
        return address;
    }

    public Path resolvConf() {
        return resolvConf;
    }

    /**
     * The command run in a new mount namespace whose {@code /etc/resolv.conf} is this resolver's. {@code unshare -m}
     * makes mounts private, so the bind mount is gone when the process ends.
     */
    public List<String> inNamespace(List<String> command) {
        List<String> wrapped = new ArrayList<>(List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
                "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolvConf.toString()));
        wrapped.addAll(command);
        return wrapped;
    }

    @Override
    public void close() throws InterruptedException {
        dnsmasq.destroy();
        if (!dnsmasq.waitFor(5, TimeUnit.SECONDS)) {
            dnsmasq.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
