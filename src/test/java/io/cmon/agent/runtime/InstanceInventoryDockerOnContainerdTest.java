package io.cmon.agent.runtime;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A Docker container is also a containerd container (namespace moby, same id): one instance, Docker's view. */
class InstanceInventoryDockerOnContainerdTest {

    private static final String ID = "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70";
    private static final String ID_UUID = "3f2a9c0d-4e5b-6a7f-8091-a2b3c4d5e6f7";
    private static final String LABELLED = "11111111-2222-3333-4444-555555555555";
    private static final String MOBY_KEY = "moby/" + ID;

    private static Instance docker(String uuid, String state, long pid) {
        return new Instance(uuid, "web-1", "alice", "sha256img", "docker", List.of("web"), state, pid, null, null,
                "docker");
    }

    /** What containerd knows of a Docker container: no name, no labels, so the id's uuid and no owner. */
    private static Instance containerd(String key, String state, long pid) {
        String id = key.substring(key.indexOf('/') + 1);
        return new Instance(ContainerdMapping.uuidOf(null, key.substring(0, key.indexOf('/')), id), id, null, null,
                "containerd", List.of(), state, pid, null, null, "containerd");
    }

    @Test
    void dockersLabelledContainerSeenByContainerdIsOneInstanceInDockersView() {
        InstanceInventory inv = new InstanceInventory();
        inv.upsert(ID, docker(LABELLED, "running", 42));
        inv.upsert(MOBY_KEY, containerd(MOBY_KEY, "running", 42));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(LABELLED);
        assertThat(inv.byUuid(LABELLED)).map(Instance::source).contains("docker");
        assertThat(inv.byUuid(ID_UUID)).isEmpty();
        assertThat(inv.conflicts()).isEmpty();
    }

    @Test
    void containerdReportingFirstIsSetAsideWhenDockerReports() {
        InstanceInventory inv = new InstanceInventory();
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);
        // dockerd creates the containerd container before its own record says running: neither has a pid yet
        inv.upsert(MOBY_KEY, containerd(MOBY_KEY, "created", 0));
        assertThat(inv.byUuid(ID_UUID)).map(Instance::source).contains("containerd");

        inv.upsert(ID, docker(ID_UUID, "created", 0));
        assertThat(inv.byUuid(ID_UUID)).map(Instance::source).contains("docker");
        assertThat(inv.conflicts()).isEmpty(); // the same uuid, no pid to match: still one container

        inv.upsert(MOBY_KEY, containerd(MOBY_KEY, "running", 42));
        inv.upsert(ID, docker(ID_UUID, "running", 42));
        assertThat(inv.snapshot().instances()).singleElement()
                .satisfies(i -> assertThat(i.source()).isEqualTo("docker"))
                .satisfies(i -> assertThat(i.owner()).isEqualTo("alice"));
        assertThat(removed).isEmpty();
    }

    @Test
    void whenDockerForgetsTheContainerContainerdsViewComesBackUntilItGoesToo() {
        InstanceInventory inv = new InstanceInventory();
        List<String> removed = new ArrayList<>();
        inv.addRemovalListener(removed::add);
        inv.upsert(ID, docker(LABELLED, "running", 42));
        inv.upsert(MOBY_KEY, containerd(MOBY_KEY, "running", 42));
        long g = inv.generation();

        inv.remove("docker", ID);
        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(ID_UUID);
        assertThat(inv.byUuid(ID_UUID)).map(Instance::source).contains("containerd");
        assertThat(removed).containsExactly(LABELLED);
        assertThat(inv.generation()).isGreaterThan(g);

        inv.remove("containerd", MOBY_KEY);
        assertThat(inv.snapshot().instances()).isEmpty();
        assertThat(removed).containsExactly(LABELLED, ID_UUID);
    }

    @Test
    void aDockerResyncWithoutTheContainerBringsContainerdsViewBack() {
        InstanceInventory inv = new InstanceInventory();
        inv.replaceAll("docker", Map.of(ID, docker(LABELLED, "running", 42)));
        inv.replaceAll("containerd", Map.of(MOBY_KEY, containerd(MOBY_KEY, "running", 42)));
        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(LABELLED);

        inv.replaceAll("docker", Map.of());
        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(ID_UUID);

        inv.replaceAll("docker", Map.of(ID, docker(LABELLED, "running", 42)));
        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(LABELLED);
    }

    @Test
    void theSameIdInAnotherContainerdNamespaceIsAnotherContainer() {
        InstanceInventory inv = new InstanceInventory();
        String k8sKey = "k8s.io/" + ID;
        inv.upsert(ID, docker(LABELLED, "running", 42));
        inv.upsert(k8sKey, containerd(k8sKey, "running", 77));

        assertThat(inv.snapshot().instances()).extracting(Instance::uuid).containsExactly(LABELLED, ID_UUID);
        assertThat(inv.byUuid(ID_UUID)).map(Instance::source).contains("containerd");
    }
}
