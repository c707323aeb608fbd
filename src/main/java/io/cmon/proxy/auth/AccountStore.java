package io.cmon.proxy.auth;

import io.cmon.config.ConfigException;
import io.cmon.config.ConfigLoader;
import io.cmon.pki.PkiException;
import io.cmon.pki.SshPublicKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The accounts of accounts.yaml ({@code accounts: [{login, uuid, operator, keys}]}), with O(1) lookups by login and
 * by uuid. {@link #reload()} swaps in a new snapshot atomically; a file that fails to read or validate leaves the
 * previous accounts in place (a typo never locks every tenant out) and is remembered in {@link #lastError()}.
 * Thread-safe: lookups read one volatile snapshot.
 */
public final class AccountStore {

    private static final Logger LOG = LoggerFactory.getLogger(AccountStore.class);
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** One entry as written; {@code operator} and {@code keys} may be left out. */
    record Entry(String login, String uuid, Boolean operator, List<String> keys) {
        Account toAccount() {
            return new Account(login, uuid, Boolean.TRUE.equals(operator), keys);
        }
    }

    /** The file as bound by Jackson; validation names the entry and the key. */
    record AccountsFile(List<Entry> accounts) implements ConfigLoader.Validated {
        @Override
        public void validate() {
            if (accounts == null) {
                throw ConfigException.key("accounts", "missing (write 'accounts: []' for none)");
            }
            Map<String, Integer> logins = new HashMap<>();
            Map<String, Integer> uuids = new HashMap<>();
            for (int i = 0; i < accounts.size(); i++) {
                Entry a = accounts.get(i);
                String at = "accounts[" + i + "]";
                if (a == null) throw ConfigException.key(at, "empty entry");
                if (a.login() == null || a.login().isBlank()) throw ConfigException.key(at + ".login", "missing or empty");
                if (!a.login().chars().allMatch(c -> c > 0x20 && c != 0x7f)) {
                    throw ConfigException.key(at + ".login", "'" + a.login() + "' contains spaces or control characters");
                }
                if (UUID.matcher(a.login()).matches()) {
                    // instances are labelled with an owner's login or uuid: a uuid-shaped login would match the
                    // instances of the account that has that uuid
                    throw ConfigException.key(at + ".login", "'" + a.login() + "' looks like a uuid; a login must not");
                }
                if (a.uuid() == null) throw ConfigException.key(at + ".uuid", "missing");
                if (!UUID.matcher(a.uuid()).matches()) {
                    throw ConfigException.key(at + ".uuid", "'" + a.uuid() + "' is not a UUID (8-4-4-4-12 hex digits)");
                }
                List<String> keys = a.keys() == null ? List.of() : a.keys();
                for (int k = 0; k < keys.size(); k++) {
                    try {
                        SshPublicKey.parse(keys.get(k));
                    } catch (PkiException e) {
                        throw ConfigException.key(at + ".keys[" + k + "]", e.getMessage());
                    }
                }
                Integer dupLogin = logins.putIfAbsent(a.login(), i);
                if (dupLogin != null) {
                    throw ConfigException.key(at + ".login", "'" + a.login() + "' is also the login of accounts[" + dupLogin + "]");
                }
                Integer dupUuid = uuids.putIfAbsent(a.uuid().toLowerCase(Locale.ROOT), i);
                if (dupUuid != null) {
                    throw ConfigException.key(at + ".uuid", "'" + a.uuid() + "' is also the uuid of accounts[" + dupUuid + "]");
                }
            }
        }
    }

    /**
     * {@code keysGeneration} changes when the registered SSH keys change (not on other edits): account-key
     * verifications cached per chain depend on the keys ({@link AccountKeyAuthenticator#trustGeneration()}).
     */
    private record Snapshot(List<Account> all, Map<String, Account> byLogin, Map<String, Account> byUuid,
                            Map<String, List<SshPublicKey>> keysByLogin, Map<String, List<String>> fingerprints,
                            long keysGeneration) {
        static Snapshot of(List<Account> accounts, Snapshot previous) {
            List<Account> all = new ArrayList<>(accounts.size());
            Map<String, Account> byLogin = new HashMap<>();
            Map<String, Account> byUuid = new HashMap<>();
            Map<String, List<SshPublicKey>> keys = new HashMap<>();
            Map<String, List<String>> fingerprints = new HashMap<>();
            for (Account a : accounts) {
                Account n = new Account(a.login(), a.uuid().toLowerCase(Locale.ROOT), a.operator(), a.keys());
                all.add(n);
                byLogin.put(n.login(), n);
                byUuid.put(n.uuid(), n);
                if (!n.keys().isEmpty()) {
                    List<SshPublicKey> parsed = n.keys().stream().map(SshPublicKey::parse).toList(); // validated
                    keys.put(n.login(), parsed);
                    fingerprints.put(n.login(), parsed.stream().map(SshPublicKey::fingerprint).toList());
                }
            }
            long generation = previous == null ? 0
                    : previous.fingerprints().equals(fingerprints) ? previous.keysGeneration() : previous.keysGeneration() + 1;
            return new Snapshot(List.copyOf(all), Map.copyOf(byLogin), Map.copyOf(byUuid), Map.copyOf(keys),
                    Map.copyOf(fingerprints), generation);
        }
    }

    private final Path file;
    private volatile Snapshot snapshot;
    private volatile String lastError;

    private AccountStore(Path file, Snapshot snapshot) {
        this.file = file;
        this.snapshot = snapshot;
    }

    /** Loads the file; at startup a bad file is fatal. @throws ConfigException naming file, entry and key */
    public static AccountStore load(Path file) {
        return new AccountStore(file, Snapshot.of(read(file), null));
    }

    /** A fixed set of accounts, not backed by a file ({@link #reload()} is a no-op). */
    public static AccountStore of(List<Account> accounts) {
        new AccountsFile(accounts.stream().map(a -> new Entry(a.login(), a.uuid(), a.operator(), a.keys())).toList())
                .validate();
        return new AccountStore(null, Snapshot.of(accounts, null));
    }

    private static List<Account> read(Path file) {
        return ConfigLoader.load(file, AccountsFile.class).accounts().stream().map(Entry::toAccount).toList();
    }

    /** The account with this login (exact, case-sensitive), if any. */
    public Optional<Account> byLogin(String login) {
        return Optional.ofNullable(snapshot.byLogin().get(login));
    }

    /** The account with this uuid (case-insensitive), if any. */
    public Optional<Account> byUuid(String uuid) {
        return Optional.ofNullable(snapshot.byUuid().get(uuid.toLowerCase(Locale.ROOT)));
    }

    /** The parsed SSH public keys registered for this login (empty for none or no such account). */
    public List<SshPublicKey> keysOf(String login) {
        return snapshot.keysByLogin().getOrDefault(login, List.of());
    }

    /** Changes whenever a reload changed any account's registered keys. */
    public long keysGeneration() {
        return snapshot.keysGeneration();
    }

    /** Every account, in file order. */
    public List<Account> all() {
        return snapshot.all();
    }

    public int size() {
        return snapshot.all().size();
    }

    /** The file behind the store (null for {@link #of}). */
    public Path file() {
        return file;
    }

    /** Why the last reload was refused, or null when the file in use is the file on disk. */
    public String lastError() {
        return lastError;
    }

    /**
     * Re-reads the file (for the file watcher, SIGHUP and {@code /-/reload}). Returns true when the accounts changed.
     * A file that cannot be used is logged, kept in {@link #lastError()}, and the previous accounts stay.
     */
    public synchronized boolean reload() {
        if (file == null) return false;
        List<Account> accounts;
        try {
            accounts = read(file);
        } catch (ConfigException e) {
            if (!e.getMessage().equals(lastError)) {
                LOG.error("accounts not reloaded, keeping the previous {} accounts: {}", size(), e.getMessage());
            }
            lastError = e.getMessage();
            return false;
        }
        if (lastError != null) LOG.info("{}: usable again", file);
        lastError = null;
        Snapshot next = Snapshot.of(accounts, snapshot);
        if (next.all().equals(snapshot.all())) return false;
        snapshot = next;
        LOG.info("{}: reloaded, {} accounts", file, next.all().size());
        return true;
    }
}
