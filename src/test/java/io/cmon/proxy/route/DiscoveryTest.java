package io.cmon.proxy.route;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.config.HostPort;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.FleetInstance;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DiscoveryTest {

    static final HostPort AGENT = new HostPort("127.0.0.1", 9164);
    static final String SERVER = "aaaaaaaa-0000-4000-8000-000000000001";
    final FleetInstance web = new FleetInstance("11111111-0000-4000-8000-000000000001", "web-1", "alice",
            "22222222-0000-4000-8000-000000000001", "docker", List.of("web", "front"), "running", SERVER, AGENT,
            1487106517427L);
    final FleetInstance db = new FleetInstance("11111111-0000-4000-8000-000000000002", "db-1", "alice", null,
            "lxc", List.of(), "running", SERVER, AGENT, 1487106517428L);

    @Test
    void tritonDiscoveryHasEveryFieldInTheSeedsOrder() throws Exception {
        String json = new String(Discovery.triton(List.of(web), Groups.ALL, "2b8e0000-0000-4000-8000-00000000000a"),
                StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"containers\":[{\"groups\":[\"web\",\"front\"],"
                + "\"server_uuid\":\"" + SERVER + "\",\"vm_alias\":\"web-1\",\"vm_brand\":\"docker\","
                + "\"vm_image_uuid\":\"22222222-0000-4000-8000-000000000001\","
                + "\"vm_owner_uuid\":\"2b8e0000-0000-4000-8000-00000000000a\","
                + "\"vm_uuid\":\"11111111-0000-4000-8000-000000000001\",\"cached_date\":1487106517427,"
                + "\"vm_state\":\"running\"}]}");
    }

    @Test
    void groupsFilterAppliesToBothFormats() throws Exception {
        Groups front = new Groups(Set.of("front"));
        JsonNode t = new ObjectMapper().readTree(Discovery.triton(List.of(web, db), front, "x"));
        assertThat(t.get("containers")).hasSize(1);
        JsonNode h = new ObjectMapper().readTree(Discovery.httpSd(List.of(web, db), front, "cmon.example.com:9163"));
        assertThat(h).hasSize(1);
    }

    @Test
    void emptyListIsAnEmptyArrayNotAnError() {
        assertThat(new String(Discovery.triton(List.of(), Groups.ALL, "x"), StandardCharsets.UTF_8))
                .isEqualTo("{\"containers\":[]}");
        assertThat(new String(Discovery.httpSd(List.of(), Groups.ALL, "x:1"), StandardCharsets.UTF_8)).isEqualTo("[]");
    }

    @Test
    void httpSdPointsAtTheProxyWithPerInstancePathAndLabels() throws Exception {
        JsonNode groups = new ObjectMapper().readTree(Discovery.httpSd(List.of(web, db), Groups.ALL,
                "cmon.example.com:9163"));
        JsonNode g = groups.get(0);
        assertThat(g.get("targets").toString()).isEqualTo("[\"cmon.example.com:9163\"]");
        JsonNode l = g.get("labels");
        assertThat(l.get("__metrics_path__").asText()).isEqualTo("/v1/" + web.vmUuid() + "/metrics");
        assertThat(l.get("__meta_cmon_vm_uuid").asText()).isEqualTo(web.vmUuid());
        assertThat(l.get("__meta_cmon_vm_alias").asText()).isEqualTo("web-1");
        assertThat(l.get("__meta_cmon_vm_brand").asText()).isEqualTo("docker");
        assertThat(l.get("__meta_cmon_vm_image_uuid").asText()).isEqualTo(web.imageUuid());
        assertThat(l.get("__meta_cmon_server_uuid").asText()).isEqualTo(SERVER);
        assertThat(l.get("__meta_cmon_groups").asText()).isEqualTo(",web,front,");
        JsonNode l2 = groups.get(1).get("labels");
        assertThat(l2.get("__meta_cmon_vm_image_uuid").asText()).isEmpty();
        assertThat(l2.get("__meta_cmon_groups").asText()).isEmpty();
    }

    @Test
    void gzDiscoveryListsServersThatAnswered() {
        List<AgentView> agents = List.of(
                new AgentView(AGENT, true, true, SERVER, "cn-1", 2, 5, 1, null, List.of(), List.of(), null, 2),
                new AgentView(new HostPort("127.0.0.2", 9164), false, true, null, null, 0, 0, 0, "refused", List.of(),
                        List.of(), null, 0));
        assertThat(new String(Discovery.servers(agents), StandardCharsets.UTF_8))
                .isEqualTo("{\"cns\":[{\"server_uuid\":\"" + SERVER + "\",\"server_hostname\":\"cn-1\"}]}");
    }
}
