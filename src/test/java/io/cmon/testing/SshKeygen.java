package io.cmon.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Real SSH keys for tests: runs {@code ssh-keygen} (openssh-client) in a temp dir. */
public final class SshKeygen {

    private SshKeygen() {}

    /** A new key {@code dir/name} (+ {@code .pub}) of {@code type} (ed25519, ecdsa, rsa), without passphrase. */
    public static Path generate(Path dir, String type, String name) throws Exception {
        return generate(dir, type, name, "");
    }

    public static Path generate(Path dir, String type, String name, String passphrase) throws Exception {
        Path key = dir.resolve(name);
        run("ssh-keygen", "-q", "-t", type, "-N", passphrase, "-C", name + "@test", "-f", key.toString());
        return key;
    }

    /** The public key line ({@code TYPE BASE64 COMMENT}) of a generated key. */
    public static String publicLine(Path key) throws Exception {
        return Files.readString(Path.of(key + ".pub")).strip();
    }

    /** What {@code ssh-keygen -l} prints as the fingerprint ({@code SHA256:…}). */
    public static String fingerprint(Path key) throws Exception {
        return run("ssh-keygen", "-l", "-f", key + ".pub").split(" ")[1];
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + ": timed out");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new IllegalStateException(String.join(" ", command) + ": " + out);
        return out;
    }
}
