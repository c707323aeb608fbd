package io.cmon.quickstart;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ContainerEngineTest {

    @Test
    void tellsAStaticBusyboxFromADynamicallyLinkedProgram() {
        assumeTrue(Files.exists(Path.of("/bin/busybox")), "busybox-static installed");
        assertThat(ContainerEngine.isStatic(Path.of("/bin/busybox"))).isTrue();
        assertThat(ContainerEngine.isStatic(Path.of("/bin/ls"))).isFalse();
        assertThat(ContainerEngine.isStatic(Path.of("/etc/hostname"))).isFalse();
    }
}
