package io.cmon.proxy.forward;

import io.cmon.proxy.route.Failure;

/** How a forwarded scrape ended. */
public sealed interface Forwarded {

    /** The agent's answer went through to the caller. */
    record Streamed(int status, long bytes) implements Forwarded {}

    /** Nothing was sent yet: the caller answers with the failure's status and body. */
    record Failed(Failure failure, String detail) implements Forwarded {}

    /** Part of a body was sent when it went wrong: the connection was reset, the caller sees a broken response. */
    record Aborted(Failure failure, long bytes) implements Forwarded {}
}
