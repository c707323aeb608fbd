package io.cmon.proxy.route;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cmon.testing.FuzzInput;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy's request parser on arbitrary method, Host, path and query (DESIGN §3.2): it never throws, answers
 * nothing but 400/404/405 itself, names an instance only by a canonical uuid (lower case) taken from the Host's
 * first label or the path, and lets discovery through only with groups that meet the contract (1–100 of
 * {@code [A-Za-z0-9_-]}, at most 100), else 400. An input is {@code selector, method \f host \f path \f query}.
 */
class RouteParserFuzzTest {

    static final String ENDPOINT = "cmon.example.com";
    static final Pattern CANONICAL_UUID =
            Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    static final Pattern GROUP = Pattern.compile("[A-Za-z0-9_-]{1,100}");

    final RouteParser parser = new RouteParser(ENDPOINT);

    @FuzzTest(maxDuration = "60s")
    void requests(byte[] data) {
        FuzzInput in = FuzzInput.of(data, 4, 4);
        // selector: which of method, host, path is absent (null), as Vert.x reports a missing Host or path
        String method = in.part(0);
        String host = in.selector() == 1 ? null : in.part(1);
        String path = in.selector() == 2 ? null : in.part(2);
        String query = in.selector() == 3 ? null : in.part(3);

        Route route = parser.parse(method, host, path, query);

        assertThat(route).isNotNull();
        if (route instanceof Route.Rejected r) {
            assertThat(r.failure()).isIn(Failure.BAD_REQUEST, Failure.NOT_FOUND, Failure.METHOD_NOT_ALLOWED);
        }
        if (path != null && !path.equals("/_ping") && !method.equals("GET")) {
            assertThat(route).isEqualTo(new Route.Rejected(Failure.METHOD_NOT_ALLOWED, "only GET"));
        }
        if (route instanceof Route.Metrics m) {
            assertThat(m.uuid()).matches(CANONICAL_UUID);
            if (m.byHost()) {
                assertThat(path).isEqualTo("/metrics");
                assertThat(host.toLowerCase(Locale.ROOT)).startsWith(m.uuid());
                assertThat(host.substring(m.uuid().length())).matches("(?s)(\\..*)?(:\\d{1,5})?");
            } else {
                assertThat(path.toLowerCase(Locale.ROOT)).isEqualTo("/v1/" + m.uuid() + "/metrics");
            }
        }
        if (route instanceof Route.Discover d) {
            groupsMeetContract(d.groups(), query);
        }
        if (route instanceof Route.HttpSd h) {
            groupsMeetContract(h.groups(), query);
        }
        if (route instanceof Route.Rejected r && r.failure() == Failure.BAD_REQUEST
                && ("/v1/discover".equals(path) || "/v1/http_sd".equals(path))) {
            // a 400 for discovery only when some groups value breaks the contract (or cannot be decoded)
            try {
                assertThat(contractHolds(RouteParser.queryValues(query, "groups"))).isFalse();
            } catch (IllegalArgumentException malformedPercentEncoding) {
                assertThat(r.detail()).contains("percent-encoding");
            }
        }
    }

    private static void groupsMeetContract(Groups groups, String query) {
        List<String> values = RouteParser.queryValues(query, "groups");
        assertThat(contractHolds(values)).isTrue();
        if (values.isEmpty()) {
            assertThat(groups).isEqualTo(Groups.ALL);
        } else {
            assertThat(groups.wanted()).isNotEmpty().hasSizeLessThanOrEqualTo(100)
                    .allSatisfy(g -> assertThat(g).matches(GROUP));
            assertThat(groups.admits(List.copyOf(groups.wanted()))).isTrue();
        }
    }

    /** The contract, written independently of Groups: non-empty values of 1–100 [A-Za-z0-9_-], ≤ 100 distinct. */
    static boolean contractHolds(List<String> values) {
        Set<String> distinct = new LinkedHashSet<>();
        for (String v : values) {
            if (v.isEmpty()) {
                return false;
            }
            for (String g : v.split(",", -1)) {
                if (!GROUP.matcher(g).matches()) {
                    return false;
                }
                distinct.add(g);
            }
        }
        return distinct.size() <= 100;
    }
}
