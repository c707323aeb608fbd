package io.cmon.agent.runtime;

import io.cmon.agent.runtime.containerd.containers.Container;
import io.cmon.agent.runtime.containerd.containers.ContainersGrpc;
import io.cmon.agent.runtime.containerd.containers.GetContainerRequest;
import io.cmon.agent.runtime.containerd.containers.ListContainersRequest;
import io.cmon.agent.runtime.containerd.events.ContainerCreate;
import io.cmon.agent.runtime.containerd.events.ContainerDelete;
import io.cmon.agent.runtime.containerd.events.ContainerUpdate;
import io.cmon.agent.runtime.containerd.events.Envelope;
import io.cmon.agent.runtime.containerd.events.EventsGrpc;
import io.cmon.agent.runtime.containerd.events.SubscribeRequest;
import io.cmon.agent.runtime.containerd.events.TaskDelete;
import io.cmon.agent.runtime.containerd.events.TaskExit;
import io.cmon.agent.runtime.containerd.events.TaskPaused;
import io.cmon.agent.runtime.containerd.events.TaskResumed;
import io.cmon.agent.runtime.containerd.events.TaskStart;
import io.cmon.agent.runtime.containerd.namespaces.ListNamespacesRequest;
import io.cmon.agent.runtime.containerd.namespaces.Namespace;
import io.cmon.agent.runtime.containerd.namespaces.NamespacesGrpc;
import io.cmon.agent.runtime.containerd.tasks.GetRequest;
import io.cmon.agent.runtime.containerd.tasks.ListTasksRequest;
import io.cmon.agent.runtime.containerd.tasks.TasksGrpc;
import io.cmon.agent.runtime.containerd.types.Process;
import io.cmon.config.AgentConfig;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Containers of containerd, over its own gRPC API on its unix socket, followed live (DESIGN §2.1).
 *
 * <p>Connect: subscribe to the event stream (every namespace; the ones not followed are dropped here), then list
 * namespaces, containers and tasks. Each container or task event of a followed namespace re-reads that container
 * and its task ({@code Containers.Get}, {@code Tasks.Get}) and upserts it; {@code /containers/delete} forgets it. A
 * full resync every {@link Timing#resync} repairs lost events, a {@code Namespaces.List} every {@link Timing#ping}
 * notices a daemon that hangs without closing the stream. When the stream fails (containerd restarting), it
 * reconnects with backoff and lists again; the last known instances stay until then.
 *
 * <p>Every call has a deadline ({@link Timing#call}). All state lives on one thread of this source's own; calls are
 * blocking there, which keeps events and listings in the order containerd sent them.
 */
public final class ContainerdSource implements InstanceSource {

    private static final Logger LOG = LoggerFactory.getLogger(ContainerdSource.class);
    private static final Metadata.Key<String> NAMESPACE_HEADER =
            Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);
    /** Docker's own containers, when dockerd runs on containerd. */
    public static final String DOCKER_NAMESPACE = "moby";
    static final long BACKOFF_MIN_MS = 250;
    static final long BACKOFF_MAX_MS = 5_000;
    /** The topics after which a container's instance may differ; exec and OOM events do not change it. */
    static final List<String> TOPICS = List.of("/tasks/start", "/tasks/exit", "/tasks/delete", "/tasks/paused",
            "/tasks/resumed", "/containers/create", "/containers/update", "/containers/delete");
    private static final Set<String> TOPIC_SET = Set.copyOf(TOPICS);

    /**
     * @param call   deadline of one API call
     * @param ping   how often a followed daemon is asked for its namespaces (a hung daemon keeps the stream open)
     * @param resync how often everything is listed again (events can be lost)
     */
    record Timing(Duration call, Duration ping, Duration resync) {
        static final Timing DEFAULT = new Timing(Duration.ofSeconds(10), Duration.ofSeconds(15),
                Duration.ofSeconds(60));
    }

    private final String socketPath;
    private final List<String> namespaces; // empty: all
    private final ContainerdMapping mapping;
    private final Timing timing;
    private final EventLoopGroup eventLoop;
    private final ManagedChannel channel;
    private final ScheduledExecutorService loop;

    // state below: only touched on `loop`
    private InstanceSink sink;
    private boolean closed;
    private boolean connected;
    private boolean everConnected;
    private int epoch; // bumps per connection attempt; callbacks of an older stream are ignored
    private long backoffMs = BACKOFF_MIN_MS;
    private Context.CancellableContext stream;
    private final Map<String, Instance> known = new HashMap<>(); // namespace/id → instance
    /** namespace/pod uid → the labels of the pod's sandbox container (for {@code ownerFrom: label:<key>}). */
    private final Map<String, Map<String, String>> pods = new HashMap<>();

    private volatile boolean up;
    private volatile String lastError;
    private volatile long eventsSeen;
    private volatile long resyncs;

    public ContainerdSource(AgentConfig.Containerd config, AgentConfig.Labels labels, String defaultOwner,
                            AgentConfig.Kubernetes kubernetes) {
        this(config, labels, defaultOwner, kubernetes, Timing.DEFAULT);
    }

    ContainerdSource(AgentConfig.Containerd config, AgentConfig.Labels labels, String defaultOwner,
                     AgentConfig.Kubernetes kubernetes, Timing timing) {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("containerd's socket " + config.socket() + " needs gRPC's native epoll"
                    + " transport (Linux x86_64 or aarch64): " + Epoll.unavailabilityCause());
        }
        this.socketPath = config.socket();
        this.namespaces = List.copyOf(config.namespaces());
        this.mapping = new ContainerdMapping(labels, defaultOwner, kubernetes);
        this.timing = timing;
        this.eventLoop = new EpollEventLoopGroup(1, daemonThread("cmon-containerd-io"));
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socketPath))
                .eventLoopGroup(eventLoop)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                .overrideAuthority("localhost") // containerd's Go server ignores it; the socket path is no authority
                .build();
        this.loop = Executors.newSingleThreadScheduledExecutor(daemonThread("cmon-containerd"));
    }

    @Override
    public String name() {
        return ContainerdMapping.SOURCE;
    }

    @Override
    public void start(InstanceSink sink) {
        run(() -> {
            this.sink = sink;
            connect();
        });
        loop.scheduleWithFixedDelay(() -> {
            if (connected) {
                int attempt = epoch;
                try {
                    resync();
                } catch (RuntimeException e) {
                    lost(attempt, e);
                }
            }
        }, timing.resync().toMillis(), timing.resync().toMillis(), TimeUnit.MILLISECONDS);
        loop.scheduleWithFixedDelay(() -> {
            if (connected) {
                int attempt = epoch;
                try {
                    listNamespaces();
                } catch (RuntimeException e) {
                    lost(attempt, e);
                }
            }
        }, timing.ping().toMillis(), timing.ping().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public CompletionStage<Void> refresh() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                try {
                    resync();
                    done.complete(null);
                } catch (RuntimeException e) {
                    lastError = describe(e);
                    done.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new IllegalStateException("containerd source closed"));
        }
        return done;
    }

    @Override
    public void close() {
        run(() -> {
            closed = true;
            up = false;
            if (stream != null) stream.cancel(null);
        });
        loop.shutdown();
        try {
            loop.awaitTermination(timing.call().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loop.shutdownNow();
        channel.shutdownNow();
        eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Override
    public boolean up() {
        return up;
    }

    @Override
    public SourceHealth health() {
        return new SourceHealth(name(), up, lastError, eventsSeen, resyncs);
    }

    // ---- connection lifecycle (on loop)

    private void connect() {
        if (closed) return;
        int attempt = ++epoch;
        channel.resetConnectBackoff(); // our backoff decides, not the channel's (up to 2 min)
        try {
            subscribe(attempt);
            resync();
        } catch (RuntimeException e) {
            lost(attempt, e);
            return;
        }
        if (attempt != epoch) return; // the stream failed meanwhile
        LOG.info("containerd: {} {} ({}, {} containers)", everConnected ? "following again" : "following",
                socketPath, namespaces.isEmpty() ? "all namespaces" : "namespaces " + namespaces, known.size());
        everConnected = true;
        connected = true;
        up = true;
        backoffMs = BACKOFF_MIN_MS;
    }

    private void lost(int attempt, Throwable cause) {
        if (closed || attempt != epoch) return;
        epoch++;
        String why = describe(cause);
        if (connected) {
            LOG.warn("containerd: lost {} ({}); reconnecting", socketPath, why);
        } else if (backoffMs == BACKOFF_MIN_MS) {
            LOG.warn("containerd: cannot reach {} ({}); retrying", socketPath, why);
        } else {
            LOG.debug("containerd: {} still unreachable ({}); next try in {} ms", socketPath, why, backoffMs);
        }
        connected = false;
        up = false;
        lastError = why;
        if (stream != null) {
            stream.cancel(null);
            stream = null;
        }
        long delay = backoffMs;
        backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
        loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Every namespace's events (a namespace created later is followed too when all are); filtered to our topics. */
    private void subscribe(int attempt) {
        SubscribeRequest.Builder request = SubscribeRequest.newBuilder();
        for (String topic : TOPICS) {
            request.addFilters("topic==\"" + topic + "\"");
        }
        Context.CancellableContext ctx = Context.current().withCancellation();
        stream = ctx;
        ctx.run(() -> EventsGrpc.newStub(channel).subscribe(request.build(), new StreamObserver<>() {
            @Override
            public void onNext(Envelope envelope) {
                run(() -> {
                    if (!closed && attempt == epoch) {
                        eventsSeen++; // only on loop
                        onEvent(envelope);
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                run(() -> lost(attempt, t));
            }

            @Override
            public void onCompleted() {
                run(() -> lost(attempt, new IllegalStateException("event stream ended")));
            }
        }));
    }

    // ---- events (on loop)

    private void onEvent(Envelope envelope) {
        String ns = envelope.getNamespace();
        String topic = envelope.getTopic();
        if (!follows(ns) || !TOPIC_SET.contains(topic)) return;
        String id;
        try {
            var event = envelope.getEvent().getValue();
            switch (topic) {
                case "/containers/delete" -> {
                    forget(ns, ContainerDelete.parseFrom(event).getId());
                    return;
                }
                case "/containers/create" -> id = ContainerCreate.parseFrom(event).getId();
                case "/containers/update" -> id = ContainerUpdate.parseFrom(event).getId();
                case "/tasks/start" -> id = TaskStart.parseFrom(event).getContainerId();
                case "/tasks/exit" -> {
                    TaskExit exit = TaskExit.parseFrom(event);
                    if (!exit.getId().isEmpty() && !exit.getId().equals(exit.getContainerId())) return; // an exec
                    id = exit.getContainerId();
                }
                case "/tasks/delete" -> {
                    TaskDelete delete = TaskDelete.parseFrom(event);
                    if (!delete.getId().isEmpty() && !delete.getId().equals(delete.getContainerId())) return;
                    id = delete.getContainerId();
                }
                case "/tasks/paused" -> id = TaskPaused.parseFrom(event).getContainerId();
                default -> id = TaskResumed.parseFrom(event).getContainerId();
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            LOG.warn("containerd: unreadable {} event skipped: {}", topic, e.getMessage());
            return;
        }
        if (id.isEmpty()) return;
        try {
            reread(ns, id);
        } catch (StatusRuntimeException e) {
            lastError = describe(e);
            LOG.debug("containerd: reading {}/{} after {} failed: {}", ns, id, topic, lastError);
        }
    }

    /** Reads one container and its task again, and reports it (or forgets it when it is gone or a sandbox). */
    private void reread(String ns, String id) {
        Container container;
        try {
            container = withNamespace(ContainersGrpc.newBlockingStub(channel), ns)
                    .get(GetContainerRequest.newBuilder().setId(id).build()).getContainer();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                forget(ns, id);
                return;
            }
            throw e;
        }
        ContainerdMapping.Task task;
        try {
            Process p = withNamespace(TasksGrpc.newBlockingStub(channel), ns)
                    .get(GetRequest.newBuilder().setContainerId(id).build()).getProcess();
            task = new ContainerdMapping.Task(p.getPid(), ContainerdMapping.state(p.getStatus().name()));
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) throw e;
            task = null; // no task: created and not started, or its task deleted
        }
        rememberPod(ns, container);
        Instance instance = mapping.toInstance(ns, id, container.getLabelsMap(), container.getImage(), task,
                uid -> pods.get(ContainerdMapping.key(ns, uid)));
        if (instance == null) {
            forget(ns, id);
            return;
        }
        String key = ContainerdMapping.key(ns, id);
        if (!instance.equals(known.put(key, instance))) {
            sink.upsert(key, instance);
        }
    }

    private void forget(String ns, String id) {
        String key = ContainerdMapping.key(ns, id);
        if (known.remove(key) != null) {
            sink.remove(ContainerdMapping.SOURCE, key);
        }
    }

    private void rememberPod(String ns, Container container) {
        Map<String, String> labels = container.getLabelsMap();
        String uid = labels.get(ContainerdMapping.POD_UID);
        if (uid != null && ContainerdMapping.isSandbox(labels)) {
            pods.put(ContainerdMapping.key(ns, uid), Map.copyOf(labels));
        }
    }

    // ---- full list (on loop)

    /** Lists every followed namespace's containers and tasks, then replaces this source's instances in the sink. */
    private void resync() {
        resyncs++; // only on loop
        List<String> followed = namespaces.isEmpty() ? listNamespaces() : namespaces;
        Map<String, Instance> fresh = new HashMap<>();
        Map<String, Map<String, String>> freshPods = new HashMap<>();
        for (String ns : followed) {
            List<Container> containers = withNamespace(ContainersGrpc.newBlockingStub(channel), ns)
                    .list(ListContainersRequest.getDefaultInstance()).getContainersList();
            Map<String, ContainerdMapping.Task> tasks = new HashMap<>();
            for (Process p : withNamespace(TasksGrpc.newBlockingStub(channel), ns)
                    .list(ListTasksRequest.getDefaultInstance()).getTasksList()) {
                // containerd 1.6 leaves container_id empty here: the task's id is its container's
                tasks.put(p.getContainerId().isEmpty() ? p.getId() : p.getContainerId(),
                        new ContainerdMapping.Task(p.getPid(), ContainerdMapping.state(p.getStatus().name())));
            }
            for (Container c : containers) {
                String uid = c.getLabelsMap().get(ContainerdMapping.POD_UID);
                if (uid != null && ContainerdMapping.isSandbox(c.getLabelsMap())) {
                    freshPods.put(ContainerdMapping.key(ns, uid), Map.copyOf(c.getLabelsMap()));
                }
            }
            for (Container c : containers) {
                Instance instance = mapping.toInstance(ns, c.getId(), c.getLabelsMap(), c.getImage(),
                        tasks.get(c.getId()), uid -> freshPods.get(ContainerdMapping.key(ns, uid)));
                if (instance != null) {
                    fresh.put(ContainerdMapping.key(ns, c.getId()), instance);
                }
            }
        }
        pods.clear();
        pods.putAll(freshPods);
        known.clear();
        known.putAll(fresh);
        sink.replaceAll(ContainerdMapping.SOURCE, Map.copyOf(fresh));
    }

    private List<String> listNamespaces() {
        return NamespacesGrpc.newBlockingStub(channel)
                .withDeadlineAfter(timing.call().toMillis(), TimeUnit.MILLISECONDS)
                .list(ListNamespacesRequest.getDefaultInstance())
                .getNamespacesList().stream().map(Namespace::getName).toList();
    }

    private boolean follows(String ns) {
        return namespaces.isEmpty() || namespaces.contains(ns);
    }

    /** A stub that calls within namespace {@code ns} (containerd reads it from this header), with the deadline. */
    private <S extends AbstractStub<S>> S withNamespace(S stub, String ns) {
        Metadata headers = new Metadata();
        headers.put(NAMESPACE_HEADER, ns);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(timing.call().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Runs on loop; dropped once the source is closed. */
    private void run(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: nothing to do
        }
    }

    private static String describe(Throwable e) {
        if (e instanceof StatusRuntimeException s) {
            Status st = s.getStatus();
            return "containerd " + st.getCode() + (st.getDescription() == null ? "" : ": " + st.getDescription())
                    + (st.getCause() == null ? "" : " (" + st.getCause().getMessage() + ")");
        }
        return e.toString();
    }

    private static java.util.concurrent.ThreadFactory daemonThread(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
