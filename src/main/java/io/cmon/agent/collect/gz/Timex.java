package io.cmon.agent.collect.gz;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The kernel's clock discipline state as {@code adjtimex(2)} reports it, read-only ({@code modes = 0}): what
 * node_exporter's {@code timex} collector exports. Raw fields keep the kernel's units; {@link GzMetrics} converts.
 *
 * @param state    adjtimex's return value: the clock state, {@link #TIME_ERROR} when the clock is not synchronised
 * @param offset   time offset, in µs, or in ns when {@link #STA_NANO} is set in {@code status}
 * @param freq     frequency offset in ppm scaled by 2^16
 * @param maxerror maximum error, µs
 * @param esterror estimated error, µs
 * @param status   status bits ({@code STA_*})
 * @param constant PLL time constant
 * @param tick     µs between clock ticks
 * @param tai      TAI offset, s
 */
public record Timex(int state, long offset, long freq, long maxerror, long esterror, int status, long constant,
                    long tick, int tai) {

    public static final int TIME_ERROR = 5;
    public static final int STA_NANO = 0x2000;

    /**
     * {@code struct timex} as glibc lays it out on x86_64 ({@code <bits/timex.h>}, checked with {@code offsetof}
     * on this project's build host): {@code int modes} then 4 bytes of padding, {@code long offset} at 8, {@code freq}
     * 16, {@code maxerror} 24, {@code esterror} 32, {@code int status} 40, {@code constant} 48, {@code precision} 56,
     * {@code tolerance} 64, {@code struct timeval time} 72, {@code tick} 88, …, {@code int tai} 160; 208 bytes.
     */
    static final int SIZE = 208;
    static final int OFFSET = 8;
    static final int FREQ = 16;
    static final int MAXERROR = 24;
    static final int ESTERROR = 32;
    static final int STATUS = 40;
    static final int CONSTANT = 48;
    static final int TICK = 88;
    static final int TAI = 160;

    /** Where the state comes from: the kernel, or a test's value. */
    public interface Source {
        Timex read() throws IOException;
    }

    /** The fields of a {@code struct timex} (native byte order), with adjtimex's return value. */
    public static Timex decode(ByteBuffer struct, int state) {
        ByteBuffer b = struct.duplicate().order(ByteOrder.nativeOrder());
        return new Timex(state, b.getLong(OFFSET), b.getLong(FREQ), b.getLong(MAXERROR), b.getLong(ESTERROR),
                b.getInt(STATUS), b.getLong(CONSTANT), b.getLong(TICK), b.getInt(TAI));
    }

    /** Offset in seconds, by the unit {@code status} says. */
    public double offsetSeconds() {
        return offset * ((status & STA_NANO) != 0 ? 1e-9 : 1e-6);
    }

    /** 1 + the frequency offset: the rate the kernel runs the clock at relative to its oscillator. */
    public double frequencyAdjustmentRatio() {
        return 1 + freq / 65536.0 / 1e6;
    }

    public boolean synchronised() {
        return state != TIME_ERROR;
    }

    private interface LibC extends Library {
        int adjtimex(Memory buf);
    }

    /**
     * The kernel's state through glibc's {@code adjtimex}; x86_64 and aarch64 (LP64) share the layout. libc is
     * bound through JNA on the first read, not when the agent starts: JNA's set-up loads ~50 classes, unpacks its
     * stub library, starts a cleaner thread and forks {@code ldconfig -p}, which an agent whose gz metrics are
     * never scraped does not need (docs/PERFORMANCE.md, "Idle memory, step 3").
     */
    public static final class Kernel implements Source {
        private record Binding(LibC libc, String unavailable) {}

        /** Bound when the first read loads this class (the JVM's lazy, once-only class initialisation). */
        private static final class Bound {
            static final Binding BINDING = bind();
        }

        private static Binding bind() {
            try {
                // Native's own initialisation (unpacking its stub library) fails here, not later, when it fails
                if (Native.LONG_SIZE != 8) return new Binding(null, "struct timex layout known only for 64-bit Linux");
                return new Binding(Native.load("c", LibC.class), null);
            } catch (LinkageError e) {
                return new Binding(null, "cannot load libc through JNA: " + e);
            }
        }

        @Override
        public Timex read() throws IOException {
            Binding b = Bound.BINDING;
            LibC libc = b.libc();
            if (libc == null) throw new IOException(b.unavailable());
            try (Memory buf = new Memory(SIZE)) {
                buf.clear(); // modes = 0: read, change nothing
                int state = libc.adjtimex(buf);
                if (state < 0) throw new IOException("adjtimex failed: errno " + Native.getLastError());
                return decode(buf.getByteBuffer(0, SIZE), state);
            } catch (LinkageError e) {
                // no such symbol or no native support: this part is unavailable, the scrape goes on
                throw new IOException("adjtimex unavailable: " + e);
            }
        }
    }
}
