package io.cmon.agent.runtime;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import static io.cmon.testing.FuzzInput.onlyThrows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The declared instances file on arbitrary bytes: unreadable as a whole ({@link DeclaredFile.Unreadable}), or
 * entries that each meet the contract (canonical uuid, unique, a positive pid or an absolute cgroup path without
 * {@code ..}) with a warning for everything skipped. Never another exception: a bad file must not stop the agent.
 */
class DeclaredFileFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void instancesFile(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        DeclaredFile.Parsed[] parsed = new DeclaredFile.Parsed[1];
        Throwable refused = onlyThrows(() -> parsed[0] = DeclaredFile.parse(text, "instances.yaml", "alice"),
                DeclaredFile.Unreadable.class);
        if (refused != null) {
            assertThat(refused.getMessage()).startsWith("instances.yaml: ");
            return;
        }
        Set<String> uuids = new HashSet<>();
        for (DeclaredFile.Entry e : parsed[0].entries()) {
            assertThat(e.uuid()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
            assertThat(uuids.add(e.uuid())).as("uuid %s declared once", e.uuid()).isTrue();
            assertThat(e.pid() > 0 || e.cgroup() != null).isTrue();
            if (e.cgroup() != null) {
                assertThat(e.cgroup()).startsWith("/").doesNotContain("/../").doesNotEndWith("/..")
                        .doesNotContain("\0");
            }
            assertThat(e.owner()).isNotBlank();
            assertThat(e.groups()).allSatisfy(g -> assertThat(g).isNotBlank());
        }
        assertThat(parsed[0].warnings()).allSatisfy(w -> assertThat(w).startsWith("instances.yaml"));
    }
}
