package io.cmon.cli;

import io.cmon.config.HostPort;
import io.cmon.doctor.OperatorDoctor;
import io.cmon.doctor.Report;
import io.cmon.doctor.TenantDoctor;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code cmon doctor}: what is wrong, in plain words. Tenants give their certificate, key and the proxy's endpoint;
 * operators give a proxy or agent config. Exit code 0 when every check passes (warnings allowed), 1 otherwise.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check a tenant's certificate and path to the proxy (discovery, one scrape, DNS) and print the "
                + "Prometheus config that works; or check a proxy or agent config (files, ports, agents, Docker).",
                "",
                "Tenant:   cmon doctor --cert alice.pem --key alice-key.pem --ca ca.pem \\",
                "              --endpoint cmon.example.com:9163",
                "Operator: cmon doctor --proxy-config /etc/cmon/proxy.yaml",
                "          cmon doctor --agent-config /etc/cmon/agent.yaml",
                ""},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every check passed (warnings allowed)", "1:a check failed (see FAIL lines)",
                "2:bad command line"})
final class DoctorCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    What what;

    static final class What {
        @ArgGroup(exclusive = false)
        Tenant tenant;

        @Option(names = "--proxy-config", paramLabel = "FILE", description = "check this proxy.yaml")
        Path proxyConfig;

        @Option(names = "--agent-config", paramLabel = "FILE", description = "check this agent.yaml")
        Path agentConfig;
    }

    static final class Tenant {
        @Option(names = "--cert", required = true, paramLabel = "FILE", description = "your client certificate")
        Path cert;

        @Option(names = "--key", required = true, paramLabel = "FILE", description = "its private key")
        Path key;

        @Option(names = "--endpoint", required = true, paramLabel = "HOST:PORT",
                description = "the proxy, e.g. cmon.example.com:9163")
        String endpoint;

        @Option(names = "--ca", paramLabel = "FILE",
                description = "the CA of the proxy's certificate (Prometheus's tls_config.ca_file); default: the "
                        + "system's roots")
        Path ca;

        @Option(names = "--dns-suffix", paramLabel = "NAME",
                description = "targets are <uuid>.NAME (default: the endpoint's host)")
        String dnsSuffix;

        @Option(names = "--account", paramLabel = "LOGIN", description = "the account you expect to be (the CN)")
        String account;
    }

    @Override
    public Integer call() {
        Report report;
        if (what.proxyConfig != null) {
            report = new OperatorDoctor().proxy(what.proxyConfig);
        } else if (what.agentConfig != null) {
            report = new OperatorDoctor().agent(what.agentConfig);
        } else {
            Tenant t = what.tenant;
            HostPort endpoint;
            try {
                endpoint = HostPort.parse(t.endpoint);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--endpoint: " + e.getMessage());
            }
            report = new TenantDoctor(t.cert, t.key, endpoint, t.ca, t.dnsSuffix, t.account).run();
        }
        spec.commandLine().getOut().print(report.text());
        spec.commandLine().getOut().flush();
        return report.exitCode();
    }
}
