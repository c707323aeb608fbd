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
        SnmpCounters tcp = SnmpCounters.parse(snmp);
        OptionalLong drops = netstat == null ? OptionalLong.empty()
                : SnmpCounters.parse(netstat).get("TcpExt", "ListenDrops");
        return new TcpStats(tcp.require("Tcp", "ActiveOpens"), tcp.require("Tcp", "PassiveOpens"),
                tcp.require("Tcp", "AttemptFails"), tcp.require("Tcp", "RetransSegs"),
                tcp.require("Tcp", "CurrEstab"), drops);
    }
}
