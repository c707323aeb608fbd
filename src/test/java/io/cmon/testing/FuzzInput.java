package io.cmon.testing;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Decoding of a Jazzer input for the fuzz tests ({@code *FuzzTest}): the first byte picks the parser, the rest is
 * text, split on form feeds ({@code \f}) when the parser takes several files. Seeds under
 * {@code src/test/resources/<package>/<Test>Inputs/<method>/} use the same layout, so they stay readable.
 */
public record FuzzInput(int selector, List<String> parts) {

    public static final char SEPARATOR = '\f';

    /** @param count how many parts the parser takes; missing ones are empty, extra ones are kept in the last */
    public static FuzzInput of(byte[] data, int choices, int count) {
        int selector = data.length == 0 ? 0 : Math.floorMod(data[0], choices);
        String text = data.length == 0 ? "" : new String(data, 1, data.length - 1, StandardCharsets.UTF_8);
        String[] split = text.split(String.valueOf(SEPARATOR), count);
        String[] parts = Arrays.copyOf(split, count);
        for (int i = 0; i < count; i++) {
            if (parts[i] == null) parts[i] = "";
        }
        return new FuzzInput(selector, List.of(parts));
    }

    public String part(int i) {
        return parts.get(i);
    }

    /** A part, or null when it is empty: parsers take null for a file that does not exist. */
    public String partOrNull(int i) {
        return parts.get(i).isEmpty() ? null : parts.get(i);
    }

    /** Code under fuzzing. */
    @FunctionalInterface
    public interface Call {
        void run() throws Throwable;
    }

    /**
     * Runs the call and fails when it throws anything but the allowed types: a parser's documented exception means
     * "bad input"; anything else (null pointer, index out of bounds, arithmetic, stack overflow) is a bug.
     *
     * @return the exception thrown (one of the allowed), or null when the call returned
     */
    @SafeVarargs
    public static Throwable onlyThrows(Call call, Class<? extends Throwable>... allowed) {
        try {
            call.run();
            return null;
        } catch (Throwable t) {
            for (Class<? extends Throwable> a : allowed) {
                if (a.isInstance(t)) {
                    return t;
                }
            }
            throw new AssertionError("threw " + t + " (allowed: " + List.of(allowed) + ")", t);
        }
    }
}
