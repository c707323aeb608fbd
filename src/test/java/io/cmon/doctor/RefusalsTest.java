package io.cmon.doctor;

import io.cmon.proxy.auth.AuthResult;
import io.cmon.proxy.route.Failure;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class RefusalsTest {

    @Test
    void readsTheReasonOfEveryProxy401Body() {
        for (AuthResult.Reason r : AuthResult.Reason.values()) {
            // the body exactly as ProxyHandler writes it
            String body = Failure.UNAUTHENTICATED.body(r.label());
            assertThat(Refusals.reasonOf(body)).as(body).isEqualTo(r);
            assertThat(Refusals.explain(r)).isNotBlank();
        }
        assertThat(Refusals.reasonOf("not found\n")).isNull();
    }

    @Test
    void tenantGuideExplainsEveryRefusalReason() throws Exception {
        String guide = Files.readString(Path.of("docs", "tenant-guide.md"));
        for (AuthResult.Reason r : AuthResult.Reason.values()) {
            if (r == AuthResult.Reason.THROTTLED) {
                assertThat(guide).contains("**429**");
            } else {
                assertThat(guide).as("a row for " + r.label()).contains("| `" + r.label() + "` |");
            }
        }
    }
}
