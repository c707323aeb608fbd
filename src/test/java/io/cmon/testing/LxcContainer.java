package io.cmon.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real LXC container for tests: Debian's {@code lxc}, the {@code busybox} template (the host's static busybox, no
 * download), in an lxcpath of the test's own ({@code -P}), with {@code lxc.net.0.type = empty} (a loopback only: no
 * veth, no bridge) and no AppArmor profile (none is loaded here). Its name is unique on the host, because LXC names
 * its cgroup {@code lxc.payload.NAME} whatever the lxcpath.
 *
 * <pre>{@code
 * try (LxcContainer c = LxcContainer.create("cmon-it")) {
 *     c.start();
 *     long pid = c.initPid();
 * }
 * }</pre>
 */
public final class LxcContainer implements AutoCloseable {

    private final Path lxcPath;
    private final String name;

    private LxcContainer(Path lxcPath, String name) {
        this.lxcPath = lxcPath;
        this.name = name;
    }

    /** {@code lxc-create -t busybox} under a fresh lxcpath; the name is {@code prefix-<8 random hex>}. */
    public static LxcContainer create(String prefix) throws IOException {
        Path dir = Files.createTempDirectory("cmon-lxc-");
        Path conf = Files.writeString(dir.resolve("net-empty.conf"),
                "lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n");
        LxcContainer c = new LxcContainer(dir, prefix + "-" + UUID.randomUUID().toString().substring(0, 8));
        c.lxc("lxc-create", "-t", "busybox", "-f", conf.toString());
        return c;
    }

    public String name() {
        return name;
    }

    /** {@code lxc-start -d}, then waits until it is RUNNING. */
    public void start() {
        lxc("lxc-start", "-d", "-l", "INFO", "-o", lxcPath.resolve(name + ".log").toString());
        lxc("lxc-wait", "-s", "RUNNING", "-t", "30");
    }

    /** {@code lxc-stop -k}: killed at once (busybox init ignores the halt signal's grace period anyway). */
    public void stop() {
        lxc("lxc-stop", "-k");
        lxc("lxc-wait", "-s", "STOPPED", "-t", "30");
    }

    /** The init process's pid on the host, from {@code lxc-info -p -H}; 0 when not running. */
    public long initPid() {
        String out = lxc("lxc-info", "-p", "-H");
        return out.isBlank() ? 0 : Long.parseLong(out.trim());
    }

    /** {@code lxc-attach -- <command>} (in the container's cgroup and namespaces): its stdout. */
    public String attach(String... command) {
        List<String> args = new ArrayList<>(List.of("lxc-attach", "--clear-env", "--"));
        args.addAll(List.of(command));
        return lxc(args.toArray(String[]::new));
    }

    private String lxc(String... commandAndArgs) {
        List<String> cmd = new ArrayList<>(List.of(commandAndArgs[0], "-P", lxcPath.toString(), "-n", name));
        cmd.addAll(List.of(commandAndArgs).subList(1, commandAndArgs.length));
        return Commands.run(cmd, java.time.Duration.ofSeconds(120));
    }

    /** Stops (when running) and destroys the container; never throws (cleanup). */
    @Override
    public void close() {
        try {
            if (initPid() > 0) stop();
        } catch (RuntimeException e) {
            System.err.println("lxc cleanup (stop): " + e.getMessage());
        }
        try {
            lxc("lxc-destroy");
        } catch (RuntimeException e) {
            System.err.println("lxc cleanup (destroy): " + e.getMessage());
        }
    }
}
