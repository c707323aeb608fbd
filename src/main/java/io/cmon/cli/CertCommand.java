package io.cmon.cli;

import io.cmon.pki.CertificateAuthority;
import io.cmon.pki.IssuedCertificate;
import io.cmon.pki.KeyType;
import io.cmon.pki.PkiException;
import io.cmon.pki.Profile;
import io.cmon.pki.SshKeyPair;
import io.cmon.pki.Validity;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

@Command(name = "cert", description = "Key and certificate pairs for tenants, proxies and agents.",
        subcommands = {CertCommand.Issue.class, CertCommand.FromSshKey.class})
final class CertCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: issue or from-ssh-key");
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Issue a key + certificate signed by the CA in --ca: writes OUT/NAME.pem and OUT/NAME-key.pem"
                    + " (mode 0600).")
    static final class Issue implements Runnable {

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--ca", required = true, paramLabel = "DIR", description = "the CA directory (ca.pem, ca-key.pem)")
        Path ca;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Subject subject;

        static final class Subject {
            @Option(names = "--account", paramLabel = "LOGIN", description = "a tenant's client certificate, CN = LOGIN")
            String account;

            @Option(names = "--server", paramLabel = "NAME", description = "a proxy's server certificate, CN and SAN = NAME")
            String server;

            @Option(names = "--agent", paramLabel = "NAME",
                    description = "an agent's HTTPS certificate (server auth), CN and SAN = NAME; use --ip/--dns for"
                            + " the address proxies call it by")
            String agent;

            @Option(names = "--proxy", paramLabel = "NAME",
                    description = "a proxy's client certificate for calling agents (proxy.yaml agentTls), CN = NAME:"
                            + " client auth plus the cmon agent-link purpose, the only certificate agents accept")
            String proxy;
        }

        @Option(names = "--dns", paramLabel = "NAME", split = ",",
                description = "more DNS SANs (server, agent), e.g. '*.cmon.example.com'; repeatable")
        List<String> dns = new ArrayList<>();

        @Option(names = "--ip", paramLabel = "ADDR", split = ",", description = "IP SANs (server, agent); repeatable")
        List<String> ips = new ArrayList<>();

        @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "output directory (default: current)")
        Path out;

        @Option(names = "--key-type", paramLabel = "TYPE", defaultValue = "ec",
                description = "ec (ECDSA P-256, default) or rsa (2048)")
        KeyType keyType;

        @Option(names = "--days", defaultValue = "365", description = "validity in days (default: ${DEFAULT-VALUE})")
        int days;

        @Option(names = "--not-before", paramLabel = "DATE", description = "ISO date or instant; overrides --days")
        String notBefore;

        @Option(names = "--not-after", paramLabel = "DATE", description = "ISO date or instant; overrides --days")
        String notAfter;

        @Option(names = "--force", description = "replace an existing OUT/NAME.pem and OUT/NAME-key.pem")
        boolean force;

        @Override
        public void run() {
            try {
                Profile profile = subject.account != null ? Profile.CLIENT
                        : subject.server != null ? Profile.SERVER
                        : subject.proxy != null ? Profile.PROXY : Profile.AGENT;
                String name = subject.account != null ? subject.account
                        : subject.server != null ? subject.server
                        : subject.proxy != null ? subject.proxy : subject.agent;
                checkFileName(name);
                refuseToOverwrite(out, name, force);
                Validity validity = Validity.of(notBefore, notAfter, days, Clock.systemUTC());
                CertificateAuthority authority = CertificateAuthority.load(ca);
                IssuedCertificate issued = authority.issue(profile, name, dns, ips, keyType, validity);
                IssuedCertificate.Files files = issued.writeTo(out, name);
                spec.commandLine().getOut().println("wrote " + files.cert() + " and " + files.key());
            } catch (PkiException e) {
                throw new ErrorHandler.UserError(e.getMessage(), e);
            }
        }

        /** A key is never replaced by accident: what it signed in use stops matching (as {@code ca init} refuses). */
        static void refuseToOverwrite(Path out, String name, boolean force) {
            IssuedCertificate.Files files = IssuedCertificate.Files.in(out, name);
            if (!force && (java.nio.file.Files.exists(files.key()) || java.nio.file.Files.exists(files.cert()))) {
                throw new PkiException(files.cert() + " or " + files.key() + " exists already (use --force to replace"
                        + " them)");
            }
        }

        /** The name becomes a file name: keep it inside --out. */
        static void checkFileName(String name) {
            if (name.isBlank() || name.contains("/") || name.contains("\0") || name.equals(".") || name.equals("..")) {
                throw new PkiException("'" + name + "' cannot be a file name (no '/', not empty)");
            }
        }
    }

    @Command(name = "from-ssh-key", mixinStandardHelpOptions = true,
            description = "For proxies in auth.mode account-key: a client certificate self-signed by your SSH key"
                    + " (CN = LOGIN). Writes OUT/LOGIN.pem and, since TLS clients such as Prometheus and curl do not"
                    + " read OpenSSH keys, the same key as PKCS#8 in OUT/LOGIN-key.pem (mode 0600). Register the"
                    + " .pub line in the account's keys of accounts.yaml.")
    static final class FromSshKey implements Runnable {

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--key", required = true, paramLabel = "FILE",
                description = "unencrypted OpenSSH private key (ed25519, ecdsa or rsa), e.g. ~/.ssh/id_ecdsa")
        Path key;

        @Option(names = "--account", required = true, paramLabel = "LOGIN", description = "the account login (CN)")
        String account;

        @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "output directory (default: current)")
        Path out;

        @Option(names = "--days", defaultValue = "365", description = "validity in days (default: ${DEFAULT-VALUE})")
        int days;

        @Option(names = "--force", description = "replace an existing OUT/LOGIN.pem and OUT/LOGIN-key.pem")
        boolean force;

        @Override
        public void run() {
            try {
                Issue.checkFileName(account);
                Issue.refuseToOverwrite(out, account, force);
                SshKeyPair pair = SshKeyPair.read(key);
                Validity validity = Validity.of(null, null, days, Clock.systemUTC());
                IssuedCertificate issued = new IssuedCertificate(pair.selfSigned(account, validity), pair.privateKey());
                IssuedCertificate.Files files = issued.writeTo(out, account);
                spec.commandLine().getOut().println("wrote " + files.cert() + " and " + files.key()
                        + " (" + pair.publicKey().type() + " " + pair.publicKey().fingerprint() + ")");
            } catch (PkiException e) {
                throw new ErrorHandler.UserError(e.getMessage(), e);
            }
        }
    }
}
