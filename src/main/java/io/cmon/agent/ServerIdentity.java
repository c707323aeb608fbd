package io.cmon.agent;

import io.cmon.config.AgentConfig;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;

/** The server this agent runs on, as {@code GET /v1/instances} names it (DESIGN §2.1). */
public record ServerIdentity(String uuid, String hostname) {

    /**
     * uuid: {@code server.uuid}, else {@code machineId}'s 32 hex digits as 8-4-4-4-12, else a uuid derived from the
     * hostname (stable across restarts); hostname: {@code server.hostname}, else the kernel's.
     */
    public static ServerIdentity resolve(AgentConfig.Server server, Path machineId, Path kernelHostname) {
        String hostname = server.hostname() != null ? server.hostname() : systemHostname(kernelHostname);
        String uuid = server.uuid() != null ? server.uuid().toLowerCase(Locale.ROOT) : fromMachineId(machineId);
        if (uuid == null) {
            uuid = UUID.nameUUIDFromBytes(("cmon-server:" + hostname).getBytes(StandardCharsets.UTF_8)).toString();
        }
        return new ServerIdentity(uuid, hostname);
    }

    public static ServerIdentity resolve(AgentConfig.Server server) {
        return resolve(server, Path.of("/etc/machine-id"), Path.of("/proc/sys/kernel/hostname"));
    }

    /** The first line of a machine-id file as a uuid, or null when it is missing or not 32 hex digits. */
    static String fromMachineId(Path file) {
        try {
            String id = Files.readString(file).trim().toLowerCase(Locale.ROOT);
            if (!id.matches("[0-9a-f]{32}")) return null;
            return id.substring(0, 8) + "-" + id.substring(8, 12) + "-" + id.substring(12, 16) + "-"
                    + id.substring(16, 20) + "-" + id.substring(20);
        } catch (IOException e) {
            return null;
        }
    }

    private static String systemHostname(Path kernelHostname) {
        try {
            String h;
            // one buffered read: Files.readString reads a size-0 file from offset 1 after its first byte, and a
            // sysctl answers that with EOF (the hostname would be its first letter)
            try (java.io.InputStream in = Files.newInputStream(kernelHostname)) {
                h = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
            if (!h.isEmpty()) return h;
        } catch (IOException e) {
            // not Linux, or no procfs: ask the JDK
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
