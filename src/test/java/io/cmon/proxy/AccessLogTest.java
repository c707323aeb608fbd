package io.cmon.proxy;

import org.junit.jupiter.api.Test;

import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class AccessLogTest {

    private final List<String> batches = new ArrayList<>();
    private final AtomicLong now = new AtomicLong(1_764_071_821_007L);
    private final AccessLog log = new AccessLog(batches::add, now::get, true);

    @Test
    void writesNothingUntilFlushed_thenOneBatchOfWholeLines() {
        log.request("127.0.0.1:40312", "alice", "GET", "metrics", "/v1/abc/metrics", 200, 9553, 412_345L);
        log.request("127.0.0.1:40313", null, "GET", "discover", "/v1/discover", 401, 13, 2_000_000L);
        assertThat(batches).isEmpty();

        log.flush();

        assertThat(batches).hasSize(1);
        String time = LocalTime.ofInstant(java.time.Instant.ofEpochMilli(now.get()), ZoneId.systemDefault())
                .toString().substring(0, 12);
        assertThat(batches.get(0)).isEqualTo(
                time + " INFO  access - 127.0.0.1:40312 alice GET metrics /v1/abc/metrics 200 9553B 0.41ms\n"
                        + time + " INFO  access - 127.0.0.1:40313 - GET discover /v1/discover 401 13B 2.00ms\n");
    }

    @Test
    void flushWithNothingPendingWritesNothing() {
        log.flush();
        log.request(null, "bob", "GET", "ping", "/_ping", 200, 3, 1);
        log.flush();
        log.flush();
        assertThat(batches).hasSize(1);
        assertThat(batches.get(0)).endsWith(" INFO  access - - bob GET ping /_ping 200 3B 0.00ms\n");
    }

    @Test
    void hostileUriCannotForgeLines() {
        log.request("r", "a", "GET", "metrics", "/v1/x\n12:00:00.000 INFO  access - forged\r\u2028 \t\u0000", 404, 0, 0);
        log.flush();
        String line = batches.get(0);
        assertThat(line).hasLineCount(1).endsWith("404 0B 0.00ms\n");
        assertThat(line).contains("/v1/x?12:00:00.000?INFO??access?-?forged?????");
    }

    @Test
    void longUriIsCutAt200Characters() {
        log.request("r", "a", "GET", "metrics", "/" + "a".repeat(500), 400, 0, 0);
        log.flush();
        assertThat(batches.get(0)).contains(" /" + "a".repeat(199) + "… 400 ");
    }

    @Test
    void flushesOnItsOwnWhenTheBufferIsFull() {
        String uri = "/v1/" + "u".repeat(150) + "/metrics";
        int lines = 0;
        while (batches.isEmpty()) {
            log.request("127.0.0.1:1", "alice", "GET", "metrics", uri, 200, 1, 1);
            lines++;
        }
        assertThat(batches.get(0).length()).isGreaterThanOrEqualTo(AccessLog.MAX_PENDING_CHARS);
        assertThat(batches.get(0).split("\n")).hasSize(lines);
        log.flush();
        assertThat(batches).hasSize(1); // the full buffer went out whole, nothing was left behind
    }

    @Test
    void millisecondsArePaddedAndTheSecondFollowsTheClock() {
        now.set(1_764_071_821_007L);
        log.request("r", "a", "GET", "ping", "/_ping", 200, 0, 0);
        now.set(1_764_071_822_050L);
        log.request("r", "a", "GET", "ping", "/_ping", 200, 0, 0);
        log.flush();
        String[] lines = batches.get(0).split("\n");
        assertThat(lines[0].substring(8, 12)).isEqualTo(".007");
        assertThat(lines[1].substring(8, 12)).isEqualTo(".050");
        assertThat(lines[0].substring(0, 8)).isNotEqualTo(lines[1].substring(0, 8));
    }

    @Test
    void disabledLogKeepsNothing() {
        AccessLog off = new AccessLog(batches::add, now::get, false);
        off.request("r", "a", "GET", "ping", "/_ping", 200, 0, 0);
        off.flush();
        assertThat(off.enabled()).isFalse();
        assertThat(batches).isEmpty();
    }
}
