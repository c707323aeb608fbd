package io.cmon.quickstart;

import java.nio.file.Path;

/** Where the quickstart keeps everything, under one directory that a second run reuses. */
public record QuickstartFiles(Path dir) {

    public QuickstartFiles {
        dir = dir.toAbsolutePath().normalize();
    }

    public Path caDir() {
        return dir.resolve("ca");
    }

    public Path caCert() {
        return caDir().resolve("ca.pem");
    }

    /** The agent link's own CA: it signs the agent's certificate and the proxy's client certificate, no tenant's. */
    public Path agentCaDir() {
        return dir.resolve("agent-ca");
    }

    public Path agentCaCert() {
        return agentCaDir().resolve("ca.pem");
    }

    public Path certs() {
        return dir.resolve("certs");
    }

    public Path cert(String name) {
        return certs().resolve(name + ".pem");
    }

    public Path key(String name) {
        return certs().resolve(name + "-key.pem");
    }

    public Path agentConfig() {
        return dir.resolve("agent.yaml");
    }

    public Path proxyConfig() {
        return dir.resolve("proxy.yaml");
    }

    public Path accounts() {
        return dir.resolve("accounts.yaml");
    }

    public Path instances() {
        return dir.resolve("instances.yaml");
    }

    public Path prometheusDir(String login) {
        return dir.resolve("prometheus").resolve(login);
    }

    public Path logs() {
        return dir.resolve("logs");
    }

    public Path run() {
        return dir.resolve("run");
    }

    /** A short stable id of this directory: labels the demo containers it owns. */
    public String id() {
        return String.format("%08x", dir.toString().hashCode());
    }
}
