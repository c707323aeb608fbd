package io.cmon.cli;

import io.cmon.agent.Agent;
import io.cmon.agent.ServerIdentity;
import io.cmon.config.AgentConfig;
import io.cmon.config.ConfigLoader;
import io.cmon.config.HostPort;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code cmon agent --config agent.yaml [--listen host:port]}: runs an agent until SIGTERM/SIGINT. */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "Run an agent: measures the containers of this host when asked (operator guide, \"Agents\").")
final class AgentCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "agent.yaml")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "overrides 'listen' of the config file")
    String listen;

    @Override
    public Integer call() throws InterruptedException {
        AgentConfig cfg = load();
        ServerIdentity server = ServerIdentity.resolve(cfg.server());
        String version = AgentCommand.class.getPackage().getImplementationVersion();
        Agent agent;
        try {
            agent = Agent.start(cfg, server, version == null ? "dev" : version);
        } catch (IllegalStateException e) {
            // a config key's fault (listen, tls.cert, tls.key): name this file
            if (e.getCause() instanceof io.cmon.config.ConfigException ce) throw ce.inFile(config.toString());
            throw new ErrorHandler.UserError(e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stopped.countDown();
        }, "cmon-shutdown"));
        stopped.await();
        return 0;
    }

    /** The config with flags applied, validated before anything listens. */
    AgentConfig load() {
        AgentConfig cfg = ConfigLoader.load(config, AgentConfig.class);
        if (listen != null) {
            try {
                HostPort.parse(listen);
            } catch (IllegalArgumentException e) {
                throw new ErrorHandler.UserError("--listen: " + e.getMessage());
            }
            cfg = cfg.withListen(listen);
        }
        try {
            cfg.requireSafeExposure();
        } catch (io.cmon.config.ConfigException e) {
            throw e.inFile(config.toString());
        }
        return cfg;
    }
}
