package io.cmon.quickstart;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The local Docker (or Podman, through its Docker-compatible socket) as the quickstart drives it: through the
 * {@code docker} or {@code podman} command line pointed at the socket the agent will read.
 */
final class ContainerEngine {

    static final String IMAGE = "cmon-busybox:latest";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<String> APPLETS = List.of("sh", "sleep", "cat", "yes", "dd", "head", "nc", "true",
            "sed", "awk", "grep", "wc", "ls", "echo");

    private final Path socket;
    private final List<String> cli;

    private ContainerEngine(Path socket, List<String> cli) {
        this.socket = socket;
        this.cli = cli;
    }

    /** The first socket that answers, with a command line that can drive it; empty when there is none. */
    static Optional<ContainerEngine> find(Map<String, String> env) {
        List<Path> candidates = new ArrayList<>();
        String dockerHost = env.get("DOCKER_HOST");
        if (dockerHost != null && dockerHost.startsWith("unix://")) candidates.add(Path.of(dockerHost.substring(7)));
        candidates.add(Path.of("/var/run/docker.sock"));
        candidates.add(Path.of("/run/podman/podman.sock"));
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null) candidates.add(Path.of(xdg, "podman", "podman.sock"));
        for (Path s : candidates) {
            if (!Files.exists(s)) continue;
            for (List<String> cli : List.of(
                    List.of("docker", "-H", "unix://" + s),
                    List.of("podman", "--remote", "--url", "unix://" + s))) {
                List<String> probe = new ArrayList<>(cli);
                probe.addAll(List.of("version", "--format", "{{.Server.Version}}"));
                if (ExternalCommand.run(probe, Duration.ofSeconds(10)).ok()) return Optional.of(new ContainerEngine(s, cli));
            }
        }
        return Optional.empty();
    }

    Path socket() {
        return socket;
    }

    String cliName() {
        return cli.get(0);
    }

    ExternalCommand run(String... args) {
        List<String> c = new ArrayList<>(cli);
        c.addAll(List.of(args));
        return ExternalCommand.run(c, TIMEOUT);
    }

    /** Builds {@value #IMAGE} from the host's static busybox when the engine lacks it (images are not pulled). */
    boolean ensureImage() {
        if (run("image", "inspect", IMAGE).ok()) return false;
        Path busybox = List.of(Path.of("/bin/busybox"), Path.of("/usr/bin/busybox")).stream()
                .filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new QuickstartException("no busybox to build the demo image " + IMAGE
                        + " from: apt-get install -y busybox-static"));
        if (!isStatic(busybox)) {
            throw new QuickstartException(busybox + " is dynamically linked; the demo image needs a static one:"
                    + " apt-get install -y busybox-static");
        }
        Path root = null;
        try {
            root = Files.createTempDirectory("cmon-busybox");
            Path bin = Files.createDirectories(root.resolve("bin"));
            Files.copy(busybox, bin.resolve("busybox"));
            for (String applet : APPLETS) Files.createSymbolicLink(bin.resolve(applet), Path.of("busybox"));
            // tar | <cli> import: the engine makes an image of the tree
            List<String> importCmd = new ArrayList<>(cli);
            importCmd.addAll(List.of("import", "-c", "CMD [\"/bin/sh\"]", "-", IMAGE));
            List<String> sh = new ArrayList<>(List.of("sh", "-c", "tar -C \"$0\" -c . | \"$@\"", root.toString()));
            sh.addAll(importCmd);
            ExternalCommand.run(sh, TIMEOUT).orThrow();
            return true;
        } catch (IOException e) {
            throw new QuickstartException("cannot build " + IMAGE + ": " + e.getMessage(), e);
        } finally {
            if (root != null) deleteTree(root);
        }
    }

    /** An ELF without a PT_INTERP program header needs no dynamic loader. */
    static boolean isStatic(Path elf) {
        try (RandomAccessFile f = new RandomAccessFile(elf.toFile(), "r")) {
            byte[] header = new byte[64];
            f.readFully(header);
            ByteBuffer h = ByteBuffer.wrap(header).order(header[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
            if (header[0] != 0x7f || header[1] != 'E' || header[4] != 2) return false; // ELF64 only
            long phoff = h.getLong(0x20);
            int phentsize = h.getShort(0x36) & 0xffff;
            int phnum = h.getShort(0x38) & 0xffff;
            byte[] ph = new byte[4];
            for (int i = 0; i < phnum; i++) {
                f.seek(phoff + (long) i * phentsize);
                f.readFully(ph);
                int type = ByteBuffer.wrap(ph).order(h.order()).getInt();
                if (type == 3) return false; // PT_INTERP
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is harmless
        }
    }
}
