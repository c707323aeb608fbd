package io.cmon.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * agent.yaml (DESIGN §4). Absent sections take the defaults; {@code docker} absent or null disables Docker;
 * {@code podman} is a second Docker-API socket (Podman's), for hosts that run both.
 */
public record AgentConfig(
        String listen,
        Server server,
        Docker docker,
        String instancesFile,
        Labels labels,
        String defaultOwner,
        Tls tls,
        Boolean insecure,
        Plugins plugins,
        Containerd containerd,
        Kubernetes kubernetes,
        Docker podman,
        Gz gz) implements ConfigLoader.Validated {

    public static final String DEFAULT_LISTEN = "0.0.0.0:9164";
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    public record Server(String uuid, String hostname) {}

    /**
     * containerd's API socket and the namespaces to follow; {@code namespaces} absent or empty follows every namespace
     * the daemon has, including ones created later.
     */
    public record Containerd(String socket, List<String> namespaces) {
        public static final String DEFAULT_SOCKET = "/run/containerd/containerd.sock";

        public Containerd {
            socket = socket == null ? DEFAULT_SOCKET : socket;
            namespaces = namespaces == null ? List.of() : java.util.Collections.unmodifiableList(
                    new java.util.ArrayList<>(namespaces)); // may hold a null entry until validate() names it
        }
    }

    /**
     * Containers of Kubernetes pods (CRI labels): {@code ownerFrom} is {@code namespace} (the pod's namespace is the
     * owner) or {@code label:<key>} (the value of that label of the container, else of its pod).
     */
    public record Kubernetes(String ownerFrom) {
        public static final String FROM_NAMESPACE = "namespace";
        public static final String FROM_LABEL = "label:";

        public Kubernetes {
            ownerFrom = ownerFrom == null ? FROM_NAMESPACE : ownerFrom.trim();
        }

        /** The label key of {@code label:<key>}, null for {@code namespace}. */
        public String ownerLabel() {
            return ownerFrom.startsWith(FROM_LABEL) ? ownerFrom.substring(FROM_LABEL.length()).trim() : null;
        }
    }

    public record Docker(String socket) {}

    public record Labels(String owner, String groups, String uuid) {
        public Labels {
            owner = owner == null ? "cmon.owner" : owner;
            groups = groups == null ? "cmon.groups" : groups;
            uuid = uuid == null ? "cmon.uuid" : uuid;
        }
    }

    /**
     * HTTPS that accepts only proxy certificates ({@code cmon cert issue --proxy}) signed by {@code clientCa}; when
     * {@code allowedClients} is set, only those subject CNs.
     */
    public record Tls(String cert, String key, String clientCa, List<String> allowedClients) {
        public Tls {
            allowedClients = allowedClients == null ? List.of() : List.copyOf(allowedClients);
        }

        public Tls(String cert, String key, String clientCa) {
            this(cert, key, clientCa, List.of());
        }
    }

    /** Directories of operator plugins (cmon-agent's vm-plugins and gz-plugins); each optional. */
    public record Plugins(String vmDir, String gzDir) {}

    /**
     * What the server view ({@code /v1/gz/metrics}) leaves out, as regular expressions; a key left out keeps its
     * default (io.cmon.agent.collect.gz.GzExclusions: containers' mounts and veth interfaces).
     */
    public record Gz(Filesystems filesystems, Network network) {
        public Gz {
            filesystems = filesystems == null ? new Filesystems(null, null) : filesystems;
            network = network == null ? new Network(null) : network;
        }
    }

    /** @param excludeMountPoints matched anywhere (anchor it); @param excludeFsTypes matched whole */
    public record Filesystems(String excludeMountPoints, String excludeFsTypes) {}

    /** @param excludeDevices matched whole against the interface name */
    public record Network(String excludeDevices) {}

    public AgentConfig {
        listen = listen == null ? DEFAULT_LISTEN : listen;
        server = server == null ? new Server(null, null) : server;
        labels = labels == null ? new Labels(null, null, null) : labels;
        plugins = plugins == null ? new Plugins(null, null) : plugins;
        gz = gz == null ? new Gz(null, null) : gz;
        insecure = insecure != null && insecure;
        kubernetes = kubernetes == null ? new Kubernetes(null) : kubernetes;
    }

    /** Without containerd, kubernetes, podman and gz (the keys before they existed). */
    public AgentConfig(String listen, Server server, Docker docker, String instancesFile, Labels labels,
                       String defaultOwner, Tls tls, Boolean insecure, Plugins plugins) {
        this(listen, server, docker, instancesFile, labels, defaultOwner, tls, insecure, plugins, null, null, null,
                null);
    }

    public HostPort listenAddress() {
        return HostPort.parse(listen);
    }

    public AgentConfig withListen(String newListen) {
        return new AgentConfig(newListen, server, docker, instancesFile, labels, defaultOwner, tls, insecure, plugins,
                containerd, kubernetes, podman, gz);
    }

    /**
     * Plain HTTP only where nobody else can connect: without {@code tls} the listen address must be loopback unless
     * {@code insecure: true} says the operator knows (DESIGN §4). Checked after {@code --listen} is applied, so it
     * is not part of {@link #validate()}.
     *
     * @throws ConfigException naming the key {@code insecure}
     */
    public void requireSafeExposure() {
        if (tls != null || insecure) return;
        HostPort at = listenAddress();
        if (isLoopback(at.host())) return;
        throw ConfigException.key("insecure", "the agent would serve plain HTTP on " + at
                + ", a non-loopback address: anyone who reaches it reads every instance's metrics and the instance"
                + " list. Configure 'tls' (cert, key, clientCa: only proxy certificates are accepted), or listen on"
                + " 127.0.0.1, or set 'insecure: true' to accept plain HTTP on this address");
    }

    /** Only literal loopback addresses and {@code localhost}: any other name may resolve to anything. */
    static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) return true;
        if (!host.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) return false; // not a literal: no DNS lookup
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    @Override
    public void validate() {
        try {
            HostPort.parse(listen);
        } catch (IllegalArgumentException e) {
            throw ConfigException.key("listen", e.getMessage());
        }
        if (server.uuid() != null && !UUID.matcher(server.uuid()).matches()) {
            throw ConfigException.key("server.uuid", "'" + server.uuid() + "' is not a uuid (8-4-4-4-12 hex)");
        }
        if (docker != null && (docker.socket() == null || docker.socket().isBlank())) {
            throw ConfigException.key("docker.socket", "missing; give the path of the Docker/Podman API socket");
        }
        if (containerd != null) {
            if (containerd.socket().isBlank()) {
                throw ConfigException.key("containerd.socket", "empty; give the path of containerd's API socket"
                        + " (default " + Containerd.DEFAULT_SOCKET + ")");
            }
            for (int i = 0; i < containerd.namespaces().size(); i++) {
                String ns = containerd.namespaces().get(i);
                if (ns == null || ns.isBlank()) {
                    throw ConfigException.key("containerd.namespaces[" + i + "]", "empty namespace; list containerd"
                            + " namespaces (k8s.io, moby, default, …) or omit the key to follow all");
                }
            }
        }
        String ownerFrom = kubernetes.ownerFrom();
        if (!ownerFrom.equals(Kubernetes.FROM_NAMESPACE)
                && !(ownerFrom.startsWith(Kubernetes.FROM_LABEL) && !kubernetes.ownerLabel().isEmpty())) {
            throw ConfigException.key("kubernetes.ownerFrom", "'" + ownerFrom + "' is neither 'namespace' nor"
                    + " 'label:<key>'");
        }
        if (podman != null && (podman.socket() == null || podman.socket().isBlank())) {
            throw ConfigException.key("podman.socket", "missing; give the path of Podman's Docker-compatible API"
                    + " socket (rootful: /run/podman/podman.sock)");
        }
        if (docker != null && podman != null && docker.socket().equals(podman.socket())) {
            throw ConfigException.key("podman.socket", "'" + podman.socket() + "' is also docker.socket; one"
                    + " daemon would be followed twice. Give Podman's socket here, or drop one of the two");
        }
        if (instancesFile != null && instancesFile.isBlank()) {
            throw ConfigException.key("instancesFile", "empty path");
        }
        if (plugins.vmDir() != null && plugins.vmDir().isBlank()) {
            throw ConfigException.key("plugins.vmDir", "empty path; give the directory of instance plugins or omit it");
        }
        if (plugins.gzDir() != null && plugins.gzDir().isBlank()) {
            throw ConfigException.key("plugins.gzDir", "empty path; give the directory of server plugins or omit it");
        }
        if (tls != null) {
            requireFile("tls.cert", tls.cert());
            requireFile("tls.key", tls.key());
            requireFile("tls.clientCa", tls.clientCa());
            for (int i = 0; i < tls.allowedClients().size(); i++) {
                String cn = tls.allowedClients().get(i);
                if (cn == null || cn.isBlank()) {
                    throw ConfigException.key("tls.allowedClients[" + i + "]", "empty name; list the CNs of the"
                            + " proxy certificates that may call this agent");
                }
            }
        }
        for (String[] kv : new String[][] {{"gz.filesystems.excludeMountPoints", gz.filesystems().excludeMountPoints()},
                {"gz.filesystems.excludeFsTypes", gz.filesystems().excludeFsTypes()},
                {"gz.network.excludeDevices", gz.network().excludeDevices()}}) {
            if (kv[1] == null) continue;
            try {
                Pattern.compile(kv[1]);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw ConfigException.key(kv[0], "'" + kv[1] + "' is not a regular expression: "
                        + e.getDescription() + " near index " + e.getIndex());
            }
        }
        for (String[] kv : new String[][] {{"labels.owner", labels.owner()}, {"labels.groups", labels.groups()},
                {"labels.uuid", labels.uuid()}}) {
            if (kv[1].isBlank()) throw ConfigException.key(kv[0], "empty label key");
        }
    }

    static void requireFile(String key, String path) {
        if (path == null || path.isBlank()) {
            throw ConfigException.key(key, "missing");
        }
        Path file;
        try {
            file = Path.of(path);
        } catch (InvalidPathException e) {
            // e.g. a NUL character: Path.of throws, and the error must still name the key (found by ConfigFilesFuzzTest)
            throw ConfigException.key(key, "'" + path + "' is not a valid path: " + e.getReason());
        }
        if (!Files.isReadable(file)) {
            throw ConfigException.key(key, "cannot read file '" + path + "'");
        }
    }
}
