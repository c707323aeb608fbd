package io.cmon.pki;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** The validity window of a certificate. */
public record Validity(Instant notBefore, Instant notAfter) {

    /** Backdating absorbs small clock differences between the issuing and the verifying machine. */
    static final Duration BACKDATE = Duration.ofMinutes(5);

    public Validity {
        if (!notAfter.isAfter(notBefore)) {
            throw new PkiException("not-after (" + notAfter + ") must be later than not-before (" + notBefore + ")");
        }
    }

    /** From now (backdated a few minutes) for {@code days} days. */
    public static Validity days(int days, Clock clock) {
        if (days <= 0) throw new PkiException("--days must be positive, not " + days);
        Instant now = clock.instant();
        return new Validity(now.minus(BACKDATE), now.plus(Duration.ofDays(days)));
    }

    public static Validity days(int days) {
        return days(days, Clock.systemUTC());
    }

    /**
     * The CLI's flags: explicit bounds win over {@code days}; either bound may be given alone.
     * Dates are ISO-8601: {@code 2030-01-31} (midnight UTC) or {@code 2030-01-31T12:00:00Z}.
     */
    public static Validity of(String notBefore, String notAfter, int days, Clock clock) {
        Validity base = days(days, clock);
        Instant from = notBefore == null ? base.notBefore() : parseDate("--not-before", notBefore);
        Instant to = notAfter == null
                ? (notBefore == null ? base.notAfter() : from.plus(Duration.ofDays(days)))
                : parseDate("--not-after", notAfter);
        return new Validity(from, to);
    }

    static Instant parseDate(String flag, String text) {
        try {
            if (text.length() == 10) {
                return LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new PkiException(flag + " '" + text + "' is not an ISO date (2030-01-31 or 2030-01-31T12:00:00Z)");
        }
    }
}
