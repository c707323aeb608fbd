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
        Fields f = new Fields(text, 16);
        for (int at = 0; at < text.length(); ) {
            int end = Fields.lineEnd(text, at);
            int colon = text.indexOf(':', at);
            int bar = text.indexOf('|', at);
            if (colon >= 0 && colon < end && (bar < 0 || bar >= end)) {
                if (f.split(colon + 1, end) < 12) {
                    throw new IllegalArgumentException("short net/dev line: '" + text.substring(at, end) + "'");
                }
                interfaces.add(new Device(text.substring(at, colon).trim(), f.parseLong(0), f.parseLong(1),
                        f.parseLong(2), f.parseLong(3), f.parseLong(8), f.parseLong(9), f.parseLong(10),
                        f.parseLong(11)));
            }
            at = end + 1;
        }
        return interfaces;
    }
}
