package io.cmon.doctor;

/**
 * One finding of {@code cmon doctor}: what was checked, how it went, and in plain words what it means (for a
 * failure: what is wrong and what to do).
 */
public record Check(String name, Outcome outcome, String detail) {

    /** PASS and WARN leave the exit code 0; FAIL makes it 1; SKIP: not checked because an earlier step failed. */
    public enum Outcome { PASS, WARN, FAIL, SKIP }

    public static Check pass(String name, String detail) {
        return new Check(name, Outcome.PASS, detail);
    }

    public static Check warn(String name, String detail) {
        return new Check(name, Outcome.WARN, detail);
    }

    public static Check fail(String name, String detail) {
        return new Check(name, Outcome.FAIL, detail);
    }

    public static Check skip(String name, String detail) {
        return new Check(name, Outcome.SKIP, detail);
    }
}
