package io.cmon.cli;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.ClassicConstants;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.time.ZoneId;
import java.util.function.UnaryOperator;

/**
 * cmon's logging, set up in code (Logback's {@link Configurator} service, found through META-INF/services) rather than
 * from a logback.xml: reading XML loads Joran and the JDK's XML parser, ~630 classes and a few MiB of the agent's
 * memory that nothing else uses (docs/PERFORMANCE.md, issue 11). It builds what the logback.xml shipped before did:
 * <ul>
 *   <li>every logger to standard error, {@code HH:mm:ss.SSS LEVEL logger - message}, root level
 *       {@code CMON_LOG_LEVEL} (INFO);</li>
 *   <li>the {@code access} logger (the proxy's access log, whole lines formatted by {@code AccessLog}) to standard
 *       error as is ({@code %msg}), through an asynchronous queue of 256 batches that drops rather than blocks when
 *       standard error cannot keep up; level {@code CMON_ACCESS_LOG} (INFO, {@code OFF} silences it);</li>
 *   <li>{@code io.netty} and {@code io.vertx} at WARN.</li>
 * </ul>
 * Both variables are read as system properties first, then from the environment, as {@code ${NAME:-INFO}} in a
 * Logback file is. An operator's own configuration wins: with {@code -Dlogback.configurationFile} set this
 * configurator steps aside and Logback reads that file. A logback.xml on the class path does not count (a stale one
 * left in a build's output would silently bring the XML parser back).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class LoggingConfigurator extends ContextAwareBase implements Configurator {

    /** What {@link LineLayout#prefixed} writes, as a Logback pattern (an operator's logback.xml can start from it). */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;

    /** The instance Logback's service loader creates: the JVM's system properties and environment. */
    public LoggingConfigurator() {
        this(System::getProperty, System::getenv);
    }

    LoggingConfigurator(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        this.properties = properties;
        this.environment = environment;
    }

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (properties.apply(ClassicConstants.CONFIG_FILE_PROPERTY) != null) {
            addInfo(ClassicConstants.CONFIG_FILE_PROPERTY + " is set: leaving the configuration to it");
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }

        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(level("CMON_LOG_LEVEL"));
        root.addAppender(console(context, "STDERR", LineLayout.prefixed(ZoneId.systemDefault())));

        AsyncAppender access = new AsyncAppender();
        access.setContext(context);
        access.setName("ACCESS");
        access.setQueueSize(256);
        access.setDiscardingThreshold(0); // the queue holds batches of lines, none is less important than another
        access.setNeverBlock(true);       // a full queue drops a batch rather than stalling an event loop
        access.addAppender(console(context, "ACCESS_LINES", LineLayout.messageOnly()));
        access.start();
        Logger accessLogger = context.getLogger("access");
        accessLogger.setLevel(level("CMON_ACCESS_LOG"));
        accessLogger.setAdditive(false);
        accessLogger.addAppender(access);

        context.getLogger("io.netty").setLevel(Level.WARN);
        context.getLogger("io.vertx").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** The level a variable names, INFO when unset; an unknown name is warned about (Logback prints it) and INFO. */
    private Level level(String variable) {
        String value = properties.apply(variable);
        if (value == null) value = environment.apply(variable);
        if (value == null || value.isBlank()) return Level.INFO;
        Level level = Level.toLevel(value.strip(), null);
        if (level == null) {
            addWarn(variable + "='" + value + "' is not a log level (TRACE, DEBUG, INFO, WARN, ERROR, OFF): using INFO");
            return Level.INFO;
        }
        return level;
    }

    /** Lines laid out by {@code layout} (a fixed one: no pattern to parse, docs/PERFORMANCE.md "step 4"). */
    private static ConsoleAppender<ILoggingEvent> console(LoggerContext context, String name,
                                                          Layout<ILoggingEvent> layout) {
        layout.setContext(context);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(layout);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName(name);
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        return appender;
    }
}
