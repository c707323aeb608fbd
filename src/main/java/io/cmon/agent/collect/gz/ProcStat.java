package io.cmon.agent.collect.gz;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of {@code /proc/stat} the server metrics use: per-CPU time by mode and the boot time.
 *
 * @param cpus     one entry per {@code cpuN} line, in file order (the aggregate {@code cpu} line is skipped)
 * @param bootTime {@code btime}, seconds since the epoch; 0 when absent
 */
public record ProcStat(List<Cpu> cpus, long bootTime) {

    /** Modes in {@code /proc/stat} column order, named as node_exporter names them. */
    public static final List<String> MODES =
            List.of("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal");

    /** Clock ticks per second of {@code /proc/stat}; USER_HZ is 100 on every Linux ABI node_exporter supports. */
    static final double USER_HZ = 100.0;

    /** @param seconds time in each of {@link #MODES}, same order */
    public record Cpu(String cpu, double[] seconds) {}

    public ProcStat {
        cpus = List.copyOf(cpus);
    }

    public static ProcStat parse(String text) {
        List<Cpu> cpus = new ArrayList<>();
        long boot = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("cpu") && line.length() > 3 && Character.isDigit(line.charAt(3))) {
                String[] f = line.trim().split("\\s+");
                double[] seconds = new double[MODES.size()];
                for (int i = 0; i < seconds.length && i + 1 < f.length; i++) {
                    seconds[i] = Long.parseLong(f[i + 1]) / USER_HZ;
                }
                cpus.add(new Cpu(f[0].substring(3), seconds));
            } else if (line.startsWith("btime ")) {
                boot = Long.parseLong(line.substring(6).trim());
            }
        }
        return new ProcStat(cpus, boot);
    }
}
