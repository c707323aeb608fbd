package io.cmon.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real cgroup v2 host for tests on a machine that is not one: Debian's own kernel ({@code /boot/vmlinuz-*},
 * package {@code linux-image-amd64}) booted in {@code qemu-system-x86_64} under TCG (no KVM needed), with a
 * cgroup2-only hierarchy ({@code cgroup_no_v1=all}) and every controller enabled in the root's
 * {@code cgroup.subtree_control}.
 *
 * <p>The guest sees this machine's root file system read-only over virtio-9p (so the JDK, the agent jar, curl,
 * util-linux and iproute2 are the host's), tmpfs on {@code /tmp}, {@code /run}, {@code /var/tmp} and
 * {@code /dev/shm}, and the {@linkplain #share() share} directory writable at the same path as on the host. It has
 * no network device: {@code lo} only. Optional: a zram swap device, a raw virtio disk ({@code /dev/vda}).
 *
 * <p>{@link #run(String)} writes the given shell script as {@code <share>/run.sh}, boots the guest, which runs it
 * with {@code /bin/sh} in the share directory (environment: {@code PATH}, {@code HOME=/tmp},
 * {@code V2HOST_SHARE=<share>}), and powers off when it ends. The script's output is {@code <share>/run.log}, its
 * exit code {@code <share>/exit-code}; results are whatever it writes under the share. The serial console (kernel
 * messages and the init's {@code v2host:} lines) is kept in {@code <workDir>/console.log} for diagnosing a boot
 * failure. The VM is bounded twice: the host kills qemu after the timeout, and a watchdog in the guest powers it
 * off a little later, so it ends even if the test JVM died. Under TCG a JVM start takes seconds: start one.
 *
 * <pre>{@code
 * try (CgroupV2Host host = CgroupV2Host.builder(Path.of("target/v2host")).swapMiB(256).diskMiB(16).build()) {
 *     CgroupV2Host.Run run = host.run("cat /sys/fs/cgroup/cgroup.subtree_control > out.txt");
 *     assertThat(run.exitCode()).isZero();
 *     String controllers = Files.readString(run.file("out.txt"));
 * }
 * }</pre>
 *
 * Needs {@code qemu-system-x86_64} ({@code qemu-system-x86}), a kernel with its modules in
 * {@code /lib/modules/<release>} ({@code linux-image-amd64}), a static {@code /bin/busybox}
 * ({@code busybox-static}) and {@code cpio}; {@code .ci/run} installs them. System property
 * {@code cmon.v2host.kernel} picks another kernel image.
 */
public final class CgroupV2Host implements AutoCloseable {

    /** virtio PCI transport, 9p over it, block and zram: resolved with their dependencies from modules.dep. */
    static final List<String> MODULES = List.of("virtio_pci", "9pnet_virtio", "9p", "virtio_blk", "zram");

    private final Path workDir;
    private final Path share;
    private final Kernel kernel;
    private final int memoryMiB;
    private final int cpus;
    private final int swapMiB;
    private final int diskMiB;
    private final Duration timeout;
    private Process qemu;

    /** A kernel image and the directory of its modules. */
    public record Kernel(Path image, Path modules, String release) {

        /** {@code cmon.v2host.kernel}, else the newest {@code /boot/vmlinuz-*} whose modules are installed. */
        public static Kernel find() {
            String chosen = System.getProperty("cmon.v2host.kernel");
            try (Stream<Path> boot = Files.list(Path.of("/boot"))) {
                List<Path> images = chosen != null ? List.of(Path.of(chosen))
                        : boot.filter(p -> p.getFileName().toString().startsWith("vmlinuz-"))
                                .sorted(Comparator.comparing(Path::toString).reversed()).toList();
                for (Path image : images) {
                    String release = image.getFileName().toString().substring("vmlinuz-".length());
                    Path modules = Path.of("/lib/modules", release);
                    if (Files.isRegularFile(image) && Files.isRegularFile(modules.resolve("modules.dep"))) {
                        return new Kernel(image, modules, release);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("listing /boot", e);
            }
            throw new IllegalStateException("no kernel with modules: install linux-image-amd64 (or set "
                    + "cmon.v2host.kernel to a /boot/vmlinuz-<release> with /lib/modules/<release>)");
        }

        /** The module files to load, dependencies first, from {@code modules.dep}. */
        public List<Path> moduleFiles(List<String> names) throws IOException {
            Map<String, List<String>> deps = new java.util.HashMap<>();
            for (String line : Files.readAllLines(modules.resolve("modules.dep"))) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String rest = line.substring(colon + 1).trim();
                deps.put(line.substring(0, colon), rest.isEmpty() ? List.of() : List.of(rest.split("\\s+")));
            }
            Path builtinFile = modules.resolve("modules.builtin");
            Set<String> builtin = new java.util.HashSet<>();
            if (Files.isRegularFile(builtinFile)) {
                for (String line : Files.readAllLines(builtinFile)) {
                    if (line.contains(".ko")) builtin.add(moduleName(line.trim()));
                }
            }
            Set<String> ordered = new LinkedHashSet<>();
            for (String name : names) {
                String wanted = name.replace('-', '_');
                if (builtin.contains(wanted)) continue; // another distribution's kernel may build it in
                String path = deps.keySet().stream()
                        .filter(p -> moduleName(p).equals(wanted))
                        .findFirst()
                        .orElseThrow(() -> new IllegalStateException("module " + name + " neither in " + modules
                                + "/modules.dep nor built in"));
                addWithDependencies(path, deps, ordered);
            }
            return ordered.stream().map(modules::resolve).toList();
        }

        private static void addWithDependencies(String path, Map<String, List<String>> deps, Set<String> out) {
            if (out.contains(path)) return;
            // modules.dep lists all dependencies, nearest first: load the farthest first
            List<String> needs = new ArrayList<>(deps.getOrDefault(path, List.of()));
            java.util.Collections.reverse(needs);
            for (String d : needs) addWithDependencies(d, deps, out);
            out.add(path);
        }

        private static String moduleName(String path) {
            String file = path.substring(path.lastIndexOf('/') + 1);
            return file.substring(0, file.indexOf(".ko")).replace('-', '_');
        }
    }

    /** The outcome of one boot. */
    public record Run(int exitCode, Path share, Path console, Duration wall) {

        /** A file the script wrote, relative to the share. */
        public Path file(String relative) {
            return share.resolve(relative);
        }

        public String log() {
            return read(share.resolve("run.log"));
        }

        public String consoleText() {
            return read(console);
        }

        private static String read(Path p) {
            try {
                return Files.isRegularFile(p) ? Files.readString(p) : "(no " + p + ")";
            } catch (IOException e) {
                return "(unreadable " + p + ": " + e + ")";
            }
        }
    }

    public static final class Builder {
        private final Path workDir;
        private int memoryMiB = 1024;
        private int cpus = 2;
        private int swapMiB;
        private int diskMiB;
        private Duration timeout = Duration.ofMinutes(4);

        private Builder(Path workDir) {
            this.workDir = workDir;
        }

        public Builder memoryMiB(int mib) {
            this.memoryMiB = mib;
            return this;
        }

        public Builder cpus(int n) {
            this.cpus = n;
            return this;
        }

        /** A zram swap device of this size, switched on before the script runs (0: no swap). */
        public Builder swapMiB(int mib) {
            this.swapMiB = mib;
            return this;
        }

        /** A raw, zeroed virtio disk of this size as {@code /dev/vda} (0: none). */
        public Builder diskMiB(int mib) {
            this.diskMiB = mib;
            return this;
        }

        /** The longest one boot may take, script included. */
        public Builder timeout(Duration t) {
            this.timeout = t;
            return this;
        }

        public CgroupV2Host build() throws IOException {
            return new CgroupV2Host(this);
        }
    }

    /** Where the guest mounts file systems of its own: host files under them are invisible inside. */
    private static final List<String> GUEST_OWN = List.of("/tmp", "/run", "/var/tmp", "/dev", "/proc", "/sys");

    /**
     * {@code dir}, or, when the guest would not see it (a checkout under /tmp, as CI clones may be), a directory
     * of the same name under /var/cache/cmon-v2host, which it does.
     */
    public static Path visibleInGuest(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        for (String guestOwn : GUEST_OWN) {
            if (abs.startsWith(guestOwn)) {
                return Path.of("/var/cache/cmon-v2host", abs.toString().substring(1).replace('/', '_'));
            }
        }
        return abs;
    }

    /** A host whose files (initramfs, console log, share) live in {@code workDir}, emptied first. */
    public static Builder builder(Path workDir) {
        return new Builder(workDir);
    }

    private CgroupV2Host(Builder b) throws IOException {
        this.workDir = b.workDir.toAbsolutePath().normalize();
        for (String guestOwn : GUEST_OWN) {
            if (workDir.startsWith(guestOwn)) {
                // the guest mounts its own file systems there: the share would be hidden under them
                throw new IllegalArgumentException("work dir " + workDir + " is under " + guestOwn
                        + ", which the guest mounts over; use visibleInGuest(dir)");
            }
        }
        this.share = workDir.resolve("share");
        this.kernel = Kernel.find();
        this.memoryMiB = b.memoryMiB;
        this.cpus = b.cpus;
        this.swapMiB = b.swapMiB;
        this.diskMiB = b.diskMiB;
        this.timeout = b.timeout;
        deleteTree(workDir);
        Files.createDirectories(share);
    }

    public Kernel kernel() {
        return kernel;
    }

    /** The directory shared read-write with the guest, at this same path inside it. */
    public Path share() {
        return share;
    }

    /**
     * Boots the guest, runs {@code script} there and waits for the guest to power off.
     *
     * @throws IllegalStateException when the guest did not run the script to its end (boot failure, timeout),
     *                               with the end of the console log
     */
    public Run run(String script) throws IOException, InterruptedException {
        Files.writeString(share.resolve("run.sh"), script);
        Files.deleteIfExists(share.resolve("exit-code"));
        Path initramfs = buildInitramfs();
        Path console = workDir.resolve("console.log");
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64",
                "-accel", "tcg", "-cpu", "max", "-m", Integer.toString(memoryMiB), "-smp", Integer.toString(cpus),
                "-display", "none", "-monitor", "none", "-serial", "file:" + console, "-no-reboot", "-nic", "none",
                "-kernel", kernel.image().toString(), "-initrd", initramfs.toString(),
                "-append", "console=ttyS0 panic=-1 quiet loglevel=4 cgroup_no_v1=all "
                        + "systemd.unified_cgroup_hierarchy=1",
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs", "local,path=" + share + ",mount_tag=share,security_model=none,multidevs=remap"));
        if (diskMiB > 0) {
            Path disk = workDir.resolve("disk.img");
            try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength((long) diskMiB << 20);
            }
            cmd.addAll(List.of("-drive", "file=" + disk + ",format=raw,if=virtio,cache=unsafe"));
        }
        long start = System.nanoTime();
        qemu = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(workDir.resolve("qemu.log").toFile()).start();
        boolean ended = qemu.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
        Duration wall = Duration.ofNanos(System.nanoTime() - start);
        if (!ended) {
            close();
        }
        Run run = new Run(-1, share, console, wall);
        Path exit = share.resolve("exit-code");
        if (!Files.isRegularFile(exit)) {
            throw new IllegalStateException("the v2 guest did not finish run.sh " + (ended
                    ? "(qemu exited " + qemu.exitValue() + ")" : "within " + timeout) + " after "
                    + wall.toSeconds() + " s; console " + console + ":\n" + tail(run.consoleText(), 40)
                    + "\nqemu: " + Run.read(workDir.resolve("qemu.log")) + "\nrun.log:\n" + tail(run.log(), 40));
        }
        return new Run(Integer.parseInt(Files.readString(exit).trim()), share, console, wall);
    }

    /** The initramfs: static busybox, the modules, and /init (uncompressed newc cpio, which the kernel takes). */
    private Path buildInitramfs() throws IOException, InterruptedException {
        Path root = workDir.resolve("initramfs");
        deleteTree(root);
        for (String d : List.of("bin", "lib/modules", "proc", "sys", "dev", "newroot")) {
            Files.createDirectories(root.resolve(d));
        }
        Path busybox = Path.of("/bin/busybox");
        if (!isStatic(busybox)) {
            throw new IllegalStateException(busybox + " missing or not static: install busybox-static");
        }
        Files.copy(busybox, root.resolve("bin/busybox"));
        List<String> names = new ArrayList<>();
        for (Path module : kernel.moduleFiles(MODULES)) {
            String name = module.getFileName().toString();
            if (name.endsWith(".xz")) {
                name = name.substring(0, name.length() - 3);
                exec(root, "sh", "-c", "xz -dc '" + module + "' > lib/modules/" + name);
            } else {
                Files.copy(module, root.resolve("lib/modules").resolve(name));
            }
            names.add(name);
        }
        String init;
        try (InputStream in = CgroupV2Host.class.getResourceAsStream("cgroup-v2-host-init.sh")) {
            init = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        init = init.replace("@MODULES@", String.join(" ", names))
                .replace("@SHARE@", share.toString())
                .replace("@SWAP_MIB@", Integer.toString(swapMiB))
                .replace("@TIMEOUT_S@", Long.toString(timeout.toSeconds() + 30));
        Path initFile = Files.writeString(root.resolve("init"), init);
        Files.setPosixFilePermissions(initFile, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path cpio = workDir.resolve("initramfs.cpio");
        exec(root, "sh", "-c", "find . | cpio -o -H newc -R 0:0 --quiet > '" + cpio + "'");
        return cpio;
    }

    private static boolean isStatic(Path binary) throws IOException, InterruptedException {
        if (!Files.isRegularFile(binary)) return false;
        Process p = new ProcessBuilder("ldd", binary.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.contains("not a dynamic executable") || out.contains("statically linked");
    }

    private static void exec(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.asList(all).subList(Math.max(0, all.length - lines), all.length));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Kills qemu if it still runs (the guest's own watchdog would end it a little later anyway). */
    @Override
    public void close() throws InterruptedException {
        if (qemu != null && qemu.isAlive()) {
            qemu.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
