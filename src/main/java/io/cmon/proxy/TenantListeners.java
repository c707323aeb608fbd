package io.cmon.proxy;

import io.cmon.config.ConfigException;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.net.ConnectionGuard;
import io.cmon.proxy.auth.ProxyTls;
import io.prometheus.metrics.core.metrics.Counter;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The HTTPS tenant listener (DESIGN §3): one server per event loop on the same port, each with its own forwarding
 * client and access log, so TLS handshakes and forwarding use every core and a forwarded body never changes thread.
 *
 * <pre>{@code
 * TenantListeners tenants = new TenantListeners(vertx, config, tls, guard, handshakeFailures, clientOptions, handlers);
 * tenants.start().onSuccess(v -> tenants.port()); tenants.servers(); tenants.close();
 * }</pre>
 */
final class TenantListeners {

    /** What each listener's handler is made of: its loop's forwarding client and access log. */
    interface Handlers {
        /** @param claim told the connection each forwarded request was given ({@link ConnectionLedger#claim}) */
        ProxyHandler create(Vertx vertx, HttpClient forwardClient, Consumer<HttpConnection> claim,
                            AccessLog accessLog);
    }

    private final Vertx vertx;
    private final ProxyConfig config;
    private final ProxyTls tls;
    private final ConnectionGuard guard;
    private final Counter handshakeFailures;
    private final Supplier<HttpClientOptions> clientOptions;
    private final Handlers handlers;
    /** The forwarding clients' connections; closes those Vert.x's pools lost. */
    private final ConnectionLedger ledger = new ConnectionLedger("forward", ConnectionLedger.GRACE,
            System::currentTimeMillis);
    private final AtomicBoolean sweeping = new AtomicBoolean();
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    /** The listeners' event loops (tests show the admin listener never waits for them). */
    private final List<io.vertx.core.Context> contexts = new CopyOnWriteArrayList<>();
    /** One forwarding client per listener, created on its event loop (see {@link #deploy}). */
    private final List<HttpClient> forwardClients = new CopyOnWriteArrayList<>();
    /** The listeners' verticles: undeployed on close, which flushes their access logs. */
    private volatile String deployment;
    private volatile int port;

    TenantListeners(Vertx vertx, ProxyConfig config, ProxyTls tls, ConnectionGuard guard, Counter handshakeFailures,
                    Supplier<HttpClientOptions> clientOptions, Handlers handlers) {
        this.vertx = vertx;
        this.config = config;
        this.tls = tls;
        this.guard = guard;
        this.handshakeFailures = handshakeFailures;
        this.clientOptions = clientOptions;
        this.handlers = handlers;
    }

    List<io.vertx.core.Context> contexts() {
        return List.copyOf(contexts);
    }

    /** The forwarding clients' connections. */
    ConnectionLedger ledger() {
        return ledger;
    }

    /** One HTTPS server per event loop on the same port: TLS handshakes and forwarding use every core. */
    Future<Void> start() {
        HostPort listen = config.listenAddress();
        int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
        return bind(listen, instances, 3)
                .recover(e -> Future.failedFuture(ConfigException.cannotListen("listen", listen, e)));
    }

    /**
     * Vert.x shares a port between servers listening on the same host:port, but not port 0: for port 0 pick a free
     * port first, and try again with another if someone took it in between.
     */
    private Future<Void> bind(HostPort listen, int instances, int attempts) {
        int wanted = listen.port();
        if (wanted == 0) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName(listen.host()))) {
                wanted = probe.getLocalPort();
            } catch (IOException e) {
                return Future.failedFuture(e);
            }
        }
        int chosen = wanted;
        return deploy(listen.host(), chosen, instances)
                .onSuccess(v -> port = chosen)
                .recover(e -> listen.port() == 0 && attempts > 1
                        ? bind(listen, instances, attempts - 1)
                        : Future.failedFuture(e));
    }

    /**
     * Each listener gets its own forwarding client, created here on the listener's event loop: its pooled
     * connections to agents then live on the loop that serves the scrapes, and a forwarded body never hops between
     * threads (one shared client mixes connections of every loop).
     */
    private Future<Void> deploy(String host, int port, int count) {
        return vertx.deployVerticle(() -> new AbstractVerticle() {
            final AccessLog accessLog = AccessLog.toLogger();

            @Override
            public void start(Promise<Void> started) {
                contexts.add(context);
                if (accessLog.enabled()) vertx.setPeriodic(AccessLog.FLUSH_INTERVAL_MS, id -> accessLog.flush());
                // one sweep for every listener's client, on the first listener's loop (cancelled on undeploy)
                if (sweeping.compareAndSet(false, true)) {
                    vertx.setPeriodic(ConnectionLedger.SWEEP_PERIOD.toMillis(), id -> ledger.sweep());
                }
                HttpClient forwardClient = ledger.attach(vertx.createHttpClient(clientOptions.get()
                                .setKeepAlive(true).setKeepAliveTimeout(60).setTcpNoDelay(true),
                        new PoolOptions().setHttp1MaxSize(64)));
                forwardClients.add(forwardClient);
                ProxyHandler handler = handlers.create(vertx, forwardClient, ledger::claim, accessLog);
                HttpServerOptions options = tls.configure(limited(new HttpServerOptions()
                        .setHost(host).setPort(port)
                        .setTcpNoDelay(true)
                        // forwarded bodies keep the agent's encoding: never compress twice
                        .setCompressionSupported(false), config.limits()));
                HttpServer server = vertx.createHttpServer(options);
                guard.attach(server);
                server.exceptionHandler(e -> handshakeFailures.inc()); // errors before HTTP: TLS handshakes
                server.requestHandler(guard.wrap(handler))
                        .listen()
                        .onSuccess(servers::add)
                        .<Void>mapEmpty()
                        .onComplete(started);
            }

            @Override
            public void stop() {
                accessLog.flush(); // runs on this listener's loop: the lines of its last requests are not lost
            }
        }, new DeploymentOptions().setInstances(count)).onSuccess(id -> deployment = id).mapEmpty();
    }

    /** Idle timeout, header and request-line sizes and the TLS handshake deadline of {@code limits}. */
    static HttpServerOptions limited(HttpServerOptions o, ProxyConfig.Limits limits) {
        return o.setIdleTimeout((int) limits.idleTimeoutDuration().toSeconds())
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxInitialLineLength(8192)
                .setSslHandshakeTimeout(limits.headerTimeoutDuration().toMillis())
                .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    }

    /** The port actually bound. */
    int port() {
        return port;
    }

    /** The listening servers (one per event loop): a reloaded certificate is pushed to each. */
    List<HttpServer> servers() {
        return servers;
    }

    /** Stops listening, undeploys the listeners (flushing their access logs), closes their forwarding clients. */
    Future<Void> close() {
        List<Future<Void>> closing = new ArrayList<>();
        for (HttpServer s : servers) closing.add(s.close());
        return Future.join(closing)
                .transform(x -> deployment == null ? Future.<Void>succeededFuture() : vertx.undeploy(deployment))
                .transform(x -> {
                    List<Future<Void>> clients = new ArrayList<>();
                    forwardClients.forEach(c -> clients.add(c.close()));
                    return Future.join(clients);
                })
                .mapEmpty();
    }
}
