package io.cmon.cli;

import ch.qos.logback.classic.LoggerContext;
import io.cmon.config.ConfigException;
import io.cmon.config.ConfigLoader;
import io.cmon.config.ProxyConfig;
import io.cmon.pki.PkiException;
import io.cmon.proxy.Proxy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@code cmon proxy --config proxy.yaml}: runs until SIGTERM/SIGINT; SIGHUP reloads accounts and certificates. */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run a proxy: tenants authenticate by client certificate, discover their instances and scrape "
                + "them through it.")
final class ProxyCommand implements Runnable {

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "proxy.yaml")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "tenant HTTPS listener (overrides listen)")
    String listen;

    @Option(names = "--admin-listen", paramLabel = "HOST:PORT",
            description = "admin HTTP listener (overrides adminListen)")
    String adminListen;

    @Override
    public void run() {
        ProxyConfig loaded = ConfigLoader.load(config, ProxyConfig.class);
        ProxyConfig cfg = loaded.withListen(listen, adminListen);
        if (listen != null || adminListen != null) {
            try {
                cfg.validate();
            } catch (ConfigException e) {
                throw new ErrorHandler.UserError("--listen/--admin-listen: " + e.problem());
            }
        }
        Proxy proxy;
        try {
            proxy = Proxy.start(cfg).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ConfigException ce) throw "<config>".equals(ce.file()) ? ce.inFile(config.toString()) : ce;
            if (c instanceof PkiException || c instanceof IllegalStateException) {
                throw new ErrorHandler.UserError(c.getMessage(), c);
            }
            throw new ErrorHandler.UserError("proxy failed to start: " + c, c);
        } catch (TimeoutException e) {
            throw new ErrorHandler.UserError("proxy did not start within 60 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runnable shutdown = () -> {
            try {
                proxy.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // exiting anyway
            }
            // drains the async appenders: the access lines the proxy handed over while closing get written
            if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logging) logging.stop();
            stopped.countDown();
        };
        Thread hook = new Thread(shutdown, "cmon-proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            Signal.handle(new Signal("HUP"), s -> proxy.reload());
        } catch (IllegalArgumentException e) {
            // no SIGHUP on this platform: /-/reload and the file watcher still work
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
