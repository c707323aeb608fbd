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

    private NetDev() {
    }

    public static List<Interface> parse(String text) {
        List<Interface> interfaces = new ArrayList<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || line.indexOf('|') >= 0) {
                continue;
            }
            String[] counters = KeyedValues.WHITESPACE.split(line.substring(colon + 1).trim());
            if (counters.length < 10) {
                throw new IllegalArgumentException("short net/dev line: '" + line + "'");
            }
            interfaces.add(new Interface(line.substring(0, colon).trim(),
                    Long.parseLong(counters[0]), Long.parseLong(counters[1]),
                    Long.parseLong(counters[8]), Long.parseLong(counters[9])));
        }
        return interfaces;
    }
}
