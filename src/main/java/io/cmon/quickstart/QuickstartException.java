package io.cmon.quickstart;

/** Something the quickstart cannot do on this machine; the message says what and how to fix it. */
public final class QuickstartException extends RuntimeException {
    public QuickstartException(String message) {
        super(message);
    }

    public QuickstartException(String message, Throwable cause) {
        super(message, cause);
    }
}
