package io.cmon.pki;

/** A certificate, key or PEM file that cannot be used; the message names the file and the problem. */
public final class PkiException extends RuntimeException {

    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }
}
