package io.cmon.agent.runtime;

import io.cmon.config.AgentConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where the containerd source's code comes from; the shaded jars' path is ContainerdSourceIT's (the agent's jar). */
class ContainerdJarTest {

    @TempDir
    Path dir;

    @Test
    void onTheBuildsClassPathTheSourceIsMadeByTheOwnLoader() throws Exception {
        try (InstanceSource source = ContainerdJar.source(
                new AgentConfig.Containerd(dir.resolve("no-containerd.sock").toString(), List.of()),
                new AgentConfig.Labels(null, null, null), null, new AgentConfig.Kubernetes(null))) {
            assertThat(source.name()).isEqualTo("containerd");
            assertThat(source.getClass().getName()).isEqualTo("io.cmon.agent.runtime.ContainerdSource");
            assertThat(source.getClass().getClassLoader()).isSameAs(ContainerdJar.class.getClassLoader());
        }
    }

    @Test
    void aLoaderWithoutTheSourceGetsAChildLoaderOverTheJar() throws IOException {
        Path jar = dir.resolve(ContainerdJar.JAR);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("only-in-the-jar.txt"));
            out.write("containerd".getBytes(StandardCharsets.UTF_8));
        }
        ClassLoader own = ClassLoader.getPlatformClassLoader(); // sees no cmon class

        ClassLoader loader = ContainerdJar.loader(own, jar);

        assertThat(loader).isInstanceOf(URLClassLoader.class).isNotSameAs(own);
        assertThat(loader.getParent()).isSameAs(own);
        assertThat(loader.getResource("only-in-the-jar.txt")).isNotNull();
    }

    @Test
    void aMissingJarIsNamedInTheError() {
        Path jar = dir.resolve(ContainerdJar.JAR);

        assertThatThrownBy(() -> ContainerdJar.loader(ClassLoader.getPlatformClassLoader(), jar))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("containerd:")
                .hasMessageContaining(jar.toString())
                .hasMessageContaining("missing");
    }

    @Test
    void theBuildsOwnLoaderIsUsedEvenWithoutAJar() {
        ClassLoader own = ContainerdJar.class.getClassLoader();

        assertThat(ContainerdJar.loader(own, null)).isSameAs(own);
    }
}
