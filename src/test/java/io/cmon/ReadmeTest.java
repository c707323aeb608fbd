package io.cmon;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** README's test command tells a reader everything .ci/run installs and prepares for it. */
class ReadmeTest {

    @Test
    void readmeListsEveryPackageCiInstallsAndTheLocalImage() throws IOException {
        String ci = Files.readString(Path.of(".ci/run"));
        String readme = Files.readString(Path.of("README.md"));
        Set<String> packages = new LinkedHashSet<>();
        Matcher m = Pattern.compile("need\\+=\\(([a-z0-9.+-]+)\\)").matcher(ci);
        while (m.find()) packages.add(m.group(1));
        assertThat(packages).as(".ci/run's install list").contains("maven", "docker.io", "dnsmasq-base", "systemd");
        for (String p : packages) assertThat(readme).as("README names package " + p).contains("`" + p + "`");
        assertThat(ci).contains("cmon-busybox:latest");
        assertThat(readme).contains("cmon-busybox:latest", "Maven Central", "qemu");
    }
}
