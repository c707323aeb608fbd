package io.cmon.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * cmon's two log line formats as a fixed Logback layout: {@code %d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n}
 * ({@link #prefixed}) and {@code %msg} (the access log's whole lines, {@link #messageOnly}), each followed by the
 * stack trace of an event's throwable as {@code PatternLayout} appends it. The same text as {@code PatternLayout}
 * with those patterns ({@code LineLayoutTest}), without its pattern parser, compiler and converters: ~180 classes
 * that every process loaded at start for two patterns that never change (docs/PERFORMANCE.md, "Idle memory, step
 * 4"). An operator who wants another format gives Logback a file of their own ({@code -Dlogback.configurationFile}).
 */
final class LineLayout extends LayoutBase<ILoggingEvent> {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private final boolean prefixed;
    private final ZoneId zone;

    private LineLayout(boolean prefixed, ZoneId zone) {
        this.prefixed = prefixed;
        this.zone = zone;
    }

    /** {@code %d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n}, the time in {@code zone}. */
    static LineLayout prefixed(ZoneId zone) {
        return new LineLayout(true, zone);
    }

    /** {@code %msg}: the message as is (the access log's lines carry their own line ends). */
    static LineLayout messageOnly() {
        return new LineLayout(false, ZoneId.systemDefault());
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(128);
        if (prefixed) {
            TIME.formatTo(Instant.ofEpochMilli(event.getTimeStamp()).atZone(zone), line);
            line.append(' ');
            String level = event.getLevel().toString();
            line.append(level);
            for (int i = level.length(); i < 5; i++) line.append(' ');
            line.append(' ');
            String logger = event.getLoggerName();
            line.append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(" - ");
        }
        line.append(event.getFormattedMessage());
        if (prefixed) line.append(CoreConstants.LINE_SEPARATOR);
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) line.append(ThrowableProxyUtil.asString(thrown)); // ends with a line separator
        return line.toString();
    }
}
