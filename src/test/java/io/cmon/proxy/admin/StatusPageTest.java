package io.cmon.proxy.admin;

import io.cmon.api.InstancesPage;
import io.cmon.config.HostPort;
import io.cmon.config.ProxyConfig;
import io.cmon.proxy.ProxyMetrics;
import io.cmon.proxy.auth.Account;
import io.cmon.proxy.auth.AccountStore;
import io.cmon.proxy.inventory.FleetInventory;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatusPageTest {

    static final HostPort UP = new HostPort("127.0.0.1", 9164);
    static final HostPort DOWN = new HostPort("127.0.0.2", 9164);
    static final String ALICE = "2b8e0e4c-5d1b-4b8e-9a53-0a1b2c3d4e5f";
    static final long NOW = 1_700_000_000_000L;

    final FleetInventory inventory = new FleetInventory();
    final ProxyMetrics metrics = new ProxyMetrics(inventory, () -> NOW);
    final ProxyConfig config = new ProxyConfig(null, null, "cmon.test", null, null, null, "accounts.yaml", null, null,
            null, null, null, new ProxyConfig.Limits(100, null, null, null, null, null, null), null);
    final AccountStore accounts = AccountStore.of(List.of(new Account("alice", ALICE, false, List.of())));

    String render(int tenantConnections) {
        return new String(new StatusPage(inventory, accounts, metrics.registry(), config, () -> tenantConnections,
                () -> 1, () -> NOW).render(), StandardCharsets.UTF_8);
    }

    void fleet(String alias, String owner, String error) {
        inventory.addAgent(UP);
        inventory.addAgent(DOWN);
        inventory.agentListUnknown(null);
        inventory.update(UP, new InstancesPage(new InstancesPage.Server("0d4b1c7e-0000-4000-8000-000000000001", "cn-<1>",
                List.of(new InstancesPage.Source("docker", false, error, 12, 3)), "1.4.0"), 7, List.of(
                new InstancesPage.Entry("11111111-1111-4111-8111-111111111111", alias, owner, null, "docker",
                        List.of(), "running"),
                new InstancesPage.Entry("22222222-2222-4222-8222-222222222222", "db", "alice", null, "docker",
                        List.of(), "stopped"),
                new InstancesPage.Entry("33333333-3333-4333-8333-333333333333", "orphan", null, null, "docker",
                        List.of(), "running"))), NOW - 2500);
        inventory.markDown(DOWN, "connection refused");
    }

    @Test
    void untrustedStringsAreEncodedNotMarkup() {
        fleet("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "bad \"quote\" </td><script>");

        String page = render(0);

        assertThat(page).doesNotContain("<script").doesNotContain("<img")
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                .contains("&lt;img src=x onerror=alert(2)&gt;")
                .contains("data-owner=\"&lt;img src=x onerror=alert(2)>\"") // an attribute needs only & < " encoded
                .contains("bad \"quote\" &lt;/td&gt;&lt;script&gt;")
                .contains("cn-&lt;1&gt;");
    }

    @Test
    void showsAgentsUpAndDownWithLagSourcesAndErrors() {
        fleet("web", ALICE, "docker socket: connection refused");

        String page = render(0);

        assertThat(page).contains("data-agent=\"127.0.0.1:9164\" data-state=\"up\"")
                .contains("data-agent=\"127.0.0.2:9164\" data-state=\"down\"")
                .contains("<td>1.4.0</td>").contains("2.5 s").contains("never answered").contains("connection refused")
                .contains("12 events, 3 resyncs").contains("docker socket: connection refused");
    }

    @Test
    void countsInstancesPerOwnerAndStateAndNamesTheAccount() {
        fleet("web", ALICE, null);

        String page = render(0);

        assertThat(page).contains("data-owner=\"" + ALICE + "\" data-count=\"1\"")
                .contains("data-owner=\"alice\" data-count=\"1\"")
                .contains("data-owner=\"\" data-count=\"1\"")
                .contains("<tr data-state=\"running\"><td>running</td><td class=\"num\">2</td>")
                .contains("<tr data-state=\"stopped\"><td>stopped</td><td class=\"num\">1</td>");
    }

    @Test
    void showsAuthFailuresByReasonAndConnectionHeadroom() {
        metrics.authFailure("expired");
        metrics.authFailure("expired");
        metrics.authFailure("unknown_account");

        String page = render(95);

        assertThat(page).contains("<tr data-reason=\"expired\"><td>expired</td><td class=\"num\">2</td>")
                .contains("<tr data-reason=\"unknown_account\"><td>unknown_account</td><td class=\"num\">1</td>")
                .contains("<td class=\"num\">95</td><td class=\"num\">100</td>")
                .contains("fill down").contains("5 free (5 %)");
    }

    @Test
    void namesIdentityCollisionsBetweenAgents() {
        HostPort other = new HostPort("127.0.0.3", 9164);
        inventory.addAgent(UP);
        inventory.addAgent(other);
        inventory.agentListUnknown(null);
        InstancesPage.Entry same = new InstancesPage.Entry("44444444-4444-4444-8444-444444444444", "x", "alice", null,
                "docker", List.of(), "running");
        inventory.update(UP, new InstancesPage(new InstancesPage.Server("s1", "h1"), 1, List.of(same)), NOW);
        inventory.update(other, new InstancesPage(new InstancesPage.Server("s2", "h2"), 1, List.of(same)), NOW);

        assertThat(render(0)).contains("<td><code>44444444-4444-4444-8444-444444444444</code></td>"
                + "<td>127.0.0.1:9164, 127.0.0.3:9164</td>");
    }
}
