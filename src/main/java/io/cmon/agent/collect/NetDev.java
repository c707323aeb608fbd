package io.cmon.agent.collect;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code /proc/<pid>/net/dev}: per-interface counters of the network namespace the pid lives in. Two header lines,
 * then {@code iface: rx_bytes rx_packets errs drop fifo frame compressed multicast tx_bytes tx_packets …}; large
 * counters can close the gap after the colon ({@code eth0:123456789}), so we split at the colon, not on spaces.
 */
public final class NetDev {

    public record Interface(String name, long rxBytes, long rxPackets, long txBytes, long txPackets) { }

    /** Every counter the server metrics export, per interface. */
    public record Device(String name, long rxBytes, long rxPackets, long rxErrs, long rxDrop,
                         long txBytes, long txPackets, long txErrs, long txDrop) { }

    private NetDev() {
    }

    public static List<Interface> parse(String text) {
        return parseDevices(text).stream()
                .map(d -> new Interface(d.name(), d.rxBytes(), d.rxPackets(), d.txBytes(), d.txPackets())).toList();
    }

    public static List<Device> parseDevices(String text) {
        List<Device> interfaces = new ArrayList<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || line.indexOf('|') >= 0) {
                continue;
            }
            String[] counters = KeyedValues.WHITESPACE.split(line.substring(colon + 1).trim());
            if (counters.length < 12) {
                throw new IllegalArgumentException("short net/dev line: '" + line + "'");
            }
            long[] c = new long[12];
            for (int i = 0; i < c.length; i++) {
                c[i] = Long.parseLong(counters[i]);
            }
            interfaces.add(new Device(line.substring(0, colon).trim(), c[0], c[1], c[2], c[3], c[8], c[9], c[10],
                    c[11]));
        }
        return interfaces;
    }
}
