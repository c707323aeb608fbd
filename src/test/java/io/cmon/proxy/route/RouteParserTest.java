package io.cmon.proxy.route;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class RouteParserTest {

    static final String UUID = "6f1c2b8e-1a2b-4c3d-8e9f-0123456789ab";
    final RouteParser parser = new RouteParser("cmon.example.com");

    Route get(String host, String path, String query) {
        return parser.parse("GET", host, path, query);
    }

    @Test
    void hostUuidIsCaseInsensitiveAndNormalisedToLowerCase() {
        assertThat(get(UUID.toUpperCase() + ".CMON.Example.com", "/metrics", null))
                .isEqualTo(new Route.Metrics(UUID, true));
    }

    @Test
    void hostPortAndTrailingDotAreIgnored() {
        assertThat(get(UUID + ".cmon.example.com.:9163", "/metrics", null)).isEqualTo(new Route.Metrics(UUID, true));
        assertThat(get(UUID + ".cmon.example.com:9163", "/metrics", null)).isEqualTo(new Route.Metrics(UUID, true));
        assertThat(get("CMON.EXAMPLE.COM.:9163", "/v1/discover", null)).isEqualTo(new Route.Discover(Groups.ALL));
    }

    @ParameterizedTest
    @ValueSource(strings = {"evil.example.com", "cmon.example.com.evil.net", "6f1c2b8e.cmon.example.com",
            "6f1c2b8e-1a2b-4c3d-8e9f-0123456789abc.cmon.example.com", "", "cmon.example.com:99999x",
            "cmon.example.com:", ".", "..", "[::1", "[::1]junk"})
    void foreignHostsAre404(String host) {
        assertThat(get(host, "/v1/discover", null)).isEqualTo(new Route.Rejected(Failure.NOT_FOUND, null));
    }

    @Test
    void missingAndOverlongHostsAre404() {
        assertThat(get(null, "/v1/discover", null)).isEqualTo(new Route.Rejected(Failure.NOT_FOUND, null));
        String longHost = UUID + "." + "a".repeat(300) + ".com";
        assertThat(get(longHost, "/metrics", null)).isEqualTo(new Route.Rejected(Failure.NOT_FOUND, null));
    }

    @Test
    void ipLiteralsNameTheProxy() {
        assertThat(get("127.0.0.1:9163", "/v1/discover", null)).isEqualTo(new Route.Discover(Groups.ALL));
        assertThat(get("[::1]:9163", "/v1/gz/discover", null)).isEqualTo(new Route.GzDiscover());
    }

    @Test
    void metricsOnTheProxyNameIsNotAnInstance() {
        assertThat(get("cmon.example.com", "/metrics", null)).isEqualTo(new Route.Rejected(Failure.NOT_FOUND, null));
    }

    @Test
    void metricsByPathWhateverTheHost() {
        assertThat(get("cmon.example.com", "/v1/" + UUID.toUpperCase() + "/metrics", null))
                .isEqualTo(new Route.Metrics(UUID, false));
        String other = "00000000-0000-4000-8000-000000000001";
        assertThat(get(other + ".cmon.example.com", "/v1/" + UUID + "/metrics", null))
                .isEqualTo(new Route.Metrics(UUID, false));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/../metrics", "/v1/%36f1c2b8e-1a2b-4c3d-8e9f-0123456789ab/metrics",
            "/v1/gz/metrics", "/v1/not-a-uuid/metrics", "/v1/6f1c2b8e-1a2b-4c3d-8e9f-0123456789ab%00/metrics"})
    void malformedUuidPathsAre400(String path) {
        assertThat(get("cmon.example.com", path, null))
                .isEqualTo(new Route.Rejected(Failure.BAD_REQUEST, "not an instance uuid"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/discover/", "/v1//discover", "/V1/discover", "/v1/discover/../gz/discover",
            "/v1/%64iscover", "/", "/v1", "/v1/a/b/metrics", "/v1//metrics", "/metrics/", "//metrics"})
    void pathsAreMatchedExactly(String path) {
        assertThat(get(UUID + ".cmon.example.com", path, null)).isEqualTo(new Route.Rejected(Failure.NOT_FOUND, null));
    }

    @Test
    void pingNeedsNoHost() {
        assertThat(get(null, "/_ping", null)).isEqualTo(new Route.Ping());
        assertThat(parser.parse("POST", "x", "/_ping", null)).isEqualTo(new Route.Ping());
    }

    @Test
    void onlyGetIsAllowed() {
        assertThat(parser.parse("POST", "cmon.example.com", "/v1/discover", null))
                .isEqualTo(new Route.Rejected(Failure.METHOD_NOT_ALLOWED, "only GET"));
    }

    @Test
    void groupsAreUrlDecodedAndRepeatable() {
        assertThat(get("cmon.example.com", "/v1/discover", "groups=a%2Cb"))
                .isEqualTo(new Route.Discover(new Groups(Set.of("a", "b"))));
        assertThat(get("cmon.example.com", "/v1/http_sd", "groups=a,b&groups=c&other=x"))
                .isEqualTo(new Route.HttpSd(new Groups(Set.of("a", "b", "c"))));
        assertThat(get("cmon.example.com", "/v1/discover", "foo=bar")).isEqualTo(new Route.Discover(Groups.ALL));
    }

    @ParameterizedTest
    @ValueSource(strings = {"groups=", "groups", "groups=a,,b", "groups=a,", "groups=%2C", "groups=a%2", "groups=%zz",
            "groups=a%252Cb", "groups=a+b", "groups=..", "groups=%2e%2e", "groups=a/b", "groups=%C3%A9",
            "groups=a%00"})
    void badGroupsAre400(String query) {
        assertThat(get("cmon.example.com", "/v1/discover", query))
                .isInstanceOfSatisfying(Route.Rejected.class, r -> assertThat(r.failure()).isEqualTo(Failure.BAD_REQUEST));
    }

    @Test
    void groupLengthAndCountLimits() {
        String ok = "g".repeat(100);
        assertThat(get("cmon.example.com", "/v1/discover", "groups=" + ok))
                .isEqualTo(new Route.Discover(new Groups(Set.of(ok))));
        assertThat(get("cmon.example.com", "/v1/discover", "groups=" + ok + "g"))
                .isInstanceOf(Route.Rejected.class);
        StringBuilder hundred = new StringBuilder();
        for (int i = 0; i < 100; i++) hundred.append(i == 0 ? "" : ",").append("g").append(i);
        assertThat(get("cmon.example.com", "/v1/discover", "groups=" + hundred)).isInstanceOf(Route.Discover.class);
        assertThat(get("cmon.example.com", "/v1/discover", "groups=" + hundred + ",g100"))
                .isEqualTo(new Route.Rejected(Failure.BAD_REQUEST, "more than 100 groups"));
    }

    @Test
    void groupsFilterIsAnyOf() {
        Groups g = new Groups(Set.of("web", "db"));
        assertThat(g.admits(java.util.List.of("db"))).isTrue();
        assertThat(g.admits(java.util.List.of("cache", "web"))).isTrue();
        assertThat(g.admits(java.util.List.of("cache"))).isFalse();
        assertThat(g.admits(java.util.List.of())).isFalse();
        assertThat(Groups.ALL.admits(java.util.List.of())).isTrue();
    }

    @Test
    void notFoundBodyNeverCarriesDetail() {
        assertThat(Failure.NOT_FOUND.body("secret")).isEqualTo(Failure.NOT_FOUND.body(null)).isEqualTo("not found\n");
        assertThat(Failure.BAD_REQUEST.body("empty group name")).isEqualTo("bad request: empty group name\n");
    }
}
