package io.cmon.agent.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RouteTest {

    @Test
    void instanceMetricsPathGivesTheUuidInLowerCase() {
        assertThat(Route.match("GET", "/v1/0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9/metrics"))
                .isEqualTo(new Route.InstanceMetrics("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"));
    }

    @Test
    void gzIsTheServerNotAnInstance() {
        assertThat(Route.match("GET", "/v1/gz/metrics")).isEqualTo(new Route.GzMetrics());
    }

    @Test
    void aSegmentThatIsNotAUuidIsABadRequestNamedInvalidUuid() {
        for (String segment : new String[] {"abc", "0a1b2c3d4e5f607182 93a4b5c6d7e8f9", "%20",
                "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9a",
                "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg", "..", "0a1b2c3d_4e5f_6071_8293_a4b5c6d7e8f9"}) {
            assertThat(Route.match("GET", "/v1/" + segment + "/metrics")).as(segment)
                    .isEqualTo(new Route.Rejected(400, "invalid uuid", null));
        }
    }

    @Test
    void deeperOrOtherPathsAreNotFound() {
        for (String path : new String[] {"/", "/v1", "/v1/", "/v1//metrics", "/v1/a/b/metrics",
                "/v1/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/metrics/", "/v2/instances", "/_ping/", ""}) {
            assertThat(Route.match("GET", path)).as(path).isEqualTo(new Route.Rejected(404, "not found", null));
        }
        assertThat(Route.match("GET", null)).isInstanceOf(Route.Rejected.class);
    }

    @Test
    void wrongMethodIsMethodNotAllowedWithTheAllowedOne() {
        assertThat(Route.match("POST", "/v1/instances"))
                .isEqualTo(new Route.Rejected(405, "method not allowed; use GET", "GET"));
        assertThat(Route.match("GET", "/v1/refresh"))
                .isEqualTo(new Route.Rejected(405, "method not allowed; use POST", "POST"));
        assertThat(Route.match("DELETE", "/v1/gz/metrics")).extracting(r -> ((Route.Rejected) r).status())
                .isEqualTo(405);
    }

    @Test
    void theApiRoutes() {
        assertThat(Route.match("GET", "/_ping")).isEqualTo(new Route.Ping());
        assertThat(Route.match("HEAD", "/_ping")).isEqualTo(new Route.Ping());
        assertThat(Route.match("GET", "/metrics")).isEqualTo(new Route.SelfMetrics());
        assertThat(Route.match("GET", "/v1/instances")).isEqualTo(new Route.Instances());
        assertThat(Route.match("POST", "/v1/refresh")).isEqualTo(new Route.Refresh());
    }
}
