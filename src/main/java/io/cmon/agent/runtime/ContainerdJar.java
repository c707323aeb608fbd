package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;

import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes the containerd source, whose code (gRPC, its shaded Netty, protobuf, Guava: ~8,800 of the fat jar's 24,000
 * entries) ships in {@value #JAR}, beside {@code cmon.jar}, and is opened only when {@code containerd:} is
 * configured. Every jar on the class path stays open for the JVM's life, and the JDK keeps each one's central
 * directory in the heap (~100 bytes per entry): agents without containerd do not pay for gRPC's (docs/PERFORMANCE.md,
 * "Idle memory, step N").
 * <p>
 * In the build's own class path (tests, an IDE) the source is found directly and no jar is needed.
 */
public final class ContainerdJar {

    /** The jar's file name, next to the jar this class came from. */
    public static final String JAR = "cmon-containerd.jar";
    private static final String SOURCE_CLASS = "io.cmon.agent.runtime.ContainerdSource";

    private ContainerdJar() {}

    /** A new containerd source (not started), as {@code new ContainerdSource(config, labels, …)}. */
    public static InstanceSource source(AgentConfig.Containerd config, AgentConfig.Labels labels, String defaultOwner,
                                        AgentConfig.Kubernetes kubernetes) {
        ClassLoader own = ContainerdJar.class.getClassLoader();
        ClassLoader loader = loader(own, besideOwnJar());
        try {
            return (InstanceSource) Class.forName(SOURCE_CLASS, true, loader)
                    .getConstructor(AgentConfig.Containerd.class, AgentConfig.Labels.class, String.class,
                            AgentConfig.Kubernetes.class)
                    .newInstance(config, labels, defaultOwner, kubernetes);
        } catch (InvocationTargetException e) { // the source's own refusal (e.g. no epoll): as if called directly
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException("containerd source: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("containerd source: " + e, e);
        }
    }

    /**
     * The loader that has the containerd source: {@code own} when it has it (the build's class path), else a loader
     * over {@code jar}, with {@code own} as its parent (cmon's interfaces and the config come from there).
     *
     * @throws IllegalStateException naming the jar when it is needed and missing
     */
    static ClassLoader loader(ClassLoader own, Path jar) {
        if (own.getResource(SOURCE_CLASS.replace('.', '/') + ".class") != null) return own;
        if (jar == null || !Files.isRegularFile(jar)) {
            throw new IllegalStateException("containerd: is configured, but " + (jar == null ? JAR : jar)
                    + " (the containerd source, installed beside cmon.jar) is missing");
        }
        try {
            return new URLClassLoader("cmon-containerd", new URL[] {jar.toUri().toURL()}, own);
        } catch (MalformedURLException e) {
            throw new IllegalStateException("containerd: " + jar + ": " + e.getMessage(), e);
        }
    }

    /** {@value #JAR} in the directory of the jar this class was loaded from; null when not from a jar file. */
    private static Path besideOwnJar() {
        try {
            var source = ContainerdJar.class.getProtectionDomain().getCodeSource();
            if (source == null) return null;
            Path own = Path.of(source.getLocation().toURI());
            return Files.isRegularFile(own) ? own.resolveSibling(JAR) : null;
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }
}
