package io.cmon.proxy.route;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cmon.proxy.inventory.AgentView;
import io.cmon.proxy.inventory.FleetInstance;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The discovery answers (DESIGN §3.2): Triton's {@code /v1/discover} and {@code /v1/gz/discover} JSON, which
 * Prometheus's {@code triton_sd_configs} reads, and Prometheus {@code http_sd_configs} JSON.
 */
public final class Discovery {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One entry of Triton's discovery: every field the seed had, in its order, plus {@code vm_state}. */
    @JsonPropertyOrder({"groups", "server_uuid", "vm_alias", "vm_brand", "vm_image_uuid", "vm_owner_uuid",
            "vm_uuid", "cached_date", "vm_state"})
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Container(
            @JsonProperty("groups") List<String> groups,
            @JsonProperty("server_uuid") String serverUuid,
            @JsonProperty("vm_alias") String vmAlias,
            @JsonProperty("vm_brand") String vmBrand,
            @JsonProperty("vm_image_uuid") String vmImageUuid,
            @JsonProperty("vm_owner_uuid") String vmOwnerUuid,
            @JsonProperty("vm_uuid") String vmUuid,
            @JsonProperty("cached_date") long cachedDate,
            @JsonProperty("vm_state") String vmState) {}

    public record Containers(@JsonProperty("containers") List<Container> containers) {}

    @JsonPropertyOrder({"server_uuid", "server_hostname"})
    public record Cn(@JsonProperty("server_uuid") String serverUuid,
                     @JsonProperty("server_hostname") String serverHostname) {}

    public record Cns(@JsonProperty("cns") List<Cn> cns) {}

    @JsonPropertyOrder({"targets", "labels"})
    public record TargetGroup(@JsonProperty("targets") List<String> targets,
                              @JsonProperty("labels") Map<String, String> labels) {}

    private Discovery() {}

    /**
     * @param ownerUuid the caller's account uuid: {@code vm_owner_uuid} is always an account uuid, even when the
     *                  host labelled the instance by login
     */
    public static byte[] triton(List<FleetInstance> instances, Groups groups, String ownerUuid) {
        List<Container> out = new ArrayList<>(instances.size());
        for (FleetInstance i : instances) {
            if (!groups.admits(i.groups())) continue;
            out.add(new Container(i.groups(), i.serverUuid(), i.alias(), i.brand(), i.imageUuid(), ownerUuid,
                    i.vmUuid(), i.cachedDate(), i.state()));
        }
        return write(new Containers(out));
    }

    /** The servers that have answered at least once (a server uuid is only known from an answer). */
    public static byte[] servers(List<AgentView> agents) {
        List<Cn> out = new ArrayList<>();
        for (AgentView a : agents) {
            if (a.serverUuid() != null) out.add(new Cn(a.serverUuid(), a.hostname()));
        }
        return write(new Cns(out));
    }

    /** One target group per instance, all pointing at the proxy, with the metrics path set per instance. */
    public static byte[] httpSd(List<FleetInstance> instances, Groups groups, String advertisedAddress) {
        List<TargetGroup> out = new ArrayList<>(instances.size());
        for (FleetInstance i : instances) {
            if (!groups.admits(i.groups())) continue;
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put("__metrics_path__", "/v1/" + i.vmUuid() + "/metrics");
            labels.put("__meta_cmon_vm_uuid", i.vmUuid());
            labels.put("__meta_cmon_vm_alias", nonNull(i.alias()));
            labels.put("__meta_cmon_vm_brand", nonNull(i.brand()));
            labels.put("__meta_cmon_vm_image_uuid", nonNull(i.imageUuid()));
            labels.put("__meta_cmon_server_uuid", nonNull(i.serverUuid()));
            labels.put("__meta_cmon_groups", i.groups().isEmpty() ? "" : "," + String.join(",", i.groups()) + ",");
            out.add(new TargetGroup(List.of(advertisedAddress), labels));
        }
        return write(out);
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }

    private static byte[] write(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot happen: records of strings", e);
        }
    }
}
