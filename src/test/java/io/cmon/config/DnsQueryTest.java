package io.cmon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DnsQueryTest {

    @TempDir
    Path dir;

    @Test
    void nameWithPortAsksAddressRecords() {
        assertThat(DnsQuery.parse("Agents.Fleet.Example.:9164"))
                .isEqualTo(new DnsQuery.Addresses("agents.fleet.example", 9164));
    }

    @Test
    void underscoreNameAsksSrvRecords() {
        assertThat(DnsQuery.parse(" _cmon-agent._tcp.fleet.example "))
                .isEqualTo(new DnsQuery.Service("_cmon-agent._tcp.fleet.example"));
    }

    @Test
    void badQueriesSayWhatIsWrong() {
        assertThatThrownBy(() -> DnsQuery.parse("agents.fleet.example")).hasMessageContaining("no port");
        assertThatThrownBy(() -> DnsQuery.parse("_cmon._tcp.x:9164")).hasMessageContaining("takes no port");
        assertThatThrownBy(() -> DnsQuery.parse("10.0.0.7:9164")).hasMessageContaining("not a DNS name");
        assertThatThrownBy(() -> DnsQuery.parse("[::1]:9164")).hasMessageContaining("not a DNS name");
        assertThatThrownBy(() -> DnsQuery.parse("a..b:9164")).hasMessageContaining("not a DNS label");
        assertThatThrownBy(() -> DnsQuery.parse("-a.b:9164")).hasMessageContaining("'-a' is not a DNS label");
        assertThatThrownBy(() -> DnsQuery.parse("a b:9164")).hasMessageContaining("not a DNS label");
        assertThatThrownBy(() -> DnsQuery.parse("a.b:0")).hasMessageContaining("port 0");
        assertThatThrownBy(() -> DnsQuery.parse("a.b:70000")).hasMessageContaining("out of range");
        assertThatThrownBy(() -> DnsQuery.parse("")).hasMessageContaining("empty");
    }

    @Test
    void dnsServerIsAnAddressWithPort53ByDefault() {
        assertThat(DnsQuery.parseServer("127.3.4.5:5353")).isEqualTo(new HostPort("127.3.4.5", 5353));
        assertThat(DnsQuery.parseServer("10.0.0.2")).isEqualTo(new HostPort("10.0.0.2", 53));
        assertThat(DnsQuery.parseServer("::1")).isEqualTo(new HostPort("::1", 53));
        assertThat(DnsQuery.parseServer("[::1]:5353")).isEqualTo(new HostPort("::1", 5353));
        assertThatThrownBy(() -> DnsQuery.parseServer("dns.example:53")).hasMessageContaining("IP address");
    }

    @Test
    void systemServerIsTheFirstUsableNameserverOfResolvConf() {
        assertThat(DnsQuery.systemServer("# generated\nsearch example\nnameserver 10.1.2.3\nnameserver 10.9.9.9\n"))
                .isEqualTo(new HostPort("10.1.2.3", 53));
        assertThat(DnsQuery.systemServer("nameserver   fe80::1%eth0\n")).isEqualTo(new HostPort("fe80::1", 53));
        assertThat(DnsQuery.systemServer("options ndots:5\n")).isEqualTo(new HostPort("127.0.0.1", 53));
    }

    @Test
    void proxyYamlAgentsDnsKeysAreReadAndDefaulted() throws Exception {
        ProxyConfig c = ConfigLoader.parse("proxy.yaml", yaml("agents: {dns: \"_cmon-agent._tcp.fleet.example\"}"),
                ProxyConfig.class);
        assertThat(c.agents().dns()).isEqualTo("_cmon-agent._tcp.fleet.example");
        assertThat(c.agents().dnsIntervalDuration()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.agents().dnsServer()).isNull();
        ProxyConfig d = ConfigLoader.parse("proxy.yaml", yaml(
                "agents: {dns: \"agents.fleet.example:9164\", dnsInterval: 500ms, dnsServer: \"127.0.0.53:5300\"}"),
                ProxyConfig.class);
        assertThat(d.agents().dnsIntervalDuration()).isEqualTo(Duration.ofMillis(500));
        assertThat(d.agents().dnsServer()).isEqualTo("127.0.0.53:5300");
    }

    @Test
    void badAgentsDnsKeysNameFileAndKey() throws Exception {
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml", yaml("agents: {dns: \"fleet.example\"}"),
                ProxyConfig.class)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("proxy.yaml").hasMessageContaining("agents.dns");
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml",
                yaml("agents: {dns: \"a.b:1\", dnsInterval: 10ms}"), ProxyConfig.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("agents.dnsInterval")
                .hasMessageContaining(">= 100ms");
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml",
                yaml("agents: {dns: \"a.b:1\", dnsInterval: soon}"), ProxyConfig.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("agents.dnsInterval");
        assertThatThrownBy(() -> ConfigLoader.parse("proxy.yaml",
                yaml("agents: {dns: \"a.b:1\", dnsServer: \"ns.example\"}"), ProxyConfig.class))
                .isInstanceOf(ConfigException.class).hasMessageContaining("agents.dnsServer");
    }

    private String yaml(String agents) throws Exception {
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        return "tls: {cert: " + cert + ", key: " + cert + "}\n"
                + "auth: {mode: ca, tenantCa: " + cert + "}\n"
                + "accounts: " + cert + "\n"
                + agents + "\n";
    }
}
