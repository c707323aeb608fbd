package io.cmon.agent;

import io.cmon.config.AgentConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ServerIdentityTest {

    @TempDir
    Path dir;

    @Test
    void uuidComesFromMachineIdAsEightFourFourFourTwelve() throws IOException {
        Path id = Files.writeString(dir.resolve("machine-id"), "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        Path host = Files.writeString(dir.resolve("hostname"), "cn-7\n");

        ServerIdentity s = ServerIdentity.resolve(new AgentConfig.Server(null, null), id, host);

        assertThat(s).isEqualTo(new ServerIdentity("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4", "cn-7"));
    }

    @Test
    void configWinsOverTheMachine() throws IOException {
        Path id = Files.writeString(dir.resolve("machine-id"), "3d1219c7c4c5404aaa1f6d2a48adfda4\n");

        ServerIdentity s = ServerIdentity.resolve(
                new AgentConfig.Server("AAAAAAAA-0000-0000-0000-000000000001", "named"), id, id);

        assertThat(s).isEqualTo(new ServerIdentity("aaaaaaaa-0000-0000-0000-000000000001", "named"));
    }

    @Test
    void withoutAMachineIdTheUuidIsDerivedFromTheHostnameAndStable() throws IOException {
        Path host = Files.writeString(dir.resolve("hostname"), "cn-7\n");
        Path absent = dir.resolve("absent");

        ServerIdentity a = ServerIdentity.resolve(new AgentConfig.Server(null, null), absent, host);
        ServerIdentity b = ServerIdentity.resolve(new AgentConfig.Server(null, null), absent, host);

        assertThat(a.uuid()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").isEqualTo(b.uuid());
    }

    @Test
    void theKernelsHostnameIsReadWhole() throws IOException {
        // /proc/sys/kernel/hostname is a sysctl: read from offset 1 it answers EOF
        String kernel = new String(new ProcessBuilder("cat", "/proc/sys/kernel/hostname").start().getInputStream()
                .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();

        ServerIdentity id = ServerIdentity.resolve(new AgentConfig.Server(null, null), dir.resolve("none"),
                java.nio.file.Path.of("/proc/sys/kernel/hostname"));

        assertThat(kernel).hasSizeGreaterThan(1);
        assertThat(id.hostname()).isEqualTo(kernel);
    }
}
