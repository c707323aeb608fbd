package io.cmon.agent.collect;

import java.util.OptionalLong;

/**
 * TCP counters of one network namespace (RFC 1213 MIB names as the kernel prints them).
 *
 * @param listenDrops {@code TcpExt ListenDrops} from {@code net/netstat}: SYNs and accepted connections dropped at
 *                    a listener (full accept queue, no memory, …); empty when netstat is unreadable
 */
public record TcpStats(long activeOpens, long passiveOpens, long attemptFails, long retransSegs, long currEstab,
                       OptionalLong listenDrops) {

    /** @param netstat {@code /proc/<pid>/net/netstat}, null when absent */
    public static TcpStats parse(String snmp, String netstat) {
        OptionalLong[] tcp = SnmpCounters.select(snmp, "Tcp", TCP);
        OptionalLong drops = netstat == null ? OptionalLong.empty()
                : SnmpCounters.select(netstat, "TcpExt", "ListenDrops")[0];
        return new TcpStats(require(tcp, 0), require(tcp, 1), require(tcp, 2), require(tcp, 3), require(tcp, 4),
                drops);
    }

    private static final String[] TCP = {"ActiveOpens", "PassiveOpens", "AttemptFails", "RetransSegs", "CurrEstab"};

    private static long require(OptionalLong[] values, int i) {
        return values[i].orElseThrow(() -> new IllegalArgumentException("snmp: no Tcp " + TCP[i]));
    }
}
