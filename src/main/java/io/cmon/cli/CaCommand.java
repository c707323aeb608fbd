package io.cmon.cli;

import io.cmon.pki.CertificateAuthority;
import io.cmon.pki.IssuedCertificate;
import io.cmon.pki.KeyType;
import io.cmon.pki.PkiException;
import io.cmon.pki.Validity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Clock;

@Command(name = "ca", description = "Certificate authorities for tenants, proxies and agents.",
        subcommands = {CaCommand.Init.class})
final class CaCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: init");
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Create a CA: writes DIR/ca.pem and DIR/ca-key.pem (mode 0600).")
    static final class Init implements Runnable {

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "where to write the CA")
        Path dir;

        @Option(names = "--name", paramLabel = "CN", defaultValue = CertificateAuthority.DEFAULT_NAME,
                description = "subject CN of the CA (default: ${DEFAULT-VALUE})")
        String name;

        @Option(names = "--key-type", paramLabel = "TYPE", defaultValue = "ec",
                description = "ec (ECDSA P-256, default) or rsa (2048)")
        KeyType keyType;

        @Option(names = "--days", defaultValue = "3650", description = "validity in days (default: ${DEFAULT-VALUE})")
        int days;

        @Option(names = "--not-before", paramLabel = "DATE", description = "ISO date or instant; overrides --days")
        String notBefore;

        @Option(names = "--not-after", paramLabel = "DATE", description = "ISO date or instant; overrides --days")
        String notAfter;

        @Option(names = "--force", description = "replace an existing CA (every certificate it issued stops verifying)")
        boolean force;

        @Override
        public void run() {
            try {
                if (!force && CertificateAuthority.existsIn(dir)) {
                    throw new PkiException(dir + ": a CA exists there already (use --force to replace it, which"
                            + " invalidates every certificate it issued)");
                }
                Validity validity = Validity.of(notBefore, notAfter, days, Clock.systemUTC());
                IssuedCertificate.Files files = CertificateAuthority.create(name, keyType, validity).writeTo(dir, force);
                spec.commandLine().getOut().println("wrote " + files.cert() + " and " + files.key());
            } catch (PkiException e) {
                throw new ErrorHandler.UserError(e.getMessage(), e);
            }
        }
    }
}
