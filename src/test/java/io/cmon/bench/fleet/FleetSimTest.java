package io.cmon.bench.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.testing.AgentProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The simulator speaks both inventory protocols as specified (bench/fleet/README.md), on real loopback sockets. */
class FleetSimTest {

    static final String V2 = "application/vnd.cmon.instances.v2+json, application/json;q=0.5";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static FleetSim sim;
    static FleetModel model;

    @BeforeAll
    static void start() throws Exception {
        model = new FleetModel(3, 4, 10, 5, 4, AgentProcess.freePort());
        sim = FleetSim.start(new FleetSim.Options(model, 0, 4, 1, 0)).toCompletionStage().toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    /** Agent 1 is the v2 test's (it changes it), agent 2 the v1 test's. */
    static HttpResponse<String> get(String query, String accept) throws Exception {
        return get(1, query, accept);
    }

    static HttpResponse<String> get(int agent, String query, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + model.endpoint(agent) + "/v1/instances"
                        + query))
                .timeout(Duration.ofSeconds(20));
        if (accept != null) b.header("Accept", accept);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void withoutTheV2AcceptItAnswersTodaysPage() throws Exception {
        HttpResponse<String> r = get(2, "", "application/json");
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode page = JSON.readTree(r.body());
        assertThat(page.has("protocol")).isFalse();
        assertThat(page.get("instances")).hasSize(10);
        assertThat(page.at("/server/hostname").asText()).isEqualTo("sim-agent-2");
    }

    @Test
    void v2AnswersFullThenDeltaThenUnchangedAndFullAgainOnAnotherEpoch() throws Exception {
        HttpResponse<String> first = get("", V2);
        assertThat(first.headers().firstValue("Content-Type")).hasValue("application/vnd.cmon.instances.v2+json");
        JsonNode full = JSON.readTree(first.body());
        assertThat(full.get("protocol").asInt()).isEqualTo(2);
        assertThat(full.get("kind").asText()).isEqualTo("full");
        String epoch = full.get("epoch").asText();
        long gen = full.get("generation").asLong();
        int before = full.get("instances").size();

        assertThat(sim.apply("1", "change", 2, false).toCompletionStage().toCompletableFuture().get()[0]).isEqualTo(1);
        sim.apply("1", "remove", 1, false).toCompletionStage().toCompletableFuture().get();
        JsonNode delta = JSON.readTree(get("?since=" + gen + "&wait=5s&epoch=" + epoch, V2).body());
        assertThat(delta.get("kind").asText()).isEqualTo("delta");
        assertThat(delta.get("instances")).hasSize(2);
        assertThat(delta.get("removed")).hasSize(1);
        long now = delta.get("generation").asLong();
        assertThat(now).isEqualTo(gen + 2);

        JsonNode unchanged = JSON.readTree(get("?since=" + now + "&wait=1s&epoch=" + epoch, V2).body());
        assertThat(unchanged.get("kind").asText()).isEqualTo("unchanged");
        assertThat(unchanged.get("instances")).isEmpty();
        assertThat(unchanged.get("removed")).isEmpty();

        JsonNode other = JSON.readTree(get("?since=" + now + "&wait=1s&epoch=other", V2).body());
        assertThat(other.get("kind").asText()).isEqualTo("full");
        assertThat(other.get("instances")).hasSize(before - 1);
        JsonNode ahead = JSON.readTree(get("?since=" + (now + 5) + "&wait=1s&epoch=" + epoch, V2).body());
        assertThat(ahead.get("kind").asText()).as("since past the generation").isEqualTo("full");
    }
}
