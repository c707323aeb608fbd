package io.cmon.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Layout;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.ZoneId;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The fixed layouts write, byte for byte, what Logback's {@code PatternLayout} writes with the patterns they stand for. */
class LineLayoutTest {

    private final LoggerContext context = new LoggerContext();

    @Test
    void prefixedLinesAreWhatThePatternWrote() {
        ZoneId zone = ZoneId.of("Asia/Kolkata"); // not UTC, with a half-hour offset: the zone is applied
        Layout<ILoggingEvent> ours = started(LineLayout.prefixed(zone));
        // PatternLayout's %d takes the JVM's default zone unless told one: the same zone on both sides
        PatternLayout pattern = pattern(LoggingConfigurator.PATTERN.replace("{HH:mm:ss.SSS}", "{HH:mm:ss.SSS, " + zone + "}"));

        for (ILoggingEvent event : events()) {
            assertThat(ours.doLayout(event)).isEqualTo(pattern.doLayout(event));
        }
        assertThat(ours.doLayout(events().get(0))).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  Agent - listening on 9164\\R");
    }

    @Test
    void messageOnlyLinesAreWhatThePatternWrote() {
        Layout<ILoggingEvent> ours = started(LineLayout.messageOnly());
        PatternLayout pattern = pattern("%msg");

        for (ILoggingEvent event : events()) {
            assertThat(ours.doLayout(event)).isEqualTo(pattern.doLayout(event));
        }
    }

    /** An info line, a WARN with an exception that has a cause (common frames, "Caused by"), a logger without dots. */
    private List<ILoggingEvent> events() {
        Logger agent = context.getLogger("io.cmon.agent.Agent");
        Logger plain = context.getLogger("access");
        IOException cause = new IOException("connection refused");
        IllegalStateException failure = new IllegalStateException("cannot list containers", cause);
        failure.addSuppressed(new RuntimeException("closing"));
        LoggingEvent info = new LoggingEvent(Logger.FQCN, agent, Level.INFO, "listening on {}", null,
                new Object[] {9164});
        info.setTimeStamp(1_764_500_000_123L);
        LoggingEvent warn = new LoggingEvent(Logger.FQCN, agent, Level.WARN, "docker: {}", failure,
                new Object[] {"down"});
        warn.setTimeStamp(1_764_500_001_004L);
        LoggingEvent line = new LoggingEvent(Logger.FQCN, plain, Level.ERROR, "GET /v1/x 200 3ms\n", null, null);
        line.setTimeStamp(1_764_500_002_999L);
        return List.of(info, warn, line);
    }

    private PatternLayout pattern(String text) {
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.setPattern(text);
        layout.start();
        return layout;
    }

    private Layout<ILoggingEvent> started(Layout<ILoggingEvent> layout) {
        layout.setContext(context);
        layout.start();
        return layout;
    }
}
