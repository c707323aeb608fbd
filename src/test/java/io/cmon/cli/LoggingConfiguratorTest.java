package io.cmon.cli;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.ContextInitializer;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.status.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LoggingConfiguratorTest {

    private final LoggerContext context = new LoggerContext();

    @AfterEach
    void stop() {
        context.stop();
    }

    private ExecutionStatus configure(Map<String, String> properties, Map<String, String> environment) {
        LoggingConfigurator configurator = new LoggingConfigurator(properties::get, environment::get);
        configurator.setContext(context);
        return configurator.configure(context);
    }

    @Test
    void buildsTheStderrLogAndTheAsyncAccessLogAtTheirDefaultLevels() {
        assertThat(configure(Map.of(), Map.of())).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.INFO);
        ConsoleAppender<ILoggingEvent> stderr = (ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR");
        assertThat(stderr.isStarted()).isTrue();
        assertThat(stderr.getTarget()).isEqualTo("System.err");

        Logger access = context.getLogger("access");
        assertThat(access.getLevel()).isEqualTo(Level.INFO);
        assertThat(access.isAdditive()).isFalse();
        AsyncAppender async = (AsyncAppender) access.getAppender("ACCESS");
        assertThat(async.isStarted()).isTrue();
        assertThat(async.getQueueSize()).isEqualTo(256);
        assertThat(async.getDiscardingThreshold()).isZero();
        assertThat(async.isNeverBlock()).isTrue();
        ConsoleAppender<ILoggingEvent> lines = (ConsoleAppender<ILoggingEvent>) async.getAppender("ACCESS_LINES");
        assertThat(lines.isStarted()).isTrue();
        assertThat(lines.getTarget()).isEqualTo("System.err");

        assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.vertx").getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.vertx.core.impl").getEffectiveLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("io.cmon.agent").getEffectiveLevel()).isEqualTo(Level.INFO);
        assertThat(context.getStatusManager().getCopyOfStatusList()).noneMatch(s -> s.getLevel() >= Status.WARN);
    }

    @Test
    void formatsLinesAsTimeLevelLoggerMessage_andAccessLinesAsTheyAre() {
        configure(Map.of(), Map.of());
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        Logger access = context.getLogger("access");
        ConsoleAppender<ILoggingEvent> stderr = (ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR");
        ConsoleAppender<ILoggingEvent> lines =
                (ConsoleAppender<ILoggingEvent>) ((AsyncAppender) access.getAppender("ACCESS")).getAppender("ACCESS_LINES");

        LoggingEvent warning = new LoggingEvent("x", context.getLogger("io.cmon.agent.AgentHttpServer"), Level.WARN,
                "listening on {}", null, new Object[] {"127.0.0.1:9164"});
        String line = new String(stderr.getEncoder().encode(warning), StandardCharsets.UTF_8);
        assertThat(line).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  AgentHttpServer - listening on 127\\.0\\.0\\.1:9164"
                + System.lineSeparator());

        String batch = "12:57:01.123 INFO  access - a\n12:57:01.124 INFO  access - b\n";
        LoggingEvent accessEvent = new LoggingEvent("x", access, Level.INFO, batch, null, null);
        assertThat(new String(lines.getEncoder().encode(accessEvent), StandardCharsets.UTF_8)).isEqualTo(batch);
    }

    @Test
    void takesTheLevelsFromTheEnvironment_andASystemPropertyBeforeIt() {
        configure(Map.of("CMON_LOG_LEVEL", "warn"), Map.of("CMON_LOG_LEVEL", "DEBUG", "CMON_ACCESS_LOG", "OFF"));

        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("access").getLevel()).isEqualTo(Level.OFF);
        assertThat(context.getLogger("access").isInfoEnabled()).isFalse();

        LoggerContext other = new LoggerContext();
        try {
            LoggingConfigurator configurator =
                    new LoggingConfigurator(k -> null, Map.of("CMON_LOG_LEVEL", "DEBUG")::get);
            configurator.setContext(other);
            configurator.configure(other);
            assertThat(other.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.DEBUG);
            assertThat(other.getLogger("access").getLevel()).isEqualTo(Level.INFO);
        } finally {
            other.stop();
        }
    }

    @Test
    void anUnknownLevelIsWarnedAboutAndLogsAtInfo() {
        configure(Map.of(), Map.of("CMON_LOG_LEVEL", "LOUD"));

        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.INFO);
        assertThat(context.getStatusManager().getCopyOfStatusList())
                .filteredOn(s -> s.getLevel() == Status.WARN).singleElement()
                .extracting(Status::getMessage).asString()
                .contains("CMON_LOG_LEVEL='LOUD'", "not a log level", "using INFO");
    }

    @Test
    void stepsAsideWhenLogbackConfigurationFileIsSet() {
        ExecutionStatus status = configure(Map.of("logback.configurationFile", "/etc/cmon/logback.xml"), Map.of());

        assertThat(status).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders()).isExhausted();
        assertThat(context.getLogger("access").iteratorForAppenders()).isExhausted();
    }

    @Test
    void logbackFindsItAsAServiceAndUsesIt() throws Exception {
        new ContextInitializer(context).autoConfig();

        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR")).isInstanceOf(ConsoleAppender.class);
        assertThat(context.getLogger("access").getAppender("ACCESS")).isInstanceOf(AsyncAppender.class);
    }

    /** The operator's file, read by Logback's own XML configuration after cmon's configurator stepped aside. */
    @Test
    void logbackReadsTheOperatorsFileWhenLogbackConfigurationFileIsSet(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("logback.xml");
        Files.writeString(file, """
                <configuration>
                  <appender name="MINE" class="ch.qos.logback.core.read.ListAppender"/>
                  <root level="DEBUG"><appender-ref ref="MINE"/></root>
                </configuration>
                """);
        String before = System.getProperty("logback.configurationFile");
        System.setProperty("logback.configurationFile", file.toString());
        try {
            new ContextInitializer(context).autoConfig();
        } finally {
            if (before == null) System.clearProperty("logback.configurationFile");
            else System.setProperty("logback.configurationFile", before);
        }

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertThat(root.getLevel()).isEqualTo(Level.DEBUG);
        Appender<ILoggingEvent> mine = root.getAppender("MINE");
        assertThat(mine).isInstanceOf(ListAppender.class);
        assertThat(root.getAppender("STDERR")).isNull();
        assertThat(context.getLogger("access").iteratorForAppenders()).isExhausted();
        context.getLogger("io.cmon.test").debug("hello");
        assertThat(((ListAppender<ILoggingEvent>) mine).list).extracting(ILoggingEvent::getMessage).containsExactly("hello");
    }
}
