package io.cmon.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cmon.proxy.auth.AccountStore;
import io.cmon.testing.FuzzInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.cmon.testing.FuzzInput.onlyThrows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Config loading on arbitrary bytes: agent.yaml, proxy.yaml and accounts.yaml either load or fail with a
 * {@link ConfigException} whose message starts with the file name (the operator's error names file, key and
 * problem); never another exception. The first byte picks the file kind; seeds are examples/ and variations.
 */
class ConfigFilesFuzzTest {

    private static Path dir;

    @BeforeAll
    static void dir() throws IOException {
        dir = Files.createTempDirectory("cmon-fuzz-config");
    }

    @AfterAll
    static void remove() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @FuzzTest(maxDuration = "60s")
    void configFiles(byte[] data) throws IOException {
        FuzzInput in = FuzzInput.of(data, 3, 1);
        String text = in.part(0);
        Throwable refused = switch (in.selector()) {
            case 0 -> onlyThrows(() -> ConfigLoader.parse("agent.yaml", text, AgentConfig.class),
                    ConfigException.class);
            case 1 -> onlyThrows(() -> ConfigLoader.parse("proxy.yaml", text, ProxyConfig.class),
                    ConfigException.class);
            default -> {
                Path file = dir.resolve("accounts.yaml");
                Files.writeString(file, text);
                yield onlyThrows(() -> AccountStore.load(file), ConfigException.class);
            }
        };
        if (refused != null) {
            assertThat(refused.getMessage()).startsWith(in.selector() == 2 ? dir.resolve("accounts.yaml").toString()
                    : in.selector() == 0 ? "agent.yaml" : "proxy.yaml");
            assertThat(((ConfigException) refused).problem()).isNotBlank();
        }
    }
}
