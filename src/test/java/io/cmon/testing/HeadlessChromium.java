package io.cmon.testing;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debian's {@code chromium} in headless mode, one process per call with a fresh profile, so a page is looked at
 * the way an operator's browser renders it (CSS applied, HTML parsed), not just as text.
 *
 * <pre>
 * HeadlessChromium chromium = HeadlessChromium.find();
 * chromium.screenshot(URI.create("http://127.0.0.1:9166/"), png, 1280, 900);
 * String dom = chromium.dumpDom(URI.create("http://127.0.0.1:9166/"));
 * </pre>
 */
public final class HeadlessChromium {

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private final Path binary;

    private HeadlessChromium(Path binary) {
        this.binary = binary;
    }

    /** {@code /usr/bin/chromium}; fails naming the package when it is not installed. */
    public static HeadlessChromium find() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) return new HeadlessChromium(p);
        }
        throw new IllegalStateException("chromium not found: apt-get install chromium (see .ci/run)");
    }

    /** Renders the page at {@code width}×{@code height} and writes a PNG screenshot of the viewport. */
    public void screenshot(URI page, Path png, int width, int height) throws IOException, InterruptedException {
        Files.deleteIfExists(png);
        run(List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
                "--hide-scrollbars", page.toString()));
        if (!Files.exists(png)) throw new IllegalStateException("chromium wrote no screenshot " + png);
    }

    /** The DOM after parsing and rendering, serialised as HTML (what the browser made of the page). */
    public String dumpDom(URI page) throws IOException, InterruptedException {
        return run(List.of("--dump-dom", page.toString()));
    }

    private String run(List<String> args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("cmon-chromium-");
        Path out = Files.createTempFile("cmon-chromium-", ".out");
        Path err = Files.createTempFile("cmon-chromium-", ".err");
        try {
            List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--headless", "--no-sandbox",
                    "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException("chromium did not finish within " + TIMEOUT + ": "
                        + Files.readString(err, StandardCharsets.UTF_8));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("chromium exited " + p.exitValue() + ": "
                        + Files.readString(err, StandardCharsets.UTF_8));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
